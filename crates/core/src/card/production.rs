//! Application, production and distribution (R-APP-1..4, R-DIST-1).

use chrono::{DateTime, Days, NaiveDate, Utc};

use super::events::CardEvent;
use super::model::{Card, CardState, Certificate, Origin, PrintedData, QueryPassword};
use super::rules::{RuleCtx, channel_allows, state_refusal};
use crate::Refusal;
use crate::access::Channel;
use crate::registry::{Category, PersonFlag, has_flag};

/// Everything needed to open a new card.
pub struct NewCard {
    pub person_hash: String,
    pub region: String,
    pub generation: u8,
    pub financial: bool,
    pub origin: Origin,
    pub printed: PrintedData,
    pub ready_on: Option<NaiveDate>,
    pub fee_fen: i64,
    pub certificate: Option<Certificate>,
    /// R-APP-3: the partner bank that took the unit's batch, when a bank did.
    pub applied_at_bank: Option<String>,
    /// R-DIST-1: how it reaches its holder, and where a mailed card goes.
    pub delivery: Option<super::delivery::Delivery>,
    pub mail_to: Option<super::delivery::MailAddress>,
}

/// Who applies for a first card (R-GEN-1, R-APP-3).
pub enum Applicant<'a> {
    /// The person alone (at the counter, online).
    Individual,
    /// The person's unit, in its batch; `district` is the unit's, where registered;
    /// `bank` the partner bank that took the batch (R-APP-3), if one did; `last_cut` the
    /// snapshot of the region's latest production batch (the late-collection fee).
    Unit { district: Option<&'a str>, bank: Option<&'a str>, last_cut: Option<DateTime<Utc>> },
}

/// R-GEN-1: a pilot's scope, where the region's file has one in force: while
/// `card.pilot.units_only` is on no one applies alone, and a unit's application must be
/// for a person of the pilot's categories in a unit of its districts. A region whose
/// file has no pilot, or after the pilot, takes everyone.
pub fn check_pilot(policy: &crate::policy::RegionPolicy, on: NaiveDate, category: Category, applicant: &Applicant) -> Result<(), Refusal> {
    if !policy.flag("card.pilot.units_only", on).unwrap_or(false) {
        return Ok(());
    }
    let until = policy
        .parameters
        .get("card.pilot.units_only")
        .and_then(|p| p.values.iter().find(|v| v.from > on))
        .map(|v| format!(" (until {})", v.from.pred_opt().unwrap_or(v.from)))
        .unwrap_or_default();
    let Applicant::Unit { district, .. } = applicant else {
        return Err(Refusal::conflict(
            "pilot_units_only",
            format!("during the card pilot{until} cards are applied for by the person's unit only; an individual cannot apply alone"),
        ));
    };
    let categories = policy.list("card.pilot.categories", on).unwrap_or_default();
    if !categories.is_empty() && !categories.contains(&category.as_str()) {
        return Err(Refusal::conflict("outside_pilot", format!("the card pilot{until} covers {} only, not {category}", categories.join(", "))));
    }
    let districts = policy.list("card.pilot.districts", on).unwrap_or_default();
    if !districts.is_empty() && !district.is_some_and(|d| districts.contains(&d)) {
        return Err(Refusal::conflict(
            "outside_pilot",
            format!("the card pilot{until} covers units in the districts {} only; this unit is in {}", districts.join(", "), district.unwrap_or("no recorded district")),
        ));
    }
    Ok(())
}

/// Qinhuangdao (003 §5): where the region's file says so, an application needs the
/// person's phone number (for the bank account that is opened with the card).
pub fn check_phone_required(policy: &crate::policy::RegionPolicy, on: NaiveDate, has_phone: bool) -> Result<(), Refusal> {
    if !has_phone && policy.flag("card.phone_required", on).unwrap_or(false) {
        return Err(Refusal::bad_input("phone_required", "in this region an application needs the person's phone number (a mobile where there is no landline)"));
    }
    Ok(())
}

