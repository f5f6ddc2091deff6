//! Loss, replacement, exchange, second application, wrong data, cancellation and
//! synchronisation (R-LOSS-1..5, R-EXCH-1, R-ONLINE-1, R-SECOND-1, R-WRONG-1,
//! R-DEATH-1, R-INFO-1).

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use yikatong_core::Refusal;
use yikatong_core::access::{Operation, Principal};
use yikatong_core::card::delivery::{MailAddress, NewCardKind};
use yikatong_core::card::production::{self as rules_p, NewCard};
use yikatong_core::card::rules::{self, RuleCtx, SuccessorTerms};
use yikatong_core::card::{Card, CardEvent, Origin, Zone, apply};
use yikatong_core::identity::Ssn;
use yikatong_core::registry::OrganisationKind;
use yikatong_store::CardTx;

use super::delivery::DeliveryRequest;
use super::printed_of;
use super::views::{CardView, CertificateSummary};
use crate::{Service, ServiceResult};

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FormalLossRequest {
    /// A proxy's ID number when the holder does not come in person.
    pub proxy_ssn: Option<String>,
    /// `outlet` or `mail`, among the ways the region offers for replacement cards.
    pub delivery: String,
    /// For `mail`, as in [`DeliveryRequest`]; default the address on record.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub address: Option<MailAddress>,
    /// As in [`DeliveryRequest`]; default the first method the region takes at the outlet.
    #[serde(default)]
    pub payment_method: Option<String>,
    /// 即时补卡 (002): the replacement made on the spot and handed over at once, at an
    /// outlet of kind `instant_issue` in a region whose file allows it
    /// (`card.immediate_replacement`); default `false` (made at the factory).
    #[serde(default)]
    pub immediate: bool,
    /// The numbers of the card made on the spot, from the outlet's card printer
    /// (required with `immediate`).
    #[serde(default)]
    pub card_number: Option<String>,
    #[serde(default)]
    pub card_identification_code: Option<String>,
}

