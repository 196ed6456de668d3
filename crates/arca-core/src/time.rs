//! Instants as people write them: epoch milliseconds, or an RFC 3339 date-time (and the shorter
//! forms a person types: a date alone, minutes without seconds, a space for the `T`), in UTC
//! unless an offset says otherwise. Small enough to write here rather than add a date library:
//! civil-date arithmetic after Howard Hinnant's `days_from_civil`.

/// Days since 1970-01-01 of a proleptic Gregorian date.
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn number(s: &str, len: usize) -> Option<i64> {
    (s.len() == len && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

/// Epoch milliseconds of `raw`: digits are epoch milliseconds; otherwise
/// `YYYY-MM-DD[(T| )HH:MM[:SS[.fff]]][Z|±HH:MM]`.
pub fn parse_instant(raw: &str) -> Result<i64, String> {
    let fail = || {
        format!(
            "invalid time '{raw}': use YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS] (UTC), RFC 3339 such as \
             2026-11-30T14:05:00+01:00, or epoch milliseconds"
        )
    };
    let s = raw.trim();
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse().map_err(|_| fail());
    }
    let (date, clock) = match s.split_once(['T', 't', ' ']) {
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
    let mut millis = 0;
    let mut offset_minutes = 0;
    if let Some(clock) = clock {
        let (clock, offset) = if let Some(c) = clock.strip_suffix(['Z', 'z']) {
            (c, None)
        } else if let Some(at) = clock.rfind(['+', '-']) {
            (&clock[..at], Some(&clock[at..]))
        } else {
            (clock, None)
        };
        if let Some(offset) = offset {
            let sign = if offset.starts_with('-') { -1 } else { 1 };
            let (h, m) = offset[1..].split_once(':').ok_or_else(fail)?;
            let h = number(h, 2).filter(|h| *h < 24).ok_or_else(fail)?;
            let m = number(m, 2).filter(|m| *m < 60).ok_or_else(fail)?;
            offset_minutes = sign * (h * 60 + m);
        }
        let fields: Vec<&str> = clock.split(':').collect();
        if !(2..=3).contains(&fields.len()) {
            return Err(fail());
        }
        let h = number(fields[0], 2).filter(|h| *h < 24).ok_or_else(fail)?;
        let min = number(fields[1], 2).filter(|m| *m < 60).ok_or_else(fail)?;
        let (sec, frac_ms) = match fields.get(2) {
            Some(s) => {
                let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
                let sec = number(whole, 2).filter(|s| *s < 60).ok_or_else(fail)?;
                if !frac.bytes().all(|b| b.is_ascii_digit()) || (s.contains('.') && frac.is_empty())
                {
                    return Err(fail());
                }
                let ms = format!("{frac:0<3}")[..3]
                    .parse::<i64>()
                    .map_err(|_| fail())?;
                (sec, ms)
            }
            None => (0, 0),
        };
        millis = (h * 3600 + min * 60 + sec) * 1000 + frac_ms;
    }
    Ok(days_from_civil(y, m, d) * 86_400_000 + millis - offset_minutes * 60_000)
}

#[cfg(test)]
mod tests {
    use super::parse_instant;

    #[test]
    fn rfc3339_and_epoch_milliseconds_name_the_same_instant() {
        for (raw, millis) in [
            ("1795737600000", 1_795_737_600_000),
            ("0", 0),
            ("2026-11-27", 1_795_737_600_000),
            ("2024-02-29T13:45:07Z", 1_709_214_307_000),
            ("2024-02-29T13:45:07.25Z", 1_709_214_307_250),
            ("2024-02-29T15:45:07+02:00", 1_709_214_307_000),
            ("2024-02-29T08:15:07.123-05:30", 1_709_214_307_123),
            ("2024-02-29 13:45", 1_709_214_300_000),
        ] {
            assert_eq!(parse_instant(raw), Ok(millis), "{raw}");
        }
        for bad in [
            "2023-02-29",
            "2024-13-01",
            "24-01-01",
            "2024-01-01T25:00",
            "2024-01-01T10:00:00+5",
            "2024-01-01T10:00:00.",
            "yesterday",
            "-5",
            "",
        ] {
            assert!(parse_instant(bad).is_err(), "{bad}");
        }
    }
}
