//! [`Timestamp`]: an instant in UTC with an RFC 3339 parser and formatter (no date library). The
//! API validates and compares its date-times with it (`startDate` < `endDate`), the store keeps
//! it as milliseconds, and every response formats it the way Algolia does
//! (`2023-07-01T12:00:00.000Z`).

use std::fmt;

/// An instant in UTC, parsed from an RFC 3339 date-time (`2023-07-01T12:00:00Z`,
/// `2023-07-01T14:00:00.5+02:00`). Ordering compares instants, offsets included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    unix_seconds: i64,
    nanos: u32,
}

/// A string that is not an RFC 3339 date-time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be an RFC 3339 date-time such as `2023-07-01T12:00:00Z`, got `{0}`")]
pub struct InvalidTimestamp(String);

impl Timestamp {
    /// The instant `unix_seconds` (+ `nanos`, below one second) after 1970-01-01T00:00:00Z.
    /// Nanoseconds of one second or more are carried into the seconds.
    pub fn from_unix(unix_seconds: i64, nanos: u32) -> Self {
        Self {
            unix_seconds: unix_seconds.saturating_add(i64::from(nanos / 1_000_000_000)),
            nanos: nanos % 1_000_000_000,
        }
    }

    /// Seconds since the Unix epoch.
    pub fn unix_seconds(&self) -> i64 {
        self.unix_seconds
    }

    /// The fraction of the second, in nanoseconds.
    pub fn nanos(&self) -> u32 {
        self.nanos
    }

    /// Parses an RFC 3339 date-time: `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`. `T` and `Z` may
    /// be lowercase; a leap second (`:60`) is accepted. Digits past nanoseconds are dropped.
    pub fn parse(s: &str) -> Result<Self, InvalidTimestamp> {
        parse(s.as_bytes()).ok_or_else(|| InvalidTimestamp(s.to_owned()))
    }

    /// Formats as RFC 3339 in UTC with millisecond precision: `2023-07-01T12:00:00.000Z` (the
    /// form Algolia's API returns).
    pub fn to_rfc3339(&self) -> String {
        let days = self.unix_seconds.div_euclid(86_400);
        let secs = self.unix_seconds.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        format!(
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
            secs / 3600,
            secs / 60 % 60,
            secs % 60,
            self.nanos / 1_000_000
        )
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

impl std::str::FromStr for Timestamp {
    type Err = InvalidTimestamp;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// Reads `n` ASCII digits at `*pos` as a number.
fn digits(b: &[u8], pos: &mut usize, n: usize) -> Option<u32> {
    let chunk = b.get(*pos..*pos + n)?;
    let mut v = 0u32;
    for c in chunk {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + u32::from(c - b'0');
    }
    *pos += n;
    Some(v)
}

fn expect(b: &[u8], pos: &mut usize, allowed: &[u8]) -> Option<u8> {
    let c = *b.get(*pos)?;
    if allowed.contains(&c) {
        *pos += 1;
        Some(c)
    } else {
        None
    }
}

fn parse(b: &[u8]) -> Option<Timestamp> {
    let mut p = 0;
    let year = digits(b, &mut p, 4)?;
    expect(b, &mut p, b"-")?;
    let month = digits(b, &mut p, 2)?;
    expect(b, &mut p, b"-")?;
    let day = digits(b, &mut p, 2)?;
    expect(b, &mut p, b"Tt")?;
    let hour = digits(b, &mut p, 2)?;
    expect(b, &mut p, b":")?;
    let minute = digits(b, &mut p, 2)?;
    expect(b, &mut p, b":")?;
    let second = digits(b, &mut p, 2)?;
    let mut nanos = 0u32;
    if expect(b, &mut p, b".").is_some() {
        let start = p;
        let mut scale = 100_000_000u32;
        while let Some(c) = b.get(p).filter(|c| c.is_ascii_digit()) {
            nanos += u32::from(c - b'0') * scale;
            scale /= 10;
            p += 1;
        }
        if p == start {
            return None;
        }
    }
    let offset_minutes: i64 = match expect(b, &mut p, b"Zz+-")? {
        b'Z' | b'z' => 0,
        sign => {
            let oh = digits(b, &mut p, 2)?;
            expect(b, &mut p, b":")?;
            let om = digits(b, &mut p, 2)?;
            if oh > 23 || om > 59 {
                return None;
            }
            let m = i64::from(oh * 60 + om);
            if sign == b'-' { -m } else { m }
        }
    };
    if p != b.len()
        || !(1..=12).contains(&month)
        || day == 0
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let days = days_from_civil(i64::from(year), month, day);
    let seconds =
        days * 86_400 + i64::from(hour * 3600 + minute * 60 + second) - offset_minutes * 60;
    Some(Timestamp {
        unix_seconds: seconds,
        nanos,
    })
}

fn is_leap(year: u32) -> bool {
    year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400))
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = i64::from((month + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day count since 1970-01-01 (inverse of [`days_from_civil`]).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        Timestamp::parse(s).unwrap()
    }

    #[test]
    fn parses_utc_and_offsets_to_the_same_instant() {
        assert_eq!(ts("1970-01-01T00:00:00Z").unix_seconds(), 0);
        assert_eq!(ts("2023-07-01T12:00:00Z").unix_seconds(), 1_688_212_800);
        assert_eq!(ts("2023-07-01T14:00:00+02:00"), ts("2023-07-01T12:00:00Z"));
        assert_eq!(ts("2023-07-01T07:30:00-04:30"), ts("2023-07-01T12:00:00z"));
        assert_eq!(ts("2023-07-01t12:00:00.250Z").nanos(), 250_000_000);
        assert_eq!(ts("2023-07-01T12:00:00.1234567891Z").nanos(), 123_456_789);
        assert!(ts("2023-07-01T12:00:00.5Z") > ts("2023-07-01T12:00:00Z"));
        assert_eq!(ts("2024-02-29T00:00:00Z").unix_seconds(), 1_709_164_800);
        assert_eq!(ts("1969-12-31T23:59:59Z").unix_seconds(), -1);
        assert!(Timestamp::parse("2023-06-30T23:59:60Z").is_ok());
    }

    #[test]
    fn rejects_what_is_not_rfc3339() {
        for bad in [
            "",
            "2023-07-01",
            "2023-07-01T12:00:00",
            "2023-07-01 12:00:00Z",
            "2023-13-01T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "2023-04-31T00:00:00Z",
            "2023-07-01T24:00:00Z",
            "2023-07-01T12:60:00Z",
            "2023-07-01T12:00:61Z",
            "2023-07-01T12:00:00.Z",
            "2023-07-01T12:00:00+2:00",
            "2023-07-01T12:00:00+24:00",
            "2023-07-01T12:00:00Zx",
            "२०२३-07-01T12:00:00Z",
            "+2023-07-01T12:00:00Z",
        ] {
            assert!(Timestamp::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            Timestamp::parse("nope").unwrap_err().to_string(),
            "must be an RFC 3339 date-time such as `2023-07-01T12:00:00Z`, got `nope`"
        );
    }

    #[test]
    fn formats_back() {
        for s in [
            "1970-01-01T00:00:00.000Z",
            "2024-02-29T23:59:59.999Z",
            "1969-12-31T23:59:59.000Z",
            "2000-03-01T00:00:00.000Z",
        ] {
            assert_eq!(ts(s).to_rfc3339(), s);
        }
        assert_eq!(Timestamp::from_unix(0, 1_500_000_000).unix_seconds(), 1);
    }
}
