//! Instants as the True API writes them (`2026-12-02T10:00:00.000Z`), without a date crate.

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (Howard Hinnant's
/// `civil_from_days`).
fn civil(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// (year, month, day) to days since 1970-01-01 (`days_from_civil`).
fn days(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `yyyy-MM-ddTHH:mm:ss.SSSZ`.
pub fn format_ms(ms: i64) -> String {
    let (y, m, d) = civil(ms.div_euclid(86_400_000));
    let t = ms.rem_euclid(86_400_000);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        t / 3_600_000,
        t / 60_000 % 60,
        t / 1000 % 60,
        t % 1000
    )
}

/// `yyyy-MM-ddTHH:mm:ss[.SSS]Z` (UTC) or a plain `yyyy-MM-dd` (its midnight), as `doc/list`
/// takes them.
pub fn parse(text: &str) -> Option<i64> {
    let num = |s: &str| -> Option<i64> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        s.parse().ok()
    };
    let (date, time) = match text.split_once('T') {
        Some((date, time)) => (date, Some(time)),
        None => (text, None),
    };
    let mut parts = date.split('-');
    let (y, m, d) = (
        num(parts.next()?)?,
        num(parts.next()?)?,
        num(parts.next()?)?,
    );
    if parts.next().is_some()
        || date.len() != 10
        || !(1..=12).contains(&m)
        || !(1..=31).contains(&d)
    {
        return None;
    }
    let mut ms = days(y, m, d) * 86_400_000;
    if let Some(time) = time {
        let time = time.strip_suffix('Z')?;
        let (hms, frac) = match time.split_once('.') {
            Some((hms, frac)) => (hms, Some(frac)),
            None => (time, None),
        };
        let mut parts = hms.split(':');
        let (h, mi, s) = (
            num(parts.next()?)?,
            num(parts.next()?)?,
            num(parts.next()?)?,
        );
        if parts.next().is_some() || h > 23 || mi > 59 || s > 60 {
            return None;
        }
        ms += (h * 3600 + mi * 60 + s) * 1000;
        if let Some(frac) = frac {
            if frac.len() > 9 {
                return None;
            }
            let padded = format!("{frac:0<3}");
            ms += num(&padded[..3])?;
        }
    }
    Some(ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let ms = parse("2026-12-02T10:00:00.123Z");
        assert_eq!(
            ms.map(format_ms).as_deref(),
            Some("2026-12-02T10:00:00.123Z")
        );
        assert_eq!(format_ms(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            parse("2024-02-29").map(format_ms).as_deref(),
            Some("2024-02-29T00:00:00.000Z")
        );
        assert_eq!(
            parse("2026-12-02T10:00:00Z"),
            parse("2026-12-02T10:00:00.000Z")
        );
        assert_eq!(parse("2026-12-02T10:00:00"), None);
        assert_eq!(parse("2026-13-02"), None);
        assert_eq!(parse("yesterday"), None);
    }
}
