//! Settlement (2206 preview, 2207 booking) and its reversal (2208, R-SET-7). The person's row is locked first, so that
//! settlements, reversals and account credits of one person run one at a time and the
//! deductible and the account are never used twice; the card is checked under its own
//! lock in the same transaction (R-SET-10).

use chrono::{DateTime, NaiveDate, Utc};
use yikatong_core::Refusal;
use yikatong_core::access::{Operation, Principal, Role};
use yikatong_core::account::EntryKind;
use yikatong_core::card::rules::usable_for_settlement;
use yikatong_core::money::Fen;
use yikatong_core::registry::InstitutionLevel;
use yikatong_core::settlement::catalog::FeeLine;
use yikatong_core::settlement::{CatalogItem, ItemKind, Receipt, SettlementInput, SettlementKind, SettlementState, YearTotals, settle};
use yikatong_store::{AccountDebit, Booking, CardTx, Person, SettlementRecord, StoredFeeLine, VisitRecord};

use super::{age_on, institution_of, psn_no};
use crate::{Service, ServiceError, ServiceResult};

/// 2206 / 2207.
#[derive(Debug, Clone, Default)]
pub struct SettleRequest {
    pub mdtrt_id: String,
    pub psn_no: String,
    /// `acct_used_flag` 1: the personal account pays what it may.
    pub use_account: bool,
    /// `medfee_sumamt` as the HIS computed it; must equal the lines' total.
    pub medfee_sumamt: Option<Fen>,
    /// `med_type`; `12` (outpatient registration) settles the registration fee alone
    /// (R-SET-5). Optional: any other or none settles the visit.
    pub med_type: Option<String>,
}

impl SettleRequest {
    /// `med_type` 12: the registration fee alone (R-SET-5).
    fn registration_only(&self) -> bool {
        self.med_type.as_deref() == Some("12")
    }
}

/// A settlement with what the interfaces show of it.
#[derive(Debug, Clone)]
pub struct Settlement {
    pub setl_id: String,
    pub mdtrt_id: String,
    pub person: Person,
    pub psn_no: String,
    pub receipt: Receipt,
    pub settled_at: DateTime<Utc>,
    pub state: SettlementState,
    pub kind: SettlementKind,
    /// The insured region's division code (`clr_optins`).
    pub admdvs: String,
    /// R-SET-5: the registration fee's own settlement, booked beside this one by the
    /// same 2207.
    pub registration_setl_id: Option<String>,
}

/// The visit's date: the registration's `begntime` (read strictly when the visit was
/// registered). A visit whose time cannot be read is refused, never dated from elsewhere.
pub(crate) fn visit_date(visit: &VisitRecord) -> ServiceResult<NaiveDate> {
    let begn = visit.data.get("begntime").and_then(|v| v.as_str()).unwrap_or_default();
    Ok(yikatong_core::clock::parse_business_time("begntime", begn)
        .map_err(|e| Refusal::bad_input("invalid_time", format!("the visit {}'s registration time cannot be read ({}); register the visit again", visit.mdtrt_id, e.message)))?
        .date())
}

/// A visit already paid: the second 2207 learns the first `setl_id`.
pub(crate) fn already_settled(mdtrt_id: &str, setl_id: &str) -> ServiceError {
    Refusal::conflict("already_settled", format!("visit {mdtrt_id} is already settled as {setl_id}; reverse that settlement (2208) before settling again")).into()
}

/// The visit's lines not yet in a settlement, read in `tx` (under the visit's lock).
pub(crate) async fn unsettled_lines(tx: &mut Box<dyn CardTx>, mdtrt_id: &str) -> ServiceResult<Vec<FeeLine>> {
    Ok(tx.visit_lines(mdtrt_id).await?.into_iter().filter(|l| l.setl_id.is_none()).map(fee_line).collect())
}

/// The distinct catalogue codes of `lines`.
pub(crate) fn codes_of(lines: &[FeeLine]) -> Vec<String> {
    let mut codes: Vec<String> = lines.iter().map(|l| l.code.clone()).collect();
    codes.sort();
    codes.dedup();
    codes
}

