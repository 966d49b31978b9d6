//! MQTT topic templates for the Mainflux side.
//!
//! A template is a `/`-separated topic with placeholders `{channel}`, `{device}`,
//! `{profile}` and `{source}`, e.g. the default `channels/{channel}/messages/{device}/{source}`
//! (Mainflux ≤ 0.13 / 2023) or `m/<domain id>/c/{channel}/{device}` (Magistrala, domain
//! written literally).
//!
//! Rules, following the Mainflux MQTT adapter's topic parsing:
//!
//! * the template must not contain the MQTT wildcards `+` or `#`, nor empty segments
//!   (leading, trailing or doubled `/`), nor `?` (the adapter ignores everything after it);
//! * each substituted value becomes exactly one segment: every character outside
//!   `[A-Za-z0-9_-]` is replaced by `_` (a `/`, `.` or space would otherwise split or break
//!   the internal NATS subject, and `+`/`%` are URL-unescaped by the adapter); an empty value
//!   becomes `_`.
//!
//! Sanitising can map two EdgeX names onto one segment (`a.b` and `a_b`); the exact names are
//! still inside the SenML payload.

use std::fmt;

/// A template that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid Mainflux topic template {template:?}: {reason}")]
pub struct TopicError {
    /// The template as configured.
    pub template: String,
    /// What is wrong with it.
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Var {
    Channel,
    Device,
    Profile,
    Source,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Var(Var),
}

/// Values substituted into a [`TopicTemplate`].
#[derive(Debug, Clone, Copy)]
pub struct TopicVars<'a> {
    /// Mainflux channel id.
    pub channel: &'a str,
    /// EdgeX device name.
    pub device: &'a str,
    /// EdgeX profile name.
    pub profile: &'a str,
    /// EdgeX source (resource or command) name.
    pub source: &'a str,
}

/// A parsed topic template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicTemplate {
    text: String,
    parts: Vec<Part>,
}

/// The default template for Mainflux.
pub const DEFAULT_TEMPLATE: &str = "channels/{channel}/messages/{device}/{source}";

