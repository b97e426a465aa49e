//! The dashboard's pages and the journal's JSON feed. Each reads its data through the admin
//! handlers' own functions ([`reports::journal_filter`], [`reports::usage_report`],
//! [`reports::detector_report`], [`ledger::ledger_page`], [`institutions::apply_patch`], the
//! fault engine with [`rule_from_json`]), so the page and the admin API never disagree.

use std::collections::{BTreeMap, HashMap};

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Form, Json};
use chrono::{DateTime, Utc};
use dukcapil_domain::detector::FindingKind;
use dukcapil_domain::{mask_nik, Catalogue, Outcome};
use dukcapil_mock_api::{
    rule_from_json, BalikanKeys, FaultView, IpPolicy, JournalRow, Nth, DASHBOARD, FAULT_STATUSES,
};
use maud::{html, Markup};
use serde::Serialize;
use serde_json::{json, Map, Value};

use super::texts::Texts;
use super::{mask_numbers, message_page, page, Dash, Nav, Ui};
use crate::core::clock::wib;
use crate::http::admin::reports::{self, Params};
use crate::http::admin::{institutions, ledger};
use crate::http::error::AdminError;

/// The journal's filters on the page.
const JOURNAL_FILTERS: [&str; 4] = ["customer_id", "endpoint", "outcome", "operator"];
/// Endpoints as the journal names them (rows of any other endpoint are shown all the same).
const ENDPOINTS: [&str; 6] = [
    "CALL_NIK",
    "CALL_VERIFY_BY_ELEMEN",
    "PORTAL",
    "PORTAL_LOGIN",
    "balikan_store",
    "balikan_upload",
];
/// Rows the journal page shows at first; the live feed adds to them.
const JOURNAL_ROWS: u32 = 50;
/// Most rows one poll of the live feed returns (the next poll takes the rest).
const FEED_ROWS: u32 = 200;

/// The non-empty values of `keys` in a query.
fn picked(q: &Params, keys: &[&str]) -> Params {
    keys.iter()
        .filter_map(|k| {
            let v = q.get(*k)?.trim();
            (!v.is_empty()).then(|| (k.to_string(), v.to_string()))
        })
        .collect()
}

