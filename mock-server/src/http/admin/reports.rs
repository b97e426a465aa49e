//! Reading the journal: filtered queries with paging, the per-institution/operator/day usage
//! report (rule 12, the semester report), and the rule-8 detector over the journal's lookups.

use std::collections::{BTreeMap, HashMap};

use axum::extract::{Extension, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use dukcapil_domain::detector::{detect, DetectorSettings, LookupEvent};
use dukcapil_domain::Outcome;
use serde_json::{json, Value};

use dukcapil_mock_api::{DetectorReport, JournalPage, JournalQuery, Paging};

use super::{scope_params, sorted, Scope};
use crate::core::clock::{wib, wib_day};
use crate::db::{self, JournalFilter};
use crate::http::error::{AdminError, AdminQuery};
use crate::http::AppState;

/// Most journal rows one query returns.
const MAX_LIMIT: u32 = JournalQuery::MAX_LIMIT;
/// Most lookups the detector reads in one run.
const DETECTOR_ROWS: u32 = 500_000;

/// A query string's parameters.
pub(crate) type Params = HashMap<String, String>;

fn only(q: &Params, allowed: &[&str]) -> Result<(), AdminError> {
    match q.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(AdminError::BadRequest(format!(
            "unknown parameter `{k}` ({})",
            allowed.join(", ")
        ))),
        None => Ok(()),
    }
}

fn parse<T: std::str::FromStr>(q: &Params, key: &str, what: &str) -> Result<Option<T>, AdminError> {
    q.get(key)
        .map(|v| {
            v.trim()
                .parse::<T>()
                .map_err(|_| AdminError::BadRequest(format!("`{key}` must be {what}, got `{v}`")))
        })
        .transpose()
}

/// An instant as the journal writes it: RFC 3339, or a bare date meaning its WIB midnight.
fn instant(q: &Params, key: &str) -> Result<Option<String>, AdminError> {
    let Some(raw) = q.get(key) else {
        return Ok(None);
    };
    let raw = raw.trim();
    let t = if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
        t.with_timezone(&Utc)
    } else if let Ok(d) = raw.parse::<NaiveDate>() {
        d.and_hms_opt(0, 0, 0)
            .and_then(|t| t.and_local_timezone(wib()).single())
            .map(|t| t.with_timezone(&Utc))
            .ok_or_else(|| AdminError::BadRequest(format!("`{key}`: no such instant `{raw}`")))?
    } else {
        return Err(AdminError::BadRequest(format!(
            "`{key}` must be an RFC 3339 instant or a date YYYY-MM-DD (WIB), got `{raw}`"
        )));
    };
    Ok(Some(t.to_rfc3339_opts(SecondsFormat::Micros, true)))
}

