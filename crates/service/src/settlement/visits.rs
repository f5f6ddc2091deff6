//! Reading the card, registering a visit, its visit information and fee lines (1101,
//! 2201-2205 of the national interface).

use serde::Serialize;
use yikatong_core::Refusal;
use yikatong_core::access::Principal;
use yikatong_core::card::rules::{self, RuleCtx};
use yikatong_core::card::{Card, CardState, Zone, apply};
use yikatong_core::identity::Ssn;
use yikatong_core::money::Fen;
use yikatong_core::settlement::catalog::{FeeLine, parse_fixed};
use yikatong_core::settlement::{ItemKind, LineSplit, split_line};
use yikatong_store::{Person, StoredFeeLine, VisitRecord};

use super::{institution_of, psn_no};
use crate::{Service, ServiceError, ServiceResult};

/// Who the card or ID belongs to (1101).
#[derive(Debug, Clone)]
pub struct PersonInfo {
    pub psn_no: String,
    pub person: Person,
    pub balance: Fen,
    pub card: Option<Card>,
    pub admdvs: String,
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

impl Service {
    /// Finds the card a cashier read: `03` social security card (card number and the
    /// card's identification code), or `02` ID number.
    async fn card_or_person(&self, cert_type: &str, cert_no: &str, card_sn: Option<&str>) -> ServiceResult<(Person, Option<Card>)> {
        match cert_type {
            "03" => {
                let cards = self.store.cards_by_number(cert_no.trim()).await?;
                let card = match card_sn.filter(|s| !s.is_empty()) {
                    Some(sn) => cards.into_iter().find(|c| c.identification_code.as_deref() == Some(sn)),
                    None => cards.into_iter().max_by_key(|c| c.id),
                }
                .ok_or_else(|| ServiceError::from(Refusal::not_found("card_not_found", "no card has this number and identification code")))?;
                let person = self.card_holder(&card).await?;
                Ok((person, Some(card)))
            }
            "02" => {
                let ssn = Ssn::parse(cert_no)?;
                let person = self.require_person(&ssn).await?;
                let hash = self.store.data_key().lookup_hash(ssn.expose());
                let card = self.store.cards_of_person(&hash).await?.into_iter().filter(|c| c.state.is_alive()).max_by_key(|c| c.id);
                Ok((person, card))
            }
            other => Err(bad("invalid_certificate_type", format!("mdtrt_cert_type must be 02 (ID card) or 03 (social security card), not {other:?}"))),
        }
    }

    /// 1101: the person behind a card or ID, their insurance and account balance.
    pub async fn person_info(&self, who: &Principal, cert_type: &str, cert_no: &str, card_sn: Option<&str>) -> ServiceResult<PersonInfo> {
        institution_of(who)?;
        let (person, card) = self.card_or_person(cert_type, cert_no, card_sn).await?;
        let hash = self.store.data_key().lookup_hash(&person.ssn);
        let balance = Fen(self.store.account_entries(&hash).await?.iter().map(|e| e.amount_fen).sum());
        let admdvs = self.policies.region(&person.region).map(|r| r.admdvs.clone()).unwrap_or_default();
        Ok(PersonInfo { psn_no: psn_no(&hash), person, balance, card, admdvs })
    }

    /// 2201: registers a visit with the card (R-SET-1). The card's social zone starts
    /// on its first use here (R-ACT-1); a card that may not settle is refused now.
    pub async fn register_visit(&self, who: &Principal, reg: &Registration) -> ServiceResult<VisitRecord> {
        let institution = institution_of(who)?;
        if reg.ipt_otp_no.trim().is_empty() {
            return Err(bad("missing_field", "ipt_otp_no (the hospital's visit number) is required".into()));
        }
        let person = self.person_by_psn_no(&reg.psn_no).await?;
        Self::check_insured(&person)?;
        let hash = self.store.data_key().lookup_hash(&person.ssn);
        let (holder, card) = self.card_or_person(&reg.mdtrt_cert_type, &reg.mdtrt_cert_no, reg.card_sn.as_deref()).await?;
        if holder.ssn != person.ssn {
            return Err(bad("card_not_the_persons", "the card or ID presented belongs to someone else".into()));
        }
        let card_id = match (reg.mdtrt_cert_type.as_str(), card) {
            ("03", Some(card)) => {
                self.first_use_and_check(who, &card, &person).await?;
                Some(card.id)
            }
            _ => None,
        };
        let now = self.clock.now();
        let level = self.require_institution(&institution).await?.level;
        let mut data = reg.extra.clone();
        if let Some(o) = data.as_object_mut() {
            // The institution's level as of registration prices the whole visit.
            o.insert("institution_level".into(), serde_json::json!(level));
            o.insert("insutype".into(), serde_json::json!(reg.insutype));
            o.insert("begntime".into(), serde_json::json!(reg.begntime));
            o.insert("mdtrt_cert_type".into(), serde_json::json!(reg.mdtrt_cert_type));
        }
        let r: [u8; 6] = yikatong_store::crypto::random_bytes();
        let visit = VisitRecord {
            mdtrt_id: format!("{}{}{}", institution.chars().take(12).collect::<String>(), now.format("%Y%m%d%H%M%S"), u64::from_be_bytes([0, 0, r[0], r[1], r[2], r[3], r[4], r[5]]) % 1_000_000),
            institution,
            person_hash: hash,
            card_id,
            ipt_otp_no: reg.ipt_otp_no.clone(),
            state: "registered".into(),
            data,
            created_at: now,
        };
        self.store.insert_visit(&visit).await?;
        Ok(visit)
    }

