//! The card rules of SPEC §4 and the channel table of §6: each takes the card, the
//! policy in force and now, and returns the events to record or a refusal. Pure.

use chrono::{DateTime, Datelike, Days, NaiveDate, Utc};

use super::events::CardEvent;
use super::model::{AccountChoice, Card, CardState, Certificate, Origin, PrintedData, Zone};
use crate::Refusal;
use crate::access::Channel;
use crate::calendar::WorkingCalendar;
use crate::clock::shanghai;
use crate::policy::{PolicyError, RegionPolicy};

/// What a rule needs besides the card.
pub struct RuleCtx<'a> {
    pub policy: &'a RegionPolicy,
    pub calendar: &'a WorkingCalendar,
    pub now: DateTime<Utc>,
    pub channel: Channel,
}

impl RuleCtx<'_> {
    pub fn today(&self) -> NaiveDate {
        self.now.with_timezone(&shanghai()).date_naive()
    }
}

fn policy(e: PolicyError) -> Refusal {
    Refusal::conflict("policy_not_in_force", e.to_string())
}

fn local(t: DateTime<Utc>) -> String {
    t.with_timezone(&shanghai()).format("%Y-%m-%d %H:%M").to_string()
}

/// SPEC §6: refuses unless the request came through one of `allowed`.
pub fn channel_allows(ctx: &RuleCtx, allowed: &[Channel], operation: &str) -> Result<(), Refusal> {
    if allowed.contains(&ctx.channel) {
        Ok(())
    } else {
        let names: Vec<_> = allowed.iter().map(|c| c.as_str()).collect();
        Err(Refusal::forbidden("not_allowed_on_channel", format!("{operation} is not done through the {} channel; it is done at: {}", ctx.channel.as_str(), names.join(", "))))
    }
}

/// The refusal for a card whose state does not allow `operation`.
pub fn state_refusal(card: &Card, now: DateTime<Utc>, operation: &str) -> Refusal {
    if let Some(p) = card.pre_loss_in_force(now).filter(|_| card.state.is_alive()) {
        return Refusal::conflict(
            "card_pre_lost",
            format!("the card is pre-lost until {}; {operation} is not possible until the pre-loss is revoked at an outlet or lifts", local(p.until)),
        );
    }
    let (code, what) = match card.state {
        CardState::Lost => ("card_lost", "the card was reported lost for good and is void"),
        CardState::Replaced | CardState::Exchanged => ("card_replaced", "the card was replaced by a newer card"),
        CardState::Cancelled => ("card_cancelled", "the card is cancelled"),
        CardState::ProductionFailed => ("card_production_failed", "the card was never produced"),
        CardState::Issued => ("card_not_active", "the card's social-security zone is not started yet"),
        _ => ("card_not_issued", "the card has not been handed to its holder yet"),
    };
    Refusal::conflict(code, format!("{what} (state {}); {operation} is not possible", card.state.as_str()))
}

fn require_state(card: &Card, now: DateTime<Utc>, allowed: &[CardState], operation: &str) -> Result<(), Refusal> {
    if allowed.contains(&card.state) { Ok(()) } else { Err(state_refusal(card, now, operation)) }
}

const HELD: [CardState; 2] = [CardState::Issued, CardState::Active];

/// The zone a pre-loss (or its revocation) is about (R-LOSS-1): the whole card where the
/// region reports the zones together; where it reports them separately (Jinan), the
/// zone named — or, for a card with no financial zone, its one zone without naming it.
fn loss_zone(card: &Card, zone: Option<Zone>, ctx: &RuleCtx) -> Result<Option<Zone>, Refusal> {
    let separate = ctx.policy.flag("card.pre_loss_separate_zones", ctx.today()).unwrap_or(false);
    match (separate, zone) {
        (true, None) if !card.financial => Ok(Some(Zone::Social)),
        (true, None) => {
            Err(Refusal::bad_input("zone_required", "in this region the social-security zone and the financial zone are reported separately: say which (social or financial)"))
        }
        (true, Some(Zone::Financial)) if !card.financial => Err(Refusal::bad_input("not_a_financial_card", "this card has no financial zone")),
        (false, Some(_)) => Err(Refusal::bad_input("zones_not_separate", "in this region a pre-loss covers the whole card; leave the zone out")),
        (_, z) => Ok(z),
    }
}

