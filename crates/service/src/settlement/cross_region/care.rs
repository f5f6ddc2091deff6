//! The care region's side (就医地): a visit at this region's institution by a holder of
//! another region. The visit, its fee lines and the settlement's copy for the
//! institution are this region's; the holder is known by `psn_no` and by what the
//! insured region showed of them at registration.

use std::collections::HashSet;
use std::sync::Mutex;

use chrono::NaiveDate;
use yikatong_core::Refusal;
use yikatong_core::access::Principal;
use yikatong_core::refusal::RefusalKind;
use yikatong_core::settlement::{CrossRegion, SettlementKind, SettlementState, Side};
use yikatong_store::{Institution, Person, SettlementRecord, VisitRecord};

use super::LinkError;
use super::wire::{CallFrom, Part, RegionAnswer, RegionCall};
use crate::settlement::booking::{VisitParts, VisitReading, mark_lines, new_setl_id, visit_settlement};
use crate::settlement::visits::PersonInfo;
use crate::settlement::{SettleRequest, Settlement, institution_of};
use crate::{Service, ServiceError, ServiceResult};

/// The insured region (its file's code) of a visit registered for another region's
/// holder; `None` for this region's own holders.
pub(crate) fn insured_region_of(visit: &VisitRecord) -> Option<String> {
    visit.data.get("insured_region").and_then(|r| r.as_str()).map(str::to_string)
}

/// The holder of such a visit as the insured region showed them at registration.
pub(crate) fn holder_of(visit: &VisitRecord) -> ServiceResult<Person> {
    let holder = visit.data.get("holder").cloned().ok_or_else(|| ServiceError::Internal(format!("visit {} has no holder", visit.mdtrt_id)))?;
    let mut person: Person = serde_json::from_value(holder).map_err(|e| ServiceError::Internal(format!("visit {}: {e}", visit.mdtrt_id)))?;
    person.key.clone_from(&visit.person_hash);
    Ok(person)
}

/// A refusal code the insured region gave, as a code of this build: the codes are a
/// closed vocabulary of the product, so the set stays small; anything else is named
/// `refused_by_insured_region`.
fn code_of(code: &str) -> &'static str {
    static SEEN: Mutex<Option<HashSet<&'static str>>> = Mutex::new(None);
    let plausible = !code.is_empty() && code.len() <= 40 && code.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !plausible {
        return "refused_by_insured_region";
    }
    let mut seen = SEEN.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let seen = seen.get_or_insert_with(HashSet::new);
    if let Some(known) = seen.get(code) {
        return known;
    }
    if seen.len() >= 512 {
        return "refused_by_insured_region";
    }
    let leaked: &'static str = Box::leak(code.to_string().into_boxed_str());
    seen.insert(leaked);
    leaked
}

/// The refusal codes of a call that got no answer: a retry of the same request makes
/// the same call, so such an answer is not kept for the `msgid`.
pub const UNANSWERED_CODES: [&str; 1] = ["insured_region_timeout"];

impl Service {
    fn call_from(&self, institution: &Institution) -> CallFrom {
        CallFrom { care_admdvs: self.admdvs_of(&institution.region), institution: institution.code.clone() }
    }

    /// The key of a call that writes: this region, then the request's own key (the
    /// national interface's `his:<institution>:<msgid>`), so that the request repeated
    /// repeats the call; a request without one gets a key of its own.
    fn call_key(from: &CallFrom) -> String {
        let request = crate::exactly_once::current_request_key().unwrap_or_else(|| {
            let r: [u8; 12] = yikatong_store::crypto::random_bytes();
            format!("once:{}:{}", from.institution, hex::encode(r))
        });
        format!("{}:{request}", from.care_admdvs)
    }

    /// Sends `call` to the insured `region` and reads its answer; a refusal there is a
    /// refusal here with its code and words.
    async fn call_region(&self, region: &str, call: &RegionCall) -> ServiceResult<RegionAnswer> {
        let name = self.policies.region(region).map_or_else(|_| region.to_string(), |r| format!("{} ({})", r.name, r.admdvs));
        let Some(link) = self.region_link.as_ref() else {
            return Err(Refusal::conflict(
                "cross_region_unavailable",
                format!("the holder is insured in {name}, and this deployment has no link to the other regions (ykt serve --nats)"),
            )
            .into());
        };
        let body = serde_json::to_vec(call).map_err(|e| ServiceError::Internal(e.to_string()))?;
        let answer = match link.call(region, body).await {
            Ok(answer) => answer,
            Err(LinkError::Unreachable(why)) => {
                return Err(Refusal::conflict(
                    "insured_region_unreachable",
                    format!("the holder's insured region {name} cannot be reached ({why}); nothing was booked in either region: settle again later, or the holder pays and is reimbursed by hand"),
                )
                .into());
            }
            Err(LinkError::Timeout(why)) => {
                return Err(Refusal::conflict(
                    "insured_region_timeout",
                    format!("the holder's insured region {name} did not answer in time ({why}); nothing was booked here: send the same msgid again, which completes the call once in both regions"),
                )
                .into());
            }
        };
        match serde_json::from_slice::<RegionAnswer>(&answer).map_err(|e| ServiceError::Internal(format!("{name} answered unreadably: {e}")))? {
            RegionAnswer::Refused { kind, code, message } => {
                let Some(kind) = RefusalKind::parse(&kind) else {
                    return Err(ServiceError::Internal(format!("{name} could not answer: {message}")));
                };
                Err(Refusal { kind, code: code_of(&code), message: format!("{name}: {message}") }.into())
            }
            other => Ok(other),
        }
    }

