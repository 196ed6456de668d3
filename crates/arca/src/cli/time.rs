//! Dates on the command line and in tables, in UTC. Small enough to write here rather than add a
//! date library: civil-date arithmetic after Howard Hinnant's `days_from_civil`.

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn number(s: &str, len: usize) -> Option<i64> {
    (s.len() == len && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

/// `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM[:SS][Z]` (also with a space for `T`), all UTC, or epoch
/// milliseconds; answers epoch milliseconds.
pub fn parse_time(raw: &str) -> Result<i64, String> {
    let fail = || {
        format!(
            "invalid time '{raw}': use YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS] (UTC) or epoch milliseconds"
        )
    };
    let s = raw.trim();
    if !s.is_empty() && s.len() > 10 && s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse().map_err(|_| fail());
    }
    let s = s.strip_suffix('Z').unwrap_or(s);
    let (date, clock) = match s.split_once(['T', ' ']) {
        Some((d, c)) => (d, Some(c)),
        None => (s, None),
    };
    let mut parts = date.split('-');
    let (Some(y), Some(m), Some(d), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(fail());
    };
    let (y, m, d) = (
        number(y, 4).ok_or_else(fail)?,
        number(m, 2).ok_or_else(fail)?,
        number(d, 2).ok_or_else(fail)?,
    );
    let days_in_month = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        _ => return Err(fail()),
    };
    if d < 1 || d > days_in_month {
        return Err(fail());
    }
    let mut seconds = 0;
    if let Some(clock) = clock {
        let fields: Vec<&str> = clock.split(':').collect();
        if !(2..=3).contains(&fields.len()) {
            return Err(fail());
        }
        let h = number(fields[0], 2).filter(|h| *h < 24).ok_or_else(fail)?;
        let min = number(fields[1], 2).filter(|m| *m < 60).ok_or_else(fail)?;
        let sec = match fields.get(2) {
            Some(s) => number(s, 2).filter(|s| *s < 60).ok_or_else(fail)?,
            None => 0,
        };
        seconds = h * 3600 + min * 60 + sec;
    }
    Ok((days_from_civil(y, m, d) * 86_400 + seconds) * 1000)
}

/// `YYYY-MM-DD HH:MM` in UTC; empty for 0 (a registry that did not send the time).
pub fn format_time(millis: i64) -> String {
    if millis <= 0 {
        return String::new();
    }
    let seconds = millis.div_euclid(1000);
    let (y, m, d) = civil_from_days(seconds.div_euclid(86_400));
    let in_day = seconds.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}",
        in_day / 3600,
        (in_day % 3600) / 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip_through_epoch_milliseconds() {
        assert_eq!(parse_time("1970-01-01").unwrap(), 0);
        assert_eq!(parse_time("2026-11-27").unwrap(), 1_795_737_600_000);
        assert_eq!(
            parse_time("2024-02-29T13:45:07Z").unwrap(),
            1_709_214_307_000
        );
        assert_eq!(parse_time("2024-02-29 13:45").unwrap(), 1_709_214_300_000);
        assert_eq!(parse_time("1795737600000").unwrap(), 1_795_737_600_000);
        assert_eq!(format_time(1_709_214_307_000), "2024-02-29 13:45");
        assert_eq!(format_time(0), "");
        for bad in [
            "2023-02-29",
            "2024-13-01",
            "24-01-01",
            "2024-01-01T25:00",
            "yesterday",
            "",
        ] {
            assert!(parse_time(bad).is_err(), "{bad}");
        }
    }
}
