//! The EdgeX 1.x (Edinburgh to Hanoi) event document and the mapping from a 2.x+ event, for
//! bridges with `Format: edgex-1x`.
//!
//! A 1.x core-data published each event it had stored as `{id, pushed, device, created,
//! modified, origin, readings[], tags}` with readings `{id, pushed, created, origin, modified,
//! device, name, value, valueType, floatEncoding, binaryValue, mediaType}`. Every key is left
//! out when empty or zero, as the 1.x encoder did. `created`/`modified` are the milliseconds at
//! which the bridge re-emits the event (what a 1.x core-data stamped when storing it);
//! `origin` keeps the nanoseconds of the source event.
//!
//! Mapping of 2.x+ readings: `resourceName` becomes `name`, `deviceName` becomes `device`,
//! `Float32`/`Float64` carry `floatEncoding: eNotation` (the 2.x+ value text is already in
//! e-notation), a `Binary` reading keeps its base64 `binaryValue` and `mediaType`, and an
//! `Object`/`ObjectArray` reading (unknown to 1.x) becomes a `String` reading holding the JSON
//! text of `objectValue`. Event `tags` become 1.x string tags (non-string values as JSON text).
//! Nothing here depends on `edgex-contracts`: the input is the JSON form of the document.

use std::collections::BTreeMap;

use edgex_messaging::MessageEnvelope;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Value of `floatEncoding` for e-notation float text.
pub const FLOAT_ENCODING_ENOTATION: &str = "eNotation";

fn is_zero(v: &i64) -> bool {
    *v == 0
}

/// An EdgeX 1.x event.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct V1Event {
    /// Event id.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id: String,
    /// Export time (ms); 0 (left out) when not exported.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub pushed: i64,
    /// Device name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub device: String,
    /// Creation time (ms).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub created: i64,
    /// Modification time (ms).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub modified: i64,
    /// Time of the original reading (ns).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub origin: i64,
    /// Readings; left out when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub readings: Vec<V1Reading>,
    /// Tags (Hanoi); left out when empty.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

/// An EdgeX 1.x reading.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct V1Reading {
    /// Reading id.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id: String,
    /// Export time (ms).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub pushed: i64,
    /// Creation time (ms).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub created: i64,
    /// Time of the reading (ns).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub origin: i64,
    /// Modification time (ms).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub modified: i64,
    /// Device name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub device: String,
    /// Value descriptor (device resource) name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Value text.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub value: String,
    /// Value type (`Float32`, `Int16`, `Binary`, ...).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub value_type: String,
    /// `eNotation` or `Base64` for float values.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub float_encoding: String,
    /// Base64 of a binary value.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub binary_value: String,
    /// Media type of a binary value.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub media_type: String,
}

/// Why a message could not be re-emitted as a 1.x event.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum V1Error {
    /// The payload could not be decoded (bad JSON/CBOR, unsupported content type).
    #[error("payload: {0}")]
    Payload(String),
    /// The payload is a document but not an event (`AddEventRequest` or bare event).
    #[error("not an event: {0}")]
    NotAnEvent(String),
}