    /// 1101 for a holder of `region`: asked of that region.
    pub async fn person_info_elsewhere(&self, who: &Principal, region: &str, cert_type: &str, cert_no: &str, card_sn: Option<&str>) -> ServiceResult<PersonInfo> {
        let institution = self.require_institution(&institution_of(who)?).await?;
        let call = RegionCall::Person { from: self.call_from(&institution), cert_type: cert_type.into(), cert_no: cert_no.into(), card_sn: card_sn.map(str::to_string) };
        match self.call_region(region, &call).await? {
            RegionAnswer::Person { psn_no, holder, balance, card, admdvs } => {
                let (holder, card) = (*holder, *card);
                let visit_card_no = self.store.visit_card_of(&institution.code, &psn_no).await?;
                Ok(PersonInfo { psn_no, person: holder, balance, card, admdvs, visit_card_no })
            }
            other => Err(unexpected(&other)),
        }
    }

    /// 2201 for a holder of `region`: that region checks the holder, the card (its first
    /// use starts its social zone) or the voucher; the visit is recorded here, with the
    /// holder as shown.
    pub async fn register_visit_elsewhere(&self, who: &Principal, region: &str, reg: &crate::Registration) -> ServiceResult<VisitRecord> {
        let institution = self.require_institution(&institution_of(who)?).await?;
        let begntime = crate::settlement::visits::checked_begntime(reg)?;
        if reg.certificate_no.is_some() {
            return Err(Refusal::bad_input(
                "certificate_elsewhere",
                "a card-collection certificate is presented in the holder's own region; register with the card, the voucher or the ID card",
            )
            .into());
        }
        let from = self.call_from(&institution);
        let mdtrt_id = crate::settlement::visits::new_mdtrt_id(&institution.code, self.clock.now());
        let call = RegionCall::Register {
            call_key: Self::call_key(&from),
            from,
            mdtrt_id: mdtrt_id.clone(),
            psn_no: reg.psn_no.clone(),
            cert_type: reg.mdtrt_cert_type.clone(),
            cert_no: reg.mdtrt_cert_no.clone(),
            card_sn: reg.card_sn.clone(),
            begntime: begntime.clone(),
        };
        let RegionAnswer::Registered { holder, card_id } = self.call_region(region, &call).await? else {
            return Err(ServiceError::Internal("the insured region answered 2201 with something else".into()));
        };
        let mut data = crate::settlement::visits::visit_data(reg, &institution.level, &begntime);
        if let Some(o) = data.as_object_mut() {
            o.insert("insured_region".into(), serde_json::json!(region));
            o.insert("insured_admdvs".into(), serde_json::json!(self.admdvs_of(region)));
            o.insert("holder".into(), serde_json::to_value(&holder).map_err(|e| ServiceError::Internal(e.to_string()))?);
        }
        let visit = VisitRecord {
            mdtrt_id,
            institution: institution.code.clone(),
            person_hash: reg.psn_no.clone(),
            card_id,
            ipt_otp_no: reg.ipt_otp_no.clone(),
            state: yikatong_core::settlement::VisitState::Registered,
            data,
            created_at: self.clock.now(),
        };
        let mut tx = self.begin_write().await?;
        tx.insert_visit(&visit).await?;
        self.commit(tx).await?;
        Ok(visit)
    }

