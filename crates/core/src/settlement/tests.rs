//! Golden receipts written by hand from the region files' numbers, and property tests.

use chrono::NaiveDate;

use super::catalog::parse_fixed;
use super::*;
use crate::money::{BasisPoints, Fen};
use crate::policy::PolicySet;
use crate::registry::{Category, InstitutionLevel, PersonFlag};

fn item(code: &str, kind: ItemKind, class: ItemClass, ceiling_yuan: Option<&str>) -> CatalogItem {
    CatalogItem { code: code.into(), name: code.into(), kind, class, price_ceiling_fen: ceiling_yuan.map(|c| Fen::parse_yuan(c).unwrap().0) }
}

fn line(sn: &str, it: &CatalogItem, qty: &str, price: &str) -> (FeeLine, CatalogItem) {
    let qty_e4 = parse_fixed(qty, 4).unwrap();
    let price_e6 = parse_fixed(price, 6).unwrap();
    let amount = catalog::line_product(qty_e4, price_e6);
    (FeeLine { sn: sn.into(), code: it.code.clone(), qty_e4, price_e6, amount }, it.clone())
}

#[allow(clippy::too_many_arguments)] // a golden receipt names every input
fn run(
    region: &str,
    date: &str,
    category: Category,
    age: u32,
    level: InstitutionLevel,
    lines: &[(FeeLine, CatalogItem)],
    totals: YearTotals,
    balance: i64,
    use_account: bool,
) -> Receipt {
    let set = PolicySet::shipped().unwrap();
    settle(&SettlementInput {
        policy: set.region(region).unwrap(),
        date: date.parse::<NaiveDate>().unwrap(),
        category,
        age,
        level,
        lines,
        totals,
        account_balance: Fen(balance),
        use_account,
        flags: &[],
        mutual_aid_balance: Fen::ZERO,
    })
    .unwrap()
}

fn adds_up(r: &Receipt) {
    r.check_identities().unwrap();
    assert_eq!(r.total, r.fund_pay_sumamt + r.psn_part_amt, "total = fund + personal");
    assert_eq!(r.psn_part_amt, r.acct_pay + r.acct_mulaid_pay + r.psn_cash_pay, "personal = account + mutual aid + cash");
    assert_eq!(r.psn_part_amt, r.self_pay_1 + r.preselfpay + r.fulamt_ownpay + r.overlmt_selfpay, "personal = 自付一 + 自付二 + 自费");
    let parts: i64 = r.funds.iter().map(|f| f.amount.0).sum();
    assert_eq!(r.fund_pay_sumamt, Fen(parts) + r.fixed_fund, "the funds' parts add up to the fund payment");
    assert_eq!(r.total, r.fulamt_ownpay + r.overlmt_selfpay + r.preselfpay + r.inscp + r.fixed_fund);
    for v in [
        r.total,
        r.fulamt_ownpay,
        r.overlmt_selfpay,
        r.preselfpay,
        r.inscp,
        r.deductible_applied,
        r.hifp_pay,
        r.self_pay_1,
        r.psn_part_amt,
        r.acct_pay,
        r.psn_cash_pay,
        r.balance_after,
    ] {
        assert!(v.0 >= 0, "no amount is negative: {r:?}");
    }
}

