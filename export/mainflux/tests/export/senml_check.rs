//! SenML validator used by the tests: RFC 8428 resolution plus the Mainflux SenML
//! normalisation rules (mainflux/senml `Validate`/`Normalize`), stricter where the
//! exporter promises more:
//!
//! * the pack is a non-empty array of maps with known labels of the right types;
//! * `bver` is the same on every record carrying it;
//! * `bn`, `bt`, `bu` carry forward until overridden; name = `bn + n`, time = `bt + t`,
//!   unit = `u` or the current `bu`; `bv` adds to `v` on its own record only (Mainflux);
//! * the name is non-empty, does not start with `- : . / _`, and uses only `[A-Za-z0-9]`
//!   and `- : . / _`;
//! * exactly one of `v`, `vs`, `vb`, `vd` (the exporter never sends sums);
//! * `vd` is base64url without padding;
//! * the resolved time is absolute (≥ 2^28 s), because the exporter always sends `bt`.
#![allow(dead_code)]

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// A resolved SenML value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Num(f64),
    Str(String),
    Bool(bool),
    Data(Vec<u8>),
}

/// A record after base-field resolution.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Resolved {
    pub(crate) name: String,
    pub(crate) unit: Option<String>,
    pub(crate) time: f64,
    pub(crate) value: Value,
}

#[derive(Debug, Clone)]
enum Field {
    Num(f64),
    Text(String),
    Bool(bool),
}

const LABELS: [(&str, i64); 16] = [
    ("bver", -1),
    ("bn", -2),
    ("bt", -3),
    ("bu", -4),
    ("bv", -5),
    ("bs", -6),
    ("n", 0),
    ("u", 1),
    ("v", 2),
    ("vs", 3),
    ("vb", 4),
    ("s", 5),
    ("t", 6),
    ("ut", 7),
    ("vd", 8),
    ("l", 9),
];

/// Validates a `application/senml+json` pack.
pub(crate) fn check_json(bytes: &[u8]) -> Result<Vec<Resolved>, String> {
    let v: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| format!("not JSON: {e}"))?;
    let arr = v.as_array().ok_or("a SenML pack must be a JSON array")?;
    let mut recs = Vec::new();
    for (i, r) in arr.iter().enumerate() {
        let obj = r
            .as_object()
            .ok_or(format!("record {i} is not an object"))?;
        let mut fields = Vec::new();
        for (k, v) in obj {
            if !LABELS.iter().any(|(l, _)| l == k) {
                return Err(format!("record {i}: unknown label {k:?}"));
            }
            let f = match v {
                serde_json::Value::Number(n) => Field::Num(n.as_f64().ok_or("bad number")?),
                serde_json::Value::String(s) => Field::Text(s.clone()),
                serde_json::Value::Bool(b) => Field::Bool(*b),
                other => return Err(format!("record {i}: {k} has unsupported JSON type {other}")),
            };
            fields.push((k.clone(), f));
        }
        recs.push(fields);
    }
    resolve(recs)
}

/// Validates a `application/senml+cbor` pack.
pub(crate) fn check_cbor(bytes: &[u8]) -> Result<Vec<Resolved>, String> {
    use ciborium::Value as C;
    let v: C = ciborium::from_reader(bytes).map_err(|e| format!("not CBOR: {e}"))?;
    let C::Array(arr) = v else {
        return Err("a SenML pack must be a CBOR array".into());
    };
    let mut recs = Vec::new();
    for (i, r) in arr.into_iter().enumerate() {
        let C::Map(m) = r else {
            return Err(format!("record {i} is not a map"));
        };
        let mut fields = Vec::new();
        for (k, v) in m {
            let label = match k {
                C::Integer(n) => i64::try_from(i128::from(n)).map_err(|_| "label out of range")?,
                other => return Err(format!("record {i}: non-integer label {other:?}")),
            };
            let name = LABELS
                .iter()
                .find(|(_, l)| *l == label)
                .map(|(n, _)| n.to_string())
                .ok_or(format!("record {i}: unknown label {label}"))?;
            let f = match v {
                C::Float(f) => Field::Num(f),
                C::Integer(n) => Field::Num(i128::from(n) as f64),
                C::Text(s) => Field::Text(s),
                C::Bool(b) => Field::Bool(b),
                other => {
                    return Err(format!(
                        "record {i}: {name} has unsupported CBOR type {other:?}"
                    ));
                }
            };
            fields.push((name, f));
        }
        recs.push(fields);
    }
    resolve(recs)
}

fn resolve(recs: Vec<Vec<(String, Field)>>) -> Result<Vec<Resolved>, String> {
    if recs.is_empty() {
        return Err("empty pack".into());
    }
    let (mut bn, mut bt, mut bu) = (String::new(), 0.0f64, None::<String>);
    let mut bver: Option<f64> = None;
    let mut out = Vec::new();
    for (i, fields) in recs.into_iter().enumerate() {
        let get = |k: &str| fields.iter().find(|(n, _)| n == k).map(|(_, f)| f.clone());
        let num = |k: &str| -> Result<Option<f64>, String> {
            match get(k) {
                None => Ok(None),
                Some(Field::Num(n)) => Ok(Some(n)),
                Some(_) => Err(format!("record {i}: {k} must be a number")),
            }
        };
        let text = |k: &str| -> Result<Option<String>, String> {
            match get(k) {
                None => Ok(None),
                Some(Field::Text(s)) => Ok(Some(s)),
                Some(_) => Err(format!("record {i}: {k} must be a string")),
            }
        };
        if let Some(v) = num("bver")? {
            if bver.is_some_and(|b| b != v) {
                return Err(format!("record {i}: bver changes within the pack"));
            }
            bver = Some(v);
        }
        if let Some(n) = text("bn")? {
            bn = n;
        }
        if let Some(t) = num("bt")? {
            bt = t;
        }
        if let Some(u) = text("bu")? {
            bu = Some(u);
        }
        let name = format!("{bn}{}", text("n")?.unwrap_or_default());
        let first = name
            .chars()
            .next()
            .ok_or(format!("record {i}: empty name"))?;
        if matches!(first, '-' | ':' | '.' | '/' | '_') {
            return Err(format!("record {i}: name {name:?} starts with {first:?}"));
        }
        if let Some(c) = name
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | ':' | '.' | '/' | '_')))
        {
            return Err(format!("record {i}: name {name:?} contains {c:?}"));
        }
        let mut values = Vec::new();
        if let Some(v) = num("v")? {
            values.push(Value::Num(v + num("bv")?.unwrap_or(0.0)));
        }
        if let Some(s) = text("vs")? {
            values.push(Value::Str(s));
        }
        match get("vb") {
            None => {}
            Some(Field::Bool(b)) => values.push(Value::Bool(b)),
            Some(_) => return Err(format!("record {i}: vb must be a boolean")),
        }
        if let Some(d) = text("vd")? {
            let data = URL_SAFE_NO_PAD
                .decode(&d)
                .map_err(|e| format!("record {i}: vd is not base64url: {e}"))?;
            values.push(Value::Data(data));
        }
        if values.len() != 1 {
            return Err(format!(
                "record {i}: {} value fields, exactly one required",
                values.len()
            ));
        }
        let time = bt + num("t")?.unwrap_or(0.0);
        if time < 268_435_456.0 {
            return Err(format!("record {i}: time {time} is not absolute"));
        }
        let unit = text("u")?.or_else(|| bu.clone());
        out.push(Resolved {
            name,
            unit,
            time,
            value: values.remove(0),
        });
    }
    Ok(out)
}
