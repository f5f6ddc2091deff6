//! Reading the card, registering a visit, its visit information and fee lines (1101,
//! 2201-2205 of the national interface).

use serde::Serialize;
use yikatong_core::Refusal;
use yikatong_core::access::Principal;
use yikatong_core::card::rules;
use yikatong_core::card::{Card, CardState};
use yikatong_core::identity::Ssn;
use yikatong_core::money::{Fen, limits};
use yikatong_core::settlement::catalog::{FeeLine, parse_fixed};
use yikatong_core::settlement::{ItemKind, LineSplit, VisitState, split_line};
use yikatong_store::{CardTx, Person, StoredFeeLine, VisitRecord};

use super::{institution_of, psn_no};
use crate::{Service, ServiceError, ServiceResult};

/// What a hospital presented (R-SET-11): the holder, the card in use, and for an
/// electronic voucher its code's keyed hash.
pub(super) struct Presented {
    pub(super) person: Person,
    pub(super) card: Option<Card>,
    pub(super) voucher: Option<String>,
}

/// Who the card or ID belongs to (1101).
#[derive(Debug, Clone)]
pub struct PersonInfo {
    pub psn_no: String,
    pub person: Person,
    pub balance: Fen,
    pub card: Option<Card>,
    pub admdvs: String,
    /// The asking institution's own visit card linked to the holder (R-SET-9).
    pub visit_card_no: Option<String>,
}

/// 2201: a visit's registration.
#[derive(Debug, Clone, Default)]
pub struct Registration {
    pub psn_no: String,
    pub insutype: String,
    pub begntime: String,
    pub mdtrt_cert_type: String,
    pub mdtrt_cert_no: String,
    pub card_sn: Option<String>,
    pub ipt_otp_no: String,
    /// R-SET-9: the institution's own visit card (就诊卡) to link to the holder at the
    /// first visit; optional (an extension of 2201's `data`).
    pub visit_card_no: Option<String>,
    /// R-CERT-1: the card-collection certificate (领卡证明) the holder presented while
    /// their card is being made; optional (an extension of 2201's `data`). The visit is
    /// then paid in cash and its uploaded fee lines are claimed by hand.
    pub certificate_no: Option<String>,
    /// The rest of the registration as sent (doctor, department …).
    pub extra: serde_json::Value,
}

/// One `feedetail` line as the HIS sends it: numbers as text, exactly.
#[derive(Debug, Clone, Default)]
pub struct FeeLineInput {
    pub sn: String,
    pub code: String,
    pub qty: String,
    pub price: String,
    pub amount: String,
}

/// 2204's answer for one line: how the catalogue and the region's file split it.
#[derive(Debug, Clone, Serialize)]
pub struct LineResult {
    pub kind: ItemKind,
    pub qty_e4: i64,
    pub price_e6: i64,
    pub split: LineSplit,
}

fn bad(code: &'static str, msg: String) -> ServiceError {
    Refusal::bad_input(code, msg).into()
}

fn bad_conflict(code: &'static str, msg: String) -> ServiceError {
    Refusal::conflict(code, msg).into()
}

/// A hospital's visit-card number: 1-40 letters, digits or `-`, trimmed.
fn checked_visit_card_no(no: &str) -> ServiceResult<String> {
    let no = no.trim();
    if no.is_empty() || no.chars().count() > 40 || !no.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(bad("invalid_visit_card_no", format!("visit_card_no {no:?} must be 1-40 letters, digits or '-'")));
    }
    Ok(no.to_string())
}