#[test]
fn r_set_2_r_set_3_r_set_4_beijing_in_service_hospital_golden_receipt() {
    let diag = item("DIAG", ItemKind::DiagnosisFee, ItemClass::A, None);
    let a = item("A1", ItemKind::Drug, ItemClass::A, None);
    let b = item("B1", ItemKind::Drug, ItemClass::B, None);
    let c = item("C1", ItemKind::Treatment, ItemClass::C, None);
    let capped = item("A2", ItemKind::Drug, ItemClass::A, Some("80.00"));
    let lines = [line("1", &diag, "1", "50"), line("2", &a, "2", "1500"), line("3", &b, "1", "200"), line("4", &c, "1", "100"), line("5", &capped, "3", "100")];
    let r = run("beijing", "2026-03-02", Category::InService, 40, InstitutionLevel::Level3, &lines, YearTotals::default(), 50_000, true);
    assert_eq!(r.total, Fen(365_000));
    assert_eq!(r.fulamt_ownpay, Fen(14_800), "class C 100 + diagnosis fee beyond the fund's 2 yuan 48");
    assert_eq!(r.overlmt_selfpay, Fen(6_000), "3 × (100 - 80)");
    assert_eq!(r.preselfpay, Fen(2_000), "10 % of the class-B 200");
    assert_eq!(r.inscp, Fen(342_000));
    assert_eq!(r.deductible_applied, Fen(180_000));
    assert_eq!(r.ratio, BasisPoints(7_000));
    assert_eq!(r.ratio_fund, Fen(113_400), "70 % of 1,620");
    assert_eq!(r.fund_pay_sumamt, Fen(113_600), "+ 2 yuan diagnosis fee");
    assert_eq!(r.funds, vec![FundPart { fund: Fund::LargeAmount, amount: Fen(113_400) }], "Beijing's outpatient ratio is the large-amount mutual aid's (门诊大额)");
    assert_eq!(r.hifp_pay, Fen(200), "the basic fund pays the diagnosis fee's 2 yuan");
    assert_eq!(r.psn_part_amt, Fen(251_400));
    assert_eq!(r.acct_pay, Fen(50_000), "the account pays under the deductible while it lasts");
    assert_eq!(r.psn_cash_pay, Fen(201_400));
    assert_eq!(r.self_pay_1, Fen(228_600));
    assert_eq!(r.balance_after, Fen(0));
    adds_up(&r);
    assert!(r.trace.iter().any(|t| t.parameter.as_deref() == Some("outpatient.deductible.in_service") && t.from == Some("2001-04-01".parse().unwrap())));
}

#[test]
fn beijing_retired_community_deductible_part_used_and_cap_reached() {
    let a = item("A1", ItemKind::Drug, ItemClass::A, None);
    let totals = YearTotals { deductible_used: Fen(100_000), fund_paid: Fen(1_999_000), insured_used: Fen(0), ..Default::default() };
    let r = run("beijing", "2026-06-01", Category::Retired, 66, InstitutionLevel::Community, &[line("1", &a, "1", "1000")], totals.clone(), 80_000, false);
    assert_eq!(r.deductible_applied, Fen(30_000), "1,300 less 1,000 used");
    assert_eq!(r.ratio, BasisPoints(9_000));
    assert_eq!(r.ratio_fund, Fen(1_000), "only 10 yuan left under the 20,000 cap");
    assert_eq!(r.psn_part_amt, Fen(99_000));
    assert_eq!((r.acct_pay, r.psn_cash_pay), (Fen(0), Fen(99_000)), "acct_used_flag 0: all cash");
    adds_up(&r);
    let after = totals.plus(&r);
    assert_eq!(
        r.funds,
        vec![FundPart { fund: Fund::LargeAmount, amount: Fen(889) }, FundPart { fund: Fund::RetireeSupplementary, amount: Fen(111) }],
        "10 of the 90 points: 10 yuan × 10/90 = 1.11 yuan is the supplementary insurance's"
    );
    let by_fund = [(Fund::LargeAmount, Fen(889)), (Fund::RetireeSupplementary, Fen(111))].into_iter().collect();
    assert_eq!(after, YearTotals { deductible_used: Fen(130_000), fund_paid: Fen(2_000_000), insured_used: Fen(70_000), by_fund });
    assert_eq!(after.minus(&r), totals, "R-SET-7: a reversal restores the totals exactly");
}

#[test]
fn class_b_share_rounds_half_up_and_the_remainder_is_the_holders() {
    let b = item("B1", ItemKind::Drug, ItemClass::B, None);
    let r = run(
        "beijing",
        "2026-03-02",
        Category::InService,
        40,
        InstitutionLevel::Level2,
        &[line("1", &b, "1", "33.35")],
        YearTotals { deductible_used: Fen(180_000), ..Default::default() },
        0,
        true,
    );
    assert_eq!(r.preselfpay, Fen(334), "333.5 rounds up");
    assert_eq!(r.inscp, Fen(3_001));
    assert_eq!(r.ratio_fund, Fen(2_101), "70 % of 30.01 = 21.007");
    assert_eq!(r.psn_part_amt, Fen(3_335 - 2_101));
    adds_up(&r);
}

