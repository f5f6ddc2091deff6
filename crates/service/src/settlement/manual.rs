//! Manual reimbursement (R-SET-6, R-SET-8, R-CERT-1): a visit the holder paid in cash,
//! settled afterwards by the same engine under the policy of the visit's date, against
//! the same year totals as the card's settlements (the deductible is charged once
//! across real-time and manual). The claim is made at the counter from the receipt's
//! lines, or from the fee lines a hospital uploaded for a visit registered on a
//! card-collection certificate (found by the certificate's number). Either way the
//! settlement and its claim ([`super::claims`]) are written in one transaction.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use yikatong_core::Refusal;
use yikatong_core::access::{Operation, Principal};
use yikatong_core::money::Fen;
use yikatong_core::registry::InstitutionLevel;
use yikatong_core::settlement::catalog::{FeeLine, parse_fixed};
use yikatong_core::settlement::{CatalogItem, ClaimState, SettlementKind, SettlementState, VisitState};
use yikatong_store::{Booking, CardTx, Person, SettlementRecord, StoreError, VisitRecord};

use super::booking::{Ledger, Settlement, codes_of, new_setl_id, priced, unsettled_lines, visit_date};
use super::claims::{ReimbursementView, claim_view};
use super::psn_no;
use crate::{Service, ServiceError, ServiceResult};

/// One line of a manual reimbursement.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ManualLine {
    pub code: String,
    /// Quantity, up to 4 decimals.
    pub quantity: String,
    /// Unit price in yuan, up to 6 decimals.
    pub unit_price: String,
    pub amount_fen: i64,
}

/// R-SET-6: a cash-paid visit recorded by a clerk, settled by the same engine. Either
/// the visit's institution, date and lines (from the holder's receipts), or — for a
/// visit on a card-collection certificate (R-CERT-1) — the certificate's number, whose
/// visit's uploaded lines are claimed.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ManualReimbursement {
    pub ssn: String,
    /// Required without `certificate_number`.
    pub institution_code: Option<String>,
    /// Required without `certificate_number`.
    #[schema(value_type = Option<String>)]
    pub visit_date: Option<NaiveDate>,
    /// `no_card`, `emergency_without_card`, `certificate_period`, `employer_arrears`,
    /// `maternity`, `family_planning`, `non_local`, `drugs_bought_outside`,
    /// `card_unreadable`, `before_card`.
    pub reason: String,
    /// Required without `certificate_number`; with it, none (the uploaded lines are used).
    #[serde(default)]
    pub lines: Vec<ManualLine>,
    /// R-CERT-1: the certificate the visit was registered on (reason
    /// `certificate_period`); optional, default none.
    pub certificate_number: Option<String>,
    /// Which of the certificate's visits; optional when only one has unclaimed lines.
    pub mdtrt_id: Option<String>,
}

/// A visit registered on a certificate, as the clerk sees it before claiming it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CertificateVisitView {
    pub mdtrt_id: String,
    pub institution: String,
    /// The registration's time (business time).
    pub begntime: String,
    /// `registered`, `cancelled` or `work_injury`.
    #[schema(value_type = String)]
    pub state: VisitState,
    /// All the fee lines uploaded for the visit.
    pub total_fen: i64,
    /// What is not yet claimed.
    pub unclaimed_fen: i64,
    /// The claim that took the lines, once claimed.
    pub claim_id: Option<String>,
}

pub use yikatong_core::settlement::MANUAL_REASONS;

/// R-CERT-1: a visit registered on a certificate is paid in cash and claimed by hand;
/// 2206/2207 refuse it.
pub(crate) fn not_on_certificate(visit: &VisitRecord) -> ServiceResult<()> {
    match visit.data.get("certificate_no").and_then(|n| n.as_str()) {
        Some(number) => Err(Refusal::conflict(
            "certificate_visit",
            format!(
                "visit {} was registered on collection certificate {number}: the holder pays in cash and the fund's share is reimbursed by hand (POST /v1/reimbursements)",
                visit.mdtrt_id
            ),
        )
        .into()),
        None => Ok(()),
    }
}

fn missing(field: &str) -> ServiceError {
    Refusal::bad_input("missing_field", format!("{field} is required for a claim without certificate_number")).into()
}

