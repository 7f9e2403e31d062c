//! Timestamps: parsing RFC 3339 / epoch values to milliseconds, formatting back, bucket maths.
//!
//! Written by hand (no chrono) to keep the core small and identical on every target.

/// Milliseconds in one day.
pub const DAY_MS: i64 = 86_400_000;

/// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Inverse of `days_from_civil`: (year, month, day) of a day number (days since 1970-01-01).
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

/// Epoch milliseconds of a calendar date and time (UTC). Exposed for the syslog parser and tests.
pub fn epoch_ms(year: i64, month: u32, day: u32, h: u32, mi: u32, s: u32, ms: u32) -> i64 {
    days_from_civil(year, month, day) * DAY_MS
        + (h as i64) * 3_600_000
        + (mi as i64) * 60_000
        + (s as i64) * 1000
        + ms as i64
}

fn digits(b: &[u8]) -> Option<u32> {
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    b.iter()
        .try_fold(0u32, |acc, &c| acc.checked_mul(10)?.checked_add((c - b'0') as u32))
}

/// The form shippers write (`2026-10-01T08:03:12.345Z`: Filebeat, Elastic Agent, Winlogbeat) in
/// one pass, with [`parse_rfc3339_ms`]'s checks; `None` for any other text, which the general
/// parser then reads.
fn parse_shipper_form(b: &[u8]) -> Option<i64> {
    Some(shipper_day_ms(b)? + shipper_time_of_day_ms(b)?)
}

/// The date of a shipper-form timestamp (its layout checked whole), as the epoch milliseconds of
/// its midnight.
fn shipper_day_ms(b: &[u8]) -> Option<i64> {
    let b: &[u8; 24] = b.try_into().ok()?;
    if b[10] != b'T' || b[13] != b':' || b[16] != b':' || b[19] != b'.' || b[23] != b'Z' {
        return None;
    }
    // `YYYY-MM-`, then `YY-MM-DD` (the year's and month's digits checked twice).
    let head = digits_where(word(b, 0), 0x00FF_FF00_FFFF_FFFF, 0x2D00_002D_0000_0000)?;
    let tail = digits_where(word(b, 2), 0xFFFF_00FF_FF00_FFFF, 0x0000_2D00_002D_0000)?;
    let (head, tail) = (pairs(head), pairs(tail));
    let year = byte(head, 0) * 100 + byte(head, 2);
    let (month, day) = (byte(head, 5), byte(tail, 6));
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    Some(days_from_civil(i64::from(year), month, day) * DAY_MS)
}

/// The time of day of a 24-byte shipper-form timestamp, in milliseconds (its layout checked
/// again: this is also what a [`DayCache`] hit reads).
fn shipper_time_of_day_ms(b: &[u8]) -> Option<i64> {
    let b: &[u8; 24] = b.try_into().ok()?;
    if b[10] != b'T' {
        return None;
    }
    // `HH:MM:SS`, then `:SS.mmmZ` (the seconds' digits checked twice).
    let clock = digits_where(word(b, 11), 0xFFFF_00FF_FF00_FFFF, 0x0000_3A00_003A_0000)?;
    let fraction = digits_where(word(b, 16), 0x00FF_FFFF_00FF_FF00, 0x5A00_0000_2E00_003A)?;
    let clock = pairs(clock);
    let (h, mi, sec) = (byte(clock, 0), byte(clock, 3), byte(clock, 6));
    let ms = byte(pairs(fraction), 4) * 10 + byte(fraction, 6);
    if h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    Some(i64::from(h) * 3_600_000 + i64::from(mi) * 60_000 + i64::from(sec.min(59)) * 1000 + i64::from(ms))
}

/// Bytes `at..at + 8` of a timestamp as a little-endian word (`at <= 16`).
fn word(b: &[u8; 24], at: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(w)
}

/// Byte `i` of `w`.
fn byte(w: u64, i: u32) -> u32 {
    (w >> (8 * i)) as u32 & 0xFF
}

/// Digit values (at most 9 a byte) read in pairs: byte `i` becomes ten times itself plus byte
/// `i + 1` (at most 99, so no byte carries into the next).
fn pairs(digits: u64) -> u64 {
    digits.wrapping_mul(10).wrapping_add(digits >> 8)
}

