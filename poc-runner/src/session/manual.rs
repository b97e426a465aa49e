//! The manual driver: an engineer at the application's screen does each step. The runner shows
//! the instruction in Bahasa Indonesia (with the NIK and operator to use), waits for the traffic
//! the step should cause at the mock, shows what arrived, and asks what the screen showed. The
//! answers become the application's "output" the checks judge, and every answer is recorded as
//! evidence, so a manual session is judged by the same evaluators as a scripted one.
//!
//! Questions are asked only where an evaluator needs them: which values outside the grant are on
//! screen (field limits), whether edge values appear exactly, what message the operator got when
//! no resident was shown (outcome handling, quota), and whether the application stayed
//! responsive under an injected fault (transport).

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, IsTerminal, Write};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::http::Answer;
use super::SessionError;
use crate::evidence::{ev, Evidence};
use crate::mock::Mock;
use crate::target::ManualDriver;
use dukcapil_mock_api::JournalRow as MockRow;

/// What the engineer sees and types. The terminal in a session; a script in unit tests.
pub(crate) trait Console {
    fn say(&mut self, text: &str);
    /// The next line the engineer typed, waiting at most `timeout` (`None`: as long as it takes).
    fn line(&mut self, timeout: Option<Duration>) -> Line;
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Line {
    Text(String),
    Timeout,
    /// Input closed (Ctrl-D): the session cannot go on.
    Closed,
}

/// The controlling terminal: lines from stdin on a reader thread (so waiting for traffic can
/// also end on Enter), text to stderr beside the progress lines.
#[derive(Debug)]
pub(crate) struct Terminal {
    lines: mpsc::Receiver<String>,
}

impl Terminal {
    /// `None` when stdin is not a terminal (CI): a manual session needs a person.
    pub(crate) fn open() -> Option<Terminal> {
        if !std::io::stdin().is_terminal() {
            return None;
        }
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::stdin().lock().lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Some(Terminal { lines: rx })
    }
}

impl Console for Terminal {
    fn say(&mut self, text: &str) {
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "{text}");
        let _ = err.flush();
    }

    fn line(&mut self, timeout: Option<Duration>) -> Line {
        match timeout {
            None => self.lines.recv().map_or(Line::Closed, Line::Text),
            Some(t) => match self.lines.recv_timeout(t) {
                Ok(l) => Line::Text(l),
                Err(mpsc::RecvTimeoutError::Timeout) => Line::Timeout,
                Err(mpsc::RecvTimeoutError::Disconnected) => Line::Closed,
            },
        }
    }
}

/// What a lookup should show, so the engineer can be asked about exactly these values.
#[derive(Debug, Clone, Default)]
pub(crate) struct LookupContext {
    pub nik: String,
    /// Granted elements and their values: on screen when the application presents the resident.
    pub granted: Vec<(String, String)>,
    /// Values that must appear exactly as given (edge values, a value changed at the mock).
    pub exact: Vec<(String, String)>,
    /// Values of elements outside the agreement: must never appear.
    pub forbidden: Vec<(String, String)>,
    /// A transport fault is injected for this lookup.
    pub fault: bool,
}

/// What the engineer reported for one lookup.
#[derive(Debug, Clone)]
pub(crate) struct Observed {
    pub answer: Answer,
    pub presented: bool,
    /// The values confirmed on screen plus the message and note typed (what checks search).
    pub output: String,
    /// What the element mapping found per element (scripted drivers with a mapping only).
    pub elements: Option<BTreeMap<String, String>>,
}

/// Where the driver sees what reached the mock: the mock's journal in a session.
pub(crate) trait Traffic {
    /// The newest journal id: requests after it belong to the step being played.
    fn watermark(&self) -> Result<i64, SessionError>;
    /// Lookups (`CALL_NIK`, `CALL_VERIFY_BY_ELEMEN`) for `nik` journaled after `after`.
    fn lookups_after(&self, after: i64, nik: &str) -> Result<Vec<MockRow>, SessionError>;
}

impl Traffic for Mock {
    fn watermark(&self) -> Result<i64, SessionError> {
        Mock::watermark(self)
    }

    fn lookups_after(&self, after: i64, nik: &str) -> Result<Vec<MockRow>, SessionError> {
        Ok(self
            .rows_after(after)?
            .into_iter()
            .filter(|r| {
                r.nik.as_deref() == Some(nik)
                    && matches!(
                        r.endpoint.as_str(),
                        "CALL_NIK" | "CALL_VERIFY_BY_ELEMEN" | "PORTAL"
                    )
            })
            .collect())
    }
}

