//! Trust anchors for `verify`: which signing keys (and which assessor principals) the reader
//! trusts. A result names its own signer key, so a signature that verifies only proves the
//! document is internally consistent; who signed it is decided here.
//!
//! Allowed signers use the OpenSSH `allowed_signers` format (`ssh-keygen(1)`, ALLOWED SIGNERS):
//! `principals [options] keytype base64 [comment]`, so the same file works for
//! `ssh-keygen -Y verify -f FILE -I PRINCIPAL -n dukcapil-poc`.

use std::path::{Path, PathBuf};

use ssh_key::PublicKey;

/// One trusted key, with the principals it may sign as (`None`: any, for a bare `--public-key`)
/// and the namespaces it may sign in (`None`: any).
#[derive(Debug, Clone)]
pub(crate) struct TrustedSigner {
    pub principals: Option<Vec<String>>,
    pub namespaces: Option<Vec<String>>,
    pub key: PublicKey,
}

/// Where the trusted keys came from, for the report.
#[derive(Debug, Clone)]
pub(crate) struct TrustAnchor {
    pub source: String,
    pub signers: Vec<TrustedSigner>,
}

/// Environment variable naming an allowed-signers file configured once for this machine.
pub(crate) const TRUSTED_SIGNERS_ENV: &str = "POC_TRUSTED_SIGNERS";

impl TrustAnchor {
    /// Trusts exactly `key`, as any principal.
    #[cfg(test)]
    pub(crate) fn key(key: PublicKey, source: impl Into<String>) -> TrustAnchor {
        TrustAnchor {
            source: source.into(),
            signers: vec![TrustedSigner {
                principals: None,
                namespaces: None,
                key,
            }],
        }
    }

    pub(crate) fn public_key(path: &Path) -> Result<TrustAnchor, String> {
        let key = PublicKey::read_openssh_file(path)
            .map_err(|e| format!("{}: not an OpenSSH public key: {e}", path.display()))?;
        Ok(TrustAnchor {
            source: format!("--public-key {}", path.display()),
            signers: vec![TrustedSigner {
                principals: None,
                namespaces: None,
                key,
            }],
        })
    }

    pub(crate) fn allowed_signers(path: &Path, source: String) -> Result<TrustAnchor, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let signers =
            parse_allowed_signers(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(TrustAnchor { source, signers })
    }

