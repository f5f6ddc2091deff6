//! The parameters a region file may hold, and the unit each is written in. The names are
//! code (a rule asks for a parameter by name); the numbers are data (the region files).
//!
//! A pattern's `{category}` and `{level}` stand for the listed segments, so that a typo
//! such as `outpatient.deductible.retird` is an unknown key, not a silently ignored one.

/// The unit a parameter's values are written in; the key of the value inside each entry
/// (`{ from = 2001-04-01, fen = 180000, source = "…" }`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Money in fen (分).
    Fen,
    /// Calendar days (R-CAL-3).
    Days,
    /// Working days of the official calendar (R-CAL-1).
    WorkingDays,
    /// A ratio in basis points, 10 000 = 100 %.
    Bp,
    /// A whole number of things (attempts, rows).
    Count,
    /// A day of the month, 1-31.
    DayOfMonth,
    /// A time of day in business time, written as a TOML local time (`06:00:00`).
    ClockTime,
    /// An age in whole years.
    Years,
    /// Minutes of the clock (how long a code stays valid).
    Minutes,
    /// On or off.
    Flag,
    /// One of the funds behind a receipt (`basic`, `large_amount`, …; R-SET-3).
    Fund,
    /// A rule written in words, for a clerk to apply.
    Text,
}

impl Unit {
    pub fn key(self) -> &'static str {
        match self {
            Unit::Fen => "fen",
            Unit::Days => "days",
            Unit::WorkingDays => "working_days",
            Unit::Bp => "bp",
            Unit::Count => "count",
            Unit::DayOfMonth => "day_of_month",
            Unit::ClockTime => "time",
            Unit::Years => "years",
            Unit::Minutes => "minutes",
            Unit::Flag => "flag",
            Unit::Fund => "fund",
            Unit::Text => "text",
        }
    }

    pub const ALL: [Unit; 12] =
        [Unit::Fen, Unit::Days, Unit::WorkingDays, Unit::Bp, Unit::Count, Unit::DayOfMonth, Unit::ClockTime, Unit::Years, Unit::Minutes, Unit::Flag, Unit::Fund, Unit::Text];
}

/// Insurance categories as they appear in parameter names.
pub const CATEGORIES: [&str; 5] = ["in_service", "retired", "retired_70_plus", "resident", "flexible"];
/// Institution kinds and levels as they appear in parameter names. `hospital` is any
/// level-1+ hospital where a region does not distinguish levels.
pub const LEVELS: [&str; 6] = ["community", "hospital", "level_1", "level_2", "level_3", "pharmacy"];
/// Credentials a hospital reads (`mdtrt_cert_type` 03, 01, 02) as they appear in
/// parameter names.
pub const CREDENTIALS: [&str; 3] = ["card", "voucher", "id_card"];
/// Age bands used by caps.
pub const AGE_BANDS: [&str; 2] = ["under_45", "from_45"];
/// Age bands used by retirees' account credits.
pub const AGE70_BANDS: [&str; 2] = ["under_70", "from_70"];
/// Funds that share the ratio payment above the deductible (R-SET-3).
pub const RATIO_FUNDS: [&str; 3] = ["basic", "large_amount", "retiree_supplementary"];
/// Every fund behind a receipt (R-SET-3).
pub const FUNDS: [&str; 5] = ["basic", "large_amount", "retiree_supplementary", "civil_servant", "disabled_veteran"];
/// Institution classes a region may open to all holders (R-SET-12): A-class (A类),
/// traditional Chinese medicine (中医) and specialty (专科) hospitals.
/// The channels whose payment methods a region's file lists (001: the outlet and the
/// web platform take WeChat or Alipay, the 12333 app and official account a UnionPay
/// card).
pub const PAYMENT_CHANNELS: [&str; 5] = ["outlet", "web", "app", "unit_web", "bank"];
pub const INSTITUTION_CLASSES: [&str; 3] = ["a_class", "tcm", "specialty"];
/// Person flags whose self-pay 1 a subsidy fund shares (R-SET-3).
pub const SUBSIDISED: [&str; 2] = ["disabled_veteran", "civil_servant"];

