//! Settlement through the national HIS interface, with request shapes as public HIS
//! client code builds them (envelope, `{"data":…}`, `{"feedetail":[…]}`,
//! `{"mdtrtinfo":…,"diseinfo":[…]}`), on both databases.

use serde_json::{Value, json};
use yikatong_store::on_both_databases;
use yikatong_store::testing::TestDb;

use super::cards::{Roles, start};
use super::{SSN, TestApp, assert_problem};

pub(crate) const VENDOR_CODE: &str = "110000D15600000500000000000000AB";

impl TestApp {
    /// One call of the national interface with the envelope HIS software sends.
    pub(crate) async fn his(&self, token: &str, infno: &str, msgid: &str, input: Value) -> Value {
        let body = json!({
            "infno": infno,
            "msgid": msgid,
            "mdtrtarea_admvs": "110000",
            "insuplc_admdvs": "110000",
            "recer_sys_code": "FSI_LOCAL",
            "dev_no": "",
            "dev_safe_info": "",
            "cainfo": "",
            "signtype": "SM3",
            "infver": "V1.0",
            "opter_type": "1",
            "opter": "001",
            "opter_name": "收费员",
            "inf_time": "2026-03-02 10:00:00",
            "fixmedins_code": "H1",
            "fixmedins_name": "示范医院",
            "sign_no": "",
            "input": input,
        });
        let res = self.client.post(format!("{}/fsi/api/rsfComIfsService/callService", self.base)).bearer_auth(token).json(&body).send().await.unwrap();
        assert_eq!(res.status().as_u16(), 200);
        res.json().await.unwrap()
    }

    pub(crate) async fn his_ok(&self, token: &str, infno: &str, msgid: &str, input: Value) -> Value {
        let v = self.his(token, infno, msgid, input).await;
        assert_eq!(v["infcode"], 0, "{infno}: {v}");
        assert!(v["inf_refmsgid"].as_str().unwrap().starts_with("110000"));
        assert_eq!(v["refmsg_time"].as_str().unwrap().len(), 17);
        v["output"].clone()
    }

    async fn his_refused(&self, token: &str, infno: &str, msgid: &str, input: Value, code: &str) -> String {
        refusal_of(&self.his(token, infno, msgid, input).await, infno, code)
    }

    pub(crate) async fn catalogue(&self) {
        let (s, v) = self
            .op(
                "POST",
                "/v1/catalog/items",
                Some(json!([
                    {"code": "DIAG", "name": "门诊诊察费", "kind": "diagnosis_fee", "class": "A"},
                    {"code": "A1", "name": "阿莫西林胶囊", "kind": "drug", "class": "A"},
                    {"code": "B1", "name": "乙类药品", "kind": "drug", "class": "B"},
                    {"code": "C1", "name": "丙类治疗", "kind": "treatment", "class": "C"},
                    {"code": "A2", "name": "限价药品", "kind": "drug", "class": "A", "price_ceiling_fen": 8000},
                    {"code": "REG", "name": "挂号费", "kind": "registration_fee", "class": "C"},
                ])),
            )
            .await;
        assert_eq!(s.as_u16(), 201, "{v}");
    }

    /// 1101 then 2201 and 2203A with the card; returns (psn_no, mdtrt_id).
    pub(crate) async fn register(&self, inst: &str, card_id: i64, tag: &str) -> (String, String) {
        let out = self.his_ok(inst, "1101", &format!("H1202603021000{tag}01"), json!({"data": {"mdtrt_cert_type": "03", "mdtrt_cert_no": format!("F{card_id:08}"), "card_sn": VENDOR_CODE, "begntime": "2026-03-02 10:00:00", "psn_cert_type": "", "certno": "", "psn_name": ""}})).await;
        let psn_no = out["baseinfo"]["psn_no"].as_str().unwrap().to_string();
        let reg = self
            .his_ok(inst, "2201", &format!("H1202603021000{tag}02"), json!({"data": {"psn_no": psn_no, "insutype": "310", "begntime": "2026-03-02 10:00:00", "mdtrt_cert_type": "03", "mdtrt_cert_no": format!("F{card_id:08}"), "card_sn": VENDOR_CODE, "ipt_otp_no": format!("MZ{tag}"), "atddr_no": "D001", "dr_name": "李医生", "dept_code": "A01", "dept_name": "内科", "caty": "A03"}}))
            .await;
        let mdtrt_id = reg["data"]["mdtrt_id"].as_str().unwrap().to_string();
        self.his_ok(inst, "2203A", &format!("H1202603021000{tag}03"), json!({"mdtrtinfo": {"mdtrt_id": mdtrt_id, "psn_no": psn_no, "med_type": "11", "begntime": "2026-03-02 10:00:00", "main_cond_dscr": "", "dise_codg": "J06.900", "dise_name": "急性上呼吸道感染"}, "diseinfo": [{"diag_type": "1", "diag_srt_no": "1", "diag_code": "J06.900", "diag_name": "急性上呼吸道感染", "diag_dept": "内科", "dise_dor_no": "D001", "dise_dor_name": "李医生", "diag_time": "2026-03-02 10:05:00", "vali_flag": "1"}]})).await;
        (psn_no, mdtrt_id)
    }

    pub(crate) async fn upload(&self, inst: &str, mdtrt_id: &str, psn_no: &str, msgid: &str, lines: &[(&str, &str, Value, Value, &str)]) -> Value {
        let feedetail: Vec<Value> = lines
            .iter()
            .map(|(sn, code, cnt, pric, amt)| json!({"feedetl_sn": sn, "mdtrt_id": mdtrt_id, "psn_no": psn_no, "chrg_bchno": "B001", "dise_codg": "", "rxno": "", "rx_circ_flag": "0", "fee_ocur_time": "2026-03-02 10:10:00", "med_list_codg": code, "medins_list_codg": code, "det_item_fee_sumamt": amt, "cnt": cnt, "pric": pric, "sin_dos_dscr": "", "used_frqu_dscr": "", "prd_days": 1, "medc_way_dscr": "", "bilg_dept_codg": "A01", "bilg_dept_name": "内科", "bilg_dr_codg": "D001", "bilg_dr_name": "李医生", "hosp_appr_flag": "1"}))
            .collect();
        self.his(inst, "2204", msgid, json!({"feedetail": feedetail})).await
    }

    #[allow(clippy::too_many_arguments)] // the 2206/2207 fields a test varies
    pub(crate) async fn settle(&self, inst: &str, infno: &str, msgid: &str, psn_no: &str, mdtrt_id: &str, total: &str, acct: &str) -> Value {
        self.his(inst, infno, msgid, json!({"data": {"psn_no": psn_no, "mdtrt_cert_type": "03", "mdtrt_cert_no": "", "med_type": "11", "medfee_sumamt": total, "psn_setlway": "01", "mdtrt_id": mdtrt_id, "chrg_bchno": "B001", "acct_used_flag": acct, "insutype": "310", "invono": "", "fulamt_ownpay_amt": "0", "overlmt_selfpay": "0", "preselfpay_amt": "0", "inscp_scp_amt": "0"}})).await
    }

    /// R-CERT-1: a formal loss, then a visit registered with the ID card on the
    /// replacement's certificate and 3,000 yuan of lines uploaded; returns (certificate
    /// number, psn_no, mdtrt_id).
    pub(crate) async fn certificate_visit(&self, r: &Roles, card: i64) -> (String, String, String) {
        let rep = self.ok("POST", &format!("/v1/cards/{card}/formal-loss"), &r.clerk, Some(json!({"delivery": "outlet"}))).await;
        let number = rep["certificate"]["number"].as_str().unwrap().to_string();
        let inst = &r.institution;
        let out = self
            .his_ok(
                inst,
                "1101",
                "H120260302100000CC01",
                json!({"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": SSN, "begntime": "2026-03-02 10:00:00", "psn_cert_type": "01", "certno": SSN, "psn_name": "张三"}}),
            )
            .await;
        let psn_no = out["baseinfo"]["psn_no"].as_str().unwrap().to_string();
        let reg = self.his_ok(inst, "2201", "H120260302100000CC04", json!({"data": {"psn_no": psn_no, "insutype": "310", "begntime": "2026-03-02 10:00:00", "mdtrt_cert_type": "02", "mdtrt_cert_no": SSN, "ipt_otp_no": "MZCC", "certificate_no": number}})).await;
        let mdtrt_id = reg["data"]["mdtrt_id"].as_str().unwrap().to_string();
        let lines = self.upload(inst, &mdtrt_id, &psn_no, "H120260302100000CC05", &[("1", "A1", json!("2"), json!("1500"), "3000.00")]).await;
        assert_eq!(lines["infcode"], 0, "{lines}");
        (number, psn_no, mdtrt_id)
    }

    /// `GET /v1/verify` finds no violation.
    pub(crate) async fn verified(&self) -> Value {
        let report = self.ok("GET", "/v1/verify", &self.operator, None).await;
        assert_eq!(report["violations"], 0, "{report:#}");
        report
    }

    /// Runs `sql` on the test database past the service (to break an invariant).
    pub(crate) async fn tamper(&self, sql: &str) {
        yikatong_store::testing::run_raw_sql(&self.db.url, sql).await.unwrap();
    }

    async fn balance(&self) -> i64 {
        self.ok("GET", &format!("/v1/persons/{SSN}/account"), &self.operator, None).await["balance_fen"].as_i64().unwrap()
    }
}

/// The message of an interface answer that must be a refusal with `code`.
pub(crate) fn refusal_of(v: &Value, infno: &str, code: &str) -> String {
    assert_eq!(v["infcode"], -1, "{infno}: {v:#}");
    let msg = v["err_msg"].as_str().unwrap().to_string();
    assert!(msg.contains(&format!("[{code}]")), "{msg}");
    msg
}

pub(crate) async fn ready(db: TestDb) -> (TestApp, Roles, i64) {
    ready_app(start(db).await).await
}

