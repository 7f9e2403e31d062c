//! Addresses and the network hierarchy the adaptive model reasons over.
//!
//! Every address is stored as a 16-byte key: IPv4 as its IPv4-mapped IPv6 form, so one code path
//! serves both families. The hierarchy is address ⊂ /24 ⊂ /16 for IPv4 and address ⊂ /64 ⊂ /48 for
//! IPv6 (a /64 is one LAN, a /48 one site).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A compact, ordered, hashable address key (IPv4 stored IPv4-mapped).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug, serde::Serialize, serde::Deserialize)]
pub struct IpKey(pub [u8; 16]);

/// Hashed as one 128-bit number: fewer steps than the 16 bytes and the length that the derived
/// `Hash` of an array writes (every event looks addresses up in several maps).
impl std::hash::Hash for IpKey {
    #[inline]
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_u128(u128::from_ne_bytes(self.0));
    }
}

impl IpKey {
    /// The key of an address; IPv4-mapped IPv6 (`::ffff:a.b.c.d`) folds to the same key as IPv4.
    pub fn from_ip(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => IpKey(v4.to_ipv6_mapped().octets()),
            IpAddr::V6(v6) => IpKey(v6.octets()),
        }
    }

    /// The address back, IPv4 when the key is IPv4-mapped.
    pub fn to_ip(self) -> IpAddr {
        let v6 = Ipv6Addr::from(self.0);
        match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        }
    }

    /// Whether this is an IPv4 address.
    pub fn is_v4(self) -> bool {
        Ipv6Addr::from(self.0).to_ipv4_mapped().is_some()
    }

    /// The enclosing network at `level`, as a key with the host bits zeroed.
    pub fn network(self, level: NetLevel) -> IpKey {
        let bits = level.prefix_bits(self.is_v4()) as u32;
        let v = u128::from_be_bytes(self.0);
        let mask = if bits == 0 { 0 } else { u128::MAX << (128 - bits) };
        IpKey((v & mask).to_be_bytes())
    }
}

impl IpKey {
    /// The address as text, without allocating (IPv4 written by hand; IPv6 by `std`'s formatter
    /// into a stack buffer). Same text as `Display`.
    pub fn text(self) -> IpText {
        let mut t = IpText {
            buf: [0; IpText::CAP],
            len: 0,
        };
        let b = &self.0;
        if b[..10].iter().all(|&x| x == 0) && b[10] == 0xff && b[11] == 0xff {
            for (i, &octet) in b[12..].iter().enumerate() {
                if i > 0 {
                    t.push(b'.');
                }
                if octet >= 100 {
                    t.push(b'0' + octet / 100);
                }
                if octet >= 10 {
                    t.push(b'0' + (octet / 10) % 10);
                }
                t.push(b'0' + octet % 10);
            }
        } else {
            use std::fmt::Write;
            // 45 bytes hold the longest IPv6 text; a failure would leave it short, never invalid.
            let _ = write!(t, "{}", self.to_ip());
        }
        t
    }
}

/// An address's text on the stack (see [`IpKey::text`]).
#[derive(Clone, Copy)]
pub struct IpText {
    buf: [u8; IpText::CAP],
    len: u8,
}

impl IpText {
    const CAP: usize = 46;

    fn push(&mut self, c: u8) {
        if let Some(slot) = self.buf.get_mut(self.len as usize) {
            *slot = c;
            self.len += 1;
        }
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        // Only ASCII is ever written.
        std::str::from_utf8(&self.buf[..self.len as usize]).unwrap_or_default()
    }
}

impl std::fmt::Write for IpText {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let start = self.len as usize;
        let dst = self.buf.get_mut(start..start + s.len()).ok_or(std::fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.len += s.len() as u8;
        Ok(())
    }
}

impl std::ops::Deref for IpText {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl std::fmt::Display for IpKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if f.width().is_some() || f.precision().is_some() {
            return self.to_ip().fmt(f);
        }
        f.write_str(&self.text())
    }
}

/// A level of the network hierarchy.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub enum NetLevel {
    /// IPv4 /24 or IPv6 /64: one LAN segment, one DHCP scope.
    Subnet,
    /// IPv4 /16 or IPv6 /48: one site, one ISP block, one VPN pool.
    Site,
}

impl NetLevel {
    /// Prefix length in the 128-bit key space.
    pub fn prefix_bits(self, v4: bool) -> u8 {
        match (self, v4) {
            (NetLevel::Subnet, true) => 96 + 24,
            (NetLevel::Site, true) => 96 + 16,
            (NetLevel::Subnet, false) => 64,
            (NetLevel::Site, false) => 48,
        }
    }

    /// The CIDR suffix a person reads (`/24`, `/64`, …) for this level and family.
    pub fn cidr_suffix(self, v4: bool) -> u8 {
        let bits = self.prefix_bits(v4);
        if v4 {
            bits - 96
        } else {
            bits
        }
    }
}

