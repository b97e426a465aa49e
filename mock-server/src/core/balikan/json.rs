//! Reading the JSON intake body:
//! `[{"id_lembaga","nama_lembaga","data":[{"NIK","param":[{KEY:VALUE,...}]}]}]`.
//! Structure problems are reported per block and row like value problems.

use serde_json::{Map, Value};

use super::validate::{RawRow, RawValue, RowError, Sink};

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "angka",
        Value::String(_) => "teks",
        Value::Array(_) => "array",
        Value::Object(_) => "objek",
    }
}

/// A value as sent: text and whole numbers are values; `null` and `""` are absent.
fn raw_value(v: &Value) -> RawValue {
    match v {
        Value::Null => RawValue::Absent,
        Value::String(s) if s.trim().is_empty() => RawValue::Absent,
        Value::String(s) => RawValue::Text(s.clone()),
        // Digits sent as a JSON number (NO_JKN, NIK): their exact text.
        Value::Number(n) if n.is_u64() || n.is_i64() => RawValue::Text(n.to_string()),
        other => RawValue::Bad(format!(
            "harus berupa teks, bukan {}",
            if other.is_number() {
                "angka pecahan"
            } else {
                kind(other)
            }
        )),
    }
}

/// Looks a key up exactly, else ignoring case (clients send `nik` as well as `NIK`).
fn get<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    obj.get(key).or_else(|| {
        obj.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

/// The rows of a parsed body, and the problems of its structure, into `sink` as they are read
/// (a row's problems before the row). `customer_id` is the token's institution: every block's
/// `id_lembaga` must name it.
pub(crate) fn rows<S: Sink + ?Sized>(
    body: &Value,
    customer_id: &str,
    sink: &mut S,
) -> Result<(), String> {
    let blocks = match body {
        Value::Array(a) => a.as_slice(),
        // A lone block is read as a list of one: the mistake is common and unambiguous.
        Value::Object(_) => std::slice::from_ref(body),
        other => {
            return Err(format!(
                "Body harus berupa array JSON [{{\"id_lembaga\", \"nama_lembaga\", \"data\"}}], bukan {}",
                kind(other)
            ))
        }
    };
    if blocks.is_empty() {
        return Err("Body kosong: tidak ada data yang dikirim".into());
    }
    let mut row_no = 0usize;
    for (bi, block) in blocks.iter().enumerate() {
        let block_err = |key: &str, problem: String| RowError {
            row: None,
            block: Some(bi + 1),
            nik: None,
            key: key.into(),
            problem,
        };
        let Value::Object(obj) = block else {
            sink.error(block_err(
                "",
                format!("harus berupa objek, bukan {}", kind(block)),
            ));
            continue;
        };
        match get(obj, "id_lembaga") {
            Some(Value::String(id)) if id.trim() == customer_id => {}
            Some(Value::String(id)) => sink.error(block_err(
                "id_lembaga",
                format!(
                    "`{}` bukan lembaga pemilik token ({customer_id})",
                    id.trim()
                ),
            )),
            Some(other) => sink.error(block_err(
                "id_lembaga",
                format!("harus berupa teks, bukan {}", kind(other)),
            )),
            None => sink.error(block_err("id_lembaga", "wajib diisi".into())),
        }
        if let Some(v) = get(obj, "nama_lembaga") {
            if !v.is_string() && !v.is_null() {
                sink.error(block_err(
                    "nama_lembaga",
                    format!("harus berupa teks, bukan {}", kind(v)),
                ));
            }
        }
        let data = match get(obj, "data") {
            Some(Value::Array(d)) if !d.is_empty() => d,
            Some(Value::Array(_)) => {
                sink.error(block_err("data", "tidak boleh kosong".into()));
                continue;
            }
            Some(other) => {
                sink.error(block_err(
                    "data",
                    format!("harus berupa array, bukan {}", kind(other)),
                ));
                continue;
            }
            None => {
                sink.error(block_err("data", "wajib diisi".into()));
                continue;
            }
        };
        for item in data {
            row_no += 1;
            let Value::Object(item) = item else {
                sink.error(RowError::at(
                    row_no,
                    None,
                    "",
                    format!(
                        "harus berupa objek {{\"NIK\", \"param\"}}, bukan {}",
                        kind(item)
                    ),
                ));
                continue;
            };
            let nik = get(item, "NIK").map_or(RawValue::Absent, raw_value);
            let nik_text = match &nik {
                RawValue::Text(t) => Some(t.trim().to_string()),
                _ => None,
            };
            let mut cells = Vec::new();
            // `param` is a list of objects; a lone object is read as a list of one.
            let params: &[Value] = match get(item, "param") {
                Some(Value::Array(p)) => p,
                Some(p @ Value::Object(_)) => std::slice::from_ref(p),
                Some(other) => {
                    sink.error(RowError::at(
                        row_no,
                        nik_text.as_deref(),
                        "param",
                        format!("harus berupa array objek, bukan {}", kind(other)),
                    ));
                    continue;
                }
                None => &[],
            };
            for p in params {
                match p {
                    Value::Object(m) => {
                        cells.extend(m.iter().map(|(k, v)| (k.clone(), raw_value(v))));
                    }
                    other => sink.error(RowError::at(
                        row_no,
                        nik_text.as_deref(),
                        "param",
                        format!("isi param harus berupa objek, bukan {}", kind(other)),
                    )),
                }
            }
            for k in item.keys() {
                let known = ["NIK", "param"].iter().any(|n| k.eq_ignore_ascii_case(n));
                if !known {
                    sink.error(RowError::at(
                        row_no,
                        nik_text.as_deref(),
                        k,
                        "kunci tidak dikenal di luar param (hanya NIK dan param)",
                    ));
                }
            }
            sink.row(RawRow {
                row: row_no,
                nik,
                cells,
            });
        }
    }
    Ok(())
}
