//! `mock-server fixtures`: the institutions (credentials, granted elements, balikan fields) and
//! the fixture residents that give each resident outcome, for the same settings as `serve`.
//! Deterministic for a dataset (seed and size) and settings.

use std::collections::HashSet;
use std::path::PathBuf;

use anyhow::Context;
use dukcapil_domain::{Nik, Resident, ResidentStatus};
use serde_json::{json, Value};

use super::output::OutputFormat;
use crate::config::{ServeArgs, Settings};
use crate::core::institutions::Institution;
use crate::db::{PopulationReader, PopulationSpec};

/// The options of `fixtures`: the dataset and the settings file that shapes the institutions
/// (the serve-only options do not apply).
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct FixturesArgs {
    /// Directory holding the population and the state database (default ./mock-data).
    #[arg(long, env = "MOCK_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// TOML settings file of `serve` (its dataset keys and [institutions.*] overrides apply).
    #[arg(long, env = "MOCK_CONFIG")]
    config: Option<PathBuf>,
    /// Population generator seed (default 1).
    #[arg(long, env = "MOCK_SEED")]
    seed: Option<u64>,
    /// Population size (default 10,000).
    #[arg(long, env = "MOCK_POPULATION")]
    population: Option<u64>,
    /// Directory of agreement TOML files, added to the embedded profiles.
    #[arg(long, env = "MOCK_AGREEMENTS")]
    agreements: Option<PathBuf>,
    /// With --agreements: the directory's agreements are the only ones.
    #[arg(long, env = "MOCK_AGREEMENTS_REPLACE", num_args = 0..=1, default_missing_value = "true",
          value_parser = clap::builder::BoolishValueParser::new())]
    agreements_replace: Option<bool>,
}

impl FixturesArgs {
    /// As `serve`'s options, the others unset.
    pub(crate) fn serve_args(&self) -> ServeArgs {
        ServeArgs {
            data_dir: self.data_dir.clone(),
            config: self.config.clone(),
            seed: self.seed,
            population: self.population,
            agreements: self.agreements.clone(),
            agreements_replace: self.agreements_replace,
            ..ServeArgs::default()
        }
    }
}

/// NIKs per resident list.
const PER_LIST: usize = 5;

fn niks(rs: &[Resident]) -> Vec<String> {
    rs.iter().map(|r| r.nik.to_string()).collect()
}

/// Valid-format NIKs that the dataset does not hold, built on the districts and birth dates of
/// `found` residents with serials counted down from 9999.
fn not_found(reader: &PopulationReader, found: &[Resident]) -> anyhow::Result<Vec<String>> {
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    'outer: for r in found {
        for serial in (9000..=9999u16).rev() {
            let nik = Nik::from_parts(r.nik.district_code(), r.tgl_lhr, r.jenis_klmin, serial);
            if nik.to_string().parse::<Nik>().is_ok()
                && seen.insert(nik)
                && reader.get(nik)?.is_none()
            {
                out.push(nik.to_string());
                continue 'outer;
            }
        }
    }
    Ok(out)
}

/// One NIK per format rule the gateway checks (answer 15), built on a real resident's NIK.
fn bad_format(base: Option<&Resident>) -> Vec<String> {
    let nik = base.map_or_else(|| "3313014107890003".to_string(), |r| r.nik.to_string());
    let head = &nik[..6];
    let date = &nik[6..12];
    vec![
        // Length: one digit short.
        nik[..15].to_string(),
        // Letters.
        format!("{}{}00AB", head, date),
        // Unknown district: 99 is no province.
        format!("990101{}{}", date, &nik[12..]),
        // Bad date: day 32, month 13.
        format!("{head}321389{}", &nik[12..]),
        // Serial 0000.
        format!("{head}{date}0000"),
    ]
}

fn institution_json(inst: &Institution) -> Value {
    let a = &inst.agreement;
    json!({
        "customer_id": a.customer_id,
        "name": a.institution,
        "agreement": a.id,
        "user_id": a.credentials.user_id,
        "password": a.credentials.password,
        "ip_user": inst.ip_user,
        "operator_field": a.operator_field,
        "balikan_token": a.credentials.balikan_token,
        "quota_per_day": inst.quota_per_day,
        "elements": a.granted.wire_names(),
        "balikan_fields": a.balikan,
    })
}

