//! The all-in-one EdgeX gateway: every service of the workspace in one process, plus the
//! profile authoring tools.
//!
//! * [`demo`]: the one-command local demo (simulator, device-modbus, core-bridge, console export).
//! * [`run`]: production all-in-one mode driven by one YAML file with a section per service.
//! * [`lint`], [`schema`], [`modbus_csv`]: `profile lint`, `profile schema`, `profile new`.
//!
//! Each service runs through the same `run`/`start` function as its standalone binary, so it
//! behaves the same; only the process boundary is gone.

#[cfg(test)]
mod compose_check;
pub mod demo;
pub mod lint;
pub mod modbus_csv;
pub mod run;
pub mod schema;