/// Percent-encoding of a query value.
fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// A query string of `params` (sorted, so pages link stably).
fn query_string(params: &Params) -> String {
    let sorted: BTreeMap<_, _> = params.iter().collect();
    sorted
        .into_iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// An instant as the journal writes it (UTC, RFC 3339), shown in WIB.
fn wib_time(t: &str) -> String {
    DateTime::parse_from_rfc3339(t)
        .map(|t| {
            t.with_timezone(&wib())
                .format("%Y-%m-%d %H:%M:%S")
                .to_string()
        })
        .unwrap_or_else(|_| t.to_string())
}

fn utc_wib(t: &DateTime<Utc>) -> String {
    t.with_timezone(&wib())
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// An admin error as a page with the menu, at the admin API's status.
fn failed(ui: &Ui, e: AdminError) -> Response {
    let text = format!("{}: {e}", ui.t().bad_request);
    let status = e.into_response().status();
    message_page(ui, status, &text)
}

/// The hidden CSRF field of a state-changing form.
fn csrf_field(ui: &Ui) -> Markup {
    html! { input type="hidden" name="csrf" value=(ui.session.csrf); }
}

/// The institution select of a filter form (`""`: all).
fn institution_select(dash: &Dash, ui: &Ui, name: &str, selected: Option<&str>) -> Markup {
    let t = ui.t();
    html! {
        select name=(name) {
            option value="" selected[selected.is_none()] { (t.all) }
            @for i in dash.core.institutions() {
                @let cid = i.agreement.customer_id.clone();
                option value=(cid) selected[selected == Some(cid.as_str())] {
                    (cid) " · " (i.agreement.institution)
                }
            }
        }
    }
}

// ---------- journal ----------

/// A journal row as the dashboard shows it: the NIK masked, long numbers in free text masked,
/// the time in WIB.
#[derive(Debug, Serialize)]
pub(crate) struct RowView {
    id: i64,
    time: String,
    endpoint: String,
    customer_id: String,
    operator: String,
    nik: String,
    outcome: String,
    outcome_text: String,
    http_status: u16,
    latency_ms: String,
    fault: String,
    detail: String,
}

pub(super) fn row_view(r: &JournalRow) -> RowView {
    let masked = |v: &Option<String>| v.as_deref().map(mask_numbers).unwrap_or_default();
    RowView {
        id: r.id,
        time: wib_time(&r.time),
        endpoint: mask_numbers(&r.endpoint),
        customer_id: masked(&r.customer_id),
        operator: masked(&r.operator),
        nik: r
            .nik
            .as_deref()
            .map(|n| mask_nik(n.trim()))
            .unwrap_or_default(),
        outcome: r.outcome.clone(),
        outcome_text: r
            .outcome
            .parse::<Outcome>()
            .map(|o| o.text(Catalogue::Gateway).to_string())
            .unwrap_or_default(),
        http_status: r.http_status,
        latency_ms: format!("{:.1}", r.latency_us as f64 / 1000.0),
        fault: masked(&r.fault),
        detail: masked(&r.detail),
    }
}

pub(super) fn row_html(v: &RowView) -> Markup {
    html! {
        tr data-id=(v.id) {
            td { (v.time) }
            td { (v.endpoint) }
            td { (v.customer_id) }
            td { (v.operator) }
            td.mono.nik { (v.nik) }
            td title=(v.outcome_text) { (v.outcome) }
            td.num { (v.http_status) }
            td.num { (v.latency_ms) }
            td { (v.fault) }
            td { (v.detail) }
        }
    }
}

/// Polls the JSON feed every second and puts new rows on top (built with `textContent` only).
const JOURNAL_JS: &str = r#"(() => {
  const body = document.getElementById('journal-rows');
  const status = document.getElementById('live-status');
  const empty = document.getElementById('journal-empty');
  const cols = ['time', 'endpoint', 'customer_id', 'operator', 'nik', 'outcome', 'http_status', 'latency_ms', 'fault', 'detail'];
  let last = Number(body.dataset.lastId) || 0;
  function add(row) {
    const tr = document.createElement('tr');
    tr.dataset.id = row.id;
    for (const c of cols) {
      const td = document.createElement('td');
      td.textContent = row[c] == null ? '' : String(row[c]);
      if (c === 'nik') td.className = 'mono nik';
      if (c === 'http_status' || c === 'latency_ms') td.className = 'num';
      if (c === 'outcome') td.title = row.outcome_text || '';
      tr.appendChild(td);
    }
    body.insertBefore(tr, body.firstChild);
    while (body.rows.length > 500) body.deleteRow(body.rows.length - 1);
  }
  async function poll() {
    try {
      const q = body.dataset.query;
      const res = await fetch(body.dataset.src + '?after_id=' + last + (q ? '&' + q : ''),
        { credentials: 'same-origin', headers: { 'Accept': 'application/json' } });
      if (res.status === 401) { location.reload(); return; }
      if (!res.ok) throw new Error('HTTP ' + res.status);
      const page = await res.json();
      for (const row of page.rows) { add(row); if (row.id > last) last = row.id; }
      if (page.rows.length && empty) empty.hidden = true;
      status.textContent = body.dataset.live;
    } catch (e) {
      status.textContent = body.dataset.offline;
    }
    setTimeout(poll, 1000);
  }
  setTimeout(poll, 1000);
})();"#;