pub(crate) struct Driver<'a> {
    spec: &'a ManualDriver,
    mock: &'a dyn Traffic,
    console: Box<dyn Console + 'a>,
    url: Option<String>,
    tera: tera::Tera,
    sessions: BTreeSet<String>,
    lookups: usize,
    log: Vec<Evidence>,
    /// How long to keep collecting requests after the first one arrives (retries).
    settle: Duration,
}

impl std::fmt::Debug for Driver<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("manual::Driver")
            .field("url", &self.url)
            .field("sessions", &self.sessions)
            .field("lookups", &self.lookups)
            .finish_non_exhaustive()
    }
}

const POLL: Duration = Duration::from_millis(300);
/// After the first request arrives, retries may still follow.
const SETTLE: Duration = Duration::from_millis(1500);

impl<'a> Driver<'a> {
    pub(crate) fn new(
        spec: &'a ManualDriver,
        mock: &'a dyn Traffic,
        console: Box<dyn Console + 'a>,
        url: Option<String>,
    ) -> Result<Driver<'a>, SessionError> {
        let mut tera = tera::Tera::default();
        for (k, v) in &spec.instructions {
            // Validated when the target file was read; a failure here is a usage error.
            tera.add_raw_template(k, v.get_ref())
                .map_err(|e| SessionError::Usage(format!("driver.manual.instructions.{k}: {e}")))?;
        }
        let url = url.or_else(|| spec.url.as_ref().map(|u| u.get_ref().clone()));
        Ok(Driver {
            spec,
            mock,
            console,
            url,
            tera,
            sessions: BTreeSet::new(),
            lookups: 0,
            log: Vec::new(),
            settle: SETTLE,
        })
    }

    pub(crate) fn base(&self) -> String {
        self.url
            .clone()
            .unwrap_or_else(|| "the application (manual driver)".into())
    }

    /// Shown once before the first test.
    pub(crate) fn introduce(&mut self, tests: usize) {
        let mut s = format!(
            "\n=== Sesi PoC manual: {tests} pengujian ===\n\
             Ikuti setiap instruksi di layar aplikasi, lalu jawab pertanyaan di sini.\n\
             Jawab y (ya) atau t (tidak). Ctrl-C menghentikan sesi tanpa menulis hasil."
        );
        if let Some(u) = &self.url {
            s.push_str(&format!("\nAplikasi: {u}"));
        }
        self.console.say(&s);
    }

    pub(crate) fn start_test(&mut self, id: &str, title: &str) {
        // Numbered per test, like the outputs the evidence names.
        self.lookups = 0;
        self.console.say(&format!("\n--- {id}: {title} ---"));
    }

    /// The engineer's answers since the last call.
    pub(crate) fn take_log(&mut self) -> Vec<Evidence> {
        std::mem::take(&mut self.log)
    }

    pub(crate) fn forget_sessions(&mut self) {
        if !self.sessions.is_empty() {
            self.console
                .say("Keluar (logout) dari aplikasi untuk semua operator sebelum lanjut.");
        }
        self.sessions.clear();
    }

    pub(crate) fn has_session(&self, username: &str) -> bool {
        self.sessions.contains(username)
    }

    fn render(
        &self,
        name: &str,
        username: &str,
        password: &str,
        nik: &str,
        values: &BTreeMap<String, String>,
    ) -> Option<Result<String, SessionError>> {
        if !self.spec.instructions.contains_key(name) {
            return None;
        }
        let mut ctx = tera::Context::new();
        ctx.insert(
            "operator",
            &serde_json::json!({"username": username, "password": password}),
        );
        ctx.insert("nik", nik);
        ctx.insert("values", values);
        ctx.insert("url", &self.url.clone().unwrap_or_default());
        Some(self.tera.render(name, &ctx).map_err(|e| {
            let detail =
                std::error::Error::source(&e).map_or_else(|| e.to_string(), |s| s.to_string());
            SessionError::Usage(format!("driver.manual.instructions.{name}: {detail}"))
        }))
    }

    fn ask(&mut self, question: &str) -> Result<String, SessionError> {
        self.console.say(question);
        match self.console.line(None) {
            Line::Text(t) => Ok(t.trim().to_string()),
            Line::Timeout | Line::Closed => Err(closed()),
        }
    }

    fn yes_no(&mut self, question: &str) -> Result<bool, SessionError> {
        let mut q = format!("{question} [y/t]");
        loop {
            let a = self.ask(&q)?.to_lowercase();
            match a.as_str() {
                "y" | "ya" | "yes" => return Ok(true),
                "t" | "tidak" | "n" | "no" => return Ok(false),
                _ => q = "Jawab y (ya) atau t (tidak).".into(),
            }
        }
    }

    pub(crate) fn login(&mut self, username: &str, password: &str) -> Result<Answer, SessionError> {
        let text = match self.render("login", username, password, "", &BTreeMap::new()) {
            Some(r) => r?,
            None => format!(
                "Masuk ke aplikasi{} sebagai operator `{username}` dengan kata sandi `{password}`.",
                self.url
                    .as_ref()
                    .map(|u| format!(" ({u})"))
                    .unwrap_or_default()
            ),
        };
        self.console.say(&format!("\n> {text}"));
        let ok = self.yes_no(&format!("Berhasil masuk sebagai `{username}`?"))?;
        if ok {
            self.sessions.insert(username.to_string());
        }
        self.log.push(Evidence {
            id: format!(
                "Penguji: masuk sebagai `{username}` {}.",
                if ok { "berhasil" } else { "gagal" }
            ),
            en: format!(
                "Engineer: login as `{username}` {}.",
                if ok { "succeeded" } else { "failed" }
            ),
        });
        Ok(Answer {
            status: Some(if ok { 200 } else { 401 }),
            ..Answer::default()
        })
    }

    pub(crate) fn lookup(
        &mut self,
        username: &str,
        password: &str,
        ctx: &LookupContext,
    ) -> Result<Observed, SessionError> {
        self.lookups += 1;
        let n = self.lookups;
        let text = match self.render("lookup", username, password, &ctx.nik, &BTreeMap::new()) {
            Some(r) => r?,
            None => format!(
                "Sebagai `{username}`, cari penduduk dengan NIK {}.",
                ctx.nik
            ),
        };
        let after = self.mock.watermark()?;
        let started = Instant::now();
        self.console.say(&format!(
            "\n> {text}\n  (NIK: {}; operator: {username})\n  Menunggu permintaan sampai di mock... (Enter bila aplikasi tidak mengirim permintaan)",
            ctx.nik
        ));
        let deadline = started + Duration::from_secs(self.spec.wait_seconds);
        let mut first_seen: Option<Instant> = None;
        let rows = loop {
            let found = self.mock.lookups_after(after, &ctx.nik)?;
            if !found.is_empty() && first_seen.is_none() {
                first_seen = Some(Instant::now());
            }
            if first_seen.is_some_and(|t| t.elapsed() >= self.settle) || Instant::now() >= deadline
            {
                break found;
            }
            match self.console.line(Some(POLL)) {
                // The engineer says the application sent nothing (or is done): read once more.
                Line::Text(_) => break self.mock.lookups_after(after, &ctx.nik)?,
                Line::Timeout => {}
                Line::Closed => return Err(closed()),
            }
        };
        let elapsed_ms = started.elapsed().as_millis() as u64;
        let Evidence {
            id: traffic_id,
            en: traffic_en,
        } = summarise(&rows);
        self.console.say(&format!("  {traffic_id}"));

        let presented = self.yes_no("Apakah aplikasi menampilkan data penduduk untuk NIK ini?")?;
        let mut output = Vec::new();
        let mut seen_id = Vec::new();
        let mut seen_en = Vec::new();
        if presented {
            output.extend(ctx.granted.iter().map(|(k, v)| format!("{k}: {v}")));
            if !ctx.forbidden.is_empty() {
                let list: Vec<String> = ctx
                    .forbidden
                    .iter()
                    .enumerate()
                    .map(|(i, (k, v))| format!("  {}. {k}: {v}", i + 1))
                    .collect();
                self.console.say(&format!(
                    "Elemen berikut TIDAK termasuk PKS dan tidak boleh tampil:\n{}",
                    list.join("\n")
                ));
                if self.yes_no("Apakah SALAH SATU nilai di atas tampil di layar aplikasi?")? {
                    let picked = self.pick(ctx.forbidden.len())?;
                    for i in picked {
                        let (k, v) = &ctx.forbidden[i];
                        output.push(format!("{k}: {v}"));
                        seen_id.push(format!("{k} di luar PKS tampil"));
                        seen_en.push(format!("{k} outside the agreement shown"));
                    }
                }
            }
            for (k, v) in &ctx.exact {
                if self.yes_no(&format!(
                    "Apakah {k} tampil persis `{v}` (tidak terpotong, tidak dibulatkan, spasi sama)?"
                ))? {
                    output.push(format!("{k}: {v}"));
                } else {
                    seen_id.push(format!("{k} tidak tampil persis"));
                    seen_en.push(format!("{k} not shown exactly"));
                }
            }
        }
        let message = if presented {
            String::new()
        } else {
            self.ask("Pesan apa yang ditampilkan aplikasi kepada operator? (salin teksnya; Enter bila tidak ada)")?
        };
        let mut answer = Answer {
            status: Some(200),
            elapsed_ms,
            ..Answer::default()
        };
        if ctx.fault
            && !self.yes_no(
                "Apakah aplikasi tetap menjawab dengan wajar (tidak macet, tidak menampilkan halaman galat)?",
            )?
        {
            answer.status = None;
            answer.error = Some("the engineer reports no clean answer".into());
            seen_id.push("aplikasi tidak menjawab dengan wajar".into());
            seen_en.push("the application did not answer cleanly".into());
        }
        let note = self.ask("Catatan bukti (opsional; Enter untuk melewati):")?;
        output.push(message.clone());
        output.push(note.clone());
        answer.body = [message.as_str(), note.as_str()]
            .iter()
            .filter(|s| !s.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join("\n");

        let quote = |s: &str| format!("\u{201c}{s}\u{201d}");
        let mut id =
            format!(
            "Penguji, pencarian #{n} oleh `{username}` (NIK {}): {traffic_id}; data penduduk {}",
            dukcapil_domain::mask_nik(&ctx.nik),
            if presented { "ditampilkan" } else { "tidak ditampilkan" }
        );
        let mut en = format!(
            "Engineer, lookup #{n} by `{username}` (NIK {}): {traffic_en}; resident data {}",
            dukcapil_domain::mask_nik(&ctx.nik),
            if presented { "shown" } else { "not shown" }
        );
        if !seen_id.is_empty() {
            id.push_str(&format!("; {}", seen_id.join("; ")));
            en.push_str(&format!("; {}", seen_en.join("; ")));
        }
        if !message.is_empty() {
            id.push_str(&format!("; pesan {}", quote(&message)));
            en.push_str(&format!("; message {}", quote(&message)));
        }
        if !note.is_empty() {
            id.push_str(&format!("; catatan {}", quote(&note)));
            en.push_str(&format!("; note {}", quote(&note)));
        }
        self.log.push(Evidence {
            id: format!("{id}."),
            en: format!("{en}."),
        });
        Ok(Observed {
            answer,
            presented,
            output: output.join("\n"),
            elements: None,
        })
    }

    /// Numbers of the list the engineer saw on screen (`1,3`).
    fn pick(&mut self, len: usize) -> Result<Vec<usize>, SessionError> {
        let mut q = format!("Nomor yang tampil (mis. 1,3; 1-{len}):");
        loop {
            let a = self.ask(&q)?;
            let picked: Option<Vec<usize>> = a
                .split([',', ' '])
                .filter(|s| !s.trim().is_empty())
                .map(|s| {
                    s.trim()
                        .parse::<usize>()
                        .ok()
                        .filter(|i| (1..=len).contains(i))
                        .map(|i| i - 1)
                })
                .collect();
            match picked {
                Some(p) if !p.is_empty() => return Ok(p),
                _ => q = format!("Tulis nomor 1 sampai {len}, dipisah koma."),
            }
        }
    }

    /// A service event; `None` when the target gives no instruction for it.
    pub(crate) fn event(
        &mut self,
        name: &str,
        username: &str,
        password: &str,
        nik: &str,
        values: &BTreeMap<String, String>,
    ) -> Result<Option<Answer>, SessionError> {
        let Some(text) = self.render(name, username, password, nik, values) else {
            return Ok(None);
        };
        let text = text?;
        let extra: Vec<String> = values.iter().map(|(k, v)| format!("{k} = {v}")).collect();
        self.console.say(&format!(
            "\n> {text}\n  (NIK: {nik}; operator: {username}{})",
            if extra.is_empty() {
                String::new()
            } else {
                format!("; {}", extra.join(", "))
            }
        ));
        let done = self.yes_no("Sudah dilakukan di aplikasi?")?;
        let note = self.ask("Catatan bukti (opsional; Enter untuk melewati):")?;
        let (mut id, mut en) = (
            format!(
                "Penguji: layanan `{name}` untuk NIK {} oleh `{username}` {}",
                dukcapil_domain::mask_nik(nik),
                if done { "dilakukan" } else { "tidak dilakukan" }
            ),
            format!(
                "Engineer: service `{name}` for NIK {} by `{username}` {}",
                dukcapil_domain::mask_nik(nik),
                if done { "done" } else { "not done" }
            ),
        );
        if !note.is_empty() {
            id.push_str(&format!("; catatan \u{201c}{note}\u{201d}"));
            en.push_str(&format!("; note \u{201c}{note}\u{201d}"));
        }
        self.log.push(Evidence {
            id: format!("{id}."),
            en: format!("{en}."),
        });
        Ok(Some(Answer {
            status: Some(if done { 200 } else { 400 }),
            body: note,
            ..Answer::default()
        }))
    }

    /// One step of a Web Portal operator script, shown to the engineer: the person does it at
    /// the portal in their own browser. A search waits for the portal's row at the mock.
    pub(crate) fn portal_step(
        &mut self,
        step: &super::driver::PortalStep<'_>,
    ) -> Result<super::browser::PortalAnswer, SessionError> {
        use crate::portal_script::ScriptAction;
        let (person, account) = (step.person, step.account);
        let masked = dukcapil_domain::mask_nik(step.nik);
        let (text, question) = match step.action {
            ScriptAction::Login => (
                format!(
                    "{person}: buka {}{} di peramban milik {person} sendiri dan masuk dengan akun `{account}` (kata sandi `{}`).",
                    step.portal,
                    dukcapil_mock_api::PORTAL_LOGIN,
                    step.password
                ),
                format!("Berhasil masuk sebagai `{account}`?"),
            ),
            ScriptAction::Search => (
                format!(
                    "{person}: layani `{}` dan cari NIK {} di portal.",
                    step.service, step.nik
                ),
                "Apakah portal menampilkan hasil untuk NIK ini?".to_string(),
            ),
            ScriptAction::Logout => (
                format!("{person}: keluar dari portal (tombol Keluar)."),
                "Sudah keluar?".to_string(),
            ),
            ScriptAction::Balikan => (
                format!(
                    "Kirim data balikan untuk NIK {} dari sistem instansi (web service atau unggah Excel/CSV), dengan {}.",
                    step.nik,
                    step.keys.join(", ")
                ),
                "Sudah dikirim?".to_string(),
            ),
        };
        self.console.say(&format!("\n> {text}"));
        if step.action == ScriptAction::Search {
            let after = self.mock.watermark()?;
            let deadline = Instant::now() + Duration::from_secs(self.spec.wait_seconds);
            self.console
                .say("  Menunggu pencarian sampai di mock... (Enter bila tidak ada)");
            let rows = loop {
                let found = self.mock.lookups_after(after, step.nik)?;
                if !found.is_empty() || Instant::now() >= deadline {
                    break found;
                }
                match self.console.line(Some(POLL)) {
                    Line::Text(_) => break self.mock.lookups_after(after, step.nik)?,
                    Line::Timeout => {}
                    Line::Closed => return Err(closed()),
                }
            };
            let Evidence { id, .. } = summarise(&rows);
            self.console.say(&format!("  {id}"));
        }
        let ok = self.yes_no(&question)?;
        let what = match step.action {
            ScriptAction::Login => ("masuk dengan akun", "login as"),
            ScriptAction::Search => ("mencari NIK", "search of NIK"),
            ScriptAction::Logout => ("keluar", "logout"),
            ScriptAction::Balikan => ("data balikan untuk NIK", "data balikan for NIK"),
        };
        let object = match step.action {
            ScriptAction::Login => format!("`{account}`"),
            ScriptAction::Search | ScriptAction::Balikan => masked,
            ScriptAction::Logout => String::new(),
        };
        self.log.push(Evidence {
            id: format!(
                "Penguji: {person} {} {object}: {}.",
                what.0,
                if ok { "ya" } else { "tidak" }
            ),
            en: format!(
                "Engineer: {person} {} {object}: {}.",
                what.1,
                if ok { "yes" } else { "no" }
            ),
        });
        Ok(super::browser::PortalAnswer {
            ok,
            text: String::new(),
            outcome: None,
        })
    }

    /// The assessor's observation: was anything of the portal's results copied into the
    /// agency's own systems (typed, pasted, photographed, printed)?
    pub(crate) fn observe_copy(&mut self) -> Result<(bool, String), SessionError> {
        let copied = self.yes_no(
            "\nApakah petugas menyalin hasil pencarian portal (nama, alamat, tanggal lahir, ...) ke sistem atau berkas instansi: diketik ulang, salin-tempel, difoto, dicetak? (NIK sendiri boleh dicatat)",
        )?;
        let note = self.ask("Catatan pengamatan (opsional; Enter untuk melewati):")?;
        self.log.push(Evidence {
            id: format!(
                "Penguji: hasil portal {} ke sistem instansi.",
                if copied { "disalin" } else { "tidak disalin" }
            ),
            en: format!(
                "Engineer: portal results {} into the agency's systems.",
                if copied { "copied" } else { "not copied" }
            ),
        });
        Ok((copied, note))
    }
}