/// Each line with its catalogue item; a code not in the catalogue is refused by line.
pub(crate) fn priced(items: Vec<CatalogItem>, lines: Vec<FeeLine>) -> ServiceResult<Vec<(FeeLine, CatalogItem)>> {
    let items: std::collections::HashMap<String, CatalogItem> = items.into_iter().map(|i| (i.code.clone(), i)).collect();
    lines
        .into_iter()
        .map(|l| match items.get(&l.code) {
            Some(item) => Ok((l, item.clone())),
            None => Err(Refusal::bad_input("unknown_catalog_code", format!("fee line {}: {} is not in the medical-insurance catalogue", l.sn, l.code)).into()),
        })
        .collect()
}

/// What a 2206/2207 reads of its visit under the visit's lock, in two statements: the
/// visit's live settlements, and its lines with the catalogue items in force at the place
/// of care (R-XREG-2) on the visit's date.
pub(crate) struct VisitReading {
    live: Vec<(SettlementKind, String)>,
    lines: Vec<StoredFeeLine>,
    items: Vec<CatalogItem>,
}

impl VisitReading {
    /// Reads `visit` (locked in `tx`) for a settlement priced in `care_region` on `date`.
    pub(crate) async fn read(tx: &mut Box<dyn CardTx>, visit: &VisitRecord, care_region: &str, date: NaiveDate) -> ServiceResult<VisitReading> {
        let live = tx.live_settlements(&visit.mdtrt_id).await?;
        let (lines, items) = tx.priced_visit_lines(&visit.mdtrt_id, care_region, date).await?;
        Ok(VisitReading { live, lines, items })
    }

    /// The visit's live settlement of `kind`, if any.
    fn live(&self, kind: SettlementKind) -> Option<&str> {
        self.live.iter().find(|(k, _)| *k == kind).map(|(_, id)| id.as_str())
    }

    /// A visit settled already (a HIS retrying under a new msgid) learns the first
    /// settlement, unless lines were added since.
    pub(crate) fn not_settled_yet(&self, mdtrt_id: &str, req: &SettleRequest) -> ServiceResult<()> {
        let kind = if req.registration_only() { SettlementKind::Registration } else { SettlementKind::Realtime };
        if let Some(first) = self.live(kind)
            && !self.lines.iter().any(|l| l.setl_id.is_none())
        {
            return Err(already_settled(mdtrt_id, first));
        }
        Ok(())
    }

    /// The visit's unsettled lines, priced, split into what this 2206/2207 settles.
    /// `medfee_sumamt` must be the total settled.
    pub(crate) fn parts(&self, mdtrt_id: &str, req: &SettleRequest) -> ServiceResult<VisitParts> {
        let registration_only = req.registration_only();
        let stored: Vec<FeeLine> = self.lines.iter().filter(|l| l.setl_id.is_none()).cloned().map(fee_line).collect();
        if stored.is_empty() {
            return Err(Refusal::conflict("no_fee_lines", "the visit has no unsettled fee lines (2204)").into());
        }
        let lines = priced(self.items.clone(), stored)?;
        let total = Fen::checked_sum(lines.iter().map(|(l, _)| l.amount))
            .ok_or_else(|| Refusal::bad_input("amount_out_of_range", "the visit's lines add up to more than an amount can hold"))?;
        // R-SET-5: the registration fee is settled apart from the visit's other costs.
        let (registration, care): (Vec<_>, Vec<_>) = lines.into_iter().partition(|(_, item)| item.kind == ItemKind::RegistrationFee);
        let settled_here = if registration_only { Fen::checked_sum(registration.iter().map(|(l, _)| l.amount)).unwrap_or(Fen::ZERO) } else { total };
        if let Some(sent) = req.medfee_sumamt.filter(|s| *s != settled_here) {
            return Err(Refusal::bad_input("amount_mismatch", format!("medfee_sumamt is {sent} yuan but the unsettled lines this settles add up to {settled_here}")).into());
        }
        let (registration, care) = match (registration_only, registration.is_empty(), care.is_empty()) {
            (true, true, _) => return Err(Refusal::conflict("no_fee_lines", "med_type 12 settles the registration fee, and the visit has no unsettled registration line").into()),
            (true, false, _) => (Vec::new(), registration),
            (false, false, false) => match self.live(SettlementKind::Registration) {
                Some(first) => {
                    return Err(Refusal::conflict(
                        "registration_already_settled",
                        format!("the visit's registration fee is settled already ({first}); remove the extra registration line (2205)"),
                    )
                    .into());
                }
                None => (registration, care),
            },
            // Only the registration fee is left: it is the registration's settlement.
            (false, false, true) => (Vec::new(), registration),
            (false, true, _) => (Vec::new(), care),
        };
        let kind = if care.iter().all(|(_, item)| item.kind == ItemKind::RegistrationFee) { SettlementKind::Registration } else { SettlementKind::Realtime };
        if let Some(first) = self.live(kind) {
            return Err(already_settled(mdtrt_id, first));
        }
        Ok(VisitParts { registration, care, kind })
    }
}

