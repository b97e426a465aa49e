//! Check outcomes, the verdict, and the pure evaluators that judge a recorded session.
//!
//! A failed check is a value ([`CheckOutcome::Fail`] with evidence), never an `Err`.
//!
//! Verdict precedence: `LULUS` only when at least one check passed, no check failed, none needs
//! review and none went unexercised; any `Fail`, `NeedsReview` or `NotExercised` makes it
//! `TIDAK LULUS`. `Skipped` (the pack says the test does not apply to the agreement) neither
//! blocks nor counts as a pass. A check that saw nothing to judge is `NotExercised`, never a pass.

use std::collections::{BTreeMap, BTreeSet};

use chrono::Datelike;
use dukcapil_domain::{mask_nik, Catalogue, Field, FieldSet, Outcome};
use serde::{Deserialize, Serialize};

use crate::evidence::{ev, Evidence};
use crate::journal::{Action, ActionKind, JournalRow};
use crate::shown::shows;
use dukcapil_domain::detector::{self, DetectorSettings, FindingKind, LookupEvent};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckOutcome {
    Pass,
    Fail,
    Skipped,
    NeedsReview,
    /// What the check needs never happened (no lookup reached the mock, a declared storage
    /// place does not exist, no fault could be injected): nothing was judged.
    NotExercised,
}

impl CheckOutcome {
    pub fn label(self, lang: crate::Lang) -> &'static str {
        use crate::Lang::*;
        match (self, lang) {
            (CheckOutcome::Pass, Id) => "Lulus",
            (CheckOutcome::Fail, Id) => "Gagal",
            (CheckOutcome::Skipped, Id) => "Dilewati",
            (CheckOutcome::NeedsReview, Id) => "Perlu ditinjau",
            (CheckOutcome::NotExercised, Id) => "Tidak teruji",
            (CheckOutcome::Pass, En) => "Pass",
            (CheckOutcome::Fail, En) => "Fail",
            (CheckOutcome::Skipped, En) => "Skipped",
            (CheckOutcome::NeedsReview, En) => "Needs review",
            (CheckOutcome::NotExercised, En) => "Not exercised",
        }
    }
}

/// What an evaluator concludes: an outcome and the evidence for it (masked NIKs, counts, places),
/// in both languages of the letter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evaluation {
    pub outcome: CheckOutcome,
    pub evidence: Vec<Evidence>,
}

impl Evaluation {
    pub fn new(outcome: CheckOutcome, evidence: Vec<Evidence>) -> Self {
        Evaluation { outcome, evidence }
    }
    fn pass(evidence: Evidence) -> Self {
        Evaluation::new(CheckOutcome::Pass, vec![evidence])
    }
    pub fn skipped(reason: Evidence) -> Self {
        Evaluation::new(CheckOutcome::Skipped, vec![reason])
    }
    /// Nothing the check needs happened; `reason` says what was missing.
    pub fn not_exercised(reason: Evidence) -> Self {
        Evaluation::new(CheckOutcome::NotExercised, vec![reason])
    }
    fn review(reason: Evidence) -> Self {
        Evaluation::new(CheckOutcome::NeedsReview, vec![reason])
    }
    /// Fail when `problems` is non-empty, else pass with `ok`.
    fn judge(problems: Vec<Evidence>, ok: Evidence) -> Self {
        if problems.is_empty() {
            Evaluation::pass(ok)
        } else {
            Evaluation::new(CheckOutcome::Fail, problems)
        }
    }
}

/// One judged check of one test, as the result document lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckResult {
    pub test_id: String,
    /// The check kind (`user_id_propagation`, ...).
    pub check: String,
    pub requirement: String,
    pub title_id: String,
    pub title_en: String,
    pub outcome: CheckOutcome,
    /// Each line in Bahasa Indonesia and English (`{"id": .., "en": ..}` in the JSON).
    pub evidence: Vec<Evidence>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Verdict {
    #[serde(rename = "LULUS")]
    Lulus,
    #[serde(rename = "TIDAK LULUS")]
    TidakLulus,
}

impl Verdict {
    /// See the module documentation for the precedence.
    pub fn of(results: &[CheckResult]) -> Verdict {
        let blocked = results.iter().any(|r| {
            matches!(
                r.outcome,
                CheckOutcome::Fail | CheckOutcome::NeedsReview | CheckOutcome::NotExercised
            )
        });
        let passed = results.iter().any(|r| r.outcome == CheckOutcome::Pass);
        if passed && !blocked {
            Verdict::Lulus
        } else {
            Verdict::TidakLulus
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Lulus => "LULUS",
            Verdict::TidakLulus => "TIDAK LULUS",
        }
    }
}

/// How long around an action a mock request still belongs to it.
pub const DEFAULT_SLACK_MS: i64 = 1_500;

fn masked(nik: &str) -> String {
    mask_nik(nik)
}

/// The action a lookup row answers: same NIK, inside the window.
fn action_of<'a>(row: &JournalRow, actions: &'a [Action], slack_ms: i64) -> Option<&'a Action> {
    actions.iter().find(|a| {
        matches!(&a.kind, ActionKind::Lookup { nik } if *nik == row.nik_raw)
            && a.covers(row, slack_ms)
    })
}

/// An operator of the application and the `User_ID` value it must produce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorIdentity {
    pub username: String,
    /// The value expected in `User_ID` (usually the username).
    pub user_id: String,
}

