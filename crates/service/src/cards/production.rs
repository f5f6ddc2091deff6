//! Application, production batches, factory and bank results, dispatch, hand-over and
//! activation (R-APP-1..4, R-DIST-1, R-ACT-1, R-ACT-2).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use yikatong_core::Refusal;
use yikatong_core::access::{Operation, Principal, Role};
use yikatong_core::card::delivery::{MailAddress, NewCardKind};
use yikatong_core::card::production::{self as rules_p, Applicant, NewCard};
use yikatong_core::card::rules::{self, CollectionCheck, RuleCtx};
use yikatong_core::card::{AccountChoice, Card, CardEvent, Origin, Zone, apply};
use yikatong_core::identity::{Ssn, mask_ssn};

use super::delivery::DeliveryRequest;
use super::views::{CardEventView, CardView};
use super::{card_not_found, printed_of};
use crate::{Service, ServiceError, ServiceResult};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ExcludedView {
    /// The holder's ID number, masked.
    pub ssn: String,
    pub card_id: i64,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BatchView {
    pub id: i64,
    pub region: String,
    pub snapshot_at: DateTime<Utc>,
    pub card_ids: Vec<i64>,
    pub excluded: Vec<ExcludedView>,
}

/// One line of a factory's result file.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductionResult {
    pub card_id: i64,
    pub card_number: Option<String>,
    pub card_identification_code: Option<String>,
    /// The reason a card could not be made.
    pub failed: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ResultReport {
    pub card_id: i64,
    /// `produced`, `failed` or `refused` (the line was not taken).
    pub status: String,
    pub code: Option<String>,
    pub message: Option<String>,
}

/// What is checked when a card is collected (R-CERT-1).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HandOverRequest {
    /// The certificate presented (replacement and exchange cards).
    pub certificate_number: Option<String>,
    /// The holder's ID number as read from the ID card presented.
    pub holder_ssn: Option<String>,
    /// A proxy's own ID number.
    pub proxy_ssn: Option<String>,
}

/// `POST /v1/persons/{ssn}/cards`: a first card; every field optional.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplicationRequest {
    /// A financial card (社保金融卡); default `false`.
    #[serde(default)]
    pub financial: bool,
    /// R-DIST-1: as in [`DeliveryRequest`]; default `unit` when a unit applies, else
    /// `outlet`.
    pub delivery: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub address: Option<MailAddress>,
    pub payment_method: Option<String>,
    pub via: Option<String>,
}

impl ApplicationRequest {
    fn delivery(&self) -> DeliveryRequest {
        DeliveryRequest { delivery: self.delivery.clone(), address: self.address.clone(), payment_method: self.payment_method.clone(), via: self.via.clone() }
    }
}

impl Service {
    /// R-APP-1..3: a first card for a person (clerk, the person's unit, the holder).
    pub async fn apply_for_card(&self, who: &Principal, ssn: &str, req: &ApplicationRequest) -> ServiceResult<CardView> {
        who.allow(Operation::ApplyForCard)?;
        let ssn = Ssn::parse(ssn)?;
        let person = self.require_person(&ssn).await?;
        let hash = person.key.clone();
        if !who.sees_person(&hash, person.unit_code.as_deref()) {
            return Err(Refusal::not_found("person_not_found", "no insured person with this ID number is visible to you").into());
        }
        // R-GEN-1: a unit applies for its own people; anyone else applies alone.
        let unit = match (&who.role, &who.unit) {
            (Role::Unit, Some(code)) => Some(self.require_unit(code).await?),
            _ => None,
        };
        let last_cut = match &unit {
            Some(_) => self.store.latest_batch_snapshot(&person.region).await?,
            None => None,
        };
        let applicant = match &unit {
            Some(u) => Applicant::Unit { district: u.district.as_deref(), bank: None, last_cut },
            None => Applicant::Individual,
        };
        rules_p::check_phone_required(self.policies.region(&person.region)?, self.clock.today(), person.phone.is_some())?;
        let mut tx = self.begin_write().await?;
        tx.lock_person(&hash).await?;
        let existing = tx.person_cards(&hash).await?;
        let (mut card, event) = self.open_first_card(who, &person, hash, req, &existing, &applicant, self.clock.now())?;
        let meta = self.meta(who);
        card.id = tx.insert_card(&card, &[event], &meta).await?;
        super::record_card_fees(&mut tx, &card, "card", &meta).await?;
        self.commit(tx).await?;
        Ok(CardView::of(&card, &person, self.clock.now()))
    }