/// Formats a network key as CIDR (`10.20.3.0/24`).
pub fn format_network(net: IpKey, level: NetLevel) -> String {
    crate::text::network_text(net, level)
}

/// Parses an address as it appears in logs: plain IPv4/IPv6, `::ffff:`-mapped, bracketed
/// (`[2001:db8::1]`), with an IPv6 zone id (`fe80::1%eth0`, the zone is dropped). `-`, empty or
/// unparsable input gives `None` ("no source IP").
///
/// The common case (a canonical IPv4 address) is inlined where this is called; the rest is
/// parsed out of line.
#[inline]
pub fn parse_ip(s: &str) -> Option<IpAddr> {
    match canonical_ipv4(s.as_bytes()) {
        Some(v4) => Some(IpAddr::V4(v4)),
        None => parse_other_ip(s),
    }
}

/// [`parse_ip`] of a text that is not a canonical IPv4 address.
#[inline(never)]
fn parse_other_ip(s: &str) -> Option<IpAddr> {
    let s = s.trim();
    if s.is_empty() || s == "-" {
        return None;
    }
    let s = s.strip_prefix('[').and_then(|r| r.strip_suffix(']')).unwrap_or(s);
    let s = match s.find('%') {
        Some(i) => &s[..i],
        None => s,
    };
    let ip: IpAddr = s.parse().ok()?;
    Some(match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    })
}

/// The common case of [`parse_ip`] in one pass: four decimal octets, dot-separated, without
/// leading zeros (`10.0.0.1`). Anything else (`None`) goes the general way, which gives the same
/// answer for these (the standard parser accepts exactly such text) and decides the rest.
fn canonical_ipv4(b: &[u8]) -> Option<Ipv4Addr> {
    // One pass, byte by byte: splitting on dots first cost three times as much per address.
    let mut octets = [0u8; 4];
    let mut at = 0;
    for (n, octet) in octets.iter_mut().enumerate() {
        if n > 0 {
            if b.get(at) != Some(&b'.') {
                return None;
            }
            at += 1;
        }
        let first = *b.get(at).filter(|c| c.is_ascii_digit())?;
        at += 1;
        let mut value = u16::from(first - b'0');
        // A leading `0` is the whole octet; otherwise up to two more digits.
        if first != b'0' {
            for _ in 0..2 {
                match b.get(at) {
                    Some(&c) if c.is_ascii_digit() => {
                        value = value * 10 + u16::from(c - b'0');
                        at += 1;
                    }
                    _ => break,
                }
            }
        }
        *octet = u8::try_from(value).ok()?;
    }
    (at == b.len()).then_some(Ipv4Addr::from(octets))
}

/// Whether an address says nothing about where a logon came from: unspecified, loopback,
/// link-local (IPv4 169.254/16, IPv6 fe80::/10). Such logons are local and do not feed the
/// rare-source-IP job.
pub fn is_unusable_source(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_unspecified() || v4.is_loopback() || v4.is_link_local() || v4 == Ipv4Addr::BROADCAST,
        IpAddr::V6(v6) => v6.is_unspecified() || v6.is_loopback() || (v6.segments()[0] & 0xffc0) == 0xfe80,
    }
}

/// A CIDR block, for allowlists.
#[derive(Clone, Copy, PartialEq, Eq, Debug, serde::Serialize, serde::Deserialize)]
pub struct Cidr {
    /// Network key, host bits zeroed.
    pub network: IpKey,
    /// Prefix length in the 128-bit key space.
    pub bits: u8,
}

impl Cidr {
    /// Parses `10.0.0.0/8`, `2001:db8::/32` or a bare address (a /32 or /128).
    pub fn parse(s: &str) -> Option<Cidr> {
        let (addr, len) = match s.split_once('/') {
            Some((a, l)) => (a, Some(l.trim().parse::<u8>().ok()?)),
            None => (s, None),
        };
        let ip = parse_ip(addr)?;
        let v4 = ip.is_ipv4();
        let bits = match (len, v4) {
            (None, true) => 128,
            (None, false) => 128,
            (Some(l), true) if l <= 32 => 96 + l,
            (Some(l), false) if l <= 128 => l,
            _ => return None,
        };
        let key = u128::from_be_bytes(IpKey::from_ip(ip).0);
        let mask = if bits == 0 { 0 } else { u128::MAX << (128 - bits as u32) };
        Some(Cidr {
            network: IpKey((key & mask).to_be_bytes()),
            bits,
        })
    }