/// (pattern, unit, what it means).
pub const PARAMETERS: &[(&str, Unit, &str)] = &[
    ("card.pre_loss_days", Unit::Days, "R-LOSS-2: days a pre-loss stays in force before it lifts by itself"),
    ("card.pre_loss_separate_zones", Unit::Flag, "R-LOSS-1 (Jinan): social and financial zones are reported lost separately"),
    ("card.formal_loss_at_bank", Unit::Flag, "Jinan: formal loss may also be reported at any bank outlet"),
    ("card.immediate_replacement", Unit::Flag, "002 (Jinan): outlets that make cards on the spot (kind instant_issue) replace a lost card while the holder waits"),
    ("card.financial_loss_at_bank", Unit::Flag, "R-LOSS-1 (Jinan): the financial zone's temporary loss is reported to the bank and lifted at a bank outlet"),
    ("card.replacement_fee", Unit::Fen, "R-LOSS-5: 工本费 for a replacement or exchange"),
    ("card.production_working_days.ordinary", Unit::WorkingDays, "R-LOSS-4: working days until a replacement ordinary card is ready"),
    ("card.production_working_days.financial", Unit::WorkingDays, "R-LOSS-4: working days until a replacement financial card is ready"),
    ("card.production_due_days", Unit::Days, "R-APP-3: days within which a unit's batch must be produced"),
    ("card.second_application_days", Unit::Days, "R-SECOND-1: days until a second application's card is ready"),
    ("card.distribution_days", Unit::Days, "R-DIST-1: days within which a unit hands produced cards to holders"),
    ("card.first_issue_fee", Unit::Fen, "R-APP-1: fee for the first card"),
    ("card.current_generation", Unit::Count, "R-GEN-1: the generation new applications are made in"),
    ("card.phone_required", Unit::Flag, "Qinhuangdao (003 §5): an application needs the person's phone number"),
    ("card.late_collection_fee", Unit::Fen, "Qinhuangdao (003 §5): the card's cost, paid by a unit that applies after the batch its people were collected for"),
    ("card.snapshot.month", Unit::Count, "R-APP-2: the month of the insurance data a batch is cut from (with card.snapshot.day)"),
    ("card.snapshot.day", Unit::DayOfMonth, "R-APP-2: the day of the insurance data a batch is cut from"),
    ("card.photo_required_before_production", Unit::Flag, "R-APP-4: a person with no usable photo on record is left out of production batches"),
    ("card.pilot.units_only", Unit::Flag, "R-GEN-1: while a pilot is in force, cards are applied for by units only (no one applies alone)"),
    ("card.pilot.districts", Unit::Text, "R-GEN-1: a pilot's districts, 6-digit division codes, comma-separated (empty: the whole region)"),
    ("card.pilot.categories", Unit::Text, "R-GEN-1: a pilot's insurance categories, comma-separated (empty: everyone)"),
    ("card.mail_delivery_fee", Unit::Fen, "R-LOSS-5: delivery by mail of an online application"),
    ("card.first_issue_mail_fee", Unit::Fen, "R-DIST-1: delivery by mail of a first or upgrade card (a region that mails first cards gives it, 0 when free)"),
    (
        "card.delivery_ways.first_issue",
        Unit::Text,
        "R-DIST-1: ways a first or upgrade card may reach its holder besides its default (the unit's, or the outlet), comma-separated: unit, outlet, mail, bank",
    ),
    ("card.delivery_ways.successor", Unit::Text, "R-LOSS-5: ways a replacement, exchange or second-application card may reach its holder besides the outlet, comma-separated"),
    (
        "card.payment_methods.{payment_channel}",
        Unit::Text,
        "001: how card and delivery fees are paid on the channel, comma-separated, the first the default: wechat, alipay, unionpay_card, cash, bank_transfer",
    ),
    ("card.online_window.first_day", Unit::DayOfMonth, "R-ONLINE-1: first day of the month online applications open"),
    ("card.online_window.opens", Unit::ClockTime, "R-ONLINE-1: daily opening time of online applications"),
    ("card.online_window.closes", Unit::ClockTime, "R-ONLINE-1: daily closing time of online applications"),
    ("card.password.max_failures", Unit::Count, "R-PWD-1: wrong query passwords in a day before the password locks"),
    ("comparison_required_before_production", Unit::Flag, "R-CMP-3: only compared persons may go into production"),
    ("comparison.in_scope.{category}", Unit::Flag, "R-CMP-4: whether persons of the category are compared with the registry"),
    ("photo.size", Unit::Text, "R-CMP-5: photo size"),
    ("photo.rules", Unit::Text, "R-CMP-5: photo rules a clerk confirms"),
    ("photo.formats", Unit::Text, "R-CMP-5: accepted file formats, comma-separated (jpeg, png)"),
    ("photo.min_width_px", Unit::Count, "R-CMP-5: least width in pixels"),
    ("photo.min_height_px", Unit::Count, "R-CMP-5: least height in pixels"),
    ("photo.aspect_min", Unit::Bp, "R-CMP-5: least width / height, in basis points"),
    ("photo.aspect_max", Unit::Bp, "R-CMP-5: greatest width / height, in basis points"),
    ("photo.background_min_brightness", Unit::Count, "R-CMP-5: least mean brightness (0-255) of the photo's border, for a white background"),
    ("outpatient.deductible.{category}", Unit::Fen, "R-SET-2: outpatient deductible per calendar year, by category"),
    ("outpatient.deductible.{level}", Unit::Fen, "R-SET-2: outpatient deductible per calendar year, by institution level"),
    ("outpatient.fund_ratio.{category}", Unit::Bp, "share the fund pays above the deductible, by category"),
    ("outpatient.fund_ratio.{level}", Unit::Bp, "share the fund pays above the deductible, by institution level"),
    ("outpatient.fund_ratio.{category}.{level}", Unit::Bp, "share the fund pays above the deductible, by category and level"),
    ("outpatient.annual_fund_cap.{category}", Unit::Fen, "annual outpatient fund cap, by category"),
    ("outpatient.annual_fund_cap.{category}.{age_band}", Unit::Fen, "annual outpatient fund cap, by category and age band"),
    ("outpatient.insured_amount_limit.{category}", Unit::Fen, "insured amount per year above the deductible within which the ratio applies"),
    ("outpatient.ratio_fund", Unit::Fund, "R-SET-3: the fund that pays the ratio above the deductible, less the other funds' shares (basic when absent)"),
    (
        "outpatient.fund_share.{ratio_fund}.{category}",
        Unit::Bp,
        "R-SET-3: part of the ratio, as a share of the insured amount above the deductible, a fund other than the ratio fund pays",
    ),
    ("outpatient.fund_share.{ratio_fund}.{category}.{level}", Unit::Bp, "R-SET-3: the same by institution level"),
    ("outpatient.fund_cap.{fund}.{category}", Unit::Fen, "R-SET-3: a fund's own yearly cap for the category (what it cannot pay is the holder's self-pay 1)"),
    (
        "outpatient.self_pay_subsidy.{subsidised}",
        Unit::Bp,
        "R-SET-3: share of a flagged person's ratio share (the insured amount above the deductible the ratio leaves to the holder, caps aside) that the subsidy fund pays",
    ),
    ("outpatient.retired_70_plus_from_age", Unit::Years, "age from which a retiree is settled with the retired_70_plus values"),
    ("outpatient.age_band_from_45_age", Unit::Years, "age from which the from_45 band of the caps applies"),
    ("account.age_band_from_70_age", Unit::Years, "R-ACC-1: age from which a retiree's credit is the from_70 amount"),
    ("outpatient.class_b_self_pay", Unit::Bp, "R-SET-3: self-pay 2 share of a class-B item"),
    ("outpatient.diagnosis_fee_fund_payment", Unit::Fen, "R-SET-4: fixed fund payment of the outpatient diagnosis fee"),
    ("settlement.voucher_minutes", Unit::Minutes, "R-SET-11: minutes an electronic voucher's code stays valid for its visit"),
    ("settlement.realtime_credential.{credential}", Unit::Flag, "R-SET-11: whether a visit registered with the credential settles in real time (2206/2207)"),
    (
        "cross_region.without_filing",
        Unit::Text,
        "R-XREG-1: the regions (division codes, comma-separated) whose institutions settle this region's holders without a prior filing (备案)",
    ),
    ("settlement.designated.restricts", Unit::Flag, "R-SET-12: whether a holder's recorded designated institutions restrict real-time settlement to them"),
    ("settlement.designated.max_choices", Unit::Count, "R-SET-12: how many designated institutions a holder may choose"),
    ("settlement.designated.open_to_all.{institution_class}", Unit::Flag, "R-SET-12: whether institutions of the class may be visited directly by every holder"),
    ("reimbursement.payment_working_days", Unit::WorkingDays, "R-SET-6: working days after its submission within which a manual reimbursement reaches the holder"),
    ("premium.mutual_aid_fen.{category}", Unit::Fen, "R-PAY-2: the monthly premium the family mutual-aid account pays for a bound member of the category"),
    ("premium.records_visible_day", Unit::DayOfMonth, "R-PAY-1: day of the next month from which a payment shows in the holder's records"),
    ("premium.arrears_visible_from_day", Unit::DayOfMonth, "R-PAY-2: first day of the next month on which arrears show"),
    ("premium.arrears_visible_until_day", Unit::DayOfMonth, "R-PAY-2: last day of the next month on which arrears show"),
    ("account.has_personal_account.{category}", Unit::Flag, "R-ACC-1: whether the category has a personal account"),
    ("account.monthly_credit_rate.{category}", Unit::Bp, "R-ACC-1: monthly credit as a share of the contribution base"),
    ("account.monthly_credit.{category}", Unit::Fen, "R-ACC-1: fixed monthly credit"),
    ("account.monthly_credit.{category}.{age70}", Unit::Fen, "R-ACC-1: fixed monthly credit by age band"),
];