/// `GET /__admin/ui?customer_id=&endpoint=&outcome=&operator=`: the newest journal rows, then
/// the live feed.
pub(crate) async fn journal(State(dash): State<Dash>, ui: Ui, Query(q): Query<Params>) -> Response {
    let t = ui.t();
    let params = picked(&q, &JOURNAL_FILTERS);
    let mut with_limit = params.clone();
    with_limit.insert("limit".into(), JOURNAL_ROWS.to_string());
    let (rows, error) = match reports::journal_filter(&with_limit) {
        Ok(filter) => match dash.core.journal(filter).await {
            Ok(rows) => (rows, None),
            Err(e) => (Vec::new(), Some(AdminError::from(e).to_string())),
        },
        Err(e) => (Vec::new(), Some(e.to_string())),
    };
    let last_id = rows.first().map_or(0, |r| r.id);
    let views: Vec<RowView> = rows.iter().map(row_view).collect();
    let get = |k: &str| params.get(k).map(String::as_str);
    let body = html! {
        @if let Some(e) = &error {
            p.notice.error role="alert" { (t.bad_request) ": " (e) }
        }
        form.filters #journal-filters method="get" action=(DASHBOARD) {
            label { (t.institution) (institution_select(&dash, &ui, "customer_id", get("customer_id"))) }
            label { (t.endpoint)
                select name="endpoint" {
                    option value="" selected[get("endpoint").is_none()] { (t.all) }
                    @for e in ENDPOINTS {
                        option value=(e) selected[get("endpoint") == Some(e)] { (e) }
                    }
                    @if let Some(other) = get("endpoint").filter(|e| !ENDPOINTS.contains(e)) {
                        option value=(other) selected { (other) }
                    }
                }
            }
            label { (t.outcome)
                select name="outcome" {
                    option value="" selected[get("outcome").is_none()] { (t.all) }
                    @for o in Outcome::ALL {
                        option value=(o.code()) selected[get("outcome") == Some(o.code())] {
                            (o.code()) " · " (o.text(Catalogue::Gateway))
                        }
                    }
                    option value="ERR" selected[get("outcome") == Some("ERR")] { "ERR" }
                }
            }
            label { (t.operator) input type="text" name="operator" value=(get("operator").unwrap_or("")); }
            button type="submit" { (t.filter) }
            span #live-status aria-live="polite" {}
        }
        table #journal {
            thead { tr {
                th { (t.time_wib) } th { (t.endpoint) } th { (t.institution) } th { (t.operator) }
                th { (t.nik_masked) } th { (t.outcome) } th.num { "HTTP" } th.num { (t.latency) }
                th { (t.fault) } th { (t.detail) }
            } }
            tbody #journal-rows data-last-id=(last_id) data-query=(query_string(&params))
                data-src={ (DASHBOARD) "/journal.json" } data-live=(t.journal_live)
                data-offline=(t.journal_offline) {
                @for v in &views { (row_html(v)) }
            }
        }
        p #journal-empty.muted hidden[!views.is_empty()] { (t.journal_empty) }
    };
    let mut res = page(
        ui.lang(),
        Some(&ui.session),
        Some(Nav::Journal),
        t.journal_heading,
        body,
        Some(JOURNAL_JS),
    );
    if error.is_some() {
        *res.status_mut() = StatusCode::BAD_REQUEST;
    }
    res
}

/// `GET /__admin/ui/journal.json?after_id=&customer_id=&endpoint=&outcome=&operator=`: rows
/// after `after_id`, oldest first (without it: the newest), as the page shows them.
pub(crate) async fn journal_json(
    State(dash): State<Dash>,
    _ui: Ui,
    Query(q): Query<Params>,
) -> Result<Json<Value>, AdminError> {
    let keys = ["customer_id", "endpoint", "outcome", "operator", "after_id"];
    let mut params = picked(&q, &keys);
    params.insert(
        "limit".into(),
        if params.contains_key("after_id") {
            FEED_ROWS
        } else {
            JOURNAL_ROWS
        }
        .to_string(),
    );
    let filter = reports::journal_filter(&params)?;
    let rows = dash.core.journal(filter).await?;
    let views: Vec<RowView> = rows.iter().map(row_view).collect();
    Ok(Json(json!({ "rows": views })))
}

// ---------- quota and switches ----------

/// A switch's button: its state (red when off is a refusal: `off_refuses`), and a form that
/// flips it.
fn toggle(ui: &Ui, cid: &str, key: &str, on: bool, off_refuses: bool) -> Markup {
    let t = ui.t();
    html! {
        span.badge.ok[on && off_refuses].warn[on && !off_refuses].bad[!on && off_refuses] data-switch=(key) data-on=(on) { (if on { t.on } else { t.off }) }
        form.inline method="post" action={ (DASHBOARD) "/institutions/" (cid) } {
            (csrf_field(ui))
            input type="hidden" name="key" value=(key);
            input type="hidden" name="value" value=(!on);
            button type="submit" name="flip" value=(key) { (if on { t.turn_off } else { t.turn_on }) }
        }
    }
}

/// A setting chosen from a list (IP policy, balikan keys).
fn choice(ui: &Ui, cid: &str, key: &str, current: &str, options: &[&str]) -> Markup {
    html! {
        form.inline method="post" action={ (DASHBOARD) "/institutions/" (cid) } {
            (csrf_field(ui))
            input type="hidden" name="key" value=(key);
            select name="value" {
                @for o in options {
                    option value=(o) selected[*o == current] { (o) }
                }
            }
            " "
            button type="submit" { (ui.t().save) }
        }
    }
}