/// The values of the bytes of `w` where `digits` has `0xff` (0 elsewhere) if they are ASCII
/// digits and the others are `fixed`'s: eight bytes checked at once.
fn digits_where(w: u64, digits: u64, fixed: u64) -> Option<u64> {
    const HIGH_NIBBLES: u64 = 0xF0F0_F0F0_F0F0_F0F0;
    const ZEROS: u64 = 0x3030_3030_3030_3030;
    const SIXES: u64 = 0x0606_0606_0606_0606;
    let d = w & digits;
    // A digit byte is 0x30..=0x3f, and still so with 6 added (no carry past it) only up to 0x39.
    let ok = w & !digits == fixed
        && d & HIGH_NIBBLES == ZEROS & digits
        && d.wrapping_add(SIXES & digits) & HIGH_NIBBLES == ZEROS & digits;
    ok.then_some(d & 0x0F0F_0F0F_0F0F_0F0F)
}

/// The date of the last shipper-form timestamp parsed through it. A stream's lines come nearly
/// in time order, so most share their date with the line before, and the date's digits and
/// calendar arithmetic are done once a day instead of once a line.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct DayCache {
    /// The date's ten bytes (`2026-10-01`) and its midnight; `None` before the first.
    last: Option<([u8; 10], i64)>,
}

impl DayCache {
    /// [`parse_rfc3339_ms`]`(s)`, the same answer for every text. The same-day case, a few word
    /// operations, is inlined where it is called; another day's date is parsed out of line.
    #[inline]
    pub(crate) fn parse_rfc3339_ms(&mut self, s: &str) -> Option<i64> {
        match self.same_day_ms(s.as_bytes()) {
            Some(ms) => Some(ms),
            None => self.parse_other_day_ms(s),
        }
    }

    /// [`Self::parse_rfc3339_ms`] of a text that is not of the cached date's day.
    #[inline(never)]
    fn parse_other_day_ms(&mut self, s: &str) -> Option<i64> {
        let b = s.as_bytes();
        let midnight = shipper_day_ms(b);
        if let (Some(midnight), Some(t)) = (midnight, shipper_time_of_day_ms(b)) {
            let mut date = [0u8; 10];
            date.copy_from_slice(&b[..10]);
            self.last = Some((date, midnight));
            return Some(midnight + t);
        }
        parse_rfc3339_ms(s)
    }

    /// [`parse_rfc3339_ms`] of `b` if it is a shipper-form timestamp (so only digits and
    /// `-T:.Z`) of the cached date; `None` otherwise.
    #[inline]
    pub(crate) fn same_day_ms(&self, b: &[u8]) -> Option<i64> {
        let (date, midnight) = self.last?;
        // The cached date was checked as a shipper form's; the same ten bytes are the same date,
        // so only the rest needs reading.
        if b.get(..10)? != date {
            return None;
        }
        Some(midnight + shipper_time_of_day_ms(b)?)
    }
}

/// Parses an RFC 3339 / ISO-8601 timestamp (`2026-10-01T08:03:12.5Z`, `…+02:00`, a space instead
/// of `T`, or a date alone) to epoch milliseconds. Fractions beyond milliseconds are truncated;
/// a missing zone means UTC.
pub fn parse_rfc3339_ms(s: &str) -> Option<i64> {
    // Trimming decodes characters at both ends: skip it when they are visible ASCII, as they
    // nearly always are.
    let visible = |c: Option<&u8>| c.is_some_and(|&c| c > b' ' && c < 0x7f);
    let b = if visible(s.as_bytes().first()) && visible(s.as_bytes().last()) {
        s.as_bytes()
    } else {
        s.trim().as_bytes()
    };
    parse_shipper_form(b).or_else(|| parse_any_form(b))
}

