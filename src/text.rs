//! Writing the evidence texts of records without `core::fmt`: every anomaly record carries a dozen
//! short texts (addresses, networks, counts), and `format!` spent ~1 500 instructions on each of
//! them, a third of a record's cost. These helpers append to a `String` directly and give exactly
//! the text `format!("{}")` gives.

use crate::net::{IpKey, NetLevel};

/// Appends `n` in decimal, as `format!("{n}")` writes it.
pub(crate) fn push_decimal(out: &mut String, mut n: u64) {
    // 20 digits hold u64::MAX.
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &d in &digits[at..] {
        out.push(char::from(d));
    }
}

/// Appends an address, as `format!("{ip}")` writes it.
pub(crate) fn push_ip(out: &mut String, ip: IpKey) {
    out.push_str(&ip.text());
}

/// A network in CIDR notation (`10.1.0.0/16`, `2001:db8::/48`), as
/// `format!("{}/{}", net.to_ip(), level.cidr_suffix(v4))` writes it.
pub(crate) fn network_text(net: IpKey, level: NetLevel) -> String {
    let mut out = String::with_capacity(24);
    push_ip(&mut out, net);
    out.push('/');
    push_decimal(&mut out, u64::from(level.cidr_suffix(net.is_v4())));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_are_what_format_writes() {
        let mut next = crate::xorshift(0x9e37_79b9_7f4a_7c15);
        for n in [0, 1, 9, 10, 99, 100, 65_535, u64::from(u32::MAX), u64::MAX]
            .into_iter()
            .chain((0..10_000).map(|_| next() >> (next() % 64)))
        {
            let mut s = String::from("x");
            push_decimal(&mut s, n);
            assert_eq!(s, format!("x{n}"));
        }
        for _ in 0..10_000 {
            let bits = u128::from(next()) << 64 | u128::from(next());
            // Half IPv4-mapped, half IPv6.
            let ip = if next() % 2 == 0 {
                IpKey::from_ip(std::net::IpAddr::V4(std::net::Ipv4Addr::from(bits as u32)))
            } else {
                IpKey::from_ip(std::net::IpAddr::V6(std::net::Ipv6Addr::from(bits)))
            };
            for level in [NetLevel::Subnet, NetLevel::Site] {
                let net = ip.network(level);
                let v4 = net.is_v4();
                assert_eq!(
                    network_text(net, level),
                    format!("{}/{}", net.to_ip(), level.cidr_suffix(v4))
                );
            }
            let mut s = String::new();
            push_ip(&mut s, ip);
            assert_eq!(s, format!("{ip}"));
        }
    }
}
