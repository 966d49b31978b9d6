//! The EdgeX Event and the bodies that carry it (`AddEventRequest`, `EventResponse`, …).

use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Deserialize, Serialize, Serializer};

use super::common::base_response;
use super::reading::{Reading, ReadingValue};
use super::{AnyMap, api_version};
use crate::ContractVersion;
use crate::value::ValueType;

/// An event: one or more readings taken together from one device for one source
/// (device resource or device command).
///
/// Keys in upstream order: `apiVersion, id, deviceName, profileName, sourceName, origin, readings, tags`
/// (`tags` omitted when empty), then any extension keys. Decoding keeps unknown top-level keys as
/// [`Event::extensions`] (EdgeX 4.0.3+ re-emits them) and restores reading fields left out by the
/// 4.0.3+ optimized payload form (`deviceName`, `profileName`, `origin`, and `resourceName` of a
/// single reading named like the source).
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Always `"v3"`.
    pub api_version: String,
    /// Event id (UUID).
    pub id: String,
    /// Device that produced the event.
    pub device_name: String,
    /// Profile of the device.
    pub profile_name: String,
    /// Device resource or device command read.
    pub source_name: String,
    /// Nanoseconds since the Unix epoch.
    pub origin: i64,
    /// The readings (at least one for a valid event).
    pub readings: Vec<Reading>,
    /// Free-form tags; omitted when empty.
    pub tags: AnyMap,
    /// Unknown top-level keys received, re-emitted after the known ones.
    pub extensions: serde_json::Map<String, serde_json::Value>,
}

impl Default for Event {
    fn default() -> Self {
        Event {
            api_version: api_version(),
            ..Event::default_without_api_version()
        }
    }
}

impl Event {
    fn default_without_api_version() -> Self {
        Event {
            api_version: String::new(),
            id: String::new(),
            device_name: String::new(),
            profile_name: String::new(),
            source_name: String::new(),
            origin: 0,
            readings: Vec::new(),
            tags: AnyMap::new(),
            extensions: serde_json::Map::new(),
        }
    }
}

enum EventKey {
    ApiVersion,
    Id,
    DeviceName,
    ProfileName,
    SourceName,
    Origin,
    Readings,
    Tags,
    Other(String),
}

impl<'de> Deserialize<'de> for EventKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = EventKey;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an event key")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<EventKey, E> {
                Ok(match v {
                    "apiVersion" => EventKey::ApiVersion,
                    "id" => EventKey::Id,
                    "deviceName" => EventKey::DeviceName,
                    "profileName" => EventKey::ProfileName,
                    "sourceName" => EventKey::SourceName,
                    "origin" => EventKey::Origin,
                    "readings" => EventKey::Readings,
                    "tags" => EventKey::Tags,
                    other => EventKey::Other(other.to_owned()),
                })
            }
        }
        d.deserialize_identifier(V)
    }
}

impl<'de> Deserialize<'de> for Event {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Event;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an EdgeX event object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Event, A::Error> {
                // `apiVersion` is filled in last so a present key costs no default allocation.
                let mut e = Event::default_without_api_version();
                let mut api_version_in = None;
                while let Some(key) = map.next_key::<EventKey>()? {
                    match key {
                        EventKey::ApiVersion => {
                            if let Some(v) = map.next_value::<Option<String>>()? {
                                api_version_in = Some(v);
                            }
                        }
                        EventKey::Id => {
                            e.id = map.next_value::<Option<String>>()?.unwrap_or_default()
                        }
                        EventKey::DeviceName => {
                            e.device_name = map.next_value::<Option<String>>()?.unwrap_or_default()
                        }
                        EventKey::ProfileName => {
                            e.profile_name = map.next_value::<Option<String>>()?.unwrap_or_default()
                        }
                        EventKey::SourceName => {
                            e.source_name = map.next_value::<Option<String>>()?.unwrap_or_default()
                        }
                        EventKey::Origin => {
                            e.origin = map.next_value::<Option<i64>>()?.unwrap_or(0)
                        }
                        EventKey::Readings => {
                            e.readings = map
                                .next_value::<Option<Vec<Reading>>>()?
                                .unwrap_or_default()
                        }
                        EventKey::Tags => {
                            e.tags = map.next_value::<Option<AnyMap>>()?.unwrap_or_default()
                        }
                        EventKey::Other(k) => {
                            let v = map.next_value::<serde_json::Value>()?;
                            e.extensions.insert(k, v);
                        }
                    }
                }
                e.api_version = api_version_in.unwrap_or_else(api_version);
                e.restore_optimized_readings();
                Ok(e)
            }
        }
        deserializer.deserialize_map(V)
    }
}