/// R-APP-1, Qinhuangdao (003 §5): a first card's fee: the region's first-issue fee, or the
/// late-collection fee (the card's cost, the unit's to pay) for a unit applying for a
/// person whom the region's latest batch already covered (insured by its snapshot).
pub fn first_card_fee(policy: &crate::policy::RegionPolicy, on: NaiveDate, insured_at: DateTime<Utc>, applicant: &Applicant) -> i64 {
    let late = matches!(applicant, Applicant::Unit { last_cut: Some(cut), .. } if insured_at <= *cut);
    match policy.fen("card.late_collection_fee", on) {
        Ok(fee) if late => fee.0,
        _ => policy.fen("card.first_issue_fee", on).map_or(0, |f| f.0),
    }
}

/// R-APP-2: a region's stated snapshot day (`card.snapshot.month` and `.day`, e.g.
/// Qinhuangdao's 23 October): 0:00 business time of its latest occurrence on or before
/// `today`; `None` where the region states none.
pub fn stated_snapshot(policy: &crate::policy::RegionPolicy, today: NaiveDate) -> Option<DateTime<Utc>> {
    let month = policy.count("card.snapshot.month", today).ok()?;
    let day = u32::try_from(policy.day_of_month("card.snapshot.day", today).ok()?).ok()?;
    let this_year = NaiveDate::from_ymd_opt(chrono::Datelike::year(&today), month, day)?;
    let date = if this_year <= today { this_year } else { NaiveDate::from_ymd_opt(chrono::Datelike::year(&today) - 1, month, day)? };
    crate::clock::shanghai_midnight(date)
}

/// A new card in state `applied` with its first event; the store gives it its id.
/// The production promise (R-APP-3) is set for first issues.
pub fn open_card(new: NewCard, ctx: &RuleCtx) -> Result<(Card, CardEvent), Refusal> {
    let due_on = match new.origin {
        Origin::FirstIssue { .. } | Origin::Upgrade { .. } => match ctx.policy.days("card.production_due_days", ctx.today()) {
            Ok(d) => ctx.today().checked_add_days(Days::new(u64::from(d))),
            Err(_) => None,
        },
        _ => None,
    };
    let card = Card {
        id: 0,
        person_hash: new.person_hash,
        region: new.region,
        generation: new.generation,
        financial: new.financial,
        state: CardState::Applied,
        origin: new.origin,
        card_number: None,
        identification_code: None,
        social_zone_active: false,
        financial_zone_active: false,
        bank_account_opened: None,
        pre_losses: Vec::new(),
        superseded_by: None,
        successor: None,
        failure_reason: None,
        held_reason: None,
        printed: new.printed,
        certificate: new.certificate,
        password: QueryPassword::default(),
        batch_id: None,
        applied_at: ctx.now,
        due_on,
        ready_on: new.ready_on,
        fee_fen: new.fee_fen,
        applied_at_bank: new.applied_at_bank,
        delivery: new.delivery,
        mail_to: new.mail_to,
    };
    let event = CardEvent::Applied {
        generation: card.generation,
        financial: card.financial,
        due_on,
        ready_on: card.ready_on,
        fee_fen: card.fee_fen,
        bank: card.applied_at_bank.clone(),
        delivery: card.delivery.clone(),
        mail_to: card.mail_to.clone(),
    };
    Ok((card, event))
}

/// R-APP-1, R-APP-4: a person who already holds a working card (or one on its way)
/// gets no second one, unless it is a generation upgrade (R-GEN-1).
pub fn check_first_application(existing: &[Card], generation: u8) -> Result<(), Refusal> {
    if let Some(c) = existing.iter().find(|c| c.state.is_alive() && c.generation >= generation) {
        return Err(Refusal::conflict(
            "already_holds_card",
            format!("the person already holds a card (card {} in state {}); a lost card is replaced, a damaged one exchanged", c.id, c.state.as_str()),
        ));
    }
    Ok(())
}