impl Service {
    /// The holder a credential names (R-SET-11): `03` the social security card (its
    /// number and identification code, or — as some clients send it — the holder's ID
    /// number with the identification code of the card in use), `02` the ID number, `01`
    /// an electronic voucher's code (`read`: by 1101, which binds it to the institution).
    pub(super) async fn presented(&self, institution: &str, cert_type: &str, cert_no: &str, card_sn: Option<&str>, read: bool) -> ServiceResult<Presented> {
        let card_sn = card_sn.map(str::trim).filter(|s| !s.is_empty());
        match cert_type {
            "03" if cert_no.trim().len() == 18 => {
                let ssn = Ssn::parse(cert_no)?;
                let person = self.require_person(&ssn).await?;
                let card = self.current_card_of(&person).await?.filter(|c| card_sn.is_none_or(|sn| c.identification_code.as_deref() == Some(sn)));
                let card =
                    card.ok_or_else(|| ServiceError::from(Refusal::not_found("card_not_found", "the holder of this ID number has no card in use with this identification code")))?;
                Ok(Presented { person, card: Some(card), voucher: None })
            }
            "03" => {
                let cards = self.store.cards_by_number(cert_no.trim()).await?;
                let card = match card_sn {
                    Some(sn) => cards.into_iter().find(|c| c.identification_code.as_deref() == Some(sn)),
                    None => cards.into_iter().max_by_key(|c| c.id),
                }
                .ok_or_else(|| ServiceError::from(Refusal::not_found("card_not_found", "no card has this number and identification code")))?;
                let person = self.card_holder(&card).await?;
                Ok(Presented { person, card: Some(card), voucher: None })
            }
            "02" => {
                let ssn = Ssn::parse(cert_no)?;
                let person = self.require_person(&ssn).await?;
                let card = self.current_card_of(&person).await?;
                Ok(Presented { person, card, voucher: None })
            }
            "01" => {
                let v = self.presented_voucher(institution, cert_no, read).await?;
                let card = self.current_card_of(&v.person).await?;
                Ok(Presented { person: v.person, card, voucher: Some(v.code_hash) })
            }
            other => Err(bad("invalid_certificate_type", format!("mdtrt_cert_type must be 01 (electronic voucher), 02 (ID card) or 03 (social security card), not {other:?}"))),
        }
    }

    /// The person's newest card that is still alive, if any.
    async fn current_card_of(&self, person: &Person) -> ServiceResult<Option<Card>> {
        let hash = person.key_with(self.store.data_key());
        Ok(self.store.cards_of_person(&hash).await?.into_iter().filter(|c| c.state.is_alive()).max_by_key(|c| c.id))
    }

    /// 1101: the person behind a card or ID, their insurance and account balance.
    pub async fn person_info(&self, who: &Principal, cert_type: &str, cert_no: &str, card_sn: Option<&str>) -> ServiceResult<PersonInfo> {
        let institution = institution_of(who)?;
        let Presented { person, card, .. } = self.presented(&institution, cert_type, cert_no, card_sn, true).await?;
        // R-SET-10: a card that may not settle is refused here with 2201's reason; an
        // issued card is not, its social zone starts at this visit's registration (R-ACT-1).
        // A voucher or an ID number identifies the holder whatever their card's state.
        if let Some(card) = card.as_ref().filter(|c| cert_type == "03" && c.state != CardState::Issued) {
            rules::usable_for_settlement(card, &crate::cards::printed_of(&person), self.clock.now())?;
        }
        let hash = person.key_with(self.store.data_key());
        let balance = Fen(self.store.account_entries(&hash).await?.iter().map(|e| e.amount_fen).sum());
        let admdvs = self.policies.region(&person.region).map(|r| r.admdvs.clone()).unwrap_or_default();
        let visit_card_no = self.store.visit_card_of(&institution, &hash).await?;
        Ok(PersonInfo { psn_no: psn_no(&hash), person, balance, card, admdvs, visit_card_no })
    }

    /// 2201: registers a visit with the card (R-SET-1). The card's social zone starts
    /// on its first use here (R-ACT-1); a card that may not settle is refused now.
    pub async fn register_visit(&self, who: &Principal, reg: &Registration) -> ServiceResult<VisitRecord> {
        let institution = institution_of(who)?;
        if reg.ipt_otp_no.trim().is_empty() {
            return Err(bad("missing_field", "ipt_otp_no (the hospital's visit number) is required".into()));
        }
        let begntime = checked_begntime(reg)?;
        let person = self.person_by_psn_no(&reg.psn_no).await?;
        Self::check_insured(&person)?;
        let hash = person.key_with(self.store.data_key());
        let Presented { person: holder, card, voucher } = self.presented(&institution, &reg.mdtrt_cert_type, &reg.mdtrt_cert_no, reg.card_sn.as_deref(), false).await?;
        if holder.ssn != person.ssn {
            return Err(bad("card_not_the_persons", "the card or ID presented belongs to someone else".into()));
        }
        let level = self.require_institution(&institution).await?.level;
        let visit_card_no = reg.visit_card_no.as_deref().map(checked_visit_card_no).transpose()?;
        let certificate = match reg.certificate_no.as_deref().map(str::trim) {
            Some(number) => Some(self.certificate_for_visit(number, &hash, &begntime).await?),
            None => None,
        };
        // The card's first use, the visit card's link and the visit are one
        // transaction: a crash leaves all or none.
        let mut tx = self.begin_write().await?;
        let card_id = match (reg.mdtrt_cert_type.as_str(), card) {
            ("03", Some(card)) => {
                self.first_use_and_check(&mut tx, who, &card, &hash, &person).await?;
                Some(card.id)
            }
            _ => None,
        };
        let now = self.clock.now();
        let mdtrt_id = new_mdtrt_id(&institution, now);
        // The voucher serves this one visit: only one registration wins its update.
        if let Some(code_hash) = &voucher
            && !tx.use_voucher(code_hash, &institution, &mdtrt_id, now).await?
        {
            return Err(super::vouchers::voucher_used());
        }
        let mut data = visit_data(reg, &level, &begntime);
        if let (Some(o), Some(number)) = (data.as_object_mut(), &certificate) {
            o.insert("certificate_no".into(), serde_json::json!(number));
        }
        let visit = VisitRecord { mdtrt_id, institution, person_hash: hash, card_id, ipt_otp_no: reg.ipt_otp_no.clone(), state: VisitState::Registered, data, created_at: now };
        tx.insert_visit(&visit).await?;
        if let Some(number) = &certificate {
            tx.insert_certificate_visit(&visit.mdtrt_id, number, &visit.person_hash, now).await?;
        }
        if let Some(no) = &visit_card_no {
            tx.link_visit_card(&visit.institution, no, &visit.person_hash, now).await.map_err(|e| match e {
                yikatong_store::StoreError::Duplicate(_) => bad_conflict("visit_card_taken", format!("the visit card {no} of this institution is linked to another holder")),
                other => other.into(),
            })?;
        }
        self.commit(tx).await?;
        Ok(visit)
    }