    /// R-APP-1, R-GEN-1: a person's first card of the generation the region issues now,
    /// unless a card they hold (`existing`) already serves, within a pilot's scope; the
    /// fee from the region's file.
    #[allow(clippy::too_many_arguments)] // the person, who applies and what they hold
    pub(crate) fn open_first_card(
        &self,
        who: &Principal,
        person: &yikatong_store::Person,
        person_hash: String,
        req: &ApplicationRequest,
        existing: &[Card],
        applicant: &Applicant,
        now: DateTime<Utc>,
    ) -> ServiceResult<(Card, CardEvent)> {
        let (policy, calendar) = self.rule_parts(&person.region)?;
        let ctx = RuleCtx { policy, calendar: &calendar, now, channel: who.channel() };
        rules_p::check_pilot(policy, ctx.today(), person.category, applicant)?;
        let generation = policy.count("card.current_generation", ctx.today()).map_err(ServiceError::from)? as u8;
        rules_p::check_first_application(existing, generation)?;
        let fee = rules_p::first_card_fee(policy, ctx.today(), person.created_at, applicant);
        let delivery = self.delivery_terms(who, policy, NewCardKind::FirstIssue, &req.delivery(), person, fee)?;
        let new = NewCard {
            person_hash,
            region: person.region.clone(),
            generation,
            financial: req.financial,
            // R-GEN-1: a holder of a working older card gets an upgrade naming it.
            origin: match existing.iter().filter(|c| c.state.is_alive() && c.generation < generation).max_by_key(|c| c.id) {
                Some(older) => Origin::Upgrade { of: older.id, unit: person.unit_code.clone() },
                None => Origin::FirstIssue { unit: person.unit_code.clone() },
            },
            printed: printed_of(person),
            ready_on: None,
            fee_fen: fee + delivery.delivery.fee_fen,
            delivery: Some(delivery.delivery),
            mail_to: delivery.mail_to,
            certificate: None,
            applied_at_bank: match applicant {
                Applicant::Unit { bank, .. } => bank.map(str::to_string),
                Applicant::Individual => None,
            },
        };
        Ok(rules_p::open_card(new, &ctx)?)
    }

    pub async fn get_card(&self, who: &Principal, id: i64) -> ServiceResult<CardView> {
        who.may(Operation::ReadCard)?;
        let card = self.store.get_card(id).await?.ok_or_else(|| card_not_found(id))?;
        self.check_card_visible(who, &card).await?;
        who.allow_for(Operation::ReadCard, &card.person_hash)?;
        let person = self.card_holder(&card).await?;
        Ok(CardView::of(&card, &person, self.clock.now()))
    }

    pub async fn card_view(&self, card: &Card) -> ServiceResult<CardView> {
        Ok(CardView::of(card, &self.card_holder(card).await?, self.clock.now()))
    }

    /// A person's newest living card (the one a holder signs in or opens records with).
    pub(crate) async fn current_card(&self, person_hash: &str) -> ServiceResult<Option<Card>> {
        Ok(self.store.cards_of_person(person_hash).await?.into_iter().rev().find(|c| c.state.is_alive()))
    }

    /// The cards of a person (filled into `GET /v1/persons/{ssn}`).
    pub async fn person_cards(&self, person: &yikatong_store::Person) -> ServiceResult<Vec<CardView>> {
        let hash = person.key_with(self.store.data_key());
        let now = self.clock.now();
        Ok(self.store.cards_of_person(&hash).await?.iter().map(|c| CardView::of(c, person, now)).collect())
    }

