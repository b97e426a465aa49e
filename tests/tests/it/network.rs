//! The mock's listeners as the real network has them: data balikan on an address of its own with
//! or without TLS (independently of the gateway), a team's own CA certificate served as given,
//! HTTP/2 (prior knowledge and ALPN) beside HTTP/1.1, and TLS connections bounded like plain ones
//! (a silent or stalled handshake is closed; it cannot hold a descriptor).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use dukcapil_domain::ResidentStatus;
use serde_json::{json, Value};

use crate::hostile::closed;
use crate::support::{MockServer, RSUD};

const STORE: &str = "/data_balikan/public/api/store";

/// A CA of the team's own and a certificate it signed for 127.0.0.1, as PEM files in `dir`.
struct OwnCa {
    ca_pem: String,
    cert: std::path::PathBuf,
    key: std::path::PathBuf,
}

fn own_ca(dir: &std::path::Path) -> OwnCa {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "Disdukcapil test CA");
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["127.0.0.1".to_string()])
        .unwrap()
        .signed_by(&leaf_key, &ca, &ca_key)
        .unwrap();
    let cert = dir.join("mock.pem");
    let key = dir.join("mock.key");
    std::fs::write(&cert, leaf.pem()).unwrap();
    std::fs::write(&key, leaf_key.serialize_pem()).unwrap();
    OwnCa {
        ca_pem: ca.pem(),
        cert,
        key,
    }
}