/// A stored line as the engine reads it.
fn fee_line(l: StoredFeeLine) -> FeeLine {
    FeeLine { sn: l.sn, code: l.code, qty_e4: l.qty_e4, price_e6: l.price_e6, amount: Fen(l.amount_fen) }
}

/// What one 2206/2207 settles of a visit: the registration fee's own settlement
/// (R-SET-5), if any, and the rest with its kind.
pub(crate) struct VisitParts {
    pub(crate) registration: Vec<(FeeLine, CatalogItem)>,
    pub(crate) care: Vec<(FeeLine, CatalogItem)>,
    pub(crate) kind: SettlementKind,
}

/// Marks `lines` of the visit settled by `setl_id`: every one, or the booking fails.
pub(crate) async fn mark_lines(tx: &mut Box<dyn CardTx>, mdtrt_id: &str, setl_id: &str, lines: &[(FeeLine, CatalogItem)]) -> ServiceResult<()> {
    let sns: Vec<String> = lines.iter().map(|(l, _)| l.sn.clone()).collect();
    let marked = tx.mark_lines_settled(mdtrt_id, setl_id, &sns).await?;
    if marked != sns.len() as u64 {
        return Err(ServiceError::Internal(format!("settlement of {mdtrt_id}: {marked} of its {} lines could be marked", sns.len())));
    }
    Ok(())
}

pub(crate) fn new_setl_id(prefix: &str, now: DateTime<Utc>) -> String {
    let r: [u8; 4] = yikatong_store::crypto::random_bytes();
    format!("{prefix}{}{:010}", now.format("%Y%m%d%H%M%S"), u32::from_be_bytes(r))
}

impl Service {
    pub(crate) fn admdvs_of(&self, region: &str) -> String {
        self.policies.region(region).map(|r| r.admdvs.clone()).unwrap_or_default()
    }

    /// The lines priced by the catalogue of `region` (the place of care) on `on`.
    pub(crate) async fn priced_lines(&self, lines: Vec<FeeLine>, region: &str, on: NaiveDate) -> ServiceResult<Vec<(FeeLine, CatalogItem)>> {
        let items = self.store.catalog_items(&codes_of(&lines), region, on).await?;
        priced(items, lines)
    }

    /// Runs the engine for `person` on `ledger` (their money on the visit's date, read in
    /// `tx` under their lock) and keeps the receipt in the ledger; nothing is written (see
    /// [`Service::book`]).
    pub(crate) async fn compute(
        &self,
        tx: &mut Box<dyn CardTx>,
        ledger: &mut Ledger,
        person: &Person,
        level: InstitutionLevel,
        lines: &[(FeeLine, CatalogItem)],
        use_account: bool,
    ) -> ServiceResult<Receipt> {
        let date = ledger.date;
        // R-PAY-2: a bound family member's holder's account pays after their own.
        let family = ledger.holder.clone().filter(|_| use_account);
        let mutual_aid_balance = match &family {
            Some(holder) => ledger.holder_balance(tx, holder).await?,
            None => Fen::ZERO,
        };
        let policy = self.policies.region(&person.region)?;
        let mut receipt = settle(&SettlementInput {
            policy,
            date,
            category: person.category,
            age: age_on(person.birth_date, date),
            level,
            lines,
            totals: ledger.totals.clone(),
            account_balance: ledger.balance,
            use_account,
            flags: &person.flags,
            mutual_aid_balance,
        })?;
        receipt.mutual_aid_from = family.filter(|_| receipt.acct_mulaid_pay.0 > 0);
        ledger.take(&receipt);
        Ok(receipt)
    }