fn certificate_not_found(number: &str) -> ServiceError {
    Refusal::not_found("certificate_not_found", format!("the holder has no certificate {number}")).into()
}

/// What a claim books beside its engine run.
struct Claim<'a> {
    person: &'a Person,
    hash: &'a str,
    institution: &'a str,
    level: InstitutionLevel,
    date: NaiveDate,
    lines: &'a [(FeeLine, CatalogItem)],
    /// The certificate visit whose lines it takes; `None` for lines typed at the counter.
    visit: Option<&'a str>,
    reason: &'a str,
}

impl Service {
    /// R-SET-6, R-SET-8, R-CERT-1: a clerk's claim for a cash-paid visit: its settlement
    /// and the claim, as written (an answer kept for an Idempotency-Key is made before
    /// the transaction commits, so nothing is read back).
    pub async fn manual_reimbursement(&self, who: &Principal, req: &ManualReimbursement) -> ServiceResult<(Settlement, ReimbursementView)> {
        who.allow(Operation::ManualReimbursement)?;
        yikatong_core::settlement::check_manual_reason(&req.reason)?;
        let ssn = yikatong_core::identity::Ssn::parse(&req.ssn)?;
        let person = self.require_person(&ssn).await?;
        match req.certificate_number.as_deref().map(str::trim) {
            Some(number) => {
                if req.reason != "certificate_period" || !req.lines.is_empty() || req.institution_code.is_some() || req.visit_date.is_some() {
                    return Err(Refusal::bad_input(
                        "invalid_claim",
                        "a claim with certificate_number has reason certificate_period and takes the visit's uploaded lines: send no institution_code, visit_date or lines",
                    )
                    .into());
                }
                self.certificate_claim(who, &person, number, req.mdtrt_id.as_deref()).await
            }
            None => self.counter_claim(who, &person, req).await,
        }
    }

    /// A claim from the lines of the holder's receipts, typed at the counter.
    async fn counter_claim(&self, who: &Principal, person: &Person, req: &ManualReimbursement) -> ServiceResult<(Settlement, ReimbursementView)> {
        if req.mdtrt_id.is_some() {
            return Err(Refusal::bad_input("invalid_claim", "mdtrt_id names a certificate's visit: send it with certificate_number").into());
        }
        let institution = self.require_institution(req.institution_code.as_deref().ok_or_else(|| missing("institution_code"))?).await?;
        let visit_date = req.visit_date.ok_or_else(|| missing("visit_date"))?;
        let level = InstitutionLevel::parse(&institution.level)?;
        if visit_date > self.clock.today() {
            return Err(Refusal::bad_input("invalid_date", "the visit date is in the future").into());
        }
        if req.lines.is_empty() {
            return Err(Refusal::bad_input("no_fee_lines", "a reimbursement needs its fee lines").into());
        }
        if req.lines.len() > yikatong_core::money::limits::MAX_LINES {
            return Err(Refusal::bad_input("too_many_fee_lines", format!("a reimbursement takes at most {} lines", yikatong_core::money::limits::MAX_LINES)).into());
        }
        let mut fee_lines = Vec::new();
        for (i, l) in req.lines.iter().enumerate() {
            let sn = (i + 1).to_string();
            let qty_e4 = parse_fixed(&l.quantity, 4).ok_or_else(|| {
                ServiceError::from(Refusal::bad_input("invalid_fee_line", format!("line {sn}: quantity {:?} is not a number with at most 4 decimals", l.quantity)))
            })?;
            let price_e6 = parse_fixed(&l.unit_price, 6).ok_or_else(|| {
                ServiceError::from(Refusal::bad_input("invalid_fee_line", format!("line {sn}: unit price {:?} is not a number with at most 6 decimals", l.unit_price)))
            })?;
            super::visits::check_line_bounds(&sn, qty_e4, price_e6, Fen(l.amount_fen))?;
            fee_lines.push(FeeLine { sn, code: l.code.clone(), qty_e4, price_e6, amount: Fen(l.amount_fen) });
        }
        if !Fen::checked_sum(fee_lines.iter().map(|l| l.amount)).is_some_and(Fen::within_limits) {
            return Err(
                Refusal::bad_input("amount_out_of_range", format!("the reimbursement's lines add up to more than {} yuan", yikatong_core::money::limits::MAX_AMOUNT)).into()
            );
        }
        let lines = self.priced_lines(fee_lines, &institution.region, visit_date).await?;
        let hash = person.key_with(self.store.data_key());
        let mut tx = self.begin_write().await?;
        tx.lock_person(&hash).await?;
        let claim = Claim { person, hash: &hash, institution: &institution.code, level, date: visit_date, lines: &lines, visit: None, reason: &req.reason };
        self.book_claim(tx, who, claim).await
    }

