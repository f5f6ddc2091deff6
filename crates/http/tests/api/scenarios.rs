//! A year of visits per region (R-SET-2, R-SET-3): an in-service person, a retiree over
//! 70 and a disabled veteran (and in Hebei a resident) each visit a level-3 hospital of
//! their region four times in 2026 through the national interface; every receipt is
//! checked to the fen against figures worked by hand from the region file below each
//! table. Jinan's file prices no outpatient visit (002 gives no outpatient rule), so it
//! has no scenario.

use serde_json::{Value, json};
use yikatong_core::money::Fen;
use yikatong_core::settlement::{CatalogItem, ItemClass, ItemKind};
use yikatong_store::on_both_databases;
use yikatong_store::testing::TestDb;

use super::TestApp;

/// The year's visits: (date, [(catalogue code, amount in yuan)]).
type Visits = [(&'static str, &'static [(&'static str, &'static str)]); 4];

const BEIJING_VISITS: Visits =
    [("2026-03-02", &[("DIAG", "50.00"), ("A1", "1000.00")]), ("2026-06-01", &[("A1", "2000.00")]), ("2026-09-01", &[("A1", "30000.00")]), ("2026-12-01", &[("A1", "10000.00")])];
const VISITS: Visits = [("2026-03-02", &[("A1", "1000.00")]), ("2026-06-01", &[("A1", "2000.00")]), ("2026-09-01", &[("A1", "30000.00")]), ("2026-12-01", &[("A1", "10000.00")])];

/// One receipt as worked by hand: act_pay_dedc, hifp_pay (basic fund), hifob_pay
/// (large-amount mutual aid), hifes_pay (retiree supplementary), oth_pay
/// (disabled-veteran subsidy), psn_cash_pay (the account is not used) and self-pay 1.
type Worked = (&'static str, &'static str, &'static str, &'static str, &'static str, &'static str, &'static str);

struct Holder {
    label: &'static str,
    birth: &'static str,
    category: &'static str,
    flags: &'static [&'static str],
    receipts: [Worked; 4],
}

/// Beijing: deductible 1,800 in service / 1,300 retired; 70 % / 85 % at hospitals, all
/// of it the mutual aid's but 15 of the retirees' 85 points (the supplementary
/// insurance's); 20,000 a year together; the fund's 2 yuan of the diagnosis fee; a
/// veteran's ratio share paid by the subsidy.
const BEIJING: [Holder; 3] = [
    Holder {
        label: "in service, 40",
        birth: "1986-01-01",
        category: "in_service",
        flags: &[],
        receipts: [
            // 1,000 under the deductible; the diagnosis fee: 2 fund, 48 own expense.
            ("1000.00", "2.00", "0.00", "0.00", "0.00", "1048.00", "1000.00"),
            // 800 left of the deductible; 1,200 at 70 %.
            ("800.00", "0.00", "840.00", "0.00", "0.00", "1160.00", "1160.00"),
            // 21,000 at 70 %, but 19,160 left under the 20,000 cap.
            ("0.00", "0.00", "19160.00", "0.00", "0.00", "10840.00", "10840.00"),
            // The cap is reached.
            ("0.00", "0.00", "0.00", "0.00", "0.00", "10000.00", "10000.00"),
        ],
    },
    Holder {
        label: "retired, 72",
        birth: "1954-01-01",
        category: "retired",
        flags: &[],
        receipts: [
            ("1000.00", "2.00", "0.00", "0.00", "0.00", "1048.00", "1000.00"),
            // 300 left of 1,300; 1,700 at 85 % = 1,445: 15/85 (255) supplementary.
            ("300.00", "0.00", "1190.00", "255.00", "0.00", "555.00", "555.00"),
            // 25,500 at 85 %, 18,555 left under the cap: 18,555 × 15/85 = 3,274.41.
            ("0.00", "0.00", "15280.59", "3274.41", "0.00", "11445.00", "11445.00"),
            ("0.00", "0.00", "0.00", "0.00", "0.00", "10000.00", "10000.00"),
        ],
    },
    Holder {
        label: "disabled veteran in service, 50",
        birth: "1976-01-01",
        category: "in_service",
        flags: &["disabled_veteran"],
        receipts: [
            ("1000.00", "2.00", "0.00", "0.00", "0.00", "1048.00", "1000.00"),
            // 840 the mutual aid's, the holder's 30 % (360) the subsidy's.
            ("800.00", "0.00", "840.00", "0.00", "360.00", "800.00", "800.00"),
            // 19,160 under the cap; the subsidy pays the 30 % share (9,000), not the
            // 1,840 above the cap.
            ("0.00", "0.00", "19160.00", "0.00", "9000.00", "1840.00", "1840.00"),
            ("0.00", "0.00", "0.00", "0.00", "3000.00", "7000.00", "7000.00"),
        ],
    },
];

