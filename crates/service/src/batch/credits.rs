//! R-ACC-1: the monthly account credit run. It walks the persons in lookup-hash order,
//! page by page, and writes each credit at most once per person and month (a unique
//! key on the entry), so a run killed midway is simply started again: what was written
//! stays, what was not is written, nothing twice.

use std::sync::Arc;

use chrono::{Datelike, NaiveDate};
use serde::Serialize;
use yikatong_core::Refusal;
use yikatong_core::access::{Operation, Principal};
use yikatong_core::account::{MonthlyCredit as Decision, monthly_credit};
use yikatong_core::identity::mask_ssn;
use yikatong_core::money::Fen;
use yikatong_store::{JobRecord, JobState, MonthlyCredit};

use crate::{Service, ServiceError, ServiceResult};

#[derive(Debug, Clone, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct CreditFailure {
    pub ssn_masked: String,
    pub code: String,
    pub reason: String,
}

#[derive(Debug, Clone, Default, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct CreditReport {
    pub month: String,
    pub persons: u64,
    /// Credits written by this run, and their sum.
    pub credited: u64,
    /// Credits an earlier run of the same month had written.
    pub already_credited: u64,
    pub not_eligible: u64,
    pub failed: u64,
    /// The first failures, each with its reason.
    pub failures: Vec<CreditFailure>,
    /// The sum of the credits this run wrote.
    pub credited_fen: i64,
    /// False when the run stopped before the last person.
    pub complete: bool,
}

/// Pages of persons per transaction.
pub const PAGE: i64 = 1000;

/// Parses `YYYY-MM` to the month's first day.
pub fn parse_month(s: &str) -> Result<NaiveDate, Refusal> {
    NaiveDate::parse_from_str(&format!("{s}-01"), "%Y-%m-%d").map_err(|_| Refusal::bad_input("invalid_month", format!("the month must be written YYYY-MM, not {s:?}")))
}

impl Service {
    /// Runs the month's credits. `progress(done, total)` is called after every page;
    /// `stop_after_pages` ends the run early (as a crash would).
    pub async fn credit_accounts(&self, month: &str, page: i64, stop_after_pages: Option<usize>, progress: &(dyn Fn(u64, u64) + Send + Sync)) -> ServiceResult<CreditReport> {
        let first = parse_month(month)?;
        let reference = format!("monthly:{}-{:02}", first.year(), first.month());
        let total = self.store.count_persons().await? as u64;
        let mut report = CreditReport { month: month.into(), ..Default::default() };
        let mut pages = 0;
        let mut rows = self.store.persons_page(None, page.max(1)).await?;
        loop {
            let Some((last, _)) = rows.last() else {
                report.complete = true;
                break;
            };
            let after = last.clone();
            let mut batch = Vec::new();
            for (hash, p) in &rows {
                report.persons += 1;
                let policy = self.policies.region(&p.region)?;
                let age = super::super::settlement::age_on(p.birth_date, first);
                match monthly_credit(policy, first, p.category, age, p.contribution_base_fen.map(Fen)) {
                    Ok(Decision::Credit(amount, rule)) if amount.0 > 0 => {
                        batch.push(MonthlyCredit {
                            person_hash: hash.clone(),
                            amount_fen: amount.0,
                            reference: reference.clone(),
                            reason: format!("monthly credit {month} ({rule})"),
                        });
                    }
                    Ok(Decision::Credit(..) | Decision::NotEligible(_)) => report.not_eligible += 1,
                    Err(r) => {
                        report.failed += 1;
                        if report.failures.len() < 100 {
                            report.failures.push(CreditFailure { ssn_masked: mask_ssn(&p.ssn), code: r.code.into(), reason: r.message });
                        }
                    }
                }
            }
            let stopping = stop_after_pages.is_some_and(|n| pages + 1 >= n);
            // This page's credits are written while the next page is read.
            let (written, next) = tokio::join!(self.store.credit_once(&batch, self.clock.now()), async {
                if stopping { Ok(Vec::new()) } else { self.store.persons_page(Some(&after), page.max(1)).await }
            });
            let written = written?;
            rows = next?;
            for (credit, new) in batch.iter().zip(written) {
                if new {
                    report.credited += 1;
                    report.credited_fen += credit.amount_fen;
                } else {
                    report.already_credited += 1;
                }
            }
            progress(report.persons, total);
            pages += 1;
            if stop_after_pages.is_some_and(|n| pages >= n) {
                break;
            }
        }
        tracing::info!(month, credited = report.credited, already = report.already_credited, failed = report.failed, "monthly account credits");
        Ok(report)
    }

    /// Starts the month's credits as a job (operator); its progress is at `GET /v1/jobs/{id}`.
    pub async fn start_credit_job(self: &Arc<Self>, who: &Principal, month: &str) -> ServiceResult<i64> {
        who.allow(Operation::StartCredits)?;
        parse_month(month)?;
        let total = self.store.count_persons().await?;
        let id = self.store.create_job("credit_accounts", &serde_json::json!({"month": month}), total, self.clock.now()).await?;
        let service = self.clone();
        let month = month.to_string();
        tokio::spawn(async move {
            let store = service.store.clone();
            let clock = service.clock.clone();
            let progress = move |done: u64, _total: u64| {
                let (store, at) = (store.clone(), clock.now());
                tokio::spawn(async move {
                    let _ = store.update_job(id, JobState::Running, done as i64, None, at).await;
                });
            };
            let outcome = service.credit_accounts(&month, PAGE, None, &progress).await;
            let now = service.clock.now();
            let kept = match outcome {
                Ok(report) => service.store.update_job(id, JobState::Finished, report.persons as i64, serde_json::to_value(&report).ok().as_ref(), now).await,
                Err(e) => service.store.update_job(id, JobState::Failed, 0, Some(&serde_json::json!({"error": e.public_message(), "code": e.code()})), now).await,
            };
            if let Err(e) = kept {
                tracing::error!(job = id, error = %e, "could not record the job's end");
            }
        });
        Ok(id)
    }

    pub async fn job(&self, who: &Principal, id: i64) -> ServiceResult<JobRecord> {
        who.allow(Operation::ReadJob)?;
        self.store.get_job(id).await?.ok_or_else(|| ServiceError::from(Refusal::not_found("job_not_found", format!("there is no job {id}"))))
    }
}