    /// R-CERT-1: a claim from the fee lines a hospital uploaded for a visit registered
    /// on the holder's certificate. The visit's row is locked first (as a 2207 locks
    /// it), then the person; its unclaimed lines are read under that lock and marked
    /// with the claim, so two clerks claiming one visit book it once.
    async fn certificate_claim(&self, who: &Principal, person: &Person, number: &str, mdtrt_id: Option<&str>) -> ServiceResult<(Settlement, ReimbursementView)> {
        let hash = person.key_with(self.store.data_key());
        self.store.card_by_certificate(number).await?.filter(|c| c.person_hash == hash).ok_or_else(|| certificate_not_found(number))?;
        let mdtrt_id = self.claimed_visit(number, mdtrt_id).await?;
        // Read before the transaction: a request holding one reads only through it.
        let registered = self.store.get_visit(&mdtrt_id).await?.ok_or_else(|| ServiceError::Internal(format!("certificate visit {mdtrt_id} missing")))?;
        let institution = self.require_institution(&registered.institution).await?;
        let mut tx = self.begin_write().await?;
        let visit = tx.lock_visit(&mdtrt_id).await?.ok_or_else(|| ServiceError::Internal(format!("certificate visit {mdtrt_id} missing")))?;
        super::still_open(&visit)?;
        // One claim per visit: lines uploaded after it are claimed at the counter with
        // their receipt.
        if let Some(first) = tx.live_settlement(&mdtrt_id, SettlementKind::Manual).await? {
            return Err(already_claimed(&mdtrt_id, &first));
        }
        let stored = unsettled_lines(&mut tx, &mdtrt_id).await?;
        if stored.is_empty() {
            return Err(Refusal::conflict("no_fee_lines", format!("the hospital has uploaded no fee lines for visit {mdtrt_id} (2204)")).into());
        }
        let date = visit_date(&visit)?;
        let level = InstitutionLevel::parse(visit.data.get("institution_level").and_then(|l| l.as_str()).unwrap_or(&institution.level))?;
        let lines = priced(tx.catalog_items(&codes_of(&stored), &institution.region, date).await?, stored)?;
        tx.lock_person(&hash).await?;
        let claim = Claim { person, hash: &hash, institution: &institution.code, level, date, lines: &lines, visit: Some(&mdtrt_id), reason: "certificate_period" };
        self.book_claim(tx, who, claim).await
    }

    /// The certificate's visit a claim takes: the one named, or the only one with
    /// unclaimed lines.
    async fn claimed_visit(&self, number: &str, named: Option<&str>) -> ServiceResult<String> {
        let visits = self.store.certificate_visits(number).await?;
        if let Some(id) = named.map(str::trim) {
            return match visits.iter().find(|v| v.as_str() == id) {
                Some(v) => Ok(v.clone()),
                None => Err(Refusal::bad_input("visit_not_on_certificate", format!("visit {id} was not registered on certificate {number}")).into()),
            };
        }
        let mut open = Vec::new();
        for v in visits {
            if self.store.fee_lines(&v).await?.iter().any(|l| l.setl_id.is_none()) {
                open.push(v);
            }
        }
        match open.len() {
            0 => Err(Refusal::conflict("no_fee_lines", format!("no visit on certificate {number} has fee lines left to claim")).into()),
            1 => Ok(open.remove(0)),
            n => Err(Refusal::bad_input("visit_required", format!("certificate {number} has {n} visits with lines to claim ({}): name one with mdtrt_id", open.join(", "))).into()),
        }
    }