impl Serialize for Event {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.versioned(ContractVersion::V4).serialize(serializer)
    }
}

impl Event {
    /// A new event with a fresh id and no readings.
    pub fn new(
        profile_name: impl Into<String>,
        device_name: impl Into<String>,
        source_name: impl Into<String>,
        origin: i64,
    ) -> Self {
        Event {
            id: uuid::Uuid::new_v4().to_string(),
            device_name: device_name.into(),
            profile_name: profile_name.into(),
            source_name: source_name.into(),
            origin,
            ..Default::default()
        }
    }

    /// `true` when any reading is `Binary` (such events travel as CBOR).
    pub fn has_binary_reading(&self) -> bool {
        self.readings.iter().any(|r| {
            matches!(r.value, ReadingValue::Binary { .. }) || r.value_type == ValueType::Binary
        })
    }

    /// Fills reading fields omitted by the optimized payload form from the event.
    pub fn restore_optimized_readings(&mut self) {
        let single = self.readings.len() == 1;
        for r in &mut self.readings {
            if r.device_name.is_empty() {
                r.device_name.clone_from(&self.device_name);
            }
            if r.profile_name.is_empty() {
                r.profile_name.clone_from(&self.profile_name);
            }
            if r.origin == 0 {
                r.origin = self.origin;
            }
            if single && r.resource_name.is_empty() {
                r.resource_name.clone_from(&self.source_name);
            }
        }
    }

    /// A serializable view emitting this event with readings in the wire form of `version`.
    pub fn versioned(&self, version: ContractVersion) -> VersionedEvent<'_> {
        VersionedEvent {
            event: self,
            version,
        }
    }
}

/// An [`Event`] serialized with readings in the wire form of a given [`ContractVersion`].
#[derive(Debug, Clone, Copy)]
pub struct VersionedEvent<'a> {
    event: &'a Event,
    version: ContractVersion,
}

struct VersionedReadings<'a>(&'a [Reading], ContractVersion);

impl Serialize for VersionedReadings<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
        for r in self.0 {
            seq.serialize_element(&r.versioned(self.1))?;
        }
        seq.end()
    }
}

impl Serialize for VersionedEvent<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let e = self.event;
        // Extension keys are dynamic, so the event is written as a map of known length
        // (CBOR writes the length in the map header).
        let len = 7 + usize::from(!e.tags.is_empty()) + e.extensions.len();
        let mut s = serializer.serialize_map(Some(len))?;
        s.serialize_entry("apiVersion", &e.api_version)?;
        s.serialize_entry("id", &e.id)?;
        s.serialize_entry("deviceName", &e.device_name)?;
        s.serialize_entry("profileName", &e.profile_name)?;
        s.serialize_entry("sourceName", &e.source_name)?;
        s.serialize_entry("origin", &e.origin)?;
        s.serialize_entry("readings", &VersionedReadings(&e.readings, self.version))?;
        if !e.tags.is_empty() {
            s.serialize_entry("tags", &e.tags)?;
        }
        for (k, v) in &e.extensions {
            s.serialize_entry(k, v)?;
        }
        s.end()
    }
}

/// `{"apiVersion":"v3","requestId":"<uuid>","event":{…}}`: what device services publish on the bus
/// and what core-data's REST ingestion accepts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AddEventRequest {
    /// Always `"v3"`.
    #[serde(default = "api_version")]
    pub api_version: String,
    /// Request id (UUID); always emitted.
    #[serde(default)]
    pub request_id: String,
    /// The event.
    pub event: Event,
}

impl AddEventRequest {
    /// Wraps `event` with a fresh request id.
    pub fn new(event: Event) -> Self {
        AddEventRequest {
            api_version: api_version(),
            request_id: uuid::Uuid::new_v4().to_string(),
            event,
        }
    }
}

impl Default for AddEventRequest {
    fn default() -> Self {
        AddEventRequest {
            api_version: api_version(),
            request_id: String::new(),
            event: Event::default(),
        }
    }
}

