//! The data directory of `serve`, `fixtures` and `residents`: made if missing and checked to be
//! a writable directory before anything is generated into it, so that the error names the cause
//! once, in words.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

pub(crate) use crate::config::io_cause as cause;

/// Why the data directory cannot be used.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DataDirError {
    #[error("data directory {}: is a file, not a directory", path.display())]
    NotADirectory { path: PathBuf },
    // The cause is said once, in words (`error`, not a `source` that `{:#}` would repeat).
    #[error("cannot create data directory {}: {}", path.display(), cause(error))]
    Create {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("data directory {} is not writable: {}", path.display(), cause(error))]
    NotWritable {
        path: PathBuf,
        error: std::io::Error,
    },
}

/// Makes `dir` if missing and checks that files can be created in it.
pub(crate) fn ensure(dir: &Path) -> Result<(), DataDirError> {
    let path = dir.to_path_buf();
    if dir.exists() && !dir.is_dir() {
        return Err(DataDirError::NotADirectory { path });
    }
    if let Err(error) = std::fs::create_dir_all(dir) {
        return Err(match error.kind() {
            // A file in the way, further up the path.
            ErrorKind::AlreadyExists | ErrorKind::NotADirectory => DataDirError::Create {
                path,
                error: std::io::Error::from(ErrorKind::NotADirectory),
            },
            _ => DataDirError::Create { path, error },
        });
    }
    match tempfile::Builder::new()
        .prefix(".write-probe-")
        .tempfile_in(dir)
    {
        Ok(probe) => {
            let _ = probe.close();
            Ok(())
        }
        Err(error) => Err(DataDirError::NotWritable { path, error }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn causes_are_words_said_once() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("mock-data");
        std::fs::write(&file, "").unwrap();
        let e = ensure(&file).unwrap_err().to_string();
        assert!(e.ends_with("is a file, not a directory"), "{e}");
        assert_eq!(e.matches("mock-data").count(), 1, "{e}");
        // Below a file: the cause, not "File exists (os error 17)".
        let e = ensure(&file.join("sub")).unwrap_err().to_string();
        assert!(!e.contains("os error"), "{e}");
        let denied = DataDirError::NotWritable {
            path: "/srv/mock".into(),
            error: std::io::Error::from_raw_os_error(13),
        };
        assert_eq!(
            denied.to_string(),
            "data directory /srv/mock is not writable: permission denied"
        );
        ensure(&dir.path().join("a/b")).unwrap();
        assert!(dir.path().join("a/b").is_dir());
        assert_eq!(
            std::fs::read_dir(dir.path().join("a/b")).unwrap().count(),
            0
        );
    }
}