#[test]
fn hebei_by_level_deductible_category_ratio_and_age_band_cap() {
    let a = item("A1", ItemKind::Drug, ItemClass::A, None);
    let r = run("hebei", "2026-03-02", Category::InService, 50, InstitutionLevel::Level2, &[line("1", &a, "1", "1000")], YearTotals::default(), 0, false);
    assert_eq!((r.deductible_applied, r.ratio, r.ratio_fund, r.psn_part_amt), (Fen(50_000), BasisPoints(5_000), Fen(25_000), Fen(75_000)));
    adds_up(&r);
    let capped = run("hebei", "2026-03-02", Category::InService, 30, InstitutionLevel::Level1, &[line("1", &a, "1", "5000")], YearTotals::default(), 0, false);
    assert_eq!(capped.ratio_fund, Fen(200_000), "2,000 yuan cap under 45");
    adds_up(&capped);
    let old = run("hebei", "2026-03-02", Category::Retired, 72, InstitutionLevel::Level1, &[line("1", &a, "1", "500")], YearTotals::default(), 0, false);
    assert_eq!((old.deductible_applied, old.ratio, old.ratio_fund), (Fen(20_000), BasisPoints(8_000), Fen(24_000)), "retired and 70+");
    adds_up(&old);
}

#[test]
fn suzhou_ratio_applies_within_the_insured_amount_limit() {
    let a = item("A1", ItemKind::Drug, ItemClass::A, None);
    let totals = YearTotals { deductible_used: Fen(60_000), fund_paid: Fen(0), insured_used: Fen(1_290_000), ..Default::default() };
    let r = run("suzhou", "2026-03-02", Category::InService, 40, InstitutionLevel::Level3, &[line("1", &a, "1", "300")], totals, 0, false);
    assert_eq!((r.deductible_applied, r.within_limit, r.ratio_fund, r.psn_part_amt), (Fen(0), Fen(10_000), Fen(6_000), Fen(24_000)));
    adds_up(&r);
    let pharmacy = run("suzhou", "2026-03-02", Category::Retired, 65, InstitutionLevel::Pharmacy, &[line("1", &a, "1", "500")], YearTotals::default(), 0, false);
    assert_eq!((pharmacy.deductible_applied, pharmacy.ratio, pharmacy.ratio_fund), (Fen(40_000), BasisPoints(7_000), Fen(7_000)));
    adds_up(&pharmacy);
}

#[test]
fn missing_parameters_and_bad_lines_are_refused() {
    let set = PolicySet::shipped().unwrap();
    let a = item("A1", ItemKind::Drug, ItemClass::A, None);
    let lines = [line("1", &a, "1", "10")];
    let e = settle(&SettlementInput {
        policy: set.region("suzhou").unwrap(),
        date: "2026-03-02".parse().unwrap(),
        category: Category::Resident,
        age: 40,
        level: InstitutionLevel::Level1,
        lines: &lines,
        totals: YearTotals::default(),
        account_balance: Fen(0),
        use_account: false,
        flags: &[],
        mutual_aid_balance: Fen::ZERO,
    })
    .unwrap_err();
    assert_eq!(e.code, "policy_not_in_force");
    assert!(e.message.contains("outpatient.deductible.resident"), "Suzhou's file has no resident rules: {}", e.message);
    let mut bad = lines.clone();
    bad[0].0.amount = Fen(1001);
    let e = settle(&SettlementInput {
        policy: set.region("beijing").unwrap(),
        date: "2026-03-02".parse().unwrap(),
        category: Category::InService,
        age: 40,
        level: InstitutionLevel::Level1,
        lines: &bad,
        totals: YearTotals::default(),
        account_balance: Fen(0),
        use_account: false,
        flags: &[],
        mutual_aid_balance: Fen::ZERO,
    })
    .unwrap_err();
    assert_eq!(e.code, "amount_mismatch");
}