base_response!(
    /// Answer of a device-service GET command: BaseResponse plus `event`.
    EventResponse {
        /// The event read.
        #[serde(default)]
        event: Event
    }
);

impl EventResponse {
    /// A 200 answer carrying `event`.
    pub fn new(request_id: impl Into<String>, event: Event) -> Self {
        EventResponse {
            request_id: request_id.into(),
            status_code: 200,
            event,
            ..Default::default()
        }
    }
}

base_response!(
    /// core-data event query answer.
    MultiEventsResponse {
        /// Total number of matching events.
        #[serde(default)]
        total_count: i64,
        /// The page of events.
        #[serde(default)]
        events: Vec<Event>
    }
);

base_response!(
    /// core-data reading query answer.
    MultiReadingsResponse {
        /// Total number of matching readings.
        #[serde(default)]
        total_count: i64,
        /// The page of readings.
        #[serde(default)]
        readings: Vec<Reading>
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Event {
        Event {
            id: "6d2b".into(),
            device_name: "Simple-Device01".into(),
            profile_name: "Simple-Device".into(),
            source_name: "Switch".into(),
            origin: 1717000000123456789,
            readings: vec![Reading {
                id: "a91f".into(),
                origin: 1717000000123456789,
                device_name: "Simple-Device01".into(),
                resource_name: "SwitchButton".into(),
                profile_name: "Simple-Device".into(),
                value_type: ValueType::Bool,
                value: ReadingValue::Simple("true".into()),
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    #[test]
    fn event_json_matches_upstream_example_byte_for_byte() {
        let want = r#"{"apiVersion":"v3","id":"6d2b","deviceName":"Simple-Device01","profileName":"Simple-Device","sourceName":"Switch","origin":1717000000123456789,"readings":[{"id":"a91f","origin":1717000000123456789,"deviceName":"Simple-Device01","resourceName":"SwitchButton","profileName":"Simple-Device","valueType":"Bool","value":"true"}]}"#;
        assert_eq!(serde_json::to_string(&sample()).unwrap(), want);
        assert_eq!(serde_json::from_str::<Event>(want).unwrap(), sample());
        assert_eq!(
            serde_json::to_string(&sample().versioned(ContractVersion::V4)).unwrap(),
            want
        );
    }

    #[test]
    fn event_response_omits_request_id_and_message() {
        let r = EventResponse::new("", sample());
        let j = serde_json::to_string(&r).unwrap();
        assert!(j.starts_with(
            r#"{"apiVersion":"v3","statusCode":200,"event":{"apiVersion":"v3","id":"6d2b""#
        ));
        assert_eq!(serde_json::from_str::<EventResponse>(&j).unwrap(), r);
    }

    #[test]
    fn optimized_payload_readings_are_restored_from_the_event() {
        let j = r#"{"apiVersion":"v3","id":"e","deviceName":"D","profileName":"P","sourceName":"S","origin":5,
                    "readings":[{"valueType":"Int8","value":"1"}]}"#;
        let e: Event = serde_json::from_str(j).unwrap();
        let r = &e.readings[0];
        assert_eq!(
            (
                r.device_name.as_str(),
                r.profile_name.as_str(),
                r.resource_name.as_str(),
                r.origin
            ),
            ("D", "P", "S", 5)
        );
    }

    #[test]
    fn unknown_event_keys_are_kept_and_re_emitted_after_known_ones() {
        let j = r#"{"apiVersion":"v3","id":"e","deviceName":"D","profileName":"P","sourceName":"S","origin":5,"readings":[],"site":{"x":1}}"#;
        let e: Event = serde_json::from_str(j).unwrap();
        assert_eq!(e.extensions["site"], serde_json::json!({"x":1}));
        assert_eq!(serde_json::to_string(&e).unwrap(), j);
        let cbor = crate::codec::to_cbor(&e).unwrap();
        assert_eq!(crate::codec::from_cbor::<Event>(&cbor).unwrap(), e);
    }

    #[test]
    fn add_event_request_key_order() {
        let req = AddEventRequest {
            request_id: "r".into(),
            event: sample(),
            ..Default::default()
        };
        let j = serde_json::to_string(&req).unwrap();
        assert!(j.starts_with(r#"{"apiVersion":"v3","requestId":"r","event":{"#));
    }
}
