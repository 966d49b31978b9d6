//! Integration tests of export-mainflux against real mosquitto brokers: one set up like
//! Mainflux in x509 mode (mTLS with `require_certificate`, a password file with the thing id
//! and key, an ACL limited to the thing's channels) and one plain broker as the EdgeX bus.

#[path = "export/agent.rs"]
mod agent;
#[path = "export/console.rs"]
mod console;
#[path = "export/harness.rs"]
mod harness;
#[path = "export/mtls.rs"]
mod mtls;
#[path = "export/outage.rs"]
mod outage;
#[path = "export/pipeline.rs"]
mod pipeline;
#[path = "export/senml_check.rs"]
mod senml_check;
#[path = "export/sigkill.rs"]
mod sigkill;