/// The catalogue, an active card of the person and 500 yuan in their account.
pub(crate) async fn ready_app((app, r): (TestApp, Roles)) -> (TestApp, Roles, i64) {
    app.catalogue().await;
    let card = app.active_card(&r, false).await;
    app.ok("POST", &format!("/v1/persons/{SSN}/account/credits"), &app.operator, Some(json!({"amount_fen": 50000, "reason": "transfer from Tianjin", "kind": "transfer_in"})))
        .await;
    (app, r, card)
}

/// The golden receipt of the core tests, through the interface.
const GOLDEN_LINES: [(&str, &str, &str, &str, &str); 5] = [
    ("1", "DIAG", "1", "50", "50.00"),
    ("2", "A1", "2", "1500", "3000.00"),
    ("3", "B1", "1.0000", "200.000000", "200.00"),
    ("4", "C1", "1", "100", "100.00"),
    ("5", "A2", "3", "100", "300.00"),
];

fn golden() -> Vec<(&'static str, &'static str, Value, Value, &'static str)> {
    // cnt and pric arrive as JSON numbers from some clients and as strings from others.
    GOLDEN_LINES
        .iter()
        .enumerate()
        .map(
            |(i, (sn, code, cnt, pric, amt))| {
                if i % 2 == 0 { (*sn, *code, json!(cnt.parse::<f64>().unwrap()), json!(pric.parse::<f64>().unwrap()), *amt) } else { (*sn, *code, json!(cnt), json!(pric), *amt) }
            },
        )
        .collect()
}

on_both_databases!(r_set_3_outpatient_visit_through_the_national_interface, |db: TestDb| async move {
    let (app, r, card) = ready(db).await;
    let sign = app.his_ok(&r.institution, "9001", "H120260302100000000001", json!({"signIn": {"opter_no": "001", "mac": "00-11", "ip": "10.0.0.1"}})).await;
    assert!(!sign["signinoutb"]["sign_no"].as_str().unwrap().is_empty());
    let (psn_no, mdtrt_id) = app.register(&r.institution, card, "AA").await;
    // 1101 shows the person with the account balance; by ID card, the number sent.
    let info = app
        .his_ok(
            &r.institution,
            "1101",
            "H120260302100000000002",
            json!({"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": SSN, "card_sn": "", "begntime": "", "psn_cert_type": "01", "certno": SSN, "psn_name": ""}}),
        )
        .await;
    assert_eq!((info["baseinfo"]["psn_no"].as_str(), info["baseinfo"]["certno"].as_str(), info["baseinfo"]["gend"].as_str()), (Some(psn_no.as_str()), Some(SSN), Some("2")));
    assert_eq!(
        (info["insuinfo"][0]["balc"].as_str(), info["insuinfo"][0]["insutype"].as_str(), info["insuinfo"][0]["psn_type"].as_str()),
        (Some("500.00"), Some("310"), Some("1101"))
    );
    let up = app.upload(&r.institution, &mdtrt_id, &psn_no, "H120260302100000000003", &golden()).await;
    assert_eq!(up["infcode"], 0, "{up}");
    let result = &up["output"]["result"];
    assert_eq!((result[2]["preselfpay_amt"].as_str(), result[2]["chrgitm_lv"].as_str(), result[2]["selfpay_prop"].as_str()), (Some("20.00"), Some("02"), Some("0.1000")));
    assert_eq!((result[4]["overlmt_amt"].as_str(), result[4]["pric_uplmt_amt"].as_str()), (Some("60.00"), Some("80.000000")));
    // 2206 previews and books nothing.
    let pre = app.settle(&r.institution, "2206", "H120260302100000000004", &psn_no, &mdtrt_id, "3650.00", "1").await;
    assert_eq!(pre["infcode"], 0, "{pre}");
    assert_eq!((pre["output"]["setlinfo"]["fund_pay_sumamt"].as_str(), pre["output"]["setlinfo"]["hifob_pay"].as_str()), (Some("1136.00"), Some("1134.00")));
    assert_eq!(app.balance().await, 50000);
    let out = app.settle(&r.institution, "2207", "H120260302100000000005", &psn_no, &mdtrt_id, "3650.00", "1").await;
    assert_eq!(out["infcode"], 0, "{out}");
    let s = &out["output"]["setlinfo"];
    for (field, want) in [
        ("medfee_sumamt", "3650.00"),
        ("fulamt_ownpay_amt", "148.00"),
        ("overlmt_selfpay", "60.00"),
        ("preselfpay_amt", "20.00"),
        ("inscp_scp_amt", "3420.00"),
        ("act_pay_dedc", "1800.00"),
        ("hifp_pay", "2.00"),
        ("hifob_pay", "1134.00"),
        ("hifes_pay", "0.00"),
        ("fund_pay_sumamt", "1136.00"),
        ("psn_part_amt", "2514.00"),
        ("acct_pay", "500.00"),
        ("psn_cash_pay", "2014.00"),
        ("balc", "0.00"),
    ] {
        assert_eq!(s[field], want, "{field}: {s}");
    }
    assert_eq!((s["pool_prop_selfpay"].as_str(), s["certno"].as_str(), s["clr_optins"].as_str()), (Some("0.7000"), Some("110105********002X"), Some("110000")));
    let detail = out["output"]["setldetail"].as_array().unwrap();
    let rows: Vec<(&str, &str)> = detail.iter().map(|d| (d["fund_pay_type"].as_str().unwrap(), d["fund_payamt"].as_str().unwrap())).collect();
    assert_eq!(rows, [("310100", "2.00"), ("330100", "1134.00"), ("310200", "500.00")], "one row per fund that paid, then the account");
    let setl_id = s["setl_id"].as_str().unwrap().to_string();
    assert_eq!(app.balance().await, 0);
    // A repeated msgid gets the first answer and books nothing twice.
    let again = app.settle(&r.institution, "2207", "H120260302100000000005", &psn_no, &mdtrt_id, "3650.00", "1").await;
    assert_eq!(again, out);
    // The booking's time is a histogram; the repeat booked nothing and is not counted.
    let (_, metrics) = app.call("GET", "/metrics", None, None).await;
    let metrics = metrics.as_str().unwrap_or_default().to_string();
    assert!(metrics.contains("ykt_settlement_booking_seconds_count{outcome=\"booked\"} 1\n"), "{metrics}");
    assert!(metrics.contains("ykt_settlement_booking_seconds_bucket{outcome=\"booked\",le=\"10\"} 1\n"), "{metrics}");
    let account = app.ok("GET", &format!("/v1/persons/{SSN}/account"), &r.holder, None).await;
    assert_eq!(account["entries"].as_array().unwrap().len(), 2, "{account}");
    assert_eq!(account["entries"][1]["amount_fen"], -50000);
    // 5203 finds it; the operator sees its trace.
    let q = app.his_ok(&r.institution, "5203", "H120260302100000000006", json!({"data": {"psn_no": psn_no, "setl_id": setl_id, "mdtrt_id": mdtrt_id}})).await;
    assert_eq!(q["setlinfo"]["psn_cash_pay"], "2014.00");
    let trace = app.ok("GET", &format!("/v1/settlements/{setl_id}/trace"), &app.operator, None).await;
    assert_eq!(
        (trace["receipt"]["total_fen"].as_i64(), trace["receipt"]["self_pay_2_fen"].as_i64(), trace["receipt"]["own_expense_fen"].as_i64()),
        (Some(365000), Some(2000), Some(20800))
    );
    let funds: Vec<(&str, i64)> = trace["receipt"]["funds"].as_array().unwrap().iter().map(|f| (f["fund"].as_str().unwrap(), f["amount_fen"].as_i64().unwrap())).collect();
    assert_eq!(funds, [("basic", 200), ("large_amount", 113_400)], "the receipt names each fund: {trace}");
    let steps = trace["trace"].as_array().unwrap();
    assert!(steps.iter().any(|t| t["parameter"] == "outpatient.fund_ratio.in_service.hospital" && t["value"] == "7000" && t["from"] == "2001-04-01"), "{trace}");
    let (s_, v) = app.call("GET", &format!("/v1/settlements/{setl_id}/trace"), Some(&r.clerk), None).await;
    assert_problem(s_, &v, 403, "not_allowed_on_channel");
    // The card's social zone was in use: its history shows the start at this institution.
    let events = app.ok("GET", &format!("/v1/cards/{card}/events"), &app.operator, None).await;
    assert!(events.as_array().unwrap().iter().any(|e| e["type"] == "zone_activated" && e["place"] == "H1"));
});

on_both_databases!(r_set_7_reversal_restores_year_totals_and_account_exactly, |db: TestDb| async move {
    let (app, r, card) = ready(db).await;
    let (psn_no, mdtrt_id) = app.register(&r.institution, card, "BB").await;
    app.upload(&r.institution, &mdtrt_id, &psn_no, "H120260302110000000001", &golden()).await;
    let first = app.settle(&r.institution, "2207", "H120260302110000000002", &psn_no, &mdtrt_id, "3650.00", "1").await;
    let setl_id = first["output"]["setlinfo"]["setl_id"].as_str().unwrap().to_string();
    let rev = app.his_ok(&r.institution, "2208", "H120260302110000000003", json!({"data": {"setl_id": setl_id, "mdtrt_id": mdtrt_id, "psn_no": psn_no}})).await;
    assert_eq!(
        (rev["setlinfo"]["medfee_sumamt"].as_str(), rev["setlinfo"]["acct_pay"].as_str(), rev["setlinfo"]["setl_stas"].as_str()),
        (Some("-3650.00"), Some("-500.00"), Some("reversed"))
    );
    assert_eq!(app.balance().await, 50000, "the account is restored");
    app.his_refused(&r.institution, "2208", "H120260302110000000004", json!({"data": {"setl_id": setl_id, "mdtrt_id": mdtrt_id, "psn_no": psn_no}}), "already_reversed").await;
    // Settled again, the receipt is the same: the deductible and cap were restored.
    let second = app.settle(&r.institution, "2207", "H120260302110000000005", &psn_no, &mdtrt_id, "3650.00", "1").await;
    for f in ["act_pay_dedc", "hifp_pay", "acct_pay", "psn_cash_pay"] {
        assert_eq!(second["output"]["setlinfo"][f], first["output"]["setlinfo"][f], "{f}");
    }
    app.verified().await;
});