    /// Starts the social zone of an issued card on its first use at an institution, then
    /// checks that it may settle.
    async fn first_use_and_check(&self, who: &Principal, card: &Card, person: &Person) -> ServiceResult<()> {
        let record = crate::cards::printed_of(person);
        self.card_command(who, card.id, &[yikatong_core::access::Role::Institution], |c, ctx: &RuleCtx| {
            let mut events = Vec::new();
            let mut current = c.clone();
            if current.state == CardState::Issued {
                events = rules::activate(&current, Zone::Social, ctx)?;
                current = events.iter().fold(current, apply);
            }
            rules::usable_for_settlement(&current, &record, ctx.now)?;
            Ok(events)
        })
        .await?;
        Ok(())
    }

    /// 2202: cancels a registration that has nothing settled.
    pub async fn cancel_registration(&self, who: &Principal, mdtrt_id: &str) -> ServiceResult<VisitRecord> {
        let mut visit = self.own_visit(who, mdtrt_id).await?;
        if self.store.fee_lines(mdtrt_id).await?.iter().any(|l| l.setl_id.is_some()) {
            return Err(Refusal::conflict("visit_settled", "the visit has a settlement; cancel the settlement first").into());
        }
        visit.state = "cancelled".into();
        self.store.update_visit(&visit).await?;
        Ok(visit)
    }

    /// 2203A: the visit's information (medical type, diagnoses).
    pub async fn record_visit_info(&self, who: &Principal, mdtrt_id: &str, info: &serde_json::Value, diseases: &serde_json::Value) -> ServiceResult<VisitRecord> {
        let mut visit = self.own_visit(who, mdtrt_id).await?;
        if visit.state != "registered" {
            return Err(Refusal::conflict("visit_cancelled", "the visit's registration was cancelled").into());
        }
        if let Some(o) = visit.data.as_object_mut() {
            o.insert("mdtrtinfo".into(), info.clone());
            o.insert("diseinfo".into(), diseases.clone());
        }
        self.store.update_visit(&visit).await?;
        Ok(visit)
    }

    /// 2204: fee lines, each checked against the catalogue and for amounts that do not
    /// multiply out (R-SET-10); the whole upload is refused when one line is wrong.
    pub async fn upload_fee_lines(&self, who: &Principal, mdtrt_id: &str, chrg_bchno: &str, lines: &[FeeLineInput]) -> ServiceResult<Vec<LineResult>> {
        let visit = self.own_visit(who, mdtrt_id).await?;
        if visit.state != "registered" {
            return Err(Refusal::conflict("visit_cancelled", "the visit's registration was cancelled").into());
        }
        if lines.is_empty() {
            return Err(bad("no_fee_lines", "feedetail is empty".into()));
        }
        let person = self.store.get_person_by_hash(&visit.person_hash).await?.ok_or_else(|| ServiceError::Internal("visit without person".into()))?;
        let policy = self.policies.region(&person.region)?;
        let date = super::booking::visit_date(&visit);
        let mut parsed = Vec::with_capacity(lines.len());
        for l in lines {
            let qty_e4 = parse_fixed(&l.qty, 4).ok_or_else(|| bad("invalid_fee_line", format!("fee line {}: cnt {:?} is not a number with at most 4 decimals", l.sn, l.qty)))?;
            let price_e6 = parse_fixed(&l.price, 6).ok_or_else(|| bad("invalid_fee_line", format!("fee line {}: pric {:?} is not a number with at most 6 decimals", l.sn, l.price)))?;
            let amount = Fen::parse_yuan(&l.amount).ok_or_else(|| bad("invalid_fee_line", format!("fee line {}: det_item_fee_sumamt {:?} is not an amount in yuan", l.sn, l.amount)))?;
            parsed.push(FeeLine { sn: l.sn.clone(), code: l.code.clone(), qty_e4, price_e6, amount });
        }
        let mut stored = Vec::with_capacity(lines.len());
        let mut results = Vec::with_capacity(lines.len());
        for (line, item) in self.priced_lines(parsed.into_iter()).await? {
            let (qty_e4, price_e6, amount) = (line.qty_e4, line.price_e6, line.amount);
            let l = &line;
            let split = split_line(policy, date, &line, &item, &mut Vec::new())?;
            stored.push(StoredFeeLine { sn: l.sn.clone(), chrg_bchno: chrg_bchno.into(), code: l.code.clone(), qty_e4, price_e6, amount_fen: amount.0, setl_id: None });
            results.push(LineResult { kind: item.kind, qty_e4, price_e6, split });
        }
        self.store.insert_fee_lines(mdtrt_id, chrg_bchno, &stored).await?;
        Ok(results)
    }

    /// 2205: removes unsettled lines of a batch (`0000`: every unsettled line).
    pub async fn cancel_fee_lines(&self, who: &Principal, mdtrt_id: &str, chrg_bchno: &str) -> ServiceResult<u64> {
        self.own_visit(who, mdtrt_id).await?;
        Ok(self.store.delete_unsettled_lines(mdtrt_id, chrg_bchno).await?)
    }
}
