//! Binding the `--listen` address, with a hint for a taken port (parsing it, with a hint for host
//! names, is `config::parse_listen`).

use std::net::{SocketAddr, TcpListener};

use super::data_dir::cause;

/// Binds `addr`, saying why not once, with a hint for a taken port.
pub(crate) fn bind(addr: SocketAddr) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr).map_err(|e| {
        let hint = match e.kind() {
            std::io::ErrorKind::AddrInUse => {
                " (another program, perhaps another mock, listens there: stop it or pick another port, --listen 127.0.0.1:0 picks a free one)"
            }
            std::io::ErrorKind::PermissionDenied if addr.port() < 1024 => {
                " (ports below 1024 need privileges: use 8000 or another high port)"
            }
            std::io::ErrorKind::AddrNotAvailable => {
                " (no interface of this machine has that address)"
            }
            _ => "",
        };
        anyhow::anyhow!("cannot listen on {addr}: {}{hint}", cause(&e))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_taken_port_is_said_once_with_a_hint() {
        let taken = TcpListener::bind("127.0.0.1:0").unwrap();
        let e = bind(taken.local_addr().unwrap()).unwrap_err().to_string();
        assert!(
            e.contains("address already in use") || e.contains("in use"),
            "{e}"
        );
        assert!(e.contains("--listen 127.0.0.1:0"), "{e}");
        assert!(!e.contains("os error"), "{e}");
    }
}