/// Jinan (002): the financial zone's temporary loss is reported to the bank and lifted at
/// a bank outlet, apart from the social zone, once the bank has activated the zone. Where
/// the region's `card.financial_loss_at_bank` is on, the bank channel serves exactly that.
fn bank_may(card: &Card, zone: Option<Zone>, operation: &str, elsewhere: &[Channel], ctx: &RuleCtx) -> Result<(), Refusal> {
    // The matrix lets banks in; the region's file narrows it (never widens it).
    if !ctx.policy.flag("card.financial_loss_at_bank", ctx.today()).unwrap_or(false) {
        let names: Vec<_> = elsewhere.iter().map(|c| c.as_str()).collect();
        return Err(Refusal::forbidden("not_at_bank_in_region", format!("in this region banks do not take {operation}; it is done at: {}", names.join(", "))));
    }
    if zone != Some(Zone::Financial) {
        return Err(Refusal::forbidden(
            "not_at_bank_in_region",
            format!("the bank takes {operation} of the financial zone only; the social-security zone's is reported to the bureau"),
        ));
    }
    if !card.financial_zone_active {
        return Err(Refusal::conflict("financial_zone_not_active", "the bank has not activated this card's financial zone"));
    }
    Ok(())
}

/// The channel check and the zone of a pre-loss or its revocation: `channels` take it
/// for any zone; a bank only as [`bank_may`] allows.
fn loss_zone_on_channel(card: &Card, zone: Option<Zone>, operation: &str, channels: &[Channel], ctx: &RuleCtx) -> Result<Option<Zone>, Refusal> {
    if ctx.channel != Channel::Bank {
        channel_allows(ctx, channels, operation)?;
        return loss_zone(card, zone, ctx);
    }
    let zone = loss_zone(card, zone, ctx)?;
    bank_may(card, zone, operation, channels, ctx)?;
    Ok(zone)
}

/// R-LOSS-1, R-LOSS-2, R-CAL-3: pre-loss, in force at once, for the region's number of
/// calendar days. Jinan reports the zones separately, the financial zone's to the bank.
pub fn report_pre_loss(card: &Card, zone: Option<Zone>, ctx: &RuleCtx) -> Result<Vec<CardEvent>, Refusal> {
    let today = ctx.today();
    let zone = loss_zone_on_channel(card, zone, "a pre-loss", &[Channel::Outlet, Channel::Hotline, Channel::Kiosk, Channel::Web], ctx)?;
    if card.state.is_alive() && card.pre_losses.iter().any(|p| p.in_force(ctx.now) && p.zone == zone) {
        let until = card.pre_losses.iter().rev().find(|p| p.in_force(ctx.now)).map(|p| local(p.until)).unwrap_or_default();
        return Err(Refusal::conflict("already_pre_lost", format!("the card is already pre-lost until {until}")));
    }
    if !HELD.contains(&card.state) {
        return Err(state_refusal(card, ctx.now, "a pre-loss"));
    }
    let days = ctx.policy.days("card.pre_loss_days", today).map_err(policy)?;
    let until = ctx.now + chrono::Duration::days(i64::from(days));
    Ok(vec![CardEvent::PreLossReported { since: ctx.now, until, zone }])
}

/// R-LOSS-2: revocation only at an outlet (Jinan: the financial zone's at a bank outlet),
/// before the pre-loss lifts; the card works at once.
pub fn revoke_pre_loss(card: &Card, zone: Option<Zone>, ctx: &RuleCtx) -> Result<Vec<CardEvent>, Refusal> {
    let zone = loss_zone_on_channel(card, zone, "revoking a pre-loss", &[Channel::Outlet], ctx)?;
    if !card.state.is_alive() {
        return Err(state_refusal(card, ctx.now, "revoking a pre-loss"));
    }
    if !card.pre_losses.iter().any(|p| p.in_force(ctx.now) && p.zone == zone) {
        return Err(Refusal::conflict("not_pre_lost", "the card has no pre-loss in force to revoke"));
    }
    Ok(vec![CardEvent::PreLossRevoked { zone, at: ctx.now }])
}

/// The replacement or exchange card's terms: ready after N working days (R-LOSS-4,
/// R-CAL-1), the fee (R-LOSS-5), and its certificate (R-CERT-1). A ready date in a
/// year the calendar lacks never refuses the loss (R-CAL-2): `ready_on` is `None` and
/// the certificate, valid at once, keeps the working days to count when the year is
/// loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SuccessorTerms {
    pub ready_on: Option<NaiveDate>,
    pub fee_fen: i64,
    pub certificate: Certificate,
}