    /// 2206 (`book` false: nothing is kept) and 2207 (`book` true). The visit's row is
    /// locked first and its unsettled lines are read under that lock, so two 2207s of
    /// one visit (a HIS retrying under a new `msgid`) book once and the second is
    /// refused with `already_settled` naming the first `setl_id`; a 2204 arriving
    /// meanwhile waits, and its line is left for a later settlement. Then the person,
    /// the card and the year totals are locked (the order every booking path keeps).
    pub async fn settle_visit(&self, who: &Principal, req: &SettleRequest, book: bool) -> ServiceResult<Settlement> {
        let institution = institution_of(who)?;
        // Read before the transaction: a request holding one reads only through it.
        let institution_record = self.require_institution(&institution).await?;
        let institution_level = institution_record.level.clone();
        let mut tx = self.begin_write().await?;
        let visit = self.lock_own_visit(&mut tx, who, &req.mdtrt_id).await?;
        super::still_open(&visit)?;
        super::manual::not_on_certificate(&visit)?;
        if psn_no(&visit.person_hash) != req.psn_no {
            return Err(Refusal::bad_input("person_mismatch", "psn_no is not the person of this visit").into());
        }
        let date = visit_date(&visit)?;
        let reading = VisitReading::read(&mut tx, &visit, &institution_record.region, date).await?;
        reading.not_settled_yet(&visit.mdtrt_id, req)?;
        if let Some(insured) = super::cross_region::insured_region_of(&visit) {
            // Nothing here waits on another region: the visit's lock is let go first.
            drop(tx);
            return self.settle_elsewhere(reading, visit, who, req, book, &institution_record, &insured, date).await;
        }
        let person = tx.lock_person_record(&visit.person_hash).await?.ok_or_else(|| ServiceError::Internal("visit without person".into()))?;
        Self::check_insured(&person)?;
        let credential = visit.data.get("mdtrt_cert_type").and_then(|c| c.as_str()).unwrap_or("03");
        self.realtime_credential_allowed(&person.region, credential, date)?;
        self.designated_allowed(&mut tx, &person, &visit.person_hash, &institution_record, date).await?;
        let VisitParts { registration, care, kind } = reading.parts(&visit.mdtrt_id, req)?;
        let level = InstitutionLevel::parse(visit.data.get("institution_level").and_then(|l| l.as_str()).unwrap_or(&institution_level))?;
        let now = self.clock.now();
        // A visit registered with the card settles only while that card may (R-SET-10);
        // a voucher or ID-number visit the region allows identifies the holder alone.
        if let Some(card_id) = visit.card_id.filter(|_| credential == "03") {
            let card = tx.lock_card(card_id).await?.ok_or_else(|| ServiceError::Internal("visit card missing".into()))?;
            usable_for_settlement(&card, &crate::cards::printed_of(&person), now)?;
        }
        let mut ledger = Ledger::open(&mut tx, &visit.person_hash, date).await?;
        let mut registration_setl_id = None;
        if !registration.is_empty() {
            let receipt = self.compute(&mut tx, &mut ledger, &person, level, &registration, false).await?;
            receipt.check_identities().map_err(ServiceError::Internal)?;
            let id = new_setl_id("R", now);
            if book {
                let record = visit_settlement(&visit, SettlementKind::Registration, &id, date, &receipt, now)?;
                self.book(&mut tx, &record, &ledger, &receipt, &registration).await?;
            }
            registration_setl_id = Some(id);
        }
        let receipt = self.compute(&mut tx, &mut ledger, &person, level, &care, req.use_account && kind == SettlementKind::Realtime).await?;
        receipt.check_identities().map_err(ServiceError::Internal)?;
        let setl_id = new_setl_id(if kind == SettlementKind::Registration { "R" } else { "S" }, now);
        if book {
            let record = visit_settlement(&visit, kind, &setl_id, date, &receipt, now)?;
            self.book(&mut tx, &record, &ledger, &receipt, &care).await?;
            // The card stays locked until the commit, so a pre-loss reported meanwhile
            // waits for it and a settlement never follows a pre-loss; the settlement
            // record (through its visit) is the card's record of use.
            self.commit(tx).await?;
            tracing::info!(setl_id = %setl_id, total = %receipt.total, fund = %receipt.fund_pay_sumamt, "settled");
        }
        // Without booking, dropping the transaction rolls everything back.
        Ok(Settlement {
            setl_id,
            mdtrt_id: visit.mdtrt_id,
            psn_no: psn_no(&visit.person_hash),
            admdvs: self.admdvs_of(&person.region),
            person,
            receipt,
            settled_at: now,
            state: if book { SettlementState::Settled } else { SettlementState::Preview },
            kind,
            registration_setl_id,
        })
    }