// R-SET-7: a settlement found to be a work injury is reversed exactly, the holder owes
// the rest in cash, and a claim with the lines goes to work-injury insurance; the visit
// no longer settles. Racing the hospital's own 2208, one of the two reverses it.
on_both_databases!(r_set_7_a_work_injury_is_reversed_and_claimed_with_its_lines, |db: TestDb| async move {
    let (app, r, card) = ready(db).await;
    let (psn_no, mdtrt_id) = app.register(&r.institution, card, "WI").await;
    app.upload(&r.institution, &mdtrt_id, &psn_no, "H120260302120000000001", &golden()).await;
    let first = app.settle(&r.institution, "2207", "H120260302120000000002", &psn_no, &mdtrt_id, "3650.00", "1").await;
    let setl_id = first["output"]["setlinfo"]["setl_id"].as_str().unwrap().to_string();
    let path = format!("/v1/settlements/{setl_id}/work-injury");
    let (s, v) = app.call("POST", &path, Some(&r.institution), None).await;
    assert_problem(s, &v, 403, "not_allowed_on_channel");
    let (s, answer) = app.op("POST", &path, None).await;
    assert_eq!(s.as_u16(), 201, "{answer}");
    assert_eq!((answer["state"].as_str(), answer["setl_id"].as_str()), (Some("reversed"), Some(setl_id.as_str())));
    assert_eq!(answer["cash_due_fen"], 113_600 + 50_000, "the fund's 1,136 and the account's 500 are the holder's now: {answer}");
    assert_eq!(app.balance().await, 50000, "the account is restored");
    let claim = app.ok("GET", &format!("/v1/work-injury-claims/{}", answer["claim_id"].as_str().unwrap()), &app.operator, None).await;
    assert_eq!((claim["total_fen"].as_i64(), claim["lines"].as_array().map(Vec::len), claim["state"].as_str()), (Some(365_000), Some(5), Some("open")), "{claim}");
    let (s, v) = app.op("POST", &path, None).await;
    assert_problem(s, &v, 409, "already_reversed");
    // The visit is the claim's now: no second settlement of it.
    let again = app.settle(&r.institution, "2207", "H120260302120000000003", &psn_no, &mdtrt_id, "3650.00", "1").await;
    refusal_of(&again, "2207", "work_injury");
    // The year totals came back: the next visit charges the deductible again.
    let (psn_no, other) = app.register(&r.institution, card, "WJ").await;
    app.upload(&r.institution, &other, &psn_no, "H120260302120000000004", &golden()).await;
    let next = app.settle(&r.institution, "2207", "H120260302120000000005", &psn_no, &other, "3650.00", "0").await;
    assert_eq!(next["output"]["setlinfo"]["act_pay_dedc"], "1800.00");
    // The hospital's 2208 and the operator's declaration race: one reverses it.
    let next_id = next["output"]["setlinfo"]["setl_id"].as_str().unwrap().to_string();
    let declare = format!("/v1/settlements/{next_id}/work-injury");
    let (hospital, operator) = tokio::join!(
        app.his(&r.institution, "2208", "H120260302120000000006", json!({"data": {"setl_id": next_id, "mdtrt_id": other, "psn_no": psn_no}})),
        app.op("POST", &declare, None),
    );
    let hospital_won = hospital["infcode"] == 0;
    assert_ne!(hospital_won, operator.0.as_u16() == 201, "exactly one reverses: {hospital} {operator:?}");
    if hospital_won {
        assert_eq!(operator.1["code"], "already_reversed", "{operator:?}");
    } else {
        refusal_of(&hospital, "2208", "already_reversed");
    }
    app.verified().await;
});

// R-SET-5: the registration fee is settled apart from the visit's other costs: as its
// own 2207 (med_type 12) where the HIS sends it so, or split off by the visit's 2207 into
// its own settlement; never inside the visit's receipt.
on_both_databases!(r_set_5_the_registration_fee_is_its_own_settlement, |db: TestDb| async move {
    let (app, r, card) = ready(db).await;
    let settle_registration = |msgid: &'static str, psn_no: String, mdtrt_id: String, total: &'static str| {
        let app = &app;
        let inst = r.institution.clone();
        async move {
            app.his(&inst, "2207", msgid, json!({"data": {"psn_no": psn_no, "mdtrt_cert_type": "03", "med_type": "12", "medfee_sumamt": total, "mdtrt_id": mdtrt_id, "acct_used_flag": "1", "insutype": "310"}})).await
        }
    };
    // Registered, the fee paid at once as its own settlement, then the visit.
    let (psn_no, mdtrt_id) = app.register(&r.institution, card, "RG").await;
    app.upload(&r.institution, &mdtrt_id, &psn_no, "H120260302150000000001", &[("1", "REG", json!("1"), json!("5"), "5.00")]).await;
    let reg = settle_registration("H120260302150000000002", psn_no.clone(), mdtrt_id.clone(), "5.00").await;
    assert_eq!(reg["infcode"], 0, "{reg}");
    let rs = &reg["output"]["setlinfo"];
    assert_eq!(
        (rs["medfee_sumamt"].as_str(), rs["fulamt_ownpay_amt"].as_str(), rs["fund_pay_sumamt"].as_str(), rs["acct_pay"].as_str(), rs["act_pay_dedc"].as_str()),
        (Some("5.00"), Some("5.00"), Some("0.00"), Some("0.00"), Some("0.00")),
        "the holder pays the fee, nothing counts toward the deductible: {rs}"
    );
    let again = settle_registration("H120260302150000000003", psn_no.clone(), mdtrt_id.clone(), "5.00").await;
    assert!(refusal_of(&again, "2207", "already_settled").contains(rs["setl_id"].as_str().unwrap()));
    app.upload(&r.institution, &mdtrt_id, &psn_no, "H120260302150000000004", &[("2", "A1", json!("1"), json!("100"), "100.00")]).await;
    let visit = app.settle(&r.institution, "2207", "H120260302150000000005", &psn_no, &mdtrt_id, "100.00", "0").await;
    let vs = &visit["output"]["setlinfo"];
    assert_eq!(
        (vs["medfee_sumamt"].as_str(), vs["fulamt_ownpay_amt"].as_str(), vs["act_pay_dedc"].as_str()),
        (Some("100.00"), Some("0.00"), Some("100.00")),
        "the visit's receipt has no registration fee: {vs}"
    );
    assert_ne!(vs["setl_id"], rs["setl_id"]);

    // Sent together, the visit's 2207 books the fee as its own settlement beside it.
    let (psn_no, other) = app.register(&r.institution, card, "RH").await;
    app.upload(&r.institution, &other, &psn_no, "H120260302150000000006", &[("1", "REG", json!("1"), json!("5"), "5.00"), ("2", "A1", json!("1"), json!("100"), "100.00")]).await;
    let both = app.settle(&r.institution, "2207", "H120260302150000000007", &psn_no, &other, "105.00", "0").await;
    let bs = &both["output"]["setlinfo"];
    assert_eq!((bs["medfee_sumamt"].as_str(), bs["fulamt_ownpay_amt"].as_str()), (Some("100.00"), Some("0.00")), "{bs}");
    let reg_id = bs["memo"].as_str().unwrap().strip_prefix("registration fee settled apart: ").unwrap().to_string();
    let q = app.his_ok(&r.institution, "5203", "H120260302150000000008", json!({"data": {"psn_no": psn_no, "setl_id": reg_id, "mdtrt_id": other}})).await;
    assert_eq!((q["setlinfo"]["medfee_sumamt"].as_str(), q["setlinfo"]["fulamt_ownpay_amt"].as_str()), (Some("5.00"), Some("5.00")), "{q}");
    // Each is reversed on its own.
    app.his_ok(&r.institution, "2208", "H120260302150000000009", json!({"data": {"setl_id": reg_id, "mdtrt_id": other, "psn_no": psn_no}})).await;
    let kept = app.his_ok(&r.institution, "5203", "H120260302150000000010", json!({"data": {"psn_no": psn_no, "setl_id": bs["setl_id"], "mdtrt_id": other}})).await;
    assert_eq!(kept["setlinfo"]["setl_stas"], "settled");
    // The day's reconciliation counts both kinds.
    let totals = app.his_ok(&r.institution, "3201", "H120260302150000000011", json!({"data": {"insutype": "310", "clr_type": "11", "setl_optins": "110000", "stmt_begndate": "2026-03-02", "stmt_enddate": "2026-03-02", "medfee_sumamt": "0", "fund_pay_sumamt": "0", "acct_pay": "0", "fixmedins_setl_cnt": 0}})).await;
    assert_eq!(totals["stmtinfo"]["fixmedins_setl_cnt"], 5, "two registrations, two visits, one reversal: {totals}");
    app.verified().await;
});

