//! Canary residents: `POST /__admin/residents` creates residents with given values (missing ones
//! generated plausibly and consistently with the NIK), `PATCH /__admin/residents/{nik}` changes
//! values or `STATUS` of any resident, `GET /__admin/residents/{nik}` shows one. Created and
//! changed residents live in an overlay (state database + memory) that the gateway consults
//! before the read-only population file; `reset` drops them.
//!
//! In a shared sandbox an overlay resident belongs to the institution whose token (or
//! `?customer_id=` scope) created it or first changed it, and that institution's scoped reset
//! drops it. An institution's token sees population residents and its own overlay residents
//! (another's canaries answer 404 as if absent), changes only its own, and cannot change a
//! population resident: every institution shares those (ask the sandbox operator, or create a
//! canary). The gateway serves every overlay resident to every institution, as it serves the
//! population.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::extract::{Extension, Path, State};
use axum::http::StatusCode;
use axum::Json;
use dukcapil_domain::population::{generate, PopulationSpec, REFERENCE_DATE};
use dukcapil_domain::{DateFormat, Field, Nik, NoKk, Reference, Resident, ResidentStatus, Sex};
use serde_json::{Map, Value};

use dukcapil_mock_api::{ResidentRecord, ResidentsCreated};

use super::{scoped, sorted, Scope};
use crate::core::residents::SourceError;
use crate::http::error::{AdminError, AdminJson, AdminQuery};
use crate::http::AppState;

/// Longest text value accepted (the gateway's longest field holds 60; leave room for tests).
const MAX_TEXT: usize = 200;
/// Most residents one POST creates.
const MAX_BATCH: usize = 1000;

/// Seeds of the generator that makes the missing values of canary residents.
static NEXT_SEED: AtomicU64 = AtomicU64::new(0xCA7A_0000);

fn text(key: &str, v: &Value) -> Result<String, String> {
    let s = v
        .as_str()
        .ok_or_else(|| format!("`{key}` must be a string"))?;
    if s.chars().count() > MAX_TEXT {
        return Err(format!("`{key}` is longer than {MAX_TEXT} characters"));
    }
    Ok(s.to_string())
}

fn opt_text(key: &str, v: &Value) -> Result<Option<String>, String> {
    match v {
        Value::Null => Ok(None),
        _ => text(key, v).map(Some),
    }
}

