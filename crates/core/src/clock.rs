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
