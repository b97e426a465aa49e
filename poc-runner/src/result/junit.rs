//! The JUnit XML file of a result, written with quick-xml, in the strict form CI servers
//! (Jenkins, GitLab) validate: `poc-runner/schemas/junit.xsd` (no `skipped` on `<testsuites>`,
//! `time` on every suite and case). `tests` below check every file against it.

use quick_xml::events::{BytesDecl, BytesText, Event};
use quick_xml::Writer;

use super::PocResult;
use crate::checks::CheckOutcome;
use crate::Lang;

/// One testcase per check; `needs_review` and `not_exercised` are reported as failures of that
/// type so CI stops, like the verdict does. Titles and evidence are in the session's language,
/// like the letter. The suites' `time` is the session's duration; a check is judged after the
/// session from what it recorded, so a testcase's own `time` is 0.
pub(crate) fn render(r: &PocResult) -> String {
    // Writing into a Vec cannot fail.
    write(r).unwrap_or_default()
}

fn write(r: &PocResult) -> std::io::Result<String> {
    let lang = r.session.lang;
    let s = &r.summary;
    let tests = r.checks.len().to_string();
    let failures = (s.fail + s.needs_review + s.not_exercised).to_string();
    let skipped = s.skipped.to_string();
    let millis = (r.session.finished_at - r.session.started_at)
        .num_milliseconds()
        .max(0);
    let time = format!("{}.{:03}", millis / 1000, millis % 1000);
    let timestamp = r.session.started_at.format("%Y-%m-%dT%H:%M:%S").to_string();
    let suite = clean(&r.scenario.id);

    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    w.create_element("testsuites")
        .with_attributes([
            ("name", "poc-runner"),
            ("tests", tests.as_str()),
            ("failures", failures.as_str()),
            ("errors", "0"),
            ("time", time.as_str()),
        ])
        .write_inner_content(|w| {
            w.create_element("testsuite")
                .with_attributes([
                    ("name", suite.as_str()),
                    ("tests", tests.as_str()),
                    ("failures", failures.as_str()),
                    ("errors", "0"),
                    ("skipped", skipped.as_str()),
                    ("time", time.as_str()),
                    ("timestamp", timestamp.as_str()),
                ])
                .write_inner_content(|w| {
                    for c in &r.checks {
                        let classname = clean(&c.test_id);
                        let name = clean(&format!("{} [{}]", c.check, c.requirement));
                        let case = w.create_element("testcase").with_attributes([
                            ("classname", classname.as_str()),
                            ("name", name.as_str()),
                            ("time", "0"),
                        ]);
                        match c.outcome {
                            CheckOutcome::Pass => {
                                case.write_empty()?;
                            }
                            CheckOutcome::Skipped => {
                                let message =
                                    clean(c.evidence.first().map_or("", |e| e.text(lang)));
                                case.write_inner_content(|w| {
                                    w.create_element("skipped")
                                        .with_attribute(("message", message.as_str()))
                                        .write_empty()?;
                                    Ok(())
                                })?;
                            }
                            CheckOutcome::Fail
                            | CheckOutcome::NeedsReview
                            | CheckOutcome::NotExercised => {
                                let kind = match c.outcome {
                                    CheckOutcome::Fail => "fail",
                                    CheckOutcome::NeedsReview => "needs_review",
                                    _ => "not_exercised",
                                };
                                let title = clean(match lang {
                                    Lang::Id => &c.title_id,
                                    Lang::En => &c.title_en,
                                });
                                let lines: Vec<&str> =
                                    c.evidence.iter().map(|e| e.text(lang)).collect();
                                let evidence = clean(&lines.join("\n"));
                                case.write_inner_content(|w| {
                                    w.create_element("failure")
                                        .with_attributes([
                                            ("type", kind),
                                            ("message", title.as_str()),
                                        ])
                                        .write_text_content(BytesText::new(&evidence))?;
                                    Ok(())
                                })?;
                            }
                        }
                    }
                    Ok(())
                })?;
            Ok(())
        })?;
    let mut out = String::from_utf8(w.into_inner()).map_err(std::io::Error::other)?;
    out.push('\n');
    Ok(out)
}

