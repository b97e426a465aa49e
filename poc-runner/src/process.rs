//! The processes a session may own: the embedded mock and the application under test. Both are
//! killed when their handle drops, so an interrupted or failed session leaves nothing running.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use crate::error::SessionError;

/// A program next to the running executable (how `cargo build` lays out the workspace
/// binaries), else the bare name for `PATH`.
pub(crate) fn sibling(name: &str) -> PathBuf {
    if name.contains('/') || name.contains('\\') {
        return PathBuf::from(name);
    }
    let file = format!("{name}{}", std::env::consts::EXE_SUFFIX);
    if let Ok(exe) = std::env::current_exe() {
        if let Some(dir) = exe.parent() {
            for d in [Some(dir), dir.parent()].into_iter().flatten() {
                let p = d.join(&file);
                if p.is_file() {
                    return p;
                }
            }
        }
    }
    PathBuf::from(name)
}

/// Why a program did not start, in words; a missing one gets where it was looked for.
fn spawn_cause(e: &std::io::Error) -> String {
    if e.kind() == std::io::ErrorKind::NotFound {
        let dir = std::env::current_exe()
            .ok()
            .and_then(|p| p.parent().map(|d| d.display().to_string()))
            .unwrap_or_else(|| "the runner's folder".into());
        return format!(
            "not found in {dir} (nor its parent) nor on PATH; in the checkout, build it with the \
             runner in the same profile (e.g. `cargo build --release -p poc-runner -p mock-server \
             -p rsud-app`)"
        );
    }
    crate::file_error::io_cause(e)
}

/// Pids of the processes sessions own right now, for [`stop_children`].
static RUNNING: Mutex<BTreeSet<u32>> = Mutex::new(BTreeSet::new());
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Called from the Ctrl-C / SIGTERM handler: the process is about to end without running
/// destructors, so the mock and the application are killed here, not left running.
pub(crate) fn stop_children() {
    INTERRUPTED.store(true, Ordering::SeqCst);
    let pids: Vec<u32> = RUNNING
        .lock()
        .map(|s| s.iter().copied().collect())
        .unwrap_or_default();
    for pid in pids {
        kill(pid);
    }
}

/// Whether the session was interrupted (its failures are then not the application's).
pub(crate) fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

#[cfg(unix)]
fn kill(pid: u32) {
    if let Ok(pid) = i32::try_from(pid) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
}

#[cfg(not(unix))]
fn kill(_pid: u32) {}

/// A child process killed on drop, with its stdout lines forwarded to a channel.
#[derive(Debug)]
pub(crate) struct Owned {
    child: Child,
    what: String,
}

impl Drop for Owned {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Ok(mut s) = RUNNING.lock() {
            s.remove(&self.child.id());
        }
    }
}

impl Owned {
    fn new(child: Child, what: &str) -> Owned {
        if let Ok(mut s) = RUNNING.lock() {
            s.insert(child.id());
        }
        Owned {
            child,
            what: what.to_string(),
        }
    }

    /// Spawns `cmd` and waits for a stdout line starting with `prefix`; returns the rest of it.
    pub(crate) fn spawn_until(
        mut cmd: Command,
        what: &str,
        prefix: &str,
        timeout: Duration,
    ) -> Result<(Owned, String), SessionError> {
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut child = cmd.spawn().map_err(|e| {
            SessionError::Start(format!("cannot start {what}: {}", spawn_cause(&e)))
        })?;
        let stdout = child.stdout.take();
        let mut owned = Owned::new(child, what);
        let (tx, rx) = mpsc::channel::<String>();
        if let Some(out) = stdout {
            drain(out, OutputLog::default(), Some(tx));
        }
        let url = wait_for_line(&mut owned, &rx, prefix, timeout)?;
        Ok((owned, url))
    }
}

/// The `[app].command` words with their templates filled (`{{ mock_url }}`, `{{ target_dir }}`),
/// like `[app].env`: no `sh -c` needed to hand the application the mock's URL.
fn render_command(words: &[String], ctx: &tera::Context) -> Result<Vec<String>, SessionError> {
    words
        .iter()
        .enumerate()
        .map(|(i, w)| {
            tera::Tera::one_off(w, ctx, false)
                .map_err(|e| SessionError::Usage(format!("[app] command word {}: {e}", i + 1)))
        })
        .collect()
}

/// The most of each output stream kept for the result; the rest is counted, not kept.
const OUTPUT_CAP: usize = 1 << 20;

/// What a process wrote to one stream, up to [`OUTPUT_CAP`] bytes.
#[derive(Debug, Clone, Default)]
pub(crate) struct OutputLog(Arc<Mutex<(Vec<u8>, usize)>>);

impl OutputLog {
    fn push(&self, line: &str) {
        let Ok(mut g) = self.0.lock() else {
            return;
        };
        let (kept, dropped) = &mut *g;
        if kept.len() + line.len() < OUTPUT_CAP {
            kept.extend_from_slice(line.as_bytes());
            kept.push(b'\n');
        } else {
            *dropped += line.len() + 1;
        }
    }