/// What a production cut knows of a card's holder now (R-APP-2, R-APP-4).
pub struct HolderNow<'a> {
    pub insured_at: DateTime<Utc>,
    pub flags: &'a [PersonFlag],
    /// The unit the person is insured through today.
    pub unit_code: Option<&'a str>,
    pub name: &'a str,
    /// The person's ID number now (R-APP-4: changed after the application).
    pub ssn: &'a str,
    /// A photo that passed the machine checks is on record.
    pub has_photo: bool,
    /// The city of the province whose working card the province's register shows.
    pub card_elsewhere: Option<&'a str>,
}

/// Why an applied card is left out of a production batch (R-APP-2, R-APP-4), each with
/// what to do, or `None`. `photo_required`: the region's dated switch
/// `card.photo_required_before_production`.
/// `snapshot.0` is the insurance data's instant (who was insured by then), `snapshot.1`
/// the instant applications are taken up to (the same for a snapshot the operator states;
/// the cut's own instant for a region's stated snapshot day, whose applications come in
/// after the data's day).
pub fn batch_exclusion(card: &Card, holder: &HolderNow, snapshot: (DateTime<Utc>, DateTime<Utc>), holds_working_card: bool, photo_required: bool) -> Option<String> {
    let person_flags = holder.flags;
    let (insured_by, applied_by) = snapshot;
    if holder.insured_at > insured_by {
        return Some("insured after the batch's snapshot; goes into a later batch".into());
    }
    if card.applied_at > applied_by {
        return Some("applied after the batch's snapshot; goes into a later batch".into());
    }
    if let Some(unit) = card.origin.applying_unit().filter(|u| holder.unit_code != Some(*u)) {
        return Some(format!("left unit {unit} after the application (减员): the unit removes the person, or the bureau moves them to their new unit, which applies again"));
    }
    if card.printed.name != holder.name {
        return Some("the name was changed after the application: the card would carry the old one; apply again".into());
    }
    if card.number_changed(holder.ssn) {
        return Some("the ID number was corrected after the application: the card would carry the old one; apply again".into());
    }
    if has_flag(person_flags, PersonFlag::SecondCollectionPending) {
        return Some("awaiting second collection (information comparison)".into());
    }
    if has_flag(person_flags, PersonFlag::MigrantWorker1Pct) {
        return Some("migrant worker on the 1 % rate: no card is issued".into());
    }
    if photo_required && !holder.has_photo {
        return Some("no usable photo on record: upload a photo that passes the checks".into());
    }
    if holds_working_card && matches!(card.origin, Origin::FirstIssue { .. }) && card.generation <= 3 && !has_flag(person_flags, PersonFlag::GenerationUpgrade) {
        return Some("already holds a working card".into());
    }
    if let Some(city) = holder.card_elsewhere.filter(|_| matches!(card.origin, Origin::FirstIssue { .. }) && !has_flag(person_flags, PersonFlag::GenerationUpgrade)) {
        return Some(format!("already holds a working card from another city of the province ({city}, the province's card register): that card serves here"));
    }
    if card.financial && card.bank_account_opened != Some(true) {
        return Some("the bank has not opened the account yet".into());
    }
    None
}

pub fn assign_to_batch(card: &Card, batch_id: i64, ctx: &RuleCtx) -> Result<Vec<CardEvent>, Refusal> {
    channel_allows(ctx, &[Channel::Bureau], "cutting a production batch")?;
    if card.state != CardState::Applied {
        return Err(state_refusal(card, ctx.now, "production"));
    }
    Ok(vec![CardEvent::AssignedToBatch { batch_id }])
}

/// The factory's result for one card.
pub fn record_production(card: &Card, result: Result<(String, String), String>, ctx: &RuleCtx) -> Result<Vec<CardEvent>, Refusal> {
    channel_allows(ctx, &[Channel::Vendor], "recording production results")?;
    if card.state != CardState::InProduction {
        return Err(Refusal::conflict("not_in_production", format!("card {} is {}, not in production", card.id, card.state.as_str())));
    }
    Ok(vec![match result {
        Ok((card_number, identification_code)) => produced(card_number, identification_code)?,
        Err(reason) => CardEvent::ProductionFailed { reason },
    }])
}