pub fn successor_terms(card: &Card, delivery: super::delivery::DeliveryWay, certificate_number: String, ctx: &RuleCtx) -> Result<SuccessorTerms, Refusal> {
    let today = ctx.today();
    let key = if card.financial { "card.production_working_days.financial" } else { "card.production_working_days.ordinary" };
    let days = ctx.policy.working_days(key, today).map_err(policy)?;
    let (ready_on, awaiting_year) = match ctx.calendar.add_working_days(today, days) {
        Ok(d) => (Some(d), None),
        Err(crate::calendar::CalendarError::YearMissing(year)) => (None, Some(year)),
        Err(e) => return Err(Refusal::conflict(e.code(), e.to_string())),
    };
    Ok(SuccessorTerms {
        ready_on,
        fee_fen: replacement_fee(ctx)?,
        certificate: Certificate { number: certificate_number, issued_on: today, ready_on, working_days: Some(days), awaiting_year, prints: 1, delivery: delivery.as_str().into() },
    })
}

/// 即时补卡 (002): the terms of a replacement made on the spot: ready today, its fee,
/// and a certificate that is already due (it serves until the card is handed over, a
/// moment later).
pub fn on_the_spot_terms(delivery: super::delivery::DeliveryWay, certificate_number: String, ctx: &RuleCtx) -> Result<SuccessorTerms, Refusal> {
    let today = ctx.today();
    Ok(SuccessorTerms {
        ready_on: Some(today),
        fee_fen: replacement_fee(ctx)?,
        certificate: Certificate {
            number: certificate_number,
            issued_on: today,
            ready_on: Some(today),
            working_days: None,
            awaiting_year: None,
            prints: 1,
            delivery: delivery.as_str().into(),
        },
    })
}

/// R-LOSS-5: 工本费, the fee of a replacement or exchange card.
pub fn replacement_fee(ctx: &RuleCtx) -> Result<i64, Refusal> {
    ctx.policy.fen("card.replacement_fee", ctx.today()).map(|f| f.0).map_err(policy)
}

/// R-CAL-2: once the calendar has the year a certificate's collection date waits for,
/// the date is counted (from the issue day, R-CAL-1) and recorded; `None` while it
/// still cannot be (the event records a later year awaited, if the count now ends in
/// one).
pub fn count_ready_date(card: &Card, calendar: &WorkingCalendar) -> Option<Vec<CardEvent>> {
    let c = card.certificate.as_ref()?;
    let (None, Some(days), Some(waited)) = (c.ready_on, c.working_days, c.awaiting_year) else { return None };
    match calendar.add_working_days(c.issued_on, days) {
        Ok(ready_on) => Some(vec![CardEvent::ReadyDateCounted { ready_on }]),
        Err(crate::calendar::CalendarError::YearMissing(year)) if year != waited => Some(vec![CardEvent::ReadyDateAwaits { year }]),
        Err(_) => None,
    }
}

/// R-LOSS-3: formal loss at an outlet (Jinan: also at a bank), by the holder or a proxy;
/// final for ever, even for a pre-lost card.
pub fn formal_loss(card: &Card, proxy: bool, ctx: &RuleCtx) -> Result<Vec<CardEvent>, Refusal> {
    let at_bank = ctx.policy.flag("card.formal_loss_at_bank", ctx.today()).unwrap_or(false);
    let allowed: &[Channel] = if at_bank { &[Channel::Outlet, Channel::Bank] } else { &[Channel::Outlet] };
    channel_allows(ctx, allowed, "a formal loss")?;
    if !HELD.contains(&card.state) {
        return Err(state_refusal(card, ctx.now, "a formal loss"));
    }
    if card.successor.is_some() {
        return Err(Refusal::conflict("replacement_pending", "a new card is already being made for this card"));
    }
    Ok(vec![CardEvent::FormallyLost { proxy }])
}

/// R-ONLINE-1: the online replacement application, inside the monthly window and the
/// daily hours. The card must be under pre-loss: the application makes that loss final
/// (a replacement for a card that comes back to life after the pre-loss would leave
/// two cards working).
pub fn online_replacement(card: &Card, ctx: &RuleCtx) -> Result<Vec<CardEvent>, Refusal> {
    channel_allows(ctx, &[Channel::Web], "an online replacement application")?;
    check_online_window(ctx)?;
    if !HELD.contains(&card.state) {
        return Err(state_refusal(card, ctx.now, "a replacement application"));
    }
    if card.successor.is_some() {
        return Err(Refusal::conflict("replacement_pending", "a new card is already being made for this card"));
    }
    if card.pre_loss_in_force(ctx.now).is_none() {
        return Err(Refusal::conflict("not_pre_lost", "report the card's pre-loss first; a replacement is for a lost card"));
    }
    Ok(vec![CardEvent::FormallyLost { proxy: false }])
}