fn text(q: &Params, key: &str) -> Option<String> {
    q.get(key)
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// The journal filter of a query of `GET /__admin/journal` (also the dashboard's live journal):
/// known parameters only, `limit` at most [`MAX_LIMIT`], `outcome` a code or `ERR`.
pub(crate) fn journal_filter(q: &Params) -> Result<JournalFilter, AdminError> {
    only(
        q,
        &[
            "customer_id",
            "operator",
            "nik",
            "outcome",
            "endpoint",
            "since",
            "until",
            "limit",
            "after_id",
            "before_id",
        ],
    )?;
    let limit = parse::<u32>(q, "limit", "a whole number")?.unwrap_or(100);
    if limit > MAX_LIMIT {
        return Err(AdminError::BadRequest(format!(
            "`limit` must be at most {MAX_LIMIT}"
        )));
    }
    let outcome = text(q, "outcome");
    if let Some(o) = &outcome {
        if o != "ERR" && o.parse::<Outcome>().is_err() {
            return Err(AdminError::BadRequest(format!(
                "`outcome` must be a code 01..17 (or ERR), got `{o}`"
            )));
        }
    }
    Ok(JournalFilter {
        limit,
        customer_id: text(q, "customer_id"),
        operator: text(q, "operator"),
        nik: text(q, "nik"),
        outcome,
        endpoint: text(q, "endpoint"),
        since: instant(q, "since")?,
        until: instant(q, "until")?,
        after_id: parse(q, "after_id", "a whole number")?,
        before_id: parse(q, "before_id", "a whole number")?,
    })
}

/// `GET /__admin/journal?customer_id=&operator=&nik=&outcome=&endpoint=&since=&until=&limit=&after_id=&before_id=`
pub(crate) async fn journal(
    State(state): State<AppState>,
    Extension(scope): Extension<Scope>,
    AdminQuery(q): AdminQuery<Params>,
) -> Result<Json<Value>, AdminError> {
    // An institution token reads its own rows only.
    let q = scope_params(&scope, q)?;
    let filter = journal_filter(&q)?;
    let limit = filter.limit;
    let forward = filter.after_id.is_some();
    let rows = state.journal(filter).await?;
    // The cursor to pass on for the next page in the same direction.
    let next = if rows.len() as u32 == limit {
        rows.last().map(|r| r.id)
    } else {
        None
    };
    let paging = if forward {
        Paging::Forward
    } else {
        Paging::Backward
    };
    Ok(sorted(&JournalPage { rows, paging, next }))
}

/// One line of the usage report.
#[derive(Debug, Default)]
pub(crate) struct Line {
    /// Lookups by NIK: `CALL_NIK` and Web Portal searches.
    pub(crate) lookups: u64,
    /// Of `lookups`, the Web Portal's searches (`PORTAL`).
    pub(crate) portal: u64,
    pub(crate) verifications: u64,
    pub(crate) by_outcome: BTreeMap<String, u64>,
}

/// A line's key: institution, operator, WIB day.
pub(crate) type LineKey = (String, Option<String>, String);

/// The usage report of a period: what `GET /__admin/usage` answers as JSON or CSV, and what the
/// dashboard draws.
#[derive(Debug)]
pub(crate) struct Usage {
    pub(crate) from: NaiveDate,
    pub(crate) to: NaiveDate,
    pub(crate) customer_id: Option<String>,
    /// CSV asked for (`format=csv`).
    pub(crate) csv: bool,
    pub(crate) lines: BTreeMap<LineKey, Line>,
    /// Institution names by customer id.
    pub(crate) names: HashMap<String, String>,
}

fn day(q: &Params, key: &str) -> Result<Option<NaiveDate>, AdminError> {
    parse(q, key, "a date YYYY-MM-DD")
}

/// The usage report for a query of `GET /__admin/usage` (`from`, `to`, `customer_id`,
/// `format`). Default period: the current semester (January-June or July-December) up to today.
pub(crate) async fn usage_report(state: &AppState, q: &Params) -> Result<Usage, AdminError> {
    only(q, &["from", "to", "customer_id", "format"])?;
    // "Today" of one institution is its own clock's.
    let today = wib_day(state.now_for(text(q, "customer_id").as_deref()));
    let semester_start = {
        use chrono::Datelike;
        let month = if today.month() <= 6 { 1 } else { 7 };
        NaiveDate::from_ymd_opt(today.year(), month, 1).unwrap_or(today)
    };
    let from = day(q, "from")?.unwrap_or(semester_start);
    let to = day(q, "to")?.unwrap_or(today);
    if from > to {
        return Err(AdminError::BadRequest("`from` is after `to`".into()));
    }
    let csv = match q
        .get("format")
        .map(|f| f.trim().to_ascii_lowercase())
        .as_deref()
    {
        None | Some("json") => false,
        Some("csv") => true,
        Some(other) => {
            return Err(AdminError::BadRequest(format!(
                "`format` must be json or csv, got `{other}`"
            )))
        }
    };
    let cid = text(q, "customer_id");
    let dir = state.data_dir();
    let (f, t, c) = (from.to_string(), to.to_string(), cid.clone());
    let counts = db::blocking(&dir.clone(), move || {
        db::usage_counts(&dir, &f, &t, c.as_deref())
    })
    .await?;
    let mut lines: BTreeMap<LineKey, Line> = BTreeMap::new();
    for c in counts {
        let line = lines.entry((c.customer_id, c.operator, c.day)).or_default();
        if c.endpoint == "PORTAL" {
            line.lookups += c.count;
            line.portal += c.count;
        } else if c.endpoint == "CALL_NIK" {
            line.lookups += c.count;
        } else {
            line.verifications += c.count;
        }
        *line.by_outcome.entry(c.outcome).or_default() += c.count;
    }
    let names: HashMap<String, String> = state
        .institutions()
        .into_iter()
        .map(|i| {
            (
                i.agreement.customer_id.clone(),
                i.agreement.institution.clone(),
            )
        })
        .collect();
    Ok(Usage {
        from,
        to,
        customer_id: cid,
        csv,
        lines,
        names,
    })
}

/// `GET /__admin/usage?from=YYYY-MM-DD&to=YYYY-MM-DD&customer_id=&format=json|csv`: calls per
/// institution, operator and WIB day, split by service and outcome. Default period: the current
/// semester (January-June or July-December) up to today. Counts what the journal still holds.
pub(crate) async fn usage(
    State(state): State<AppState>,
    Extension(scope): Extension<Scope>,
    AdminQuery(q): AdminQuery<Params>,
) -> Result<Response, AdminError> {
    let q = scope_params(&scope, q)?;
    let usage = usage_report(&state, &q).await?;
    if usage.csv {
        return Ok(usage_csv(&usage));
    }
    let (lines, names) = (&usage.lines, &usage.names);
    let mut totals: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    let rows: Vec<Value> = lines
        .iter()
        .map(|((cid, op, day), l)| {
            let t = totals.entry(cid.as_str()).or_default();
            t.0 += l.lookups;
            t.1 += l.verifications;
            json!({
                "customer_id": cid,
                "institution": names.get(cid),
                "operator": op,
                "day": day,
                "lookups": l.lookups,
                "portal_searches": l.portal,
                "verifications": l.verifications,
                "total": l.lookups + l.verifications,
                "by_outcome": l.by_outcome,
            })
        })
        .collect();
    let totals: Vec<Value> = totals
        .into_iter()
        .map(|(cid, (l, v))| {
            json!({"customer_id": cid, "institution": names.get(cid), "lookups": l, "verifications": v, "total": l + v})
        })
        .collect();
    Ok(Json(json!({
        "from": usage.from.to_string(),
        "to": usage.to.to_string(),
        "customer_id": usage.customer_id,
        "rows": rows,
        "totals": totals,
    }))
    .into_response())
}

/// Quotes a CSV cell when needed (operators are free text as sent).
fn cell(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// The usage report as the CSV download (`usage.csv`).
pub(crate) fn usage_csv(usage: &Usage) -> Response {
    let (lines, names) = (&usage.lines, &usage.names);
    let mut out = String::from("customer_id,institution,operator,day,lookups,verifications,total");
    for o in Outcome::ALL {
        out.push_str(",outcome_");
        out.push_str(o.code());
    }
    out.push_str(",outcome_ERR\n");
    for ((cid, op, day), l) in lines {
        let name = names.get(cid).map(String::as_str).unwrap_or("");
        out.push_str(&format!(
            "{},{},{},{},{},{},{}",
            cell(cid),
            cell(name),
            cell(op.as_deref().unwrap_or("")),
            day,
            l.lookups,
            l.verifications,
            l.lookups + l.verifications
        ));
        for code in Outcome::ALL.iter().map(|o| o.code()).chain(["ERR"]) {
            out.push_str(&format!(
                ",{}",
                l.by_outcome.get(code).copied().unwrap_or(0)
            ));
        }
        out.push('\n');
    }
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"usage.csv\"",
            ),
        ],
        out,
    )
        .into_response()
}

