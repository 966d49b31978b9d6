//! EdgeX events to Mainflux channels as SenML over mTLS MQTT, with a durable
//! store-and-forward queue.
//!
//! # Layout
//!
//! * [`config`]: `ExportConfig` (PascalCase, EdgeX style) and its checks; secrets redacted.
//! * [`filter`]: include/exclude globs on devices, profiles, sources and resources.
//! * [`senml`]: Event → SenML JSON/CBOR (or the EdgeX JSON) within a maximum payload size.
//! * [`topic`]: Mainflux/Magistrala topic templates with sanitised segments.
//! * [`queue`]: redb-backed FIFO; messages are appended before publishing and removed on PUBACK.
//! * [`mainflux`]: the rumqttc connection (credentials, mTLS, backoff) and the forwarder that
//!   maps packet ids to queue entries.
//! * [`run`]: the service: EdgeX bus → filter → SenML → queue → Mainflux.
//! * [`agent`]: remote management on the Mainflux control channel (`Mainflux.ControlChannelId`):
//!   SenML request/response of the Mainflux agent for EdgeX SMA operations, config, metrics and
//!   ping, `config view`, `service view`, device reads/writes through core-command, `exec`
//!   (only for programs in `Agent.ExecAllowlist`), and a periodic heartbeat.
//!
//! In console mode (`Mainflux.Mode: console`) messages are written to stdout as `topic payload`
//! lines (line-buffered, also when stdout is a pipe), or sent to [`ExportMetrics::set_console_tap`]; the agent needs the MQTT
//! mode.

pub mod agent;
pub mod config;
pub mod filter;
pub mod mainflux;
pub mod queue;
pub mod run;
pub mod senml;
pub mod topic;

pub use config::ExportConfig;
pub use run::{ExportError, ExportMetrics, run, run_with_metrics};
