//! Errors in a scenario, requirements or target file, reported as `PATH:LINE:COLUMN: key `x`:
//! message` before anything runs.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// One mistake in one input file, with where it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct FileError {
    pub path: PathBuf,
    /// 1-based; `None` when the mistake has no position (file unreadable, missing key...).
    pub line: Option<usize>,
    pub column: Option<usize>,
    /// The dotted key the mistake is at, when known (`groups.tests.requirement`).
    pub key: Option<String>,
    pub message: String,
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        if let Some(l) = self.line {
            write!(f, ":{l}")?;
            if let Some(c) = self.column {
                write!(f, ":{c}")?;
            }
        }
        f.write_str(": ")?;
        if let Some(k) = &self.key {
            write!(f, "key `{k}`: ")?;
        }
        f.write_str(&self.message)
    }
}

/// Every mistake found in one pass (semantic validation reports all of them, not the first).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct FileErrors(pub Vec<FileError>);

impl fmt::Display for FileErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl From<FileError> for FileErrors {
    fn from(e: FileError) -> Self {
        FileErrors(vec![e])
    }
}

/// The text of one input file, kept to turn byte spans into lines and columns.
#[derive(Debug, Clone)]
pub struct Source {
    pub path: PathBuf,
    pub text: String,
}

impl Source {
    pub fn read(path: &Path) -> Result<Source, FileError> {
        let text = std::fs::read_to_string(path).map_err(|e| FileError {
            path: path.to_path_buf(),
            line: None,
            column: None,
            key: None,
            message: format!("cannot read file: {}", io_cause(&e)),
        })?;
        Ok(Source {
            path: path.to_path_buf(),
            text,
        })
    }

    pub fn new(path: impl Into<PathBuf>, text: impl Into<String>) -> Source {
        Source {
            path: path.into(),
            text: text.into(),
        }
    }

    /// An error at a byte span, naming `key`.
    pub fn error_at(
        &self,
        span: Range<usize>,
        key: impl Into<String>,
        message: impl Into<String>,
    ) -> FileError {
        let (line, column) = dukcapil_domain::agreement::line_col(&self.text, span.start);
        FileError {
            path: self.path.clone(),
            line: Some(line),
            column: Some(column),
            key: Some(key.into()),
            message: message.into(),
        }
    }

    /// An error without position.
    pub fn error(&self, key: Option<&str>, message: impl Into<String>) -> FileError {
        FileError {
            path: self.path.clone(),
            line: None,
            column: None,
            key: key.map(str::to_string),
            message: message.into(),
        }
    }

    /// Deserializes the whole file; a syntax or shape mistake becomes a positioned `FileError`.
    pub fn parse<T: serde::de::DeserializeOwned>(&self) -> Result<T, FileError> {
        toml::from_str(&self.text).map_err(|e| self.toml_error(&e))
    }

    fn toml_error(&self, e: &toml::de::Error) -> FileError {
        let message = normalise(e.message().trim());
        match e.span() {
            Some(span) => {
                let key = key_at(&self.text, span.start);
                let (line, column) = dukcapil_domain::agreement::line_col(&self.text, span.start);
                FileError {
                    path: self.path.clone(),
                    line: Some(line),
                    column: Some(column),
                    key,
                    message,
                }
            }
            None => FileError {
                path: self.path.clone(),
                line: None,
                column: None,
                key: None,
                message,
            },
        }
    }
}

/// The dotted key a byte offset belongs to: the enclosing `[table]` header plus the `key =` of
/// the line. A heuristic over the text (toml's errors carry a span, not a key path); good enough
/// to point a person at the right line, which also carries the exact position.
pub(crate) fn key_at(text: &str, offset: usize) -> Option<String> {
    let offset = offset.min(text.len());
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[offset..].find('\n').map_or(text.len(), |i| offset + i);
    let line = &text[line_start..line_end];
    let mut table = None;
    for l in text[..line_start].lines().rev() {
        let t = l.trim();
        if t.starts_with('[') {
            table = Some(
                t.trim_start_matches('[')
                    .trim_end_matches(']')
                    .trim()
                    .to_string(),
            );
            break;
        }
    }
    let trimmed = line.trim_start();
    if trimmed.starts_with('[') {
        // The offending thing is a table header itself.
        return Some(
            trimmed
                .trim_start_matches('[')
                .trim_end_matches(']')
                .trim()
                .to_string(),
        );
    }
    let col = (offset - line_start).min(line.len());
    // The span starts at a key itself (unknown field): the word under the offset, if `=` follows.
    let rest = &line[col..];
    let word: String = rest
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '-')
        .collect();
    let is_key = !word.is_empty() && rest[word.len()..].trim_start().starts_with('=');
    // Otherwise the innermost `key =` left of the offset on this line (inline tables nest keys).
    let inner = if is_key {
        Some(word)
    } else {
        innermost_key(&line[..col])
    };
    match (table, inner) {
        (Some(t), Some(k)) => Some(format!("{t}.{k}")),
        (None, Some(k)) => Some(k),
        (Some(t), None) => Some(t),
        (None, None) => None,
    }
}

