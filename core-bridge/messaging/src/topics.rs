//! EdgeX topic names and MQTT-style filter matching.
//!
//! All topics start with the configured `BaseTopicPrefix` (default `edgex`). Name segments
//! (service, profile, device, source, command) are escaped only when
//! `Service.EnableNameFieldEscape` is on ([`Topics::with_name_escape`]); the escaping is URL
//! path escaping that additionally encodes `+ - . _ ~`, so names can never create extra levels
//! or wildcards.

use std::borrow::Cow;

/// Default `MessageBus.BaseTopicPrefix`.
pub const DEFAULT_BASE_TOPIC_PREFIX: &str = "edgex";

/// Command method, the last level of a command request topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommandMethod {
    /// Read.
    Get,
    /// Write.
    Set,
}

impl CommandMethod {
    /// `get` or `set`.
    pub fn as_str(self) -> &'static str {
        match self {
            CommandMethod::Get => "get",
            CommandMethod::Set => "set",
        }
    }

    /// Parse case-insensitively.
    pub fn parse(s: &str) -> Option<Self> {
        if s.eq_ignore_ascii_case("get") {
            Some(CommandMethod::Get)
        } else if s.eq_ignore_ascii_case("set") {
            Some(CommandMethod::Set)
        } else {
            None
        }
    }
}

/// Topic builder bound to a base prefix and an escaping policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topics {
    prefix: String,
    escape: bool,
}

impl Default for Topics {
    fn default() -> Self {
        Self::new(DEFAULT_BASE_TOPIC_PREFIX)
    }
}

/// The device, command and method named by a command request topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandRequestTarget {
    /// Device name (unescaped).
    pub device: String,
    /// Command name (unescaped).
    pub command: String,
    /// `get` or `set`.
    pub method: CommandMethod,
}

impl Topics {
    /// Topics under `prefix` (an empty prefix means the default `edgex`; trailing `/` ignored).
    pub fn new(prefix: &str) -> Self {
        let p = prefix.trim_end_matches('/');
        Self {
            prefix: if p.is_empty() {
                DEFAULT_BASE_TOPIC_PREFIX.to_owned()
            } else {
                p.to_owned()
            },
            escape: false,
        }
    }

    /// Escape name segments (EdgeX `Service.EnableNameFieldEscape=true`).
    #[must_use]
    pub fn with_name_escape(mut self, on: bool) -> Self {
        self.escape = on;
        self
    }

