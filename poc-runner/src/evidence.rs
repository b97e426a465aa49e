//! Bilingual evidence: every line that reaches the result letter exists in Bahasa Indonesia (the
//! letter's default) and in English, so one signed `poc-result.json` serves both letters.
//!
//! Build evidence with [`ev!`]: both texts are format strings over the *same* parameters
//! (masked NIKs, counts, User_IDs, paths), so a parameter cannot be forgotten in one language.

use serde::{Deserialize, Serialize};

use crate::Lang;

/// One line of evidence (or a label used inside one) in both languages.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Evidence {
    /// Bahasa Indonesia.
    pub id: String,
    /// English.
    pub en: String,
}

impl Evidence {
    /// A line in both languages.
    pub fn new(id: impl Into<String>, en: impl Into<String>) -> Self {
        Evidence {
            id: id.into(),
            en: en.into(),
        }
    }

    /// The text in `lang`.
    pub fn text(&self, lang: Lang) -> &str {
        match lang {
            Lang::Id => &self.id,
            Lang::En => &self.en,
        }
    }

    /// A text that is the same in both languages: a path, a label made only of identifiers.
    /// Not for sentences: those go through [`ev!`] with both texts.
    pub fn verbatim(s: impl Into<String>) -> Self {
        let s = s.into();
        Evidence {
            id: s.clone(),
            en: s,
        }
    }

    /// Joins texts per language (`sep` is the same in both).
    pub fn join(items: &[Evidence], sep: &str) -> Evidence {
        let pick = |lang| {
            items
                .iter()
                .map(|e| e.text(lang))
                .collect::<Vec<_>>()
                .join(sep)
        };
        Evidence::new(pick(Lang::Id), pick(Lang::En))
    }

    /// Whether the Indonesian text is there and is not just the English copied over.
    pub fn is_translated(&self) -> bool {
        !self.id.trim().is_empty() && !self.en.trim().is_empty() && self.id != self.en
    }
}

/// `ev!("teks {n}", "text {n}", args..)`: both texts formatted over the same arguments.
///
/// `ev!(lang => "teks {}", "text {}", label.text(lang))`: the arguments may depend on the
/// language being formatted (for parameters that are themselves [`Evidence`]).
macro_rules! ev {
    ($lang:ident => $id:literal, $en:literal $(, $($arg:tt)*)?) => {{
        let $lang = $crate::Lang::Id;
        let id = format!($id $(, $($arg)*)?);
        let $lang = $crate::Lang::En;
        let en = format!($en $(, $($arg)*)?);
        $crate::evidence::Evidence::new(id, en)
    }};
    ($id:literal, $en:literal $(, $($arg:tt)*)?) => {
        $crate::evidence::Evidence::new(format!($id $(, $($arg)*)?), format!($en $(, $($arg)*)?))
    };
}
pub(crate) use ev;

/// Month names for dates in letters and evidence.
const BULAN: [&str; 12] = [
    "Januari",
    "Februari",
    "Maret",
    "April",
    "Mei",
    "Juni",
    "Juli",
    "Agustus",
    "September",
    "Oktober",
    "November",
    "Desember",
];
const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// WIB (UTC+7): the quota day is the local day (digest rule 7), and times in evidence are WIB.
pub(crate) fn wib() -> chrono::FixedOffset {
    chrono::FixedOffset::east_opt(7 * 3600)
        .unwrap_or_else(|| chrono::FixedOffset::east_opt(0).expect("zero offset is valid"))
}

/// `2 Desember 2026` / `2 December 2026`, the date in WIB.
pub fn wib_date(t: chrono::DateTime<chrono::Utc>, lang: Lang) -> String {
    use chrono::Datelike;
    let d = t.with_timezone(&wib());
    let m = d.month0() as usize;
    let name = match lang {
        Lang::Id => BULAN[m],
        Lang::En => MONTHS[m],
    };
    format!("{} {name} {}", d.day(), d.year())
}