/// Hebei: at level 3 a 1,000 deductible; 50 % in service, 70 % retired, 80 % retired
/// from 70; caps 2,000 under 45, 4,500 from 45 (2025), 3,500 retired; residents: no
/// deductible, 50 %, 150 a year. All the basic fund's; no subsidy figure for veterans.
const HEBEI: [Holder; 4] = [
    Holder {
        label: "in service, 40",
        birth: "1986-01-01",
        category: "in_service",
        flags: &[],
        receipts: [
            ("1000.00", "0.00", "0.00", "0.00", "0.00", "1000.00", "1000.00"),
            ("0.00", "1000.00", "0.00", "0.00", "0.00", "1000.00", "1000.00"),
            // 15,000 at 50 %, 1,000 left under 2,000.
            ("0.00", "1000.00", "0.00", "0.00", "0.00", "29000.00", "29000.00"),
            ("0.00", "0.00", "0.00", "0.00", "0.00", "10000.00", "10000.00"),
        ],
    },
    Holder {
        label: "retired, 72",
        birth: "1954-01-01",
        category: "retired",
        flags: &[],
        receipts: [
            ("1000.00", "0.00", "0.00", "0.00", "0.00", "1000.00", "1000.00"),
            ("0.00", "1600.00", "0.00", "0.00", "0.00", "400.00", "400.00"),
            // 80 %: 24,000, 1,900 left under 3,500.
            ("0.00", "1900.00", "0.00", "0.00", "0.00", "28100.00", "28100.00"),
            ("0.00", "0.00", "0.00", "0.00", "0.00", "10000.00", "10000.00"),
        ],
    },
    Holder {
        label: "disabled veteran in service, 50",
        birth: "1976-01-01",
        category: "in_service",
        flags: &["disabled_veteran"],
        receipts: [
            ("1000.00", "0.00", "0.00", "0.00", "0.00", "1000.00", "1000.00"),
            ("0.00", "1000.00", "0.00", "0.00", "0.00", "1000.00", "1000.00"),
            // From 45: 4,500 in 2025 and after, 3,500 left.
            ("0.00", "3500.00", "0.00", "0.00", "0.00", "26500.00", "26500.00"),
            ("0.00", "0.00", "0.00", "0.00", "0.00", "10000.00", "10000.00"),
        ],
    },
    Holder {
        label: "resident, 30",
        birth: "1996-01-01",
        category: "resident",
        flags: &[],
        receipts: [
            // 500 at 50 %, 150 a year.
            ("0.00", "150.00", "0.00", "0.00", "0.00", "850.00", "850.00"),
            ("0.00", "0.00", "0.00", "0.00", "0.00", "2000.00", "2000.00"),
            ("0.00", "0.00", "0.00", "0.00", "0.00", "30000.00", "30000.00"),
            ("0.00", "0.00", "0.00", "0.00", "0.00", "10000.00", "10000.00"),
        ],
    },
];

/// An in-service year in Suzhou (age does not matter there).
const SUZHOU_EMPLOYEE: [Worked; 4] = [
    ("600.00", "240.00", "0.00", "0.00", "0.00", "760.00", "760.00"),
    ("0.00", "1200.00", "0.00", "0.00", "0.00", "800.00", "800.00"),
    // 10,600 left of the 13,000 limit at 60 %.
    ("0.00", "6360.00", "0.00", "0.00", "0.00", "23640.00", "23640.00"),
    ("0.00", "0.00", "0.00", "0.00", "0.00", "10000.00", "10000.00"),
];

/// Suzhou: deductible 600 in service / 400 retired, then within 13,000 a year 60 % /
/// 70 % at level 3; all the basic fund's; no subsidy figure for veterans.
const SUZHOU: [Holder; 3] = [
    Holder { label: "in service, 40", birth: "1986-01-01", category: "in_service", flags: &[], receipts: SUZHOU_EMPLOYEE },
    Holder {
        label: "retired, 72",
        birth: "1954-01-01",
        category: "retired",
        flags: &[],
        receipts: [
            ("400.00", "420.00", "0.00", "0.00", "0.00", "580.00", "580.00"),
            ("0.00", "1400.00", "0.00", "0.00", "0.00", "600.00", "600.00"),
            // 10,400 left of the limit at 70 %.
            ("0.00", "7280.00", "0.00", "0.00", "0.00", "22720.00", "22720.00"),
            ("0.00", "0.00", "0.00", "0.00", "0.00", "10000.00", "10000.00"),
        ],
    },
    Holder {
        label: "disabled veteran in service, 50",
        birth: "1976-01-01",
        category: "in_service",
        flags: &["disabled_veteran"],
        // No subsidy figure for Suzhou: the veteran's year is an employee's.
        receipts: SUZHOU_EMPLOYEE,
    },
];

