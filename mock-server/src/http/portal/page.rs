//! The Web Portal's pages: plain server-rendered HTML, Bahasa Indonesia first with an English
//! switch, no scripts and nothing loaded from elsewhere. The confirmation texts are the
//! portal's own (Juknis Purbalingga II.C.2.b), verbatim in both languages.

use dukcapil_domain::{Field, Outcome};

/// The page language: `?lang=en|id`, remembered in the `portal_lang` cookie.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lang {
    Id,
    En,
}

impl Lang {
    pub(crate) fn parse(s: &str) -> Option<Lang> {
        match s.trim() {
            "id" => Some(Lang::Id),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    pub(crate) const fn code(self) -> &'static str {
        match self {
            Lang::Id => "id",
            Lang::En => "en",
        }
    }

    /// `id` or `en` text.
    pub(crate) const fn t(self, id: &'static str, en: &'static str) -> &'static str {
        match self {
            Lang::Id => id,
            Lang::En => en,
        }
    }
}

/// Text for HTML element content and attribute values.
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The portal's label of a record field.
pub(crate) fn label(field: Field, lang: Lang) -> &'static str {
    use Field::*;
    match field {
        NoKk => lang.t("Nomor KK", "Family card number (No. KK)"),
        Nik => "NIK",
        NamaLgkp => lang.t("Nama Lengkap", "Full name"),
        JenisKlmin => lang.t("Jenis Kelamin", "Sex"),
        TmptLhr => lang.t("Tempat Lahir", "Place of birth"),
        TglLhr => lang.t("Tanggal Lahir", "Date of birth"),
        StatusKawin => lang.t("Status Perkawinan", "Marital status"),
        JenisPkrjn => lang.t("Pekerjaan", "Occupation"),
        GolDarah => lang.t("Golongan Darah", "Blood type"),
        Agama => lang.t("Agama", "Religion"),
        PddkAkh => lang.t("Pendidikan Terakhir", "Highest education"),
        NamaLgkpIbu => lang.t("Nama Lengkap Ibu", "Mother's full name"),
        NamaLgkpAyah => lang.t("Nama Lengkap Ayah", "Father's full name"),
        StatHbkel => lang.t(
            "Status Hubungan Dalam Keluarga",
            "Relationship in the family",
        ),
        EktpStatus => lang.t("Status KTP-el", "e-KTP status"),
        NoAktaLhr => lang.t("Nomor Akta Lahir", "Birth certificate number"),
        KodePos => lang.t("Kode Pos", "Postal code"),
        Dusun => lang.t("Dusun", "Hamlet (dusun)"),
        Alamat => lang.t("Alamat", "Address"),
        NoRt => "RT",
        NoRw => "RW",
        NoProp => lang.t("Kode Provinsi", "Province code"),
        PropName => lang.t("Provinsi", "Province"),
        NoKab => lang.t("Kode Kabupaten/Kota", "Regency/city code"),
        KabName => lang.t("Kabupaten/Kota", "Regency/city"),
        NoKec => lang.t("Kode Kecamatan", "District code"),
        KecName => lang.t("Kecamatan", "District"),
        NoKel => lang.t("Kode Kelurahan/Desa", "Village code"),
        KelName => lang.t("Kelurahan/Desa", "Village"),
    }
}

/// The portal's confirmation text of an outcome (the Juknis wording), verbatim.
pub(crate) fn confirmation(outcome: Outcome) -> &'static str {
    outcome.text(dukcapil_domain::Catalogue::Juknis)
}

