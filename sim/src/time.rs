//! Calendar arithmetic and RFC 3339 formatting/parsing, by hand (no chrono).

/// Milliseconds in a second.
pub const SECOND_MS: i64 = 1_000;
/// Milliseconds in a minute.
pub const MINUTE_MS: i64 = 60 * SECOND_MS;
/// Milliseconds in an hour.
pub const HOUR_MS: i64 = 60 * MINUTE_MS;
/// Milliseconds in a day.
pub const DAY_MS: i64 = 24 * HOUR_MS;

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Inverse of [`days_from_civil`]: `(year, month, day)`.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Day of the week of an epoch day number: 0 = Monday … 6 = Sunday.
pub fn weekday_of_epoch_day(day: i64) -> u32 {
    // 1970-01-01 was a Thursday (3).
    (day + 3).rem_euclid(7) as u32
}

/// `true` for Monday–Friday.
pub fn is_workday(weekday: u32) -> bool {
    weekday < 5
}

/// Formats epoch milliseconds as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub fn format_rfc3339_ms(ms: i64) -> String {
    let day = ms.div_euclid(DAY_MS);
    let rem = ms.rem_euclid(DAY_MS);
    let (y, m, d) = civil_from_days(day);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / HOUR_MS,
        rem % HOUR_MS / MINUTE_MS,
        rem % MINUTE_MS / SECOND_MS,
        rem % SECOND_MS
    )
}

/// Formats epoch milliseconds as `YYYY-MM-DDTHH:MM:SSZ`, adding `.mmm` only when needed.
pub fn format_rfc3339(ms: i64) -> String {
    let full = format_rfc3339_ms(ms);
    if ms.rem_euclid(SECOND_MS) == 0 {
        format!("{}Z", &full[..19])
    } else {
        full
    }
}

fn digits(b: &[u8]) -> Option<u32> {
    if b.is_empty() || b.len() > 9 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(b.iter().fold(0u32, |acc, &c| acc * 10 + (c - b'0') as u32))
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

/// Parses a start instant: a date (`2026-10-01`, meaning midnight UTC) or an RFC 3339 timestamp
/// (`2026-10-01T00:00:00Z`, `2026-10-01T09:30:00.250+02:00`; `T` may be a space; seconds are
/// optional). Years 1970–9999 only. Returns epoch milliseconds.
pub fn parse_start(s: &str) -> Option<i64> {
    let b = s.trim().as_bytes();
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let year = digits(&b[0..4])? as i64;
    let month = digits(&b[5..7])?;
    let day = digits(&b[8..10])?;
    if !(1970..=9999).contains(&year) || !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    let mut ms = days_from_civil(year, month, day) * DAY_MS;
    let rest = &b[10..];
    if rest.is_empty() {
        return Some(ms);
    }
    if !(rest[0] == b'T' || rest[0] == b't' || rest[0] == b' ') || rest.len() < 6 || rest[3] != b':' {
        return None;
    }
    let hour = digits(&rest[1..3])?;
    let minute = digits(&rest[4..6])?;
    let mut i = 6;
    let mut second = 0;
    let mut frac_ms = 0;
    if rest.get(i) == Some(&b':') {
        second = digits(rest.get(i + 1..i + 3)?)?;
        i += 3;
        if rest.get(i) == Some(&b'.') {
            let start = i + 1;
            let mut end = start;
            while end < rest.len() && rest[end].is_ascii_digit() {
                end += 1;
            }
            if end == start {
                return None;
            }
            let frac = &rest[start..end.min(start + 3)];
            frac_ms = digits(frac)? * 10u32.pow(3 - frac.len() as u32);
            i = end;
        }
    }
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    ms += hour as i64 * HOUR_MS + minute as i64 * MINUTE_MS + second as i64 * SECOND_MS + frac_ms as i64;
    match &rest[i..] {
        b"" | b"Z" | b"z" => Some(ms),
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let oh = digits(&[*h1, *h2])?;
            let om = digits(&[*m1, *m2])?;
            if oh > 23 || om > 59 {
                return None;
            }
            let offset = oh as i64 * HOUR_MS + om as i64 * MINUTE_MS;
            Some(if *sign == b'+' { ms - offset } else { ms + offset })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses() {
        let ms = parse_start("2026-10-01").unwrap();
        assert_eq!(format_rfc3339_ms(ms), "2026-10-01T00:00:00.000Z");
        assert_eq!(format_rfc3339(ms), "2026-10-01T00:00:00Z");
        assert_eq!(parse_start("2026-10-01T00:00:00Z"), Some(ms));
        assert_eq!(parse_start("2026-10-01 02:00:00+02:00"), Some(ms));
        assert_eq!(
            format_rfc3339_ms(parse_start("2026-10-01T08:03:12.5Z").unwrap()),
            "2026-10-01T08:03:12.500Z"
        );
        assert_eq!(weekday_of_epoch_day(ms / DAY_MS), 3, "2026-10-01 is a Thursday");
        for bad in [
            "",
            "yesterday",
            "2026-13-01",
            "2026-02-29",
            "2026-10-01T25:00:00Z",
            "2026-10-01T10:00:00Q",
            "1969-12-31",
            "2026-10-01T10:00:00.Z",
        ] {
            assert_eq!(parse_start(bad), None, "{bad:?}");
        }
        assert!(parse_start("2028-02-29").is_some());
    }
}
