//! EdgeX events to Mainflux channels as SenML over mTLS MQTT, with a durable
//! store-and-forward queue.
//!
//! # Layout
//!
//! * [`queue`]: redb-backed FIFO; messages are appended before publishing and removed on PUBACK.
pub mod filter;
pub mod queue;
pub mod topic;
