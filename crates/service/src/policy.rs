//! Policy in force on a date (SPEC §9) and the working-day calendar (SPEC §10), as the
//! API and the CLI show them.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::NaiveDate;
use serde::Serialize;
use yikatong_core::Refusal;
use yikatong_core::access::{Operation, Principal};
use yikatong_core::calendar::CalendarYear;
use yikatong_core::policy::PolicySet;

use crate::{Service, ServiceError, ServiceResult};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ParameterView {
    /// The value in its unit: an integer, a flag, a time of day (`HH:MM`) or text.
    #[schema(value_type = Value)]
    pub value: yikatong_core::policy::PolicyValue,
    #[schema(value_type = String)]
    pub unit: &'static str,
    pub from: NaiveDate,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until: Option<NaiveDate>,
    pub source: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PolicyView {
    pub region: String,
    pub name: String,
    pub admdvs: String,
    pub at: NaiveDate,
    pub file: String,
    pub parameters: BTreeMap<String, ParameterView>,
}

impl PolicyView {
    /// Plain text, one parameter a line, for `ykt policy show`.
    pub fn to_text(&self) -> String {
        let mut out = format!("{} ({}, {}) — policy in force on {} — {}\n", self.name, self.region, self.admdvs, self.at, self.file);
        let width = self.parameters.keys().map(std::string::String::len).max().unwrap_or(0);
        for (name, p) in &self.parameters {
            out.push_str(&format!("  {name:<width$}  {} {}  (from {}; {})\n", p.value, p.unit, p.from, p.source));
        }
        out
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct WorkingDayAnswer {
    pub from: NaiveDate,
    pub working_days: u32,
    pub ready_on: NaiveDate,
}

impl Service {
    /// The parameters of `region` in force on `at` (public: policy is public information).
    pub fn policy_at(&self, region: &str, at: NaiveDate) -> ServiceResult<PolicyView> {
        policy_view(&self.policies, region, at)
    }

    /// R-CAL-1: the date `days` working days after `from`.
    pub fn add_working_days(&self, from: NaiveDate, days: u32) -> ServiceResult<WorkingDayAnswer> {
        let ready_on = self.with_calendar(|c| c.add_working_days(from, days))?;
        Ok(WorkingDayAnswer { from, working_days: days, ready_on })
    }

    pub fn is_working_day(&self, on: NaiveDate) -> ServiceResult<bool> {
        self.with_calendar(|c| c.is_working_day(on))
    }

    pub fn calendar_years(&self) -> ServiceResult<Vec<(i32, String)>> {
        self.with_calendar(|c| Ok(c.years().map(|y| (y.year, y.source.clone())).collect()))
    }

    /// Loads (or replaces) one year of the official calendar, checked first, kept in the
    /// database and in force at once (R-CAL-2). `who` is `None` for the local CLI.
    pub async fn load_calendar_year(&self, who: Option<&Principal>, file: &str, text: &str) -> ServiceResult<CalendarYear> {
        if let Some(p) = who {
            p.allow(Operation::LoadCalendar)?;
        }
        let year = CalendarYear::parse(file, text)?;
        self.store.put_calendar_year(year.year, &year.to_toml(), self.clock.now()).await?;
        {
            let mut cal = self.calendar.write().map_err(|_| ServiceError::Internal("calendar lock poisoned".into()))?;
            let mut next = (**cal).clone();
            next.insert(year.clone());
            *cal = Arc::new(next);
        }
        let counted = self.count_awaited_ready_dates(year.year).await?;
        tracing::info!(year = year.year, counted, "calendar year loaded");
        Ok(year)
    }
}

/// The parameters of `region` in force on `at`, from the policy files alone (the CLI
/// uses it without a database).
pub fn policy_view(set: &PolicySet, region: &str, at: NaiveDate) -> ServiceResult<PolicyView> {
    let r = set.region(region)?;
    let parameters = r
        .in_force(at)
        .into_iter()
        .map(|(p, v)| (p.name.clone(), ParameterView { value: v.value.clone(), unit: p.unit.key(), from: v.from, until: v.until, source: v.source.clone() }))
        .collect();
    Ok(PolicyView { region: r.code.clone(), name: r.name.clone(), admdvs: r.admdvs.clone(), at, file: r.file.clone(), parameters })
}

/// Parses a `YYYY-MM-DD` date from a request, naming the field when it is wrong.
pub fn parse_date_param(field: &str, s: &str) -> ServiceResult<NaiveDate> {
    s.parse().map_err(|_| Refusal::bad_input("invalid_date", format!("{field} must be a date like 2024-03-01, not {s:?}")).into())
}
