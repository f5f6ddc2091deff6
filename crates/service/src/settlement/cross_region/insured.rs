//! The insured region's side (参保地): answering another region's calls for the holders
//! this region insures. The holder, the card, the year totals and the account are this
//! region's; the visit and its institution are the care region's, known here by their
//! codes only.

use sm3::{Digest, Sm3};
use yikatong_core::Refusal;
use yikatong_core::access::{Principal, Role};
use yikatong_core::card::rules::usable_for_settlement;
use yikatong_core::refusal::RefusalKind;
use yikatong_core::registry::InstitutionLevel;
use yikatong_core::settlement::{CrossRegion, Receipt, SettlementState, Side};
use yikatong_store::{Person, SettlementRecord};

use super::wire::{CallFrom, RegionAnswer, RegionCall};
use crate::settlement::booking::{Ledger, already_settled};
use crate::settlement::psn_no;
use crate::settlement::visits::Presented;
use crate::{EarlierRequest, KeptAnswer, RequestClaim, RequestKey, Service, ServiceError, ServiceResult};

/// The principal a call from another region acts as here: that region's institution.
fn institution_principal(from: &CallFrom) -> Principal {
    Principal { token_id: 0, role: Role::Institution, outlet: None, unit: None, institution: Some(from.institution.clone()), person_hash: None, unlocked: None }
}

/// A holder's record as another region sees it: the ID number masked, no contact data.
pub(super) fn shown_elsewhere(person: &Person) -> Person {
    Person { ssn: yikatong_core::identity::mask_ssn(&person.ssn), phone: None, address: None, handbook_no: None, photo_digest: None, contribution_base_fen: None, ..person.clone() }
}

fn refused(e: &ServiceError) -> RegionAnswer {
    let kind = match e {
        ServiceError::Refused(r) => r.kind.as_str(),
        ServiceError::Unauthenticated(_) => RefusalKind::Forbidden.as_str(),
        ServiceError::Internal(_) => "internal",
    };
    RegionAnswer::Refused { kind: kind.into(), code: e.code().into(), message: e.public_message() }
}

fn encoded(answer: &RegionAnswer) -> Vec<u8> {
    serde_json::to_vec(answer).unwrap_or_else(|_| b"{\"outcome\":\"refused\",\"kind\":\"internal\",\"code\":\"internal_error\",\"message\":\"unencodable answer\"}".to_vec())
}

impl Service {
    /// Answers one call from another region's deployment (JSON in, JSON out). A call
    /// that writes is claimed under its key in its own transaction, with its answer: the
    /// same call again gets the first answer and books nothing twice.
    pub async fn answer_region_call(&self, body: &[u8]) -> Vec<u8> {
        let call: RegionCall = match serde_json::from_slice(body) {
            Ok(c) => c,
            Err(e) => return encoded(&refused(&Refusal::bad_input("invalid_region_call", format!("the call is not one this region answers: {e}")).into())),
        };
        let Some(call_key) = call.call_key().map(str::to_string) else {
            return encoded(&self.run_region_call(&call).await.unwrap_or_else(|e| refused(&e)));
        };
        let key = RequestKey { token_id: 0, key: format!("xreg:{call_key}"), fingerprint: hex::encode(Sm3::digest(call.fingerprint())) };
        match self.earlier_request(&key).await {
            Ok(None | Some(EarlierRequest::Interrupted)) => {}
            Ok(Some(EarlierRequest::Answered(first))) => return first.body,
            Ok(Some(EarlierRequest::Different)) => {
                return encoded(&refused(&Refusal::conflict("call_key_reused", format!("call {call_key} was already made with other contents")).into()));
            }
            Err(e) => return encoded(&refused(&e)),
        }
        let (claim, outcome) = RequestClaim::scope(self, key, self.run_region_call(&call)).await;
        let keep = !matches!(&outcome, Err(ServiceError::Internal(_)));
        let answer = encoded(&outcome.unwrap_or_else(|e| refused(&e)));
        match claim.finish(self, KeptAnswer { status: 200, body: answer.clone() }, keep).await {
            Ok(sent) => sent.body,
            Err(e) => {
                tracing::error!(error = %e, "could not keep the answer to another region");
                encoded(&refused(&ServiceError::Internal(e.to_string())))
            }
        }
    }

    async fn run_region_call(&self, call: &RegionCall) -> ServiceResult<RegionAnswer> {
        match call {
            RegionCall::Person { from, cert_type, cert_no, card_sn } => {
                let info = self.person_info(&institution_principal(from), cert_type, cert_no, card_sn.as_deref()).await?;
                Ok(RegionAnswer::Person {
                    psn_no: info.psn_no,
                    holder: Box::new(shown_elsewhere(&info.person)),
                    balance: info.balance,
                    card: Box::new(info.card),
                    admdvs: info.admdvs,
                })
            }
            RegionCall::Register { from, mdtrt_id, psn_no: no, cert_type, cert_no, card_sn, begntime, .. } => {
                self.register_for_care_region(from, mdtrt_id, no, cert_type, cert_no, card_sn.as_deref(), begntime).await
            }
            RegionCall::Settle { .. } => self.settle_for_care_region(call).await,
            RegionCall::Reverse { from, setl_id, .. } => {
                let found = self.visible_settlement(&institution_principal(from), setl_id).await?;
                if found.cross_region.as_ref().is_none_or(|x| x.care_admdvs != from.care_admdvs) {
                    return Err(Refusal::not_found("settlement_not_found", format!("there is no settlement {setl_id} of this institution")).into());
                }
                let reversed_at = self.clock.now();
                let (tx, ..) = self.reversal_of(found, reversed_at).await?;
                self.commit(tx).await?;
                Ok(RegionAnswer::Reversed { reversed_at })
            }
        }
    }