/// A replacement made on the spot (002): the printed card's numbers and who takes it.
struct OnTheSpot {
    numbers: (String, String),
    proxy: bool,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExchangeRequest {
    pub reason: String,
    pub delivery: String,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub address: Option<MailAddress>,
    #[serde(default)]
    pub payment_method: Option<String>,
}

/// The delivery part of a counter's request (its fields as the request holds them).
#[allow(clippy::ref_option)]
fn at_counter(delivery: &str, address: &Option<MailAddress>, payment_method: &Option<String>) -> DeliveryRequest {
    DeliveryRequest { delivery: Some(delivery.to_string()), address: address.clone(), payment_method: payment_method.clone(), via: None }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReplacementView {
    pub replacement_card_id: i64,
    pub certificate: CertificateSummary,
    pub fee_fen: i64,
    /// Delivery by mail, when the region's file prices it (R-LOSS-5).
    pub delivery_fee_fen: i64,
    /// How the fees were paid; `null` when there was nothing to pay.
    pub payment_method: Option<String>,
    /// The collection date; `null` while the calendar lacks its year (R-CAL-2): the loss
    /// and the certificate are in force all the same.
    #[schema(value_type = Option<String>)]
    pub ready_on: Option<NaiveDate>,
    /// The calendar year the collection date waits for, while `ready_on` is `null`.
    pub ready_pending_year: Option<i32>,
    pub card: CardView,
}

/// Everything about a successor card except the old card's own events.
struct Successor {
    origin: Origin,
    terms: SuccessorTerms,
    delivery: super::delivery::DeliveryTerms,
    on_the_spot: Option<OnTheSpot>,
}

impl Service {
    /// R-LOSS-1, R-LOSS-2: pre-loss from the outlet, hotline, kiosk or web.
    pub async fn report_pre_loss(&self, who: &Principal, id: i64, zone: Option<Zone>) -> ServiceResult<CardView> {
        let changed = self.card_command(who, id, Operation::ReportPreLoss, |c, ctx| rules::report_pre_loss(c, zone, ctx)).await?;
        Ok(changed.view(self.clock.now()))
    }

    /// R-LOSS-2: revocation at an outlet.
    pub async fn revoke_pre_loss(&self, who: &Principal, id: i64, zone: Option<Zone>) -> ServiceResult<CardView> {
        let changed = self.card_command(who, id, Operation::RevokePreLoss, |c, ctx| rules::revoke_pre_loss(c, zone, ctx)).await?;
        Ok(changed.view(self.clock.now()))
    }

    fn certificate_number(&self, region: &str, today: NaiveDate) -> String {
        let admdvs = self.policies.region(region).map(|r| r.admdvs.clone()).unwrap_or_default();
        let r: [u8; 4] = yikatong_store::crypto::random_bytes();
        format!("{admdvs}{}{:08X}", today.format("%Y%m%d"), u32::from_be_bytes(r))
    }

    /// Opens the successor card, links it to the old one, records the fee.
    async fn open_successor(
        &self,
        tx: &mut Box<dyn CardTx>,
        who: &Principal,
        (old, person): (Card, yikatong_store::Person),
        mut old_events: Vec<CardEvent>,
        successor: Successor,
        ctx: &RuleCtx<'_>,
    ) -> ServiceResult<ReplacementView> {
        let meta = self.meta(who);
        let fee = successor.terms.fee_fen;
        let (delivery, mail_to) = (successor.delivery.delivery, successor.delivery.mail_to);
        let payment = delivery.payment_method.clone();
        let delivery_fee_fen = delivery.fee_fen;
        let (mut new, event) = rules_p::open_card(
            NewCard {
                person_hash: old.person_hash.clone(),
                region: old.region.clone(),
                generation: old.generation,
                financial: old.financial,
                origin: successor.origin,
                printed: printed_of(&person),
                ready_on: successor.terms.ready_on,
                fee_fen: fee + delivery_fee_fen,
                certificate: Some(successor.terms.certificate.clone()),
                applied_at_bank: None,
                delivery: Some(delivery),
                mail_to,
            },
            ctx,
        )?;
        new.id = tx.insert_card(&new, &[event], &meta).await?;
        if let Some(spot) = successor.on_the_spot {
            let made = rules_p::issue_on_the_spot(&new, spot.numbers, spot.proxy, ctx)?;
            new = made.iter().fold(new, apply);
            tx.record(&new, &made, &meta).await?;
        }
        let link = CardEvent::SuccessorApplied { successor: new.id };
        old_events.push(link);
        let old_after = old_events.iter().fold(old, apply);
        tx.record(&old_after, &old_events, &meta).await?;
        super::record_card_fees(tx, &new, "replacement", &meta).await?;
        Ok(ReplacementView {
            replacement_card_id: new.id,
            certificate: CertificateSummary::of(&successor.terms.certificate),
            fee_fen: fee,
            delivery_fee_fen,
            payment_method: payment,
            ready_on: successor.terms.ready_on,
            ready_pending_year: super::views::ready_pending_year(&successor.terms.certificate),
            card: super::views::CardView::of(&new, &person, ctx.now),
        })
    }

    /// R-LOSS-3..5: formal loss at an outlet with the replacement application.
    pub async fn formal_loss(&self, who: &Principal, id: i64, req: &FormalLossRequest) -> ServiceResult<ReplacementView> {
        who.allow(Operation::FormalLoss)?;
        let proxy = req.proxy_ssn.as_deref().map(Ssn::parse).transpose()?;
        let ask = at_counter(&req.delivery, &req.address, &req.payment_method);
        let on_the_spot = if req.immediate { Some(self.on_the_spot(who, req, proxy.is_some()).await?) } else { None };
        self.replace(who, id, (&ask, on_the_spot), |card, ctx| rules::formal_loss(card, proxy.is_some(), ctx), |card| Origin::Replacement { of: card.id }).await
    }

    /// 即时补卡 (002): only where the outlet (a clerk's, or a bank's registered under its
    /// bank code) makes cards on the spot, with the printed card's numbers.
    async fn on_the_spot(&self, who: &Principal, req: &FormalLossRequest, proxy: bool) -> ServiceResult<OnTheSpot> {
        let here = match who.outlet.as_deref() {
            Some(code) => self.store.get_outlet(code).await?,
            None => None,
        };
        if here.and_then(|o| o.kind) != Some(OrganisationKind::InstantIssue) {
            return Err(Refusal::conflict("immediate_not_offered_here", "this outlet does not make cards on the spot; the replacement is made at the factory").into());
        }
        let (Some(number), Some(code)) = (req.card_number.clone(), req.card_identification_code.clone()) else {
            return Err(Refusal::bad_input("card_number_required", "a card made on the spot needs its card_number and card_identification_code from the card printer").into());
        };
        Ok(OnTheSpot { numbers: (number, code), proxy })
    }

    /// R-ONLINE-1: the holder's online replacement application.
    pub async fn online_replacement(&self, who: &Principal, id: i64, ask: &DeliveryRequest) -> ServiceResult<ReplacementView> {
        who.allow(Operation::OnlineReplacement)?;
        self.replace(who, id, (ask, None), rules::online_replacement, |card| Origin::Replacement { of: card.id }).await
    }

    /// R-EXCH-1: exchange of a damaged card; the old card works until the new one is
    /// activated.
    pub async fn exchange(&self, who: &Principal, id: i64, req: &ExchangeRequest) -> ServiceResult<ReplacementView> {
        who.allow(Operation::Exchange)?;
        let reason = req.reason.clone();
        self.replace(
            who,
            id,
            (&at_counter(&req.delivery, &req.address, &req.payment_method), None),
            |card, ctx| rules::request_exchange(card, &reason, ctx).map(|()| Vec::new()),
            |card| Origin::Exchange { of: card.id, reason: req.reason.clone() },
        )
        .await
    }

    async fn replace(
        &self,
        who: &Principal,
        id: i64,
        (ask, on_the_spot): (&DeliveryRequest, Option<OnTheSpot>),
        decide: impl FnOnce(&Card, &RuleCtx) -> Result<Vec<CardEvent>, Refusal>,
        origin: impl FnOnce(&Card) -> Origin,
    ) -> ServiceResult<ReplacementView> {
        let mut tx = self.begin_write().await?;
        let (card, holder) = self.lock_visible_with_holder(&mut tx, who, id).await?;
        let (policy, calendar) = self.rule_parts(&card.region)?;
        let ctx = RuleCtx { policy, calendar: &calendar, now: self.clock.now(), channel: who.channel() };
        let events = decide(&card, &ctx)?;
        let delivery = self.delivery_terms(who, policy, NewCardKind::Successor, ask, &holder, rules::replacement_fee(&ctx)?)?;
        let number = self.certificate_number(&card.region, ctx.today());
        let terms = match on_the_spot {
            Some(_) => rules::on_the_spot_terms(delivery.delivery.way, number, &ctx)?,
            None => rules::successor_terms(&card, delivery.delivery.way, number, &ctx)?,
        };
        let successor = Successor { origin: origin(&card), terms, delivery, on_the_spot };
        let view = self.open_successor(&mut tx, who, (card, holder), events, successor, &ctx).await?;
        self.commit(tx).await?;
        tracing::info!(card = id, replacement = view.replacement_card_id, "replacement card applied for");
        Ok(view)
    }

    /// R-SECOND-1: the unit returns a card nobody collected.
    pub async fn return_card(&self, who: &Principal, id: i64) -> ServiceResult<CardView> {
        let changed = self.card_command(who, id, Operation::ReturnCard, rules::return_to_bureau).await?;
        Ok(changed.view(self.clock.now()))
    }

    /// R-SECOND-1: the holder claims a returned card, collected at the outlet or mailed
    /// like a replacement (001); free of charge, so no payment is asked.
    pub async fn second_application(&self, who: &Principal, id: i64, ask: &DeliveryRequest) -> ServiceResult<CardView> {
        who.allow(Operation::SecondApplication)?;
        let current = self.store.get_card(id).await?.ok_or_else(|| super::card_not_found(id))?;
        let holder = self.card_holder(&current).await?;
        let policy = self.policies.region(&current.region)?;
        let d = self.delivery_terms(who, policy, NewCardKind::Successor, ask, &holder, 0)?;
        let terms = (d.delivery, d.mail_to);
        let changed = self
            .card_command(who, id, Operation::SecondApplication, |c, ctx| rules::second_application(c, self.certificate_number(&c.region, ctx.today()), terms.clone(), ctx))
            .await?;
        Ok(changed.view(self.clock.now()))
    }

    /// R-WRONG-1: the card goes back and is made again, free of charge.
    pub async fn report_wrong_data(&self, who: &Principal, id: i64, reason: &str) -> ServiceResult<CardView> {
        who.allow(Operation::ReportWrongData)?;
        let meta = self.meta(who);
        let mut tx = self.begin_write().await?;
        let (card, person) = self.lock_visible_with_holder(&mut tx, who, id).await?;
        let (policy, calendar) = self.rule_parts(&card.region)?;
        let ctx = RuleCtx { policy, calendar: &calendar, now: self.clock.now(), channel: who.channel() };
        let events = rules::report_wrong_data(&card, reason, &ctx)?;
        let (mut remake, event) = rules_p::open_card(
            NewCard {
                person_hash: card.person_hash.clone(),
                region: card.region.clone(),
                generation: card.generation,
                financial: card.financial,
                origin: Origin::Remake { of: card.id, reason: reason.into() },
                printed: printed_of(&person),
                ready_on: None,
                fee_fen: 0,
                certificate: None,
                applied_at_bank: None,
                delivery: card.delivery.clone(),
                mail_to: card.mail_to.clone(),
            },
            &ctx,
        )?;
        remake.id = tx.insert_card(&remake, &[event], &meta).await?;
        let old_after = events.iter().fold(card, apply);
        tx.record(&old_after, &events, &meta).await?;
        self.commit(tx).await?;
        Ok(CardView::of(&remake, &person, ctx.now))
    }

    /// R-DEATH-1: cancelled for use on death or moving out.
    pub async fn cancel_card(&self, who: &Principal, id: i64, reason: &str) -> ServiceResult<CardView> {
        let changed = self.card_command(who, id, Operation::CancelCard, |c, ctx| rules::cancel(c, reason, ctx)).await?;
        Ok(changed.view(self.clock.now()))
    }

    /// R-INFO-1: a clerk writes the record's current data to the card.
    pub async fn synchronise_card(&self, who: &Principal, id: i64) -> ServiceResult<CardView> {
        let current = self.store.get_card(id).await?.ok_or_else(|| super::card_not_found(id))?;
        let record = printed_of(&self.card_holder(&current).await?);
        let changed = self.card_command(who, id, Operation::SynchroniseCard, |c, ctx| rules::synchronise(c, &record, ctx)).await?;
        Ok(changed.view(self.clock.now()))
    }
}