/// *User_ID propagation* (digest rule 4, Juknis RSUD 2.p): every lookup carries the acting
/// operator's value; distinct operators give distinct values; missing, empty, constant or
/// institutional values fail.
pub fn user_id_propagation(
    rows: &[JournalRow],
    actions: &[Action],
    operators: &[OperatorIdentity],
    institutional: &[&str],
    min_distinct_operators: usize,
    slack_ms: i64,
) -> Evaluation {
    let lookups: Vec<&JournalRow> = rows.iter().filter(|r| r.is_lookup()).collect();
    if lookups.is_empty() {
        return Evaluation::new(
            CheckOutcome::Fail,
            vec![ev!(
                "tidak ada permintaan data yang sampai ke mock selama pengujian",
                "no lookup reached the mock during the test"
            )],
        );
    }
    let mut problems = Vec::new();
    let mut values_by_operator: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for row in &lookups {
        let when = row.time.to_rfc3339();
        let nik = masked(&row.nik_raw);
        let Some(value) = row.operator.as_deref() else {
            problems.push(ev!(
                "{when} {nik}: User_ID tidak dikirim",
                "{when} {nik}: User_ID missing"
            ));
            continue;
        };
        if value.trim().is_empty() {
            problems.push(ev!(
                "{when} {nik}: User_ID kosong",
                "{when} {nik}: User_ID empty"
            ));
            continue;
        }
        if institutional
            .iter()
            .any(|i| i.eq_ignore_ascii_case(value.trim()))
        {
            problems.push(ev!(
                "{when} {nik}: User_ID `{value}` adalah akun instansi, bukan akun operator",
                "{when} {nik}: User_ID `{value}` is the institutional account, not an operator"
            ));
            continue;
        }
        if let Some(action) = action_of(row, actions, slack_ms) {
            let expected = operators
                .iter()
                .find(|o| o.username == action.operator)
                .map_or(action.operator.as_str(), |o| o.user_id.as_str());
            if value != expected {
                problems.push(ev!(
                    "{when} {nik}: User_ID `{value}`, padahal yang bertindak operator `{}` (seharusnya `{expected}`)",
                    "{when} {nik}: User_ID `{value}` but operator `{}` acted (expected `{expected}`)",
                    action.operator
                ));
            }
            values_by_operator
                .entry(action.operator.as_str())
                .or_default()
                .insert(value);
        }
    }
    let acting = values_by_operator.len();
    let distinct_values: BTreeSet<&str> = values_by_operator.values().flatten().copied().collect();
    if acting >= 2 && distinct_values.len() < acting {
        problems.push(ev!(
            "{acting} operator bertindak tetapi User_ID hanya berisi {} nilai berbeda: User_ID konstan",
            "{acting} operators acted but User_ID took only {} distinct value(s): constant User_ID",
            distinct_values.len()
        ));
    }
    if problems.is_empty() && acting < min_distinct_operators {
        return Evaluation::review(ev!(
            "hanya {acting} operator yang dapat dikaitkan dengan permintaan data; diperlukan {min_distinct_operators} untuk menilai keunikan User_ID",
            "only {acting} operator(s) could be tied to lookups; {min_distinct_operators} needed to judge distinct values"
        ));
    }
    Evaluation::judge(
        problems,
        ev!(
            "{} permintaan data, {acting} operator, masing-masing dengan User_ID sendiri",
            "{} lookups, {acting} operators, each with its own User_ID",
            lookups.len()
        ),
    )
}

/// *One action, one request*: each lookup action reaches the mock exactly once (plus at most
/// `max_retries` repeats when a fault was injected); no lookup happens that no action asked for.
pub fn one_action_one_request(
    rows: &[JournalRow],
    actions: &[Action],
    max_retries: u32,
    slack_ms: i64,
) -> Evaluation {
    let mut problems = Vec::new();
    let lookups: Vec<&JournalRow> = rows.iter().filter(|r| r.is_lookup()).collect();
    let mut claimed = vec![false; lookups.len()];
    for a in actions {
        let ActionKind::Lookup { nik } = &a.kind else {
            continue;
        };
        let mine: Vec<usize> = (0..lookups.len())
            .filter(|&i| lookups[i].nik_raw == *nik && a.covers(lookups[i], slack_ms))
            .collect();
        for &i in &mine {
            claimed[i] = true;
        }
        let allowed = 1 + if a.fault_injected {
            max_retries as usize
        } else {
            0
        };
        let when = a.started.to_rfc3339();
        if mine.is_empty() {
            problems.push(ev!(
                "{when} pencarian {} oleh `{}` tidak mengirim permintaan ke mock",
                "{when} lookup of {} by `{}` sent no request to the mock",
                masked(nik),
                a.operator
            ));
        } else if mine.len() > allowed {
            problems.push(ev!(
                "{when} pencarian {} oleh `{}` mengirim {} permintaan (batas {allowed})",
                "{when} lookup of {} by `{}` sent {} requests (allowed {allowed})",
                masked(nik),
                a.operator,
                mine.len()
            ));
        }
    }
    for (i, row) in lookups.iter().enumerate() {
        if !claimed[i] {
            problems.push(ev!(
                "{} permintaan data {} tanpa ada aksi operator yang memintanya",
                "{} lookup of {} that no operator action asked for",
                row.time.to_rfc3339(),
                masked(&row.nik_raw)
            ));
        }
    }
    let n = actions
        .iter()
        .filter(|a| matches!(a.kind, ActionKind::Lookup { .. }))
        .count();
    Evaluation::judge(
        problems,
        ev!(
            "{n} aksi pencarian, {} permintaan, masing-masing satu",
            "{n} lookup actions, {} requests, one each",
            lookups.len()
        ),
    )
}

pub use crate::evidence::wib;

