//! Dates on the command line and in tables, in UTC (parsing is `arca_core::time`'s); the
//! inverse of Howard Hinnant's `days_from_civil` for display.

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

/// `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM[:SS][Z]` (also with a space for `T`), all UTC, RFC 3339 with
/// an offset, or epoch milliseconds; answers epoch milliseconds.
pub fn parse_time(raw: &str) -> Result<i64, String> {
    arca_core::time::parse_instant(raw)
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
