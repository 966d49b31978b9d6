//! Integration tests of edgex-bootstrap: the real EdgeX fixtures loaded through the public API, and
//! the core-keeper provider path against an in-process keeper speaking the core-keeper API.

#[path = "bootstrap/support.rs"]
mod support;

#[path = "bootstrap/fixtures.rs"]
mod fixtures;

#[path = "bootstrap/keeper.rs"]
mod keeper;