on_both_databases!(r_set_10_refusals_name_the_reason, |db: TestDb| async move {
    let (app, r, card) = ready(db).await;
    let (psn_no, mdtrt_id) = app.register(&r.institution, card, "CC").await;
    let unknown = app.upload(&r.institution, &mdtrt_id, &psn_no, "H120260302120000000001", &[("1", "NOPE", json!("1"), json!("10"), "10.00")]).await;
    assert!(unknown["err_msg"].as_str().unwrap().contains("[unknown_catalog_code]"), "{unknown}");
    let wrong = app.upload(&r.institution, &mdtrt_id, &psn_no, "H120260302120000000002", &[("1", "A1", json!("3"), json!("12.345678"), "37.03")]).await;
    assert!(wrong["err_msg"].as_str().unwrap().contains("[amount_mismatch]"), "{wrong}");
    assert!(wrong["err_msg"].as_str().unwrap().contains("37.04"), "{wrong}");
    app.his_refused(&r.institution, "2207", "H120260302120000000003", json!({"data": {"psn_no": psn_no, "mdtrt_id": mdtrt_id, "acct_used_flag": "0"}}), "no_fee_lines").await;
    let ok = app.upload(&r.institution, &mdtrt_id, &psn_no, "H120260302120000000004", &[("1", "A1", json!("3"), json!("12.345678"), "37.04")]).await;
    assert_eq!(ok["infcode"], 0, "{ok}");
    // Pre-lost card: refused with the reason, nothing booked.
    app.ok("POST", &format!("/v1/cards/{card}/pre-loss"), &r.hotline, Some(json!({}))).await;
    let msg = app
        .his_refused(
            &r.institution,
            "2207",
            "H120260302120000000005",
            json!({"data": {"psn_no": psn_no, "mdtrt_id": mdtrt_id, "acct_used_flag": "1", "medfee_sumamt": "37.04"}}),
            "card_pre_lost",
        )
        .await;
    assert!(msg.contains("pre-lost until"), "{msg}");
    app.ok("DELETE", &format!("/v1/cards/{card}/pre-loss"), &r.clerk, None).await;
    app.his_refused(
        &r.institution,
        "2207",
        "H120260302120000000006",
        json!({"data": {"psn_no": psn_no, "mdtrt_id": mdtrt_id, "acct_used_flag": "1", "medfee_sumamt": "99.00"}}),
        "amount_mismatch",
    )
    .await;
    // Out of step, then suspended insurance.
    app.ok("POST", &format!("/v1/persons/{SSN}/changes"), &r.unit, Some(json!({"category": "retired"}))).await;
    app.his_refused(&r.institution, "2207", "H120260302120000000007", json!({"data": {"psn_no": psn_no, "mdtrt_id": mdtrt_id, "acct_used_flag": "1"}}), "card_out_of_step").await;
    app.ok("POST", &format!("/v1/cards/{card}/synchronisation"), &r.clerk, None).await;
    app.ok("POST", &format!("/v1/persons/{SSN}/changes"), &app.operator, Some(json!({"flags": ["insurance_suspended"]}))).await;
    app.his_refused(&r.institution, "2207", "H120260302120000000008", json!({"data": {"psn_no": psn_no, "mdtrt_id": mdtrt_id, "acct_used_flag": "1"}}), "insurance_suspended")
        .await;
    assert_eq!(app.balance().await, 50000);
    // Another institution neither sees nor settles this visit; a token speaks only for its own institution.
    app.ok("POST", "/v1/institutions", &app.operator, Some(json!({"code": "H2", "name": "另一医院", "region": "beijing", "level": "2"}))).await;
    let other = app.token(json!({"role": "institution", "institution": "H2"})).await;
    app.his_refused(&other, "2207", "H120260302120000000009", json!({"data": {"psn_no": psn_no, "mdtrt_id": mdtrt_id}}), "wrong_institution").await;
    app.his_refused(&r.clerk, "9001", "H120260302120000000010", json!({}), "not_allowed_on_channel").await;
    app.his_refused(&r.institution, "9999", "H120260302120000000011", json!({}), "unknown_transaction").await;
    // The same msgid for a different request is refused.
    app.his_refused(&r.institution, "2202", "H120260302120000000011", json!({"data": {"mdtrt_id": mdtrt_id}}), "msgid_reused").await;
    // A 2207 is not looked up before its transaction: its claim there refuses the reuse.
    app.his_refused(&r.institution, "2207", "H120260302120000000008", json!({"data": {"psn_no": psn_no, "mdtrt_id": mdtrt_id, "acct_used_flag": "0"}}), "msgid_reused").await;
    assert_eq!(app.balance().await, 50000);
});

on_both_databases!(r_act_1_first_swipe_at_registration_starts_the_social_zone, |db: TestDb| async move {
    let (app, r) = start(db).await;
    app.catalogue().await;
    let card = app.produced_card(&r, SSN, false).await;
    app.ok("POST", &format!("/v1/cards/{card}/hand-over"), &r.unit, Some(json!({}))).await;
    assert_eq!(app.card(card).await["state"], "issued");
    app.register(&r.institution, card, "DD").await;
    assert_eq!(app.card(card).await["state"], "active");
});