    /// Books a settlement in `tx` (one statement on PostgreSQL): its record, the year
    /// totals `ledger` holds with it, the accounts' debits (R-PAY-2) and `lines` marked
    /// (every one, or nothing is booked).
    pub(crate) async fn book(
        &self,
        tx: &mut Box<dyn CardTx>,
        record: &SettlementRecord,
        ledger: &Ledger,
        receipt: &Receipt,
        lines: &[(FeeLine, CatalogItem)],
    ) -> ServiceResult<()> {
        let at = &record.institution;
        let mut debits = Vec::with_capacity(2);
        if receipt.acct_pay.0 > 0 {
            debits.push(AccountDebit { person_hash: record.person_hash.clone(), amount_fen: -receipt.acct_pay.0, reason: format!("outpatient settlement at {at}") });
        }
        if let Some(holder) = receipt.mutual_aid_from.as_deref().filter(|_| receipt.acct_mulaid_pay.0 > 0) {
            debits.push(AccountDebit {
                person_hash: holder.to_string(),
                amount_fen: -receipt.acct_mulaid_pay.0,
                reason: format!("family mutual aid: a member's outpatient settlement at {at}"),
            });
        }
        let sns: Vec<String> = lines.iter().map(|(l, _)| l.sn.clone()).collect();
        let marked = tx.book_settlement(&Booking { record, totals: &ledger.totals, debits: &debits, sns: &sns }).await?;
        if marked != sns.len() as u64 {
            return Err(ServiceError::Internal(format!("settlement of {}: {marked} of its {} lines could be marked", record.mdtrt_id, sns.len())));
        }
        Ok(())
    }

    /// R-SET-11: whether a visit registered with `credential` settles in real time in
    /// the region on `date` (`settlement.realtime_credential.*`). A region whose file is
    /// silent settles with the card only (R-SET-1).
    pub(super) fn realtime_credential_allowed(&self, region: &str, credential: &str, date: NaiveDate) -> ServiceResult<()> {
        let (name, words) = match credential {
            "03" => ("card", "the social security card (03)"),
            "01" => ("voucher", "the electronic voucher (01)"),
            "02" => ("id_card", "the ID card (02)"),
            _ => ("", "an unknown credential"),
        };
        let parameter = format!("settlement.realtime_credential.{name}");
        let allowed = match self.policies.region(region)?.flag(&parameter, date) {
            Ok(flag) => flag,
            Err(yikatong_core::policy::PolicyError::Missing { .. }) => credential == "03",
            Err(e) => return Err(e.into()),
        };
        if allowed {
            return Ok(());
        }
        Err(Refusal::conflict(
            "credential_not_for_realtime",
            format!("region {region}'s policy on {date} ({parameter}) does not settle a visit registered with {words} in real time; the holder pays and is reimbursed by hand (R-SET-6), or registers again with the card"),
        )
        .into())
    }

    /// 2208 / R-SET-7: reverses a settlement; the year totals and the account come back
    /// exactly as they were before it, and its fee lines may be settled again. The
    /// visit is locked first, as by the booking.
    pub async fn reverse_settlement(&self, who: &Principal, setl_id: &str) -> ServiceResult<Settlement> {
        who.allow(Operation::ReverseSettlement)?;
        let found = self.visible_settlement(who, setl_id).await?;
        if found.is_care_copy() {
            return self.reverse_elsewhere(who, found).await;
        }
        let (tx, person, s, receipt) = self.reversal_of(found, self.clock.now()).await?;
        self.commit(tx).await?;
        Ok(self.reversed(s, person, receipt))
    }

    /// Opens the write transaction of a reversal and reverses the settlement in it (the
    /// caller may add to it before committing): the visit, the person and the settlement
    /// locked in the booking's order, the year totals and the account restored, the
    /// lines freed.
    pub(crate) async fn reversal(&self, who: &Principal, setl_id: &str) -> ServiceResult<(Box<dyn CardTx>, Person, SettlementRecord, Receipt)> {
        let found = self.visible_settlement(who, setl_id).await?;
        self.reversal_of(found, self.clock.now()).await
    }

    /// A settlement the caller may reverse: the operator's any, an institution's its own.
    pub(crate) async fn visible_settlement(&self, who: &Principal, setl_id: &str) -> ServiceResult<SettlementRecord> {
        let found = self.store.get_settlement(setl_id).await?;
        let visible = found.as_ref().is_some_and(|s| who.role == Role::Operator || Some(&s.institution) == who.institution.as_ref());
        found.filter(|_| visible).ok_or_else(|| Refusal::not_found("settlement_not_found", format!("there is no settlement {setl_id} at this institution")).into())
    }