/// Random visits never break the receipt's identities, never go negative, never use the
/// deductible twice or pass the cap.
#[test]
fn property_every_receipt_adds_up() {
    let set = PolicySet::shipped().unwrap();
    let mut seed: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next = |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    let kinds = [ItemKind::Drug, ItemKind::Treatment, ItemKind::Facility, ItemKind::DiagnosisFee, ItemKind::RegistrationFee];
    let classes = [ItemClass::A, ItemClass::B, ItemClass::C];
    let levels = [InstitutionLevel::Community, InstitutionLevel::Level1, InstitutionLevel::Level2, InstitutionLevel::Level3];
    for round in 0..3000 {
        let (region, category) =
            [("beijing", Category::InService), ("beijing", Category::Retired), ("hebei", Category::InService), ("hebei", Category::Retired), ("suzhou", Category::Retired)]
                [round % 5];
        // Each region's file covers its own levels.
        let level = match region {
            "suzhou" => [InstitutionLevel::Community, InstitutionLevel::Level2, InstitutionLevel::Level3][round % 3],
            "hebei" => levels[1 + round % 3],
            _ => levels[round % 4],
        };
        let policy = set.region(region).unwrap();
        let mut totals = YearTotals::default();
        let mut balance = Fen(next(500_000) as i64);
        for _visit in 0..6 {
            let n = 1 + next(6) as usize;
            let lines: Vec<(FeeLine, CatalogItem)> = (0..n)
                .map(|i| {
                    // Hebei's and Suzhou's files price neither the diagnosis fee nor class B.
                    let (kind, class) = if region == "beijing" {
                        (kinds[next(5) as usize], classes[next(3) as usize])
                    } else {
                        ([ItemKind::Drug, ItemKind::Treatment, ItemKind::RegistrationFee][next(3) as usize], [ItemClass::A, ItemClass::C][next(2) as usize])
                    };
                    let it = CatalogItem { code: format!("X{i}"), name: "x".into(), kind, class, price_ceiling_fen: if next(4) == 0 { Some(next(50_000) as i64) } else { None } };
                    let qty_e4 = 1 + next(50_000) as i64;
                    let price_e6 = next(2_000_000_000) as i64;
                    (FeeLine { sn: i.to_string(), code: it.code.clone(), qty_e4, price_e6, amount: catalog::line_product(qty_e4, price_e6) }, it)
                })
                .collect();
            let r = settle(&SettlementInput {
                policy,
                date: "2026-05-01".parse().unwrap(),
                category,
                age: 30 + next(50) as u32,
                level,
                lines: &lines,
                totals: totals.clone(),
                account_balance: balance,
                use_account: next(2) == 0,
                flags: &[],
                mutual_aid_balance: Fen::ZERO,
            })
            .unwrap();
            adds_up(&r);
            totals = totals.plus(&r);
            balance = r.balance_after;
            let ded = policy.parameters.keys().filter(|k| k.starts_with("outpatient.deductible.")).map(|k| policy.fen(k, "2026-05-01".parse().unwrap()).unwrap()).max().unwrap();
            assert!(totals.deductible_used <= ded, "deductible used once at most");
            if region == "beijing" {
                assert!(totals.fund_paid <= Fen(2_000_000), "never past the cap");
            }
        }
    }
}

#[test]
fn r_set_5_registration_fee_is_paid_by_the_holder_apart_from_the_visit() {
    let reg = item("REG", ItemKind::RegistrationFee, ItemClass::A, None);
    let a = item("A1", ItemKind::Drug, ItemClass::A, None);
    let r =
        run("beijing", "2026-03-02", Category::InService, 40, InstitutionLevel::Level3, &[line("1", &reg, "1", "5"), line("2", &a, "1", "100")], YearTotals::default(), 0, false);
    assert_eq!(r.fulamt_ownpay, Fen(500), "the registration fee is the holder's");
    assert_eq!((r.inscp, r.deductible_applied), (Fen(10_000), Fen(10_000)), "only the drug counts toward the deductible");
    adds_up(&r);
}