/// An English gloss of a confirmation (shown beside the verbatim text on English pages).
pub(crate) fn gloss(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Found => "found",
        Outcome::LoginFailed => "login failed",
        Outcome::IpMismatch => "IP address not registered",
        Outcome::QuotaExhausted => "today's quota is used up",
        Outcome::OutsideServiceHours => "outside the service hours",
        Outcome::InvalidParameters => "incomplete or invalid input",
        Outcome::EmptyCredentials => "user, password and IP must not be empty",
        Outcome::Deceased => "found, deceased",
        Outcome::Duplicate => "found, duplicate record",
        Outcome::NotFound => "not found: the NIK is not in the population database",
        Outcome::Inactive => "found, record inactive: contact Disdukcapil",
        Outcome::BadNikFormat => "not found: the NIK is not in Dukcapil's format",
        Outcome::InstitutionInactive => "institution inactive",
        Outcome::UserIdInactive => "user id inactive: contact the admin",
    }
}

/// A message box: a confirmation (with its code) or a note of the portal.
#[derive(Debug, Clone)]
pub(crate) enum Message {
    Outcome(Outcome, Option<String>),
    Note(String),
}

impl Message {
    fn render(&self, lang: Lang) -> String {
        match self {
            Message::Outcome(o, hint) => {
                let gloss = match lang {
                    Lang::En => format!(
                        "<p class=\"terjemahan\" lang=\"en\">({})</p>",
                        esc(gloss(*o))
                    ),
                    Lang::Id => String::new(),
                };
                let hint = hint
                    .as_deref()
                    .map(|h| format!("<p class=\"catatan\">{}</p>", esc(h)))
                    .unwrap_or_default();
                format!(
                    "<div class=\"pesan\" id=\"pesan\" data-outcome=\"{}\"><p class=\"konfirmasi\" id=\"konfirmasi\" lang=\"id\">{}</p>{gloss}{hint}</div>",
                    o.code(),
                    esc(confirmation(*o))
                )
            }
            Message::Note(text) => format!(
                "<div class=\"pesan\" id=\"pesan\"><p class=\"catatan\">{}</p></div>",
                esc(text)
            ),
        }
    }
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:0;background:#f4f6f8;color:#1b1f23}\
header{background:#0b4f8a;color:#fff;padding:.8rem 1.5rem;display:flex;justify-content:space-between;align-items:center}\
header h1{font-size:1.2rem;margin:0}header a{color:#fff}\
main{max-width:46rem;margin:1.5rem auto;background:#fff;padding:1.5rem;border-radius:6px;box-shadow:0 1px 3px #0002}\
.uji{background:#fff3cd;padding:.4rem 1.5rem;margin:0;font-size:.9rem}\
label{display:block;margin:.6rem 0 .2rem}input{font-size:1rem;padding:.4rem;width:100%;box-sizing:border-box}\
button{margin-top:1rem;font-size:1rem;padding:.5rem 1.2rem;background:#0b4f8a;color:#fff;border:0;border-radius:4px}\
.pesan{border-left:4px solid #b45309;background:#fff7ed;padding:.6rem 1rem;margin:1rem 0}\
.konfirmasi{font-weight:bold;margin:0}.terjemahan,.catatan{margin:.3rem 0 0;font-size:.9rem}\
table{border-collapse:collapse;width:100%;margin-top:1rem}th,td{text-align:left;border-bottom:1px solid #ddd;padding:.35rem .5rem}\
th{width:40%;color:#444;font-weight:normal}.kuota{font-size:.9rem;color:#444}\
form.keluar{display:inline}form.keluar button{margin:0;background:#fff;color:#0b4f8a;padding:.2rem .6rem}";

/// A whole page around `body`; `switch_to`: the path the language switch links to.
pub(crate) fn layout(lang: Lang, title: &str, switch_to: &str, user: &str, body: &str) -> String {
    let (other, other_name) = match lang {
        Lang::Id => (Lang::En, "English"),
        Lang::En => (Lang::Id, "Bahasa Indonesia"),
    };
    format!(
        "<!DOCTYPE html>\n<html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{title} · {portal}</title><style>{STYLE}</style></head><body>\
<header><h1>{portal}</h1><nav>{user}<a id=\"bahasa\" href=\"{switch}?lang={other}\" hreflang=\"{other}\">{other_name}</a></nav></header>\
<p class=\"uji\">{test}</p><main>{body}</main></body></html>\n",
        lang = lang.code(),
        title = esc(title),
        portal = lang.t(
            "Portal Data Kependudukan (tiruan)",
            "Population Data Portal (mock)"
        ),
        switch = esc(switch_to),
        other = other.code(),
        test = lang.t(
            "Lingkungan uji: data dummy dari mock, bukan portal Dukcapil yang asli.",
            "Test environment: dummy data from the mock, not the real Dukcapil portal."
        ),
    )
}

/// The login page.
pub(crate) fn login(
    lang: Lang,
    csrf: &str,
    message: Option<&Message>,
    customer_id: &str,
) -> String {
    let message = message.map(|m| m.render(lang)).unwrap_or_default();
    let body = format!(
        "<h2>{heading}</h2>{message}\
<form method=\"post\" action=\"{action}\" id=\"masuk\">\
<input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
<label for=\"instansi\">{inst}</label><input id=\"instansi\" name=\"institution\" required autocomplete=\"organization\" value=\"{cid}\">\
<label for=\"username\">{user}</label><input id=\"username\" name=\"username\" required autocomplete=\"username\">\
<label for=\"password\">{pw}</label><input id=\"password\" name=\"password\" type=\"password\" required autocomplete=\"current-password\">\
<button type=\"submit\">{button}</button></form>",
        heading = lang.t("Masuk operator", "Operator login"),
        action = dukcapil_mock_api::PORTAL_LOGIN,
        csrf = esc(csrf),
        inst = lang.t("Kode instansi (customer id)", "Institution code (customer id)"),
        cid = esc(customer_id),
        user = lang.t("Nama pengguna", "Username"),
        pw = lang.t("Kata sandi", "Password"),
        button = lang.t("Masuk", "Log in"),
    );
    layout(
        lang,
        lang.t("Masuk", "Log in"),
        dukcapil_mock_api::PORTAL_LOGIN,
        "",
        &body,
    )
}

/// What the search page shows under its form.
#[derive(Debug)]
pub(crate) enum Shown<'a> {
    /// No search yet.
    None,
    /// A record: the granted fields with their values as text (`None`: unset).
    Record(&'a [(Field, Option<String>)]),
    /// A confirmation or parameter-check text.
    Message(Message),
}

/// Who is logged in, and today's quota.
#[derive(Debug)]
pub(crate) struct Operator<'a> {
    pub username: &'a str,
    pub customer_id: &'a str,
    pub institution: &'a str,
    pub csrf: &'a str,
    /// (used today, limit; `None` unlimited)
    pub quota: (u32, Option<u32>),
}

/// The NIK search page, with a result.
pub(crate) fn search(lang: Lang, op: &Operator<'_>, result: &Shown<'_>) -> String {
    let quota = match op.quota {
        (used, Some(limit)) => match lang {
            Lang::Id => {
                format!("Kuota hari ini: {used} dari {limit} pencarian terpakai (sebelum PoC).")
            }
            Lang::En => format!("Today's quota: {used} of {limit} searches used (before the PoC)."),
        },
        (used, None) => match lang {
            Lang::Id => format!("Kuota hari ini: tidak terbatas (PoC lulus); {used} pencarian."),
            Lang::En => format!("Today's quota: unlimited (PoC passed); {used} searches."),
        },
    };
    let result = match result {
        Shown::None => String::new(),
        Shown::Record(fields) => {
            let rows: String = fields
                .iter()
                .map(|(f, v)| {
                    format!(
                        "<tr data-field=\"{}\"><th>{}</th><td>{}</td></tr>",
                        f.wire_name(),
                        esc(label(*f, lang)),
                        esc(v.as_deref().unwrap_or("-"))
                    )
                })
                .collect();
            format!(
                "<section id=\"hasil\" data-outcome=\"01\"><h3>{}</h3><table id=\"data-penduduk\">{rows}</table></section>",
                lang.t("Data ditemukan", "Record found")
            )
        }
        Shown::Message(m) => {
            let code = match m {
                Message::Outcome(o, _) => o.code(),
                Message::Note(_) => "",
            };
            format!(
                "<section id=\"hasil\" data-outcome=\"{code}\">{}</section>",
                m.render(lang)
            )
        }
    };
    let user = format!(
        "<span id=\"operator\">{} ({}) </span><form class=\"keluar\" method=\"post\" action=\"{}\"><input type=\"hidden\" name=\"csrf\" value=\"{}\"><button type=\"submit\" id=\"keluar\">{}</button></form> ",
        esc(op.username),
        esc(op.customer_id),
        dukcapil_mock_api::PORTAL_LOGOUT,
        esc(op.csrf),
        lang.t("Keluar", "Log out"),
    );
    let body = format!(
        "<h2>{heading}</h2><p>{inst}</p><p class=\"kuota\" id=\"kuota\">{quota}</p>\
<form method=\"post\" action=\"{action}\" id=\"cari\" autocomplete=\"off\">\
<input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
<label for=\"nik\">{nik}</label><input id=\"nik\" name=\"nik\" inputmode=\"numeric\" maxlength=\"32\" autocomplete=\"off\">\
<button type=\"submit\">{button}</button></form>\
<p class=\"catatan\">{rule}</p>{result}",
        heading = lang.t("Pencarian berdasarkan NIK", "Search by NIK"),
        inst = esc(op.institution),
        action = dukcapil_mock_api::PORTAL_SEARCH,
        csrf = esc(op.csrf),
        nik = lang.t("NIK (16 digit)", "NIK (16 digits)"),
        button = lang.t("Cari", "Search"),
        rule = lang.t(
            "Masukkan NIK sesuai pelayanan, tidak berurutan atau berpola. Hasil hanya untuk verifikasi dan validasi: tidak boleh disimpan, disalin atau dibagikan.",
            "Enter NIKs as the service requires, never in sequence or in patterns. Results serve verification and validation only: they must not be stored, copied or shared."
        ),
    );
    layout(
        lang,
        lang.t("Cari NIK", "Search NIK"),
        dukcapil_mock_api::PORTAL_SEARCH,
        &user,
        &body,
    )
}

/// A page with one message (CSRF refusal, lock-out, a bad form).
pub(crate) fn notice(lang: Lang, title: &str, message: &Message, back: &str) -> String {
    let body = format!(
        "<h2>{}</h2>{}<p><a id=\"kembali\" href=\"{}\">{}</a></p>",
        esc(title),
        message.render(lang),
        esc(back),
        lang.t("Kembali", "Back")
    );
    layout(lang, title, back, "", &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            esc("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }

    #[test]
    fn confirmations_are_the_portals_own_texts() {
        for (o, text) in [
            (Outcome::Deceased, "Data Ditemukan, Meninggal Dunia"),
            (Outcome::Duplicate, "Data Ditemukan, Data Ganda"),
            (
                Outcome::NotFound,
                "Data tidak ditemukan, NIK tidak terdapat di database kependudukan",
            ),
            (
                Outcome::Inactive,
                "Data Ditemukan, Status Non Aktif silahkan hubungi Dinas Dukcapil",
            ),
            (
                Outcome::BadNikFormat,
                "Data tidak ditemukan, NIK tidak sesuai format Dukcapil",
            ),
            (Outcome::LoginFailed, "Gagal Login"),
            (Outcome::QuotaExhausted, "Kuota akses hari ini telah habis"),
            (Outcome::InstitutionInactive, "Instansi tidak aktif"),
            (
                Outcome::UserIdInactive,
                "User ID non aktif, silahkan menghubungi Admin",
            ),
        ] {
            assert_eq!(confirmation(o), text);
        }
    }

    #[test]
    fn pages_load_nothing_from_elsewhere() {
        let page = login(Lang::Id, "t", None, "");
        assert!(!page.contains("http://") && !page.contains("https://"));
        assert!(!page.contains("<script"));
        assert!(page.contains("lang=\"id\"") && page.contains("?lang=en"));
    }
}
