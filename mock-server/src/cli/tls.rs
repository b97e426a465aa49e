//! The self-signed certificate of `serve --tls`, generated once into the data directory (as the
//! real gateway serves a self-signed certificate on port 8000) and reused after that, so its
//! fingerprint stays the same across restarts.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

#[derive(Debug, thiserror::Error)]
pub(super) enum TlsError {
    #[error("cannot generate a certificate: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("{}: {}", path.display(), crate::config::io_cause(error))]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{path} holds no PEM certificate")]
    NoCertificate { path: PathBuf },
}

/// A certificate and key in PEM, with the certificate's SHA-256 fingerprint.
#[derive(Debug, Clone)]
pub(super) struct CertFiles {
    pub cert_pem: Vec<u8>,
    pub key_pem: Vec<u8>,
    pub cert_path: PathBuf,
    /// Upper-case hex pairs separated by colons, as browsers and openssl print it.
    pub fingerprint: String,
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> TlsError + '_ {
    move |error| TlsError::Io {
        path: path.to_path_buf(),
        error,
    }
}

/// Writes a private key readable by its owner only (0600 on Unix).
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(bytes)
}

/// Reads `DATA_DIR/tls/{cert,key}.pem`, generating them first if absent.
pub(super) fn ensure_cert(data_dir: &Path) -> Result<CertFiles, TlsError> {
    let dir = data_dir.join("tls");
    let cert_path = dir.join("cert.pem");
    let key_path = dir.join("key.pem");
    if !cert_path.exists() || !key_path.exists() {
        std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        let names = vec![
            "localhost".to_string(),
            "127.0.0.1".to_string(),
            "::1".to_string(),
        ];
        let certified = rcgen::generate_simple_self_signed(names)?;
        write_private(&key_path, certified.key_pair.serialize_pem().as_bytes())
            .map_err(io(&key_path))?;
        std::fs::write(&cert_path, certified.cert.pem()).map_err(io(&cert_path))?;
    }
    let cert_pem = std::fs::read(&cert_path).map_err(io(&cert_path))?;
    let key_pem = std::fs::read(&key_path).map_err(io(&key_path))?;
    let der = pem_body(&cert_pem).ok_or_else(|| TlsError::NoCertificate {
        path: cert_path.clone(),
    })?;
    let fingerprint = Sha256::digest(&der)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":");
    Ok(CertFiles {
        cert_pem,
        key_pem,
        cert_path,
        fingerprint,
    })
}

/// The DER bytes of the first PEM certificate block.
fn pem_body(pem: &[u8]) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(pem).ok()?;
    let start = text.find("-----BEGIN CERTIFICATE-----")? + "-----BEGIN CERTIFICATE-----".len();
    let end = text[start..].find("-----END CERTIFICATE-----")? + start;
    let b64: String = text[start..end]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    decode_base64(&b64)
}

fn decode_base64(s: &str) -> Option<Vec<u8>> {
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        })
    };
    let bytes = s.trim_end_matches('=').as_bytes();
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    for chunk in bytes.chunks(4) {
        let mut acc = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            acc |= val(c)? << (18 - 6 * i);
        }
        let n = chunk.len() * 6 / 8;
        for i in 0..n {
            out.push((acc >> (16 - 8 * i)) as u8);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_once_and_fingerprint_is_stable() {
        let dir = tempfile::tempdir().unwrap();
        let a = ensure_cert(dir.path()).unwrap();
        let b = ensure_cert(dir.path()).unwrap();
        assert_eq!(a.fingerprint, b.fingerprint);
        assert_eq!(a.fingerprint.len(), 32 * 3 - 1);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("tls/key.pem"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{mode:o}");
        }
    }

    #[test]
    fn base64_decodes() {
        assert_eq!(decode_base64("aGVsbG8=").unwrap(), b"hello");
        assert_eq!(decode_base64("aGk=").unwrap(), b"hi");
    }
}