on_both_databases!(r_set_6_and_r_set_8_manual_reimbursement_never_charges_the_deductible_twice, |db: TestDb| async move {
    let (app, r, card) = ready(db).await;
    let body = |reason: &str, amount: i64| json!({"ssn": SSN, "institution_code": "H1", "visit_date": "2026-02-10", "reason": reason, "lines": [{"code": "A1", "quantity": "1", "unit_price": format!("{}.00", amount / 100), "amount_fen": amount}]});
    let (s, v) = app.call("POST", "/v1/reimbursements", Some(&r.clerk), Some(body("vacation", 100000))).await;
    assert_problem(s, &v, 422, "invalid_reason");
    let manual = app.ok("POST", "/v1/reimbursements", &r.clerk, Some(body("before_card", 100000))).await;
    assert_eq!(
        (manual["kind"].as_str(), manual["deductible_fen"].as_i64(), manual["fund_fen"].as_i64(), manual["account_fen"].as_i64()),
        (Some("manual"), Some(100000), Some(0), Some(0))
    );
    let (psn_no, mdtrt_id) = app.register(&r.institution, card, "EE").await;
    app.upload(&r.institution, &mdtrt_id, &psn_no, "H120260302130000000001", &[("1", "A1", json!("1"), json!("1000"), "1000.00")]).await;
    let out = app.settle(&r.institution, "2207", "H120260302130000000002", &psn_no, &mdtrt_id, "1000.00", "0").await;
    assert_eq!(out["output"]["setlinfo"]["act_pay_dedc"], "800.00", "only what is left of 1,800");
    assert_eq!(out["output"]["setlinfo"]["hifob_pay"], "140.00", "70 % of 200, paid by the mutual aid");
    // The claims the holder follows: what the funds reimburse and when it is due, 15
    // working days after Monday 2026-03-02 (Beijing's file, 000).
    assert_eq!(
        (manual["id"].as_str(), manual["state"].as_str(), manual["amount_fen"].as_i64(), manual["due_on"].as_str()),
        (manual["setl_id"].as_str(), Some("submitted"), Some(0), Some("2026-03-23")),
        "{manual}"
    );
    let second = app.ok("POST", "/v1/reimbursements", &r.clerk, Some(body("no_card", 100000))).await;
    assert_eq!(second["amount_fen"], 70000, "the deductible is used: 70 % of 1,000 {second}");
    let claims = app.ok("GET", &format!("/v1/persons/{SSN}/reimbursements"), &r.holder, None).await;
    assert_eq!(
        claims.as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect::<Vec<_>>(),
        [second["id"].as_str().unwrap(), manual["id"].as_str().unwrap()],
        "newest first: {claims}"
    );
    let approval = format!("/v1/reimbursements/{}/approval", second["id"].as_str().unwrap());
    let (s, v) = app.call("POST", &approval, Some(&r.holder), None).await;
    assert_problem(s, &v, 403, "not_allowed_on_channel");
    let approved = app.ok("POST", &approval, &r.clerk, None).await;
    assert_eq!((approved["state"].as_str(), approved["due_on"].as_str()), (Some("approved"), Some("2026-03-23")));
    let (s, v) = app.call("POST", &approval, Some(&r.clerk), None).await;
    assert_problem(s, &v, 409, "not_submitted");
    // The operator's payment file hands approved claims to the bank, once; the bank's
    // result pays or fails each, with its reason.
    app.ok("POST", &format!("/v1/reimbursements/{}/approval", manual["id"].as_str().unwrap()), &r.clerk, None).await;
    let file = |app: &TestApp| {
        let (client, url, token) = (app.client.clone(), format!("{}/v1/reimbursements/payment-files", app.base), app.operator.clone());
        async move {
            let res = client.post(url).bearer_auth(token).send().await.unwrap();
            assert_eq!(res.status().as_u16(), 201);
            res.text().await.unwrap()
        }
    };
    let first_file = file(&app).await;
    assert_eq!(first_file.lines().count(), 3, "{first_file}");
    assert!(first_file.contains(&format!(",{},{SSN},张三,70000,bank_account,", second["id"].as_str().unwrap())), "{first_file}");
    assert_eq!(file(&app).await.lines().count(), 1, "a claim is in one payment file only");
    // A file lost on the way is fetched again by its id, the same.
    let file_id = first_file.lines().nth(1).unwrap().split(',').next().unwrap().to_string();
    let res = app.client.get(format!("{}/v1/reimbursements/payment-files/{file_id}", app.base)).bearer_auth(&app.operator).send().await.unwrap();
    assert_eq!(res.text().await.unwrap(), first_file);
    let results = |body: serde_json::Value| app.ok("POST", "/v1/reimbursements/payment-results", &r.bank, Some(body));
    let report = results(json!([{"id": second["id"], "paid": false}, {"id": manual["id"], "paid": true}, {"id": "M-NONE", "paid": true}])).await;
    assert_eq!(report.as_array().unwrap().iter().map(|l| l["ok"].as_bool().unwrap()).collect::<Vec<_>>(), [false, true, false], "{report}");
    let report = results(json!([{"id": second["id"], "paid": false, "reason": "账户已销户 account closed"}])).await;
    assert_eq!(report[0]["state"], "failed", "{report}");
    let claims = app.ok("GET", &format!("/v1/persons/{SSN}/reimbursements"), &r.holder, None).await;
    assert_eq!(
        (claims[0]["state"].as_str(), claims[0]["failure_reason"].as_str(), claims[1]["state"].as_str()),
        (Some("failed"), Some("账户已销户 account closed"), Some("paid")),
        "{claims}"
    );
    // Two payment files made at once take each approved claim once between them.
    for _ in 0..6 {
        let c = app.ok("POST", "/v1/reimbursements", &r.clerk, Some(body("no_card", 10000))).await;
        app.ok("POST", &format!("/v1/reimbursements/{}/approval", c["id"].as_str().unwrap()), &r.clerk, None).await;
    }
    let (a, b) = tokio::join!(file(&app), file(&app));
    let mut ids: Vec<&str> = a.lines().skip(1).chain(b.lines().skip(1)).map(|l| l.split(',').nth(1).unwrap()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!((a.lines().count() + b.lines().count() - 2, ids.len()), (6, 6), "{a}\n{b}");
    app.verified().await;
});

// R-CERT-1: while the replacement card is made, the hospital registers the visit on the
// certificate and uploads its lines; the holder pays in cash; a clerk claims the visit
// from those lines, found by the certificate's number, once even when two clerks race.
on_both_databases!(r_cert_1_certificate_visit_is_claimed_from_the_uploaded_lines_once, |db: TestDb| async move {
    let (app, r, card) = ready(db).await;
    let (number, psn_no, mdtrt_id) = app.certificate_visit(&r, card).await;
    let inst = &r.institution;
    let registration = |begntime: &str, certificate: &str| json!({"data": {"psn_no": psn_no, "insutype": "310", "begntime": begntime, "mdtrt_cert_type": "02", "mdtrt_cert_no": SSN, "ipt_otp_no": "MZCD", "certificate_no": certificate}});
    app.his_refused(inst, "2201", "H120260302100000CC12", registration("2026-03-02 10:00:00", "110000NOSUCH"), "certificate_not_the_persons").await;
    app.his_refused(inst, "2201", "H120260302100000CC13", registration("2026-03-01 09:00:00", &number), "certificate_not_valid").await;
    // Paid in cash: the visit does not settle in real time.
    let msg = refusal_of(&app.settle(inst, "2207", "H120260302100000CC06", &psn_no, &mdtrt_id, "3000.00", "0").await, "2207", "certificate_visit");
    assert!(msg.contains(&number), "{msg}");
    let visits = app.ok("GET", &format!("/v1/certificates/{number}/visits"), &r.clerk, None).await;
    assert_eq!((visits[0]["mdtrt_id"].as_str(), visits[0]["unclaimed_fen"].as_i64(), visits[0]["claim_id"].as_str()), (Some(mdtrt_id.as_str()), Some(300000), None), "{visits}");
    let (s, v) = app.call("GET", &format!("/v1/certificates/{number}/visits"), Some(&r.institution), None).await;
    assert_problem(s, &v, 403, "not_allowed_on_channel");
    let claim = json!({"ssn": SSN, "reason": "certificate_period", "certificate_number": number});
    let (s, v) = app.call("POST", "/v1/reimbursements", Some(&r.clerk), Some(json!({"ssn": SSN, "reason": "no_card", "certificate_number": number}))).await;
    assert_problem(s, &v, 422, "invalid_claim");
    let (s, v) = app.call("POST", "/v1/reimbursements", Some(&r.clerk), Some(json!({"ssn": SSN, "reason": "no_card", "lines": []}))).await;
    assert_problem(s, &v, 422, "missing_field");
    // Two clerks claim the visit at once: one claim, the other learns it is taken.
    let (a, b) =
        tokio::join!(app.call("POST", "/v1/reimbursements", Some(&r.clerk), Some(claim.clone())), app.call("POST", "/v1/reimbursements", Some(&r.clerk), Some(claim.clone())));
    let (won, lost) = if a.0.as_u16() == 201 { (a, b) } else { (b, a) };
    assert_eq!(won.0.as_u16(), 201, "{}", won.1);
    assert!(lost.0.as_u16() == 409 && ["already_claimed", "no_fee_lines"].contains(&lost.1["code"].as_str().unwrap()), "{lost:?}");
    // Under the policy of the visit's day: 1,800 deductible, then 70 % of 1,200.
    let won = won.1;
    assert_eq!(
        (won["kind"].as_str(), won["mdtrt_id"].as_str(), won["deductible_fen"].as_i64(), won["amount_fen"].as_i64(), won["state"].as_str()),
        (Some("manual"), Some(mdtrt_id.as_str()), Some(180000), Some(84000), Some("submitted")),
        "{won}"
    );
    let visits = app.ok("GET", &format!("/v1/certificates/{number}/visits"), &r.clerk, None).await;
    assert_eq!((visits[0]["unclaimed_fen"].as_i64(), visits[0]["claim_id"].as_str()), (Some(0), won["id"].as_str()), "{visits}");
    let (s, v) =
        app.call("POST", "/v1/reimbursements", Some(&r.clerk), Some(json!({"ssn": SSN, "reason": "certificate_period", "certificate_number": number, "mdtrt_id": mdtrt_id}))).await;
    assert_problem(s, &v, 409, "already_claimed");
    // The deductible was charged once: a counter claim afterwards pays 70 % at once.
    let counter = app.ok("POST", "/v1/reimbursements", &r.clerk, Some(json!({"ssn": SSN, "institution_code": "H1", "visit_date": "2026-03-02", "reason": "certificate_period", "lines": [{"code": "A1", "quantity": "1", "unit_price": "100.00", "amount_fen": 10000}]}))).await;
    assert_eq!(counter["amount_fen"], 7000, "{counter}");
    let claims = app.ok("GET", &format!("/v1/persons/{SSN}/reimbursements"), &r.holder, None).await;
    assert_eq!(claims.as_array().unwrap().len(), 2, "{claims}");
    app.verified().await;
});

// Fifty settlements of one person at once never use the deductible or the account twice.
on_both_databases!(r_acc_2_every_movement_is_an_entry_the_balance_their_sum_and_none_changes, |db: TestDb| async move {
    let (app, _r) = start(db).await;
    let credits = format!("/v1/persons/{SSN}/account/credits");
    app.ok("POST", &credits, &app.operator, Some(json!({"amount_fen": 4000, "reason": "transfer", "kind": "transfer_in"}))).await;
    app.ok("POST", &credits, &app.operator, Some(json!({"amount_fen": 1234, "reason": "March", "kind": "credit"}))).await;
    app.ok("POST", &credits, &app.operator, Some(json!({"amount_fen": -34, "reason": "wrong March figure", "kind": "correction"}))).await;
    let account = app.ok("GET", &format!("/v1/persons/{SSN}/account"), &app.operator, None).await;
    let entries = account["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 3, "a correction is an entry of its own, not an edit: {account}");
    assert_eq!(account["balance_fen"].as_i64().unwrap(), entries.iter().map(|e| e["amount_fen"].as_i64().unwrap()).sum::<i64>());
    assert_eq!(account["balance_fen"], 5200);
    // Nothing is updated in place, whoever tries: the database refuses it.
    for sql in ["UPDATE account_entries SET amount_fen = 999999", "DELETE FROM account_entries"] {
        assert!(yikatong_store::testing::run_raw_sql(&app.db.url, sql).await.is_err(), "{sql} must be refused");
    }
    assert_eq!(app.ok("GET", &format!("/v1/persons/{SSN}/account"), &app.operator, None).await["balance_fen"], 5200);
});

on_both_databases!(parallel_settlements_of_one_person_use_deductible_and_account_once, |db: TestDb| async move {
    let (app, r, card) = ready(db).await;
    let app = std::sync::Arc::new(app);
    let mut visits = Vec::new();
    for i in 0..50 {
        let (psn_no, mdtrt_id) = app.register(&r.institution, card, &format!("{i:02}")).await;
        let up = app.upload(&r.institution, &mdtrt_id, &psn_no, &format!("H1202603021400000000{i:02}"), &[("1", "A1", json!("1"), json!("100"), "100.00")]).await;
        assert_eq!(up["infcode"], 0);
        visits.push((psn_no, mdtrt_id));
    }
    let mut tasks = Vec::new();
    for (i, (psn_no, mdtrt_id)) in visits.into_iter().enumerate() {
        let (app, inst) = (app.clone(), r.institution.clone());
        tasks.push(tokio::spawn(async move { app.settle(&inst, "2207", &format!("H1202603021500000000{i:02}"), &psn_no, &mdtrt_id, "100.00", "1").await }));
    }
    let (mut dedc, mut acct, mut fund) = (0i64, 0i64, 0i64);
    for t in tasks {
        let v = t.await.unwrap();
        assert_eq!(v["infcode"], 0, "{v}");
        let s = &v["output"]["setlinfo"];
        let fen = |f: &str| yikatong_core::money::Fen::parse_yuan(s[f].as_str().unwrap()).unwrap().0;
        dedc += fen("act_pay_dedc");
        acct += fen("acct_pay");
        fund += fen("fund_pay_sumamt");
    }
    assert_eq!(dedc, 180000, "the 1,800 deductible is used exactly once in all");
    assert_eq!(fund, 224000, "70 % of the 3,200 above it");
    assert_eq!(acct, 50000, "the account pays its 500 once");
    assert_eq!(app.balance().await, 0);
});

on_both_databases!(fee_line_and_registration_cancels_2205_and_2202, |db: TestDb| async move {
    let (app, r, card) = ready(db).await;
    let (psn_no, mdtrt_id) = app.register(&r.institution, card, "FF").await;
    app.upload(&r.institution, &mdtrt_id, &psn_no, "H120260302160000000001", &[("1", "A1", json!("1"), json!("10"), "10.00")]).await;
    // A line number already in the visit is a duplicate.
    let dup = app.upload(&r.institution, &mdtrt_id, &psn_no, "H120260302160000000002", &[("1", "A1", json!("1"), json!("10"), "10.00")]).await;
    assert!(dup["err_msg"].as_str().unwrap().contains("[already_exists]"), "{dup}");
    // 2205 with 0000 removes every unsettled line; the batch can then be uploaded again.
    let removed = app.his_ok(&r.institution, "2205", "H120260302160000000003", json!({"data": {"mdtrt_id": mdtrt_id, "chrg_bchno": "0000", "psn_no": psn_no}})).await;
    assert_eq!(removed["removed"], 1);
    app.his_refused(&r.institution, "2207", "H120260302160000000004", json!({"data": {"psn_no": psn_no, "mdtrt_id": mdtrt_id}}), "no_fee_lines").await;
    app.upload(&r.institution, &mdtrt_id, &psn_no, "H120260302160000000005", &[("1", "A1", json!("2"), json!("10"), "20.00")]).await;
    let out = app.settle(&r.institution, "2207", "H120260302160000000006", &psn_no, &mdtrt_id, "20.00", "0").await;
    assert_eq!(out["output"]["setlinfo"]["medfee_sumamt"], "20.00", "{out}");
    // A settled visit's registration cannot be cancelled; an unsettled one can, once.
    app.his_refused(&r.institution, "2202", "H120260302160000000007", json!({"data": {"psn_no": psn_no, "mdtrt_id": mdtrt_id, "ipt_otp_no": "MZFF"}}), "visit_settled").await;
    let (psn2, visit2) = app.register(&r.institution, card, "GG").await;
    app.his_ok(&r.institution, "2202", "H120260302160000000008", json!({"data": {"psn_no": psn2, "mdtrt_id": visit2, "ipt_otp_no": "MZGG"}})).await;
    let late = app.upload(&r.institution, &visit2, &psn2, "H120260302160000000009", &[("1", "A1", json!("1"), json!("10"), "10.00")]).await;
    assert!(late["err_msg"].as_str().unwrap().contains("[visit_cancelled]"), "{late}");
});

// R-SET-1: a HIS that retries a 2207 under new msgids (four at once per visit, twenty
// visits at once) books each visit once; the others are refused with `already_settled`
// naming the first settlement, and the account is debited once per visit.
on_both_databases!(r_set_1_one_payment_per_visit_whatever_the_retries, |db: TestDb| async move {
    let (app, r, card) = ready(db).await;
    let app = std::sync::Arc::new(app);
    let mut visits = Vec::new();
    for i in 0..20 {
        let (psn_no, mdtrt_id) = app.register(&r.institution, card, &format!("R{i:02}")).await;
        let up = app.upload(&r.institution, &mdtrt_id, &psn_no, &format!("H1202603021700000000{i:02}"), &[("1", "A1", json!("1"), json!("100"), "100.00")]).await;
        assert_eq!(up["infcode"], 0, "{up}");
        visits.push((psn_no, mdtrt_id));
    }
    let mut tasks = Vec::new();
    for (i, (psn_no, mdtrt_id)) in visits.iter().enumerate() {
        for retry in 0..4 {
            let (app, inst, psn_no, mdtrt_id) = (app.clone(), r.institution.clone(), psn_no.clone(), mdtrt_id.clone());
            tasks.push(tokio::spawn(async move {
                (mdtrt_id.clone(), app.settle(&inst, "2207", &format!("H12026030218000000{i:02}{retry:02}"), &psn_no, &mdtrt_id, "100.00", "1").await)
            }));
        }
    }
    let mut booked: std::collections::HashMap<String, Vec<String>> = std::collections::HashMap::new();
    let mut refused = Vec::new();
    let mut acct_paid = 0;
    for t in tasks {
        let (mdtrt_id, v) = t.await.unwrap();
        if v["infcode"] == 0 {
            booked.entry(mdtrt_id).or_default().push(v["output"]["setlinfo"]["setl_id"].as_str().unwrap().to_string());
            acct_paid += yikatong_core::money::Fen::parse_yuan(v["output"]["setlinfo"]["acct_pay"].as_str().unwrap()).unwrap().0;
        } else {
            refused.push((mdtrt_id, v["err_msg"].as_str().unwrap().to_string()));
        }
    }
    assert_eq!(booked.len(), 20, "every visit is booked");
    assert!(booked.values().all(|ids| ids.len() == 1), "each visit exactly once: {booked:?}");
    assert_eq!(refused.len(), 60);
    for (mdtrt_id, msg) in &refused {
        assert!(msg.contains("[already_settled]") && msg.contains(&booked[mdtrt_id][0]), "the refusal names the first settlement: {msg}");
    }
    let hash = app.db.store.data_key().lookup_hash(SSN);
    let live = app.db.store.settlements_of_person(&hash).await.unwrap().into_iter().filter(|s| s.state == yikatong_core::settlement::SettlementState::Settled).count();
    assert_eq!(live, 20, "twenty settlements in the database");
    assert_eq!(acct_paid, 50000 - app.balance().await, "the account is debited once per booked visit");
    app.verified().await;
});

// A 2204 arriving while a 2207 books: the new line is either in that settlement's
// receipt or left unsettled, never marked settled without being billed.
on_both_databases!(a_fee_line_uploaded_during_a_settlement_is_billed_or_left_unsettled, |db: TestDb| async move {
    let (app, r, card) = ready(db).await;
    let app = std::sync::Arc::new(app);
    let (mut in_receipt, mut left) = (0, 0);
    for round in 0..20 {
        let (psn_no, mdtrt_id) = app.register(&r.institution, card, &format!("L{round:02}")).await;
        app.upload(&r.institution, &mdtrt_id, &psn_no, &format!("H1202603021900000000{round:02}"), &[("1", "A1", json!("1"), json!("10"), "10.00")]).await;
        let settle = {
            let (app, inst, psn_no, mdtrt_id) = (app.clone(), r.institution.clone(), psn_no.clone(), mdtrt_id.clone());
            tokio::spawn(async move {
                app.his(&inst, "2207", &format!("H1202603022000000000{round:02}"), json!({"data": {"psn_no": psn_no, "mdtrt_id": mdtrt_id, "acct_used_flag": "0"}})).await
            })
        };
        let upload = {
            let (app, inst, psn_no, mdtrt_id) = (app.clone(), r.institution.clone(), psn_no.clone(), mdtrt_id.clone());
            tokio::spawn(async move { app.upload(&inst, &mdtrt_id, &psn_no, &format!("H1202603022100000000{round:02}"), &[("2", "A1", json!("1"), json!("5"), "5.00")]).await })
        };
        let (settled, uploaded) = (settle.await.unwrap(), upload.await.unwrap());
        assert_eq!(settled["infcode"], 0, "{settled}");
        assert_eq!(uploaded["infcode"], 0, "{uploaded}");
        let setl_id = settled["output"]["setlinfo"]["setl_id"].as_str().unwrap();
        let receipt = app.db.store.get_settlement(setl_id).await.unwrap().unwrap().receipt;
        let billed: Vec<String> = receipt["lines"].as_array().unwrap().iter().map(|l| l["sn"].as_str().unwrap().to_string()).collect();
        for line in app.db.store.fee_lines(&mdtrt_id).await.unwrap() {
            match &line.setl_id {
                Some(id) => {
                    assert_eq!(id, setl_id);
                    assert!(billed.contains(&line.sn), "line {} is marked settled by {id} but its receipt bills only {billed:?}", line.sn);
                }
                None => assert_eq!(line.sn, "2", "only the late line may be left"),
            }
        }
        if billed.len() == 2 { in_receipt += 1 } else { left += 1 }
    }
    println!("late lines: {in_receipt} billed with the settlement, {left} left unsettled");
});

// Amounts that could overflow are refused at the edge, naming the field; the edge
// itself (10,000,000 yuan) is taken.
on_both_databases!(amounts_past_the_bounds_are_refused_with_the_field_named, |db: TestDb| async move {
    let (app, r, card) = ready(db).await;
    app.ok("POST", "/v1/catalog/items", &app.operator, Some(json!([{"code": "BIG", "name": "大额治疗", "kind": "treatment", "class": "C"}]))).await;
    let (psn_no, mdtrt_id) = app.register(&r.institution, card, "OV").await;
    let huge = app
        .upload(
            &r.institution,
            &mdtrt_id,
            &psn_no,
            "H120260302220000000001",
            &[("1", "BIG", json!("1"), json!("50000000000000000"), "50000000000000000.00"), ("2", "BIG", json!("1"), json!("50000000000000000"), "50000000000000000.00")],
        )
        .await;
    let msg = huge["err_msg"].as_str().unwrap();
    assert!(msg.contains("[amount_out_of_range]") && msg.contains("fee line 1") && msg.contains("pric"), "{huge}");
    let over = app.upload(&r.institution, &mdtrt_id, &psn_no, "H120260302220000000002", &[("1", "BIG", json!("1"), json!("10000000.01"), "10000000.01")]).await;
    assert!(over["err_msg"].as_str().unwrap().contains("[amount_out_of_range]"), "{over}");
    let edge = app.upload(&r.institution, &mdtrt_id, &psn_no, "H120260302220000000003", &[("1", "BIG", json!("1"), json!("10000000"), "10000000.00")]).await;
    assert_eq!(edge["infcode"], 0, "the edge itself is taken: {edge}");
    let visit_over = app.upload(&r.institution, &mdtrt_id, &psn_no, "H120260302220000000004", &[("2", "BIG", json!("1"), json!("0.01"), "0.01")]).await;
    assert!(visit_over["err_msg"].as_str().unwrap().contains("[amount_out_of_range]"), "the visit's total is bounded too: {visit_over}");
    let many = app.upload(&r.institution, &mdtrt_id, &psn_no, "H120260302220000000005", &[("3", "BIG", json!("100001"), json!("0"), "0.00")]).await;
    assert!(many["err_msg"].as_str().unwrap().contains("cnt"), "{many}");
    let out = app.settle(&r.institution, "2207", "H120260302220000000006", &psn_no, &mdtrt_id, "10000000.00", "0").await;
    assert_eq!(out["output"]["setlinfo"]["medfee_sumamt"], "10000000.00", "{out}");
    // An account credit of i64::MAX fen is refused; the bound is taken.
    let (s, v) =
        app.call("POST", &format!("/v1/persons/{SSN}/account/credits"), Some(&app.operator), Some(json!({"amount_fen": i64::MAX, "reason": "test", "kind": "credit"}))).await;
    assert_problem(s, &v, 422, "amount_out_of_range");
    assert!(v["detail"].as_str().unwrap().contains("amount_fen"), "{v}");
    let (s, v) = app
        .call("POST", &format!("/v1/persons/{SSN}/account/credits"), Some(&app.operator), Some(json!({"amount_fen": 1_000_000_001i64, "reason": "test", "kind": "credit"})))
        .await;
    assert_problem(s, &v, 422, "amount_out_of_range");
    app.ok("POST", &format!("/v1/persons/{SSN}/account/credits"), &app.operator, Some(json!({"amount_fen": 1_000_000_000i64, "reason": "test", "kind": "credit"}))).await;
    let (s, v) =
        app.call("POST", &format!("/v1/persons/{SSN}/account/credits"), Some(&app.operator), Some(json!({"amount_fen": i64::MIN, "reason": "test", "kind": "correction"}))).await;
    assert_problem(s, &v, 422, "amount_out_of_range");
});

// `ykt verify`'s report (GET /v1/verify) names each invariant broken behind the
// service's back, with its count: year totals, a fee line marked but not billed, a card
// state that is not its events' projection, a missing outbox message, a reimbursement
// claim that pays other than its settlement's fund share.
on_both_databases!(verify_finds_each_broken_invariant, |db: TestDb| async move {
    let (app, r, card) = ready(db).await;
    let (psn_no, mdtrt_id) = app.register(&r.institution, card, "VF").await;
    app.upload(&r.institution, &mdtrt_id, &psn_no, "H120260302230000000001", &golden()).await;
    let out = app.settle(&r.institution, "2207", "H120260302230000000002", &psn_no, &mdtrt_id, "3650.00", "1").await;
    assert_eq!(out["infcode"], 0, "{out}");
    app.ok("POST", &format!("/v1/cards/{card}/pre-loss"), &r.hotline, Some(json!({}))).await;
    let claim = app.ok("POST", "/v1/reimbursements", &r.clerk, Some(json!({"ssn": SSN, "institution_code": "H1", "visit_date": "2026-03-01", "reason": "no_card", "lines": [{"code": "A1", "quantity": "1", "unit_price": "3000.00", "amount_fen": 300000}]}))).await;
    let clean = app.verified().await;
    assert!(clean["invariants"].as_array().unwrap().len() >= 8, "{clean}");
    app.tamper("UPDATE year_totals SET deductible_used = deductible_used + 1").await;
    app.tamper(&format!("INSERT INTO fee_lines (mdtrt_id, sn, chrg_bchno, code, qty_e4, price_e6, amount_fen, setl_id) VALUES ('{mdtrt_id}', '99', 'B001', 'A1', 10000, 1000000, 100, 'S-NOT-A-SETTLEMENT')")).await;
    app.tamper(&format!("UPDATE cards SET state = 'issued' WHERE id = {card}")).await;
    app.tamper("DELETE FROM outbox").await;
    app.tamper(&format!("UPDATE reimbursement_claims SET amount_fen = amount_fen + 100 WHERE id = '{}'", claim["id"].as_str().unwrap())).await;
    let report = app.ok("GET", "/v1/verify", &app.operator, None).await;
    let broken: Vec<(String, i64)> = report["invariants"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["violations"].as_i64().unwrap() > 0)
        .map(|i| (i["name"].as_str().unwrap().to_string(), i["violations"].as_i64().unwrap()))
        .collect();
    let names: Vec<&str> = broken.iter().map(|(n, _)| n.as_str()).collect();
    assert!(names.iter().any(|n| n.contains("year totals")), "{report:#}");
    assert!(names.iter().any(|n| n.contains("settled fee line")), "{report:#}");
    assert!(names.iter().any(|n| n.contains("projection of its events")), "{report:#}");
    assert!(names.iter().any(|n| n.contains("outbox")), "{report:#}");
    assert!(names.iter().any(|n| n.contains("reimbursement claim")), "{report:#}");
    assert_eq!(report["violations"].as_i64().unwrap(), broken.iter().map(|(_, n)| n).sum::<i64>());
    let (s, v) = app.call("GET", "/v1/verify", Some(&r.clerk), None).await;
    assert_problem(s, &v, 403, "not_allowed_on_channel");
});

// The HIS envelope and its amounts under random input (a bounded proptest run of the
// properties the fuzz targets check): every request over real HTTP gets the national
// answer — infcode 0 or -1 with a message — never a 5xx or a dropped connection, and the
// database keeps every invariant afterwards.
on_both_databases!(his_envelopes_and_amounts_of_any_shape_get_an_answer_and_break_nothing, |db: TestDb| async move {
    use proptest::prelude::*;
    use proptest::strategy::ValueTree;
    let (app, r, card) = ready(db).await;
    let (psn_no, mdtrt_id) = app.register(&r.institution, card, "PZ").await;
    let amount = "-?[0-9]{0,12}(\\.[0-9]{0,4})?|[0-9.e+-]{0,8}|\\PC{0,6}";
    let strategy = (
        prop_oneof![
            Just("2204"),
            Just("2206"),
            Just("2207"),
            Just("2208"),
            Just("1101"),
            Just("2201"),
            Just("9999"),
            "\\PC{0,6}".prop_map(|s| Box::leak(s.into_boxed_str()) as &str)
        ],
        amount,
        amount,
        amount,
        amount,
        prop_oneof![Just(json!({})), Just(json!(null)), Just(json!([1, 2])), Just(json!("text")), Just(json!({"data": {}})), Just(json!({"feedetail": "x"}))],
        any::<bool>(),
    );
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig { cases: 150, failure_persistence: None, ..ProptestConfig::default() });
    for n in 0..150 {
        let (infno, cnt, pric, sum, total, odd, shaped) = strategy.new_tree(&mut runner).unwrap().current();
        let input = if !shaped {
            odd
        } else if infno == "2204" {
            json!({"feedetail": [{"feedetl_sn": format!("{n}"), "mdtrt_id": mdtrt_id, "psn_no": psn_no, "chrg_bchno": "B001", "med_list_codg": "A1", "medins_list_codg": "A1", "det_item_fee_sumamt": sum, "cnt": cnt, "pric": pric, "fee_ocur_time": "2026-03-02 10:10:00"}]})
        } else {
            json!({"data": {"psn_no": psn_no, "mdtrt_id": mdtrt_id, "medfee_sumamt": total, "chrg_bchno": "B001", "acct_used_flag": cnt, "insutype": "310", "setl_id": sum, "mdtrt_cert_type": "03", "mdtrt_cert_no": pric}})
        };
        let v = app.his(&r.institution, infno, &format!("H1202603021200{n:010}"), input.clone()).await;
        let code = v["infcode"].as_i64();
        assert!(code == Some(0) || code == Some(-1), "{infno} {input}: {v}");
        if code == Some(-1) {
            assert!(v["err_msg"].as_str().is_some_and(|m| m.starts_with('[') && !m.contains("[internal_error]")), "{infno} {input}: {v}");
        }
    }
    app.verified().await;
});

impl TestApp {
    /// A request as a HIS signs it for the platform's gateway (`x-tif-*`, no bearer
    /// token), to `path` (the plain or the `/{infno}` form).
    #[allow(clippy::too_many_arguments)] // each is a header or envelope field a test varies
    async fn his_signed(&self, path: &str, paasid: &str, secret: &str, timestamp: i64, nonce: &str, infno: &str, msgid: &str, input: Value) -> Value {
        let ts = timestamp.to_string();
        let body = json!({"infno": infno, "msgid": msgid, "mdtrtarea_admvs": "110000", "insuplc_admdvs": "110000", "recer_sys_code": "FSI_LOCAL", "infver": "V1.0", "opter_type": "1", "opter": "001", "opter_name": "收费员", "inf_time": "2026-03-02 10:00:00", "fixmedins_code": "H1", "fixmedins_name": "示范医院", "sign_no": "", "input": input});
        let res = self
            .client
            .post(format!("{}{path}", self.base))
            .header("x-tif-paasid", paasid)
            .header("x-tif-timestamp", &ts)
            .header("x-tif-nonce", nonce)
            .header("x-tif-signature", yikatong_service::gateway_signature(&ts, secret, nonce))
            .header("content-type", "application/json;charset=utf-8")
            .body(serde_json::to_string_pretty(&body).unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 200);
        res.json().await.unwrap()
    }
}

// Issue 12, parts 1 and 2: the gateway's signed requests, as HIS software sends them.
on_both_databases!(his_software_signs_with_the_gateway_headers_and_each_fault_is_named, |db: TestDb| async move {
    let (app, r, card) = ready(db).await;
    let issued = app.ok("POST", "/v1/his-credentials", &app.operator, Some(json!({"institution": "H1"}))).await;
    let (paasid, secret) = (issued["paasid"].as_str().unwrap().to_string(), issued["secret"].as_str().unwrap().to_string());
    let listed = app.ok("GET", "/v1/his-credentials", &app.operator, None).await;
    assert!(listed.to_string().contains(&paasid) && !listed.to_string().contains(&secret), "listed without the secret: {listed}");
    let now = app.service.clock().now().timestamp();
    let sign_in = json!({"opter_no": "001", "mac": "", "ip": "127.0.0.1"});
    let plain = "/fsi/api/rsfComIfsService/callService";
    // A signed 9001 at either path is the institution.
    let v = app.his_signed(plain, &paasid, &secret, now, "n-1", "9001", "H120260302100000000001", sign_in.clone()).await;
    assert_eq!(v["infcode"], 0, "{v}");
    let v = app.his_signed(&format!("{plain}/9001"), &paasid, &secret, now, "n-2", "9001", "H120260302100000000002", sign_in.clone()).await;
    assert_eq!(v["infcode"], 0, "{v}");
    let refused = |v: &Value, code: &str| assert!(v["infcode"] == -1 && v["err_msg"].as_str().unwrap().contains(&format!("[{code}]")), "{code}: {v}");
    refused(&app.his_signed(&format!("{plain}/1101"), &paasid, &secret, now, "n-3", "9001", "H120260302100000000003", sign_in.clone()).await, "infno_mismatch");
    // Each fault is named: a replayed nonce, an old or a future timestamp, a wrong secret, an unknown id.
    refused(&app.his_signed(plain, &paasid, &secret, now, "n-1", "9001", "H120260302100000000004", sign_in.clone()).await, "nonce_replayed");
    refused(&app.his_signed(plain, &paasid, &secret, now - 301, "n-5", "9001", "H120260302100000000005", sign_in.clone()).await, "timestamp_out_of_window");
    refused(&app.his_signed(plain, &paasid, &secret, now + 301, "n-6", "9001", "H120260302100000000006", sign_in.clone()).await, "timestamp_out_of_window");
    refused(&app.his_signed(plain, &paasid, "not-the-secret", now, "n-7", "9001", "H120260302100000000007", sign_in.clone()).await, "bad_signature");
    refused(&app.his_signed(plain, "nobody", &secret, now, "n-8", "9001", "H120260302100000000008", sign_in.clone()).await, "unknown_paasid");
    // A whole visit signed: 1101 by card, 2201, 2204, 2207.
    let out = app.his_signed(plain, &paasid, &secret, now, "v-1", "1101", "H120260302100000000010", json!({"data": {"mdtrt_cert_type": "03", "mdtrt_cert_no": format!("F{card:08}"), "card_sn": VENDOR_CODE, "begntime": "2026-03-02 10:00:00", "psn_cert_type": "", "certno": "", "psn_name": ""}})).await;
    assert_eq!(out["infcode"], 0, "{out}");
    // Two copies of one signed request racing: one is taken, the other is a replay.
    let copies: Vec<Value> =
        futures_util::future::join_all((0..2).map(|_| app.his_signed(plain, &paasid, &secret, now, "race-1", "9001", "H120260302100000000020", sign_in.clone()))).await;
    let taken = copies.iter().filter(|v| v["infcode"] == 0).count();
    assert_eq!(taken, 1, "{copies:?}");
    // A bearer token decides alone, whatever x-tif-* headers come with it.
    let res = app
        .client
        .post(format!("{}{plain}", app.base))
        .bearer_auth(&r.institution)
        .header("x-tif-paasid", "nobody")
        .json(&json!({"infno": "9001", "msgid": "H120260302100000000030", "fixmedins_code": "H1", "input": sign_in}))
        .send()
        .await
        .unwrap();
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["infcode"], 0, "{v}");
    // Revoked, the credential signs nothing.
    let id = issued["id"].as_i64().unwrap();
    let (s, _) = app.call("DELETE", &format!("/v1/his-credentials/{id}"), Some(&app.operator), None).await;
    assert_eq!(s.as_u16(), 204);
    refused(&app.his_signed(plain, &paasid, &secret, now, "n-9", "9001", "H120260302100000000009", json!({})).await, "credential_revoked");
});

