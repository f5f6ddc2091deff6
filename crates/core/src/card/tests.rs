use chrono::{DateTime, Utc};

use super::delivery::DeliveryWay;
use super::production::{NewCard, check_first_application, open_card, record_production};
use super::rules::*;
use super::*;
use crate::access::Channel;
use crate::calendar::WorkingCalendar;
use crate::policy::PolicySet;
use crate::registry::{Category, PersonFlag};

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().to_utc()
}

struct World {
    policies: PolicySet,
    calendar: WorkingCalendar,
}

impl World {
    fn new() -> Self {
        World { policies: PolicySet::shipped().unwrap(), calendar: WorkingCalendar::shipped().unwrap() }
    }
    fn ctx(&self, region: &str, now: &str, channel: Channel) -> RuleCtx<'_> {
        RuleCtx { policy: self.policies.region(region).unwrap(), calendar: &self.calendar, now: t(now), channel }
    }
}

fn printed() -> PrintedData {
    PrintedData { name: "张三".into(), category: Category::InService, flags: vec![], ssn: Some("11010519491231002X".into()) }
}

/// A Beijing card already handed over and active.
fn active_card(w: &World, financial: bool) -> Card {
    let ctx = w.ctx("beijing", "2026-03-01T10:00:00+08:00", Channel::Outlet);
    let (mut card, _) = open_card(
        NewCard {
            person_hash: "p".into(),
            region: "beijing".into(),
            generation: 3,
            financial,
            origin: Origin::FirstIssue { unit: None },
            printed: printed(),
            ready_on: None,
            fee_fen: 0,
            certificate: None,
            applied_at_bank: None,
            delivery: None,
            mail_to: None,
        },
        &ctx,
    )
    .unwrap();
    card.id = 1;
    for e in [
        CardEvent::AssignedToBatch { batch_id: 1 },
        CardEvent::Produced { card_number: "F41665315".into(), identification_code: "110000D15600000500000000000000AB".into() },
        CardEvent::Dispatched { hand_out_by: None },
        CardEvent::HandedOver { proxy: false },
        CardEvent::ZoneActivated { zone: Zone::Social },
    ] {
        card = apply(card, &e);
    }
    card
}

fn run(card: Card, events: Vec<CardEvent>) -> Card {
    events.iter().fold(card, apply)
}

#[test]
fn r_loss_2_r_cal_3_pre_loss_lifts_by_itself_after_ten_calendar_days() {
    let w = World::new();
    let card = active_card(&w, false);
    let ctx = w.ctx("beijing", "2026-03-02T10:00:00+08:00", Channel::Hotline);
    let card = run(card.clone(), report_pre_loss(&card, None, &ctx).unwrap());
    let until = card.pre_loss_in_force(t("2026-03-02T10:00:00+08:00")).unwrap().until;
    assert_eq!(until, t("2026-03-12T10:00:00+08:00"), "R-CAL-3: calendar days, to the minute");
    assert_eq!(card.reported_state(t("2026-03-12T09:59:59+08:00")), "pre_lost");
    assert_eq!(card.reported_state(t("2026-03-12T10:00:00+08:00")), "active");
    assert!(usable_for_settlement(&card, &printed(), t("2026-03-05T10:00:00+08:00")).is_err());
    assert!(usable_for_settlement(&card, &printed(), t("2026-03-12T10:00:00+08:00")).is_ok());
}

#[test]
fn r_loss_2_jinan_lasts_seven_days_and_reports_zones_separately() {
    let w = World::new();
    let mut card = active_card(&w, true);
    card.region = "jinan".into();
    let ctx = w.ctx("jinan", "2026-03-02T10:00:00+08:00", Channel::Outlet);
    assert_eq!(report_pre_loss(&card, None, &ctx).unwrap_err().code, "zone_required");
    let card = run(card.clone(), report_pre_loss(&card, Some(Zone::Financial), &ctx).unwrap());
    assert!(card.zone_pre_lost(Zone::Financial, t("2026-03-08T10:00:00+08:00")));
    assert!(!card.zone_pre_lost(Zone::Financial, t("2026-03-09T10:00:00+08:00")));
    assert!(!card.zone_pre_lost(Zone::Social, t("2026-03-03T10:00:00+08:00")), "the social zone still works");
}