fn text(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

fn int(v: Option<&Value>) -> i64 {
    match v {
        Some(Value::Number(n)) => n
            .as_i64()
            .or_else(|| n.as_u64().map(|u| i64::try_from(u).unwrap_or(i64::MAX)))
            // Float timestamps (CBOR encoders sometimes emit them) are truncated.
            .or_else(|| n.as_f64().map(|f| f as i64))
            .unwrap_or(0),
        Some(Value::String(s)) => s.trim().parse().unwrap_or(0),
        _ => 0,
    }
}

/// The event object of a 2.x+ document: the `event` of an `AddEventRequest`, or the document
/// itself when it is a bare event.
fn event_object(doc: &Value) -> Result<&serde_json::Map<String, Value>, V1Error> {
    let obj = doc
        .as_object()
        .ok_or_else(|| V1Error::NotAnEvent("payload is not a JSON object".into()))?;
    if let Some(ev) = obj.get("event") {
        return ev
            .as_object()
            .ok_or_else(|| V1Error::NotAnEvent("`event` is not an object".into()));
    }
    if obj.contains_key("deviceName") && obj.contains_key("readings") {
        return Ok(obj);
    }
    Err(V1Error::NotAnEvent(
        "neither an AddEventRequest nor an event (no `event`, `deviceName` or `readings`)".into(),
    ))
}

/// Map one 2.x+ reading.
fn reading(r: &Value, device: &str, now_ms: i64) -> V1Reading {
    let get = |k: &str| r.get(k);
    let mut value_type = text(get("valueType"));
    let mut value = text(get("value"));
    let mut float_encoding = String::new();
    let mut binary_value = String::new();
    let mut media_type = String::new();
    match value_type.as_str() {
        "Float32" | "Float64" => float_encoding = FLOAT_ENCODING_ENOTATION.into(),
        "Binary" => {
            binary_value = text(get("binaryValue"));
            media_type = text(get("mediaType"));
        }
        "Object" | "ObjectArray" => {
            value = get("objectValue").map(Value::to_string).unwrap_or_default();
            value_type = "String".into();
        }
        _ => {}
    }
    let reading_device = text(get("deviceName"));
    V1Reading {
        id: text(get("id")),
        pushed: 0,
        created: now_ms,
        origin: int(get("origin")),
        modified: now_ms,
        device: if reading_device.is_empty() {
            device.to_owned()
        } else {
            reading_device
        },
        name: text(get("resourceName")),
        value,
        value_type,
        float_encoding,
        binary_value,
        media_type,
    }
}

/// Map a 2.x+ event document (an `AddEventRequest` or a bare event, in JSON form) to a 1.x
/// event stamped `created = modified = now_ms`.
pub fn event_from_document(doc: &Value, now_ms: i64) -> Result<V1Event, V1Error> {
    let ev = event_object(doc)?;
    let device = text(ev.get("deviceName"));
    let readings = match ev.get("readings") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a.iter().map(|r| reading(r, &device, now_ms)).collect(),
        Some(_) => return Err(V1Error::NotAnEvent("`readings` is not an array".into())),
    };
    let tags = match ev.get("tags") {
        Some(Value::Object(m)) => m.iter().map(|(k, v)| (k.clone(), text(Some(v)))).collect(),
        _ => BTreeMap::new(),
    };
    Ok(V1Event {
        id: text(ev.get("id")),
        pushed: 0,
        device,
        created: now_ms,
        modified: now_ms,
        origin: int(ev.get("origin")),
        readings,
        tags,
    })
}