/// Every concrete parameter name with its unit and meaning.
pub fn expanded() -> Vec<(String, Unit, &'static str)> {
    let mut out = Vec::new();
    for (pattern, unit, doc) in PARAMETERS {
        let mut names = vec![pattern.to_string()];
        for (ph, values) in [
            ("{category}", &CATEGORIES[..]),
            ("{level}", &LEVELS[..]),
            ("{age_band}", &AGE_BANDS[..]),
            ("{age70}", &AGE70_BANDS[..]),
            ("{credential}", &CREDENTIALS[..]),
            ("{ratio_fund}", &RATIO_FUNDS[..]),
            ("{fund}", &FUNDS[..]),
            ("{subsidised}", &SUBSIDISED[..]),
            ("{institution_class}", &INSTITUTION_CLASSES[..]),
            ("{payment_channel}", &PAYMENT_CHANNELS[..]),
        ] {
            names = names.into_iter().flat_map(|n| if n.contains(ph) { values.iter().map(|v| n.replacen(ph, v, 1)).collect::<Vec<_>>() } else { vec![n] }).collect();
        }
        out.extend(names.into_iter().map(|n| (n, *unit, *doc)));
    }
    out
}

/// Parameters every region file must define.
pub const REQUIRED: &[&str] = &["card.pre_loss_days"];