/// R-ONLINE-1: from the region's first day of each month to the month's end, between
/// its opening and closing times (business time).
pub fn check_online_window(ctx: &RuleCtx) -> Result<(), Refusal> {
    let today = ctx.today();
    let first = ctx.policy.day_of_month("card.online_window.first_day", today).map_err(policy)?;
    let opens = ctx.policy.time("card.online_window.opens", today).map_err(policy)?;
    let closes = ctx.policy.time("card.online_window.closes", today).map_err(policy)?;
    let time = ctx.now.with_timezone(&shanghai()).time();
    if i64::from(today.day()) < first {
        return Err(Refusal::conflict("outside_online_window", format!("online applications open on day {first} of each month; today is day {}", today.day())));
    }
    if time < opens || time >= closes {
        return Err(Refusal::conflict("outside_online_window", format!("online applications are taken from {} to {}", opens.format("%H:%M"), closes.format("%H:%M"))));
    }
    Ok(())
}

/// R-EXCH-1: exchange of a damaged or unreadable card, at an outlet. The old card keeps
/// working until the new one is activated (R-ACT-2).
pub fn request_exchange(card: &Card, reason: &str, ctx: &RuleCtx) -> Result<(), Refusal> {
    channel_allows(ctx, &[Channel::Outlet], "an exchange")?;
    if reason.trim().is_empty() {
        return Err(Refusal::bad_input("reason_required", "say why the card is exchanged (damaged, unreadable, data changed …)"));
    }
    if card.successor.is_some() {
        return Err(Refusal::conflict("replacement_pending", "a new card is already being made for this card"));
    }
    if !HELD.contains(&card.state) || card.pre_loss_in_force(ctx.now).is_some() {
        return Err(state_refusal(card, ctx.now, "an exchange"));
    }
    Ok(())
}

/// R-DIST-1, R-CERT-1: hand-over by the unit or at an outlet. A replacement card is
/// collected with its certificate and the holder's ID (a proxy brings both IDs).
pub fn hand_over(card: &Card, check: &CollectionCheck, ctx: &RuleCtx) -> Result<Vec<CardEvent>, Refusal> {
    channel_allows(ctx, &[Channel::UnitWeb, Channel::Outlet], "handing over a card")?;
    require_state(card, ctx.now, &[CardState::AtDistributor], "a hand-over")?;
    // At the counter the holder shows their ID (a proxy both IDs); a unit hands cards to
    // its own people.
    if ctx.channel == Channel::Outlet {
        if !check.holder_id_matches {
            return Err(Refusal::bad_input("holder_id_mismatch", "the holder's ID number must be presented and match the card"));
        }
        if check.proxy && !check.proxy_id_valid {
            return Err(Refusal::bad_input("proxy_id_required", "a proxy brings their own ID as well as the holder's"));
        }
    }
    if let Some(cert) = &card.certificate {
        if check.certificate_number.as_deref() != Some(cert.number.as_str()) {
            return Err(Refusal::bad_input("certificate_mismatch", "collecting this card needs its certificate (领卡证明); the number given does not match"));
        }
        if !check.holder_id_matches {
            return Err(Refusal::bad_input("holder_id_mismatch", "the ID number presented is not the holder's"));
        }
        if check.proxy && !check.proxy_id_valid {
            return Err(Refusal::bad_input("proxy_id_required", "a proxy brings their own ID as well as the holder's"));
        }
    }
    if let Some(ready) = card.ready_on.filter(|r| *r > ctx.today()) {
        return Err(Refusal::conflict("not_ready", format!("the card is ready for collection on {ready}")));
    }
    Ok(vec![CardEvent::HandedOver { proxy: check.proxy }])
}

/// What was checked at the counter when a card is collected.
#[derive(Debug, Clone, Default)]
pub struct CollectionCheck {
    pub certificate_number: Option<String>,
    pub holder_id_matches: bool,
    pub proxy: bool,
    pub proxy_id_valid: bool,
}

