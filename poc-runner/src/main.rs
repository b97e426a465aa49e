//! `poc-runner`: the command line; everything is in the library's [`poc_runner::run`].

fn main() {
    let code = match poc_runner::run(std::env::args_os()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            e.exit_code()
        }
    };
    std::process::exit(code as i32);
}