    /// The base prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    fn name<'a>(&self, s: &'a str) -> Cow<'a, str> {
        if self.escape {
            Cow::Owned(escape_name(s))
        } else {
            Cow::Borrowed(s)
        }
    }

    fn build(&self, fixed: &[&str], names: &[&str]) -> String {
        let mut t = String::with_capacity(64);
        t.push_str(&self.prefix);
        for f in fixed {
            t.push('/');
            t.push_str(f);
        }
        for n in names {
            t.push('/');
            t.push_str(&self.name(n));
        }
        t
    }

    /// `<prefix>/events/device/{service}/{profile}/{device}/{source}`: events published by a
    /// device service.
    pub fn device_events(
        &self,
        service: &str,
        profile: &str,
        device: &str,
        source: &str,
    ) -> String {
        self.build(&["events", "device"], &[service, profile, device, source])
    }

    /// `<prefix>/events/core/{service}/{profile}/{device}/{source}`: events re-published by
    /// core-data after REST ingest.
    pub fn core_events(&self, service: &str, profile: &str, device: &str, source: &str) -> String {
        self.build(&["events", "core"], &[service, profile, device, source])
    }

    /// `<prefix>/events/device/#` (what core-data subscribes to).
    pub fn device_events_filter(&self) -> String {
        self.build(&["events", "device", "#"], &[])
    }

    /// `<prefix>/events/#` (what application services subscribe to).
    pub fn all_events_filter(&self) -> String {
        self.build(&["events", "#"], &[])
    }

    /// `<prefix>/device/command/request/{service}/{device}/{command}/{get|set}`.
    pub fn command_request(
        &self,
        service: &str,
        device: &str,
        command: &str,
        method: CommandMethod,
    ) -> String {
        let mut t = self.build(
            &["device", "command", "request"],
            &[service, device, command],
        );
        t.push('/');
        t.push_str(method.as_str());
        t
    }

    /// `<prefix>/device/command/request/{service}/#`: what a device service subscribes to.
    pub fn command_request_filter(&self, service: &str) -> String {
        let mut t = self.build(&["device", "command", "request"], &[service]);
        t.push_str("/#");
        t
    }

    /// `<prefix>/response/{service}`: prefix a requester waits on (request id appended).
    pub fn response_prefix(&self, service: &str) -> String {
        self.build(&["response"], &[service])
    }

    /// `<prefix>/response/{service}/{requestID}`: command and validation replies.
    pub fn response(&self, service: &str, request_id: &str) -> String {
        let mut t = self.response_prefix(service);
        t.push('/');
        t.push_str(request_id);
        t
    }

    /// `<prefix>/core/command/request/{device}/{command}/{get|set}` (internal clients → core-command).
    pub fn core_command_request(
        &self,
        device: &str,
        command: &str,
        method: CommandMethod,
    ) -> String {
        let mut t = self.build(&["core", "command", "request"], &[device, command]);
        t.push('/');
        t.push_str(method.as_str());
        t
    }

    /// `<prefix>/core/command/request/#` (what core-command subscribes to).
    pub fn core_command_request_filter(&self) -> String {
        self.build(&["core", "command", "request", "#"], &[])
    }

    /// `<prefix>/response/core-command`: reply prefix of core-command.
    pub fn core_command_response_prefix(&self) -> String {
        self.response_prefix("core-command")
    }

    /// `<prefix>/core/commandquery/request/{device|all}`.
    pub fn command_query_request(&self, device_or_all: &str) -> String {
        self.build(&["core", "commandquery", "request"], &[device_or_all])
    }

    /// `<prefix>/core/commandquery/request/#`.
    pub fn command_query_request_filter(&self) -> String {
        self.build(&["core", "commandquery", "request", "#"], &[])
    }

    /// `<prefix>/{service}/validate/device`: core-metadata asks the service to validate a device.
    pub fn device_validation(&self, service: &str) -> String {
        let mut t = self.build(&[], &[service]);
        t.push_str("/validate/device");
        t
    }

    /// `<prefix>/system-events/{source}/{type}/{action}/{owner}[/{profileName}]`.
    pub fn system_event(
        &self,
        source: &str,
        event_type: &str,
        action: &str,
        owner: &str,
        profile: Option<&str>,
    ) -> String {
        let mut names = vec![source, event_type, action, owner];
        if let Some(p) = profile {
            names.push(p);
        }
        self.build(&["system-events"], &names)
    }

    /// The system-event filters a device service subscribes to:
    /// `<prefix>/system-events/core-metadata/+/+/{service}/#` and
    /// `<prefix>/system-events/core-metadata/deviceprofile/delete/#`.
    pub fn device_service_system_event_filters(&self, service: &str) -> Vec<String> {
        let mut own = self.build(&["system-events", "core-metadata", "+", "+"], &[service]);
        own.push_str("/#");
        vec![
            own,
            self.build(
                &[
                    "system-events",
                    "core-metadata",
                    "deviceprofile",
                    "delete",
                    "#",
                ],
                &[],
            ),
        ]
    }

    /// `<prefix>/system-events/#`.
    pub fn system_events_filter(&self) -> String {
        self.build(&["system-events", "#"], &[])
    }

    /// `<prefix>/system-events/{service}/device/discovery/{service}`: discovery progress.
    pub fn discovery_progress(&self, service: &str) -> String {
        self.system_event(service, "device", "discovery", service, None)
    }

    /// `<prefix>/system-events/{service}/device/profilescan/{service}`: profile-scan progress.
    pub fn profile_scan_progress(&self, service: &str) -> String {
        self.system_event(service, "device", "profilescan", service, None)
    }

    /// `<prefix>/telemetry/{service}/{metricName}`.
    pub fn metric(&self, service: &str, metric: &str) -> String {
        self.build(&["telemetry"], &[service, metric])
    }

    /// `<prefix>/telemetry/#`.
    pub fn metrics_filter(&self) -> String {
        self.build(&["telemetry", "#"], &[])
    }

    /// Split a command request topic into device, command and method: the last three levels,
    /// each unescaped, method case-insensitive.
    pub fn parse_command_request(&self, topic: &str) -> Option<CommandRequestTarget> {
        let mut levels = topic.rsplit('/');
        let method = CommandMethod::parse(levels.next()?)?;
        let command = unescape_name(levels.next()?);
        let device = unescape_name(levels.next()?);
        if device.is_empty() || command.is_empty() {
            return None;
        }
        Some(CommandRequestTarget {
            device,
            command,
            method,
        })
    }
}