    pub async fn card_history(&self, who: &Principal, id: i64) -> ServiceResult<Vec<CardEventView>> {
        who.may(Operation::ReadCardEvents)?;
        let card = self.store.get_card(id).await?.ok_or_else(|| card_not_found(id))?;
        self.check_card_visible(who, &card).await?;
        who.allow_for(Operation::ReadCardEvents, &card.person_hash)?;
        Ok(self.store.card_events(id).await?.iter().map(CardEventView::of).collect())
    }

    /// R-APP-2: a production batch cut at a snapshot instant, of the region's applied
    /// cards, oldest application first, up to `max_cards` cards (the factory's capacity;
    /// all when absent). A card a reason keeps out (R-CMP-3, insured after the snapshot
    /// …) stays applied, its reason recorded for the unit to see.
    pub async fn cut_batch(&self, who: &Principal, region: &str, snapshot_at: Option<DateTime<Utc>>, max_cards: Option<usize>) -> ServiceResult<BatchView> {
        who.allow(Operation::CutBatch)?;
        let (policy, calendar) = self.rule_parts(region).map_err(|e| match e {
            ServiceError::Refused(r) => ServiceError::Refused(Refusal::bad_input(r.code, r.message)),
            other => other,
        })?;
        let now = self.clock.now();
        // R-APP-2: the stated instant, else the region's stated snapshot day, else now.
        let stated = snapshot_at.is_none().then(|| rules_p::stated_snapshot(policy, self.clock.today())).flatten();
        let snapshot = snapshot_at.or(stated).unwrap_or(now);
        // Applications are taken up to the stated instant, or up to now for a region's day.
        let applied_by = if stated.is_some() { now } else { snapshot };
        let ctx = RuleCtx { policy, calendar: &calendar, now, channel: who.channel() };
        // R-APP-4: whether a person with no usable photo may go into production.
        let photo_required = policy.flag("card.photo_required_before_production", ctx.today()).unwrap_or(false);
        let meta = self.meta(who);
        let mut tx = self.begin_write().await?;
        let batch_id = tx.insert_batch(region, snapshot, now).await?;
        let mut card_ids = Vec::new();
        let mut excluded = Vec::new();
        let max_cards = max_cards.unwrap_or(usize::MAX);
        let mut after_id = 0;
        // A page at a time: its holders in one read, their other cards in one locked
        // read, its cards' events and new states in a few statements.
        while card_ids.len() < max_cards {
            let page = tx.applied_cards(region, after_id, 1000).await?;
            let Some(last) = page.last() else { break };
            after_id = last.id;
            let hashes: Vec<String> = page.iter().map(|c| c.person_hash.clone()).collect::<std::collections::BTreeSet<_>>().into_iter().collect();
            let persons: std::collections::HashMap<String, yikatong_store::Person> = tx.persons_by_hashes(&hashes).await?.into_iter().collect();
            let mut working: std::collections::HashMap<String, Vec<i64>> = std::collections::HashMap::new();
            for other in tx.lock_persons_cards(&hashes).await? {
                if other.is_working() {
                    working.entry(other.person_hash.clone()).or_default().push(other.id);
                }
            }
            // R-APP-4: a working card of another city of the province, by its register.
            let admdvs = self.admdvs_of(region);
            let elsewhere: std::collections::HashMap<String, String> = tx.province_cards(&hashes).await?.into_iter().filter(|(_, city)| *city != admdvs).collect();
            let mut changes = Vec::with_capacity(page.len());
            for card in &page {
                if card_ids.len() >= max_cards {
                    break;
                }
                let person = persons.get(&card.person_hash).ok_or_else(|| ServiceError::Internal(format!("card {} has no person", card.id)))?;
                let holds_working = working.get(&card.person_hash).is_some_and(|ids| ids.iter().any(|id| *id != card.id));
                let holder = rules_p::HolderNow {
                    insured_at: person.created_at,
                    flags: &person.flags,
                    unit_code: person.unit_code.as_deref(),
                    name: &person.name,
                    ssn: &person.ssn,
                    has_photo: person.photo_digest.is_some(),
                    card_elsewhere: elsewhere.get(&card.person_hash).map(String::as_str),
                };
                if let Some(reason) = rules_p::batch_exclusion(card, &holder, (snapshot, applied_by), holds_working, photo_required) {
                    // The unit sees why on the card; a reason kept from an earlier cut is not recorded again.
                    if card.held_reason.as_deref() != Some(reason.as_str()) {
                        let events = vec![CardEvent::HeldOutOfBatch { reason: reason.clone() }];
                        changes.push((events.iter().fold(card.clone(), apply), events));
                    }
                    excluded.push(ExcludedView { ssn: mask_ssn(&person.ssn), card_id: card.id, reason });
                } else {
                    let events = rules_p::assign_to_batch(card, batch_id, &ctx)?;
                    let after = events.iter().fold(card.clone(), apply);
                    card_ids.push(after.id);
                    changes.push((after, events));
                }
            }
            tx.record_many(&changes, &meta).await?;
        }
        tx.set_batch_excluded(batch_id, &serde_json::to_value(&excluded).unwrap_or_default()).await?;
        self.commit(tx).await?;
        tracing::info!(batch_id, cards = card_ids.len(), excluded = excluded.len(), "production batch cut");
        Ok(BatchView { id: batch_id, region: region.into(), snapshot_at: snapshot, card_ids, excluded })
    }

