//! Integration tests of core-bridge: each module starts a real core (in-process, ports 0, in-memory or
//! temp-dir store) and talks to it over HTTP and MQTT (embedded broker or a real mosquitto).

#[path = "core/common.rs"]
mod common;

#[path = "core/bridging.rs"]
mod bridging;
#[path = "core/command.rs"]
mod command;
#[path = "core/conformance.rs"]
mod conformance;
#[path = "core/data.rs"]
mod data;
#[path = "core/durability.rs"]
mod durability;
#[path = "core/keeper.rs"]
mod keeper;
#[path = "core/metadata.rs"]
mod metadata;
#[path = "core/sma.rs"]
mod sma;