/// Replaces every character outside `[A-Za-z0-9_-]` by `_`; empty becomes `_`.
pub fn sanitize_segment(value: &str) -> String {
    if value.is_empty() {
        return "_".to_owned();
    }
    value
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

impl TopicTemplate {
    /// Parses and checks a template.
    pub fn parse(template: &str) -> Result<Self, TopicError> {
        let err = |reason: String| TopicError {
            template: template.to_owned(),
            reason,
        };
        if template.is_empty() {
            return Err(err("the template is empty".into()));
        }
        for (i, seg) in template.split('/').enumerate() {
            if seg.is_empty() {
                return Err(err(format!(
                    "segment {} is empty (leading, trailing or double '/')",
                    i + 1
                )));
            }
        }
        if let Some(c) = template
            .chars()
            .find(|c| matches!(c, '+' | '#' | '?' | '\0'))
        {
            return Err(err(format!(
                "{c:?} is not allowed in a topic to publish on"
            )));
        }
        let mut parts = Vec::new();
        let mut rest = template;
        while !rest.is_empty() {
            match rest.find(['{', '}']) {
                None => {
                    parts.push(Part::Literal(rest.to_owned()));
                    break;
                }
                Some(i) if rest.as_bytes()[i] == b'}' => {
                    return Err(err("'}' without a matching '{'".into()));
                }
                Some(i) => {
                    if i > 0 {
                        parts.push(Part::Literal(rest[..i].to_owned()));
                    }
                    let after = &rest[i + 1..];
                    let Some(end) = after.find('}') else {
                        return Err(err("'{' without a matching '}'".into()));
                    };
                    let var = match &after[..end] {
                        "channel" => Var::Channel,
                        "device" => Var::Device,
                        "profile" => Var::Profile,
                        "source" => Var::Source,
                        other => {
                            return Err(err(format!(
                                "unknown placeholder {{{other}}}; known: {{channel}}, {{device}}, {{profile}}, {{source}}"
                            )));
                        }
                    };
                    parts.push(Part::Var(var));
                    rest = &after[end + 1..];
                }
            }
        }
        Ok(Self {
            text: template.to_owned(),
            parts,
        })
    }

    /// Whether the template uses `{channel}`.
    pub fn uses_channel(&self) -> bool {
        self.parts.contains(&Part::Var(Var::Channel))
    }

    /// Renders the topic for one message.
    pub fn render(&self, vars: &TopicVars<'_>) -> String {
        let mut out = String::with_capacity(self.text.len() + 48);
        for part in &self.parts {
            match part {
                Part::Literal(s) => out.push_str(s),
                Part::Var(v) => {
                    let value = match v {
                        Var::Channel => vars.channel,
                        Var::Device => vars.device,
                        Var::Profile => vars.profile,
                        Var::Source => vars.source,
                    };
                    out.push_str(&sanitize_segment(value));
                }
            }
        }
        out
    }
}

impl fmt::Display for TopicTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars<'a>(device: &'a str, source: &'a str) -> TopicVars<'a> {
        TopicVars {
            channel: "9b7a-01",
            device,
            profile: "Simple Profile",
            source,
        }
    }

    /// The subtopic check of the Mainflux MQTT adapter: what `channels/<id>/messages/<sub>`
    /// becomes after normalisation, or `None` if the adapter would refuse it.
    fn mainflux_subtopic(topic: &str) -> Option<String> {
        let rest = topic.strip_prefix("channels/")?;
        let (chan, sub) = rest.split_once("/messages")?;
        if chan.is_empty()
            || !chan
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return None;
        }
        let segs: Vec<&str> = sub.split('/').filter(|s| !s.is_empty()).collect();
        if segs
            .iter()
            .any(|s| s.len() > 1 && (s.contains('*') || s.contains('>')))
        {
            return None;
        }
        if segs.iter().any(|s| {
            !s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        }) {
            return None;
        }
        Some(segs.join("."))
    }

    #[test]
    fn default_template_renders_a_mainflux_channel_topic_with_device_and_source() {
        let t = TopicTemplate::parse(DEFAULT_TEMPLATE).unwrap();
        let topic = t.render(&vars("Boiler-01", "Temperature"));
        assert_eq!(topic, "channels/9b7a-01/messages/Boiler-01/Temperature");
        assert_eq!(
            mainflux_subtopic(&topic).as_deref(),
            Some("Boiler-01.Temperature")
        );
    }

    #[test]
    fn names_with_wildcards_dots_spaces_and_slashes_become_single_safe_segments() {
        let t = TopicTemplate::parse("channels/{channel}/messages/{device}/{profile}/{source}")
            .unwrap();
        let topic = t.render(&vars("a/b+c#d", "x.y z~%"));
        assert_eq!(
            topic,
            "channels/9b7a-01/messages/a_b_c_d/Simple_Profile/x_y_z__"
        );
        assert!(mainflux_subtopic(&topic).is_some());
        assert_eq!(
            t.render(&vars("", "s")),
            "channels/9b7a-01/messages/_/Simple_Profile/s"
        );
    }

    #[test]
    fn magistrala_domain_topics_are_expressible() {
        let t = TopicTemplate::parse("m/4f3c-domain/c/{channel}/{device}").unwrap();
        assert_eq!(t.render(&vars("dev", "src")), "m/4f3c-domain/c/9b7a-01/dev");
        assert!(t.uses_channel());
    }

    #[test]
    fn templates_with_wildcards_empty_segments_or_unknown_placeholders_are_refused() {
        for bad in [
            "",
            "channels/+/messages",
            "channels/{channel}/messages/#",
            "channels//messages",
            "/channels/{channel}/messages",
            "channels/{channel}/messages/",
            "channels/{channel}/messages?x=1",
            "channels/{chan}/messages",
            "channels/{channel/messages",
            "channels/channel}/messages",
        ] {
            assert!(TopicTemplate::parse(bad).is_err(), "{bad:?} accepted");
        }
    }
}