/// The fixtures document (the `--format json` output).
pub(crate) fn collect(settings: &Settings) -> anyhow::Result<Value> {
    let agreements = crate::http::server::agreements(settings)?;
    let institutions: Vec<Value> = agreements
        .iter()
        .map(|a| {
            let mut v = institution_json(&Institution::from_agreement(a, settings));
            // A sandbox's operator hands each agency its own admin token with its credentials.
            if let Some(t) = settings
                .institutions
                .get(&a.customer_id)
                .and_then(|o| o.admin_token.as_ref())
            {
                v["admin_token"] = json!(t);
            }
            v
        })
        .collect();
    let spec = PopulationSpec {
        seed: settings.seed,
        size: settings.population,
    };
    let info = crate::db::ensure_population(&settings.data_dir, spec, true)
        .context("prepare the population")?;
    let reader = PopulationReader::open(&info.path)?;
    let by = |s| reader.sample_by_status(s, PER_LIST);
    let found = by(ResidentStatus::Active)?;
    let residents = json!({
        "found": niks(&found),
        "deceased": niks(&by(ResidentStatus::Deceased)?),
        "duplicate": niks(&by(ResidentStatus::Duplicate)?),
        "inactive": niks(&by(ResidentStatus::Inactive)?),
        "not_found": not_found(&reader, &found)?,
        "bad_format": bad_format(found.first()),
        "beyond_2_53": niks(&reader.beyond_double(PER_LIST)?),
        "edge_names": niks(&reader.edge_names(PER_LIST)?),
    });
    Ok(json!({ "institutions": institutions, "residents": residents }))
}

const LISTS: &[(&str, &str)] = &[
    ("found", "01 found"),
    ("deceased", "11 deceased"),
    ("duplicate", "12 duplicate"),
    ("inactive", "14 inactive"),
    ("not_found", "13 not in the database"),
    ("bad_format", "15 not in Dukcapil format"),
    ("beyond_2_53", "01 found, NIK beyond 2^53"),
    ("edge_names", "01 found, hard names"),
];

fn table(doc: &Value) -> String {
    let mut out = String::from("INSTITUTIONS\n");
    let s = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        other => other.to_string(),
    };
    for i in doc["institutions"].as_array().into_iter().flatten() {
        out.push_str(&format!(
            "  {}  {}\n    agreement {}  user_id {}  password {}  ip_user {}\n    operator field {}  quota/day {}  balikan token {}\n    elements {}\n",
            s(&i["customer_id"]),
            s(&i["name"]),
            s(&i["agreement"]),
            s(&i["user_id"]),
            s(&i["password"]),
            s(&i["ip_user"]),
            s(&i["operator_field"]),
            s(&i["quota_per_day"]),
            s(&i["balikan_token"]),
            i["elements"]
                .as_array()
                .map(|a| a.iter().map(s).collect::<Vec<_>>().join(" "))
                .unwrap_or_default(),
        ));
        let fields: Vec<String> = i["balikan_fields"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|f| {
                let req = if f["required"].as_bool() == Some(true) {
                    "*"
                } else {
                    ""
                };
                format!("{}{}", s(&f["key"]), req)
            })
            .collect();
        out.push_str(&format!("    balikan fields {}\n", fields.join(" ")));
    }
    out.push_str("\nRESIDENTS (NIK -> outcome of CALL_NIK)\n");
    for (key, what) in LISTS {
        let list = doc["residents"][key]
            .as_array()
            .map(|a| a.iter().map(s).collect::<Vec<_>>().join(" "))
            .unwrap_or_default();
        out.push_str(&format!("  {key:<12} {what}\n    {list}\n"));
    }
    out
}

/// Runs `mock-server fixtures`.
pub(crate) fn run(args: &ServeArgs, format: OutputFormat) -> anyhow::Result<()> {
    let settings = super::resolve(args)?;
    super::data_dir::ensure(&settings.data_dir)?;
    let doc = collect(&settings)?;
    let text = match format {
        OutputFormat::Json => serde_json::to_string_pretty(&doc)? + "\n",
        OutputFormat::Table => table(&doc),
    };
    use std::io::Write;
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        // A closed pipe (`| head`) is the reader's choice, not a failure.
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_bad_format_breaks_its_rule() {
        use dukcapil_domain::IdNumberError as E;
        let bad = bad_format(None);
        let errs: Vec<E> = bad.iter().map(|n| n.parse::<Nik>().unwrap_err()).collect();
        assert!(matches!(errs[0], E::Length { .. }));
        assert!(matches!(errs[1], E::NonDigit { .. }));
        assert!(matches!(errs[2], E::UnknownDistrict { .. }));
        assert!(matches!(errs[3], E::InvalidDate { .. }));
        assert!(matches!(errs[4], E::ZeroSerial));
    }
}
