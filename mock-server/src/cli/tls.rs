//! The certificate of `serve --tls` (and of `--balikan-tls`): a given PEM chain and key
//! (`--tls-cert`, `--tls-key`, so that a team can use its own CA), or a self-signed certificate
//! generated once into the data directory (as the real gateway serves a self-signed certificate on
//! port 8000) and reused after that, so its fingerprint stays the same across restarts. Its
//! subject names the mock, so that nobody takes it for the real gateway's.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use sha2::{Digest, Sha256};

use crate::config::TlsFiles;

/// The subject's common name of a generated certificate.
pub(crate) const GENERATED_SUBJECT: &str =
    "mock-server: Dukcapil mock gateway (dummy data, not the real gateway)";

#[derive(Debug, thiserror::Error)]
pub(super) enum TlsError {
    #[error("cannot generate a certificate: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("{}: {}", path.display(), crate::config::io_cause(error))]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{}: no PEM certificate in it ({what})", path.display())]
    NoCertificate { path: PathBuf, what: String },
    #[error("{}: no PEM private key in it ({what})", path.display())]
    NoKey { path: PathBuf, what: String },
    #[error("{} with {}: {error}", cert.display(), key.display())]
    Rejected {
        cert: PathBuf,
        key: PathBuf,
        error: rustls::Error,
    },
}

/// A loaded certificate: where it is, its fingerprint, and the acceptor that serves it.
#[derive(Clone)]
pub(super) struct Certificate {
    pub path: PathBuf,
    /// SHA-256 of the end-entity certificate: upper-case hex pairs separated by colons, as
    /// browsers and openssl print it.
    pub fingerprint: String,
    pub acceptor: tokio_rustls::TlsAcceptor,
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

/// The given files, or `DATA_DIR/tls/{cert,key}.pem` (generated first if absent).
pub(super) fn load(data_dir: &Path, given: Option<&TlsFiles>) -> Result<Certificate, TlsError> {
    let files = match given {
        Some(files) => files.clone(),
        None => ensure_generated(data_dir)?,
    };
    let certs = CertificateDer::pem_file_iter(&files.cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| pem_problem(&files.cert, e, true))?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificate {
            path: files.cert,
            what: "the file holds no CERTIFICATE block".into(),
        });
    }
    let key =
        PrivateKeyDer::from_pem_file(&files.key).map_err(|e| pem_problem(&files.key, e, false))?;
    let fingerprint = Sha256::digest(&certs[0])
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":");
    let mut config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|error| TlsError::Rejected {
            cert: files.cert.clone(),
            key: files.key.clone(),
            error,
        })?;
    // HTTP/2 for the clients that offer it, HTTP/1.1 for the rest (the accept loop serves both).
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Certificate {
        path: files.cert,
        fingerprint,
        acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(config)),
    })
}

fn pem_problem(path: &Path, e: rustls::pki_types::pem::Error, cert: bool) -> TlsError {
    use rustls::pki_types::pem::Error;
    match e {
        Error::Io(error) => TlsError::Io {
            path: path.to_path_buf(),
            error,
        },
        other if cert => TlsError::NoCertificate {
            path: path.to_path_buf(),
            what: other.to_string(),
        },
        other => TlsError::NoKey {
            path: path.to_path_buf(),
            what: other.to_string(),
        },
    }
}

/// `DATA_DIR/tls/{cert,key}.pem`, generating them first if absent.
fn ensure_generated(data_dir: &Path) -> Result<TlsFiles, TlsError> {
    let dir = data_dir.join("tls");
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    if !cert.exists() || !key.exists() {
        std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        let names = vec![
            "localhost".to_string(),
            "127.0.0.1".to_string(),
            "::1".to_string(),
        ];
        let mut params = rcgen::CertificateParams::new(names)?;
        let mut subject = rcgen::DistinguishedName::new();
        subject.push(rcgen::DnType::CommonName, GENERATED_SUBJECT);
        subject.push(
            rcgen::DnType::OrganizationName,
            "dukcapil-mock (test environment)",
        );
        params.distinguished_name = subject;
        let key_pair = rcgen::KeyPair::generate()?;
        let certified = params.self_signed(&key_pair)?;
        write_private(&key, key_pair.serialize_pem().as_bytes()).map_err(io(&key))?;
        std::fs::write(&cert, certified.pem()).map_err(io(&cert))?;
    }
    Ok(TlsFiles { cert, key })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provider() {
        let _ = rustls::crypto::ring::default_provider().install_default();
    }

    #[test]
    fn generated_once_with_a_stable_fingerprint_and_a_subject_naming_the_mock() {
        provider();
        let dir = tempfile::tempdir().unwrap();
        let a = load(dir.path(), None).unwrap();
        let b = load(dir.path(), None).unwrap();
        assert_eq!(a.fingerprint, b.fingerprint);
        assert_eq!(a.fingerprint.len(), 32 * 3 - 1);
        let pem = std::fs::read_to_string(&a.path).unwrap();
        let params = rcgen::CertificateParams::from_ca_cert_pem(&pem).unwrap();
        match params.distinguished_name.get(&rcgen::DnType::CommonName) {
            Some(rcgen::DnValue::Utf8String(cn)) => assert_eq!(cn, GENERATED_SUBJECT),
            other => panic!("common name: {other:?}"),
        }
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
    fn given_files_are_used_and_their_problems_named() {
        provider();
        let dir = tempfile::tempdir().unwrap();
        let key_pair = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["gateway.test".into()])
            .unwrap()
            .self_signed(&key_pair)
            .unwrap();
        let cert_path = dir.path().join("mine.pem");
        let key_path = dir.path().join("mine.key");
        std::fs::write(&cert_path, cert.pem()).unwrap();
        std::fs::write(&key_path, key_pair.serialize_pem()).unwrap();
        let files = TlsFiles {
            cert: cert_path.clone(),
            key: key_path.clone(),
        };
        let loaded = load(dir.path(), Some(&files)).unwrap();
        assert_eq!(loaded.path, cert_path);
        let expected = Sha256::digest(cert.der())
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect::<Vec<_>>()
            .join(":");
        assert_eq!(loaded.fingerprint, expected);
        assert!(!dir.path().join("tls").exists(), "nothing generated");

        // A key of another certificate: rustls refuses the pair, and the error names both files.
        let other = rcgen::KeyPair::generate().unwrap();
        std::fs::write(&key_path, other.serialize_pem()).unwrap();
        let err = load(dir.path(), Some(&files)).err().unwrap().to_string();
        assert!(
            err.contains("mine.pem") && err.contains("mine.key"),
            "{err}"
        );
        // The certificate file given as the key (and the other way round).
        let swapped = TlsFiles {
            cert: key_path.clone(),
            key: cert_path.clone(),
        };
        let err = load(dir.path(), Some(&swapped)).err().unwrap().to_string();
        assert!(
            err.contains("mine.key") && err.contains("no PEM certificate"),
            "{err}"
        );
        let missing = TlsFiles {
            cert: dir.path().join("absent.pem"),
            key: key_path,
        };
        let err = load(dir.path(), Some(&missing)).err().unwrap().to_string();
        assert!(
            err.contains("absent.pem") && err.contains("no such file"),
            "{err}"
        );
    }
}