#[test]
fn r_loss_2_revocation_only_at_an_outlet() {
    let w = World::new();
    let card = active_card(&w, false);
    let ctx = w.ctx("beijing", "2026-03-02T10:00:00+08:00", Channel::Kiosk);
    let card = run(card.clone(), report_pre_loss(&card, None, &ctx).unwrap());
    assert_eq!(revoke_pre_loss(&card, None, &ctx).unwrap_err().code, "not_allowed_on_channel");
    let outlet = w.ctx("beijing", "2026-03-03T10:00:00+08:00", Channel::Outlet);
    let card = run(card.clone(), revoke_pre_loss(&card, None, &outlet).unwrap());
    assert_eq!(card.reported_state(t("2026-03-03T10:00:01+08:00")), "active");
    assert_eq!(revoke_pre_loss(&card, None, &outlet).unwrap_err().code, "not_pre_lost");
}

#[test]
fn r_loss_3_formal_loss_is_final() {
    let w = World::new();
    let card = active_card(&w, false);
    let hotline = w.ctx("beijing", "2026-03-02T10:00:00+08:00", Channel::Hotline);
    assert_eq!(formal_loss(&card, false, &hotline).unwrap_err().code, "not_allowed_on_channel");
    let outlet = w.ctx("beijing", "2026-03-02T10:00:00+08:00", Channel::Outlet);
    let card = run(card.clone(), formal_loss(&card, true, &outlet).unwrap());
    assert_eq!(card.state, CardState::Lost);
    assert_eq!(report_pre_loss(&card, None, &outlet).unwrap_err().code, "card_lost");
    assert_eq!(revoke_pre_loss(&card, None, &outlet).unwrap_err().code, "card_lost");
    assert_eq!(activate(&card, Zone::Social, &w.ctx("beijing", "2026-03-02T10:00:00+08:00", Channel::Institution)).unwrap_err().code, "card_lost");
    assert_eq!(usable_for_settlement(&card, &printed(), t("2027-01-01T00:00:00Z")).unwrap_err().code, "card_lost");
}

/// R-CAL-2: a formal loss whose ready date falls in a year the calendar lacks is not
/// refused: the certificate is issued now without a date, awaiting that year, and the
/// date is counted from the issue day once the year is loaded.
#[test]
fn r_cal_2_a_loss_is_never_refused_for_want_of_a_calendar_year() {
    let w = World::new();
    let ctx = w.ctx("beijing", "2026-12-01T10:00:00+08:00", Channel::Outlet);
    let card = active_card(&w, true);
    let lost = formal_loss(&card, false, &ctx).unwrap();
    assert!(!lost.is_empty(), "the loss itself takes effect");
    let terms = successor_terms(&card, DeliveryWay::Outlet, "C9".into(), &ctx).unwrap();
    assert_eq!(terms.ready_on, None, "no date is guessed");
    assert_eq!(terms.certificate.working_days, Some(35));
    assert_eq!(terms.certificate.awaiting_year, Some(2027));
    let (new, event) = crate::card::production::open_card(
        crate::card::production::NewCard {
            person_hash: "p".into(),
            region: "beijing".into(),
            generation: 3,
            financial: true,
            origin: Origin::Replacement { of: card.id },
            printed: printed(),
            ready_on: terms.ready_on,
            fee_fen: terms.fee_fen,
            certificate: Some(terms.certificate),
            applied_at_bank: None,
            delivery: None,
            mail_to: None,
        },
        &ctx,
    )
    .unwrap();
    let new = run(new, vec![event]);
    assert_eq!(count_ready_date(&new, &w.calendar), None, "nothing to count while 2027 is missing");
    let mut loaded = w.calendar.clone();
    loaded.insert(crate::calendar::CalendarYear::parse("2027.toml", "year = 2027\nsource = \"test\"\nholidays = [2027-01-01]\nworkdays = []\n").unwrap());
    let counted = run(new.clone(), count_ready_date(&new, &loaded).unwrap());
    let want = loaded.add_working_days("2026-12-01".parse().unwrap(), 35).unwrap();
    assert_eq!((counted.ready_on, counted.certificate.as_ref().unwrap().ready_on, counted.certificate.as_ref().unwrap().awaiting_year), (Some(want), Some(want), None));
    assert_eq!(count_ready_date(&counted, &loaded), None, "counted once");
}