/// *Quota*: after a `05` answer, no more lookups by that institution on that local day; and when
/// the application's screen after the refusal was captured, it says why (mentions the quota).
pub fn quota(rows: &[JournalRow], screen_after_refusal: Option<&str>) -> Evaluation {
    let tz = wib();
    let mut exhausted: BTreeMap<(String, i32, u32), chrono::DateTime<chrono::Utc>> =
        BTreeMap::new();
    let mut problems = Vec::new();
    let mut refusals = 0;
    for row in rows.iter().filter(|r| r.is_lookup()) {
        let local = row.time.with_timezone(&tz);
        let key = (row.customer_id.clone(), local.year(), local.ordinal());
        if let Some(since) = exhausted.get(&key) {
            problems.push(ev!(
                "{} permintaan data {} setelah kuota habis pada {} (hari yang sama, WIB)",
                "{} lookup of {} after the quota was used up at {} (same day, WIB)",
                row.time.to_rfc3339(),
                masked(&row.nik_raw),
                since.to_rfc3339()
            ));
        } else if row.outcome == Outcome::QuotaExhausted.code() {
            refusals += 1;
            exhausted.insert(key, row.time);
        }
    }
    if refusals == 0 {
        return Evaluation::review(ev!(
            "mock tidak pernah menjawab 05 selama pengujian: kuota tidak teruji",
            "the mock never answered 05 during the test: the quota was not exercised"
        ));
    }
    if let Some(screen) = screen_after_refusal {
        if !screen.to_lowercase().contains("kuota") && !screen.to_lowercase().contains("quota") {
            problems.push(ev!(
                "setelah jawaban 05, aplikasi tidak memberi tahu operator bahwa kuota telah habis",
                "after the 05 answer the application did not tell the operator the quota is used up"
            ));
        }
    }
    Evaluation::judge(
        problems,
        ev!(
            "{refusals} penolakan karena kuota habis; tidak ada permintaan lagi pada hari yang sama",
            "{refusals} quota refusal(s); no call afterwards on the same day"
        ),
    )
}

/// The journal's lookups (`CALL_NIK` and verification) as the rule-8 detector reads them, the
/// same rows with the same fields as the mock's `/__admin/detector` view takes from its journal.
pub fn lookup_events(rows: &[JournalRow]) -> Vec<LookupEvent> {
    rows.iter()
        .filter(|r| r.is_lookup() && !r.customer_id.is_empty())
        .map(|r| LookupEvent {
            time: r.time,
            institution: r.customer_id.clone(),
            operator: r.operator.clone(),
            nik: r.nik_raw.trim().to_string(),
        })
        .collect()
}

/// *No sequential or patterned lookups* (digest rule 8): the domain's detector over
/// [`lookup_events`], per institution and operator.
pub fn no_sequential_lookups(rows: &[JournalRow], settings: &DetectorSettings) -> Evaluation {
    let events = lookup_events(rows);
    let findings = detector::detect(&events, settings);
    let problems = findings
        .iter()
        .map(|f| {
            let what = match (f.kind, f.stride) {
                (FindingKind::Sequential, _) => {
                    ev!("{} NIK berurutan", "{} consecutive NIKs", f.count)
                }
                (FindingKind::Patterned, Some(stride)) => ev!(
                    "{} NIK dengan selisih tetap {stride}",
                    "{} NIKs a constant {stride} apart",
                    f.count
                ),
                (FindingKind::Patterned, None) => {
                    ev!("{} NIK berpola", "{} patterned NIKs", f.count)
                }
                (FindingKind::Burst, _) => ev!(
                    "{} permintaan data dalam {} detik",
                    "{} lookups within {} s",
                    f.count,
                    (f.last - f.first).num_milliseconds().max(0) as f64 / 1000.0
                ),
            };
            let who = f.operator.as_deref().unwrap_or("-");
            ev!(
                lang => "{} oleh {}/{}: {}",
                "{} by {}/{}: {}",
                what.text(lang),
                f.institution,
                who,
                f.niks.join(", ")
            )
        })
        .collect();
    Evaluation::judge(
        problems,
        ev!(
            "{} permintaan data, tanpa deret NIK berurutan, berpola, atau beruntun cepat",
            "{} lookups, no sequential, patterned or rapid-fire series",
            events.len()
        ),
    )
}

/// Something the application produced: a page, an API answer, an export, a log file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CapturedOutput {
    /// Where it came from (`T-FIELD-01 lookup #1 by op1`, `export.csv`, ...), in both languages.
    pub label: Evidence,
    pub text: String,
}

/// *Field limits*: no canary value of a field outside `granted` appears in any output; every
/// granted edge value appears exactly (not truncated, trimmed or rounded).
///
/// `canary` holds the canary resident's value for every field, each carrying a unique marker, so
/// finding a value means the element was shown.
pub fn field_limits(
    granted: FieldSet,
    canary: &[(Field, String)],
    edge_fields: &[Field],
    outputs: &[CapturedOutput],
) -> Evaluation {
    if outputs.is_empty() {
        return Evaluation::review(ev!(
            "tidak ada keluaran aplikasi yang terekam untuk penduduk canary",
            "no application output was captured for the canary resident"
        ));
    }
    let mut problems = Vec::new();
    for (field, value) in canary {
        if value.trim().is_empty() {
            continue;
        }
        let shown: Vec<Evidence> = outputs
            .iter()
            .filter(|o| shows(&o.text, value))
            .map(|o| o.label.clone())
            .collect();
        if !granted.contains(*field) && !shown.is_empty() {
            let places = Evidence::join(&shown, ", ");
            problems.push(ev!(lang =>
                "{field} di luar elemen data PKS tetapi ditampilkan di: {}",
                "{field} is outside the agreement but shown in: {}",
                places.text(lang)
            ));
        }
        if granted.contains(*field) && edge_fields.contains(field) && shown.is_empty() {
            problems.push(ev!(
                "nilai batas {field} {value:?} tidak muncul persis di keluaran mana pun (terpotong, dipangkas, atau dibulatkan?)",
                "{field} edge value {value:?} does not appear exactly in any output (truncated, trimmed or rounded?)"
            ));
        }
    }
    let edges = edge_fields.iter().filter(|f| granted.contains(**f)).count();
    Evaluation::judge(
        problems,
        ev!(
            "{} keluaran: tidak ada elemen data di luar PKS; {edges} nilai batas tampil persis",
            "{} outputs: no element outside the grant; {edges} edge value(s) exact",
            outputs.len()
        ),
    )
}