/// R-ACT-1: the social zone starts on first use at an institution, at a bank or an
/// outlet; the financial zone at the bank.
pub fn activate(card: &Card, zone: Zone, ctx: &RuleCtx) -> Result<Vec<CardEvent>, Refusal> {
    match zone {
        Zone::Social => {
            channel_allows(ctx, &[Channel::Institution, Channel::Bank, Channel::Outlet], "starting the social-security zone")?;
            if card.state == CardState::Active {
                return Err(Refusal::conflict("already_active", "the social-security zone is already started"));
            }
            require_state(card, ctx.now, &[CardState::Issued], "starting the social-security zone")?;
        }
        Zone::Financial => {
            channel_allows(ctx, &[Channel::Bank], "activating the financial zone")?;
            if !card.financial {
                return Err(Refusal::bad_input("not_a_financial_card", "this card has no financial zone"));
            }
            if card.financial_zone_active {
                return Err(Refusal::conflict("already_active", "the financial zone is already active"));
            }
            require_state(card, ctx.now, &HELD, "activating the financial zone")?;
            if card.bank_account_opened != Some(true) {
                return Err(Refusal::conflict("bank_account_not_open", "the bank has not opened this card's account"));
            }
        }
    }
    if card.zone_pre_lost(zone, ctx.now) {
        return Err(state_refusal(card, ctx.now, "activation"));
    }
    Ok(vec![CardEvent::ZoneActivated { zone }])
}

/// R-ACT-2: starting a card's social zone (R-ACT-1) stops, in the same transaction,
/// every other card of the person that could settle: the card it takes over from
/// (replacement, exchange, remake, generation upgrade) and any other card whose social
/// zone is started. Every path that starts a social zone (counter, bank, the first
/// swipe at a hospital) calls this, so at no instant may a person hold two cards that
/// settle. `others` are the person's other cards, locked. Returns the card's events and
/// each stopped card as it becomes, with its events.
pub fn start_social_zone(card: &Card, others: &[Card], old_account: AccountChoice, ctx: &RuleCtx) -> Result<StartedZone, Refusal> {
    let events = activate(card, Zone::Social, ctx)?;
    let predecessor = card.origin.predecessor();
    let stopped = others
        .iter()
        .filter(|o| o.id != card.id && (Some(o.id) == predecessor || o.state == CardState::Active))
        .map(|o| {
            let ev = supersede(o, card.id, &card.origin, old_account);
            (ev.iter().fold(o.clone(), crate::card::apply), ev)
        })
        .collect();
    Ok(StartedZone { events, stopped })
}

/// What [`start_social_zone`] decided.
#[derive(Debug, Clone)]
pub struct StartedZone {
    pub events: Vec<CardEvent>,
    pub stopped: Vec<(Card, Vec<CardEvent>)>,
}

/// R-ACT-2: what the predecessor becomes when its successor is activated; an old card
/// with a bank account carries the holder's choice for it to the bank.
pub fn supersede(old: &Card, new_id: i64, origin: &Origin, old_account: AccountChoice) -> Vec<CardEvent> {
    let state = match origin {
        Origin::Exchange { .. } => CardState::Exchanged,
        _ => CardState::Replaced,
    };
    let bank_account = (old.bank_account_opened == Some(true)).then_some(old_account);
    vec![CardEvent::Superseded { by: new_id, state: if old.state.is_alive() { state } else { old.state }, bank_account }]
}

/// R-WRONG-1: a card with wrong printed data goes back through the unit and is made again.
pub fn report_wrong_data(card: &Card, reason: &str, ctx: &RuleCtx) -> Result<Vec<CardEvent>, Refusal> {
    channel_allows(ctx, &[Channel::UnitWeb, Channel::Outlet], "returning a card with wrong data")?;
    if reason.trim().is_empty() {
        return Err(Refusal::bad_input("reason_required", "say what is wrong on the card (photo, name …)"));
    }
    require_state(card, ctx.now, &[CardState::Produced, CardState::AtDistributor, CardState::Issued, CardState::Active], "returning a card with wrong data")?;
    Ok(vec![CardEvent::Cancelled { reason: format!("wrong data: {reason}") }])
}

/// R-SECOND-1: the unit returns a card nobody collected.
pub fn return_to_bureau(card: &Card, ctx: &RuleCtx) -> Result<Vec<CardEvent>, Refusal> {
    channel_allows(ctx, &[Channel::UnitWeb, Channel::Outlet], "returning an uncollected card")?;
    require_state(card, ctx.now, &[CardState::AtDistributor], "returning an uncollected card")?;
    Ok(vec![CardEvent::Returned])
}