/// `2 Desember 2026 14.05 WIB` (Indonesian uses a dot between hours and minutes) /
/// `2 December 2026 14:05 WIB`.
pub(crate) fn wib_datetime(t: chrono::DateTime<chrono::Utc>, lang: Lang) -> String {
    let d = t.with_timezone(&wib());
    let clock = match lang {
        Lang::Id => d.format("%H.%M"),
        Lang::En => d.format("%H:%M"),
    };
    format!("{} {clock} WIB", wib_date(t, lang))
}

/// `1.000` / `1,000`: the thousands separator of the language.
pub(crate) fn thousands(n: u64, lang: Lang) -> String {
    let sep = match lang {
        Lang::Id => '.',
        Lang::En => ',',
    };
    let digits = n.to_string();
    let mut out = String::new();
    #[allow(clippy::manual_is_multiple_of)] // `is_multiple_of` is newer than the MSRV (1.85)
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(sep);
        }
        out.push(c);
    }
    out
}

fn patterns() -> &'static (regex::Regex, regex::Regex, regex::Regex) {
    static P: std::sync::OnceLock<(regex::Regex, regex::Regex, regex::Regex)> =
        std::sync::OnceLock::new();
    P.get_or_init(|| {
        let re = |s| regex::Regex::new(s).expect("static pattern");
        (
            // A 16-digit run not inside a longer number: a NIK (or a No KK) in the clear.
            re(r"(^|[^0-9])([0-9]{16})($|[^0-9])"),
            // RFC 3339 timestamps as chrono prints them (`to_rfc3339`), nanoseconds included.
            re(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})"),
            re(r"`([^`]*)`"),
        )
    })
}

impl Evidence {
    /// The form kept in a result: 16-digit numbers masked like every other NIK
    /// (`3313**********03`), timestamps as WIB dates of the language, and no markup
    /// characters (code spans become quotes).
    pub fn for_record(&self) -> Evidence {
        Evidence::new(clean(&self.id, Lang::Id), clean(&self.en, Lang::En))
    }
}

/// `s` with every NIK (16 digits standing alone) masked.
pub(crate) fn mask_niks(s: &str) -> String {
    let (nik, _, _) = patterns();
    // Twice: adjacent NIKs share the separator the pattern consumes.
    let mut out = s.to_string();
    for _ in 0..2 {
        out = nik
            .replace_all(&out, |c: &regex::Captures| {
                format!("{}{}{}", &c[1], dukcapil_domain::mask_nik(&c[2]), &c[3])
            })
            .into_owned();
    }
    out
}