/// The rule-8 report for a query of `GET /__admin/detector` (`customer_id`, `since` and the
/// thresholds).
pub(crate) async fn detector_report(
    state: &AppState,
    q: &Params,
) -> Result<DetectorReport, AdminError> {
    only(
        q,
        &[
            "customer_id",
            "since",
            "min_run",
            "min_stride_run",
            "max_stride",
            "burst_count",
            "burst_window_ms",
        ],
    )?;
    let d = DetectorSettings::default();
    let settings = DetectorSettings {
        min_run: parse(q, "min_run", "a whole number")?
            .unwrap_or(d.min_run)
            .max(2),
        min_stride_run: parse(q, "min_stride_run", "a whole number")?
            .unwrap_or(d.min_stride_run)
            .max(3),
        max_stride: parse(q, "max_stride", "a whole number")?.unwrap_or(d.max_stride),
        burst_count: parse(q, "burst_count", "a whole number")?
            .unwrap_or(d.burst_count)
            .max(2),
        burst_window_ms: parse(q, "burst_window_ms", "a whole number")?
            .unwrap_or(d.burst_window_ms)
            .max(0),
    };
    let cid = text(q, "customer_id");
    let since = instant(q, "since")?;
    let dir = state.data_dir();
    let (c, s) = (cid.clone(), since.clone());
    let rows = db::blocking(&dir.clone(), move || {
        db::lookups(&dir, c.as_deref(), s.as_deref(), DETECTOR_ROWS)
    })
    .await?;
    let events: Vec<LookupEvent> = rows
        .into_iter()
        .filter_map(|(time, institution, operator, nik)| {
            Some(LookupEvent {
                time: DateTime::parse_from_rfc3339(&time)
                    .ok()?
                    .with_timezone(&Utc),
                institution,
                operator,
                nik: nik.trim().to_string(),
            })
        })
        .collect();
    let findings = detect(&events, &settings);
    Ok(DetectorReport {
        customer_id: cid,
        since,
        lookups: events.len(),
        settings,
        findings,
    })
}

/// `GET /__admin/detector?customer_id=&since=&min_run=&min_stride_run=&max_stride=&burst_count=&burst_window_ms=`:
/// rule 8 (sequential, patterned, rapid-fire lookups) over the journal's `CALL_NIK` and
/// `CALL_VERIFY_BY_ELEMEN` rows (both read a resident by NIK). The PoC runner's check feeds the
/// same rows to the same [`detect`].
pub(crate) async fn detector(
    State(state): State<AppState>,
    Extension(scope): Extension<Scope>,
    AdminQuery(q): AdminQuery<Params>,
) -> Result<Json<Value>, AdminError> {
    let q = scope_params(&scope, q)?;
    Ok(sorted(&detector_report(&state, &q).await?))
}