fn closed() -> SessionError {
    SessionError::Usage(
        "the engineer's input ended during the manual session; nothing was written".into(),
    )
}

/// What reached the mock for one lookup, in both languages.
fn summarise(rows: &[MockRow]) -> Evidence {
    if rows.is_empty() {
        return ev!(
            "tidak ada permintaan yang sampai di mock",
            "no request reached the mock"
        );
    }
    let mut ids: Vec<String> = rows
        .iter()
        .map(|r| r.operator.clone().unwrap_or_else(|| "-".into()))
        .collect();
    ids.dedup();
    let mut outcomes: Vec<String> = rows.iter().map(|r| r.outcome.clone()).collect();
    outcomes.dedup();
    ev!(
        "{} permintaan sampai di mock (User_ID {}; hasil {})",
        "{} request(s) reached the mock (User_ID {}; outcome {})",
        rows.len(),
        ids.join(", "),
        outcomes.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::collections::VecDeque;
    use std::rc::Rc;

    use super::*;
    use crate::file_error::Source;
    use crate::target::{Driver as TargetDriver, Target};

    /// The engineer's typed answers, and everything the runner said.
    struct Script {
        answers: VecDeque<String>,
        said: Rc<RefCell<String>>,
        /// Press Enter while the runner waits for traffic.
        enter_while_waiting: bool,
    }

    impl Console for Script {
        fn say(&mut self, text: &str) {
            self.said.borrow_mut().push_str(text);
            self.said.borrow_mut().push('\n');
        }
        fn line(&mut self, timeout: Option<Duration>) -> Line {
            match timeout {
                Some(_) if self.enter_while_waiting => Line::Text(String::new()),
                Some(_) => Line::Timeout,
                None => self.answers.pop_front().map_or(Line::Closed, Line::Text),
            }
        }
    }

    /// Journal rows the "application" caused, as the mock would list them.
    struct Rows(Vec<MockRow>);

    impl Traffic for Rows {
        fn watermark(&self) -> Result<i64, SessionError> {
            Ok(0)
        }
        fn lookups_after(&self, _after: i64, nik: &str) -> Result<Vec<MockRow>, SessionError> {
            Ok(self
                .0
                .iter()
                .filter(|r| r.nik.as_deref() == Some(nik))
                .cloned()
                .collect())
        }
    }

    const NIK: &str = "3313014508900001";

    fn row(user: &str, outcome: &str) -> MockRow {
        MockRow {
            id: 1,
            time: "2026-12-01T03:00:00Z".into(),
            wib_day: "2026-12-01".into(),
            endpoint: "CALL_NIK".into(),
            customer_id: Some("rsud_3313".into()),
            operator: Some(user.into()),
            nik: Some(NIK.into()),
            outcome: outcome.into(),
            http_status: 200,
            elements: vec![],
            source: None,
            latency_us: 0,
            fault: None,
            detail: None,
        }
    }

    fn spec() -> ManualDriver {
        let text = include_str!("../../../scenarios/targets/manual-example.toml");
        let t = Target::from_source(&Source::new("manual-example.toml", text)).expect("example");
        match t.file.driver {
            TargetDriver::Manual(m) => m,
            TargetDriver::Http(_) | TargetDriver::Browser(_) => {
                panic!("manual example has a manual driver")
            }
        }
    }

    fn context() -> LookupContext {
        LookupContext {
            nik: NIK.into(),
            granted: vec![("NAMA_LGKP".into(), "SRI RAHAYU QZAB12".into())],
            exact: vec![("NIK".into(), NIK.into())],
            forbidden: vec![
                ("NAMA_LGKP_IBU".into(), "SUMIATI QZAB12".into()),
                ("PEKERJAAN".into(), "PETANI QZAB12".into()),
            ],
            fault: false,
        }
    }

    fn run<T>(
        traffic: &Rows,
        answers: &[&str],
        enter: bool,
        f: impl FnOnce(&mut Driver) -> Result<T, SessionError>,
    ) -> (Result<T, SessionError>, Vec<Evidence>, String) {
        let spec = spec();
        let said = Rc::new(RefCell::new(String::new()));
        let console = Script {
            answers: answers.iter().map(|s| s.to_string()).collect(),
            said: said.clone(),
            enter_while_waiting: enter,
        };
        let mut d = Driver::new(
            &spec,
            traffic,
            Box::new(console),
            Some("http://127.0.0.1:9".into()),
        )
        .expect("driver");
        d.settle = Duration::ZERO;
        let r = f(&mut d);
        let log = d.take_log();
        let text = said.borrow().clone();
        (r, log, text)
    }

    #[test]
    fn portal_script_steps_are_prompted_and_the_assessor_is_asked_about_copies() {
        use crate::portal_script::ScriptAction;
        let mut portal = row("petugas.portal01", "01");
        portal.endpoint = "PORTAL".into();
        let traffic = Rows(vec![portal]);
        let step = |action| super::super::driver::PortalStep {
            portal: "http://127.0.0.1:9",
            person: "bidan-sri",
            account: "petugas.portal01",
            password: "sandi-01",
            action,
            nik: NIK,
            service: "pendaftaran pasien",
            keys: &[],
        };
        let (r, log, said) = run(&traffic, &["y", "y", "t", "catatan", "y"], false, |d| {
            let login = d.portal_step(&step(ScriptAction::Login))?;
            let search = d.portal_step(&step(ScriptAction::Search))?;
            let copied = d.observe_copy()?;
            let out = d.portal_step(&step(ScriptAction::Logout))?;
            Ok((login.ok, search.ok, copied, out.ok))
        });
        assert_eq!(
            r.unwrap(),
            (true, true, (false, "catatan".to_string()), true),
            "{said}"
        );
        assert!(said.contains("http://127.0.0.1:9/portal/masuk"), "{said}");
        assert!(said.contains("akun `petugas.portal01`"), "{said}");
        assert!(said.contains(&format!("cari NIK {NIK}")), "{said}");
        assert!(said.contains("1 permintaan"), "{said}");
        assert_eq!(log.len(), 4, "{log:?}");
        assert!(log[2].en.contains("not copied"), "{log:?}");
    }

    #[test]
    fn a_presented_lookup_becomes_the_values_confirmed_on_screen() {
        let traffic = Rows(vec![row("petugas.igd02", "01")]);
        // presented; a forbidden value shown (no. 2); NIK exact; note.
        let (r, log, said) = run(
            &traffic,
            &["y", "y", "2", "y", "layar pasien"],
            false,
            |d| d.lookup("petugas.igd02", "s", &context()),
        );
        let o = r.expect("observed");
        assert!(o.presented);
        assert!(o.output.contains("SRI RAHAYU QZAB12"), "{}", o.output);
        assert!(o.output.contains("PETANI QZAB12"), "{}", o.output);
        assert!(!o.output.contains("SUMIATI"), "{}", o.output);
        assert!(o.output.contains(NIK), "{}", o.output);
        assert!(said.contains(&format!("masukkan NIK {NIK}")), "{said}");
        assert!(said.contains("http://127.0.0.1:9/cari"), "{said}");
        assert!(said.contains("1 permintaan sampai di mock (User_ID petugas.igd02; hasil 01)"));
        assert_eq!(log.len(), 1);
        assert!(
            log[0].id.contains("PEKERJAAN di luar PKS tampil"),
            "{:?}",
            log[0]
        );
        assert!(log[0].en.contains("PEKERJAAN outside the agreement shown"));
        assert!(log[0].en.contains("note \u{201c}layar pasien\u{201d}"));
        assert!(!log[0].en.contains(NIK), "NIKs are masked in evidence");
    }

    #[test]
    fn an_edge_value_not_shown_exactly_is_left_out_of_the_output() {
        let traffic = Rows(vec![row("petugas.igd02", "01")]);
        let (r, log, _) = run(&traffic, &["y", "t", "t", ""], false, |d| {
            d.lookup("petugas.igd02", "s", &context())
        });
        let o = r.expect("observed");
        assert!(!o.output.contains(NIK));
        assert!(log[0].en.contains("NIK not shown exactly"), "{:?}", log[0]);
    }

    #[test]
    fn a_refused_lookup_records_the_message_the_operator_got() {
        let traffic = Rows(vec![row("petugas.igd02", "13")]);
        let (r, log, _) = run(
            &traffic,
            &["tidak", "NIK tidak ditemukan di Dukcapil", ""],
            false,
            |d| d.lookup("petugas.igd02", "s", &context()),
        );
        let o = r.expect("observed");
        assert!(!o.presented);
        assert_eq!(o.answer.body, "NIK tidak ditemukan di Dukcapil");
        assert!(!o.output.contains("SRI RAHAYU"));
        assert!(log[0].id.contains("hasil 13"), "{:?}", log[0]);
        assert!(log[0]
            .id
            .contains("pesan \u{201c}NIK tidak ditemukan di Dukcapil\u{201d}"));
    }

    #[test]
    fn enter_while_waiting_ends_the_wait_and_no_traffic_is_recorded() {
        let traffic = Rows(vec![]);
        let (r, log, said) = run(&traffic, &["t", "Format NIK salah", ""], true, |d| {
            d.lookup("petugas.igd02", "s", &context())
        });
        assert!(!r.expect("observed").presented);
        assert!(
            said.contains("tidak ada permintaan yang sampai di mock"),
            "{said}"
        );
        assert!(log[0].en.contains("no request reached the mock"));
    }

    #[test]
    fn unclear_answers_are_asked_again_and_a_fault_can_be_reported() {
        let traffic = Rows(vec![row("petugas.igd02", "01")]);
        let mut ctx = context();
        ctx.fault = true;
        ctx.forbidden.clear();
        ctx.exact.clear();
        let (r, log, said) = run(&traffic, &["mungkin", "t", "", "t", ""], false, |d| {
            d.lookup("petugas.igd02", "s", &ctx)
        });
        let o = r.expect("observed");
        assert!(said.contains("Jawab y (ya) atau t (tidak)."), "{said}");
        assert_eq!(o.answer.status, None);
        assert!(log[0].en.contains("did not answer cleanly"));
    }

    #[test]
    fn numbers_outside_the_list_are_asked_again() {
        let traffic = Rows(vec![row("u", "01")]);
        let mut ctx = context();
        ctx.exact.clear();
        let (r, _, said) = run(&traffic, &["y", "y", "7", "x", "1", ""], false, |d| {
            d.lookup("u", "s", &ctx)
        });
        assert!(r.expect("observed").output.contains("SUMIATI QZAB12"));
        assert!(said.contains("Tulis nomor 1 sampai 2"), "{said}");
    }

    #[test]
    fn input_closed_mid_session_is_an_error_that_writes_nothing() {
        let traffic = Rows(vec![row("u", "01")]);
        let (r, _, _) = run(&traffic, &["y"], false, |d| d.lookup("u", "s", &context()));
        let e = r.expect_err("input ended");
        assert!(matches!(e, SessionError::Usage(_)));
        assert!(e.to_string().contains("nothing was written"), "{e}");
    }

    #[test]
    fn login_and_events_follow_the_target_instructions() {
        let traffic = Rows(vec![]);
        let (r, log, said) = run(&traffic, &["y", "t", "y", "RM-7 dibuat"], false, |d| {
            let ok = d.login("petugas.pendaftaran01", "sandi-1")?;
            let failed = d.login("petugas.igd02", "sandi-2")?;
            assert!(d.has_session("petugas.pendaftaran01"));
            assert!(!d.has_session("petugas.igd02"));
            let values = BTreeMap::from([("GOL_DARAH".to_string(), "O".to_string())]);
            let ev = d.event(
                "register_patient",
                "petugas.pendaftaran01",
                "s",
                NIK,
                &values,
            )?;
            let none = d.event("vaccinate", "petugas.pendaftaran01", "s", NIK, &values)?;
            Ok((
                ok.status,
                failed.status,
                ev.map(|a| a.status),
                none.is_none(),
            ))
        });
        assert_eq!(
            r.expect("played"),
            (Some(200), Some(401), Some(Some(200)), true)
        );
        assert!(said.contains("masuk sebagai petugas.pendaftaran01 (kata sandi sandi-1)"));
        assert!(
            said.contains(&format!("daftarkan NIK {NIK} dengan golongan darah O")),
            "{said}"
        );
        assert_eq!(log.len(), 3);
        assert!(
            log[2].id.contains("layanan `register_patient`"),
            "{:?}",
            log[2]
        );
        assert!(log[2].en.contains("note \u{201c}RM-7 dibuat\u{201d}"));
    }
}
