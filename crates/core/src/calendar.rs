//! China's official working-day calendar (SPEC §10), loaded from data: one file per year
//! with the public holidays and the adjusted working weekend days (调休) of the State
//! Council's notice. A date in a year that is not loaded is an error (R-CAL-2).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, Days, NaiveDate, Weekday};
use serde::Deserialize;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    /// R-CAL-2: fail closed, and tell the operator which year to load.
    #[error("the working-day calendar has no data for {0}; load it with `ykt calendar load FILE`")]
    YearMissing(i32),
    #[error("calendar file {file}: {problem}")]
    BadFile { file: String, problem: String },
}

impl CalendarError {
    pub fn code(&self) -> &'static str {
        match self {
            CalendarError::YearMissing(_) => "calendar_year_missing",
            CalendarError::BadFile { .. } => "invalid_calendar",
        }
    }
}

/// One year's official data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarYear {
    pub year: i32,
    pub source: String,
    /// Public holidays (days off that would otherwise be working days, and the weekend
    /// days inside a holiday).
    pub holidays: BTreeSet<NaiveDate>,
    /// Weekend days that are working days by adjustment (调休).
    pub workdays: BTreeSet<NaiveDate>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct YearFile {
    year: i32,
    source: String,
    holidays: Vec<toml::value::Datetime>,
    workdays: Vec<toml::value::Datetime>,
}

fn to_date(file: &str, dt: &toml::value::Datetime) -> Result<NaiveDate, CalendarError> {
    let bad = || CalendarError::BadFile { file: file.into(), problem: format!("{dt} is not a plain date") };
    match (dt.date, dt.time) {
        (Some(d), None) => NaiveDate::from_ymd_opt(i32::from(d.year), u32::from(d.month), u32::from(d.day)).ok_or_else(bad),
        _ => Err(bad()),
    }
}

impl CalendarYear {
    /// Parses one year's file (TOML: `year`, `source`, `holidays`, `workdays`) and checks
    /// it: every date inside the year, adjusted workdays on weekends, no date both.
    pub fn parse(file: &str, text: &str) -> Result<CalendarYear, CalendarError> {
        let raw: YearFile = toml::from_str(text).map_err(|e| CalendarError::BadFile { file: file.into(), problem: e.to_string() })?;
        let bad = |problem: String| CalendarError::BadFile { file: file.into(), problem };
        let mut holidays = BTreeSet::new();
        for d in &raw.holidays {
            let d = to_date(file, d)?;
            if d.year() != raw.year {
                return Err(bad(format!("holiday {d} is not in {}", raw.year)));
            }
            holidays.insert(d);
        }
        let mut workdays = BTreeSet::new();
        for d in &raw.workdays {
            let d = to_date(file, d)?;
            if d.year() != raw.year {
                return Err(bad(format!("adjusted workday {d} is not in {}", raw.year)));
            }
            if !is_weekend(d) {
                return Err(bad(format!("adjusted workday {d} is a {:?}, not a weekend day", d.weekday())));
            }
            if holidays.contains(&d) {
                return Err(bad(format!("{d} is listed both as a holiday and as a workday")));
            }
            workdays.insert(d);
        }
        if raw.source.trim().is_empty() {
            return Err(bad("the source of the data (the State Council notice) is missing".into()));
        }
        Ok(CalendarYear { year: raw.year, source: raw.source, holidays, workdays })
    }

    /// The year as a file again (what `ykt calendar load` stores and the service reloads).
    pub fn to_toml(&self) -> String {
        let list = |s: &BTreeSet<NaiveDate>| s.iter().map(std::string::ToString::to_string).collect::<Vec<_>>().join(", ");
        format!("year = {}\nsource = {:?}\nholidays = [{}]\nworkdays = [{}]\n", self.year, self.source, list(&self.holidays), list(&self.workdays))
    }
}

fn is_weekend(d: NaiveDate) -> bool {
    matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
}