    /// The allowed-signers file configured once: `$POC_TRUSTED_SIGNERS`, else
    /// `$XDG_CONFIG_HOME/poc-runner/allowed_signers` (default `~/.config/...`), if it exists.
    pub(crate) fn configured() -> Result<Option<TrustAnchor>, String> {
        if let Some(p) = std::env::var_os(TRUSTED_SIGNERS_ENV).filter(|p| !p.is_empty()) {
            let p = PathBuf::from(p);
            let src = format!("{TRUSTED_SIGNERS_ENV}={}", p.display());
            return TrustAnchor::allowed_signers(&p, src).map(Some);
        }
        let base = std::env::var_os("XDG_CONFIG_HOME")
            .filter(|p| !p.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")));
        let Some(base) = base else { return Ok(None) };
        let p = base.join("poc-runner").join("allowed_signers");
        if !p.exists() {
            return Ok(None);
        }
        let src = p.display().to_string();
        TrustAnchor::allowed_signers(&p, src).map(Some)
    }

    /// Whether `key` may sign as `principal` in `namespace`: `Ok(())`, or why not.
    pub(crate) fn admits(
        &self,
        key: &PublicKey,
        principal: &str,
        namespace: &str,
    ) -> Result<(), String> {
        let same_key: Vec<&TrustedSigner> = self
            .signers
            .iter()
            .filter(|s| s.key.key_data() == key.key_data())
            .collect();
        if same_key.is_empty() {
            return Err(format!(
                "the signer key is not among the keys trusted by {}",
                self.source
            ));
        }
        let ok = same_key.iter().any(|s| {
            s.namespaces
                .as_ref()
                .is_none_or(|ns| ns.iter().any(|n| n == namespace))
                && s.principals
                    .as_ref()
                    .is_none_or(|ps| principal_matches(ps, principal))
        });
        if ok {
            Ok(())
        } else {
            Err(format!(
                "the signer key is trusted by {} but not as principal `{principal}` in namespace {namespace}",
                self.source
            ))
        }
    }
}

/// `ssh-keygen`'s principal patterns: comma-separated, `*` and `?` wildcards, `!` negation.
fn principal_matches(patterns: &[String], principal: &str) -> bool {
    let mut matched = false;
    for p in patterns {
        if let Some(neg) = p.strip_prefix('!') {
            if glob(neg.as_bytes(), principal.as_bytes()) {
                return false;
            }
        } else if glob(p.as_bytes(), principal.as_bytes()) {
            matched = true;
        }
    }
    matched
}

fn glob(p: &[u8], s: &[u8]) -> bool {
    match (p.first(), s.first()) {
        (None, None) => true,
        (Some(b'*'), _) => glob(&p[1..], s) || (!s.is_empty() && glob(p, &s[1..])),
        (Some(b'?'), Some(_)) => glob(&p[1..], &s[1..]),
        (Some(a), Some(b)) if a == b => glob(&p[1..], &s[1..]),
        _ => false,
    }
}

/// Splits off the first field, honouring double quotes (principals or option values may be
/// quoted and contain spaces).
fn take_field(line: &str) -> Result<(String, &str), String> {
    let line = line.trim_start();
    let mut quoted = false;
    for (i, c) in line.char_indices() {
        match c {
            '"' => quoted = !quoted,
            c if c.is_whitespace() && !quoted => return Ok((line[..i].to_string(), &line[i..])),
            _ => {}
        }
    }
    if quoted {
        return Err("unterminated quote".into());
    }
    Ok((line.to_string(), ""))
}

fn unquote(s: &str) -> String {
    s.replace('"', "")
}

/// Parses an `allowed_signers` file. Certificate-authority entries are refused (this runner
/// signs with plain keys); `valid-after`/`valid-before` are refused rather than ignored.
pub(crate) fn parse_allowed_signers(text: &str) -> Result<Vec<TrustedSigner>, String> {
    let mut out = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let at = |e: String| format!("line {}: {e}", n + 1);
        let (principals, rest) = take_field(line).map_err(at)?;
        let principals: Vec<String> = unquote(&principals)
            .split(',')
            .map(str::to_string)
            .filter(|p| !p.is_empty())
            .collect();
        if principals.is_empty() {
            return Err(at("no principals".into()));
        }
        let (second, after) = take_field(rest).map_err(at)?;
        let (options, key_text) = if second.starts_with("ssh-")
            || second.starts_with("ecdsa-")
            || second.starts_with("sk-")
        {
            (None, rest.trim())
        } else {
            (Some(second), after.trim())
        };
        let mut namespaces = None;
        if let Some(opts) = options {
            // Options are comma-separated; commas inside quotes belong to the value.
            let mut parts = Vec::new();
            let (mut cur, mut q) = (String::new(), false);
            for c in opts.chars() {
                match c {
                    '"' => q = !q,
                    ',' if !q => parts.push(std::mem::take(&mut cur)),
                    c => cur.push(c),
                }
            }
            parts.push(cur);
            for o in parts {
                let (name, value) = o.split_once('=').unwrap_or((o.as_str(), ""));
                match name.to_ascii_lowercase().as_str() {
                    "namespaces" => {
                        namespaces = Some(value.split(',').map(str::to_string).collect());
                    }
                    "cert-authority" => {
                        return Err(at("cert-authority entries are not supported".into()))
                    }
                    other => return Err(at(format!("option `{other}` is not supported"))),
                }
            }
        }
        let key = PublicKey::from_openssh(key_text)
            .map_err(|e| at(format!("not an OpenSSH public key: {e}")))?;
        out.push(TrustedSigner {
            principals: Some(principals),
            namespaces,
            key,
        });
    }
    if out.is_empty() {
        return Err("no allowed signers in the file".into());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOpKbGPinFIKvvVQexMuxfmVR3auvr57kkIe6mkURtIs";

    #[test]
    fn allowed_signers_lines_with_quotes_options_and_patterns() {
        let text = format!(
            "# assessors\n\n\"a@x.go.id,tim *\" namespaces=\"dukcapil-poc,git\" {KEY} comment\n*@y.go.id,!bad@y.go.id {KEY}\n"
        );
        let signers = parse_allowed_signers(&text).unwrap();
        assert_eq!(signers.len(), 2);
        let anchor = TrustAnchor {
            source: "t".into(),
            signers,
        };
        let key = PublicKey::from_openssh(KEY).unwrap();
        assert!(anchor.admits(&key, "a@x.go.id", "dukcapil-poc").is_ok());
        assert!(anchor.admits(&key, "tim poc", "dukcapil-poc").is_ok());
        assert!(anchor.admits(&key, "c@y.go.id", "other").is_ok());
        assert!(anchor.admits(&key, "bad@y.go.id", "dukcapil-poc").is_err());
        assert!(anchor.admits(&key, "a@x.go.id", "other").is_err());
        assert!(parse_allowed_signers("x cert-authority ssh-ed25519 AAAA").is_err());
        assert!(parse_allowed_signers("\"x ssh-ed25519 AAAA").is_err());
        assert!(parse_allowed_signers("x ssh-ed25519 notbase64!").is_err());
        assert!(parse_allowed_signers("# only comments\n").is_err());
    }
}