/// *Secret hygiene*: the institutional password occurs in no output, log or stored file.
/// The evidence names places, never the password.
pub fn secret_hygiene(password: &str, sources: &[(Evidence, Vec<u8>)]) -> Evaluation {
    if password.is_empty() {
        return Evaluation::review(ev!(
            "berkas target tidak memuat kata sandi instansi untuk dicari",
            "the target file gives no institutional password to search for"
        ));
    }
    if sources.is_empty() {
        return Evaluation::not_exercised(ev!(
            "tidak ada keluaran, log, atau berkas yang dapat dicari",
            "no output, log or file to search"
        ));
    }
    let needle = password.as_bytes();
    let problems: Vec<Evidence> = sources
        .iter()
        .filter(|(_, bytes)| bytes.windows(needle.len()).any(|w| w == needle))
        .map(|(label, _)| {
            ev!(lang =>
                "kata sandi instansi muncul di {}",
                "the institutional password appears in {}",
                label.text(lang)
            )
        })
        .collect();
    Evaluation::judge(
        problems,
        ev!(
            "kata sandi tidak ditemukan di satu pun dari {} sumber",
            "password found in none of {} sources",
            sources.len()
        ),
    )
}

/// *Non-retention*: no canary found in storage ([`crate::storage::ScanReport`]); optionally a
/// repeated lookup after the mock changed the resident shows the new value, and with the mock
/// unreachable the application shows no resident data.
pub fn non_retention(
    scan: Option<&crate::storage::ScanReport>,
    after_change: Option<(&str, &str, &CapturedOutput)>,
    while_unreachable: Option<(&[String], &CapturedOutput)>,
) -> Evaluation {
    let mut problems = Vec::new();
    let mut notes = Vec::new();
    if let Some(scan) = scan {
        for hit in &scan.hits {
            // The marker's label already names the canary ("NAMA_LGKP dari canary `r1`").
            problems.push(ev!(lang =>
                "{} tersimpan di {}",
                "canary {} found in {}",
                hit.marker.text(lang),
                hit.place.text(lang)
            ));
        }
        if !scan.errors.is_empty() && scan.hits.is_empty() {
            let mut e = Evaluation::review(ev!(
                "sebagian penyimpanan tidak dapat dipindai",
                "some storage could not be scanned"
            ));
            e.evidence.extend(scan.errors.iter().cloned());
            return e;
        }
        problems.extend(scan.errors.iter().cloned());
        if problems.is_empty() && !scan.absent.is_empty() {
            // A place that is not there proves nothing: the path may be wrong, or the data kept
            // somewhere the target file does not name.
            return Evaluation::not_exercised(ev!(
                "lokasi penyimpanan yang dinyatakan berkas target tidak ada setelah sesi: {}",
                "storage places the target file declares do not exist after the session: {}",
                scan.absent.join(", ")
            ));
        }
        if scan.scanned.is_empty() && scan.hits.is_empty() {
            return Evaluation::not_exercised(ev!(
                "berkas target tidak menyatakan lokasi penyimpanan yang dapat dipindai",
                "the target file declares no storage place to scan"
            ));
        }
        notes.push(ev!(
            "{} lokasi penyimpanan dipindai",
            "{} storage places scanned",
            scan.scanned.len()
        ));
    }
    if let Some((old, new, out)) = after_change {
        if shows(&out.text, old) && !shows(&out.text, new) {
            problems.push(ev!(lang =>
                "{}: menampilkan nilai lama setelah mock mengubahnya (cache)",
                "{}: shows the old value after the mock changed it (cache)",
                out.label.text(lang)
            ));
        } else if !shows(&out.text, new) {
            problems.push(ev!(lang =>
                "{}: nilai baru tidak muncul setelah mock mengubahnya",
                "{}: the new value does not appear after the mock changed it",
                out.label.text(lang)
            ));
        }
    }
    if let Some((values, out)) = while_unreachable {
        let leaked: Vec<&String> = values
            .iter()
            .filter(|v| !v.trim().is_empty() && shows(&out.text, v))
            .collect();
        if !leaked.is_empty() {
            problems.push(ev!(lang =>
                "{}: menampilkan {} nilai data penduduk saat mock tidak dapat dihubungi",
                "{}: shows {} resident value(s) while the mock is unreachable",
                out.label.text(lang),
                leaked.len()
            ));
        }
    }
    if scan.is_none() && after_change.is_none() && while_unreachable.is_none() {
        return Evaluation::not_exercised(ev!(
            "tidak ada yang dinilai: tidak ada pemindaian penyimpanan maupun pengamatan",
            "nothing to judge: no scan and no observation"
        ));
    }
    Evaluation::judge(
        problems,
        if notes.is_empty() {
            ev!(
                "tidak ada data penduduk yang disimpan",
                "no retained resident data"
            )
        } else {
            Evidence::join(&notes, "; ")
        },
    )
}

