use super::*;
use crate::example;

fn docs(passing: bool, lang: Lang) -> Documents {
    let catalogue = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/requirements.toml");
    let requirements = Requirements::load(&catalogue).unwrap();
    build_documents(
        &example::session(passing),
        &example::fixed_key(),
        lang,
        "0.0.0-test",
        Some(&requirements),
    )
    .unwrap()
}

#[test]
fn json_snapshot() {
    let d = docs(false, Lang::Id);
    let value: serde_json::Value = serde_json::from_slice(&d.json).unwrap();
    insta::assert_json_snapshot!("poc_result_json", value, {
        ".session.id" => "[session-id]",
        ".session.started_at" => "[time]",
        ".session.finished_at" => "[time]",
        ".runner.version" => "[version]",
        ".files[].sha256" => "[sha256]",
    });
}

#[test]
fn html_snapshots_in_both_languages() {
    for (lang, name) in [
        (Lang::Id, "poc_result_html_id"),
        (Lang::En, "poc_result_html_en"),
    ] {
        let html = docs(false, lang).html.replace("0.0.0-test", "[version]");
        insta::assert_snapshot!(name, html);
    }
}

#[test]
fn html_escapes_evidence_and_letter_has_parts() {
    let d = docs(false, Lang::Id);
    assert!(
        d.html.contains("&lt;petugas.igd02&gt; &amp; export"),
        "evidence must be escaped"
    );
    assert!(!d.html.contains("<petugas.igd02>"));
    assert!(d.html.contains("@page {\n    size: A4;"));
    assert!(d.html.contains("Kesimpulan: TIDAK LULUS"));
    assert!(d.html.contains(&d.result.signer.fingerprint));
    assert!(
        d.html.contains("assessor@disdukcapil.karanganyarkab.go.id"),
        "the letter names the principal"
    );
    let bound = |n: &str| {
        d.result
            .files
            .iter()
            .find(|f| f.name == n)
            .unwrap()
            .sha256
            .clone()
    };
    assert_eq!(bound(HTML_FILE), sha256_hex(d.html.as_bytes()));
    assert_eq!(bound(JUNIT_FILE), sha256_hex(d.junit.as_bytes()));
    let en = docs(true, Lang::En);
    assert!(en.html.contains("Verdict: LULUS"));
}

#[test]
fn json_keeps_both_languages_and_each_rendering_shows_its_own() {
    let id = docs(false, Lang::Id);
    let en = docs(false, Lang::En);
    let value: serde_json::Value = serde_json::from_slice(&id.json).unwrap();
    assert_eq!(value["format"], FORMAT);
    let first = &value["checks"][0]["evidence"][0];
    let (in_id, in_en) = (first["id"].as_str().unwrap(), first["en"].as_str().unwrap());
    assert_ne!(in_id, in_en);
    // The same record in both runs; only the rendering language differs.
    assert_eq!(id.result.checks, en.result.checks);
    assert!(id.html.contains(in_id) && !id.html.contains(in_en));
    assert!(en.html.contains(in_en) && !en.html.contains(in_id));
    assert!(id.junit.contains("layar tidak memuat teks dari gateway"));
    assert!(id.junit.contains("message=\"Penanganan respons\""));
    assert!(en
        .junit
        .contains("screen does not carry the gateway&apos;s text"));
    assert!(en.junit.contains("message=\"Outcome handling\""));
}

#[test]
fn verify_reports_an_unsupported_format_and_still_checks_its_signature() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("r");
    let key = example::fixed_key();
    let mut d = docs(true, Lang::Id);
    // A document of the first format: evidence as plain English strings.
    let mut value: serde_json::Value = serde_json::from_slice(&d.json).unwrap();
    value["format"] = "dukcapil-poc-result/1".into();
    for c in value["checks"].as_array_mut().unwrap() {
        let en: Vec<serde_json::Value> = c["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["en"].clone())
            .collect();
        c["evidence"] = en.into();
    }
    d.json = serde_json::to_vec_pretty(&value).unwrap();
    d.signature = key
        .sign(NAMESPACE, HashAlg::Sha512, &d.json)
        .unwrap()
        .to_pem(LineEnding::LF)
        .unwrap();
    write_documents(&d, &out).unwrap();
    let items = verify_dir(&out, None).unwrap().items;
    assert!(
        items.iter().any(|i| i.what == "signature" && i.ok),
        "{items:?}"
    );
    let doc = items.iter().find(|i| i.what == "document").unwrap();
    assert!(!doc.ok);
    assert!(
        doc.detail
            .contains("`dukcapil-poc-result/1` is not supported"),
        "{}",
        doc.detail
    );
}

#[test]
fn junit_counts_and_escapes() {
    let d = docs(false, Lang::Id);
    assert!(
        d.junit
            .contains("tests=\"6\" failures=\"2\" errors=\"0\" skipped=\"1\""),
        "{}",
        d.junit
    );
    assert!(d.junit.contains("<failure type=\"needs_review\""));
    assert!(d.junit.contains("&lt;petugas.igd02&gt; &amp; export"));
}

#[test]
fn signature_verifies_and_detects_tampering() {
    let d = docs(true, Lang::Id);
    let sig = SshSig::from_pem(&d.signature).unwrap();
    let key = example::fixed_key();
    key.public_key().verify(NAMESPACE, &d.json, &sig).unwrap();
    let mut bad = d.json.clone();
    bad[10] ^= 1;
    assert!(key.public_key().verify(NAMESPACE, &bad, &sig).is_err());
    assert!(key.public_key().verify("other", &d.json, &sig).is_err());
}