/// A hospital of a region and its interface token.
pub(crate) struct Hospital {
    pub(crate) region: &'static str,
    pub(crate) admdvs: &'static str,
    pub(crate) division: &'static str,
    pub(crate) institution: String,
    pub(crate) token: String,
}

impl TestApp {
    /// Registers the institution (level, optional class) and gives it a token.
    pub(crate) async fn hospital(&self, region: &'static str, admdvs: &'static str, division: &'static str, code: &str, level: &str, class: Option<&str>) -> Hospital {
        let (s, v) =
            self.op("POST", "/v1/institutions", Some(json!({"code": code, "name": format!("{region} hospital {code}"), "region": region, "level": level, "class": class}))).await;
        assert_eq!(s.as_u16(), 201, "{v}");
        let token =
            self.service.issue_token(&yikatong_service::TokenRequest { role: "institution".into(), institution: Some(code.into()), ..Default::default() }).await.unwrap().token;
        Hospital { region, admdvs, division, institution: code.into(), token }
    }

    async fn region_with_hospital(&self, code: &'static str, admdvs: &'static str, division: &'static str) -> Hospital {
        let upper = code[..2].to_uppercase();
        let (s, v) = self.op("POST", "/v1/outlets", Some(json!({"code": format!("O{upper}"), "name": format!("{code} outlet"), "region": code}))).await;
        assert_eq!(s.as_u16(), 201, "{v}");
        self.hospital(code, admdvs, division, &format!("H{upper}3"), "3", None).await
    }

    /// One call of the national interface as the hospital; the whole answer.
    pub(crate) async fn interface_answer(&self, h: &Hospital, infno: &str, msgid: &str, input: Value) -> Value {
        let body = json!({"infno": infno, "msgid": msgid, "mdtrtarea_admvs": h.admdvs, "insuplc_admdvs": h.admdvs, "fixmedins_code": h.institution, "input": input});
        let res = self.client.post(format!("{}/fsi/api/rsfComIfsService/callService", self.base)).bearer_auth(&h.token).json(&body).send().await.unwrap();
        res.json().await.unwrap()
    }

    async fn interface(&self, h: &Hospital, infno: &str, msgid: &str, input: Value) -> Value {
        let v = self.interface_answer(h, infno, msgid, input).await;
        assert_eq!(v["infcode"], 0, "{infno} {msgid}: {v}");
        v["output"].clone()
    }

    /// Registers and uploads one visit on `date` and sends its 2207; the whole answer.
    pub(crate) async fn settle_on(&self, h: &Hospital, card_number: &str, insutype: &str, tag: &str, date: &str, lines: &[(&str, &str)]) -> Value {
        self.set_now(&format!("{date}T10:00:00+08:00")).await;
        let msgid = |n: u32| format!("{}{}{tag}{n}", h.institution, date.replace('-', ""));
        let begntime = format!("{date} 10:00:00");
        let cert = json!({"mdtrt_cert_type": "03", "mdtrt_cert_no": card_number, "card_sn": ""});
        let info = self.interface(h, "1101", &msgid(1), json!({"data": cert})).await;
        let psn_no = info["baseinfo"]["psn_no"].as_str().unwrap().to_string();
        let reg = self.interface(h, "2201", &msgid(2), json!({"data": {"psn_no": psn_no, "insutype": insutype, "begntime": begntime, "mdtrt_cert_type": "03", "mdtrt_cert_no": card_number, "ipt_otp_no": format!("MZ{tag}")}})).await;
        let mdtrt_id = reg["data"]["mdtrt_id"].as_str().unwrap().to_string();
        let feedetail: Vec<Value> = lines
            .iter()
            .enumerate()
            .map(|(i, (code, amount))| json!({"feedetl_sn": (i + 1).to_string(), "mdtrt_id": mdtrt_id, "psn_no": psn_no, "chrg_bchno": "B1", "fee_ocur_time": begntime, "med_list_codg": code, "medins_list_codg": code, "det_item_fee_sumamt": amount, "cnt": "1", "pric": amount}))
            .collect();
        self.interface(h, "2204", &msgid(3), json!({"feedetail": feedetail})).await;
        let total: i64 = lines.iter().map(|(_, a)| Fen::parse_yuan(a).unwrap().0).sum();
        self.interface_answer(h, "2207", &msgid(4), json!({"data": {"psn_no": psn_no, "mdtrt_cert_type": "03", "mdtrt_cert_no": card_number, "med_type": "11", "medfee_sumamt": Fen(total).to_string(), "psn_setlway": "01", "mdtrt_id": mdtrt_id, "chrg_bchno": "B1", "acct_used_flag": "0", "insutype": insutype}}))
            .await
    }