/// [`parse_rfc3339_ms`] of trimmed text, every form.
fn parse_any_form(b: &[u8]) -> Option<i64> {
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let year = digits(&b[0..4])? as i64;
    let month = digits(&b[5..7])?;
    let day = digits(&b[8..10])?;
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    if b.len() == 10 {
        return Some(epoch_ms(year, month, day, 0, 0, 0, 0));
    }
    if !(b[10] == b'T' || b[10] == b't' || b[10] == b' ') || b.len() < 19 || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let h = digits(&b[11..13])?;
    let mi = digits(&b[14..16])?;
    let sec = digits(&b[17..19])?;
    if h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let mut i = 19;
    let mut ms = 0u32;
    if i < b.len() && (b[i] == b'.' || b[i] == b',') {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            if i - start < 3 {
                ms = ms * 10 + (b[i] - b'0') as u32;
            }
            i += 1;
        }
        let n = i - start;
        if n == 0 {
            return None;
        }
        for _ in n..3 {
            ms *= 10;
        }
    }
    let mut offset_min: i64 = 0;
    if i < b.len() {
        match b[i] {
            b'Z' | b'z' if i + 1 == b.len() => {}
            b'+' | b'-' => {
                let sign = if b[i] == b'-' { -1 } else { 1 };
                let rest = &b[i + 1..];
                let (oh, om) = match rest.len() {
                    5 if rest[2] == b':' => (digits(&rest[0..2])?, digits(&rest[3..5])?),
                    4 => (digits(&rest[0..2])?, digits(&rest[2..4])?),
                    2 => (digits(rest)?, 0),
                    _ => return None,
                };
                if oh > 23 || om > 59 {
                    return None;
                }
                offset_min = sign * (oh as i64 * 60 + om as i64);
            }
            _ => return None,
        }
    }
    Some(epoch_ms(year, month, day, h, mi, sec.min(59), ms) - offset_min * 60_000)
}

/// Formats epoch milliseconds as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub fn format_rfc3339_ms(ms: i64) -> String {
    let mut out = String::with_capacity(24);
    push_rfc3339_ms(&mut out, ms);
    out
}

/// Appends [`format_rfc3339_ms`]`(ms)` to `out`. Written by hand: `format!` with seven padded
/// integers cost ~3 300 instructions a call and was a fifth of the detector's time.
pub fn push_rfc3339_ms(out: &mut String, ms: i64) {
    let days = ms.div_euclid(DAY_MS);
    let rem = ms.rem_euclid(DAY_MS);
    let (y, m, d) = civil_from_days(days);
    let h = rem / 3_600_000;
    let mi = (rem / 60_000) % 60;
    let s = (rem / 1000) % 60;
    let milli = rem % 1000;
    if !(0..=9999).contains(&y) {
        // Years outside 0000–9999 (a sign or a fifth digit): the general formatter.
        use std::fmt::Write;
        let _ = write!(out, "{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{milli:03}Z");
        return;
    }
    #[inline(always)]
    fn two(n: u32) -> [u8; 2] {
        [b'0' + (n / 10) as u8, b'0' + (n % 10) as u8]
    }
    let (y, h, mi, s, milli) = (y as u32, h as u32, mi as u32, s as u32, milli as u32);
    let [y0, y1] = two(y / 100);
    let [y2, y3] = two(y % 100);
    let [m0, m1] = two(m);
    let [d0, d1] = two(d);
    let [h0, h1] = two(h);
    let [i0, i1] = two(mi);
    let [s0, s1] = two(s);
    let [f1, f2] = two(milli % 100);
    let f0 = b'0' + (milli / 100) as u8;
    let buf = [
        y0, y1, y2, y3, b'-', m0, m1, b'-', d0, d1, b'T', h0, h1, b':', i0, i1, b':', s0, s1, b'.', f0, f1, f2, b'Z',
    ];
    // Only ASCII digits and separators above.
    out.push_str(std::str::from_utf8(&buf).unwrap_or_default());
}

/// The start of the epoch-aligned bucket containing `ms`.
pub fn bucket_start(ms: i64, span_ms: i64) -> i64 {
    ms.div_euclid(span_ms) * span_ms
}

/// The day number (days since epoch, UTC) of `ms`.
pub fn day_number(ms: i64) -> i64 {
    ms.div_euclid(DAY_MS)
}