/// R-SET-3: the identities the booking asserts before commit catch a receipt that does
/// not add up, naming the identity.
#[test]
fn r_set_3_a_receipt_that_does_not_add_up_is_caught_before_booking() {
    let a = item("A1", ItemKind::Drug, ItemClass::A, None);
    let r = run("beijing", "2026-03-02", Category::InService, 40, InstitutionLevel::Level3, &[line("1", &a, "2", "1500")], YearTotals::default(), 0, false);
    r.check_identities().unwrap();
    let mut off_by_a_fen = r.clone();
    off_by_a_fen.psn_cash_pay += Fen(1);
    assert!(off_by_a_fen.check_identities().unwrap_err().contains("acct_pay + acct_mulaid_pay + psn_cash_pay"));
    let mut fund_wrong = r.clone();
    fund_wrong.fund_pay_sumamt += Fen(1);
    assert!(fund_wrong.check_identities().unwrap_err().contains("total = fund_pay_sumamt + psn_part_amt"));
}

/// A region file for a rule the shipped files do not exercise.
fn policy_with(extra: &str) -> crate::policy::RegionPolicy {
    let base = "[region]\ncode = \"t\"\nname = \"T\"\nadmdvs = \"110000\"\n[card]\npre_loss_days = [{ from = 2020-01-01, days = 10, source = \"t\" }]\n";
    crate::policy::parse_region("t.toml", &format!("{base}{extra}")).unwrap()
}

fn settle_with(
    policy: &crate::policy::RegionPolicy,
    category: Category,
    age: u32,
    lines: &[(FeeLine, CatalogItem)],
    totals: YearTotals,
    flags: &[PersonFlag],
) -> Result<Receipt, crate::Refusal> {
    settle(&SettlementInput {
        policy,
        date: "2026-03-02".parse().unwrap(),
        category,
        age,
        level: InstitutionLevel::Level3,
        lines,
        totals,
        account_balance: Fen(0),
        use_account: false,
        flags,
        mutual_aid_balance: Fen::ZERO,
    })
}

#[test]
fn r_set_3_beijing_retiree_receipt_shows_the_supplementary_insurance_beside_the_mutual_aid() {
    let a = item("A1", ItemKind::Drug, ItemClass::A, None);
    let r = run("beijing", "2026-03-02", Category::Retired, 72, InstitutionLevel::Level3, &[line("1", &a, "1", "3000")], YearTotals::default(), 0, false);
    // 3,000 insured: 1,300 deductible; 1,700 above at 85 %: 1,445 from the funds, of
    // which 15/85 (255) the supplementary insurance and 1,190 the mutual aid.
    assert_eq!(r.deductible_applied, Fen(130_000));
    assert_eq!(r.funds, vec![FundPart { fund: Fund::LargeAmount, amount: Fen(119_000) }, FundPart { fund: Fund::RetireeSupplementary, amount: Fen(25_500) }]);
    assert_eq!(r.fund_pay_sumamt, Fen(144_500));
    assert_eq!(r.hifp_pay, Fen(0), "no diagnosis fee: the basic fund pays nothing at the outpatient counter");
    assert_eq!(r.self_pay_1, Fen(155_500), "1,300 + 15 % of 1,700");
    adds_up(&r);
    assert!(r.trace.iter().any(|t| t.parameter.as_deref() == Some("outpatient.fund_share.retiree_supplementary.retired.hospital") && t.amount_fen == 25_500));
    assert!(r.trace.iter().any(|t| t.parameter.as_deref() == Some("outpatient.ratio_fund") && t.amount_fen == 119_000));
}