    /// R-CERT-1: the certificate a visit is registered on: the holder's own, issued on
    /// or before the visit's day and valid (its card not yet collected). Answers its
    /// number.
    async fn certificate_for_visit(&self, number: &str, person_hash: &str, begntime: &str) -> ServiceResult<String> {
        let not_theirs = || bad("certificate_not_the_persons", format!("certificate {number} was not issued to this holder"));
        let card = self.store.card_by_certificate(number).await?.ok_or_else(not_theirs)?;
        if card.person_hash != person_hash {
            return Err(not_theirs());
        }
        let certificate = card.certificate.as_ref().ok_or_else(not_theirs)?;
        let day = yikatong_core::clock::parse_business_time("begntime", begntime)?.date();
        if !crate::cards::certificate_valid(&card) || day < certificate.issued_on {
            return Err(bad_conflict(
                "certificate_not_valid",
                format!("certificate {number} does not cover a visit on {day}: it is valid from {} until the new card is collected", certificate.issued_on),
            ));
        }
        Ok(certificate.number.clone())
    }

    /// Starts the social zone of an issued card on its first use at an institution
    /// (R-ACT-1), then checks that it may settle; inside the registration's transaction.
    pub(super) async fn first_use_and_check(&self, tx: &mut Box<dyn CardTx>, who: &Principal, card: &Card, person_hash: &str, person: &Person) -> ServiceResult<()> {
        let record = crate::cards::printed_of(person);
        let current = if card.state == CardState::Issued {
            // R-ACT-2: the swipe stops the card this one supersedes, in this transaction.
            // The first swipe asks nothing: the old card's bank account is kept.
            self.start_social_zone_in(tx, who, card.id, person_hash, yikatong_core::card::AccountChoice::Keep).await?
        } else {
            tx.lock_person(person_hash).await?;
            self.lock_visible(tx, who, card.id).await?
        };
        rules::usable_for_settlement(&current, &record, self.clock.now())?;
        Ok(())
    }

    /// 2202: cancels a registration that has nothing settled (under the visit's lock).
    pub async fn cancel_registration(&self, who: &Principal, mdtrt_id: &str) -> ServiceResult<VisitRecord> {
        let mut tx = self.begin_write().await?;
        let mut visit = self.lock_own_visit(&mut tx, who, mdtrt_id).await?;
        if tx.visit_lines(mdtrt_id).await?.iter().any(|l| l.setl_id.is_some()) {
            return Err(Refusal::conflict("visit_settled", "the visit has a settlement; cancel the settlement first").into());
        }
        visit.state = VisitState::Cancelled;
        tx.update_visit(&visit).await?;
        self.commit(tx).await?;
        Ok(visit)
    }

    /// 2203A: the visit's information (medical type, diagnoses).
    pub async fn record_visit_info(&self, who: &Principal, mdtrt_id: &str, info: &serde_json::Value, diseases: &serde_json::Value) -> ServiceResult<VisitRecord> {
        let mut tx = self.begin_write().await?;
        let mut visit = self.lock_own_visit(&mut tx, who, mdtrt_id).await?;
        super::still_open(&visit)?;
        if let Some(o) = visit.data.as_object_mut() {
            o.insert("mdtrtinfo".into(), info.clone());
            o.insert("diseinfo".into(), diseases.clone());
        }
        tx.update_visit(&visit).await?;
        self.commit(tx).await?;
        Ok(visit)
    }

