//! `edgex-gateway`: the all-in-one binary (demo, run, profile tools).

fn main() {}