    /// The kept text, with a last line saying how much was left out.
    pub(crate) fn text(&self) -> String {
        let Ok(g) = self.0.lock() else {
            return String::new();
        };
        let mut s = String::from_utf8_lossy(&g.0).into_owned();
        if g.1 > 0 {
            s.push_str(&format!("[... {} bytes more not kept]\n", g.1));
        }
        s
    }
}

/// Reads `from` line by line until it closes, into `log` and (when given) `lines`; the child
/// never blocks on a full pipe.
fn drain(
    from: impl std::io::Read + Send + 'static,
    log: OutputLog,
    lines: Option<mpsc::Sender<String>>,
) {
    std::thread::spawn(move || {
        for line in BufReader::new(from).lines().map_while(Result::ok) {
            log.push(&line);
            if let Some(tx) = &lines {
                let _ = tx.send(line);
            }
        }
    });
}

/// The application, when the target file's `[app]` says how to start it.
#[derive(Debug)]
pub(crate) struct App {
    proc: Owned,
    /// The URL it announced, if it announces one.
    pub(crate) url: Option<String>,
    /// Where to poll for readiness when it announces nothing (`[app].ready_url`, filled in).
    pub(crate) ready_url: Option<String>,
    stdout: OutputLog,
    stderr: OutputLog,
}

impl App {
    pub(crate) fn start(
        spec: &crate::target::AppCommand,
        target_dir: &Path,
        mock_url: &str,
    ) -> Result<App, SessionError> {
        let mut ctx = tera::Context::new();
        ctx.insert("mock_url", mock_url);
        ctx.insert("target_dir", &target_dir.display().to_string());
        let command = render_command(&spec.command, &ctx)?;
        let program = command.first().map(String::as_str).unwrap_or("");
        let mut cmd = Command::new(sibling(program));
        // The application runs in the target file's folder (absolute, see `Target::load`).
        cmd.args(command.iter().skip(1)).current_dir(target_dir);
        for (k, v) in &spec.env {
            let value = tera::Tera::one_off(v, &ctx, false)
                .map_err(|e| SessionError::Usage(format!("[app] env {k}: {e}")))?;
            cmd.env(k, value);
        }
        let ready_url = spec
            .ready_url
            .as_ref()
            .map(|u| {
                tera::Tera::one_off(u, &ctx, false)
                    .map_err(|e| SessionError::Usage(format!("[app] ready_url: {e}")))
            })
            .transpose()?;
        let what = format!("the application ({program})");
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().map_err(|e| {
            SessionError::Start(format!("cannot start {what}: {}", spawn_cause(&e)))
        })?;
        let (out, err) = (child.stdout.take(), child.stderr.take());
        let mut proc = Owned::new(child, &what);
        let (stdout, stderr) = (OutputLog::default(), OutputLog::default());
        let (tx, rx) = mpsc::channel::<String>();
        if let Some(out) = out {
            drain(out, stdout.clone(), Some(tx));
        }
        if let Some(err) = err {
            drain(err, stderr.clone(), None);
        }
        let url = match &spec.ready_prefix {
            Some(prefix) => {
                let timeout = Duration::from_millis(spec.startup_timeout_ms);
                Some(wait_for_line(&mut proc, &rx, prefix, timeout)?)
            }
            None => None,
        };
        Ok(App {
            proc,
            url: url.map(|u| u.trim_end_matches('/').to_string()),
            ready_url,
            stdout,
            stderr,
        })
    }

    /// `Some(status)` once the application has exited.
    pub(crate) fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.proc.child.try_wait().ok().flatten()
    }

    /// What it wrote: `(stream name, text)` for stdout and stderr.
    pub(crate) fn output(&self) -> [(&'static str, String); 2] {
        [
            ("stdout", self.stdout.text()),
            ("stderr", self.stderr.text()),
        ]
    }
}

/// Waits for a line starting with `prefix` on `lines`; the rest of that line.
fn wait_for_line(
    proc: &mut Owned,
    lines: &mpsc::Receiver<String>,
    prefix: &str,
    timeout: Duration,
) -> Result<String, SessionError> {
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) => {
                if let Some(rest) = line.trim().strip_prefix(prefix) {
                    return Ok(rest.trim().to_string());
                }
            }
            Err(_) => {
                let status = proc.child.try_wait().ok().flatten();
                return Err(SessionError::Start(match status {
                    Some(s) => format!("{} exited ({s}) before it was ready", proc.what),
                    None => format!(
                        "{} printed no `{prefix}` line within {} s",
                        proc.what,
                        timeout.as_secs()
                    ),
                }));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_words_are_templates_like_the_environment() {
        let mut ctx = tera::Context::new();
        ctx.insert("mock_url", "http://127.0.0.1:8123");
        ctx.insert("target_dir", "/srv/app");
        let words = [
            "my-app",
            "--gateway={{ mock_url }}",
            "--db",
            "{{ target_dir }}/app.db",
        ]
        .map(String::from);
        assert_eq!(
            render_command(&words, &ctx).unwrap(),
            [
                "my-app",
                "--gateway=http://127.0.0.1:8123",
                "--db",
                "/srv/app/app.db"
            ]
        );
        let bad = ["my-app", "{{ nope"].map(String::from);
        let e = render_command(&bad, &ctx).unwrap_err().to_string();
        assert!(e.contains("[app] command word 2"), "{e}");
    }
}