/// Escape a name segment the EdgeX way: URL path escaping plus `+ - . _ ~`. Letters, digits and
/// `$ & : = @` stay; everything else becomes `%XX` (upper-case hex, per UTF-8 byte).
pub fn escape_name(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'$' | b'&' | b':' | b'=' | b'@') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xf)]));
        }
    }
    out
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// Undo [`escape_name`] (any `%XX` sequence). Invalid sequences are kept verbatim.
pub fn unescape_name(s: &str) -> String {
    if !s.contains('%') {
        return s.to_owned();
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let (Some(h), Some(l)) = (hex_val(b[i + 1]), hex_val(b[i + 2]))
        {
            out.push(h << 4 | l);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// MQTT filter matching: `+` matches exactly one level, a trailing `#` matches the parent level
/// and any number of levels below it. Topics starting with `$` are not matched by a leading
/// wildcard.
pub fn topic_matches(filter: &str, topic: &str) -> bool {
    if topic.starts_with('$') && (filter.starts_with('+') || filter.starts_with('#')) {
        return false;
    }
    let mut f = filter.split('/');
    let mut t = topic.split('/');
    loop {
        match (f.next(), t.next()) {
            (Some("#"), _) => return true,
            (Some("+"), Some(_)) => {}
            (Some(fl), Some(tl)) if fl == tl => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

/// Whether a filter is syntactically valid MQTT (`#` only last and alone in its level, `+`
/// alone in its level, not empty).
pub fn is_valid_filter(filter: &str) -> bool {
    if filter.is_empty() {
        return false;
    }
    let levels: Vec<&str> = filter.split('/').collect();
    levels.iter().enumerate().all(|(i, l)| {
        if l.contains('#') {
            *l == "#" && i == levels.len() - 1
        } else if l.contains('+') {
            *l == "+"
        } else {
            true
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_follow_the_edgex_layout() {
        let t = Topics::default();
        assert_eq!(
            t.device_events(
                "device-simple",
                "Simple-Device",
                "Simple-Device01",
                "Switch"
            ),
            "edgex/events/device/device-simple/Simple-Device/Simple-Device01/Switch"
        );
        assert_eq!(
            t.core_events("s", "p", "d", "r"),
            "edgex/events/core/s/p/d/r"
        );
        assert_eq!(
            t.command_request(
                "device-simple",
                "Simple-Device01",
                "Switch",
                CommandMethod::Get
            ),
            "edgex/device/command/request/device-simple/Simple-Device01/Switch/get"
        );
        assert_eq!(
            t.command_request_filter("device-simple"),
            "edgex/device/command/request/device-simple/#"
        );
        assert_eq!(
            t.response("device-simple", "r1"),
            "edgex/response/device-simple/r1"
        );
        assert_eq!(
            t.core_command_request("d", "c", CommandMethod::Set),
            "edgex/core/command/request/d/c/set"
        );
        assert_eq!(
            t.core_command_response_prefix(),
            "edgex/response/core-command"
        );
        assert_eq!(
            t.command_query_request("all"),
            "edgex/core/commandquery/request/all"
        );
        assert_eq!(
            t.device_validation("device-modbus"),
            "edgex/device-modbus/validate/device"
        );
        assert_eq!(
            t.system_event(
                "core-metadata",
                "device",
                "add",
                "device-simple",
                Some("Simple-Device")
            ),
            "edgex/system-events/core-metadata/device/add/device-simple/Simple-Device"
        );
        assert_eq!(
            t.device_service_system_event_filters("device-simple"),
            vec![
                "edgex/system-events/core-metadata/+/+/device-simple/#".to_owned(),
                "edgex/system-events/core-metadata/deviceprofile/delete/#".to_owned()
            ]
        );
        assert_eq!(
            t.discovery_progress("device-onvif"),
            "edgex/system-events/device-onvif/device/discovery/device-onvif"
        );
        assert_eq!(
            t.metric("device-virtual", "EventsSent"),
            "edgex/telemetry/device-virtual/EventsSent"
        );
    }

    #[test]
    fn custom_prefix_replaces_edgex() {
        let t = Topics::new("site1/edgex/");
        assert_eq!(t.metric("a", "b"), "site1/edgex/telemetry/a/b");
        assert_eq!(Topics::new("").prefix(), "edgex");
    }

    #[test]
    fn name_escape_keeps_names_within_one_level() {
        let t = Topics::default().with_name_escape(true);
        assert_eq!(
            escape_name("a/b+c#d e.f-g_h~i"),
            "a%2Fb%2Bc%23d%20e%2Ef%2Dg%5Fh%7Ei"
        );
        let topic = t.command_request("svc", "dev/1", "read.temp", CommandMethod::Get);
        assert_eq!(
            topic,
            "edgex/device/command/request/svc/dev%2F1/read%2Etemp/get"
        );
        let target = t.parse_command_request(&topic).unwrap();
        assert_eq!(target.device, "dev/1");
        assert_eq!(target.command, "read.temp");
        assert_eq!(target.method, CommandMethod::Get);
        assert_eq!(unescape_name("caf%C3%A9%zz"), "café%zz");
    }

    #[test]
    fn command_request_method_is_case_insensitive() {
        let t = Topics::default();
        let target = t
            .parse_command_request("edgex/device/command/request/svc/D1/Switch/SET")
            .unwrap();
        assert_eq!(target.method, CommandMethod::Set);
        assert!(
            t.parse_command_request("edgex/device/command/request/svc/D1/Switch/put")
                .is_none()
        );
    }

    #[test]
    fn mqtt_wildcards_match_like_a_broker() {
        assert!(topic_matches(
            "edgex/events/#",
            "edgex/events/device/a/b/c/d"
        ));
        assert!(topic_matches("edgex/events/#", "edgex/events"));
        assert!(!topic_matches("edgex/events/#", "edgex/eventsx"));
        assert!(topic_matches("edgex/+/device/#", "edgex/events/device/x"));
        assert!(!topic_matches("edgex/+", "edgex/a/b"));
        assert!(topic_matches("edgex/+", "edgex/a"));
        assert!(topic_matches("edgex/+/b", "edgex//b"));
        assert!(topic_matches("#", "a/b"));
        assert!(!topic_matches("#", "$SYS/broker"));
        assert!(topic_matches("a/b", "a/b"));
        assert!(!topic_matches("a/b", "a/b/c"));
        assert!(!topic_matches("a/b/c", "a/b"));
        assert!(topic_matches(
            "edgex/system-events/core-metadata/+/+/device-simple/#",
            "edgex/system-events/core-metadata/device/add/device-simple/Simple-Device"
        ));
    }

    #[test]
    fn filter_validation_rejects_misplaced_wildcards() {
        assert!(is_valid_filter("a/+/#"));
        assert!(is_valid_filter("#"));
        assert!(!is_valid_filter("a/#/b"));
        assert!(!is_valid_filter("a/b#"));
        assert!(!is_valid_filter("a/x+"));
        assert!(!is_valid_filter(""));
    }
}
