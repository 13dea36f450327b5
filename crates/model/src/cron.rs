//! Schedule triggers (`docs/api.md` C9): a 5-field cron expression (minute, hour, day of month, month,
//! day of week) in UTC, validated when a task is created or updated; `nextRun` is its next
//! occurrence after now. The API validates with it; the scheduler computes each next fire time
//! with it.

use chrono::{DateTime, Timelike, Utc};
use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};

use crate::{Timestamp, ValidationError};

/// A validated cron expression.
#[derive(Debug, Clone)]
pub struct Schedule(Cron);

impl Schedule {
    /// Parses a 5-field expression; the error names `trigger.cron` and says what is wrong.
    pub fn parse(expression: &str) -> Result<Self, ValidationError> {
        let invalid = |why: String| ValidationError::new("trigger.cron", why);
        let fields = expression.split_whitespace().count();
        if fields != 5 {
            return Err(invalid(format!(
                "must have 5 fields (minute hour day-of-month month day-of-week), got {fields}"
            )));
        }
        let parser = CronParser::builder()
            .seconds(Seconds::Disallowed)
            .year(Year::Disallowed)
            .build();
        let cron = parser.parse(expression).map_err(|e| {
            invalid(format!(
                "invalid cron expression: {}",
                lower_first(&e.to_string())
            ))
        })?;
        let schedule = Self(cron);
        if schedule.next_after(Utc::now()).is_none() {
            return Err(invalid("never fires".to_owned()));
        }
        Ok(schedule)
    }

    /// The first occurrence strictly after `after` (on a whole minute), `None` if there is
    /// none.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let whole = after.with_nanosecond(0).unwrap_or(after);
        self.0
            .find_next_occurrence(&whole, false)
            .ok()
            .map(|t| t.with_nanosecond(0).unwrap_or(t))
    }

    /// The schedule in English words (`At 02:00`), for people.
    pub fn describe(&self) -> String {
        self.0.describe()
    }

    /// The first occurrence strictly after `after`, as a [`Timestamp`] (the scheduler's unit).
    pub fn next_after_timestamp(&self, after: Timestamp) -> Option<Timestamp> {
        let at = DateTime::<Utc>::from_timestamp(after.unix_seconds(), after.nanos())?;
        self.next_after(at)
            .map(|t| Timestamp::from_unix(t.timestamp(), t.timestamp_subsec_nanos()))
    }
}

fn lower_first(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn to_rfc3339(t: DateTime<Utc>) -> String {
        Timestamp::from_unix(t.timestamp(), t.timestamp_subsec_nanos()).to_rfc3339()
    }

    #[test]
    fn five_fields_only() {
        assert!(Schedule::parse("* * * * *").is_ok());
        assert!(Schedule::parse("*/15 2 * * 1-5").is_ok());
        for bad in [
            "* * * *",
            "0 * * * * *",
            "",
            "61 * * * *",
            "a b c d e",
            "@daily",
        ] {
            let e = Schedule::parse(bad).unwrap_err();
            assert_eq!(e.path, "trigger.cron", "{bad}");
        }
        let e = Schedule::parse("0 0 31 2 *").unwrap_err();
        assert_eq!(e.message, "never fires");
    }

    #[test]
    fn next_occurrence_in_utc() {
        let s = Schedule::parse("30 2 * * *").unwrap();
        let now = Utc.with_ymd_and_hms(2024, 1, 1, 3, 0, 0).unwrap();
        let next = s.next_after(now).unwrap();
        assert_eq!(to_rfc3339(next), "2024-01-02T02:30:00.000Z");
        let almost = Utc.with_ymd_and_hms(2024, 1, 2, 2, 29, 59).unwrap()
            + chrono::Duration::milliseconds(999);
        assert_eq!(
            to_rfc3339(s.next_after(almost).unwrap()),
            "2024-01-02T02:30:00.000Z"
        );
        assert_eq!(
            to_rfc3339(s.next_after(next).unwrap()),
            "2024-01-03T02:30:00.000Z"
        );
    }
}
