//! Integration tests of the device SDK: a real service started in-process against a real
//! mosquitto broker, a core-metadata test fake speaking the v3 contract, and an in-memory driver.

mod sdk {
    pub(crate) mod fake_metadata;
    pub(crate) mod harness;
    pub(crate) mod virtual_driver;

    mod autoevents;
    mod bus;
    mod conformance;
    mod rest;
    mod startup;
    mod transforms;
}