#[test]
fn written_directory_verifies_and_refuses_to_overwrite() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("hasil");
    let d = docs(true, Lang::Id);
    write_documents(&d, &out).unwrap();
    let anchor = trust::TrustAnchor::key(example::fixed_key().public_key().clone(), "test");
    let items = verify_dir(&out, Some(&anchor)).unwrap().items;
    assert!(items.iter().all(|i| i.ok), "{items:?}");
    // signature, trust, two files, journal, verdict
    assert_eq!(items.len(), 6, "{items:?}");
    // No temporary directory is left beside the result.
    let names: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("hasil")]);
    assert!(matches!(
        write_documents(&d, &out),
        Err(ResultError::OutExists(_))
    ));
}

#[test]
fn verify_names_each_failure() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("r");
    let key = example::fixed_key();
    // A journal row changed and re-signed: only the chain can tell.
    let mut d = docs(true, Lang::Id);
    d.result.journal.rows[1].operator = Some("petugas.pendaftaran01".into());
    d.json = serde_json::to_vec_pretty(&d.result).unwrap();
    d.signature = key
        .sign(NAMESPACE, HashAlg::Sha512, &d.json)
        .unwrap()
        .to_pem(LineEnding::LF)
        .unwrap();
    write_documents(&d, &out).unwrap();
    let anchor = trust::TrustAnchor::key(key.public_key().clone(), "test");
    let items = verify_dir(&out, Some(&anchor)).unwrap().items;
    let failed: Vec<_> = items
        .iter()
        .filter(|i| !i.ok)
        .map(|i| (i.what, i.detail.as_str()))
        .collect();
    assert_eq!(
        failed,
        vec![("journal", "hash chain broken at journal row 1")]
    );
    // Another trusted key: the document's signer is not admitted.
    let other = PrivateKey::from(ssh_key::private::Ed25519Keypair::from_seed(&[9u8; 32]));
    let anchor = trust::TrustAnchor::key(other.public_key().clone(), "test");
    let v = verify_dir(&out, Some(&anchor)).unwrap();
    assert!(v.items.iter().any(|i| i.what == "trust" && !i.ok));
    assert!(matches!(v.trust, Trust::Rejected(_)));
}

#[test]
fn css_string_cannot_leave_the_string_or_the_style_element() {
    assert_eq!(css_string("Sesi poc-1"), "\"Sesi poc-1\"");
    let hostile = "a\"; } body { display: none } </style><script>x</script>\\\n";
    let css = css_string(hostile);
    let inner = &css[1..css.len() - 1];
    for bad in ['"', '<', '>', '\\', '\n'] {
        // Only escapes start with a backslash, and none of the others survive.
        if bad == '\\' {
            assert!(
                inner
                    .split('\\')
                    .skip(1)
                    .all(|e| e.starts_with(|c: char| c.is_ascii_hexdigit())),
                "{css}"
            );
        } else {
            assert!(!inner.contains(bad), "{bad:?} in {css}");
        }
    }
    let d = docs(false, Lang::Id);
    assert!(
        d.html.contains("@bottom-left { content: \"Surat Hasil Proof of Concept \u{b7} Sesi poc-20260105-0800-0001\";"),
        "footer names the session"
    );
}

/// The example session with the Karanganyar office profile: the letter is a surat dinas.
pub(crate) fn surat(lang: Lang) -> Documents {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/offices/karanganyar.toml");
    let profile = office::OfficeProfile::load(&dir).unwrap();
    let mut s = example::session(false);
    s.office = Some(
        profile
            .for_session(&s.agreement.id, s.started_at, &dir)
            .unwrap(),
    );
    let catalogue = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/requirements.toml");
    let requirements = Requirements::load(&catalogue).unwrap();
    build_documents(&s, &example::fixed_key(), lang, "0", Some(&requirements)).unwrap()
}

#[test]
fn letter_with_an_office_profile_has_the_parts_of_a_surat_dinas() {
    let d = surat(Lang::Id);
    // Tera escapes `/` in values; a browser shows it as is.
    let h = &d.html.replace("&#x2F;", "/");
    for part in [
        "Pemerintah Kabupaten Karanganyar",
        "Dinas Kependudukan dan Pencatatan Sipil",
        "Jl. Lawu No. 385",
        "Nomor</td><td>: 470/",
        "Sifat</td><td>: Biasa",
        "Lampiran</td><td>: 1 (satu) berkas",
        "Hasil Proof of Concept (PoC) Aplikasi SIMRS Contoh RSUD",
        "Yth.<br><strong>Direktur RSUD Kabupaten Karanganyar</strong>",
        "Perjanjian Kerja Sama Nomor 470/045/PKS/2020 tanggal 16 Maret 2020",
        "Karanganyar, 5 Januari 2026",
        "NIP. 19700101 199503 1 001",
        "Drs. Contoh Pejabat, M.Si.",
        "ditandatangani secara elektronik",
        "kode rilis",
        "1.000",
    ] {
        assert!(h.contains(part), "missing {part:?}");
    }
    assert!(
        !h.contains("dengan bersih") && !h.contains(", build "),
        "calques"
    );
    let en = surat(Lang::En).html.replace("&#x2F;", "/");
    for part in [
        "Karanganyar Regency Government",
        "Subject</td><td>: <strong>Proof of Concept (PoC) result",
        "Director of RSUD Karanganyar Regency",
        "of 16 March 2020",
        "Karanganyar, 5 January 2026",
        "1,000",
    ] {
        assert!(en.contains(part), "missing {part:?}");
    }
    // The office is part of the signed record.
    let v: serde_json::Value = serde_json::from_slice(&d.json).unwrap();
    assert_eq!(v["office"]["pks"]["pks_number"], "470/045/PKS/2020");
}