    /// [`Service::reversal`] of `found` (read by [`Service::visible_settlement`]) at `now`.
    pub(crate) async fn reversal_of(&self, found: SettlementRecord, now: DateTime<Utc>) -> ServiceResult<(Box<dyn CardTx>, Person, SettlementRecord, Receipt)> {
        let setl_id = found.setl_id.as_str();
        let person = self.store.get_person_by_hash(&found.person_hash).await?.ok_or_else(|| ServiceError::Internal("settlement without person".into()))?;
        let mut tx = self.begin_write().await?;
        tx.lock_visit(&found.mdtrt_id).await?;
        tx.lock_person(&found.person_hash).await?;
        let mut s = tx.lock_settlement(setl_id).await?.ok_or_else(|| ServiceError::Internal("settlement vanished".into()))?;
        if s.state != SettlementState::Settled {
            return Err(Refusal::conflict("already_reversed", format!("settlement {setl_id} is already reversed")).into());
        }
        let receipt = stored_receipt(&mut s)?;
        let totals = tx.lock_year_totals(&s.person_hash, s.year).await?;
        tx.save_year_totals(&s.person_hash, s.year, &totals.minus(&receipt)).await?;
        if receipt.acct_pay.0 > 0 {
            tx.append_account_entry(&s.person_hash, now, EntryKind::Reversal, receipt.acct_pay.0, Some(setl_id), "settlement reversed").await?;
        }
        if let Some(holder) = receipt.mutual_aid_from.as_deref().filter(|_| receipt.acct_mulaid_pay.0 > 0) {
            tx.lock_person(holder).await?;
            tx.append_account_entry(holder, now, EntryKind::Reversal, receipt.acct_mulaid_pay.0, Some(setl_id), "a member's settlement reversed").await?;
        }
        tx.mark_settlement_reversed(setl_id, now).await?;
        tx.free_lines(&s.mdtrt_id, setl_id).await?;
        Ok((tx, person, s, receipt))
    }

    /// The reversed settlement as answered.
    pub(crate) fn reversed(&self, s: SettlementRecord, person: Person, receipt: Receipt) -> Settlement {
        Settlement { state: SettlementState::Reversed, ..self.answered(s, person, receipt) }
    }

    /// The holder of a settlement: this region's person, or for the care region's copy of
    /// a cross-region settlement the holder as their region showed them (R-XREG-2).
    async fn settlement_holder(&self, s: &SettlementRecord) -> ServiceResult<Person> {
        if s.is_care_copy() {
            let visit = self.store.get_visit(&s.mdtrt_id).await?.ok_or_else(|| ServiceError::Internal("settlement without visit".into()))?;
            return super::cross_region::holder_of(&visit);
        }
        self.store.get_person_by_hash(&s.person_hash).await?.ok_or_else(|| ServiceError::Internal("settlement without person".into()))
    }

    /// A stored settlement as the interfaces answer it, with its holder and its receipt.
    pub(crate) fn answered(&self, s: SettlementRecord, person: Person, receipt: Receipt) -> Settlement {
        Settlement {
            setl_id: s.setl_id,
            mdtrt_id: s.mdtrt_id,
            psn_no: psn_no(&s.person_hash),
            admdvs: self.admdvs_of(&person.region),
            person,
            receipt,
            settled_at: s.created_at,
            state: s.state,
            kind: s.kind,
            registration_setl_id: None,
        }
    }

    /// 5203 and the operator's view: a settlement of the caller's institution.
    pub async fn get_settlement(&self, who: &Principal, setl_id: &str) -> ServiceResult<Settlement> {
        who.allow(Operation::ReadSettlement)?;
        let s = self.store.get_settlement(setl_id).await?;
        let mut s = match s {
            Some(s) if who.role != Role::Institution || Some(&s.institution) == who.institution.as_ref() => s,
            _ => return Err(Refusal::not_found("settlement_not_found", format!("there is no settlement {setl_id} visible to you")).into()),
        };
        if who.role == Role::Holder && who.person_hash.as_deref() != Some(s.person_hash.as_str()) {
            return Err(Refusal::not_found("settlement_not_found", format!("there is no settlement {setl_id} visible to you")).into());
        }
        let person = self.settlement_holder(&s).await?;
        let receipt = stored_receipt(&mut s)?;
        Ok(self.answered(s, person, receipt))
    }