    /// 2206/2207 of a visit whose holder `insured` insures (R-XREG-2), `visit` and its
    /// lines (priced here by this region's catalogue) read under its lock, which is let
    /// go before the call, so that nothing here waits on another region; the insured region computes (and for 2207 books); the copy for the
    /// institution is booked here in a transaction of its own with the insured region's
    /// receipts, ids and time, and the lines marked.
    #[allow(clippy::too_many_arguments)] // the settlement's request as settle_visit read it
    pub(crate) async fn settle_elsewhere(
        &self,
        reading: VisitReading,
        visit: VisitRecord,
        who: &Principal,
        req: &SettleRequest,
        book: bool,
        institution: &Institution,
        insured: &str,
        date: NaiveDate,
    ) -> ServiceResult<Settlement> {
        let VisitParts { registration, care, kind } = reading.parts(&visit.mdtrt_id, req)?;
        let now = self.clock.now();
        let mut parts = Vec::with_capacity(2);
        if !registration.is_empty() {
            parts.push(Part { kind: SettlementKind::Registration, setl_id: new_setl_id("R", now), use_account: false, lines: registration });
        }
        let prefix = if kind == SettlementKind::Registration { "R" } else { "S" };
        parts.push(Part { kind, setl_id: new_setl_id(prefix, now), use_account: req.use_account && kind == SettlementKind::Realtime, lines: care });
        let from = self.call_from(institution);
        let level = visit.data.get("institution_level").and_then(|l| l.as_str()).unwrap_or(&institution.level).to_string();
        let call = RegionCall::Settle {
            call_key: Self::call_key(&from),
            from,
            mdtrt_id: visit.mdtrt_id.clone(),
            psn_no: req.psn_no.clone(),
            date,
            credential: visit.data.get("mdtrt_cert_type").and_then(|c| c.as_str()).unwrap_or("03").to_string(),
            card_id: visit.card_id,
            level,
            book,
            parts,
        };
        let RegionAnswer::Settled { settled_at, receipts, holder, setl_ids } = self.call_region(insured, &call).await? else {
            return Err(ServiceError::Internal("the insured region answered 2207 with something else".into()));
        };
        let RegionCall::Settle { parts, .. } = call else { unreachable!("built above") };
        if receipts.len() != parts.len() || setl_ids.len() != parts.len() {
            return Err(ServiceError::Internal(format!("the insured region answered {} receipts for {} settlements", receipts.len(), parts.len())));
        }
        let insured_admdvs = self.admdvs_of(insured);
        let pair = CrossRegion { care_admdvs: self.admdvs_of(&institution.region), insured_admdvs: insured_admdvs.clone(), side: Side::Care };
        if book {
            let mut tx = self.begin_write().await?;
            let visit = self.lock_own_visit(&mut tx, who, &req.mdtrt_id).await?;
            for ((part, receipt), setl_id) in parts.iter().zip(&receipts).zip(&setl_ids) {
                let record = SettlementRecord { cross_region: Some(pair.clone()), ..visit_settlement(&visit, part.kind, setl_id, date, receipt, settled_at)? };
                tx.insert_settlement(&record).await?;
                mark_lines(&mut tx, &visit.mdtrt_id, setl_id, &part.lines).await?;
            }
            self.commit(tx).await?;
            tracing::info!(mdtrt_id = %visit.mdtrt_id, insured = %insured_admdvs, "settled for a holder of another region");
        }
        let registration_setl_id = (parts.len() > 1).then(|| setl_ids[0].clone());
        let (Some(receipt), Some(setl_id), Some(last)) = (receipts.into_iter().last(), setl_ids.last(), parts.last()) else {
            return Err(ServiceError::Internal("a settlement without parts".into()));
        };
        Ok(Settlement {
            setl_id: setl_id.clone(),
            mdtrt_id: visit.mdtrt_id,
            psn_no: req.psn_no.clone(),
            person: *holder,
            receipt,
            settled_at,
            state: if book { SettlementState::Settled } else { SettlementState::Preview },
            kind: last.kind,
            admdvs: insured_admdvs,
            registration_setl_id,
        })
    }

    /// 2208 of this region's copy of a cross-region settlement: reversed in the insured
    /// region first (the holder's year totals and account restored), then here at the
    /// insured region's time, the lines freed.
    pub(crate) async fn reverse_elsewhere(&self, who: &Principal, found: SettlementRecord) -> ServiceResult<Settlement> {
        let institution = self.require_institution(&institution_of(who)?).await?;
        let visit = self.store.get_visit(&found.mdtrt_id).await?.ok_or_else(|| ServiceError::Internal("settlement without visit".into()))?;
        let insured = insured_region_of(&visit).ok_or_else(|| ServiceError::Internal("cross-region settlement of a local visit".into()))?;
        if found.state != SettlementState::Settled {
            return Err(Refusal::conflict("already_reversed", format!("settlement {} is already reversed", found.setl_id)).into());
        }
        let from = self.call_from(&institution);
        let call = RegionCall::Reverse { call_key: Self::call_key(&from), from, setl_id: found.setl_id.clone() };
        let RegionAnswer::Reversed { reversed_at } = self.call_region(&insured, &call).await? else {
            return Err(ServiceError::Internal("the insured region answered 2208 with something else".into()));
        };
        let mut tx = self.begin_write().await?;
        self.lock_own_visit(&mut tx, who, &found.mdtrt_id).await?;
        let mut s = tx.lock_settlement(&found.setl_id).await?.ok_or_else(|| ServiceError::Internal("settlement vanished".into()))?;
        if s.state != SettlementState::Settled {
            return Err(Refusal::conflict("already_reversed", format!("settlement {} is already reversed", found.setl_id)).into());
        }
        tx.mark_settlement_reversed(&s.setl_id, reversed_at).await?;
        tx.free_lines(&s.mdtrt_id, &s.setl_id).await?;
        self.commit(tx).await?;
        let receipt = crate::settlement::booking::stored_receipt(&mut s)?;
        s.reversed_at = Some(reversed_at);
        Ok(Settlement { state: SettlementState::Reversed, ..self.answered(s, holder_of(&visit)?, receipt) })
    }
}

fn unexpected(answer: &RegionAnswer) -> ServiceError {
    ServiceError::Internal(format!("the insured region answered with {answer:?}"))
}
