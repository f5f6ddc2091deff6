use chrono::NaiveDate;

use super::*;

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

const HEAD: &str = "[region]\ncode = \"t\"\nname = \"T\"\nadmdvs = \"110000\"\n";

fn load(body: &str) -> Result<RegionPolicy, PolicyError> {
    parse_region("t.toml", &format!("{HEAD}{body}"))
}

#[test]
fn shipped_regions_load_with_spec_numbers() {
    let set = PolicySet::shipped().unwrap();
    let bj = set.region("beijing").unwrap();
    let on = d("2024-03-01");
    assert_eq!(bj.days("card.pre_loss_days", on).unwrap(), 10);
    assert_eq!(bj.fen("card.replacement_fee", on).unwrap(), Fen(2000));
    assert_eq!(bj.working_days("card.production_working_days.financial", on).unwrap(), 35);
    assert_eq!(bj.fen("outpatient.deductible.retired", on).unwrap(), Fen(130_000));
    assert_eq!(bj.ratio("outpatient.fund_ratio.retired.hospital", on).unwrap(), BasisPoints(8500));
    assert!(!bj.flag("comparison_required_before_production", on).unwrap());
    let jn = set.region("jinan").unwrap();
    assert_eq!(jn.days("card.pre_loss_days", on).unwrap(), 7);
    assert!(jn.flag("card.pre_loss_separate_zones", on).unwrap());
    let hb = set.region("hebei").unwrap();
    assert_eq!(hb.fen("outpatient.annual_fund_cap.in_service.from_45", d("2024-06-01")).unwrap(), Fen(300_000));
    assert_eq!(hb.fen("outpatient.annual_fund_cap.in_service.from_45", d("2025-06-01")).unwrap(), Fen(450_000), "004: the 2025 rise of 1,500 yuan from 45");
    let sz = set.region("suzhou").unwrap();
    assert_eq!(sz.ratio("outpatient.fund_ratio.in_service.pharmacy", d("2025-06-01")).unwrap(), BasisPoints(6000));
    for r in set.regions() {
        for p in r.parameters.values() {
            assert!(p.values.iter().all(|v| !v.source.is_empty()), "{} {}", r.code, p.name);
        }
    }
}

#[test]
fn values_follow_their_dates() {
    let p = load("[card]\npre_loss_days = [\n  { from = 2020-01-01, days = 10, source = \"a\" },\n  { from = 2024-03-01, days = 7, source = \"b\", until = 2025-01-01 },\n]\n")
        .unwrap();
    assert_eq!(p.days("card.pre_loss_days", d("2024-02-29")).unwrap(), 10);
    assert_eq!(p.days("card.pre_loss_days", d("2024-03-01")).unwrap(), 7);
    let e = p.days("card.pre_loss_days", d("2019-12-31")).unwrap_err();
    assert!(matches!(e, PolicyError::NotCovered { line: 6, .. }), "{e}");
    assert!(e.to_string().contains("t.toml:6") && e.to_string().contains("card.pre_loss_days"), "{e}");
    // Past the last value's end date: not covered, never the last value.
    assert!(p.days("card.pre_loss_days", d("2025-01-01")).is_err());
}

#[test]
fn unknown_key_is_named_with_its_line() {
    let e = load("[card]\npre_loss_days = [{ from = 2020-01-01, days = 10, source = \"a\" }]\npre_los_days = [{ from = 2020-01-01, days = 10, source = \"a\" }]\n").unwrap_err();
    assert_eq!(e.to_string(), "t.toml:7: unknown key card.pre_los_days");
    let e = load("[outpatient.deductible]\nretird = [{ from = 2020-01-01, fen = 1, source = \"a\" }]\n").unwrap_err();
    assert!(e.to_string().contains("unknown key outpatient.deductible.retird"), "{e}");
}