// Issue 12, part 3: amounts as clients write them — a string with four decimals (as
// `decimal.ToString()` writes it) or a JSON number — are taken when they are a whole
// number of fen; a digit below the fen is refused naming the line and the field.
on_both_databases!(his_amounts_in_any_exact_form_are_taken_and_a_digit_below_the_fen_is_named, |db: TestDb| async move {
    let (app, r, card) = ready(db).await;
    let (psn_no, mdtrt_id) = app.register(&r.institution, card, "PA").await;
    let v = app.upload(&r.institution, &mdtrt_id, &psn_no, "H120260302140000000101", &[("1", "A1", json!("1.0000"), json!("155.000000"), "155.0000")]).await;
    assert_eq!(v["infcode"], 0, "{v}");
    let v = app.upload(&r.institution, &mdtrt_id, &psn_no, "H120260302140000000102", &[("2", "A1", json!(2), json!(77.5), "155.00")]).await;
    assert_eq!(v["infcode"], 0, "numbers as JSON numbers: {v}");
    let v = app.upload(&r.institution, &mdtrt_id, &psn_no, "H120260302140000000103", &[("3", "A1", json!("1"), json!("10"), "10.001")]).await;
    assert_eq!(v["infcode"], -1);
    let msg = v["err_msg"].as_str().unwrap();
    assert!(msg.contains("[invalid_fee_line]") && msg.contains("fee line 3") && msg.contains("det_item_fee_sumamt") && msg.contains("below"), "{msg}");
    let out = app.settle(&r.institution, "2207", "H120260302140000000104", &psn_no, &mdtrt_id, "310.0000", "0").await;
    assert_eq!(out["infcode"], 0, "{out}");
    assert_eq!(out["output"]["setlinfo"]["medfee_sumamt"], "310.00");
});