/// Characters XML 1.0 cannot carry at all become U+FFFD (quick-xml escapes the rest).
fn clean(s: &str) -> String {
    s.chars()
        .map(|c| {
            if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') {
                '\u{fffd}'
            } else {
                c
            }
        })
        .collect()
}

/// The JUnit files against `poc-runner/schemas/junit.xsd`, by a validator
/// of the part of XML Schema that file uses (global elements, their children by `ref`, mixed
/// content, attributes with `use="required"`, the types `xs:string`, `xs:nonNegativeInteger`,
/// `xs:decimal`, `xs:dateTime` and restrictions of them). No XSD validator crate is practical
/// here and CI has no `xmllint`, so the schema is read and applied by this test.
#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use quick_xml::events::{BytesStart, Event};
    use quick_xml::Reader;

    use crate::example;
    use crate::Lang;

    const XSD: &str = include_str!("../../schemas/junit.xsd");

    #[derive(Debug, Default)]
    struct Decl {
        /// name → (type, required)
        attrs: BTreeMap<String, (String, bool)>,
        children: Vec<String>,
        text: bool,
    }

    #[derive(Debug, Default)]
    struct Schema {
        elements: BTreeMap<String, Decl>,
        /// simple type name → base type
        simple: BTreeMap<String, String>,
    }

    fn attrs(e: &BytesStart<'_>) -> BTreeMap<String, String> {
        e.attributes()
            .map(|a| {
                let a = a.expect("well-formed attribute");
                (
                    a.key.as_ref().to_string(),
                    quick_xml::escape::unescape(&a.value)
                        .expect("attribute value")
                        .into_owned(),
                )
            })
            .collect()
    }

    fn schema() -> Schema {
        let mut reader = Reader::from_str(XSD);
        let mut s = Schema::default();
        let mut depth = 0usize;
        let mut current: Option<String> = None;
        let mut simple: Option<String> = None;
        loop {
            let (e, empty) = match reader.read_event().expect("well-formed XSD") {
                Event::Eof => break,
                Event::Start(e) => (e, false),
                Event::Empty(e) => (e, true),
                Event::End(_) => {
                    depth -= 1;
                    if depth == 1 {
                        current = None;
                        simple = None;
                    }
                    continue;
                }
                _ => continue,
            };
            let tag = e.name().as_ref().to_string();
            let a = attrs(&e);
            match (tag.as_str(), depth) {
                ("xs:element", 1) => {
                    let name = a["name"].clone();
                    let decl = s.elements.entry(name.clone()).or_default();
                    decl.text = a.get("type").is_some_and(|t| t == "xs:string");
                    current = Some(name);
                }
                ("xs:simpleType", 1) => simple = Some(a["name"].clone()),
                ("xs:restriction", _) if simple.is_some() => {
                    s.simple.insert(simple.clone().unwrap(), a["base"].clone());
                }
                (_, d) if d > 1 && current.is_some() => {
                    let decl = s.elements.get_mut(current.as_ref().unwrap()).unwrap();
                    match tag.as_str() {
                        "xs:complexType" => decl.text = a.get("mixed").is_some_and(|m| m == "true"),
                        "xs:element" => decl.children.push(a["ref"].clone()),
                        "xs:attribute" => {
                            let required = a.get("use").is_some_and(|u| u == "required");
                            decl.attrs
                                .insert(a["name"].clone(), (a["type"].clone(), required));
                        }
                        _ => {}
                    }
                }
                _ => {}
            }
            if !empty {
                depth += 1;
            }
        }
        s
    }

    fn valid_value(schema: &Schema, ty: &str, v: &str) -> bool {
        let ty = schema.simple.get(ty).map_or(ty, String::as_str);
        match ty {
            "xs:string" => true,
            "xs:nonNegativeInteger" => v.parse::<u64>().is_ok(),
            "xs:decimal" => {
                !v.is_empty()
                    && v.chars().all(|c| c.is_ascii_digit() || c == '.')
                    && v.matches('.').count() <= 1
                    && v.parse::<f64>().is_ok()
            }
            "xs:dateTime" => {
                chrono::NaiveDateTime::parse_from_str(v, "%Y-%m-%dT%H:%M:%S%.f").is_ok()
                    || chrono::DateTime::parse_from_rfc3339(v).is_ok()
            }
            other => panic!("junit.xsd uses a type this test does not know: {other}"),
        }
    }

    /// Every violation of the schema in `doc`.
    fn validate(schema: &Schema, doc: &str) -> Vec<String> {
        let mut problems = Vec::new();
        let mut reader = Reader::from_str(doc);
        let mut stack: Vec<String> = Vec::new();
        loop {
            let event = match reader.read_event() {
                Ok(e) => e,
                Err(e) => {
                    problems.push(format!("not well-formed: {e}"));
                    break;
                }
            };
            let (e, empty) = match event {
                Event::Eof => break,
                Event::Start(e) => (e, false),
                Event::Empty(e) => (e, true),
                Event::End(_) => {
                    stack.pop();
                    continue;
                }
                Event::Text(t) => {
                    let blank = t.as_ref().chars().all(|c| c.is_ascii_whitespace());
                    let parent = stack.last().and_then(|p| schema.elements.get(p));
                    if !blank && !parent.is_some_and(|d| d.text) {
                        problems.push(format!("text inside <{}>", stack.join("/")));
                    }
                    continue;
                }
                Event::GeneralRef(_) | Event::CData(_) => {
                    if !stack
                        .last()
                        .and_then(|p| schema.elements.get(p))
                        .is_some_and(|d| d.text)
                    {
                        problems.push(format!("text inside <{}>", stack.join("/")));
                    }
                    continue;
                }
                _ => continue,
            };
            let name = e.name().as_ref().to_string();
            let Some(decl) = schema.elements.get(&name) else {
                problems.push(format!("undeclared element <{name}>"));
                continue;
            };
            match stack.last() {
                Some(parent) if !schema.elements[parent].children.contains(&name) => {
                    problems.push(format!("<{name}> is not allowed in <{parent}>"));
                }
                None if name != "testsuites" && name != "testsuite" => {
                    problems.push(format!("root <{name}>"));
                }
                _ => {}
            }
            let given = attrs(&e);
            for (k, v) in &given {
                match decl.attrs.get(k) {
                    None => problems.push(format!("<{name}> has no attribute `{k}`")),
                    Some((ty, _)) if !valid_value(schema, ty, v) => {
                        problems.push(format!("<{name} {k}=\"{v}\">: not a valid {ty}"));
                    }
                    _ => {}
                }
            }
            for (k, (_, required)) in &decl.attrs {
                if *required && !given.contains_key(k) {
                    problems.push(format!("<{name}> lacks the required `{k}`"));
                }
            }
            if !empty {
                stack.push(name);
            }
        }
        problems
    }

    #[test]
    fn every_junit_file_is_valid_against_the_strict_schema() {
        let schema = schema();
        assert!(schema.elements.len() >= 8, "{schema:?}");
        for passing in [true, false] {
            for lang in [Lang::Id, Lang::En] {
                let record = example::session(passing);
                let docs = super::super::build_documents(
                    &record,
                    &example::fixed_key(),
                    lang,
                    "0.0.0-test",
                    None,
                )
                .unwrap();
                let problems = validate(&schema, &docs.junit);
                assert!(problems.is_empty(), "{problems:#?}\n{}", docs.junit);
                assert!(docs.junit.contains("<testsuite "), "{}", docs.junit);
            }
        }
    }

    /// The validator does reject what the strict schema rejects (the runner's old form).
    #[test]
    fn the_validator_rejects_the_old_form() {
        let old = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"poc-runner\" tests=\"1\" failures=\"0\" skipped=\"1\">\n  <testsuite name=\"s\" tests=\"1\" failures=\"0\" errors=\"0\" skipped=\"1\" timestamp=\"2026-01-05T08:00:00\">\n    <testcase classname=\"T\" name=\"c\"><skipped message=\"m\"/></testcase>\n  </testsuite>\n</testsuites>\n";
        let problems = validate(&schema(), old);
        for expected in [
            "<testsuites> has no attribute `skipped`",
            "<testsuites> lacks the required `time`",
            "<testsuite> lacks the required `time`",
            "<testcase> lacks the required `time`",
        ] {
            assert!(
                problems.iter().any(|p| p == expected),
                "{expected}: {problems:#?}"
            );
        }
        assert!(!validate(
            &schema(),
            "<testsuites time=\"1\"><testcase name=\"x\" time=\"0\"/></testsuites>"
        )
        .is_empty());
    }
}
