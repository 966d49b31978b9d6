//! Loopback port selection.
//!
//! Picking a free port and handing it to another process is racy: prefer servers that bind
//! port 0 and report the port they got. Where a server cannot, the guards in this crate use
//! [`free_loopback_port`] and retry with a new port when the server fails to bind.

use std::net::TcpListener;

/// How many fresh ports a guard tries before giving up when the server reports "address in use".
pub const BIND_ATTEMPTS: usize = 5;

/// A port that was free on 127.0.0.1 a moment ago (the OS picked it for a listener on port 0).
pub fn free_loopback_port() -> std::io::Result<u16> {
    let l = TcpListener::bind(("127.0.0.1", 0))?;
    Ok(l.local_addr()?.port())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_loopback_port_is_bindable() {
        let p = free_loopback_port().unwrap();
        assert_ne!(p, 0);
        TcpListener::bind(("127.0.0.1", p)).unwrap();
    }
}