fn clean(s: &str, lang: Lang) -> String {
    let (_, time, code) = patterns();
    let out = mask_niks(s);
    let out =
        time.replace_all(
            &out,
            |c: &regex::Captures| match chrono::DateTime::parse_from_rfc3339(&c[0]) {
                Ok(t) => wib_datetime(t.with_timezone(&chrono::Utc), lang),
                Err(_) => c[0].to_string(),
            },
        );
    let (open, close) = match lang {
        Lang::Id => ("\u{201c}", "\u{201d}"),
        Lang::En => ("\u{201c}", "\u{201d}"),
    };
    let out = code.replace_all(&out, |c: &regex::Captures| {
        format!("{open}{}{close}", &c[1])
    });
    out.replace('`', "")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_texts_share_the_parameters() {
        let n = 3;
        let e = ev!("{n} permintaan", "{n} requests");
        assert_eq!(e, Evidence::new("3 permintaan", "3 requests"));
        let place = ev!("baris {}", "row {}", 7);
        let e = ev!(lang => "ditemukan di {}", "found in {}", place.text(lang));
        assert_eq!(e.id, "ditemukan di baris 7");
        assert_eq!(e.en, "found in row 7");
        assert_eq!(e.text(Lang::En), "found in row 7");
        assert!(e.is_translated());
        assert!(!Evidence::verbatim("app.log").is_translated());
        assert!(!Evidence::new("", "x").is_translated());
        assert_eq!(
            Evidence::join(&[place, Evidence::new("a", "b")], "; "),
            Evidence::new("baris 7; a", "row 7; b")
        );
    }

    /// The first string literal at the start of `s` (after blanks), and the rest after it.
    fn literal(s: &str) -> Option<(String, &str)> {
        let s = s.trim_start();
        let body = s.strip_prefix('"')?;
        let mut out = String::new();
        let mut chars = body.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => {
                    if let Some((_, n)) = chars.next() {
                        out.push(n);
                    }
                }
                '"' => return Some((out, &body[i + 1..])),
                c => out.push(c),
            }
        }
        None
    }

    /// Static half of the translation guard: every `ev!` in the files that produce evidence
    /// gives two different, non-empty texts, so a sentence cannot be added in English only by
    /// copying it into both places (the evaluators' unit tests check the formatted output).
    #[test]
    fn every_ev_invocation_in_the_sources_has_a_distinct_indonesian_text() {
        // Every source file of the crate but this one (the macro's definition and its docs).
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut sources = Vec::new();
        let mut dirs = vec![src.clone()];
        while let Some(dir) = dirs.pop() {
            for e in std::fs::read_dir(&dir).expect("read src").flatten() {
                let p = e.path();
                if p.is_dir() {
                    dirs.push(p);
                } else if p.extension().is_some_and(|x| x == "rs") && !p.ends_with("evidence.rs") {
                    let name = p
                        .strip_prefix(&src)
                        .expect("under src")
                        .display()
                        .to_string();
                    sources.push((name, std::fs::read_to_string(&p).expect("read source")));
                }
            }
        }
        let mut seen = 0;
        for (name, text) in &sources {
            for (at, _) in text.match_indices("ev!(") {
                let mut rest = &text[at + 4..];
                let per_lang = rest.trim_start().starts_with("lang =>");
                if per_lang {
                    rest = rest.trim_start().trim_start_matches("lang =>");
                }
                let Some((id, rest)) = literal(rest) else {
                    continue; // the macro's own definition and its doc lines
                };
                let rest = rest.trim_start().trim_start_matches(',');
                let (en, _) =
                    literal(rest).unwrap_or_else(|| panic!("{name}: ev!({id:?}) has one text"));
                seen += 1;
                assert!(
                    !id.trim().is_empty() && !en.trim().is_empty(),
                    "{name}: {en:?}"
                );
                // Per-language arguments may carry the whole difference (`"{}: {}"`).
                assert!(per_lang || id != en, "{name}: not translated: {en:?}");
            }
        }
        assert!(
            seen > 50,
            "only {seen} ev! found: has the macro been renamed?"
        );
    }

    #[test]
    fn record_form_masks_niks_formats_times_in_wib_and_drops_backticks() {
        let e = Evidence::new(
            "2026-12-02T07:05:03.123456789+00:00 3313014107890003,3313014107890004: User_ID `kasir` (3313**********05)",
            "2026-12-02T07:05:03.123456789Z 3313014107890003: User_ID `kasir`, 12345678901234567 stays",
        )
        .for_record();
        assert_eq!(
            e.id,
            "2 Desember 2026 14.05 WIB 3313**********03,3313**********04: User_ID \u{201c}kasir\u{201d} (3313**********05)"
        );
        assert_eq!(
            e.en,
            "2 December 2026 14:05 WIB 3313**********03: User_ID \u{201c}kasir\u{201d}, 12345678901234567 stays"
        );
        assert_eq!(thousands(1000, Lang::Id), "1.000");
        assert_eq!(thousands(1234567, Lang::En), "1,234,567");
        assert_eq!(thousands(200, Lang::Id), "200");
    }

    #[test]
    fn json_form_is_an_object_with_both_languages() {
        let e = Evidence::new("kuota habis", "quota used up");
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"id": "kuota habis", "en": "quota used up"})
        );
        assert!(serde_json::from_value::<Evidence>(serde_json::json!("plain")).is_err());
    }
}