    /// The factory's results: each line is its own transaction, so a bad line is
    /// reported and the others go through.
    pub async fn record_production_results(&self, who: &Principal, batch_id: i64, results: &[ProductionResult]) -> ServiceResult<Vec<ResultReport>> {
        who.allow(Operation::RecordProductionResults)?;
        self.store.get_batch(batch_id).await?.ok_or_else(|| ServiceError::from(Refusal::not_found("batch_not_found", format!("there is no production batch {batch_id}"))))?;
        let mut report = Vec::new();
        for r in results {
            let outcome = self
                .card_command(who, r.card_id, Operation::RecordProductionResults, |card, ctx| {
                    if card.batch_id != Some(batch_id) {
                        return Err(Refusal::bad_input("not_in_batch", format!("card {} is not in batch {batch_id}", card.id)));
                    }
                    let result = match (&r.failed, &r.card_number, &r.card_identification_code) {
                        (Some(reason), _, _) => Err(reason.clone()),
                        (None, Some(n), Some(c)) => Ok((n.clone(), c.clone())),
                        _ => return Err(Refusal::bad_input("invalid_result", "a result has card_number and card_identification_code, or failed")),
                    };
                    rules_p::record_production(card, result, ctx)
                })
                .await;
            report.push(match outcome {
                Ok(changed) => ResultReport {
                    card_id: r.card_id,
                    status: if changed.card.failure_reason.is_some() { "failed" } else { "produced" }.into(),
                    code: None,
                    message: changed.card.failure_reason,
                },
                Err(e) => ResultReport { card_id: r.card_id, status: "refused".into(), code: Some(e.code().into()), message: Some(e.public_message()) },
            });
        }
        Ok(report)
    }

    /// R-APP-4: the bank's answer on a financial card's account.
    pub async fn record_bank_account(&self, who: &Principal, id: i64, opened: bool, reason: Option<String>) -> ServiceResult<CardView> {
        let changed = self.card_command(who, id, Operation::RecordBankAccount, |card, ctx| rules_p::record_bank_account(card, opened, reason.clone(), ctx)).await?;
        Ok(changed.view(self.clock.now()))
    }

    /// Produced cards of a batch go to their units and outlets.
    pub async fn dispatch_batch(&self, who: &Principal, batch_id: i64) -> ServiceResult<Vec<ResultReport>> {
        who.allow(Operation::DispatchBatch)?;
        let cards = self.store.cards_in_batch(batch_id).await?;
        if cards.is_empty() && self.store.get_batch(batch_id).await?.is_none() {
            return Err(Refusal::not_found("batch_not_found", format!("there is no production batch {batch_id}")).into());
        }
        let mut report = Vec::new();
        for c in cards {
            let outcome = self.card_command(who, c.id, Operation::DispatchBatch, rules_p::dispatch).await;
            report.push(match outcome {
                Ok(_) => ResultReport { card_id: c.id, status: "dispatched".into(), code: None, message: None },
                Err(e) => ResultReport { card_id: c.id, status: "skipped".into(), code: Some(e.code().into()), message: Some(e.public_message()) },
            });
        }
        Ok(report)
    }