/// A blocking client with a 30 s time-out and what `tune` adds.
fn client(
    tune: impl FnOnce(reqwest::blocking::ClientBuilder) -> reqwest::blocking::ClientBuilder,
) -> reqwest::blocking::Client {
    tune(reqwest::blocking::Client::builder())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// The data-balikan base URL the mock printed.
fn balikan_url(server: &MockServer) -> String {
    let out = server.output.lock().unwrap();
    out.iter()
        .find_map(|l| l.strip_prefix(dukcapil_mock_api::BALIKAN_LISTENING_PREFIX))
        .unwrap_or_else(|| panic!("no balikan listening line: {out:?}"))
        .trim()
        .to_string()
}

fn rsud_balikan(nik: &str) -> Value {
    json!([{"id_lembaga": "rsud_3313", "nama_lembaga": "RSUD KABUPATEN KARANGANYAR",
            "data": [{"NIK": nik, "param": [{"NO_RM": "RM-NET-1"}]}]}])
}

fn balikan_token() -> String {
    dukcapil_domain::Agreement::embedded()
        .into_iter()
        .find(|a| a.id == "rsud-karanganyar")
        .unwrap()
        .credentials
        .balikan_token
}

/// The gateway on HTTPS with the team's own CA certificate (a client that verifies it trusts
/// only that CA), data balikan on plain HTTP on an address of its own: each answers only its
/// own service, both journal into one mock, and HTTP/2 is spoken where the client asks for it.
#[test]
fn balikan_on_its_own_plain_address_beside_a_gateway_on_the_teams_own_ca() {
    let tmp = tempfile::tempdir().unwrap();
    let ca = own_ca(tmp.path());
    let server = MockServer::start(&[
        "--tls",
        "--tls-cert",
        ca.cert.to_str().unwrap(),
        "--tls-key",
        ca.key.to_str().unwrap(),
        "--balikan-listen",
        "127.0.0.1:0",
        "--balikan-tls=false",
    ]);
    assert!(
        server.base.starts_with("https://127.0.0.1:"),
        "{}",
        server.base
    );
    let balikan = balikan_url(&server);
    assert!(balikan.starts_with("http://127.0.0.1:"), "{balikan}");
    assert!(
        !server.data_dir.join("tls").exists(),
        "no certificate generated when one is given"
    );

    // A client that verifies certificates and trusts the team's CA only.
    let strict = client(|b| {
        b.tls_built_in_root_certs(false)
            .add_root_certificate(reqwest::Certificate::from_pem(ca.ca_pem.as_bytes()).unwrap())
    });
    let nik = server.niks(ResidentStatus::Active, 1).remove(0);
    let res = strict
        .post(server.url(&RSUD.lookup_path()))
        .json(&RSUD.body(&nik, "net-op"))
        .send()
        .expect("a verifying client reaches the gateway");
    assert_eq!(res.version(), reqwest::Version::HTTP_2, "ALPN h2");
    assert_eq!(res.status(), 200);
    let v: Value = res.json().unwrap();
    assert_eq!(v["content"][0]["NIK"].to_string().trim_matches('"'), nik);

    // Data balikan over plain HTTP on its own address, also with HTTP/2 prior knowledge.
    let plain = client(|b| b);
    let res = plain
        .post(format!("{balikan}{STORE}"))
        .bearer_auth(balikan_token())
        .json(&rsud_balikan(&nik))
        .send()
        .unwrap();
    assert_eq!(res.status(), 200, "{:?}", res.text());
    let h2 = client(|b| b.http2_prior_knowledge());
    let res = h2
        .post(format!("{balikan}{STORE}"))
        .bearer_auth(balikan_token())
        .json(&rsud_balikan(&nik))
        .send()
        .unwrap();
    assert_eq!(res.version(), reqwest::Version::HTTP_2);
    assert_eq!(res.status(), 400, "the second submission is a duplicate");

    // Each listener answers only its own service.
    let res = strict
        .post(server.url(STORE))
        .bearer_auth(balikan_token())
        .json(&rsud_balikan(&nik))
        .send()
        .unwrap();
    assert_eq!(res.status(), 404, "balikan on the gateway's host");
    let res = plain
        .post(format!("{balikan}{}", RSUD.lookup_path()))
        .json(&RSUD.body(&nik, "net-op"))
        .send()
        .unwrap();
    assert_eq!(res.status(), 404, "a lookup on the balikan host");
    let res = plain
        .get(format!("{balikan}/__admin/journal"))
        .bearer_auth(crate::support::ADMIN_TOKEN)
        .send()
        .unwrap();
    assert_eq!(res.status(), 404, "no admin API on the balikan host");

    // One mock behind both: the lookup, both submissions and the 404s are in one journal.
    let rows = server.journal("limit=20");
    let endpoints: Vec<&str> = rows.iter().filter_map(|r| r["endpoint"].as_str()).collect();
    assert!(endpoints.contains(&"CALL_NIK"), "{endpoints:?}");
    assert!(
        endpoints.iter().filter(|e| e.contains("balikan")).count() >= 2,
        "{endpoints:?}"
    );
}

/// A TLS session with the mock (trusting `ca_pem`) that finished its handshake and sent the
/// start of a request head; its reads time out after a millisecond.
fn tls_trickler(
    target: &str,
    ca_pem: &str,
) -> rustls::StreamOwned<rustls::ClientConnection, TcpStream> {
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(rustls::pki_types::CertificateDer::from_pem_slice(ca_pem.as_bytes()).unwrap())
        .unwrap();
    let config = rustls::ClientConfig::builder_with_provider(
        rustls::crypto::ring::default_provider().into(),
    )
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let conn = rustls::ClientConnection::new(std::sync::Arc::new(config), name).unwrap();
    let tcp = TcpStream::connect(target).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    tls.write_all(b"POST /dukcapil/get_json/rsud_3313/CALL_NIK HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .unwrap();
    tls.flush().unwrap();
    tls.sock
        .set_read_timeout(Some(Duration::from_millis(1)))
        .unwrap();
    tls
}

/// TLS clients that connect and say nothing, stop inside a record, trickle a ClientHello, or
/// finish the handshake and trickle a request head are closed by the handshake and header
/// timeouts while verified lookups keep being served meanwhile, and past `max_connections` a
/// TLS connection is refused at once as a plain one is.
#[test]
fn stalled_tls_handshakes_are_closed_and_cannot_starve_lookups() {
    let tmp = tempfile::tempdir().unwrap();
    let ca = own_ca(tmp.path());
    let config = tmp.path().join("mock.toml");
    std::fs::write(
        &config,
        "[limits]\nheader_read_timeout_ms = 1500\nidle_timeout_ms = 1500\nmax_connections = 40\n",
    )
    .unwrap();
    let server = MockServer::start_in(
        &tmp.path().join("data"),
        &[
            "--tls",
            "--tls-cert",
            ca.cert.to_str().unwrap(),
            "--tls-key",
            ca.key.to_str().unwrap(),
            "--config",
            config.to_str().unwrap(),
        ],
    );
    let target = server.base.trim_start_matches("https://").to_string();
    let nik = server.niks(ResidentStatus::Active, 1).remove(0);
    let mut stalled: Vec<(TcpStream, bool)> = (0..30)
        .map(|i| {
            let mut s = TcpStream::connect(&target).expect("connect");
            s.set_read_timeout(Some(Duration::from_millis(1))).unwrap();
            match i % 3 {
                // A TLS record header announcing a ClientHello that never comes.
                0 => s.write_all(&[0x16, 0x03, 0x01, 0x02, 0x00]).unwrap(),
                // The start of a ClientHello, then a byte now and then.
                1 => s.write_all(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01]).unwrap(),
                _ => {}
            }
            (s, false)
        })
        .collect();
    let mut tricklers: Vec<_> = (0..6)
        .map(|_| (tls_trickler(&target, &ca.ca_pem), false))
        .collect();
    let client = server.client();
    let started = Instant::now();
    let mut lookups = 0;
    // Bounded: the timeouts are 1.5 s, so all are closed well within 30 s.
    while (stalled.iter().any(|(_, c)| !c) || tricklers.iter().any(|(_, c)| !c))
        && started.elapsed() < Duration::from_secs(30)
    {
        for (i, (s, done)) in stalled.iter_mut().enumerate() {
            if *done {
                continue;
            }
            let wrote = if i % 3 == 1 {
                s.write_all(&[0x00])
            } else {
                Ok(())
            };
            *done = wrote.is_err() || closed(s);
        }
        for (s, done) in tricklers.iter_mut() {
            if *done {
                continue;
            }
            let wrote = s.write_all(b"a").and_then(|()| s.flush());
            *done = wrote.is_err() || closed(s);
        }
        let res = client
            .post(server.url(&RSUD.lookup_path()))
            .json(&RSUD.body(&nik, "tls-op"))
            .send()
            .expect("a lookup while stalled handshakes are open");
        assert_eq!(res.status(), 200);
        lookups += 1;
        std::thread::sleep(Duration::from_millis(100));
    }
    let open = stalled.iter().filter(|(_, c)| !c).count();
    assert_eq!(open, 0, "stalled TLS handshakes still open after 30 s");
    let open = tricklers.iter().filter(|(_, c)| !c).count();
    assert_eq!(
        open, 0,
        "TLS sessions trickling a request head still open after 30 s"
    );
    assert!(lookups > 1, "{lookups}");

    // Past the limit: the last of 45 silent connections is refused at once, naming the limit.
    let mut held: Vec<TcpStream> = (0..45)
        .map(|_| TcpStream::connect(&target).unwrap())
        .collect();
    let last = held.last_mut().unwrap();
    last.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut refusal = String::new();
    let _ = last.read_to_string(&mut refusal);
    assert!(
        refusal.starts_with("HTTP/1.1 503") && refusal.contains("max_connections"),
        "{refusal:?}"
    );
}