#[test]
fn r_loss_4_and_5_replacement_terms_follow_policy_and_calendar() {
    let w = World::new();
    let ctx = w.ctx("beijing", "2026-09-28T10:00:00+08:00", Channel::Outlet);
    let ordinary = successor_terms(&active_card(&w, false), DeliveryWay::Outlet, "C1".into(), &ctx).unwrap();
    assert_eq!(ordinary.ready_on.unwrap().to_string(), "2026-10-23", "R-CAL-1: 15 working days");
    assert_eq!(ordinary.fee_fen, 2000);
    assert_eq!(ordinary.certificate.ready_on, ordinary.ready_on);
    let financial = successor_terms(&active_card(&w, true), DeliveryWay::Mail, "C2".into(), &ctx).unwrap();
    assert_eq!(financial.ready_on.unwrap().to_string(), "2026-11-20", "35 working days");
    assert_eq!(DeliveryWay::parse("drone").unwrap_err().code, "invalid_delivery");
    // Jinan's file has no replacement numbers: refused, naming the parameter.
    let jinan = w.ctx("jinan", "2026-09-28T10:00:00+08:00", Channel::Outlet);
    let e = successor_terms(&active_card(&w, false), DeliveryWay::Outlet, "C4".into(), &jinan).unwrap_err();
    assert_eq!(e.code, "policy_not_in_force");
    assert!(e.message.contains("card.production_working_days.ordinary"), "{}", e.message);
}

#[test]
fn r_online_1_window_days_and_hours() {
    let w = World::new();
    let card = active_card(&w, false);
    let pre = run(card.clone(), report_pre_loss(&card, None, &w.ctx("beijing", "2026-03-02T10:00:00+08:00", Channel::Web)).unwrap());
    let at = |s: &str| w.ctx("beijing", s, Channel::Web);
    assert_eq!(online_replacement(&pre, &at("2026-03-04T10:00:00+08:00")).unwrap_err().code, "outside_online_window");
    assert_eq!(online_replacement(&pre, &at("2026-03-05T05:59:00+08:00")).unwrap_err().code, "outside_online_window");
    assert_eq!(online_replacement(&pre, &at("2026-03-05T22:00:00+08:00")).unwrap_err().code, "outside_online_window");
    assert!(online_replacement(&pre, &at("2026-03-05T06:00:00+08:00")).is_ok());
    assert!(online_replacement(&pre, &at("2026-03-31T21:59:00+08:00")).is_err(), "pre-loss lifted on 03-12");
    assert_eq!(online_replacement(&card, &at("2026-03-06T10:00:00+08:00")).unwrap_err().code, "not_pre_lost");
    assert_eq!(online_replacement(&pre, &w.ctx("beijing", "2026-03-06T10:00:00+08:00", Channel::Outlet)).unwrap_err().code, "not_allowed_on_channel");
}

#[test]
fn r_act_1_zones_start_on_their_channels() {
    let w = World::new();
    let mut card = active_card(&w, true);
    card.state = CardState::Issued;
    card.social_zone_active = false;
    assert_eq!(activate(&card, Zone::Social, &w.ctx("beijing", "2026-03-02T10:00:00+08:00", Channel::Hotline)).unwrap_err().code, "not_allowed_on_channel");
    let card2 = run(card.clone(), activate(&card, Zone::Social, &w.ctx("beijing", "2026-03-02T10:00:00+08:00", Channel::Institution)).unwrap());
    assert_eq!(card2.state, CardState::Active);
    let bank = w.ctx("beijing", "2026-03-02T10:00:00+08:00", Channel::Bank);
    assert_eq!(activate(&card2, Zone::Financial, &bank).unwrap_err().code, "bank_account_not_open");
    let card3 = run(card2, vec![CardEvent::BankAccountOpened]);
    assert!(activate(&card3, Zone::Financial, &bank).is_ok());
    assert_eq!(activate(&card3, Zone::Financial, &w.ctx("beijing", "2026-03-02T10:00:00+08:00", Channel::Institution)).unwrap_err().code, "not_allowed_on_channel");
}

#[test]
fn r_info_1_out_of_step_blocks_settlement_until_synchronised() {
    let w = World::new();
    let card = active_card(&w, false);
    let retired = PrintedData { category: Category::Retired, ..printed() };
    assert!(card.out_of_step_with(&retired));
    assert_eq!(usable_for_settlement(&card, &retired, t("2026-03-02T10:00:00Z")).unwrap_err().code, "card_out_of_step");
    let ctx = w.ctx("beijing", "2026-03-02T10:00:00+08:00", Channel::Outlet);
    let card = run(card.clone(), synchronise(&card, &retired, &ctx).unwrap());
    assert!(usable_for_settlement(&card, &retired, t("2026-03-02T10:00:00Z")).is_ok());
    assert_eq!(synchronise(&card, &retired, &ctx).unwrap_err().code, "not_out_of_step");
}

