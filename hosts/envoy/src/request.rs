//! Reading a login attempt out of an HTTP request: the client address, the user name, and header
//! values safe to hand upstream. Pure functions (no host calls).

use std::net::{IpAddr, SocketAddr};

use serde_json::Value;

/// An address as Envoy or a proxy writes it: `1.2.3.4`, `1.2.3.4:5678`, `::1`, `[::1]:5678`.
/// IPv4-mapped IPv6 (`::ffff:1.2.3.4`, as a dual-stack listener reports IPv4 peers) is folded to
/// IPv4, as the core does for `source.ip`.
pub fn parse_address(text: &str) -> Option<IpAddr> {
    let t = text.trim();
    let ip = t
        .parse::<IpAddr>()
        .ok()
        .or_else(|| t.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| {
            t.strip_prefix('[')
                .and_then(|r| r.split(']').next())
                .and_then(|r| r.parse().ok())
        })?;
    Some(match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    })
}

/// The client address: with `trusted_hops = N > 0`, the N-th entry from the right of
/// `x-forwarded-for` (the address the outermost trusted proxy saw); with 0, or when the header has
/// fewer entries than that, the connection's peer. `None` when the chosen entry is not an address.
pub fn client_address(xff: Option<&str>, trusted_hops: usize, peer: Option<&str>) -> Option<IpAddr> {
    if trusted_hops > 0 {
        if let Some(xff) = xff {
            let entries: Vec<&str> = xff.split(',').map(str::trim).filter(|e| !e.is_empty()).collect();
            if entries.len() >= trusted_hops {
                return parse_address(entries[entries.len() - trusted_hops]);
            }
        }
    }
    peer.and_then(parse_address)
}

fn b64_value(c: u8) -> Option<u32> {
    Some(match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' | b'-' => 62,
        b'/' | b'_' => 63,
        _ => return None,
    } as u32)
}

/// Standard (or URL-safe) base64, padding optional.
pub fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let t = text.trim().trim_end_matches('=');
    let mut out = Vec::with_capacity(t.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0;
    for &c in t.as_bytes() {
        acc = (acc << 6) | b64_value(c)?;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// The user of an `Authorization: Basic …` header.
pub fn basic_auth_user(authorization: &str) -> Option<String> {
    let (scheme, rest) = authorization.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(base64_decode(rest)?).ok()?;
    let user = decoded.split_once(':').map_or(decoded.as_str(), |(u, _)| u);
    clean_user(user)
}

/// A string field of a JSON body: the key as written, else a dotted path (`user.name`).
pub fn json_body_user(body: &[u8], field: &str) -> Option<String> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let direct = v.get(field);
    let found = match direct {
        Some(x) => Some(x),
        None => field.split('.').try_fold(&v, |cur, k| cur.get(k)),
    };
    clean_user(found?.as_str()?)
}

/// A user name as the detector gets it: trimmed, non-empty, at most 256 bytes.
pub fn clean_user(user: &str) -> Option<String> {
    let u = user.trim();
    if u.is_empty() || u.len() > 256 || u.chars().any(char::is_control) {
        return None;
    }
    Some(u.to_string())
}

/// A header value from free text: ASCII (common symbols spelt out), no control characters, at most
/// `max` bytes.
pub fn header_value(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max));
    for c in text.chars() {
        let s: &str = match c {
            '≥' => ">=",
            '≤' => "<=",
            '–' | '—' | '−' => "-",
            '…' => "...",
            '×' => "x",
            '‘' | '’' => "'",
            '“' | '”' => "\"",
            '≈' => "~",
            c if c.is_ascii() && !c.is_ascii_control() => {
                if out.len() < max {
                    out.push(c);
                }
                continue;
            }
            c if c.is_whitespace() => " ",
            _ => "?",
        };
        if out.len() + s.len() <= max {
            out.push_str(s);
        }
    }
    out
}

/// A score as a header value: up to two decimals, no trailing zeros.
pub fn format_score(score: f64) -> String {
    let s = format!("{:.2}", (score * 100.0).round() / 100.0);
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        assert_eq!(parse_address("127.0.0.1:5000"), Some("127.0.0.1".parse().unwrap()));
        assert_eq!(parse_address("[2001:db8::1]:443"), Some("2001:db8::1".parse().unwrap()));
        assert_eq!(parse_address("2001:db8::1"), Some("2001:db8::1".parse().unwrap()));
        assert_eq!(parse_address("nonsense"), None);
        assert_eq!(parse_address("[::ffff:10.1.2.3]:80"), Some("10.1.2.3".parse().unwrap()));
        let peer = Some("10.0.0.9:4000");
        assert_eq!(
            client_address(Some("1.1.1.1"), 0, peer),
            Some("10.0.0.9".parse().unwrap())
        );
        assert_eq!(
            client_address(Some("6.6.6.6, 1.1.1.1, 2.2.2.2"), 2, peer),
            Some("1.1.1.1".parse().unwrap())
        );
        assert_eq!(
            client_address(Some("1.1.1.1"), 2, peer),
            Some("10.0.0.9".parse().unwrap())
        );
        assert_eq!(client_address(Some("junk, 1.1.1.1"), 2, peer), None);
    }

    #[test]
    fn basic_and_json() {
        assert_eq!(basic_auth_user("Basic YWxpY2U6czNjcmV0"), Some("alice".into()));
        assert_eq!(basic_auth_user("basic Ym9i"), Some("bob".into()));
        assert_eq!(basic_auth_user("Bearer abc"), None);
        assert_eq!(
            json_body_user(br#"{"username":"carol"}"#, "username"),
            Some("carol".into())
        );
        assert_eq!(
            json_body_user(br#"{"user":{"name":"dave"}}"#, "user.name"),
            Some("dave".into())
        );
        assert_eq!(json_body_user(br#"{"username":""}"#, "username"), None);
        assert_eq!(json_body_user(b"not json", "username"), None);
    }

    #[test]
    fn header_values() {
        assert_eq!(header_value("a ≥ b — c\n", 100), "a >= b - c ");
        assert_eq!(header_value("abcdef", 3), "abc");
        assert_eq!(format_score(87.5), "87.5");
        assert_eq!(format_score(100.0), "100");
        assert_eq!(format_score(0.0), "0");
        assert_eq!(format_score(12.3456), "12.35");
    }
}