/// Re-emit an event envelope as a 1.x one: the payload becomes the 1.x event JSON
/// (`application/json`); the correlation id is kept. JSON and CBOR payloads are accepted.
pub fn envelope_to_v1(env: &MessageEnvelope, now_ms: i64) -> Result<MessageEnvelope, V1Error> {
    if env.is_error() {
        return Err(V1Error::NotAnEvent("error envelope".into()));
    }
    let doc = crate::bus::envelope_payload(env).map_err(V1Error::Payload)?;
    let event = event_from_document(&doc, now_ms)?;
    let bytes = serde_json::to_vec(&event).map_err(|e| V1Error::Payload(e.to_string()))?;
    Ok(
        MessageEnvelope::new(bytes, edgex_messaging::envelope::CONTENT_TYPE_JSON)
            .with_correlation_id(env.correlation_id.clone()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn add_event() -> Value {
        json!({"apiVersion":"v3","requestId":"r1","event":{
        "apiVersion":"v3","id":"e1","deviceName":"Boiler","profileName":"P","sourceName":"All",
        "origin":1_700_000_000_000_000_000_i64,"tags":{"site":"north","floor":3},
        "readings":[
            {"id":"r-t","origin":1_700_000_000_000_000_001_i64,"deviceName":"Boiler",
             "resourceName":"Temp","profileName":"P","valueType":"Float32","value":"2.55e+01"},
            {"id":"r-b","origin":5,"deviceName":"Boiler","resourceName":"Image",
             "profileName":"P","valueType":"Binary","binaryValue":"AQID","mediaType":"image/png"},
            {"id":"r-o","origin":6,"deviceName":"Boiler","resourceName":"Cfg",
             "profileName":"P","valueType":"Object","objectValue":{"a":1}},
            {"id":"r-i","origin":7,"resourceName":"Count","valueType":"Int16","value":"-3"}
        ]}})
    }

    #[test]
    fn add_event_request_maps_to_the_1x_event_with_go_key_names() {
        let v1 = event_from_document(&add_event(), 1_700_000_000_123).unwrap();
        let j = serde_json::to_value(&v1).unwrap();
        assert_eq!(
            j,
            json!({"id":"e1","device":"Boiler","created":1_700_000_000_123_i64,
            "modified":1_700_000_000_123_i64,"origin":1_700_000_000_000_000_000_i64,
            "tags":{"site":"north","floor":"3"},
            "readings":[
                {"id":"r-t","created":1_700_000_000_123_i64,"origin":1_700_000_000_000_000_001_i64,
                 "modified":1_700_000_000_123_i64,"device":"Boiler","name":"Temp",
                 "value":"2.55e+01","valueType":"Float32","floatEncoding":"eNotation"},
                {"id":"r-b","created":1_700_000_000_123_i64,"origin":5,
                 "modified":1_700_000_000_123_i64,"device":"Boiler","name":"Image",
                 "valueType":"Binary","binaryValue":"AQID","mediaType":"image/png"},
                {"id":"r-o","created":1_700_000_000_123_i64,"origin":6,
                 "modified":1_700_000_000_123_i64,"device":"Boiler","name":"Cfg",
                 "value":"{\"a\":1}","valueType":"String"},
                {"id":"r-i","created":1_700_000_000_123_i64,"origin":7,
                 "modified":1_700_000_000_123_i64,"device":"Boiler","name":"Count",
                 "value":"-3","valueType":"Int16"}
            ]})
        );
    }

    #[test]
    fn empty_and_zero_fields_are_left_out_like_the_1x_encoder() {
        let v1 = event_from_document(&json!({"deviceName":"d","readings":[]}), 0).unwrap();
        assert_eq!(serde_json::to_value(&v1).unwrap(), json!({"device":"d"}));
    }

    #[test]
    fn documents_that_are_not_events_are_refused() {
        for doc in [
            json!({"apiVersion":"v3","statusCode":200}),
            json!([1, 2]),
            json!({"event": "x"}),
            json!({"deviceName":"d","readings":{}}),
        ] {
            assert!(
                matches!(event_from_document(&doc, 0), Err(V1Error::NotAnEvent(_))),
                "{doc}"
            );
        }
    }

    #[test]
    fn cbor_event_envelope_is_reemitted_as_1x_json_keeping_the_correlation_id() {
        let mut raw = Vec::new();
        ciborium::into_writer(&add_event(), &mut raw).unwrap();
        let env = MessageEnvelope::new(raw, "application/cbor").with_correlation_id("c-1");
        let out = envelope_to_v1(&env, 42).unwrap();
        assert_eq!(out.correlation_id, "c-1");
        assert_eq!(out.content_type, "application/json");
        let back: V1Event = out.decode_payload().unwrap();
        assert_eq!(back.device, "Boiler");
        assert_eq!(back.readings.len(), 4);
        assert_eq!(back.readings[1].binary_value, "AQID");
        let err = MessageEnvelope::error("r", "boom");
        assert!(envelope_to_v1(&err, 0).is_err());
        let bad = MessageEnvelope::new(&b"{nope"[..], "application/json");
        assert!(matches!(envelope_to_v1(&bad, 0), Err(V1Error::Payload(_))));
    }
}