#[test]
fn missing_or_wrong_unit_is_an_error() {
    let e = load("[card]\npre_loss_days = [{ from = 2020-01-01, source = \"a\" }]\n").unwrap_err();
    assert!(e.to_string().contains("without its unit (days"), "{e}");
    let e = load("[card]\npre_loss_days = [{ from = 2020-01-01, fen = 10, source = \"a\" }]\n").unwrap_err();
    assert!(e.to_string().contains("is in days, not fen"), "{e}");
    let e = load("[card]\npre_loss_days = [{ from = 2020-01-01, days = 10 }]\n").unwrap_err();
    assert!(e.to_string().contains("source"), "{e}");
    let e =
        load("[card]\npre_loss_days = [{ from = 2020-01-01, days = 10, source = \"a\" }]\nreplacement_fee = [{ from = 2020-01-01, fen = 20.5, source = \"a\" }]\n").unwrap_err();
    assert!(e.to_string().contains("whole number"), "{e}");
}

#[test]
fn dates_out_of_order_are_refused() {
    let e = load("[card]\npre_loss_days = [\n { from = 2024-01-01, days = 10, source = \"a\" },\n { from = 2023-01-01, days = 7, source = \"b\" },\n]\n").unwrap_err();
    assert!(e.to_string().starts_with("t.toml:8:") && e.to_string().contains("out of order"), "{e}");
}

#[test]
fn required_and_syntax_errors() {
    let e = load("").unwrap_err();
    assert!(e.to_string().contains("card.pre_loss_days is missing"), "{e}");
    let e = load("[card\n").unwrap_err();
    assert!(e.to_string().starts_with("t.toml:5:"), "{e}");
    let e = parse_region("x.toml", "[card]\npre_loss_days = [{ from = 2020-01-01, days = 10, source = \"a\" }]\n").unwrap_err();
    assert!(e.to_string().contains("[region]"), "{e}");
}

#[test]
fn unknown_region_lists_known_ones() {
    let e = PolicySet::shipped().unwrap().region("atlantis").unwrap_err();
    assert_eq!(e.code(), "unknown_region");
    assert!(e.to_string().contains("beijing"));
}

#[test]
fn a_fund_must_be_one_the_receipt_knows() {
    let body =
        "[card]\npre_loss_days = [{ from = 2020-01-01, days = 10, source = \"a\" }]\n[outpatient]\nratio_fund = [{ from = 2020-01-01, fund = \"big_fund\", source = \"a\" }]\n";
    let e = load(body).unwrap_err();
    assert!(e.to_string().contains("\"big_fund\" is not a fund"), "{e}");
    let e = load(&body.replace("fund = \"big_fund\"", "bp = 10")).unwrap_err();
    assert!(e.to_string().contains("is in fund, not bp"), "{e}");
    let ok = load(&body.replace("big_fund", "large_amount")).unwrap();
    assert_eq!(ok.fund("outpatient.ratio_fund", d("2024-01-01")).unwrap(), "large_amount");
    assert!(ok.fen("outpatient.ratio_fund", d("2024-01-01")).is_err(), "a fund is never read as a number");
}

#[test]
fn r_xreg_1_a_division_code_belongs_to_the_most_specific_region_file() {
    let set = PolicySet::shipped().unwrap();
    let of = |code: &str| set.region_of_division(code).map(|r| r.code.as_str());
    assert_eq!(of("110000"), Some("beijing"));
    assert_eq!(of("110105"), Some("beijing"), "a district of Beijing");
    assert_eq!(of("130000"), Some("hebei"));
    assert_eq!(of("130102"), Some("hebei"), "Shijiazhuang has no file of its own: Hebei's");
    assert_eq!(of("130300"), Some("qinhuangdao"), "a city with its own file before its province");
    assert_eq!(of("130302"), Some("qinhuangdao"));
    assert_eq!(of("320505"), Some("suzhou"));
    assert_eq!(of("440300"), None, "no file covers Shenzhen");
    assert_eq!(of("1100"), None);
    assert_eq!(of("11000x"), None);
    assert_eq!(set.find_region("110000").unwrap().code, "beijing");
    assert_eq!(set.find_region("hebei").unwrap().admdvs, "130000");
    assert!(set.find_region("atlantis").is_err());
}