/// *Data balikan*: each service event on a looked-up NIK is followed within `within_secs` by an
/// accepted balikan row (outcome `01`) carrying every required key; no balikan for NIKs that
/// were never looked up.
pub fn balikan(
    rows: &[JournalRow],
    actions: &[Action],
    required: &[&str],
    entered: &BTreeMap<usize, Vec<String>>,
    within_secs: i64,
    none_without_lookup: bool,
) -> Evaluation {
    let looked_up: BTreeSet<&str> = rows
        .iter()
        .filter(|r| r.is_lookup() && r.outcome == Outcome::Found.code())
        .map(|r| r.nik_raw.as_str())
        .collect();
    let mut problems = Vec::new();
    let mut events = 0;
    for (i, a) in actions.iter().enumerate() {
        let ActionKind::ServiceEvent { event, nik } = &a.kind else {
            continue;
        };
        if !looked_up.contains(nik.as_str()) {
            continue;
        }
        events += 1;
        let deadline = a.finished + chrono::Duration::seconds(within_secs);
        let sent: Vec<&JournalRow> = rows
            .iter()
            .filter(|r| {
                r.is_balikan() && r.nik_raw == *nik && r.time >= a.started && r.time <= deadline
            })
            .collect();
        let accepted: Vec<&&JournalRow> = sent
            .iter()
            .filter(|r| r.outcome == Outcome::Found.code())
            .collect();
        if accepted.is_empty() {
            let why = if sent.is_empty() {
                ev!("tidak ada yang dikirim", "none sent")
            } else {
                ev!(
                    "{} dikirim, semuanya ditolak",
                    "{} sent, all rejected",
                    sent.len()
                )
            };
            problems.push(ev!(lang =>
                "{event} untuk {}: tidak ada data balikan yang diterima dalam {within_secs} detik ({})",
                "{event} on {}: no accepted balikan within {within_secs} s ({})",
                masked(nik),
                why.text(lang)
            ));
            continue;
        }
        let keys: BTreeSet<&str> = accepted
            .iter()
            .flat_map(|r| r.elements.iter().map(String::as_str))
            .collect();
        let missing: Vec<&&str> = required.iter().filter(|k| !keys.contains(**k)).collect();
        if !missing.is_empty() {
            problems.push(ev!(
                "{event} untuk {}: data balikan tidak memuat elemen wajib {missing:?}",
                "{event} on {}: balikan lacks required {missing:?}",
                masked(nik)
            ));
        }
        let dropped: Vec<&String> = entered
            .get(&i)
            .into_iter()
            .flatten()
            .filter(|k| !keys.contains(k.as_str()) && !required.contains(&k.as_str()))
            .collect();
        if !dropped.is_empty() {
            problems.push(ev!(
                "{event} untuk {}: nilai data balikan yang diisi petugas tidak terkirim {dropped:?}",
                "{event} on {}: balikan values the operator entered were not sent {dropped:?}",
                masked(nik)
            ));
        }
    }
    if none_without_lookup {
        for r in rows
            .iter()
            .filter(|r| r.is_balikan() && !looked_up.contains(r.nik_raw.as_str()))
        {
            problems.push(ev!(
                "{} data balikan untuk {} yang tidak pernah dicari",
                "{} balikan for {} which was never looked up",
                r.time.to_rfc3339(),
                masked(&r.nik_raw)
            ));
        }
    }
    if events == 0 && problems.is_empty() {
        return Evaluation::review(ev!(
            "selama pengujian tidak terjadi kejadian layanan atas NIK yang telah dicari",
            "no service event on a looked-up NIK happened during the test"
        ));
    }
    Evaluation::judge(
        problems,
        ev!(
            "{events} kejadian layanan, masing-masing diikuti data balikan yang valid",
            "{events} service event(s), each followed by valid balikan"
        ),
    )
}

/// What the application did with one business outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutcomeObservation {
    pub outcome: Outcome,
    /// The target's recogniser said the answer presents a resident.
    pub presented_resident: bool,
    pub screen: CapturedOutput,
}