/// `GET /__admin/ui/institutions`: today's quota (WIB day) and the switches of each institution.
pub(crate) async fn institutions(State(dash): State<Dash>, ui: Ui) -> Response {
    let t = ui.t();
    let all = dash.core.institutions();
    let views: Vec<_> = all
        .iter()
        .map(|i| {
            (
                institutions::view(&dash.core, i),
                dash.core.quota_status(&i.agreement.customer_id),
            )
        })
        .collect();
    let day = views
        .iter()
        .find_map(|(_, q)| q.as_ref().map(|q| q.day.to_string()))
        .unwrap_or_default();
    let ip_policies: Vec<&str> = IpPolicy::ALL.iter().map(|p| p.name()).collect();
    let key_policies = [BalikanKeys::Free.name(), BalikanKeys::Strict.name()];
    let body = html! {
        h2 { (t.quota_heading) " · " (day) " (WIB)" }
        table #quota {
            thead { tr {
                th { (t.institution) } th.num { (t.used) } th.num { (t.limit) } th.num { (t.remaining) } th {}
                th.num { (t.portal_quota) }
            } }
            tbody {
                @for (v, q) in &views {
                    @let used = q.as_ref().map_or(0, |q| q.used);
                    tr data-customer-id=(v.customer_id) {
                        td { strong { (v.customer_id) } " · " (v.name) }
                        td.num.used { (used) }
                        @match v.quota_per_day {
                            Some(limit) => {
                                td.num { (limit) }
                                td.num { (limit.saturating_sub(used)) }
                                td {
                                    @let pct = if limit == 0 { 100 } else { (u64::from(used) * 100 / u64::from(limit)).min(100) };
                                    div.bar { span.full[pct >= 100] style={ "width:" (pct) "%" } {} }
                                }
                            }
                            None => {
                                td.num { (t.unlimited) } td.num { "–" } td {}
                            }
                        }
                        td.num.portal {
                            (v.portal_quota_used_today.unwrap_or(0)) " / "
                            (v.portal_quota_per_day.map_or_else(|| t.unlimited.to_string(), |l| l.to_string()))
                        }
                    }
                }
            }
        }
        h2 { (t.switches_heading) }
        table #switches {
            thead { tr {
                th { (t.institution) } th { (t.switch_active) } th { (t.switch_user_active) }
                th { (t.switch_extra_elements) } th { (t.switch_poc_passed) } th { (t.ip_policy) }
                th { (t.balikan_keys) }
            } }
            tbody {
                @for (v, _) in &views {
                    tr data-customer-id=(v.customer_id) {
                        td { strong { (v.customer_id) } " · " (v.name) }
                        td { (toggle(&ui, &v.customer_id, "active", v.active, true)) }
                        td { (toggle(&ui, &v.customer_id, "user_active", v.user_active, true)) }
                        td { (toggle(&ui, &v.customer_id, "extra_elements", v.extra_elements, false)) }
                        td { (toggle(&ui, &v.customer_id, "poc_passed", v.poc_passed, false)) }
                        td { (choice(&ui, &v.customer_id, "ip_policy", v.ip_policy.name(), &ip_policies)) }
                        td { (choice(&ui, &v.customer_id, "balikan_keys", v.balikan_keys.name(), &key_policies)) }
                    }
                }
            }
        }
    };
    page(
        ui.lang(),
        Some(&ui.session),
        Some(Nav::Institutions),
        t.nav_institutions,
        body,
        None,
    )
}

/// `POST /__admin/ui/institutions/{customer_id}` (`csrf`, `key`, `value`): one switch, through
/// the admin API's own PATCH validation and persistence.
pub(crate) async fn switch(
    State(dash): State<Dash>,
    ui: Ui,
    Path(cid): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if let Some(refused) = ui.csrf_refusal(&form) {
        return refused;
    }
    let key = form.get("key").map(String::as_str).unwrap_or("");
    let raw = form.get("value").map(|v| v.trim()).unwrap_or("");
    let value = match key {
        "active" | "user_active" | "extra_elements" | "poc_passed" => match raw {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            other => Value::String(other.to_string()),
        },
        "ip_policy" | "balikan_keys" => Value::String(raw.to_string()),
        _ => {
            return failed(
                &ui,
                AdminError::BadRequest(format!("`{key}` is not a dashboard switch")),
            )
        }
    };
    let mut body = Map::new();
    body.insert(key.to_string(), value);
    match institutions::apply_patch(&dash.core, &cid, body).await {
        Ok(_) => Redirect::to(&format!("{DASHBOARD}/institutions")).into_response(),
        Err(e) => failed(&ui, e),
    }
}

// ---------- data balikan ----------