    /// A visit that settles: its setlinfo and the receipt view.
    async fn visit(&self, h: &Hospital, card_number: &str, insutype: &str, tag: &str, date: &str, lines: &[(&str, &str)]) -> (Value, Value) {
        let out = self.settle_on(h, card_number, insutype, tag, date, lines).await;
        assert_eq!(out["infcode"], 0, "2207 on {date}: {out}");
        let setlinfo = out["output"]["setlinfo"].clone();
        let receipt = self.ok("GET", &format!("/v1/settlements/{}", setlinfo["setl_id"].as_str().unwrap()), &self.operator, None).await;
        (setlinfo, receipt)
    }

    /// Settles the holders' year in `region` and checks every receipt as worked by hand.
    async fn settle_a_year(&self, region: &Hospital, visits: &Visits, holders: &[Holder]) {
        self.set_now("2026-01-05T10:00:00+08:00").await;
        let mut ssns = Vec::new();
        for (i, h) in holders.iter().enumerate() {
            let ssn = yikatong_service::demo::make_ssn(region.division, h.birth.parse().unwrap(), 501 + 2 * i as u32);
            let body = json!({"ssn": ssn, "name": h.label, "ethnicity": "01", "category": h.category, "region": region.region, "flags": h.flags});
            let (s, v) = self.op("POST", "/v1/persons", Some(body)).await;
            assert_eq!(s.as_u16(), 201, "{v}");
            ssns.push(ssn);
        }
        let cards = yikatong_service::demo::issue_active_cards(&self.service, &ssns, &format!("O{}", &region.region[..2].to_uppercase()), &region.institution).await.unwrap();
        for (h, card) in holders.iter().zip(&cards) {
            let number = self.ok("GET", &format!("/v1/cards/{card}"), &self.operator, None).await["card_number"].as_str().unwrap().to_string();
            let insutype = if h.category == "resident" { "390" } else { "310" };
            for (n, ((date, lines), worked)) in visits.iter().zip(&h.receipts).enumerate() {
                let tag = format!("{card}{n}");
                let (s, receipt) = self.visit(region, &number, insutype, &tag, date, lines).await;
                let got = (
                    s["act_pay_dedc"].as_str(),
                    s["hifp_pay"].as_str(),
                    s["hifob_pay"].as_str(),
                    s["hifes_pay"].as_str(),
                    s["oth_pay"].as_str(),
                    s["psn_cash_pay"].as_str(),
                    Some(Fen(receipt["self_pay_1_fen"].as_i64().unwrap()).to_string()),
                );
                let want = (Some(worked.0), Some(worked.1), Some(worked.2), Some(worked.3), Some(worked.4), Some(worked.5), Some(worked.6.to_string()));
                assert_eq!(got, want, "{} {}, visit {} on {date}: {s}", region.region, h.label, n + 1);
                let fen = |f: &str| Fen::parse_yuan(s[f].as_str().unwrap()).unwrap();
                let funds = ["hifp_pay", "hifob_pay", "hifes_pay", "cvlserv_pay", "oth_pay", "hifmi_pay", "maf_pay"].iter().fold(Fen::ZERO, |a, f| a + fen(f));
                assert_eq!(fen("fund_pay_sumamt"), funds, "the funds add up to the fund payment: {s}");
                assert_eq!(fen("medfee_sumamt"), fen("fund_pay_sumamt") + fen("psn_part_amt"), "total = fund + personal: {s}");
                let parts: i64 = receipt["funds"].as_array().unwrap().iter().map(|f| f["amount_fen"].as_i64().unwrap()).sum();
                assert_eq!(Fen(parts), fen("fund_pay_sumamt"), "the receipt's funds: {receipt}");
            }
        }
        self.verified().await;
    }
}

pub(crate) async fn catalogue(app: &TestApp) {
    let item = |code: &str, kind| CatalogItem { code: code.into(), name: code.into(), kind, class: ItemClass::A, price_ceiling_fen: None };
    app.db.store.upsert_catalog_items(&[item("A1", ItemKind::Drug), item("DIAG", ItemKind::DiagnosisFee)], app.service.clock().now()).await.unwrap();
}