// Issue 12, part 8 (R-SET-10): 1101 tells the truth about the card — a pre-lost card is
// refused there with the reason 2201 would give, and its state shows once the pre-loss
// is revoked; an issued card whose social zone starts at this visit is not refused.
on_both_databases!(r_set_10_1101_refuses_a_card_that_may_not_settle_with_2201s_reason, |db: TestDb| async move {
    let (app, r, card) = ready(db).await;
    let ask = |msgid: &'static str| {
        app.his(&r.institution, "1101", msgid, json!({"data": {"mdtrt_cert_type": "03", "mdtrt_cert_no": format!("F{card:08}"), "card_sn": VENDOR_CODE, "begntime": "2026-03-02 10:00:00", "psn_cert_type": "", "certno": "", "psn_name": ""}}))
    };
    let v = ask("H120260302150000000001").await;
    assert_eq!((v["infcode"].as_i64(), v["output"]["cardinfo"]["card_stas"].as_str()), (Some(0), Some("active")), "{v}");
    app.ok("POST", &format!("/v1/cards/{card}/pre-loss"), &r.hotline, Some(json!({}))).await;
    let v = ask("H120260302150000000002").await;
    assert_eq!(v["infcode"], -1, "{v}");
    assert!(v["err_msg"].as_str().unwrap().contains("[card_pre_lost]"), "{v}");
    app.ok("DELETE", &format!("/v1/cards/{card}/pre-loss"), &r.clerk, None).await;
    assert_eq!(ask("H120260302150000000003").await["output"]["cardinfo"]["card_stas"], "active");
    // A card handed over but not yet used is not refused: its first swipe is at this visit.
    let other = crate::cards::OTHER;
    app.ok("POST", "/v1/persons", &app.operator, Some(json!({"ssn": other, "name": "王五", "ethnicity": "01", "category": "in_service", "region": "beijing", "unit_code": "U1"})))
        .await;
    let issued = app.produced_card(&r, other, false).await;
    app.ok("POST", &format!("/v1/cards/{issued}/hand-over"), &r.unit, Some(json!({}))).await;
    let v = app.his(&r.institution, "1101", "H120260302150000000004", json!({"data": {"mdtrt_cert_type": "03", "mdtrt_cert_no": format!("F{issued:08}"), "card_sn": VENDOR_CODE, "begntime": "2026-03-02 10:00:00", "psn_cert_type": "", "certno": "", "psn_name": ""}})).await;
    assert_eq!((v["infcode"].as_i64(), v["output"]["cardinfo"]["card_stas"].as_str()), (Some(0), Some("issued")), "{v}");
});

