//! Percent-encoding of EdgeX names placed in REST paths and query strings.
//!
//! Every client in the workspace encodes a name the same way before putting it in a URL: the
//! RFC 3986 unreserved characters (`A-Z a-z 0-9 - . _ ~`) stay, every other byte becomes `%XX`
//! with upper-case hex, so names with spaces, slashes or non-ASCII letters survive the trip.

/// Percent-encodes `s` for use as one path segment or one query component.
pub fn escape_segment(s: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0x0f)]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_unreserved_characters_stay_unescaped() {
        assert_eq!(escape_segment("Modbus-TCP.dev_1~"), "Modbus-TCP.dev_1~");
        assert_eq!(escape_segment("a b/c?d&e=f"), "a%20b%2Fc%3Fd%26e%3Df");
        assert_eq!(escape_segment("Zähler"), "Z%C3%A4hler");
        assert_eq!(escape_segment(""), "");
    }
}