#[test]
fn r_pwd_1_lock_after_the_policy_number_of_failures_for_the_day() {
    let w = World::new();
    let mut card = active_card(&w, false);
    let ctx = w.ctx("beijing", "2026-03-02T10:00:00+08:00", Channel::Kiosk);
    for _ in 0..5 {
        assert!(password_attempt_allowed(&card, &ctx).is_ok());
        card = apply(card, &CardEvent::PasswordFailed { on: ctx.today() });
    }
    assert_eq!(password_attempt_allowed(&card, &ctx).unwrap_err().code, "password_locked");
    assert!(password_attempt_allowed(&card, &w.ctx("beijing", "2026-03-03T00:00:00+08:00", Channel::Kiosk)).is_ok(), "next day");
    assert_eq!(password_change_allowed(&ctx, true).unwrap_err().code, "not_allowed_on_channel");
    assert!(password_change_allowed(&ctx, false).is_ok());
}

#[test]
fn r_app_4_one_card_per_person_and_vendor_results_checked() {
    let w = World::new();
    let card = active_card(&w, false);
    assert_eq!(check_first_application(std::slice::from_ref(&card), 3).unwrap_err().code, "already_holds_card");
    assert!(check_first_application(std::slice::from_ref(&card), 4).is_ok(), "a newer generation is an upgrade");
    let mut in_prod = card.clone();
    in_prod.state = CardState::InProduction;
    let vendor = w.ctx("beijing", "2026-03-02T10:00:00+08:00", Channel::Vendor);
    assert_eq!(record_production(&in_prod, Ok(("bad".into(), "x".into())), &vendor).unwrap_err().code, "invalid_card_number");
    let failed = run(in_prod.clone(), record_production(&in_prod, Err("chip defect".into()), &vendor).unwrap());
    assert_eq!((failed.state, failed.failure_reason.as_deref()), (CardState::ProductionFailed, Some("chip defect")));
}

/// One step of a random command sequence: hours later, which card (modulo their
/// number), through which channel, which command.
type Step = (i64, usize, usize, u8);

fn steps() -> impl proptest::strategy::Strategy<Value = Vec<Step>> {
    use proptest::prelude::*;
    proptest::collection::vec((1..=72i64, any::<usize>(), 0..8usize, 0..9u8), 60)
}

proptest::proptest! {
    #![proptest_config(proptest::test_runner::Config { cases: 300, failure_persistence: None, ..Default::default() })]

    /// Random command sequences on one person's cards never revive a lost card and
    /// never leave two working cards (proptest shrinks a failing sequence to its core).
    #[test]
    fn property_random_commands_keep_the_card_invariants(financial in proptest::prelude::any::<bool>(), steps in steps()) {
        random_commands_keep_the_card_invariants(financial, &steps);
    }
}