// Issue 12, part 7: times read strictly and widely — ISO with T and yyyy/M/d register a
// visit; "yesterday" is refused naming begntime; a time ahead of the clock is taken.
on_both_databases!(his_times_are_read_in_every_form_clients_send_and_nothing_else, |db: TestDb| async move {
    let (app, r, card) = ready(db).await;
    let out = app.his_ok(&r.institution, "1101", "H120260302160000000001", json!({"data": {"mdtrt_cert_type": "03", "mdtrt_cert_no": format!("F{card:08}"), "card_sn": VENDOR_CODE, "begntime": "2026-03-02 10:00:00", "psn_cert_type": "", "certno": "", "psn_name": ""}})).await;
    let psn_no = out["baseinfo"]["psn_no"].as_str().unwrap().to_string();
    let register = |msgid: &'static str, begntime: &'static str, otp: &'static str| {
        app.his(&r.institution, "2201", msgid, json!({"data": {"psn_no": psn_no, "insutype": "310", "begntime": begntime, "mdtrt_cert_type": "03", "mdtrt_cert_no": format!("F{card:08}"), "card_sn": VENDOR_CODE, "ipt_otp_no": otp, "atddr_no": "D001", "dr_name": "李医生", "dept_code": "A01", "dept_name": "内科", "caty": "A03"}}))
    };
    for (n, (msgid, begntime, otp)) in [
        ("H120260302160000000002", "2026-03-02T10:01:00", "T1"),
        ("H120260302160000000003", "2026/3/2 10:02:00", "T2"),
        ("H120260302160000000004", "2026-03-02T02:03:00Z", "T3"),
        ("H120260302160000000005", "2026-03-03 09:00:00", "T4"),
    ]
    .into_iter()
    .enumerate()
    {
        let v = register(msgid, begntime, otp).await;
        assert_eq!(v["infcode"], 0, "form {n} {begntime}: {v}");
    }
    let v = register("H120260302160000000006", "yesterday", "T5").await;
    assert_eq!(v["infcode"], -1);
    let msg = v["err_msg"].as_str().unwrap();
    assert!(msg.contains("[invalid_time]") && msg.contains("begntime"), "{msg}");
});