fn number(key: &str, v: &Value) -> Result<u32, String> {
    match v {
        Value::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .ok_or_else(|| format!("`{key}` must be a whole number"))
}

/// A 16-digit number sent as a string or a JSON number.
fn digits(key: &str, v: &Value) -> Result<String, String> {
    match v {
        Value::String(s) => Ok(s.trim().to_string()),
        Value::Number(n) if n.is_u64() => Ok(n.to_string()),
        _ => Err(format!("`{key}` must be a 16-digit string or number")),
    }
}

fn parse_nik(v: &Value) -> Result<Nik, String> {
    let s = digits("NIK", v)?;
    s.parse::<Nik>().map_err(|e| format!("`NIK`: {e}"))
}

fn parse_sex(v: &Value) -> Result<Sex, String> {
    match v.as_str().map(|s| s.trim().to_ascii_uppercase()).as_deref() {
        Some("LAKI-LAKI" | "L") => Ok(Sex::Male),
        Some("PEREMPUAN" | "P") => Ok(Sex::Female),
        _ => Err("`JENIS_KLMIN` must be \"LAKI-LAKI\" or \"PEREMPUAN\"".into()),
    }
}

fn parse_date(v: &Value) -> Result<chrono::NaiveDate, String> {
    v.as_str()
        .and_then(DateFormat::parse_any)
        .ok_or_else(|| "`TGL_LHR` must be a date (YYYY-MM-DD, DD-MM-YYYY or DD.MM.YYYY)".into())
}

/// Checks that every key is a wire key or `STATUS`.
fn check_keys(map: &Map<String, Value>) -> Result<(), String> {
    match map
        .keys()
        .find(|k| *k != "STATUS" && Field::from_wire(k).is_none())
    {
        Some(k) => Err(format!(
            "unknown key `{k}` (wire keys such as NIK, NAMA_LGKP, TGL_LHR, or STATUS)"
        )),
        None => Ok(()),
    }
}

/// Sets one value (any key but `NIK`, which identifies the record).
fn set(r: &mut Resident, key: &str, v: &Value) -> Result<(), String> {
    if key == "STATUS" {
        r.status = v
            .as_str()
            .and_then(|s| s.trim().to_ascii_lowercase().parse().ok())
            .ok_or_else(|| {
                "`STATUS` must be active, deceased, duplicate or inactive".to_string()
            })?;
        return Ok(());
    }
    let Some(field) = Field::from_wire(key) else {
        return Err(format!("unknown key `{key}`"));
    };
    match field {
        Field::Nik => return Err("`NIK` cannot be changed; create a new resident instead".into()),
        Field::NoKk => {
            r.no_kk = digits(key, v)?
                .parse::<NoKk>()
                .map_err(|e| format!("`NO_KK`: {e}"))?
        }
        Field::NamaLgkp => r.nama_lgkp = text(key, v)?,
        Field::JenisKlmin => r.jenis_klmin = parse_sex(v)?,
        Field::TmptLhr => r.tmpt_lhr = text(key, v)?,
        Field::TglLhr => r.tgl_lhr = parse_date(v)?,
        Field::StatusKawin => r.status_kawin = text(key, v)?,
        Field::JenisPkrjn => r.jenis_pkrjn = text(key, v)?,
        Field::GolDarah => r.gol_darah = text(key, v)?,
        Field::Agama => r.agama = text(key, v)?,
        Field::PddkAkh => r.pddk_akh = text(key, v)?,
        Field::StatHbkel => r.stat_hbkel = text(key, v)?,
        Field::NamaLgkpIbu => r.nama_lgkp_ibu = text(key, v)?,
        Field::NamaLgkpAyah => r.nama_lgkp_ayah = opt_text(key, v)?,
        Field::Alamat => r.alamat = text(key, v)?,
        Field::Dusun => r.dusun = opt_text(key, v)?,
        Field::NoRt => r.no_rt = number(key, v)?,
        Field::NoRw => r.no_rw = number(key, v)?,
        Field::KodePos => {
            r.kode_pos = match v {
                Value::Null => None,
                _ => Some(number(key, v)?),
            }
        }
        Field::NoProp => r.no_prop = number(key, v)?,
        Field::PropName => r.prop_name = text(key, v)?,
        Field::NoKab => r.no_kab = number(key, v)?,
        Field::KabName => r.kab_name = text(key, v)?,
        Field::NoKec => r.no_kec = number(key, v)?,
        Field::KecName => r.kec_name = text(key, v)?,
        Field::NoKel => r.no_kel = number(key, v)?,
        Field::KelName => r.kel_name = text(key, v)?,
        Field::EktpStatus => r.ektp_status = opt_text(key, v)?,
        Field::NoAktaLhr => r.no_akta_lhr = opt_text(key, v)?,
    }
    Ok(())
}

/// Moves a generated resident's address into `district` (a real kecamatan; its first village).
fn relocate(r: &mut Resident, district: u32) {
    let refs = Reference::get();
    r.no_prop = district / 10_000;
    r.no_kab = district / 100 % 100;
    r.no_kec = district % 100;
    if let Some(p) = refs.province(district / 10_000) {
        r.prop_name = p.name.clone();
    }
    if let Some(k) = refs.regency(district / 100) {
        r.kab_name = k.name.clone();
    }
    if let Some(d) = refs.district(district) {
        r.kec_name = d.name.clone();
    }
    match refs.villages_of(district).first() {
        Some(v) => {
            r.no_kel = (v.code % 10_000) as u32;
            r.kel_name = v.name.clone();
        }
        None => {
            r.no_kel = 2001;
            r.kel_name = r.kec_name.clone();
        }
    }
}

/// A generated resident of the wanted sex (names follow sex), from a fresh generator seed.
fn template(sex: Option<Sex>) -> Resident {
    let mut last = None;
    for _ in 0..64 {
        let seed = NEXT_SEED.fetch_add(1, Ordering::Relaxed);
        let Some(r) = generate(PopulationSpec { seed, size: 1 }).next() else {
            continue;
        };
        if sex.is_none_or(|s| s == r.jenis_klmin) {
            return r;
        }
        last = Some(r);
    }
    // Sex is a coin flip per seed: 64 misses do not happen; keep the last one if they do.
    last.unwrap_or_else(|| {
        generate(PopulationSpec { seed: 1, size: 1 })
            .next()
            .expect("the generator yields the size asked for")
    })
}

/// Builds one canary resident from the given values. `taken`: NIKs created earlier in the batch.
fn build(
    state: &AppState,
    given: &Map<String, Value>,
    taken: &HashSet<Nik>,
) -> Result<Resident, AdminError> {
    check_keys(given).map_err(AdminError::BadRequest)?;
    let nik = given
        .get("NIK")
        .map(parse_nik)
        .transpose()
        .map_err(AdminError::BadRequest)?;
    let sex = match given.get("JENIS_KLMIN") {
        Some(v) => Some(parse_sex(v).map_err(AdminError::BadRequest)?),
        None => nik.map(Nik::sex),
    };
    let birth = match given.get("TGL_LHR") {
        Some(v) => Some(parse_date(v).map_err(AdminError::BadRequest)?),
        None => nik.and_then(|n| n.birth_date(REFERENCE_DATE)),
    };
    let mut r = template(sex);
    if let Some(s) = sex {
        r.jenis_klmin = s;
    }
    if let Some(b) = birth {
        r.tgl_lhr = b;
    }
    let nik = match nik {
        Some(n) => {
            if taken.contains(&n) || state.resident(n).map_err(source_err)?.is_some() {
                return Err(AdminError::Conflict(format!(
                    "NIK {n} already exists; change it with PATCH /__admin/residents/{n}"
                )));
            }
            relocate(&mut r, n.district_code());
            n
        }
        None => free_nik(state, &r, taken)?,
    };
    r.nik = nik;
    r.status = ResidentStatus::Active;
    for (k, v) in given {
        if k != "NIK" {
            set(&mut r, k, v).map_err(AdminError::BadRequest)?;
        }
    }
    Ok(r)
}

/// A valid NIK for the resident's district, birth date and sex that no one holds: serials are
/// taken from 9999 down, far from the generator's, which count up from 0001.
fn free_nik(state: &AppState, r: &Resident, taken: &HashSet<Nik>) -> Result<Nik, AdminError> {
    let district = r.nik.district_code();
    for serial in (1..=9999u16).rev() {
        let candidate = Nik::from_parts(district, r.tgl_lhr, r.jenis_klmin, serial);
        // A birth date whose two-digit year makes no valid NIK date is impossible, but check.
        if candidate.to_string().parse::<Nik>().is_err() || taken.contains(&candidate) {
            continue;
        }
        if state.resident(candidate).map_err(source_err)?.is_none() {
            return Ok(candidate);
        }
    }
    Err(AdminError::Conflict(
        "no free NIK serial left for this district and birth date; give a NIK".into(),
    ))
}

fn source_err(e: SourceError) -> AdminError {
    AdminError::Population(e.to_string())
}

fn record(r: &Resident, overlay: bool) -> ResidentRecord {
    ResidentRecord {
        fields: r.to_listing_json(),
        source: if overlay { "overlay" } else { "population" }.into(),
    }
}

/// `POST /__admin/residents`: one object or an array of objects of wire keys (and `STATUS`).
pub(crate) async fn create(
    State(state): State<AppState>,
    Extension(scope): Extension<Scope>,
    AdminQuery(q): AdminQuery<std::collections::HashMap<String, String>>,
    AdminJson(body): AdminJson<Value>,
) -> Result<(StatusCode, Json<Value>), AdminError> {
    let owner = scoped(&scope, &q, &[])?;
    if let Some(cid) = &owner {
        if state.institution(cid).is_none() {
            return Err(AdminError::UnknownInstitution(cid.clone()));
        }
    }
    let items: Vec<Map<String, Value>> = match body {
        Value::Object(m) => vec![m],
        Value::Array(a) => a
            .into_iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::Object(m) => Ok(m),
                _ => Err(AdminError::BadRequest(format!(
                    "item {i} must be an object of wire keys"
                ))),
            })
            .collect::<Result<_, _>>()?,
        _ => {
            return Err(AdminError::BadRequest(
                "the body must be an object of wire keys or an array of them".into(),
            ))
        }
    };
    if items.len() > MAX_BATCH {
        return Err(AdminError::BadRequest(format!(
            "at most {MAX_BATCH} residents per request"
        )));
    }
    // Build all first so that a bad item creates nothing.
    let mut taken = HashSet::new();
    let mut built = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let r = build(&state, item, &taken).map_err(|e| match e {
            AdminError::BadRequest(m) if items.len() > 1 => {
                AdminError::BadRequest(format!("item {i}: {m}"))
            }
            other => other,
        })?;
        taken.insert(r.nik);
        built.push(r);
    }
    let mut out = Vec::with_capacity(built.len());
    for r in built {
        out.push(record(&r, true));
        tracing::info!(nik = %dukcapil_domain::mask_nik(&r.nik.to_string()), "canary resident created");
        state.put_overlay(r, owner.as_deref()).await?;
    }
    Ok((
        StatusCode::CREATED,
        sorted(&ResidentsCreated { residents: out }),
    ))
}