/// Parses a duration such as `15m`, `24h`, `30d`, `900s`, `500ms` to milliseconds.
pub fn parse_duration_ms(s: &str) -> Option<i64> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit())?;
    let (num, unit) = s.split_at(split);
    let n: i64 = num.parse().ok()?;
    let mult = match unit {
        "ms" => 1,
        "s" => 1000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => DAY_MS,
        "w" => 7 * DAY_MS,
        _ => return None,
    };
    n.checked_mul(mult)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipper_form_shortcut_agrees_with_the_general_parser() {
        let mut next = crate::xorshift(0x9e37_79b9_7f4a_7c15);
        let template = b"2026-10-01T08:03:12.345Z";
        let mut answered = 0;
        for i in 0..300_000 {
            let mut b = template.to_vec();
            // Change one to three characters: digits, separators, letters, or drop the last.
            for _ in 0..=(next() % 3) {
                let at = (next() % 24) as usize;
                b[at] = b"0123456789-T:.Z +t/;\xb0"[(next() % 21) as usize];
            }
            if i % 7 == 0 {
                b.truncate((next() % 25) as usize);
            }
            if let Some(ms) = parse_shipper_form(&b) {
                assert_eq!(Some(ms), parse_any_form(&b), "{}", String::from_utf8_lossy(&b));
                answered += 1;
            }
        }
        assert!(answered > 20_000, "{answered}");
        // Every byte at every place.
        for at in 0..template.len() {
            for byte in 0..=255u8 {
                let mut b = template.to_vec();
                b[at] = byte;
                if let Some(ms) = parse_shipper_form(&b) {
                    assert_eq!(Some(ms), parse_any_form(&b), "{}", String::from_utf8_lossy(&b));
                }
            }
        }
        for edge in [
            "2026-12-31T23:59:60.999Z",
            "0000-01-01T00:00:00.000Z",
            "2026-02-31T00:00:00.000Z",
        ] {
            assert_eq!(
                parse_shipper_form(edge.as_bytes()),
                parse_any_form(edge.as_bytes()),
                "{edge}"
            );
        }
    }

    #[test]
    fn the_day_cache_gives_the_parser_s_answers() {
        let mut next = crate::xorshift(0x2545_f491_4f6c_dd1d);
        let mut cache = DayCache::default();
        let templates = [
            "2026-10-01T08:03:12.345Z",
            "2026-10-02T23:59:60.999Z",
            "2026-02-31T00:00:00.000Z",
            "2026-10-01T08:03:12Z",
            " 2026-10-01T08:03:12.345Z",
        ];
        let mut hits = 0;
        for i in 0..300_000 {
            let mut b = templates[(next() % 5) as usize].as_bytes().to_vec();
            // Mostly the same date, sometimes another, sometimes a broken one.
            for _ in 0..(next() % 3) {
                let at = (next() % b.len() as u64) as usize;
                b[at] = b"0123456789-T:.Z +t"[(next() % 18) as usize];
            }
            if i % 11 == 0 {
                b.truncate((next() % 25) as usize);
            }
            let Ok(text) = std::str::from_utf8(&b) else { continue };
            let expected = parse_rfc3339_ms(text);
            hits += usize::from(cache.last.is_some_and(|(d, _)| b.get(..10) == Some(&d[..])));
            assert_eq!(cache.parse_rfc3339_ms(text), expected, "{text}");
        }
        assert!(hits > 20_000, "{hits}");
    }

    /// Winlogbeat's times (the shipper form) on a few dates, a leap day and a non-existent one,
    /// leap seconds, and now and then any byte anywhere or a cut.
    #[test]
    fn the_day_cache_answers_winlogbeat_times_as_the_parser() {
        let mut next = crate::xorshift(0x5851_f42d_4c95_7f2d);
        let mut day = DayCache::default();
        let mut hits = 0;
        let mut text = *b"2026-10-01T00:04:31.853Z";
        for _ in 0..200_000 {
            let r = next();
            // Mostly a new time of day on one of a few dates; now and then any byte anywhere.
            if r % 8 == 0 {
                text[..10].copy_from_slice(
                    [b"2026-10-01", b"2024-02-29", b"1999-12-31", b"2023-02-29"][(r >> 8) as usize % 4],
                );
            }
            // Mostly a valid time of day (a leap second now and then), else any digits.
            let (h, mi, sec, ms) = if r % 8 != 3 {
                ((r >> 10) % 24, (r >> 16) % 60, (r >> 22) % 61, (r >> 28) % 1000)
            } else {
                ((r >> 10) % 100, (r >> 16) % 100, (r >> 22) % 100, (r >> 28) % 1000)
            };
            let time = format!("{h:02}:{mi:02}:{sec:02}.{ms:03}");
            text[11..23].copy_from_slice(time.as_bytes());
            let mut odd = text.to_vec();
            if r % 16 == 1 {
                let at = (r >> 40) as usize % odd.len();
                let bytes = b"0123456789-:.TZz +\xff";
                odd[at] = bytes[(r >> 48) as usize % bytes.len()];
            }
            if r % 64 == 2 {
                odd.truncate((r >> 50) as usize % 25);
            }
            let Ok(s) = std::str::from_utf8(&odd) else {
                continue;
            };
            let before = day.last;
            assert_eq!(day.parse_rfc3339_ms(s), parse_rfc3339_ms(s), "{s}");
            hits +=
                usize::from(before.is_some() && before == day.last && shipper_time_of_day_ms(s.as_bytes()).is_some());
        }
        assert!(hits > 50_000, "{hits}");
    }

    #[test]
    fn parses_common_shapes() {
        assert_eq!(parse_rfc3339_ms("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_rfc3339_ms("2026-10-01T08:03:12.000Z"), Some(1_790_841_792_000));
        assert_eq!(
            parse_rfc3339_ms("2022-04-04T18:53:08.6510289Z"),
            Some(1_649_098_388_651)
        );
        assert_eq!(
            parse_rfc3339_ms("2026-10-01T10:03:12+02:00"),
            parse_rfc3339_ms("2026-10-01T08:03:12Z")
        );
        assert_eq!(
            parse_rfc3339_ms("2026-10-01 08:03:12"),
            parse_rfc3339_ms("2026-10-01T08:03:12Z")
        );
        assert_eq!(parse_rfc3339_ms("2026-13-01T00:00:00Z"), None);
        assert_eq!(parse_rfc3339_ms("garbage"), None);
        assert_eq!(parse_rfc3339_ms("2026-10-01T08:03:12.Z"), None);
    }

    #[test]
    fn hand_formatter_matches_format_macro() {
        let reference = |ms: i64| {
            let days = ms.div_euclid(DAY_MS);
            let rem = ms.rem_euclid(DAY_MS);
            let (y, m, d) = civil_from_days(days);
            let (h, mi, s, milli) = (rem / 3_600_000, (rem / 60_000) % 60, (rem / 1000) % 60, rem % 1000);
            format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{milli:03}Z")
        };
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut cases = vec![
            0i64,
            -1,
            1_790_323_392_123,
            -86_400_001,
            4_102_444_800_000,
            253_402_300_799_999,
            253_402_300_800_000,
            -62_167_219_200_000,
            -62_167_219_200_001,
            i64::MAX / 4,
            i64::MIN / 4,
        ];
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            cases.push((x % 600_000_000_000_000) as i64 - 300_000_000_000_000);
        }
        for ms in cases {
            assert_eq!(format_rfc3339_ms(ms), reference(ms), "{ms}");
        }
    }

    #[test]
    fn format_round_trips() {
        for ms in [0i64, 1_790_323_392_123, -86_400_001, 4_102_444_800_000] {
            assert_eq!(parse_rfc3339_ms(&format_rfc3339_ms(ms)), Some(ms));
        }
    }

    #[test]
    fn buckets_are_epoch_aligned() {
        assert_eq!(bucket_start(899_999, 900_000), 0);
        assert_eq!(bucket_start(900_000, 900_000), 900_000);
        assert_eq!(bucket_start(-1, 900_000), -900_000);
        assert_eq!(parse_duration_ms("15m"), Some(900_000));
        assert_eq!(parse_duration_ms("30d"), Some(30 * DAY_MS));
        assert_eq!(parse_duration_ms("15x"), None);
    }
}
