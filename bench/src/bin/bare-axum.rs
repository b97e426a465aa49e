//! The baseline for the mock's throughput: an axum handler that answers every `CALL_NIK` with
//! one fixed record (a real answer of the mock, captured by `run.sh`), doing no lookup, no quota
//! and no journal. Usage: `bare-axum ADDR:PORT RECORD.json`.

use axum::http::header;
use axum::routing::post;
use axum::Router;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let listen = args.next().unwrap_or_else(|| "127.0.0.1:0".into());
    let record_path = args
        .next()
        .ok_or_else(|| anyhow::anyhow!("usage: bare-axum ADDR:PORT RECORD.json"))?;
    let record: &'static [u8] = Box::leak(std::fs::read(&record_path)?.into_boxed_slice());
    let app = Router::new().route(
        "/dukcapil/get_json/{customer}/{method}",
        post(move || async move { ([(header::CONTENT_TYPE, "application/json")], record) }),
    );
    let listener = tokio::net::TcpListener::bind(&listen).await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
