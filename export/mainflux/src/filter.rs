//! Which events and readings are exported.
//!
//! Four pattern lists — `Devices`, `Profiles`, `Sources`, `Resources` — each made of glob
//! patterns (`*`, `?`, `[abc]`, `{a,b}`; case-sensitive, matched against the whole name).
//! A pattern starting with `!` is an exclusion; `\!` matches a literal leading `!`.
//!
//! For one list and one name:
//!
//! * if the list has include patterns, the name must match at least one of them;
//! * the name must match none of the exclusions;
//! * an empty list accepts every name.
//!
//! An event is exported when its device, profile and source pass their lists; inside it, only
//! readings whose resource passes `Resources` are kept, and an event left without readings is
//! not exported.

use globset::{Glob, GlobSet, GlobSetBuilder};
use serde::{Deserialize, Serialize};

/// Filter settings (config section `Filter`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct FilterConfig {
    /// Device name patterns.
    #[serde(default)]
    pub devices: Vec<String>,
    /// Profile name patterns.
    #[serde(default)]
    pub profiles: Vec<String>,
    /// Source (resource or command) name patterns of the event.
    #[serde(default)]
    pub sources: Vec<String>,
    /// Resource name patterns of each reading.
    #[serde(default)]
    pub resources: Vec<String>,
}

/// A pattern that does not compile.
#[derive(Debug, thiserror::Error)]
#[error("invalid Filter.{list} pattern {pattern:?}: {source}")]
pub struct FilterError {
    /// Which list.
    pub list: &'static str,
    /// The pattern as written.
    pub pattern: String,
    /// Glob error.
    #[source]
    pub source: globset::Error,
}

#[derive(Debug, Clone)]
struct NameFilter {
    include: Option<GlobSet>,
    exclude: Option<GlobSet>,
}

impl NameFilter {
    fn new(list: &'static str, patterns: &[String]) -> Result<Self, FilterError> {
        let mut inc = GlobSetBuilder::new();
        let mut exc = GlobSetBuilder::new();
        let (mut n_inc, mut n_exc) = (0, 0);
        for p in patterns {
            let (builder, glob) = if let Some(rest) = p.strip_prefix('!') {
                n_exc += 1;
                (&mut exc, rest)
            } else {
                n_inc += 1;
                (
                    &mut inc,
                    p.strip_prefix('\\')
                        .filter(|r| r.starts_with('!'))
                        .unwrap_or(p),
                )
            };
            let g = Glob::new(glob).map_err(|source| FilterError {
                list,
                pattern: p.clone(),
                source,
            })?;
            builder.add(g);
        }
        let build =
            |b: GlobSetBuilder, n: usize, pattern: &str| -> Result<Option<GlobSet>, FilterError> {
                if n == 0 {
                    return Ok(None);
                }
                b.build().map(Some).map_err(|source| FilterError {
                    list,
                    pattern: pattern.to_owned(),
                    source,
                })
            };
        Ok(Self {
            include: build(inc, n_inc, "<include list>")?,
            exclude: build(exc, n_exc, "<exclude list>")?,
        })
    }

    fn accepts(&self, name: &str) -> bool {
        self.include.as_ref().is_none_or(|s| s.is_match(name))
            && !self.exclude.as_ref().is_some_and(|s| s.is_match(name))
    }
}

/// A compiled [`FilterConfig`].
#[derive(Debug, Clone)]
pub struct Filter {
    devices: NameFilter,
    profiles: NameFilter,
    sources: NameFilter,
    resources: NameFilter,
}

impl Filter {
    /// Compiles the patterns.
    pub fn new(cfg: &FilterConfig) -> Result<Self, FilterError> {
        Ok(Self {
            devices: NameFilter::new("Devices", &cfg.devices)?,
            profiles: NameFilter::new("Profiles", &cfg.profiles)?,
            sources: NameFilter::new("Sources", &cfg.sources)?,
            resources: NameFilter::new("Resources", &cfg.resources)?,
        })
    }

    /// Whether an event from this device/profile/source is exported at all.
    pub fn accepts_event(&self, device: &str, profile: &str, source: &str) -> bool {
        self.devices.accepts(device)
            && self.profiles.accepts(profile)
            && self.sources.accepts(source)
    }

    /// Whether a reading of this resource is exported.
    pub fn accepts_resource(&self, resource: &str) -> bool {
        self.resources.accepts(resource)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(devices: &[&str], resources: &[&str]) -> Filter {
        Filter::new(&FilterConfig {
            devices: devices.iter().map(|s| s.to_string()).collect(),
            resources: resources.iter().map(|s| s.to_string()).collect(),
            ..FilterConfig::default()
        })
        .unwrap()
    }

    #[test]
    fn empty_lists_export_everything() {
        let f = filter(&[], &[]);
        assert!(f.accepts_event("any", "p", "s"));
        assert!(f.accepts_resource("r"));
    }

    #[test]
    fn include_globs_restrict_and_exclusions_win_over_includes() {
        let f = filter(&["Boiler-*", "Pump?"], &[]);
        assert!(f.accepts_event("Boiler-01", "p", "s"));
        assert!(f.accepts_event("Pump1", "p", "s"));
        assert!(!f.accepts_event("Pump12", "p", "s"));
        assert!(!f.accepts_event("Fan", "p", "s"));
        let f = filter(&["Boiler-*", "!Boiler-test*"], &[]);
        assert!(f.accepts_event("Boiler-01", "p", "s"));
        assert!(!f.accepts_event("Boiler-test1", "p", "s"));
    }

    #[test]
    fn only_exclusions_accept_everything_else() {
        let f = filter(&[], &["!*Raw", "!Debug{A,B}"]);
        assert!(f.accepts_resource("Temperature"));
        assert!(!f.accepts_resource("PressureRaw"));
        assert!(!f.accepts_resource("DebugB"));
    }

    #[test]
    fn an_escaped_bang_matches_a_literal_exclamation_mark() {
        let f = filter(&["\\!odd"], &[]);
        assert!(f.accepts_event("!odd", "p", "s"));
        assert!(!f.accepts_event("odd", "p", "s"));
    }

    #[test]
    fn a_broken_glob_names_the_list_and_pattern() {
        let err = Filter::new(&FilterConfig {
            profiles: vec!["[oops".into()],
            ..FilterConfig::default()
        })
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("Filter.Profiles") && err.contains("[oops"),
            "{err}"
        );
    }
}
