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

pub mod config;
pub mod filter;
pub mod mainflux;
pub mod queue;
pub mod run;
pub mod senml;
pub mod topic;

pub use config::ExportConfig;
pub use run::{ExportError, ExportMetrics, run, run_with_metrics};