    /// 2204: fee lines, each checked against the catalogue and for amounts that do not
    /// multiply out (R-SET-10); the whole upload is refused when one line is wrong. The
    /// visit is locked, so a line uploaded while the visit is being settled waits and
    /// stays unsettled (a reversal, 2208, and a new 2207 bill it with the rest).
    pub async fn upload_fee_lines(&self, who: &Principal, mdtrt_id: &str, chrg_bchno: &str, lines: &[FeeLineInput]) -> ServiceResult<Vec<LineResult>> {
        let parsed = parse_fee_lines(lines)?;
        // The catalogue of the place of care prices the lines (R-XREG-2); read before
        // the transaction, which then reads only through itself.
        let care_region = self.require_institution(&institution_of(who)?).await?.region;
        let mut tx = self.begin_write().await?;
        let visit = self.lock_own_visit(&mut tx, who, mdtrt_id).await?;
        super::still_open(&visit)?;
        // The split shown is the insured region's policy's (its file is shipped to every
        // region); a holder of another region is computed there at 2207 (R-XREG-2).
        let insured_region = match super::insured_region_of(&visit) {
            Some(region) => region,
            None => tx.person(&visit.person_hash).await?.ok_or_else(|| ServiceError::Internal("visit without person".into()))?.region,
        };
        let policy = self.policies.region(&insured_region)?;
        let date = super::booking::visit_date(&visit)?;
        let before = tx.visit_lines(mdtrt_id).await?;
        if before.len() + parsed.len() > limits::MAX_LINES {
            return Err(bad("too_many_fee_lines", format!("the visit would have {} lines; at most {} are taken", before.len() + parsed.len(), limits::MAX_LINES)));
        }
        let visit_total = Fen::checked_sum(before.iter().filter(|l| l.setl_id.is_none()).map(|l| Fen(l.amount_fen)).chain(parsed.iter().map(|l| l.amount)));
        if !visit_total.is_some_and(Fen::within_limits) {
            return Err(bad("amount_out_of_range", format!("the visit's unsettled lines would add up to more than {} yuan", limits::MAX_AMOUNT)));
        }
        let mut stored = Vec::with_capacity(lines.len());
        let mut results = Vec::with_capacity(lines.len());
        let items = tx.catalog_items(&super::booking::codes_of(&parsed), &care_region, date).await?;
        for (line, item) in super::booking::priced(items, parsed)? {
            let (qty_e4, price_e6, amount) = (line.qty_e4, line.price_e6, line.amount);
            let l = &line;
            let split = split_line(policy, date, &line, &item, &mut Vec::new())?;
            stored.push(StoredFeeLine { sn: l.sn.clone(), chrg_bchno: chrg_bchno.into(), code: l.code.clone(), qty_e4, price_e6, amount_fen: amount.0, setl_id: None });
            results.push(LineResult { kind: item.kind, qty_e4, price_e6, split });
        }
        tx.insert_fee_lines(mdtrt_id, chrg_bchno, &stored).await?;
        self.commit(tx).await?;
        Ok(results)
    }

    /// 2205: removes unsettled lines of a batch (`0000`: every unsettled line), under
    /// the visit's lock.
    pub async fn cancel_fee_lines(&self, who: &Principal, mdtrt_id: &str, chrg_bchno: &str) -> ServiceResult<u64> {
        let mut tx = self.begin_write().await?;
        self.lock_own_visit(&mut tx, who, mdtrt_id).await?;
        let removed = tx.delete_unsettled_lines(mdtrt_id, chrg_bchno).await?;
        self.commit(tx).await?;
        Ok(removed)
    }
}

/// The registration's `begntime`, read strictly (the visit's time picks the policy in
/// force), as stored.
pub(super) fn checked_begntime(reg: &Registration) -> ServiceResult<String> {
    Ok(yikatong_core::clock::parse_business_time("begntime", &reg.begntime)?.format("%Y-%m-%d %H:%M:%S").to_string())
}

