//! Time comes from a clock that tests can set. Business time is Asia/Shanghai, which
//! has been UTC+8 without daylight saving since 1991, so a fixed offset is exact.

use std::sync::{Arc, RwLock};

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};

/// Asia/Shanghai (UTC+08:00).
pub fn shanghai() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset")
}

pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;

    /// Now in business time.
    fn now_local(&self) -> DateTime<FixedOffset> {
        self.now().with_timezone(&shanghai())
    }

    /// Today's business date in Asia/Shanghai.
    fn today(&self) -> NaiveDate {
        self.now_local().date_naive()
    }
}

/// The real clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that stands still at the instant it was last set (`PUT /v1/test/clock`).
#[derive(Debug, Clone)]
pub struct TestClock {
    now: Arc<RwLock<DateTime<Utc>>>,
}

impl TestClock {
    pub fn new(start: DateTime<Utc>) -> Self {
        Self { now: Arc::new(RwLock::new(start)) }
    }

    pub fn set(&self, to: DateTime<Utc>) {
        match self.now.write() {
            Ok(mut g) => *g = to,
            Err(poisoned) => *poisoned.into_inner() = to,
        }
    }
}

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        match self.now.read() {
            Ok(g) => *g,
            Err(poisoned) => *poisoned.into_inner(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn business_date_is_shanghai() {
        let c = TestClock::new("2026-03-01T17:30:00Z".parse().unwrap());
        assert_eq!(c.today(), NaiveDate::from_ymd_opt(2026, 3, 2).unwrap());
        c.set("2026-03-01T15:59:59Z".parse().unwrap());
        assert_eq!(c.today(), NaiveDate::from_ymd_opt(2026, 3, 1).unwrap());
    }
}

/// A date and time as the national interface's clients send it, in business time:
/// `yyyy-MM-dd HH:mm:ss`, ISO 8601 with `T` (fractions and an offset allowed; an offset is
/// converted to Asia/Shanghai), `yyyy/M/d H:mm:ss`, or a date alone (its midnight).
/// Anything else is refused naming `field`. A time later than the clock is not refused
/// (a hospital's clock drifts).
pub fn parse_business_time(field: &str, text: &str) -> Result<chrono::NaiveDateTime, crate::Refusal> {
    use chrono::{NaiveDate, NaiveDateTime};
    let t = text.trim();
    if let Ok(with_offset) = DateTime::parse_from_rfc3339(t) {
        return Ok(with_offset.with_timezone(&shanghai()).naive_local());
    }
    for format in ["%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f", "%Y/%m/%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M"] {
        if let Ok(v) = NaiveDateTime::parse_from_str(t, format) {
            return Ok(v);
        }
    }
    for format in ["%Y-%m-%d", "%Y/%m/%d", "%Y%m%d"] {
        if let Ok(d) = NaiveDate::parse_from_str(t, format) {
            return Ok(d.and_hms_opt(0, 0, 0).unwrap_or_default());
        }
    }
    Err(crate::Refusal::bad_input("invalid_time", format!("{field} {text:?} is not a date and time; send yyyy-MM-dd HH:mm:ss (ISO 8601 with T, or yyyy/M/d H:mm:ss, is read too)")))
}

#[cfg(test)]
mod business_time_tests {
    use super::parse_business_time;

    #[test]
    fn the_forms_clients_send_are_read_and_anything_else_is_refused_by_name() {
        let want = chrono::NaiveDate::from_ymd_opt(2026, 3, 2).unwrap().and_hms_opt(9, 5, 7).unwrap();
        for text in ["2026-03-02 09:05:07", "2026-03-02T09:05:07", "2026-03-02T09:05:07.000", "2026/3/2 9:05:07", "2026-03-02T01:05:07Z", "2026-03-02T09:05:07+08:00"] {
            assert_eq!(parse_business_time("begntime", text).unwrap(), want, "{text}");
        }
        assert_eq!(parse_business_time("begntime", "2026-03-02").unwrap().date(), want.date());
        for bad in ["yesterday", "", "2026-13-01 00:00:00", "02/03/2026 09:05"] {
            let e = parse_business_time("begntime", bad).unwrap_err();
            assert!(e.code == "invalid_time" && e.message.contains("begntime"), "{bad}: {e}");
        }
    }
}

/// 0:00 business time of `date`, as an instant.
pub fn shanghai_midnight(date: NaiveDate) -> Option<DateTime<Utc>> {
    date.and_hms_opt(0, 0, 0)?.and_local_timezone(shanghai()).single().map(|t| t.with_timezone(&Utc))
}