/// toml's messages, reworded to say what was expected.
fn normalise(message: &str) -> String {
    if let Some(rest) = message.strip_prefix("unexpected keys in table: ") {
        if let Some((found, available)) = rest.split_once(", available keys:") {
            let available = available.trim();
            if available.is_empty() {
                return format!("expected an empty table `{{}}`, found unknown key {found}");
            }
            let hint = did_you_mean(found.trim(), available.split(',').map(str::trim))
                .map(|m| format!("; did you mean `{m}`?"))
                .unwrap_or_default();
            return format!("expected one of {available}, found unknown key {found}{hint}");
        }
    }
    // serde's "unknown variant `x`, expected one of `a`, `b`" (a check's or a step's name) and
    // "unknown field `x`, expected ...".
    for prefix in ["unknown variant `", "unknown field `"] {
        if let Some(rest) = message.strip_prefix(prefix) {
            if let Some((found, expected)) = rest.split_once('`') {
                let names = expected.split('`').skip(1).step_by(2);
                if let Some(m) = did_you_mean(found, names) {
                    return format!("{message}; did you mean `{m}`?");
                }
            }
        }
    }
    message.to_string()
}

/// The candidate closest to `found`, when it is close enough to be a typo of it.
pub(crate) fn did_you_mean<'a>(
    found: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(found, c), c))
        .filter(|(score, _)| *score > 0.85)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// An I/O error's cause in words, without the OS's error number: `permission denied`.
pub(crate) fn io_cause(e: &std::io::Error) -> String {
    use std::io::ErrorKind;
    match e.kind() {
        ErrorKind::PermissionDenied => "permission denied".into(),
        ErrorKind::NotFound => "no such file or directory".into(),
        ErrorKind::IsADirectory => "is a directory, not a file".into(),
        ErrorKind::NotADirectory => "a part of the path is a file, not a directory".into(),
        ErrorKind::AlreadyExists => "already exists".into(),
        _ => {
            let text = e.to_string();
            match text.find(" (os error") {
                Some(at) => text[..at].to_lowercase(),
                None => text,
            }
        }
    }
}

fn innermost_key(left: &str) -> Option<String> {
    let eq = left.rfind('=')?;
    let before = left[..eq].trim_end();
    let key: String = before
        .chars()
        .rev()
        .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '-' || *c == '.' || *c == '"')
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let key = key.trim_matches('"').to_string();
    (!key.is_empty()).then_some(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_get_a_did_you_mean() {
        let m = normalise(
            "unknown variant `field_limit`, expected one of `field_limits`, `non_retention`",
        );
        assert!(m.ends_with("did you mean `field_limits`?"), "{m}");
        let m = normalise("unknown variant `zzz`, expected one of `field_limits`, `non_retention`");
        assert!(!m.contains("did you mean"), "{m}");
        assert_eq!(
            did_you_mean(
                "rsud-karanganyr",
                ["dev", "rsud-karanganyar", "dinkes-karanganyar"]
            ),
            Some("rsud-karanganyar")
        );
        let e = Source::read(Path::new("/no/such/pack.toml"))
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "/no/such/pack.toml: cannot read file: no such file or directory"
        );
    }

    #[test]
    fn key_at_finds_table_and_key() {
        let text = "[pack]\nid = \"x\"\n\n[[groups]]\nid = 3\n";
        let off = text.find("3").unwrap();
        assert_eq!(key_at(text, off).as_deref(), Some("groups.id"));
        let text = "steps = [ { lookup = { operator = 5 } } ]";
        let off = text.find('5').unwrap();
        assert_eq!(key_at(text, off).as_deref(), Some("operator"));
    }

    #[test]
    fn unexpected_keys_are_reworded_as_expectations() {
        assert_eq!(
            normalise("unexpected keys in table: deep, available keys:"),
            "expected an empty table `{}`, found unknown key deep"
        );
        assert_eq!(
            normalise("unexpected keys in table: nik, available keys: operator, nik_ref"),
            "expected one of operator, nik_ref, found unknown key nik; did you mean `nik_ref`?"
        );
    }

    #[test]
    fn display_has_path_line_column_key() {
        let s = Source::new("a.toml", "x = 1\ny = \"oops\"\n");
        let e = s.error_at(10..16, "y", "expected an integer");
        assert_eq!(e.to_string(), "a.toml:2:5: key `y`: expected an integer");
    }
}