    #[allow(clippy::too_many_arguments)] // the registration's fields as 2201 sends them
    async fn register_for_care_region(
        &self,
        from: &CallFrom,
        mdtrt_id: &str,
        no: &str,
        cert_type: &str,
        cert_no: &str,
        card_sn: Option<&str>,
        begntime: &str,
    ) -> ServiceResult<RegionAnswer> {
        let who = institution_principal(from);
        let date = yikatong_core::clock::parse_business_time("begntime", begntime)?.date();
        let person = self.person_by_psn_no(no).await?;
        Self::check_insured(&person)?;
        self.check_filing(&person, &from.care_admdvs, date).await?;
        let hash = person.key_with(self.store.data_key());
        let Presented { person: holder, card, voucher } = self.presented(&from.institution, cert_type, cert_no, card_sn, false).await?;
        if holder.ssn != person.ssn {
            return Err(Refusal::bad_input("card_not_the_persons", "the card or ID presented belongs to someone else").into());
        }
        let mut tx = self.begin_write().await?;
        let card_id = match (cert_type, card) {
            ("03", Some(card)) => {
                self.first_use_and_check(&mut tx, &who, &card, &hash, &person).await?;
                Some(card.id)
            }
            _ => None,
        };
        if let Some(code_hash) = &voucher
            && !tx.use_voucher(code_hash, &from.institution, mdtrt_id, self.clock.now()).await?
        {
            return Err(crate::settlement::vouchers::voucher_used());
        }
        self.commit(tx).await?;
        Ok(RegionAnswer::Registered { holder: Box::new(shown_elsewhere(&person)), card_id })
    }

    /// 2206/2207 for the care region: the receipt computed once, here, under this
    /// region's policy, and for 2207 booked against the holder's year totals and account
    /// in one transaction with the call's claim (R-XREG-2).
    async fn settle_for_care_region(&self, call: &RegionCall) -> ServiceResult<RegionAnswer> {
        let RegionCall::Settle { from, mdtrt_id, psn_no: no, date, credential, card_id, level, book, parts, .. } = call else {
            return Err(ServiceError::Internal("not a settlement call".into()));
        };
        let found = self.person_by_psn_no(no).await?;
        let hash = found.key_with(self.store.data_key());
        self.check_filing(&found, &from.care_admdvs, *date).await?;
        let level = InstitutionLevel::parse(level)?;
        let mut tx = self.begin_write().await?;
        let person = tx.lock_person_record(&hash).await?.ok_or_else(|| ServiceError::Internal("person vanished".into()))?;
        Self::check_insured(&person)?;
        self.realtime_credential_allowed(&person.region, credential, *date)?;
        let now = self.clock.now();
        if let Some(card_id) = card_id.filter(|_| credential == "03") {
            let card =
                tx.lock_card(card_id).await?.filter(|c| c.person_hash == hash).ok_or_else(|| Refusal::not_found("card_not_found", "the visit's card is not this holder's"))?;
            usable_for_settlement(&card, &crate::cards::printed_of(&person), now)?;
        }
        let mut receipts: Vec<Receipt> = Vec::with_capacity(parts.len());
        let mut ledger = Ledger::open(&mut tx, &hash, *date).await?;
        for part in parts {
            if let Some(first) = tx.live_settlement(mdtrt_id, part.kind).await? {
                return Err(already_settled(mdtrt_id, &first));
            }
            let receipt = self.compute(&mut tx, &mut ledger, &person, level, &part.lines, part.use_account).await?;
            receipt.check_identities().map_err(ServiceError::Internal)?;
            if *book {
                let record = SettlementRecord {
                    setl_id: part.setl_id.clone(),
                    mdtrt_id: mdtrt_id.clone(),
                    institution: from.institution.clone(),
                    person_hash: hash.clone(),
                    kind: part.kind,
                    state: SettlementState::Settled,
                    visit_date: *date,
                    year: i64::from(chrono::Datelike::year(date)),
                    receipt: serde_json::to_value(&receipt).map_err(|e| ServiceError::Internal(e.to_string()))?,
                    created_at: now,
                    reversed_at: None,
                    cross_region: Some(CrossRegion { care_admdvs: from.care_admdvs.clone(), insured_admdvs: self.admdvs_of(&person.region), side: Side::Insured }),
                };
                // The lines are the care region's: none is marked here.
                self.book(&mut tx, &record, &ledger, &receipt, &[]).await?;
            }
            receipts.push(receipt);
        }
        if *book {
            self.commit(tx).await?;
            tracing::info!(mdtrt_id = %mdtrt_id, care = %from.care_admdvs, psn_no = %psn_no(&hash), "settled for another region");
        }
        Ok(RegionAnswer::Settled { settled_at: now, setl_ids: parts.iter().map(|p| p.setl_id.clone()).collect(), receipts, holder: Box::new(shown_elsewhere(&person)) })
    }
}