/// A visit's `mdtrt_id`, at most the interface's 30 characters: the institution's code
/// (12), the time to the second (`yyMMddHHmmss`) and six random base-36 characters
/// (2.2 billion a second, so that a busy institution's registrations do not meet on
/// the key; the key's unique index refuses one that would).
pub(super) fn new_mdtrt_id(institution: &str, now: chrono::DateTime<chrono::Utc>) -> String {
    const DIGITS: &[u8; 36] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let r: [u8; 8] = yikatong_store::crypto::random_bytes();
    let mut n = u64::from_be_bytes(r);
    let serial: String = (0..6)
        .map(|_| {
            let d = DIGITS[(n % 36) as usize];
            n /= 36;
            char::from(d)
        })
        .collect();
    format!("{}{}{serial}", institution.chars().take(12).collect::<String>(), now.format("%y%m%d%H%M%S"))
}

/// What a visit keeps of its registration: 2201's extra fields, the institution's level
/// as of registration (it prices the whole visit), the insurance type, the time and the
/// credential.
pub(super) fn visit_data(reg: &Registration, level: &str, begntime: &str) -> serde_json::Value {
    let mut data = reg.extra.clone();
    if let Some(o) = data.as_object_mut() {
        o.insert("institution_level".into(), serde_json::json!(level));
        o.insert("insutype".into(), serde_json::json!(reg.insutype));
        o.insert("begntime".into(), serde_json::json!(begntime));
        o.insert("mdtrt_cert_type".into(), serde_json::json!(reg.mdtrt_cert_type));
    }
    data
}

/// 2204's lines as numbers, exactly: each quantity, price and amount a decimal of at
/// most 4, 6 and 2 places within the interface's bounds, each refusal naming the line
/// and the field; no line, or more than the interface takes at once, is refused.
pub fn parse_fee_lines(lines: &[FeeLineInput]) -> ServiceResult<Vec<FeeLine>> {
    if lines.is_empty() {
        return Err(bad("no_fee_lines", "feedetail is empty".into()));
    }
    if lines.len() > limits::MAX_LINES {
        return Err(bad("too_many_fee_lines", format!("feedetail has {} lines; at most {} are taken at once", lines.len(), limits::MAX_LINES)));
    }
    let mut parsed = Vec::with_capacity(lines.len());
    for l in lines {
        let qty_e4 = fixed_field(&l.sn, "cnt", &l.qty, 4)?;
        let price_e6 = fixed_field(&l.sn, "pric", &l.price, 6)?;
        let amount = Fen(fixed_field(&l.sn, "det_item_fee_sumamt", &l.amount, 2)?);
        check_line_bounds(&l.sn, qty_e4, price_e6, amount)?;
        parsed.push(FeeLine { sn: l.sn.clone(), code: l.code.clone(), qty_e4, price_e6, amount });
    }
    Ok(parsed)
}

/// A decimal field of a fee line with at most `places` decimals, exactly; a number too
/// large to hold is out of range, anything else not a number.
fn fixed_field(sn: &str, field: &str, text: &str, places: u32) -> ServiceResult<i64> {
    if let Some(v) = parse_fixed(text, places) {
        return Ok(v);
    }
    if yikatong_core::money::below_precision(text, places) {
        return Err(bad("invalid_fee_line", format!("fee line {sn}: {field} {text:?} has a non-zero digit below its {places} decimals")));
    }
    let t = text.trim().trim_start_matches('-');
    let (int, frac) = t.split_once('.').unwrap_or((t, ""));
    if !int.is_empty() && int.chars().chain(frac.chars()).all(|c| c.is_ascii_digit()) {
        return Err(bad("amount_out_of_range", format!("fee line {sn}: {field} {text:?} is far beyond any amount taken")));
    }
    Err(bad("invalid_fee_line", format!("fee line {sn}: {field} {text:?} is not a number with at most {places} decimals")))
}

/// A fee line's numbers within the interface's bounds (`limits`), each refusal naming
/// the line and the field.
pub(crate) fn check_line_bounds(sn: &str, qty_e4: i64, price_e6: i64, amount: Fen) -> ServiceResult<()> {
    if !(0..=limits::MAX_QTY_E4).contains(&qty_e4) {
        return Err(bad("amount_out_of_range", format!("fee line {sn}: cnt must be between 0 and {}", limits::MAX_QTY_E4 / 10_000)));
    }
    if !(0..=limits::MAX_PRICE_E6).contains(&price_e6) {
        return Err(bad("amount_out_of_range", format!("fee line {sn}: pric must be between 0 and {} yuan", limits::MAX_PRICE_E6 / 1_000_000)));
    }
    if !amount.within_limits() {
        return Err(bad("amount_out_of_range", format!("fee line {sn}: det_item_fee_sumamt must be between 0 and {} yuan", limits::MAX_AMOUNT)));
    }
    Ok(())
}