    /// R-DIST-1, R-CERT-1: the card reaches its holder.
    pub async fn hand_over(&self, who: &Principal, id: i64, req: &HandOverRequest) -> ServiceResult<CardView> {
        // The IDs presented, by the persons they are now (R-EXCH-1: a corrected number).
        let holder_id = match req.holder_ssn.as_deref().map(Ssn::parse).transpose()? {
            Some(s) => Some(self.person_key(&s).await?),
            None => None,
        };
        let proxy_id = match req.proxy_ssn.as_deref().map(Ssn::parse).transpose()? {
            Some(s) => Some(self.person_key(&s).await?),
            None => None,
        };
        let card = self
            .card_command(who, id, Operation::HandOver, |card, ctx| {
                let check = CollectionCheck {
                    certificate_number: req.certificate_number.clone(),
                    holder_id_matches: holder_id.as_ref().is_some_and(|k| k.as_deref() == Some(card.person_hash.as_str())),
                    proxy: proxy_id.is_some(),
                    proxy_id_valid: proxy_id.as_ref().is_some_and(|k| k.as_deref() != Some(card.person_hash.as_str())),
                };
                rules::hand_over(card, &check, ctx)
            })
            .await?;
        Ok(card.view(self.clock.now()))
    }

    /// R-ACT-1, R-ACT-2: starting a zone. When a replacement or exchange card's social
    /// zone starts, the card it replaces stops in the same transaction. The personal
    /// account belongs to the person, not to a card, so its balance is on the new card
    /// at the same instant and cannot be lost on the way.
    /// `old_account`: what becomes of the bank account of the card this one supersedes
    /// (R-ACT-2, 000), kept unless the holder asks to close it; for the social zone only.
    pub async fn activate(&self, who: &Principal, id: i64, zone: Zone, old_account: Option<AccountChoice>) -> ServiceResult<CardView> {
        who.allow(Operation::Activate)?;
        if zone == Zone::Financial && old_account.is_some() {
            return Err(Refusal::bad_input("invalid_field", "old_card_account is chosen when the social-security zone of a new card starts").into());
        }
        let holder = self.store.get_card(id).await?.ok_or_else(|| super::card_not_found(id))?.person_hash;
        let person = self.store.get_person_by_hash(&holder).await?.ok_or_else(|| ServiceError::Internal(format!("card {id} has no person")))?;
        let mut tx = self.begin_write().await?;
        let after = match zone {
            Zone::Social => self.start_social_zone_in(&mut tx, who, id, &holder, old_account.unwrap_or_default()).await?,
            Zone::Financial => {
                let card = self.lock_visible(&mut tx, who, id).await?;
                let (policy, calendar) = self.rule_parts(&card.region)?;
                let ctx = RuleCtx { policy, calendar: &calendar, now: self.clock.now(), channel: who.channel() };
                let events = rules::activate(&card, zone, &ctx)?;
                let after = events.iter().fold(card, apply);
                tx.record(&after, &events, &self.meta(who)).await?;
                after
            }
        };
        self.commit(tx).await?;
        Ok(CardView::of(&after, &person, self.clock.now()))
    }