/// The loaded years.
#[derive(Debug, Clone, Default)]
pub struct WorkingCalendar {
    years: BTreeMap<i32, CalendarYear>,
}

/// The years shipped with the product (State Council notices), compiled in so that a
/// fresh machine has them; an operator adds later years with `ykt calendar load`.
pub const SHIPPED_YEARS: [(&str, &str); 3] = [
    ("calendars/2024.toml", include_str!("../../../calendars/2024.toml")),
    ("calendars/2025.toml", include_str!("../../../calendars/2025.toml")),
    ("calendars/2026.toml", include_str!("../../../calendars/2026.toml")),
];

impl WorkingCalendar {
    pub fn shipped() -> Result<WorkingCalendar, CalendarError> {
        let mut cal = WorkingCalendar::default();
        for (file, text) in SHIPPED_YEARS {
            cal.insert(CalendarYear::parse(file, text)?);
        }
        Ok(cal)
    }

    /// Adds or replaces a year.
    pub fn insert(&mut self, year: CalendarYear) {
        self.years.insert(year.year, year);
    }

    pub fn years(&self) -> impl Iterator<Item = &CalendarYear> {
        self.years.values()
    }

    pub fn is_working_day(&self, d: NaiveDate) -> Result<bool, CalendarError> {
        let y = self.years.get(&d.year()).ok_or(CalendarError::YearMissing(d.year()))?;
        Ok(if y.workdays.contains(&d) {
            true
        } else if y.holidays.contains(&d) {
            false
        } else {
            !is_weekend(d)
        })
    }

    /// R-CAL-1: the Nth working day after `from` (the day itself is not counted).
    pub fn add_working_days(&self, from: NaiveDate, n: u32) -> Result<NaiveDate, CalendarError> {
        let mut d = from;
        let mut left = n;
        while left > 0 {
            d = d.checked_add_days(Days::new(1)).ok_or(CalendarError::YearMissing(d.year() + 1))?;
            if self.is_working_day(d)? {
                left -= 1;
            }
        }
        Ok(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn r_cal_1_counts_from_the_next_day_skipping_national_day() {
        let cal = WorkingCalendar::shipped().unwrap();
        assert_eq!(cal.add_working_days(d("2026-09-28"), 15).unwrap(), d("2026-10-23"));
        assert!(cal.is_working_day(d("2026-10-10")).unwrap(), "Saturday 10-10 is adjusted to work");
        assert!(!cal.is_working_day(d("2026-10-05")).unwrap());
        assert_eq!(cal.add_working_days(d("2026-03-02"), 0).unwrap(), d("2026-03-02"));
    }

    #[test]
    fn r_cal_2_fails_closed_outside_loaded_years() {
        let cal = WorkingCalendar::shipped().unwrap();
        assert_eq!(cal.is_working_day(d("2027-01-04")), Err(CalendarError::YearMissing(2027)));
        assert_eq!(cal.add_working_days(d("2026-12-20"), 15), Err(CalendarError::YearMissing(2027)));
        assert!(cal.is_working_day(d("2023-12-29")).is_err());
    }

    #[test]
    fn bad_files_are_named() {
        let e = CalendarYear::parse("x.toml", "year = 2027\nsource = \"n\"\nholidays = []\nworkdays = [2027-01-05]\n").unwrap_err();
        assert!(e.to_string().contains("x.toml") && e.to_string().contains("not a weekend"), "{e}");
        let e = CalendarYear::parse("y.toml", "year = 2027\nsourc = \"n\"\n").unwrap_err();
        assert!(e.to_string().contains("y.toml"), "{e}");
    }

    #[test]
    fn year_file_round_trips() {
        let cal = WorkingCalendar::shipped().unwrap();
        for y in cal.years() {
            assert_eq!(&CalendarYear::parse("again", &y.to_toml()).unwrap(), y);
        }
    }
}