/// A made card's numbers, checked: the printed card number and the 32-character card
/// identification code.
fn produced(card_number: String, identification_code: String) -> Result<CardEvent, Refusal> {
    crate::identity::CardNumber::parse(&card_number).map_err(|e| Refusal::bad_input("invalid_card_number", e.to_string()))?;
    if identification_code.len() != 32 || !identification_code.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(Refusal::bad_input("invalid_identification_code", "the card identification code has 32 letters and digits"));
    }
    Ok(CardEvent::Produced { card_number, identification_code })
}

/// 即时补卡 (002, Jinan): where the region's file says so (`card.immediate_replacement`)
/// an outlet that makes cards on the spot prints the replacement while the holder waits
/// and hands it over at once; the card's numbers come from the outlet's card printer. A
/// financial card is made on the spot only at its bank, which opens its account there.
pub fn issue_on_the_spot(new: &Card, numbers: (String, String), proxy: bool, ctx: &RuleCtx) -> Result<Vec<CardEvent>, Refusal> {
    if !ctx.policy.flag("card.immediate_replacement", ctx.today()).unwrap_or(false) {
        return Err(Refusal::conflict("immediate_not_offered", "this region makes replacement cards at the factory only; the certificate gives the collection date"));
    }
    if new.financial && ctx.channel != Channel::Bank {
        return Err(Refusal::conflict("immediate_financial_at_bank", "a financial card is made on the spot only at its bank's outlet, which opens its account"));
    }
    let mut events = vec![produced(numbers.0, numbers.1)?];
    if new.financial {
        events.push(CardEvent::BankAccountOpened);
    }
    events.extend([CardEvent::Dispatched { hand_out_by: None }, CardEvent::HandedOver { proxy }]);
    Ok(events)
}

/// R-APP-4: the bank's answer on the account, accepted from application until hand-over.
pub fn record_bank_account(card: &Card, opened: bool, reason: Option<String>, ctx: &RuleCtx) -> Result<Vec<CardEvent>, Refusal> {
    channel_allows(ctx, &[Channel::Bank], "recording the bank account")?;
    if !card.financial {
        return Err(Refusal::bad_input("not_a_financial_card", "this card has no financial zone"));
    }
    if !matches!(card.state, CardState::Applied | CardState::InProduction | CardState::Produced | CardState::AtDistributor) {
        return Err(state_refusal(card, ctx.now, "recording the bank account"));
    }
    if card.bank_account_opened.is_some() {
        return Err(Refusal::conflict("bank_account_recorded", "the bank's answer for this card is already recorded"));
    }
    Ok(vec![if opened {
        CardEvent::BankAccountOpened
    } else {
        let reason = reason.filter(|r| !r.trim().is_empty()).ok_or_else(|| Refusal::bad_input("reason_required", "say why the account could not be opened"))?;
        CardEvent::BankAccountRefused { reason }
    }])
}

/// R-APP-3, R-DIST-1: a produced card sent out to be handed to its holder.
pub fn dispatch(card: &Card, ctx: &RuleCtx) -> Result<Vec<CardEvent>, Refusal> {
    channel_allows(ctx, &[Channel::Bureau], "dispatching cards")?;
    if card.state != CardState::Produced {
        return Err(Refusal::conflict("not_produced", format!("card {} is {}, not produced", card.id, card.state.as_str())));
    }
    // R-DIST-1: the unit hands it out within the region's days (Jinan 10, 002).
    // A replacement waits at the outlet for its holder, whenever they come.
    let by_unit = card.origin.applying_unit().is_some();
    let hand_out_by = ctx.policy.days("card.distribution_days", ctx.today()).ok().filter(|_| by_unit).and_then(|d| ctx.today().checked_add_days(Days::new(u64::from(d))));
    Ok(vec![CardEvent::Dispatched { hand_out_by }])
}