/// *Outcome handling*, business part: never present a non-found outcome as data; tell the
/// operator. A screen that neither presents data nor carries the gateway's text needs a person.
pub fn outcome_handling(observations: &[OutcomeObservation]) -> Evaluation {
    let mut problems = Vec::new();
    let mut review = Vec::new();
    for o in observations {
        let code = o.outcome.code();
        if o.outcome != Outcome::Found && o.presented_resident {
            problems.push(ev!(lang =>
                "{code}: {} menampilkan jawaban ini sebagai data ditemukan",
                "{code}: {} presents the answer as found data",
                o.screen.label.text(lang)
            ));
            continue;
        }
        let shown = o.screen.text.to_lowercase();
        let told = [Catalogue::Gateway, Catalogue::Juknis]
            .iter()
            .any(|c| shown.contains(&o.outcome.text(*c).to_lowercase()));
        if o.outcome != Outcome::Found && !told {
            review.push(ev!(lang =>
                "{code}: {} tidak memuat teks dari gateway; pastikan operator diberi tahu",
                "{code}: {} does not carry the gateway's text; confirm the operator is told",
                o.screen.label.text(lang)
            ));
        }
    }
    if observations.is_empty() {
        return Evaluation::not_exercised(ev!(
            "tidak ada kode respons yang diuji",
            "no outcome was exercised"
        ));
    }
    if problems.is_empty() && !review.is_empty() {
        return Evaluation::new(CheckOutcome::NeedsReview, review);
    }
    problems.extend(review);
    Evaluation::judge(
        problems,
        ev!(
            "{} kode respons ditangani tanpa menampilkan data",
            "{} outcomes handled without presenting data",
            observations.len()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::sample::{lookup, row};

    /// Every evaluator, as the tests below call it: the same function, and the evidence it gives
    /// on these recorded journals must be in Bahasa Indonesia as well as English. A new
    /// English-only line (empty Indonesian, or the English copied over) fails the test that
    /// produced it. These names shadow the glob import of the evaluators on purpose.
    fn bilingual(e: Evaluation) -> Evaluation {
        assert!(
            !e.evidence.is_empty(),
            "an evaluation without evidence: {e:?}"
        );
        for line in &e.evidence {
            assert!(
                line.is_translated(),
                "evidence not translated into Bahasa Indonesia: {line:?}"
            );
        }
        e
    }
    fn user_id_propagation(
        rows: &[JournalRow],
        actions: &[Action],
        operators: &[OperatorIdentity],
        institutional: &[&str],
        min_distinct_operators: usize,
        slack_ms: i64,
    ) -> Evaluation {
        bilingual(super::user_id_propagation(
            rows,
            actions,
            operators,
            institutional,
            min_distinct_operators,
            slack_ms,
        ))
    }
    fn one_action_one_request(
        rows: &[JournalRow],
        actions: &[Action],
        max_retries: u32,
        slack_ms: i64,
    ) -> Evaluation {
        bilingual(super::one_action_one_request(
            rows,
            actions,
            max_retries,
            slack_ms,
        ))
    }
    fn quota(rows: &[JournalRow], screen: Option<&str>) -> Evaluation {
        bilingual(super::quota(rows, screen))
    }
    fn no_sequential_lookups(rows: &[JournalRow], cfg: &DetectorSettings) -> Evaluation {
        bilingual(super::no_sequential_lookups(rows, cfg))
    }
    fn field_limits(
        granted: FieldSet,
        canary: &[(Field, String)],
        edge_fields: &[Field],
        outputs: &[CapturedOutput],
    ) -> Evaluation {
        bilingual(super::field_limits(granted, canary, edge_fields, outputs))
    }
    fn secret_hygiene(password: &str, sources: &[(Evidence, Vec<u8>)]) -> Evaluation {
        bilingual(super::secret_hygiene(password, sources))
    }
    fn non_retention(
        scan: Option<&crate::storage::ScanReport>,
        after_change: Option<(&str, &str, &CapturedOutput)>,
        while_unreachable: Option<(&[String], &CapturedOutput)>,
    ) -> Evaluation {
        bilingual(super::non_retention(scan, after_change, while_unreachable))
    }
    fn balikan(
        rows: &[JournalRow],
        actions: &[Action],
        required: &[&str],
        within_secs: i64,
        none_without_lookup: bool,
    ) -> Evaluation {
        bilingual(super::balikan(
            rows,
            actions,
            required,
            &BTreeMap::new(),
            within_secs,
            none_without_lookup,
        ))
    }
    fn outcome_handling(observations: &[OutcomeObservation]) -> Evaluation {
        bilingual(super::outcome_handling(observations))
    }

    const A: &str = "3313014107890003";
    const B: &str = "3313025502910007";
    const C: &str = "3313106612850001";

    fn ops() -> Vec<OperatorIdentity> {
        ["petugas.a", "petugas.b"]
            .iter()
            .map(|u| OperatorIdentity {
                username: u.to_string(),
                user_id: u.to_string(),
            })
            .collect()
    }

    #[test]
    fn user_id_passes_when_each_operator_sends_its_own() {
        let rows = vec![
            row(0, Some("petugas.a"), A, "01"),
            row(10, Some("petugas.b"), B, "01"),
        ];
        let actions = vec![lookup(0, "petugas.a", A), lookup(10, "petugas.b", B)];
        let e = user_id_propagation(&rows, &actions, &ops(), &["rsud_3313"], 2, DEFAULT_SLACK_MS);
        assert_eq!(e.outcome, CheckOutcome::Pass, "{e:?}");
    }

    #[test]
    fn user_id_fails_missing_empty_institutional_constant_and_wrong() {
        let actions = vec![lookup(0, "petugas.a", A), lookup(10, "petugas.b", B)];
        let judge = |rows: Vec<JournalRow>| {
            user_id_propagation(&rows, &actions, &ops(), &["rsud_3313"], 2, DEFAULT_SLACK_MS)
        };
        let e = judge(vec![
            row(0, None, A, "01"),
            row(10, Some("petugas.b"), B, "01"),
        ]);
        assert_eq!(e.outcome, CheckOutcome::Fail);
        assert!(
            e.evidence[0].en.contains("missing") && e.evidence[0].en.contains("3313**********03"),
            "{e:?}"
        );
        let e = judge(vec![
            row(0, Some("  "), A, "01"),
            row(10, Some("petugas.b"), B, "01"),
        ]);
        assert!(e.evidence[0].en.contains("empty"), "{e:?}");
        let e = judge(vec![
            row(0, Some("RSUD_3313"), A, "01"),
            row(10, Some("petugas.b"), B, "01"),
        ]);
        assert!(e.evidence[0].en.contains("institutional"), "{e:?}");
        let e = judge(vec![
            row(0, Some("admin"), A, "01"),
            row(10, Some("admin"), B, "01"),
        ]);
        assert_eq!(e.outcome, CheckOutcome::Fail);
        assert!(
            e.evidence.iter().any(|x| x.en.contains("constant")),
            "{e:?}"
        );
        let e = judge(vec![
            row(0, Some("petugas.b"), A, "01"),
            row(10, Some("petugas.a"), B, "01"),
        ]);
        assert!(
            e.evidence[0].en.contains("but operator `petugas.a` acted"),
            "{e:?}"
        );
        assert_eq!(judge(vec![]).outcome, CheckOutcome::Fail);
    }

    #[test]
    fn user_id_with_one_operator_needs_review() {
        let rows = vec![row(0, Some("petugas.a"), A, "01")];
        let e = user_id_propagation(
            &rows,
            &[lookup(0, "petugas.a", A)],
            &ops(),
            &[],
            2,
            DEFAULT_SLACK_MS,
        );
        assert_eq!(e.outcome, CheckOutcome::NeedsReview);
    }

    #[test]
    fn one_action_one_request_catches_duplicates_misses_and_unasked() {
        let actions = vec![lookup(0, "petugas.a", A), lookup(10, "petugas.a", B)];
        let ok = vec![
            row(1, Some("petugas.a"), A, "01"),
            row(11, Some("petugas.a"), B, "01"),
        ];
        assert_eq!(
            one_action_one_request(&ok, &actions, 0, DEFAULT_SLACK_MS).outcome,
            CheckOutcome::Pass
        );
        let dup = vec![
            row(1, Some("petugas.a"), A, "01"),
            row(2, Some("petugas.a"), A, "01"),
            row(11, Some("petugas.a"), B, "01"),
        ];
        let e = one_action_one_request(&dup, &actions, 0, DEFAULT_SLACK_MS);
        assert_eq!(e.outcome, CheckOutcome::Fail);
        assert!(
            e.evidence[0].en.contains("sent 2 requests (allowed 1)"),
            "{e:?}"
        );
        // With a fault injected, bounded retries are fine.
        let mut faulty = actions.clone();
        faulty[0].fault_injected = true;
        assert_eq!(
            one_action_one_request(&dup, &faulty, 2, DEFAULT_SLACK_MS).outcome,
            CheckOutcome::Pass
        );
        let e = one_action_one_request(
            &[
                row(1, Some("petugas.a"), A, "01"),
                row(30, Some("petugas.a"), C, "01"),
            ],
            &actions,
            0,
            DEFAULT_SLACK_MS,
        );
        assert_eq!(e.evidence.len(), 2, "{e:?}");
        assert!(
            e.evidence[0].en.contains("sent no request")
                && e.evidence[1].en.contains("no operator action asked for"),
            "{e:?}"
        );
    }

    #[test]
    fn quota_stops_for_the_local_day_only() {
        let rows = vec![row(0, Some("a"), A, "01"), row(10, Some("a"), B, "05")];
        assert_eq!(
            quota(&rows, Some("Kuota akses hari ini telah habis")).outcome,
            CheckOutcome::Pass
        );
        let mut more = rows.clone();
        more.push(row(20, Some("a"), C, "05"));
        let e = quota(&more, None);
        assert_eq!(e.outcome, CheckOutcome::Fail);
        assert!(
            e.evidence[0].en.contains("after the quota was used up"),
            "{e:?}"
        );
        // 17:00 UTC is midnight WIB: a new day, calling again is allowed.
        let next_day = row(16 * 3600, Some("a"), C, "01");
        let mut later = rows.clone();
        later.push(next_day);
        assert_eq!(quota(&later, None).outcome, CheckOutcome::Pass);
        assert_eq!(
            quota(&rows, Some("Terjadi kesalahan")).outcome,
            CheckOutcome::Fail
        );
        assert_eq!(quota(&rows[..1], None).outcome, CheckOutcome::NeedsReview);
    }

    #[test]
    fn sequential_lookups_fail_with_masked_evidence() {
        let rows: Vec<JournalRow> = ["3313014107890003", "3313014107890004", "3313014107890005"]
            .iter()
            .enumerate()
            .map(|(i, n)| row(i as i64 * 60, Some("a"), n, "01"))
            .collect();
        let e = no_sequential_lookups(&rows, &DetectorSettings::default());
        assert_eq!(e.outcome, CheckOutcome::Fail);
        assert!(
            e.evidence[0]
                .en
                .starts_with("3 consecutive NIKs by rsud_3313/a: 3313**********03"),
            "{e:?}"
        );
        let spread = vec![
            row(0, Some("a"), A, "01"),
            row(60, Some("a"), B, "01"),
            row(120, Some("a"), C, "01"),
            row(130, Some("a"), "not-a-nik", "15"),
        ];
        assert_eq!(
            no_sequential_lookups(&spread, &DetectorSettings::default()).outcome,
            CheckOutcome::Pass
        );
    }

    fn out(label: &str, text: &str) -> CapturedOutput {
        CapturedOutput {
            label: Evidence::verbatim(label),
            text: text.into(),
        }
    }

    #[test]
    fn field_limits_outside_grant_and_edge_values() {
        let granted: FieldSet = [Field::Nik, Field::NamaLgkp].into_iter().collect();
        let canary = vec![
            (Field::Nik, "9201014107890003".to_string()),
            (Field::NamaLgkp, "SRI O'NEIL QX7 ".to_string()),
            (Field::Agama, "ISLAM-QX7A".to_string()),
        ];
        let edge = [Field::Nik, Field::NamaLgkp];
        let good = out("page", "<td>9201014107890003</td><td>SRI O'NEIL QX7 </td>");
        assert_eq!(
            field_limits(granted, &canary, &edge, &[good]).outcome,
            CheckOutcome::Pass
        );
        let leak = out("page", "9201014107890003 SRI O'NEIL QX7  ISLAM-QX7A");
        let e = field_limits(granted, &canary, &edge, &[leak]);
        assert_eq!(
            e.evidence,
            vec![Evidence::new(
                "AGAMA di luar elemen data PKS tetapi ditampilkan di: page",
                "AGAMA is outside the agreement but shown in: page"
            )]
        );
        // Rounded through a double and trimmed.
        let rounded = out("page", "9201014107890004 SRI O'NEIL QX7");
        let e = field_limits(granted, &canary, &edge, &[rounded]);
        assert_eq!(e.evidence.len(), 2, "{e:?}");
        assert_eq!(
            field_limits(granted, &canary, &edge, &[]).outcome,
            CheckOutcome::NeedsReview
        );
    }

    #[test]
    fn secret_hygiene_names_places_not_the_password() {
        let sources = vec![
            (
                Evidence::verbatim("app.log"),
                b"login ok user=rsud pass=S3cret!x".to_vec(),
            ),
            (Evidence::verbatim("page"), b"hello".to_vec()),
        ];
        let e = secret_hygiene("S3cret!x", &sources);
        assert_eq!(e.outcome, CheckOutcome::Fail);
        assert_eq!(
            e.evidence,
            vec![Evidence::new(
                "kata sandi instansi muncul di app.log",
                "the institutional password appears in app.log"
            )]
        );
        assert_eq!(
            secret_hygiene("S3cret!x", &sources[1..]).outcome,
            CheckOutcome::Pass
        );
    }

    #[test]
    fn balikan_required_keys_deadline_and_unlooked() {
        let mut ev = lookup(20, "a", A);
        ev.kind = ActionKind::ServiceEvent {
            event: "register_patient".into(),
            nik: A.into(),
        };
        let mut bal = row(30, None, A, "01");
        bal.endpoint = "/data_balikan/public/api/store".into();
        bal.elements = vec!["NO_RM".into(), "GOL_DARAH".into()];
        let rows = vec![row(0, Some("a"), A, "01"), bal.clone()];
        assert_eq!(
            balikan(&rows, &[ev.clone()], &["NO_RM"], 60, true).outcome,
            CheckOutcome::Pass
        );
        let e = balikan(
            &rows,
            &[ev.clone()],
            &["NO_RM", "NO_SURAT_KEMATIAN"],
            60,
            true,
        );
        assert!(e.evidence[0].en.contains("NO_SURAT_KEMATIAN"), "{e:?}");
        assert_eq!(
            balikan(&rows, &[ev.clone()], &["NO_RM"], 5, true).outcome,
            CheckOutcome::Fail
        );
        let mut stray = bal.clone();
        stray.nik_raw = B.into();
        let e = balikan(&[rows[0].clone(), bal, stray], &[ev], &["NO_RM"], 60, true);
        assert!(e.evidence[0].en.contains("never looked up"), "{e:?}");
    }

    /// A value the operator entered for a balikan key of the agreement must come back with the
    /// balikan, even when the key is not required (a blood type collected at registration).
    #[test]
    fn balikan_values_the_operator_entered_must_be_sent() {
        let mut ev = lookup(20, "a", A);
        ev.kind = ActionKind::ServiceEvent {
            event: "register_patient".into(),
            nik: A.into(),
        };
        let mut bal = row(30, None, A, "01");
        bal.endpoint = "/data_balikan/public/api/store".into();
        bal.elements = vec!["NO_RM".into()];
        let rows = vec![row(0, Some("a"), A, "01"), bal.clone()];
        let entered: BTreeMap<usize, Vec<String>> = [(0, vec!["GOL_DARAH".to_string()])].into();
        let e = super::balikan(&rows, &[ev.clone()], &["NO_RM"], &entered, 60, true);
        assert_eq!(e.outcome, CheckOutcome::Fail, "{e:?}");
        assert!(e.evidence[0].en.contains("GOL_DARAH"), "{e:?}");
        bal.elements.push("GOL_DARAH".into());
        let rows = vec![row(0, Some("a"), A, "01"), bal];
        let e = super::balikan(&rows, &[ev], &["NO_RM"], &entered, 60, true);
        assert_eq!(e.outcome, CheckOutcome::Pass, "{e:?}");
    }

    #[test]
    fn outcomes_never_presented_as_data() {
        let o = |outcome, presented, text: &str| OutcomeObservation {
            outcome,
            presented_resident: presented,
            screen: out("screen", text),
        };
        let good = [o(
            Outcome::Deceased,
            false,
            "Data Ditemukan, Meninggal Dunia",
        )];
        assert_eq!(outcome_handling(&good).outcome, CheckOutcome::Pass);
        assert_eq!(
            outcome_handling(&[o(Outcome::Deceased, true, "SRI LESTARI")]).outcome,
            CheckOutcome::Fail
        );
        assert_eq!(
            outcome_handling(&[o(Outcome::NotFound, false, "Pasien baru")]).outcome,
            CheckOutcome::NeedsReview
        );
    }

    #[test]
    fn verdict_precedence() {
        let r = |outcome| CheckResult {
            test_id: "T".into(),
            check: "quota".into(),
            requirement: "R-QUOTA".into(),
            title_id: String::new(),
            title_en: String::new(),
            outcome,
            evidence: vec![],
        };
        use CheckOutcome::*;
        assert_eq!(Verdict::of(&[r(Pass), r(Skipped)]), Verdict::Lulus);
        assert_eq!(Verdict::of(&[r(Pass), r(NeedsReview)]), Verdict::TidakLulus);
        assert_eq!(Verdict::of(&[r(Pass), r(Fail)]), Verdict::TidakLulus);
        assert_eq!(Verdict::of(&[r(Skipped)]), Verdict::TidakLulus);
        assert_eq!(Verdict::of(&[]), Verdict::TidakLulus);
        assert_eq!(
            Verdict::of(&[r(Pass), r(NotExercised)]),
            Verdict::TidakLulus
        );
    }

    /// A declared storage place that is not there, or none declared, proves nothing: never
    /// "nothing stored". A hit elsewhere still fails.
    #[test]
    fn absent_storage_is_not_exercised_never_clean() {
        use crate::storage::ScanReport;
        let absent = ScanReport {
            scanned: vec!["app.log".into()],
            absent: vec!["tgt/tgt/app.sqlite".into()],
            ..ScanReport::default()
        };
        let e = non_retention(Some(&absent), None, None);
        assert_eq!(e.outcome, CheckOutcome::NotExercised, "{e:?}");
        assert!(e.evidence[0].en.contains("tgt/tgt/app.sqlite"), "{e:?}");
        let nothing = ScanReport::default();
        assert_eq!(
            non_retention(Some(&nothing), None, None).outcome,
            CheckOutcome::NotExercised
        );
        assert_eq!(
            secret_hygiene("S3cret!x", &[]).outcome,
            CheckOutcome::NotExercised
        );
    }

    #[test]
    fn non_retention_fails_on_stored_canaries_caches_and_offline_data() {
        use crate::storage::{Hit, ScanReport};
        let clean = ScanReport {
            scanned: vec!["app.sqlite".into()],
            hits: vec![],
            errors: vec![],
            absent: vec![],
        };
        assert_eq!(
            non_retention(Some(&clean), None, None).outcome,
            CheckOutcome::Pass
        );
        let stored = ScanReport {
            hits: vec![Hit {
                marker: Evidence::verbatim("KNR7Q"),
                place: ev!(
                    "app.sqlite patients.nama (baris 1)",
                    "app.sqlite patients.nama (row 1)"
                ),
            }],
            ..clean.clone()
        };
        let e = non_retention(Some(&stored), None, None);
        assert_eq!(e.outcome, CheckOutcome::Fail);
        assert!(
            e.evidence
                .iter()
                .any(|l| l.en.contains("app.sqlite patients.nama")
                    && l.id.contains("app.sqlite patients.nama (baris 1)")),
            "{e:?}"
        );
        let out = |text: &str| CapturedOutput {
            label: ev!("pencarian", "lookup"),
            text: text.into(),
        };
        let cached = out("NAMA: SRI LESTARI KNR7Q");
        assert_eq!(
            non_retention(None, Some(("SRI LESTARI", "SRI WAHYUNI", &cached)), None).outcome,
            CheckOutcome::Fail
        );
        let fresh = out("NAMA: SRI WAHYUNI");
        assert_eq!(
            non_retention(None, Some(("SRI LESTARI", "SRI WAHYUNI", &fresh)), None).outcome,
            CheckOutcome::Pass
        );
        let offline = out("NAMA: SRI WAHYUNI");
        let values = vec!["SRI WAHYUNI".to_string()];
        assert_eq!(
            non_retention(None, None, Some((&values, &offline))).outcome,
            CheckOutcome::Fail
        );
        assert_eq!(
            non_retention(None, None, None).outcome,
            CheckOutcome::NotExercised
        );
    }
}
