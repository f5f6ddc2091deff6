//! Resident premiums (R-PAY-1, R-PAY-2): payments from each channel (online, the
//! mini-program, which may pay for someone else after confirming that person's name and
//! ID number, a
//! street office, a bank counter, bank withholding), the bank's withholding result file,
//! and arrears. A holder sees a payment from the region's day of the next month, and
//! arrears only in the region's window of the next month; the bureau sees both at once.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use yikatong_core::Refusal;
use yikatong_core::access::{Operation, Principal, Role};
use yikatong_core::identity::{Ssn, mask_ssn};
use yikatong_core::registry::Category;
use yikatong_store::{PremiumDeduction, PremiumPayment};

use super::applications::RowRefusal;
use super::credits::parse_month;
use super::production_files::FileReport;
use super::table::{Column, Table, readable};
use crate::{Service, ServiceError, ServiceResult};

/// A payment as a caller records it.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPremium {
    /// `YYYY-MM`
    pub period: String,
    pub amount_fen: i64,
    /// The payment's own reference (order number, receipt number): recorded once.
    pub reference: String,
    /// For a holder: `online` (default) or `mini_program`.
    pub channel: Option<String>,
    /// Paying for someone else (mini-program): that person's name, to confirm identity.
    pub name: Option<String>,
    /// Paying for someone else: that person's ID number again, to confirm identity
    /// (R-PAY-1; required then, with `name`; ignored otherwise).
    #[serde(default)]
    pub id_number: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PremiumView {
    pub period: String,
    pub amount_fen: i64,
    pub channel: String,
    pub paid_by_someone_else: bool,
    pub reference: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ArrearView {
    pub ssn_masked: String,
    pub period: String,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PremiumsView {
    pub ssn_masked: String,
    pub payments: Vec<PremiumView>,
    pub arrears: Vec<ArrearView>,
}

fn next_month_day(period: NaiveDate, day: i64) -> NaiveDate {
    let (y, m) = if period.month() == 12 { (period.year() + 1, 1) } else { (period.year(), period.month() + 1) };
    NaiveDate::from_ymd_opt(y, m, day.clamp(1, 28) as u32).unwrap_or(period)
}

impl Service {
    /// Records a premium payment for the person `ssn`. Holders pay online or by the
    /// mini-program (for another person only with that person's name); clerks record
    /// street-office payments, banks counter payments.
    pub async fn pay_premium(&self, who: &Principal, ssn: &str, p: &NewPremium) -> ServiceResult<PremiumView> {
        who.allow(Operation::PayPremium)?;
        parse_month(&p.period)?;
        if p.amount_fen <= 0 {
            return Err(Refusal::bad_input("invalid_amount", "a premium payment is a positive amount of fen").into());
        }
        yikatong_core::money::limits::bounded("amount_fen", p.amount_fen)?;
        if p.reference.trim().is_empty() {
            return Err(Refusal::bad_input("reference_required", "a payment needs its reference").into());
        }
        let ssn = Ssn::parse(ssn)?;
        let person = self.require_person(&ssn).await?;
        if person.category != Category::Resident {
            return Err(Refusal::conflict("not_a_resident", "premiums here are for urban-rural resident insurance; employees contribute through their unit").into());
        }
        let hash = person.key.clone();
        let (channel, payer) = match who.role {
            Role::Holder => {
                let channel = p.channel.clone().unwrap_or_else(|| "online".into());
                if !["online", "mini_program"].contains(&channel.as_str()) {
                    return Err(Refusal::bad_input("invalid_channel", "a holder pays online or through the mini-program").into());
                }
                let for_other = who.person_hash.as_deref() != Some(hash.as_str());
                if for_other {
                    if channel != "mini_program" {
                        return Err(Refusal::forbidden("not_allowed_on_channel", "paying for someone else is done through the mini-program").into());
                    }
                    if p.name.as_deref().map(str::trim) != Some(person.name.as_str()) {
                        return Err(Refusal::bad_input("identity_not_confirmed", "confirm the person you pay for: their name does not match the ID number").into());
                    }
                    if p.id_number.as_deref().map(|n| n.trim().to_ascii_uppercase()).as_deref() != Some(ssn.expose()) {
                        return Err(Refusal::bad_input("identity_not_confirmed", "confirm the person you pay for: enter their ID number (id_number) as well as their name").into());
                    }
                }
                (channel, who.person_hash.clone().filter(|_| for_other))
            }
            Role::Clerk => ("street_office".to_string(), None),
            _ => ("bank_counter".to_string(), None),
        };
        let payment = PremiumPayment {
            person_hash: hash,
            period: p.period.clone(),
            amount_fen: p.amount_fen,
            channel,
            payer_hash: payer,
            paid_at: self.clock.now(),
            reference: p.reference.trim().into(),
        };
        self.store.insert_premium_payment(&payment).await?;
        Ok(PremiumView {
            period: payment.period,
            amount_fen: payment.amount_fen,
            channel: payment.channel,
            paid_by_someone_else: payment.payer_hash.is_some(),
            reference: payment.reference,
        })
    }

    /// The bank's withholding result file (`ssn`, `period`, `amount_fen`, `result`
    /// 成功/失败, `reason`): a success is a payment, a failure an arrear.
    pub async fn import_withholding(&self, input: impl std::io::BufRead + Send) -> ServiceResult<FileReport> {
        let cols = [
            Column { en: "ssn", zh: "公民身份号码", required: true },
            Column { en: "period", zh: "所属期", required: true },
            Column { en: "amount_fen", zh: "金额分", required: true },
            Column { en: "result", zh: "扣款结果", required: true },
            Column { en: "reason", zh: "失败原因", required: false },
        ];
        let mut report = FileReport::default();
        for row in Table::read(input, &cols)? {
            report.rows += 1;
            let Some(row) = readable(row, &mut report.refused, |line, r| RowRefusal::new(line, "", r)) else { continue };
            let c = &row.cells;
            let outcome: Result<(), ServiceError> = async {
                let ssn = Ssn::parse(&c[0])?;
                parse_month(&c[1])?;
                let amount: i64 = c[2].parse().map_err(|_| Refusal::bad_input("invalid_amount", format!("amount_fen {:?} is not a whole number", c[2])))?;
                yikatong_core::money::limits::bounded("amount_fen", amount)?;
                let ok = match c[3].as_str() {
                    "成功" | "success" | "ok" => true,
                    "失败" | "failed" | "fail" => false,
                    other => return Err(Refusal::bad_input("invalid_result", format!("result must be 成功 or 失败, not {other:?}")).into()),
                };
                let hash = self.require_person(&ssn).await?.key;
                let now = self.clock.now();
                self.store
                    .record_deduction(&PremiumDeduction { person_hash: hash.clone(), period: c[1].clone(), ok, reason: Some(c[4].clone()).filter(|r| !r.is_empty()) }, now)
                    .await?;
                if ok {
                    let payment = PremiumPayment {
                        person_hash: hash,
                        period: c[1].clone(),
                        amount_fen: amount,
                        channel: "bank_withholding".into(),
                        payer_hash: None,
                        paid_at: now,
                        reference: format!("withholding:{}:{}", c[1], &ssn.expose()[12..]),
                    };
                    self.store.insert_premium_payment(&payment).await?;
                }
                Ok(())
            }
            .await;
            match outcome {
                Ok(()) => report.accepted += 1,
                Err(ServiceError::Refused(r)) => report.refused.push(RowRefusal::new(row.line, &c[0], r)),
                Err(e) => return Err(e),
            }
        }
        Ok(report)
    }

    /// A person's payments and arrears, as the caller may see them now.
    pub async fn premiums(&self, who: &Principal, ssn: &str) -> ServiceResult<PremiumsView> {
        let view = self.get_person(who, ssn).await?;
        let parsed = Ssn::parse(ssn)?;
        let person = self.require_person(&parsed).await?;
        let hash = person.key.clone();
        let today = self.clock.today();
        let policy = self.policies.region(&person.region)?;
        let day = |name: &str| policy.day_of_month(name, today).map_err(ServiceError::from);
        let holder = who.role == Role::Holder;
        let mut payments = Vec::new();
        let all = self.store.premium_payments(&hash).await?;
        // A period paid is no arrear, even while the payment's record is not shown yet.
        let paid_periods: std::collections::HashSet<String> = all.iter().map(|p| p.period.clone()).collect();
        for p in all {
            let paid = p.paid_at.with_timezone(&yikatong_core::clock::shanghai()).date_naive();
            if holder && today < next_month_day(paid, day("premium.records_visible_day")?) {
                continue;
            }
            payments.push(PremiumView { period: p.period, amount_fen: p.amount_fen, channel: p.channel, paid_by_someone_else: p.payer_hash.is_some(), reference: p.reference });
        }
        let mut arrears = Vec::new();
        for d in self.store.failed_deductions(Some(&hash), None).await? {
            if paid_periods.contains(&d.period) {
                continue;
            }
            let period = parse_month(&d.period)?;
            if holder {
                let (from, until) = (next_month_day(period, day("premium.arrears_visible_from_day")?), next_month_day(period, day("premium.arrears_visible_until_day")?));
                if today < from || today > until {
                    continue;
                }
            }
            arrears.push(ArrearView { ssn_masked: view.ssn_masked.clone(), period: d.period, reason: d.reason });
        }
        Ok(PremiumsView { ssn_masked: view.ssn_masked, payments, arrears })
    }

    /// Arrears of a period for the bureau (operator).
    pub async fn arrears(&self, who: &Principal, period: &str) -> ServiceResult<Vec<ArrearView>> {
        who.allow(Operation::ReadArrears)?;
        parse_month(period)?;
        let mut out = Vec::new();
        for d in self.store.failed_deductions(None, Some(period)).await? {
            if self.store.premium_payments(&d.person_hash).await?.iter().any(|p| p.period == d.period) {
                continue;
            }
            let person = self.store.get_person_by_hash(&d.person_hash).await?;
            out.push(ArrearView { ssn_masked: person.map(|p| mask_ssn(&p.ssn)).unwrap_or_default(), period: d.period, reason: d.reason });
        }
        Ok(out)
    }
}