#[test]
fn r_set_3_each_fund_paid_is_named_and_a_reversal_negates_every_amount() {
    let a = item("A1", ItemKind::Drug, ItemClass::A, None);
    let r = run("beijing", "2026-03-02", Category::Retired, 72, InstitutionLevel::Level3, &[line("1", &a, "1", "3000")], YearTotals::default(), 50_000, true);
    assert_eq!((r.paid_by(Fund::LargeAmount), r.paid_by(Fund::RetireeSupplementary), r.paid_by(Fund::Basic)), (Fen(119_000), Fen(25_500), Fen::ZERO));
    assert_eq!(r.fund_payments(), r.funds, "the basic fund paid nothing, so it is not listed");
    let back = r.reversal();
    assert_eq!((back.total, back.fund_pay_sumamt, back.acct_pay), (-r.total, -r.fund_pay_sumamt, -r.acct_pay));
    assert_eq!(back.paid_by(Fund::RetireeSupplementary), Fen(-25_500));
    assert_eq!(back.total, back.fund_pay_sumamt + back.psn_part_amt, "the reversal adds up as the receipt did");
    assert_eq!(back.psn_part_amt, back.acct_pay + back.acct_mulaid_pay + back.psn_cash_pay);
    assert_eq!(back.balance_after, r.balance_after + r.acct_pay, "the account's payment is back in the balance");
    assert!(r.acct_pay > Fen::ZERO, "the account paid, so the balance moves");
}

#[test]
fn r_set_3_a_disabled_veterans_subsidy_pays_the_share_above_the_deductible() {
    let a = item("A1", ItemKind::Drug, ItemClass::A, None);
    let set = PolicySet::shipped().unwrap();
    let bj = set.region("beijing").unwrap();
    let lines = [line("1", &a, "1", "3000")];
    let veteran = settle_with(bj, Category::InService, 50, &lines, YearTotals::default(), &[PersonFlag::DisabledVeteran]).unwrap();
    // 1,800 deductible; 1,200 above at 70 %: 840 mutual aid, the holder's 360 the subsidy's.
    assert_eq!(veteran.funds, vec![FundPart { fund: Fund::LargeAmount, amount: Fen(84_000) }, FundPart { fund: Fund::DisabledVeteran, amount: Fen(36_000) }]);
    assert_eq!((veteran.self_pay_1, veteran.psn_part_amt), (Fen(180_000), Fen(180_000)), "the deductible stays the veteran's");
    adds_up(&veteran);
    let other = settle_with(bj, Category::InService, 50, &lines, YearTotals::default(), &[]).unwrap();
    assert_eq!(other.self_pay_1, Fen(216_000), "without the flag no subsidy");
    assert_eq!(veteran.fund_pay_sumamt - other.fund_pay_sumamt, Fen(36_000));
}

#[test]
fn r_set_3_each_fund_has_its_own_yearly_cap() {
    let p = policy_with(concat!(
        "[outpatient.deductible]\nretired = [{ from = 2020-01-01, fen = 0, source = \"t\" }]\n",
        "[outpatient.fund_ratio]\nretired = [{ from = 2020-01-01, bp = 9000, source = \"t\" }]\n",
        "[outpatient]\nratio_fund = [{ from = 2020-01-01, fund = \"large_amount\", source = \"t\" }]\n",
        "[outpatient.fund_share.retiree_supplementary]\nretired = [{ from = 2020-01-01, bp = 3000, source = \"t\" }]\n",
        "[outpatient.fund_cap.retiree_supplementary]\nretired = [{ from = 2020-01-01, fen = 50000, source = \"t\" }]\n",
    ));
    let a = item("A1", ItemKind::Drug, ItemClass::A, None);
    let lines = [line("1", &a, "1", "1000")];
    let first = settle_with(&p, Category::Retired, 66, &lines, YearTotals::default(), &[]).unwrap();
    // 1,000 at 90 %: 900, a third (300) the supplementary's, 600 the mutual aid's.
    assert_eq!(first.funds, vec![FundPart { fund: Fund::LargeAmount, amount: Fen(60_000) }, FundPart { fund: Fund::RetireeSupplementary, amount: Fen(30_000) }]);
    let totals = YearTotals::default().plus(&first);
    let second = settle_with(&p, Category::Retired, 66, &lines, totals.clone(), &[]).unwrap();
    assert_eq!(second.funds[1], FundPart { fund: Fund::RetireeSupplementary, amount: Fen(20_000) }, "500 a year: 200 left");
    assert_eq!(second.self_pay_1, Fen(20_000), "the 100 the capped fund cannot pay is the holder's");
    adds_up(&second);
    let third = settle_with(&p, Category::Retired, 66, &lines, totals.plus(&second), &[]).unwrap();
    assert_eq!(third.funds, vec![FundPart { fund: Fund::LargeAmount, amount: Fen(60_000) }], "a fund at its cap pays nothing and is left off");
    adds_up(&third);
    assert_eq!(totals.plus(&second).plus(&third).by_fund[&Fund::RetireeSupplementary], Fen(50_000));
}