/// `GET /__admin/ui/balikan?customer_id=`: the ledger, newest first, with its flags.
pub(crate) async fn balikan(State(dash): State<Dash>, ui: Ui, Query(q): Query<Params>) -> Response {
    let t = ui.t();
    let mut params = picked(&q, &["customer_id"]);
    let selected = params.get("customer_id").cloned();
    params.insert("limit".into(), "500".into());
    let entries = match ledger::ledger_page(&dash.core, &params).await {
        Ok(p) => p.entries,
        Err(e) => return failed(&ui, e),
    };
    let never = entries.iter().filter(|e| e.never_looked_up).count();
    let missing = entries.iter().filter(|e| !e.missing.is_empty()).count();
    let body = html! {
        form.filters method="get" action={ (DASHBOARD) "/balikan" } {
            label { (t.institution) (institution_select(&dash, &ui, "customer_id", selected.as_deref())) }
            button type="submit" { (t.filter) }
        }
        p #balikan-summary {
            (entries.len()) " " (t.entries) " · "
            span.badge.warn[never > 0] { (never) " " (t.never_looked_up) } " "
            span.badge.warn[missing > 0] { (missing) " " (t.missing_fields) }
        }
        @if entries.is_empty() {
            p.muted { (t.balikan_empty) }
        } @else {
            table #ledger {
                thead { tr {
                    th { (t.time_wib) } th { (t.institution) } th { (t.nik_masked) } th { (t.method) }
                    th.num { (t.row) } th { (t.values) } th { (t.flags) }
                } }
                tbody {
                    @for e in &entries {
                        @let flagged = e.never_looked_up || !e.missing.is_empty() || !e.unknown_keys.is_empty() || !e.invalid.is_empty();
                        tr.flagged[flagged] data-id=(e.id) {
                            td { (wib_time(&e.time)) }
                            td { (e.customer_id) }
                            td.mono.nik { (mask_nik(&e.nik)) }
                            td { (e.method) }
                            td.num { (e.row) }
                            td.mono {
                                @for (k, v) in &e.values { (k) "=" (mask_numbers(v)) br; }
                            }
                            td {
                                @if e.never_looked_up {
                                    span.badge.bad data-flag="never_looked_up" { (t.never_looked_up) }
                                }
                                @if !e.missing.is_empty() {
                                    span.badge.warn data-flag="missing" { (t.missing_fields) ": " (e.missing.join(", ")) }
                                }
                                @if !e.unknown_keys.is_empty() {
                                    span.badge data-flag="unknown_keys" { (t.unknown_keys) ": " (e.unknown_keys.join(", ")) }
                                }
                                @for (k, why) in &e.invalid {
                                    span.badge.warn data-flag="invalid" { (t.invalid_values) ": " (k) " (" (mask_numbers(why)) ")" }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    page(
        ui.lang(),
        Some(&ui.session),
        Some(Nav::Balikan),
        t.balikan_heading,
        body,
        None,
    )
}

// ---------- detector ----------

/// `GET /__admin/ui/detector?customer_id=&since=`: rule 8 over the journal's lookups.
pub(crate) async fn detector(
    State(dash): State<Dash>,
    ui: Ui,
    Query(q): Query<Params>,
) -> Response {
    let t = ui.t();
    let params = picked(&q, &["customer_id", "since"]);
    let report = match reports::detector_report(&dash.core, &params).await {
        Ok(r) => r,
        Err(e) => return failed(&ui, e),
    };
    let kind = |k: FindingKind| match k {
        FindingKind::Sequential => t.sequential,
        FindingKind::Patterned => t.patterned,
        FindingKind::Burst => t.burst,
    };
    let s = &report.settings;
    let body = html! {
        form.filters method="get" action={ (DASHBOARD) "/detector" } {
            label { (t.institution) (institution_select(&dash, &ui, "customer_id", params.get("customer_id").map(String::as_str))) }
            label { (t.since) " (YYYY-MM-DD, WIB)"
                input type="date" name="since" value=(params.get("since").map(String::as_str).unwrap_or(""));
            }
            button type="submit" { (t.filter) }
        }
        p #detector-summary {
            (report.lookups) " " (t.lookups_read) " · "
            span.muted.mono {
                "min_run=" (s.min_run) " min_stride_run=" (s.min_stride_run) " max_stride=" (s.max_stride)
                " burst_count=" (s.burst_count) " burst_window_ms=" (s.burst_window_ms)
            }
        }
        @if report.findings.is_empty() {
            p.muted #no-findings { (t.no_findings) }
        } @else {
            table #findings {
                thead { tr {
                    th { (t.kind) } th { (t.institution) } th { (t.operator) } th.num { (t.count) }
                    th { (t.first) } th { (t.last) } th.num { (t.stride) } th { (t.nik_masked) }
                } }
                tbody {
                    @for f in &report.findings {
                        tr {
                            td { span.badge.bad { (kind(f.kind)) } }
                            td { (f.institution) }
                            td { (f.operator.as_deref().map(mask_numbers).unwrap_or_default()) }
                            td.num { (f.count) }
                            td { (utc_wib(&f.first)) }
                            td { (utc_wib(&f.last)) }
                            td.num { (f.stride.map(|s| s.to_string()).unwrap_or_default()) }
                            // Masked by the detector already; masked again in case.
                            td.mono { (f.niks.iter().map(|n| mask_numbers(n)).collect::<Vec<_>>().join(", ")) }
                        }
                    }
                }
            }
        }
    };
    page(
        ui.lang(),
        Some(&ui.session),
        Some(Nav::Detector),
        t.detector_heading,
        body,
        None,
    )
}

// ---------- fault rules ----------

fn nth_text(nth: Option<Nth>) -> String {
    match nth {
        Some(Nth::Every(k)) => format!("every {k}"),
        Some(Nth::At(k)) => format!("at {k}"),
        None => String::new(),
    }
}

fn fault_rows(ui: &Ui, rules: &[FaultView]) -> Markup {
    let t = ui.t();
    html! {
        table #fault-rules {
            thead { tr {
                th.num { "ID" } th { (t.endpoint) } th { (t.institution) } th { (t.operator) } th { "NIK" }
                th { (t.nth) } th.num { (t.times) } th { (t.action) } th.num { (t.matched) }
                th.num { (t.applied) } th { (t.status) } th {}
            } }
            tbody {
                @for f in rules {
                    @let r = &f.rule;
                    tr data-id=(f.id) {
                        td.num { (f.id) }
                        td { (serde_json::to_value(r.endpoint).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default()) }
                        td { (r.institution.as_deref().unwrap_or("")) }
                        td { (r.operator.as_deref().map(mask_numbers).unwrap_or_default()) }
                        td.mono { (r.nik.as_deref().map(mask_nik).unwrap_or_default()) }
                        td { (nth_text(r.nth)) }
                        td.num { (r.times.map(|n| n.to_string()).unwrap_or_default()) }
                        td.mono.action { (serde_json::to_string(&r.action).unwrap_or_default()) }
                        td.num { (f.matched) }
                        td.num { (f.applied) }
                        td { @if f.retired { span.badge { (t.retired) } } @else { span.badge.ok { (t.active) } } }
                        td {
                            form.inline method="post" action={ (DASHBOARD) "/faults/" (f.id) "/delete" } {
                                (csrf_field(ui))
                                button type="submit" { (t.remove) }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn faults_page(
    dash: &Dash,
    ui: &Ui,
    notice: Option<(bool, String)>,
    status: StatusCode,
) -> Response {
    let t = ui.t();
    let rules = dash.core.faults.list();
    let endpoints = [
        "any",
        "call_nik",
        "verify",
        "balikan_store",
        "balikan_upload",
    ];
    let actions = ["status", "delay", "close", "truncate", "trickle"];
    let body = html! {
        @if let Some((ok, text)) = &notice {
            p.notice.error[!ok] #fault-notice role="status" { (text) }
        }
        @if rules.is_empty() {
            p.muted { (t.no_rules) }
        } @else {
            (fault_rows(ui, &rules))
        }
        h2 { (t.add_rule) }
        form.stack #add-fault method="post" action={ (DASHBOARD) "/faults" } {
            (csrf_field(ui))
            label { (t.endpoint)
                select name="endpoint" {
                    @for e in endpoints { option value=(e) selected[e == "call_nik"] { (e) } }
                }
            }
            label { (t.institution) " (" (t.any_hint) ")" (institution_select(dash, ui, "institution", None)) }
            label { (t.operator) " (" (t.any_hint) ")" input type="text" name="operator"; }
            label { "NIK (" (t.any_hint) ")" input type="text" name="nik" inputmode="numeric" autocomplete="off"; }
            label { (t.times) " (" (t.any_hint) ")" input type="number" name="times" min="1"; }
            label { (t.action)
                select name="action" {
                    @for a in actions { option value=(a) selected[a == "status"] { (a) } }
                }
            }
            label { (t.http_status) " (status)"
                select name="code" {
                    @for c in FAULT_STATUSES { option value=(c) selected[c == 503] { (c) } }
                }
            }
            label { (t.delay_ms) " (delay)" input type="number" name="ms" min="0" value="2000"; }
            label { (t.keep_percent) " (truncate)" input type="number" name="keep_percent" min="0" max="99" value="50"; }
            label.wide { (t.or_json)
                textarea name="json" placeholder=r#"{"endpoint": "call_nik", "nth": {"every": 3}, "action": {"type": "status", "code": 502}}"# {}
            }
            div { button type="submit" #add-fault-submit { (t.add) } }
        }
    };
    let mut res = page(
        ui.lang(),
        Some(&ui.session),
        Some(Nav::Faults),
        t.faults_heading,
        body,
        None,
    );
    *res.status_mut() = status;
    res
}

/// `GET /__admin/ui/faults`: the rules with their counters, and the form to add one.
pub(crate) async fn faults(State(dash): State<Dash>, ui: Ui, Query(q): Query<Params>) -> Response {
    let notice = q
        .get("added")
        .and_then(|id| id.parse::<u64>().ok())
        .map(|id| (true, format!("{} {id}: OK", ui.t().add_rule)));
    faults_page(&dash, &ui, notice, StatusCode::OK)
}

/// A form value as JSON: a whole number when it reads as one, else the text (so that the rule's
/// own validation names the field).
fn number_or_text(v: &str) -> Value {
    v.parse::<u64>()
        .map(Value::from)
        .unwrap_or_else(|_| Value::String(v.to_string()))
}

/// The rule the add form describes, as the JSON body `POST /__admin/faults` takes.
fn rule_json(form: &HashMap<String, String>) -> Vec<u8> {
    let get = |k: &str| form.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
    if let Some(raw) = get("json") {
        return raw.as_bytes().to_vec();
    }
    let mut rule = Map::new();
    rule.insert("endpoint".into(), json!(get("endpoint").unwrap_or("any")));
    for key in ["institution", "operator", "nik"] {
        if let Some(v) = get(key) {
            rule.insert(key.into(), json!(v));
        }
    }
    if let Some(v) = get("times") {
        rule.insert("times".into(), number_or_text(v));
    }
    let kind = get("action").unwrap_or("status");
    let mut action = Map::new();
    action.insert("type".into(), json!(kind));
    match kind {
        "status" => {
            action.insert("code".into(), number_or_text(get("code").unwrap_or("")));
        }
        "delay" => {
            action.insert("ms".into(), number_or_text(get("ms").unwrap_or("")));
        }
        "truncate" => {
            if let Some(p) = get("keep_percent") {
                action.insert("keep_percent".into(), number_or_text(p));
            }
        }
        _ => {}
    }
    rule.insert("action".into(), Value::Object(action));
    Value::Object(rule).to_string().into_bytes()
}

/// `POST /__admin/ui/faults`: adds a rule (validated as `POST /__admin/faults` validates it).
pub(crate) async fn add_fault(
    State(dash): State<Dash>,
    ui: Ui,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if let Some(refused) = ui.csrf_refusal(&form) {
        return refused;
    }
    let body = rule_json(&form);
    match rule_from_json(&body).and_then(|rule| dash.core.faults.add(rule)) {
        Ok(id) => {
            tracing::info!(id, "fault rule added from the dashboard");
            Redirect::to(&format!("{DASHBOARD}/faults?added={id}")).into_response()
        }
        Err(e) => {
            let text = format!("{}: {}: {}", ui.t().invalid_rule, e.field, e.message);
            faults_page(
                &dash,
                &ui,
                Some((false, text)),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
    }
}

/// `POST /__admin/ui/faults/{id}/delete`: removes a rule.
pub(crate) async fn remove_fault(
    State(dash): State<Dash>,
    ui: Ui,
    Path(id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if let Some(refused) = ui.csrf_refusal(&form) {
        return refused;
    }
    match id.parse::<u64>() {
        Ok(n) if dash.core.faults.remove(n) => {
            Redirect::to(&format!("{DASHBOARD}/faults")).into_response()
        }
        _ => failed(&ui, AdminError::NotFound),
    }
}

// ---------- semester usage report ----------

/// The report's totals per institution and operator: (lookups, verifications and other calls).
type Totals = BTreeMap<(String, Option<String>), (u64, u64)>;

/// A horizontal bar per institution and operator, lookups and other calls stacked.
fn chart(t: &Texts, totals: &Totals) -> Markup {
    let (label_w, bar_w, row_h, top) = (320.0, 520.0, 24.0, 34.0);
    let max = totals
        .values()
        .map(|(l, v)| l + v)
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let height = top + row_h * totals.len() as f64 + 10.0;
    let width = label_w + bar_w + 80.0;
    html! {
        svg #usage-chart role="img" aria-label=(t.chart_title) width=(width) height=(height)
            viewBox={ "0 0 " (width) " " (height) } xmlns="http://www.w3.org/2000/svg"
            font-family="system-ui, sans-serif" font-size="12" {
            title { (t.chart_title) }
            rect x="0" y="6" width="12" height="12" fill="#0b5cad" {}
            text x="18" y="16" { (t.lookups) }
            rect x="200" y="6" width="12" height="12" fill="#e08a1e" {}
            text x="218" y="16" { (t.verifications) }
            @for (i, ((cid, op), (l, v))) in totals.iter().enumerate() {
                @let y = top + row_h * i as f64;
                @let lw = bar_w * *l as f64 / max;
                @let vw = bar_w * *v as f64 / max;
                g.bar data-customer-id=(cid) data-total=(l + v) {
                    text x=(label_w - 8.0) y=(y + 15.0) text-anchor="end" {
                        (cid) " · " (op.as_deref().map(mask_numbers).unwrap_or_else(|| t.no_operator.to_string()))
                    }
                    rect x=(label_w) y=(y + 3.0) width=(lw) height="16" fill="#0b5cad" {}
                    rect x=(label_w + lw) y=(y + 3.0) width=(vw) height="16" fill="#e08a1e" {}
                    text x=(label_w + lw + vw + 6.0) y=(y + 15.0) { (l + v) }
                }
            }
        }
    }
}

/// `GET /__admin/ui/usage?from=&to=&customer_id=`: the semester report as a chart and tables.
pub(crate) async fn usage(State(dash): State<Dash>, ui: Ui, Query(q): Query<Params>) -> Response {
    let t = ui.t();
    let params = picked(&q, &["from", "to", "customer_id"]);
    let report = match reports::usage_report(&dash.core, &params).await {
        Ok(r) => r,
        Err(e) => return failed(&ui, e),
    };
    let mut totals: Totals = BTreeMap::new();
    for ((cid, op, _day), line) in &report.lines {
        let e = totals.entry((cid.clone(), op.clone())).or_default();
        e.0 += line.lookups;
        e.1 += line.verifications;
    }
    let mut csv_params = params.clone();
    csv_params.insert("from".into(), report.from.to_string());
    csv_params.insert("to".into(), report.to.to_string());
    let csv_href = format!("{DASHBOARD}/usage.csv?{}", query_string(&csv_params));
    let body = html! {
        form.filters method="get" action={ (DASHBOARD) "/usage" } {
            label { (t.from) input type="date" name="from" value=(report.from.to_string()); }
            label { (t.to) input type="date" name="to" value=(report.to.to_string()); }
            label { (t.institution) (institution_select(&dash, &ui, "customer_id", report.customer_id.as_deref())) }
            button type="submit" { (t.show) }
            a #usage-csv href=(csv_href) download="usage.csv" { (t.download_csv) }
        }
        @if totals.is_empty() {
            p.muted #usage-empty { (t.usage_empty) }
        } @else {
            h2 { (t.chart_title) " · " (report.from) " – " (report.to) }
            (chart(t, &totals))
            table #usage-table {
                thead { tr {
                    th { (t.institution) } th { (t.operator) } th.num { (t.lookups) }
                    th.num { (t.verifications) } th.num { (t.total) }
                } }
                tbody {
                    @for ((cid, op), (l, v)) in &totals {
                        tr {
                            td { (cid) " · " (report.names.get(cid).map(String::as_str).unwrap_or("")) }
                            td { (op.as_deref().map(mask_numbers).unwrap_or_else(|| t.no_operator.to_string())) }
                            td.num { (l) } td.num { (v) } td.num { (l + v) }
                        }
                    }
                }
            }
        }
    };
    page(
        ui.lang(),
        Some(&ui.session),
        Some(Nav::Usage),
        t.usage_heading,
        body,
        None,
    )
}

/// `GET /__admin/ui/usage.csv?from=&to=&customer_id=`: the CSV of `GET /__admin/usage`.
pub(crate) async fn usage_csv(
    State(dash): State<Dash>,
    _ui: Ui,
    Query(q): Query<Params>,
) -> Result<Response, AdminError> {
    let mut params = picked(&q, &["from", "to", "customer_id"]);
    params.insert("format".into(), "csv".into());
    let report = reports::usage_report(&dash.core, &params).await?;
    Ok(reports::usage_csv(&report))
}