fn random_commands_keep_the_card_invariants(financial: bool, steps: &[Step]) {
    let w = World::new();
    {
        let mut cards = vec![active_card(&w, financial)];
        let mut now = t("2026-03-02T10:00:00+08:00");
        let channels = [Channel::Outlet, Channel::Hotline, Channel::Kiosk, Channel::Web, Channel::Institution, Channel::Bank, Channel::Vendor, Channel::Bureau];
        for (step, &(hours, which, channel, command)) in steps.iter().enumerate() {
            now += chrono::Duration::hours(hours);
            let i = which % cards.len();
            let channel = channels[channel];
            let ctx = RuleCtx { policy: w.policies.region("beijing").unwrap(), calendar: &w.calendar, now, channel };
            let card = cards[i].clone();
            let was_lost = card.state == CardState::Lost;
            let result = match command {
                0 => report_pre_loss(&card, None, &ctx),
                1 => revoke_pre_loss(&card, None, &ctx),
                2 => formal_loss(&card, false, &ctx),
                3 => request_exchange(&card, "damaged", &ctx).map(|()| vec![]),
                4 => activate(&card, Zone::Social, &ctx),
                5 => hand_over(
                    &card,
                    &rules::CollectionCheck { certificate_number: card.certificate.as_ref().map(|c| c.number.clone()), holder_id_matches: true, ..Default::default() },
                    &ctx,
                ),
                6 => super::production::dispatch(&card, &ctx),
                7 => record_production(&card, Ok(("F41665315".into(), "110000D15600000500000000000000AB".into())), &ctx),
                _ => super::production::assign_to_batch(&card, 1, &ctx),
            };
            let Ok(events) = result else { continue };
            let mut updated = run(card.clone(), events.clone());
            // A formal loss or an exchange opens a successor, as the service does.
            let opens_successor =
                events.iter().any(|e| matches!(e, CardEvent::FormallyLost { .. })) || (events.is_empty() && updated.successor.is_none() && updated.state.is_alive());
            if opens_successor && updated.successor.is_none() {
                let terms = successor_terms(&updated, DeliveryWay::Outlet, format!("C{}", cards.len()), &ctx).unwrap();
                let origin = if updated.state == CardState::Lost { Origin::Replacement { of: updated.id } } else { Origin::Exchange { of: updated.id, reason: "damaged".into() } };
                let (mut new, _) = open_card(
                    NewCard {
                        person_hash: "p".into(),
                        region: "beijing".into(),
                        generation: 3,
                        financial: updated.financial,
                        origin,
                        printed: printed(),
                        ready_on: terms.ready_on,
                        fee_fen: terms.fee_fen,
                        certificate: Some(terms.certificate),
                        applied_at_bank: None,
                        delivery: None,
                        mail_to: None,
                    },
                    &ctx,
                )
                .unwrap();
                new.id = cards.len() as i64 + 1;
                updated = apply(updated, &CardEvent::SuccessorApplied { successor: new.id });
                cards.push(new);
            }
            // Activation of a successor supersedes its predecessor at once (R-ACT-2).
            if events.iter().any(|e| matches!(e, CardEvent::ZoneActivated { zone: Zone::Social }))
                && let Some(of) = updated.origin.predecessor()
            {
                let j = cards.iter().position(|c| c.id == of).unwrap();
                let old = cards[j].clone();
                cards[j] = run(old.clone(), supersede(&old, updated.id, &updated.origin, crate::card::AccountChoice::Keep));
            }
            cards[i] = updated;
            assert!(!was_lost || cards[i].state == CardState::Lost, "a lost card never comes back");
            let working = cards.iter().filter(|c| c.is_working()).count();
            assert!(working <= 1, "step {step}: {working} working cards");
        }
    }
}

/// A first card applied for through unit U1 in Beijing.
fn unit_applied_card(w: &World) -> Card {
    let ctx = w.ctx("beijing", "2026-03-01T10:00:00+08:00", Channel::Outlet);
    let new = NewCard {
        person_hash: "p".into(),
        region: "beijing".into(),
        generation: 3,
        financial: false,
        origin: Origin::FirstIssue { unit: Some("U1".into()) },
        printed: printed(),
        ready_on: None,
        fee_fen: 0,
        certificate: None,
        applied_at_bank: None,
        delivery: None,
        mail_to: None,
    };
    open_card(new, &ctx).unwrap().0
}

#[test]
fn r_gen_1_an_upgrade_is_not_held_back_by_the_older_working_card() {
    use super::production::{HolderNow, batch_exclusion};
    let w = World::new();
    let card = unit_applied_card(&w);
    let snapshot = t("2026-03-02T00:00:00+08:00");
    let insured = t("2020-01-01T00:00:00Z");
    let flags: Vec<PersonFlag> = vec![PersonFlag::GenerationUpgrade];
    let holder = |flags: &'static [PersonFlag]| HolderNow {
        ssn: "11010519491231002X",
        insured_at: insured,
        flags,
        unit_code: Some("U1"),
        name: &card.printed.name,
        has_photo: true,
        card_elsewhere: None,
    };
    let upgrade = flags.leak();
    assert_eq!(batch_exclusion(&card, &holder(&[]), (snapshot, snapshot), true, false).as_deref(), Some("already holds a working card"));
    assert_eq!(batch_exclusion(&card, &holder(upgrade), (snapshot, snapshot), true, false), None);
    assert!(check_first_application(std::slice::from_ref(&active_card(&w, false)), 4).is_ok(), "a newer generation may be applied for");
}

