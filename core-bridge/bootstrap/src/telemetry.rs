//! Process-wide tracing set-up driven by `Writable.LogLevel`.
//!
//! [`init_tracing`] installs the subscriber once; later calls (and [`set_log_level`], e.g. after a
//! `Writable` change) only change the level. `RUST_LOG`, when given, wins over the configured level
//! and is never replaced by it.

use std::sync::OnceLock;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::reload;
use tracing_subscriber::util::SubscriberInitExt;

type FilterHandle = reload::Handle<EnvFilter, tracing_subscriber::Registry>;

#[derive(Debug)]
struct State {
    handle: Option<FilterHandle>,
    rust_log_set: bool,
}

static STATE: OnceLock<State> = OnceLock::new();

/// Maps an EdgeX log level (TRACE, DEBUG, INFO, WARN, ERROR; any case) to a tracing directive.
/// Unknown levels give `None`.
pub fn level_directive(log_level: &str) -> Option<&'static str> {
    match log_level.trim().to_ascii_uppercase().as_str() {
        "TRACE" => Some("trace"),
        "DEBUG" => Some("debug"),
        "INFO" => Some("info"),
        "WARN" | "WARNING" => Some("warn"),
        "ERROR" => Some("error"),
        _ => None,
    }
}

/// Installs the global subscriber (human-readable, to stderr) at `log_level`, unless `rust_log`
/// (the `RUST_LOG` value, passed in by `main`) is given. Safe to call repeatedly: later calls only
/// apply the level. Returns false when another subscriber was installed outside this crate.
pub fn init_tracing(log_level: &str, rust_log: Option<String>) -> bool {
    let mut fresh = false;
    let state = STATE.get_or_init(|| {
        fresh = true;
        let rust_log = rust_log.filter(|v| !v.is_empty());
        let rust_log_set = rust_log.is_some();
        let filter = match rust_log {
            Some(spec) => EnvFilter::try_new(spec).unwrap_or_else(|_| EnvFilter::new("info")),
            None => EnvFilter::new(level_directive(log_level).unwrap_or("info")),
        };
        let (layer, handle) = reload::Layer::new(filter);
        let installed = tracing_subscriber::registry()
            .with(layer)
            .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr))
            .try_init()
            .is_ok();
        State {
            handle: installed.then_some(handle),
            rust_log_set,
        }
    });
    if !fresh {
        set_log_level(log_level);
    } else if level_directive(log_level).is_none() {
        tracing::warn!(log_level, "Unknown LogLevel; using INFO");
    }
    state.handle.is_some()
}

/// Changes the level of the subscriber installed by [`init_tracing`]. Ignored when `RUST_LOG`
/// governs the filter or no subscriber of ours is installed. Returns whether the level changed.
pub fn set_log_level(log_level: &str) -> bool {
    let Some(state) = STATE.get() else {
        return false;
    };
    let (Some(handle), false) = (&state.handle, state.rust_log_set) else {
        return false;
    };
    let Some(directive) = level_directive(log_level) else {
        tracing::warn!(log_level, "Unknown LogLevel; keeping the current level");
        return false;
    };
    handle.reload(EnvFilter::new(directive)).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edgex_levels_map_to_tracing_directives() {
        assert_eq!(level_directive("TRACE"), Some("trace"));
        assert_eq!(level_directive("debug"), Some("debug"));
        assert_eq!(level_directive("INFO"), Some("info"));
        assert_eq!(level_directive("WARN"), Some("warn"));
        assert_eq!(level_directive("ERROR"), Some("error"));
        assert_eq!(level_directive("LOUD"), None);
    }

    #[test]
    fn initialisation_is_idempotent_and_later_calls_change_the_level() {
        let first = init_tracing("INFO", None);
        let second = init_tracing("DEBUG", None);
        assert_eq!(first, second);
        if first {
            assert!(set_log_level("ERROR"));
            assert!(tracing::enabled!(tracing::Level::ERROR));
            assert!(!tracing::enabled!(tracing::Level::WARN));
            assert!(set_log_level("TRACE"));
            assert!(tracing::enabled!(tracing::Level::TRACE));
            assert!(!set_log_level("LOUD"));
        }
    }
}