    /// The trace of a settlement (operator): which parameter, value and date produced
    /// each amount.
    pub async fn settlement_trace(&self, who: &Principal, setl_id: &str) -> ServiceResult<Settlement> {
        who.allow(Operation::TraceSettlement)?;
        self.get_settlement(who, setl_id).await
    }
}

impl Service {
    /// A person's settlements, newest first (the holder their own, a clerk, an operator).
    pub async fn settlements_of(&self, who: &Principal, ssn: &str) -> ServiceResult<Vec<Settlement>> {
        who.allow(Operation::ReadSettlements)?;
        self.get_person(who, ssn).await?;
        let parsed = yikatong_core::identity::Ssn::parse(ssn)?;
        let person = self.require_person(&parsed).await?;
        let hash = person.key.clone();
        let mut out = Vec::new();
        for mut s in self.store.settlements_of_person(&hash).await?.into_iter().rev() {
            let receipt = stored_receipt(&mut s)?;
            out.push(self.answered(s, person.clone(), receipt));
        }
        Ok(out)
    }
}

/// The record of a settlement of `visit` at its own institution.
pub(crate) fn visit_settlement(
    visit: &VisitRecord,
    kind: SettlementKind,
    setl_id: &str,
    date: NaiveDate,
    receipt: &Receipt,
    now: DateTime<Utc>,
) -> ServiceResult<SettlementRecord> {
    Ok(SettlementRecord {
        setl_id: setl_id.into(),
        mdtrt_id: visit.mdtrt_id.clone(),
        institution: visit.institution.clone(),
        person_hash: visit.person_hash.clone(),
        kind,
        state: SettlementState::Settled,
        visit_date: date,
        year: i64::from(chrono::Datelike::year(&date)),
        receipt: serde_json::to_value(receipt).map_err(|e| ServiceError::Internal(e.to_string()))?,
        created_at: now,
        reversed_at: None,
        cross_region: None,
    })
}

/// A person's money as a settlement's transaction holds it, their row locked: the year
/// totals of the visit's year (their row locked too), the account balance and the
/// family holder whose account pays after it (R-PAY-2). Read once per transaction (two
/// statements) and kept up to date by every receipt computed in it, so that a 2206
/// preview of two receipts (R-SET-5) shows what the 2207 books.
pub(crate) struct Ledger {
    /// The visit's date: the year of the totals, the day the policy is read for.
    date: NaiveDate,
    totals: YearTotals,
    balance: Fen,
    holder: Option<String>,
    /// The holder's balance, read under their lock the first time it may pay (the
    /// holder's row is locked after the member's; holders are never members, so this
    /// order never waits in a circle).
    holder_balance: Option<Fen>,
}

impl Ledger {
    /// Reads the ledger of `person_hash` (locked in `tx`) for the year of `date`.
    pub(crate) async fn open(tx: &mut Box<dyn CardTx>, person_hash: &str, date: NaiveDate) -> ServiceResult<Ledger> {
        let totals = tx.lock_year_totals(person_hash, i64::from(chrono::Datelike::year(&date))).await?;
        let (balance, holder) = tx.account_and_holder(person_hash).await?;
        Ok(Ledger { date, totals, balance: Fen(balance), holder, holder_balance: None })
    }

    async fn holder_balance(&mut self, tx: &mut Box<dyn CardTx>, holder: &str) -> ServiceResult<Fen> {
        if let Some(b) = self.holder_balance {
            return Ok(b);
        }
        tx.lock_person(holder).await?;
        let b = Fen(tx.account_balance(holder).await?);
        self.holder_balance = Some(b);
        Ok(b)
    }

    /// The year totals with every receipt computed so far.
    pub(crate) fn totals(&self) -> &YearTotals {
        &self.totals
    }

    fn take(&mut self, receipt: &Receipt) {
        self.totals = self.totals.plus(receipt);
        self.balance -= receipt.acct_pay;
        if let Some(b) = self.holder_balance.as_mut() {
            *b -= receipt.acct_mulaid_pay;
        }
    }
}

/// The receipt a settlement record keeps, taken out of it (the record's JSON is left
/// empty).
pub(crate) fn stored_receipt(s: &mut SettlementRecord) -> ServiceResult<Receipt> {
    serde_json::from_value(std::mem::take(&mut s.receipt)).map_err(|e| ServiceError::Internal(format!("settlement {}: {e}", s.setl_id)))
}