    /// Runs the engine and writes the settlement, the visit's lines marked (for a
    /// certificate visit) and the claim the holder follows; commits.
    async fn book_claim(&self, mut tx: Box<dyn CardTx>, who: &Principal, c: Claim<'_>) -> ServiceResult<(Settlement, ReimbursementView)> {
        let now = self.clock.now();
        let mut ledger = Ledger::open(&mut tx, c.hash, c.date).await?;
        let receipt = self.compute(&mut tx, &mut ledger, c.person, c.level, c.lines, false).await?;
        receipt.check_identities().map_err(ServiceError::Internal)?;
        let setl_id = new_setl_id("M", now);
        let mdtrt_id = c.visit.map_or_else(|| format!("manual:{}:{}", c.reason, setl_id), str::to_string);
        let record = SettlementRecord {
            setl_id: setl_id.clone(),
            mdtrt_id: mdtrt_id.clone(),
            institution: c.institution.to_string(),
            person_hash: c.hash.to_string(),
            kind: SettlementKind::Manual,
            state: SettlementState::Settled,
            visit_date: c.date,
            year: i64::from(chrono::Datelike::year(&c.date)),
            receipt: serde_json::to_value(&receipt).map_err(|e| ServiceError::Internal(e.to_string()))?,
            created_at: now,
            reversed_at: None,
            cross_region: None,
        };
        // One live manual settlement per visit (the database's unique index); a
        // certificate visit's lines are marked with it.
        let sns: Vec<String> = if c.visit.is_some() { c.lines.iter().map(|(l, _)| l.sn.clone()).collect() } else { Vec::new() };
        let marked = tx.book_settlement(&Booking { record: &record, totals: ledger.totals(), debits: &[], sns: &sns }).await.map_err(|e| match e {
            StoreError::Duplicate(_) => Refusal::conflict("already_claimed", format!("visit {mdtrt_id} is claimed already")).into(),
            other => ServiceError::from(other),
        })?;
        if marked != sns.len() as u64 {
            return Err(ServiceError::Internal(format!("claim of {mdtrt_id}: {marked} of its {} lines could be marked", sns.len())));
        }
        // The claim the holder follows, written with its settlement (R-SET-6).
        let claim = yikatong_store::ReimbursementClaim {
            id: setl_id.clone(),
            person_hash: c.hash.to_string(),
            amount_fen: receipt.fund_pay_sumamt.0,
            state: ClaimState::Submitted,
            due_on: self.reimbursement_due_on(&c.person.region, now)?,
            submitted_by: who.recorded_by(),
            approved_by: None,
            created_at: now,
            approved_at: None,
            failure_reason: None,
        };
        tx.insert_reimbursement_claim(&claim).await?;
        self.commit(tx).await?;
        let person = c.person.clone();
        let settlement = Settlement {
            setl_id,
            mdtrt_id,
            psn_no: psn_no(c.hash),
            admdvs: self.admdvs_of(&person.region),
            person,
            receipt,
            settled_at: now,
            state: SettlementState::Settled,
            kind: SettlementKind::Manual,
            registration_setl_id: None,
        };
        Ok((settlement, claim_view(&claim)))
    }

    /// R-CERT-1: the visits registered on a certificate with what is left to claim (a
    /// clerk, an operator).
    pub async fn certificate_visits(&self, who: &Principal, number: &str) -> ServiceResult<Vec<CertificateVisitView>> {
        who.allow(Operation::ManualReimbursement)?;
        self.store
            .card_by_certificate(number)
            .await?
            .ok_or_else(|| ServiceError::from(Refusal::not_found("certificate_not_found", format!("there is no certificate {number}"))))?;
        let mut out = Vec::new();
        for id in self.store.certificate_visits(number).await? {
            let Some(v) = self.store.get_visit(&id).await? else { continue };
            let lines = self.store.fee_lines(&id).await?;
            out.push(CertificateVisitView {
                begntime: v.data.get("begntime").and_then(|b| b.as_str()).unwrap_or_default().to_string(),
                total_fen: lines.iter().map(|l| l.amount_fen).sum(),
                unclaimed_fen: lines.iter().filter(|l| l.setl_id.is_none()).map(|l| l.amount_fen).sum(),
                claim_id: lines.iter().find_map(|l| l.setl_id.clone()),
                mdtrt_id: v.mdtrt_id,
                institution: v.institution,
                state: v.state,
            });
        }
        Ok(out)
    }
}

fn already_claimed(mdtrt_id: &str, first: &str) -> ServiceError {
    Refusal::conflict("already_claimed", format!("visit {mdtrt_id} is claimed already ({first})")).into()
}