on_both_databases!(r_set_2_r_set_3_a_year_in_beijing_to_the_fen, |db: TestDb| async move {
    let app = crate::spawn_app(db).await;
    catalogue(&app).await;
    let region = app.region_with_hospital("beijing", "110000", "110105").await;
    app.settle_a_year(&region, &BEIJING_VISITS, &BEIJING).await;
});

on_both_databases!(r_set_2_r_set_3_a_year_in_hebei_to_the_fen, |db: TestDb| async move {
    let app = crate::spawn_app(db).await;
    catalogue(&app).await;
    let region = app.region_with_hospital("hebei", "130000", "130102").await;
    app.settle_a_year(&region, &VISITS, &HEBEI).await;
});

on_both_databases!(r_set_2_r_set_3_a_year_in_suzhou_to_the_fen, |db: TestDb| async move {
    let app = crate::spawn_app(db).await;
    catalogue(&app).await;
    let region = app.region_with_hospital("suzhou", "320500", "320505").await;
    app.settle_a_year(&region, &VISITS, &SUZHOU).await;
});

// The catalogue of the place of care on the visit's date (R-XREG-2, SPEC §9): an item's
// class can change on a date and differ by region; the region-independent entry serves
// every region without its own.
on_both_databases!(r_xreg_2_the_catalogue_is_the_place_of_cares_on_the_visit_date, |db: TestDb| async move {
    let app = crate::spawn_app(db).await;
    let items = json!([
        {"code": "D1", "name": "示例药", "kind": "drug", "class": "A"},
        {"code": "D1", "name": "示例药", "kind": "drug", "class": "C", "region": "hebei", "valid_from": "2026-07-01"},
    ]);
    app.ok("POST", "/v1/catalog/items", &app.operator, Some(items)).await;
    let (s, v) = app.op("POST", "/v1/catalog/items", Some(json!([{"code": "D2", "name": "x", "kind": "drug", "class": "A", "region": "atlantis"}]))).await;
    assert_eq!((s.as_u16(), v["code"].as_str()), (422, Some("unknown_region")), "{v}");
    // A file's rows may carry the region and the date too.
    let csv = "code,name,kind,class,price_ceiling_fen,region,valid_from\nD3,示例,drug,B,,suzhou,2026-01-01\nD3,示例,drug,A,,,\nD4,坏,drug,A,,,2026-13-01\n";
    let report = app.service.import_catalog_csv(std::io::Cursor::new(csv)).await.unwrap();
    assert_eq!((report.accepted, report.refused.len(), report.refused.first().map(|r| r.line)), (2, 1, Some(4)), "{report:?}");

    let hebei = app.region_with_hospital("hebei", "130000", "130102").await;
    app.set_now("2026-01-05T10:00:00+08:00").await;
    let ssn = yikatong_service::demo::make_ssn("130102", "1986-01-01".parse().unwrap(), 41);
    app.op("POST", "/v1/persons", Some(json!({"ssn": ssn, "name": "河北", "ethnicity": "01", "category": "in_service", "region": "hebei"}))).await;
    let card = yikatong_service::demo::issue_active_cards(&app.service, std::slice::from_ref(&ssn), "OHE", &hebei.institution).await.unwrap()[0];
    let number = app.ok("GET", &format!("/v1/cards/{card}"), &app.operator, None).await["card_number"].as_str().unwrap().to_string();
    let (june, _) = app.visit(&hebei, &number, "310", "C1", "2026-06-01", &[("D1", "100.00")]).await;
    assert_eq!((june["inscp_scp_amt"].as_str(), june["fulamt_ownpay_amt"].as_str()), (Some("100.00"), Some("0.00")), "class A before Hebei's entry: {june}");
    let (july, _) = app.visit(&hebei, &number, "310", "C2", "2026-07-02", &[("D1", "100.00")]).await;
    assert_eq!((july["inscp_scp_amt"].as_str(), july["fulamt_ownpay_amt"].as_str()), (Some("0.00"), Some("100.00")), "class C in Hebei from July: {july}");
    assert_eq!(
        app.db.store.catalog_items(&["D1".into()], "beijing", "2026-07-02".parse().unwrap()).await.unwrap()[0].class,
        ItemClass::A,
        "Beijing keeps the region-independent entry"
    );
    let suzhou = app.db.store.catalog_items(&["D3".into()], "suzhou", "2026-03-01".parse().unwrap()).await.unwrap();
    assert_eq!(suzhou[0].class, ItemClass::B);
});