    /// Whether the block contains the address.
    pub fn contains(&self, ip: IpKey) -> bool {
        let mask = if self.bits == 0 {
            0
        } else {
            u128::MAX << (128 - self.bits as u32)
        };
        u128::from_be_bytes(ip.0) & mask == u128::from_be_bytes(self.network.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_canonical_ipv4_shortcut_agrees_with_the_standard_parser() {
        // Every string of up to 15 characters over digits and dots that a small generator makes,
        // plus hand-picked edges: where the shortcut answers, the standard parser gives the same.
        let mut next = crate::xorshift(0x2545_f491_4f6c_dd1d);
        let alphabet = b"0123456789.........";
        let mut answered = 0;
        let mut cases: Vec<String> = [
            "0.0.0.0",
            "255.255.255.255",
            "256.1.1.1",
            "01.2.3.4",
            "1.2.3",
            "1.2.3.4.5",
            "1..2.3",
            ".1.2.3",
            "1.2.3.4.",
            "1.2.3.04",
            "1.2.3.400",
            "10.0.0.1x",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        for _ in 0..200_000 {
            let len = 1 + (next() % 15) as usize;
            cases.push(
                (0..len)
                    .map(|_| alphabet[(next() % alphabet.len() as u64) as usize] as char)
                    .collect(),
            );
        }
        for _ in 0..50_000 {
            let o = |n: u64| (n % 300).to_string();
            cases.push(format!("{}.{}.{}.{}", o(next()), o(next()), o(next()), o(next())));
        }
        for case in &cases {
            if let Some(a) = canonical_ipv4(case.as_bytes()) {
                assert_eq!(case.parse::<Ipv4Addr>().ok(), Some(a), "{case}");
                answered += 1;
            } else {
                assert!(
                    case.parse::<Ipv4Addr>().is_err() || case.split('.').any(|p| p.len() > 1 && p.starts_with('0')),
                    "{case}: the standard parser accepts it, the shortcut does not"
                );
            }
        }
        assert!(answered > 20_000, "{answered}");
    }

    #[test]
    fn mapped_v6_folds_to_v4() {
        let a = parse_ip("::ffff:10.1.2.3").unwrap();
        assert_eq!(a, "10.1.2.3".parse::<IpAddr>().unwrap());
        assert_eq!(IpKey::from_ip(a).to_ip(), a);
        assert_eq!(parse_ip("fe80::1%eth0"), "fe80::1".parse().ok());
        assert_eq!(parse_ip("[2001:db8::1]"), "2001:db8::1".parse().ok());
        assert_eq!(parse_ip("-"), None);
        assert_eq!(parse_ip("host.example"), None);
    }

    #[test]
    fn networks_by_family() {
        let k = IpKey::from_ip("10.20.3.41".parse().unwrap());
        assert_eq!(
            format_network(k.network(NetLevel::Subnet), NetLevel::Subnet),
            "10.20.3.0/24"
        );
        assert_eq!(
            format_network(k.network(NetLevel::Site), NetLevel::Site),
            "10.20.0.0/16"
        );
        let k6 = IpKey::from_ip("2001:db8:1:2:3::9".parse().unwrap());
        assert_eq!(
            format_network(k6.network(NetLevel::Subnet), NetLevel::Subnet),
            "2001:db8:1:2::/64"
        );
        assert_eq!(
            format_network(k6.network(NetLevel::Site), NetLevel::Site),
            "2001:db8:1::/48"
        );
    }

    #[test]
    fn unusable_sources() {
        for s in ["127.0.0.1", "::1", "0.0.0.0", "169.254.1.1", "fe80::8ff:be62:afa2:6258"] {
            assert!(is_unusable_source(parse_ip(s).unwrap()), "{s}");
        }
        assert!(!is_unusable_source(parse_ip("10.0.0.1").unwrap()));
    }

    #[test]
    fn cidr_contains() {
        let c = Cidr::parse("10.99.0.0/16").unwrap();
        assert!(c.contains(IpKey::from_ip("10.99.4.5".parse().unwrap())));
        assert!(!c.contains(IpKey::from_ip("10.98.4.5".parse().unwrap())));
        assert!(Cidr::parse("10.0.0.0/33").is_none());
        let c6 = Cidr::parse("2001:db8::/32").unwrap();
        assert!(c6.contains(IpKey::from_ip("2001:db8:ffff::1".parse().unwrap())));
    }

    #[test]
    fn text_matches_std_display() {
        let mut cases: Vec<IpAddr> = vec![
            "0.0.0.0".parse().unwrap(),
            "255.255.255.255".parse().unwrap(),
            "10.0.9.100".parse().unwrap(),
            "::".parse().unwrap(),
            "::1".parse().unwrap(),
            "::ffff:0:1.2.3.4".parse().unwrap(),
            "2001:db8::1".parse().unwrap(),
            "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff".parse().unwrap(),
            "::1.2.3.4".parse().unwrap(),
        ];
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        for _ in 0..5000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            cases.push(IpAddr::V4(std::net::Ipv4Addr::from(x as u32)));
            let y = (x as u128) << 64 | (x.rotate_left(17) as u128);
            cases.push(IpAddr::V6(std::net::Ipv6Addr::from(y & !((x as u128 & 3) << 80))));
        }
        for ip in cases {
            let key = IpKey::from_ip(ip);
            assert_eq!(key.text().as_str(), key.to_ip().to_string(), "{ip}");
            assert_eq!(key.to_string(), key.to_ip().to_string());
        }
    }
}