fn path_nik(raw: &str) -> Result<Nik, AdminError> {
    raw.trim()
        .parse::<Nik>()
        .map_err(|e| AdminError::BadRequest(format!("`nik` in the path: {e}")))
}

/// Whether the token may see resident `nik`: the operator every one, an institution the
/// population and its own overlay residents.
fn visible(state: &AppState, scope: &Scope, nik: Nik) -> bool {
    match (scope.own(), state.resident_owner(nik)) {
        (Some(own), Some(owner)) => own == owner,
        _ => true,
    }
}

pub(crate) async fn get_one(
    State(state): State<AppState>,
    Extension(scope): Extension<Scope>,
    Path(raw): Path<String>,
) -> Result<Json<Value>, AdminError> {
    let nik = path_nik(&raw)?;
    if !visible(&state, &scope, nik) {
        return Err(AdminError::UnknownResident(nik.to_string()));
    }
    let r = state
        .resident(nik)
        .map_err(source_err)?
        .ok_or_else(|| AdminError::UnknownResident(nik.to_string()))?;
    Ok(sorted(&record(&r, state.in_overlay(nik))))
}

/// `PATCH /__admin/residents/{nik}`: any wire keys but `NIK`, and `STATUS`. A population resident
/// is copied into the overlay; the population file is never written.
pub(crate) async fn patch(
    State(state): State<AppState>,
    Extension(scope): Extension<Scope>,
    Path(raw): Path<String>,
    AdminJson(body): AdminJson<Map<String, Value>>,
) -> Result<Json<Value>, AdminError> {
    let nik = path_nik(&raw)?;
    if !visible(&state, &scope, nik) {
        return Err(AdminError::UnknownResident(nik.to_string()));
    }
    if let Some(own) = scope.own() {
        if state.resident_owner(nik).is_none() && state.resident(nik).map_err(source_err)?.is_some()
        {
            return Err(AdminError::Forbidden(format!(
                "resident {nik} is shared by every institution of the sandbox: institution `{own}`'s token changes only its own canary residents (create one with POST /__admin/residents)"
            )));
        }
    }
    check_keys(&body).map_err(AdminError::BadRequest)?;
    let mut r = state
        .resident(nik)
        .map_err(source_err)?
        .ok_or_else(|| AdminError::UnknownResident(nik.to_string()))?;
    for (k, v) in &body {
        set(&mut r, k, v).map_err(AdminError::BadRequest)?;
    }
    state.put_overlay(r.clone(), scope.own()).await?;
    tracing::info!(nik = %dukcapil_domain::mask_nik(&nik.to_string()), "resident changed");
    Ok(sorted(&record(&r, true)))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn set_names_the_bad_key() {
        let mut r = template(None);
        let e = set(&mut r, "NO_RT", &json!("x")).unwrap_err();
        assert!(e.contains("NO_RT"), "{e}");
        let e = set(&mut r, "NIK", &json!("3313014107890003")).unwrap_err();
        assert!(e.contains("NIK"), "{e}");
        let e = set(&mut r, "STATUS", &json!("gone")).unwrap_err();
        assert!(e.contains("STATUS"), "{e}");
        set(&mut r, "STATUS", &json!("deceased")).unwrap();
        assert_eq!(r.status, ResidentStatus::Deceased);
        set(&mut r, "TGL_LHR", &json!("01-07-1989")).unwrap();
        assert_eq!(r.tgl_lhr.to_string(), "1989-07-01");
    }

    #[test]
    fn relocate_takes_the_district_names() {
        let mut r = template(Some(Sex::Female));
        assert_eq!(r.jenis_klmin, Sex::Female);
        relocate(&mut r, 331301);
        assert_eq!((r.no_prop, r.no_kab, r.no_kec), (33, 13, 1));
        assert_eq!(r.kab_name, "KARANGANYAR");
    }
}