/// R-SECOND-1: the holder claims a returned card (at an outlet, or online in the
/// window); ready after the region's days, and collected with the certificate issued now
/// (numbered `certificate_number`), like a replacement's (R-CERT-1).
pub fn second_application(
    card: &Card,
    certificate_number: String,
    delivery: (super::delivery::Delivery, Option<super::delivery::MailAddress>),
    ctx: &RuleCtx,
) -> Result<Vec<CardEvent>, Refusal> {
    channel_allows(ctx, &[Channel::Outlet, Channel::Web], "a second application")?;
    if ctx.channel == Channel::Web {
        check_online_window(ctx)?;
    }
    require_state(card, ctx.now, &[CardState::Returned], "a second application")?;
    let days = ctx.policy.days("card.second_application_days", ctx.today()).map_err(policy)?;
    let ready_on = ctx.today().checked_add_days(Days::new(u64::from(days))).unwrap_or(ctx.today());
    let (delivery, mail_to) = delivery;
    let certificate = Certificate {
        number: certificate_number,
        issued_on: ctx.today(),
        ready_on: Some(ready_on),
        working_days: None,
        awaiting_year: None,
        prints: 1,
        delivery: delivery.way.as_str().into(),
    };
    Ok(vec![CardEvent::SecondApplied { ready_on, certificate: Some(certificate), delivery: Some(delivery), mail_to }])
}

/// R-DEATH-1: on death or moving out of the city the card is cancelled for use (the
/// family may keep it).
pub fn cancel(card: &Card, reason: &str, ctx: &RuleCtx) -> Result<Vec<CardEvent>, Refusal> {
    channel_allows(ctx, &[Channel::Outlet, Channel::Bureau], "cancelling a card")?;
    if !["death", "moved_out"].contains(&reason) {
        return Err(Refusal::bad_input("invalid_reason", "a card is cancelled for death or moved_out"));
    }
    if !card.state.is_alive() {
        return Err(state_refusal(card, ctx.now, "cancelling"));
    }
    Ok(vec![CardEvent::Cancelled { reason: reason.into() }])
}

/// R-INFO-1: a clerk writes the record's data to the card.
pub fn synchronise(card: &Card, record: &PrintedData, ctx: &RuleCtx) -> Result<Vec<CardEvent>, Refusal> {
    channel_allows(ctx, &[Channel::Outlet], "synchronising the card")?;
    if !card.state.is_alive() {
        return Err(state_refusal(card, ctx.now, "synchronising"));
    }
    if !card.out_of_step_with(record) {
        return Err(Refusal::conflict("not_out_of_step", "the card already matches the record"));
    }
    Ok(vec![CardEvent::Synchronised { printed: record.clone() }])
}

/// R-SET-10: whether the card may be used to settle now.
pub fn usable_for_settlement(card: &Card, record: &PrintedData, now: DateTime<Utc>) -> Result<(), Refusal> {
    if card.zone_pre_lost(Zone::Social, now) || card.state != CardState::Active {
        return Err(state_refusal(card, now, "settlement with this card"));
    }
    if card.out_of_step_with(record) {
        return Err(Refusal::conflict("card_out_of_step", "the card's data no longer matches the insurance record; synchronise it at an outlet"));
    }
    Ok(())
}

/// R-PWD-1: the query password may be tried unless today's failures reached the limit.
pub fn password_attempt_allowed(card: &Card, ctx: &RuleCtx) -> Result<u32, Refusal> {
    let max = ctx.policy.count("card.password.max_failures", ctx.today()).map_err(policy)?;
    if card.password.failures_on == Some(ctx.today()) && card.password.failures >= max {
        return Err(Refusal::conflict("password_locked", format!("the query password is locked after {max} wrong tries today; try again tomorrow or reset it at an outlet")));
    }
    Ok(max)
}

/// R-PWD-1: channels that may change the query password, and the one that resets it.
pub fn password_change_allowed(ctx: &RuleCtx, reset: bool) -> Result<(), Refusal> {
    if reset {
        channel_allows(ctx, &[Channel::Outlet], "resetting a forgotten password")
    } else {
        channel_allows(ctx, &[Channel::Outlet, Channel::Hotline, Channel::Kiosk, Channel::Web], "changing the query password")
    }
}

/// A new query password: six digits (what a kiosk keypad and the hotline take).
pub fn check_new_password(p: &str) -> Result<(), Refusal> {
    if p.len() == 6 && p.chars().all(|c| c.is_ascii_digit()) { Ok(()) } else { Err(Refusal::bad_input("invalid_password", "the query password is six digits")) }
}