#[test]
fn r_app_4_a_cut_leaves_out_who_left_the_unit_changed_name_or_has_no_photo() {
    use super::production::{HolderNow, batch_exclusion};
    let w = World::new();
    let card = unit_applied_card(&w);
    let snapshot = t("2026-03-02T00:00:00+08:00");
    let name = card.printed.name.clone();
    let now = |unit: Option<&'static str>, name: &str, has_photo: bool| {
        batch_exclusion(
            &card,
            &HolderNow { ssn: "11010519491231002X", insured_at: t("2020-01-01T00:00:00Z"), flags: &[], unit_code: unit, name, has_photo, card_elsewhere: None },
            (snapshot, snapshot),
            false,
            true,
        )
    };
    assert_eq!(now(Some("U1"), &name, true), None);
    assert!(now(Some("U2"), &name, true).is_some_and(|r| r.contains("left unit U1") && r.contains("减员")));
    assert!(now(None, &name, true).is_some_and(|r| r.contains("left unit U1")));
    assert!(now(Some("U1"), "改名", true).is_some_and(|r| r.contains("name was changed")));
    assert!(now(Some("U1"), &name, false).is_some_and(|r| r.contains("no usable photo")));
    let corrected = batch_exclusion(
        &card,
        &HolderNow { ssn: "11010219900307123X", insured_at: t("2020-01-01T00:00:00Z"), flags: &[], unit_code: Some("U1"), name: &name, has_photo: true, card_elsewhere: None },
        (snapshot, snapshot),
        false,
        false,
    );
    assert!(corrected.is_some_and(|r| r.contains("ID number was corrected")), "R-APP-4: the number changed after the application");
    let elsewhere = batch_exclusion(
        &card,
        &HolderNow {
            ssn: "11010519491231002X",
            insured_at: t("2020-01-01T00:00:00Z"),
            flags: &[],
            unit_code: Some("U1"),
            name: &name,
            has_photo: true,
            card_elsewhere: Some("370200"),
        },
        (snapshot, snapshot),
        false,
        false,
    );
    assert!(elsewhere.is_some_and(|r| r.contains("370200") && r.contains("province")));
    assert_eq!(
        batch_exclusion(
            &card,
            &HolderNow { ssn: "11010519491231002X", insured_at: t("2020-01-01T00:00:00Z"), flags: &[], unit_code: Some("U1"), name: &name, has_photo: false, card_elsewhere: None },
            (snapshot, snapshot),
            false,
            false
        ),
        None,
        "the region's switch off: no photo needed"
    );
}

#[test]
fn r_evt_1_a_pre_loss_gives_its_blocking_now_and_its_lifting_at_its_end() {
    use super::notices::{Change, notices_of, withdrawn_by};
    let w = World::new();
    let card = active_card(&w, true);
    let at = t("2026-03-02T10:00:00+08:00");
    let events = report_pre_loss(&card, None, &w.ctx("beijing", "2026-03-02T10:00:00+08:00", Channel::Hotline)).unwrap();
    let notices = notices_of(&card, &events[0], at);
    assert_eq!(notices.len(), 2, "{notices:?}");
    assert_eq!((notices[0].topic, notices[0].due, notices[0].lifts), ("card.blocked", at, None));
    assert_eq!(notices[0].notice.card_number.as_deref(), Some("F41665315"), "a party knows the card by its number");
    let until = t("2026-03-12T10:00:00+08:00");
    assert_eq!((notices[1].topic, notices[1].due, notices[1].lifts), ("card.unblocked", until, Some("card")), "due at the pre-loss's end");
    assert_eq!(notices[1].notice.change, Change::PreLossLifted { zone: None, until });
    // The revocation withdraws the whole card's pending lifting; a zone's pre-loss only its zone's.
    assert_eq!(withdrawn_by(&CardEvent::PreLossRevoked { zone: None, at }), &["card"]);
    assert_eq!(withdrawn_by(&CardEvent::PreLossReported { since: at, until, zone: Some(Zone::Financial) }), &["financial"]);
    assert_eq!(withdrawn_by(&CardEvent::Cancelled { reason: "death".into() }).len(), 3, "a final change withdraws every one");
    assert!(withdrawn_by(&CardEvent::ZoneActivated { zone: Zone::Financial }).is_empty());
    let activated = notices_of(&card, &CardEvent::ZoneActivated { zone: Zone::Financial }, at);
    assert_eq!(activated.iter().map(|n| n.topic).collect::<Vec<_>>(), ["card.financial_activated"], "the bank hears of the financial zone's activation");
    assert!(notices_of(&card, &CardEvent::CertificateReprinted, at).is_empty(), "a change that decides nothing of use gives none");
}
