//! The reference application's pages (`rsud-app`, Bahasa Indonesia) in a real headless
//! Chromium against a real mock: an operator logs in and looks a resident up through the forms,
//! and the page shows the resident, loads nothing from elsewhere and logs no error.

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};

use dukcapil_domain::ResidentStatus;

use crate::support::{self, browser};

struct App {
    child: Child,
    base: String,
    _dir: tempfile::TempDir,
}

impl Drop for App {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_app(gateway: &str) -> App {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut child = support::command("rsud-app")
        .env("RSUD_APP_LISTEN", "127.0.0.1:0")
        .env("RSUD_APP_GATEWAY_URL", gateway)
        .env("RSUD_APP_DATABASE", dir.path().join("simrs.sqlite"))
        .env("RSUD_APP_LOG_FILE", dir.path().join("simrs.log"))
        .env("RSUD_APP_AGREEMENT", "rsud-karanganyar")
        .env(
            "RSUD_APP_OPERATORS",
            "petugas.pendaftaran01:sandi-pendaftaran-01",
        )
        .env_remove("RSUD_APP_CONFIG")
        .env_remove("RSUD_APP_DEFECTS")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn rsud-app");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("rsud-app output");
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("rsud-app printed no address: {line:?}"))
        .to_string();
    App {
        child,
        base,
        _dir: dir,
    }
}

#[test]
fn operator_logs_in_and_looks_a_resident_up_in_chromium() {
    let Some(chromium) = browser::chromium("operator_logs_in_and_looks_a_resident_up_in_chromium")
    else {
        return;
    };
    let mock = support::MockServer::start(&[]);
    let nik = mock.niks(ResidentStatus::Active, 1).remove(0);
    let app = start_app(&mock.base);

    // Not logged in: the lookup page leads to the login form.
    let page = chromium.open(&format!("{}/cari", app.base));
    assert!(page.text().contains("Kata sandi"), "{}", page.text());
    page.type_into("input[name=username]", "petugas.pendaftaran01");
    page.type_into("input[name=password]", "sandi-pendaftaran-01");
    page.click_and_wait("button[type=submit]");
    let text = page.text();
    assert!(
        text.contains("Cari ke Dukcapil") && text.contains("petugas.pendaftaran01"),
        "{text}"
    );

    page.type_into("input[name=nik]", &nik);
    page.click_and_wait("form[action='/cari'] button[type=submit]");
    let (status, shown): (String, String) = page.eval(
        "[document.querySelector('section#hasil').dataset.status, \
         document.querySelector('#data-penduduk tr[data-field=NIK] td:last-child').innerText]",
    );
    assert_eq!(status, "found", "{}", page.text());
    assert_eq!(shown, nik, "the NIK is shown exactly");

    let own: Vec<String> = page
        .requests_other_than("")
        .into_iter()
        .filter(|u| !u.starts_with(&app.base))
        .collect();
    assert_eq!(
        own,
        Vec::<String>::new(),
        "requests outside the application"
    );
    assert_eq!(page.errors(), Vec::<String>::new(), "console errors");
    // The lookup reached the mock once, with the operator as User_ID.
    let rows = mock.journal("limit=10");
    assert_eq!(rows.len(), 1, "{rows:?}");
}