    /// R-ACT-1, R-ACT-2 inside `tx`: the holder is locked first (the order settlement
    /// keeps: person, then cards), then the card and every other card of the holder;
    /// the card's social zone starts and the cards it supersedes stop, together.
    pub(crate) async fn start_social_zone_in(
        &self,
        tx: &mut Box<dyn yikatong_store::CardTx>,
        who: &Principal,
        id: i64,
        holder: &str,
        old_account: AccountChoice,
    ) -> ServiceResult<Card> {
        tx.lock_person(holder).await?;
        let card = self.lock_visible(tx, who, id).await?;
        if card.person_hash != holder {
            return Err(ServiceError::Internal(format!("card {id} changed holder")));
        }
        let others = tx.person_cards(holder).await?;
        let (policy, calendar) = self.rule_parts(&card.region)?;
        let ctx = RuleCtx { policy, calendar: &calendar, now: self.clock.now(), channel: who.channel() };
        let started = rules::start_social_zone(&card, &others, old_account, &ctx)?;
        let meta = self.meta(who);
        for (stopped, events) in &started.stopped {
            tx.record(stopped, events, &meta).await?;
        }
        let after = started.events.iter().fold(card, apply);
        tx.record(&after, &started.events, &meta).await?;
        Ok(after)
    }

    /// R-SET-10: the card check at settlement time, under the same row lock as loss
    /// reports, so a pre-loss and a settlement never both win: a card accepted here is
    /// recorded as used, in order, in its history.
    pub async fn check_card_for_settlement(&self, who: &Principal, id: i64) -> ServiceResult<CardView> {
        who.allow(Operation::CheckCardForSettlement)?;
        let institution = who.institution.clone().unwrap_or_default();
        let current = self.store.get_card(id).await?.ok_or_else(|| card_not_found(id))?;
        let record = printed_of(&self.card_holder(&current).await?);
        let card = self
            .card_command(who, id, Operation::CheckCardForSettlement, |card, ctx| {
                rules::usable_for_settlement(card, &record, ctx.now)?;
                Ok(vec![CardEvent::UsedForSettlement { institution: institution.clone() }])
            })
            .await?;
        Ok(card.view(self.clock.now()))
    }

    /// R-APP-3, R-DIST-1: cards past their promise — not produced in time, or not handed
    /// out by their unit within the region's days — for the operator, and a unit's own
    /// (the cards it applied for).
    pub async fn overdue_cards(&self, who: &Principal) -> ServiceResult<Vec<CardView>> {
        who.allow(Operation::ListOverdue)?;
        let mut out = Vec::new();
        for c in self.store.overdue_cards(self.clock.today()).await? {
            if who.role == Role::Unit && c.origin.applying_unit() != who.unit.as_deref() {
                continue;
            }
            out.push(self.card_view(&c).await?);
        }
        Ok(out)
    }

    /// The events of a card as stored (for checks and the operator).
    pub async fn raw_card_events(&self, id: i64) -> ServiceResult<Vec<CardEvent>> {
        self.store.card_events(id).await?.into_iter().map(|e| serde_json::from_value(e.event).map_err(|e| ServiceError::Internal(e.to_string()))).collect()
    }
}

/// Where a production batch stands: how many of its cards are in each state.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BatchProgress {
    pub id: i64,
    pub region: String,
    pub snapshot_at: DateTime<Utc>,
    pub cards: usize,
    /// `(state, count)`, in the order of the card's life.
    pub states: Vec<(String, usize)>,
    /// Cards held out when the batch was cut, with their reasons.
    pub excluded: usize,
}

impl Service {
    /// A production batch's progress (operator).
    pub async fn batch_progress(&self, who: &Principal, id: i64) -> ServiceResult<BatchProgress> {
        who.allow(Operation::ReadBatch)?;
        let batch = self.store.get_batch(id).await?.ok_or_else(|| ServiceError::from(Refusal::not_found("batch_not_found", format!("there is no production batch {id}"))))?;
        let cards = self.store.cards_in_batch(id).await?;
        let order = ["in_production", "produced", "production_failed", "at_distributor", "issued", "active", "returned", "lost", "replaced", "exchanged", "cancelled", "applied"];
        let states = order.iter().map(|s| (s.to_string(), cards.iter().filter(|c| c.state.as_str() == *s).count())).filter(|(_, n)| *n > 0).collect();
        Ok(BatchProgress { id, region: batch.region, snapshot_at: batch.snapshot_at, cards: cards.len(), states, excluded: batch.excluded.as_array().map_or(0, Vec::len) })
    }
}