#[test]
fn the_age_thresholds_are_the_regions_and_a_missing_one_is_named() {
    let a = item("A1", ItemKind::Drug, ItemClass::A, None);
    let lines = [line("1", &a, "1", "3000")];
    let at = |age| run("hebei", "2025-06-02", Category::Retired, age, InstitutionLevel::Level3, &lines, YearTotals::default(), 0, false).ratio;
    assert_eq!((at(69), at(70)), (BasisPoints(7_000), BasisPoints(8_000)), "Hebei: 70岁以上 from 70");
    let cap = |age| {
        run("hebei", "2025-06-02", Category::InService, age, InstitutionLevel::Level3, &lines, YearTotals { fund_paid: Fen(295_000), ..Default::default() }, 0, false).ratio_fund
    };
    assert_eq!((cap(44), cap(45)), (Fen(0), Fen(100_000)), "2,950 paid: past 2,000 under 45; within 4,500 from 45 in 2025 (3,000 would leave 50)");
    let p = policy_with(concat!(
        "[outpatient.deductible]\nretired = [{ from = 2020-01-01, fen = 0, source = \"t\" }]\n",
        "[outpatient.fund_ratio]\nretired = [{ from = 2020-01-01, bp = 7000, source = \"t\" }]\nretired_70_plus = [{ from = 2020-01-01, bp = 8000, source = \"t\" }]\n",
    ));
    let e = settle_with(&p, Category::Retired, 75, &lines, YearTotals::default(), &[]).unwrap_err();
    assert!(e.message.contains("outpatient.retired_70_plus_from_age"), "{}", e.message);
}

#[test]
fn r_set_3_a_parameter_in_the_wrong_unit_is_refused_not_read_as_zero() {
    // The loader refuses a value in another unit; a region built in code with one
    // is refused by the engine too.
    let mut p = policy_with(
        "[outpatient.deductible]\nretired = [{ from = 2020-01-01, fen = 0, source = \"t\" }]\n[outpatient.fund_ratio]\nretired = [{ from = 2020-01-01, bp = 7000, source = \"t\" }]\n",
    );
    p.parameters.get_mut("outpatient.deductible.retired").unwrap().unit = crate::policy::schema::Unit::Bp;
    let a = item("A1", ItemKind::Drug, ItemClass::A, None);
    let e = settle_with(&p, Category::Retired, 60, &[line("1", &a, "1", "10")], YearTotals::default(), &[]).unwrap_err();
    assert!(e.message.contains("outpatient.deductible.retired is in bp, not fen"), "{}", e.message);
}

#[test]
fn r_pay_2_the_family_mutual_aid_account_pays_after_the_own_account() {
    let a = item("A1", ItemKind::Drug, ItemClass::A, None);
    let set = PolicySet::shipped().unwrap();
    let lines = [line("1", &a, "1", "1000")];
    let input = |own: i64, family: i64, use_account: bool| SettlementInput {
        policy: set.region("beijing").unwrap(),
        date: "2026-03-02".parse().unwrap(),
        category: Category::InService,
        age: 40,
        level: InstitutionLevel::Level3,
        lines: &lines,
        totals: YearTotals::default(),
        account_balance: Fen(own),
        use_account,
        flags: &[],
        mutual_aid_balance: Fen(family),
    };
    let r = settle(&input(30_000, 50_000, true)).unwrap();
    assert_eq!((r.acct_pay, r.acct_mulaid_pay, r.psn_cash_pay), (Fen(30_000), Fen(50_000), Fen(20_000)), "own 300, then the family's 500, the rest in cash");
    adds_up(&r);
    let r = settle(&input(30_000, 50_000, false)).unwrap();
    assert_eq!((r.acct_pay, r.acct_mulaid_pay), (Fen(0), Fen(0)), "acct_used_flag 0: neither account");
}
