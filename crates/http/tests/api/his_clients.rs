//! Issue 12: the national interface as real HIS clients use it — whole visits in the
//! shapes their request classes send (numbers as strings, ISO `T` times, `yyyy/M/d`
//! dates, nulls, indented JSON, extra envelope fields), signed with the gateway's
//! `x-tif-*` headers; answers complete and typed; the ID number's round trip; the
//! electronic voucher (R-SET-11); daily reconciliation (3201, 3202, 9101). On both
//! databases.

use serde_json::{Value, json};
use yikatong_core::money::parse_decimal;
use yikatong_core::policy::{PolicySet, SHIPPED};
use yikatong_store::on_both_databases;
use yikatong_store::testing::TestDb;

use super::cards::started;
use super::settlement::{VENDOR_CODE, ready, ready_app, refusal_of};
use super::{SSN, TestApp, assert_problem, spawn_app_on};

const PLAIN: &str = "/fsi/api/rsfComIfsService/callService";

/// An institution's gateway credential and the calls it signs.
struct Gateway {
    paasid: String,
    secret: String,
    nonce: std::sync::atomic::AtomicU32,
}

impl TestApp {
    async fn gateway(&self) -> Gateway {
        let issued = self.ok("POST", "/v1/his-credentials", &self.operator, Some(json!({"institution": "H1"}))).await;
        Gateway { paasid: issued["paasid"].as_str().unwrap().into(), secret: issued["secret"].as_str().unwrap().into(), nonce: 0.into() }
    }

    /// A call as a C# or Java client sends it: the envelope with every field it carries
    /// (numbers where those clients put numbers, nulls, extras), indented, signed.
    async fn client(&self, g: &Gateway, infno: &str, msgid: &str, input: Value) -> Value {
        let body = json!({
            "infno": infno, "msgid": msgid, "mdtrtarea_admvs": "110000", "insuplc_admdvs": "110000", "recer_sys_code": "FSI_LOCAL",
            "dev_no": null, "dev_safe_info": null, "cainfo": null, "signtype": "SM3", "infver": "V1.0", "opter_type": 1, "opter": "001",
            "opter_name": "收费员", "inf_time": "2026-03-02T10:00:00", "fixmedins_code": "H1", "fixmedins_name": "示范医院", "sign_no": null,
            "serv_code": "", "serv_sign": "", "exp_content": null, "input": input,
        });
        let ts = self.service.clock().now().timestamp().to_string();
        let nonce = format!("n{}", g.nonce.fetch_add(1, std::sync::atomic::Ordering::SeqCst));
        let res = self
            .client
            .post(format!("{}{PLAIN}/{infno}", self.base))
            .header("x-tif-paasid", &g.paasid)
            .header("x-tif-timestamp", &ts)
            .header("x-tif-nonce", &nonce)
            .header("x-tif-signature", yikatong_service::gateway_signature(&ts, &g.secret, &nonce))
            .header("x-tif-serviceid", infno)
            .header("content-type", "application/json;charset=utf-8")
            .body(serde_json::to_string_pretty(&body).unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 200);
        res.json().await.unwrap()
    }

    async fn client_ok(&self, g: &Gateway, infno: &str, msgid: &str, input: Value) -> Value {
        let v = self.client(g, infno, msgid, input).await;
        assert_eq!(v["infcode"], 0, "{infno}: {v:#}");
        v["output"].clone()
    }

    async fn client_refused(&self, g: &Gateway, infno: &str, msgid: &str, input: Value, code: &str) -> String {
        refusal_of(&self.client(g, infno, msgid, input).await, infno, code)
    }
}

/// Every field is present; the decimal ones are numbers of at most `places` decimals
/// (never null), the date ones parse.
fn complete(what: &str, v: &Value, fields: &[&str], decimals: &[(&str, u32)], dates: &[(&str, &str)]) {
    for f in fields.iter().chain(decimals.iter().map(|(f, _)| f)).chain(dates.iter().map(|(f, _)| f)) {
        assert!(v.get(*f).is_some(), "{what}.{f} is missing: {v:#}");
    }
    for (f, places) in decimals {
        let text = match &v[*f] {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            other => panic!("{what}.{f} is {other}, not a decimal"),
        };
        assert!(parse_decimal(&text, *places).is_some(), "{what}.{f} {text:?} does not parse as a decimal");
    }
    for (f, format) in dates {
        let text = v[*f].as_str().unwrap_or_else(|| panic!("{what}.{f} is not a date: {v:#}"));
        assert!(
            chrono::NaiveDateTime::parse_from_str(text, format).is_ok() || chrono::NaiveDate::parse_from_str(text, format).is_ok(),
            "{what}.{f} {text:?} does not parse as {format}"
        );
    }
}

const SETLINFO: [&str; 19] = [
    "setl_id",
    "mdtrt_id",
    "psn_no",
    "psn_name",
    "psn_cert_type",
    "certno",
    "gend",
    "naty",
    "insutype",
    "psn_type",
    "cvlserv_flag",
    "flxempe_flag",
    "mdtrt_cert_type",
    "med_type",
    "medins_setl_id",
    "clr_optins",
    "clr_way",
    "clr_type",
    "memo",
];
const SETL_AMOUNTS: [&str; 26] = [
    "medfee_sumamt",
    "med_sumfee",
    "fulamt_ownpay_amt",
    "overlmt_selfpay",
    "preselfpay_amt",
    "inscp_scp_amt",
    "act_pay_dedc",
    "hifp_pay",
    "cvlserv_pay",
    "hifes_pay",
    "hifmi_pay",
    "hifob_pay",
    "hifdm_pay",
    "maf_pay",
    "oth_pay",
    "fund_pay_sumamt",
    "psn_part_amt",
    "acct_pay",
    "psn_cash_pay",
    "hosp_part_amt",
    "balc",
    "acct_mulaid_pay",
    "age",
    "pool_prop_selfpay",
    "inscp_scp_amt",
    "medfee_sumamt",
];

fn complete_settlement(what: &str, out: &Value) {
    let decimals: Vec<(&str, u32)> = SETL_AMOUNTS.iter().map(|f| (*f, if *f == "pool_prop_selfpay" { 4 } else { 2 })).collect();
    complete(what, &out["setlinfo"], &SETLINFO, &decimals, &[("brdy", "%Y-%m-%d"), ("setl_time", "%Y-%m-%d %H:%M:%S")]);
    for d in out["setldetail"].as_array().unwrap() {
        complete(
            &format!("{what} setldetail"),
            d,
            &["fund_pay_type", "fund_pay_type_name", "setl_proc_info"],
            &[("inscp_scp_amt", 2), ("crt_payb_lmt_amt", 2), ("fund_payamt", 2)],
            &[],
        );
    }
}

// Issue 12, parts 4 and 10: a whole visit in the shapes real clients send, signed with
// the gateway's headers; every answer complete and typed.
on_both_databases!(r_set_3_a_whole_visit_in_real_client_shapes_is_answered_completely, |db: TestDb| async move {
    let (app, r, card) = ready(db).await;
    app.ok("POST", &format!("/v1/persons/{SSN}/changes"), &app.operator, Some(json!({"flags": ["special_disease"]}))).await;
    app.ok("POST", &format!("/v1/cards/{card}/synchronisation"), &r.clerk, None).await;
    let g = app.gateway().await;
    app.client_ok(&g, "9001", "H12026030210000000C001", json!({"signIn": {"opter_no": "001", "mac": null, "ip": "127.0.0.1"}})).await;
    let info = app.client_ok(&g, "1101", "H12026030210000000C002", json!({"data": {"mdtrt_cert_type": "03", "mdtrt_cert_no": format!("F{card:08}"), "card_sn": VENDOR_CODE, "begntime": "2026-03-02T10:00:00", "psn_cert_type": null, "certno": null, "psn_name": null}})).await;
    complete("baseinfo", &info["baseinfo"], &["psn_no", "psn_cert_type", "certno", "psn_name", "gend", "naty"], &[("age", 1)], &[("brdy", "%Y-%m-%d")]);
    complete(
        "insuinfo",
        &info["insuinfo"][0],
        &["insutype", "psn_type", "psn_insu_stas", "paus_insu_date", "cvlserv_flag", "insuplc_admdvs", "emp_name", "certno"],
        &[("balc", 2)],
        &[("psn_insu_date", "%Y-%m-%d")],
    );
    complete("idetinfo", &info["idetinfo"][0], &["psn_idet_type", "psn_type_lv", "memo", "endtime"], &[], &[("begntime", "%Y-%m-%d %H:%M:%S")]);
    assert_eq!(info["baseinfo"]["certno"], "110105********002X", "by card the number stays masked");
    let psn_no = info["baseinfo"]["psn_no"].as_str().unwrap().to_string();
    let reg = app.client_ok(&g, "2201", "H12026030210000000C003", json!({"data": {"psn_no": psn_no, "insutype": "310", "begntime": "2026/3/2 10:00:00", "mdtrt_cert_type": "03", "mdtrt_cert_no": format!("F{card:08}"), "card_sn": VENDOR_CODE, "psn_cert_type": null, "certno": null, "psn_type": null, "psn_name": null, "ipt_otp_no": "MZ-C1", "atddr_no": null, "dr_name": null, "dept_code": "A01", "dept_name": "内科", "caty": "A03", "exp_content": null}})).await;
    let mdtrt_id = reg["data"]["mdtrt_id"].as_str().unwrap().to_string();
    // 2203 and 2203A both record the visit's information.
    for (infno, msgid) in [("2203", "H12026030210000000C004"), ("2203A", "H12026030210000000C005")] {
        app.client_ok(&g, infno, msgid, json!({"mdtrtinfo": {"mdtrt_id": mdtrt_id, "psn_no": psn_no, "med_type": "11", "begntime": "2026-03-02T10:00:00", "main_cond_dscr": null, "dise_codg": "J06.900", "dise_name": "急性上呼吸道感染", "birctrl_type": null, "birctrl_matn_date": null, "matn_type": null, "geso_val": null}, "diseinfo": [{"diag_type": "1", "diag_srt_no": 1, "diag_code": "J06.900", "diag_name": "急性上呼吸道感染", "diag_dept": "内科", "dise_dor_no": "D001", "dise_dor_name": "李医生", "diag_time": "2026/3/2 10:05:00", "vali_flag": "1"}]})).await;
    }
    let line = |sn: &str, code: &str, cnt: &str, pric: &str, sum: &str| json!({"feedetl_sn": sn, "mdtrt_id": mdtrt_id, "psn_no": psn_no, "chrg_bchno": "B-C1", "dise_codg": null, "rxno": null, "rx_circ_flag": "0", "fee_ocur_time": "2026-03-02T10:10:00", "med_list_codg": code, "medins_list_codg": code, "det_item_fee_sumamt": sum, "cnt": cnt, "pric": pric, "sin_dos_dscr": null, "used_frqu_dscr": null, "prd_days": null, "medc_way_dscr": null, "bilg_dept_codg": "A01", "bilg_dept_name": "内科", "bilg_dr_codg": "D001", "bilg_dr_name": "李医生", "acord_dept_codg": null, "acord_dept_name": null, "orders_dr_code": null, "orders_dr_name": null, "hosp_appr_flag": "1", "tcmdrug_used_way": null, "etip_flag": null, "etip_hosp_code": null, "dscg_tkdrug_flag": null, "matn_fee_flag": null, "memo": null});
    // A first batch, cancelled with chrg_bchno 0000, then the real one.
    app.client_ok(&g, "2204", "H12026030210000000C006", json!({"feedetail": [line("9", "A1", "1.0000", "10.000000", "10.0000")]})).await;
    let removed = app.client_ok(&g, "2205", "H12026030210000000C007", json!({"data": {"mdtrt_id": mdtrt_id, "chrg_bchno": "0000", "psn_no": psn_no, "exp_content": null}})).await;
    assert_eq!(removed["removed"], 1);
    let up = app.client_ok(&g, "2204", "H12026030210000000C008", json!({"feedetail": [line("1", "DIAG", "1.0000", "50.000000", "50.0000"), line("2", "A1", "2", "1500.000000", "3000.00"), line("3", "B1", "1.0000", "200", "200.0"), line("4", "C1", "1", "100.00", "100"), line("5", "A2", "3.0000", "100.000000", "300.0000")]})).await;
    for l in up["result"].as_array().unwrap() {
        complete(
            "2204 result",
            l,
            &["feedetl_sn", "chrgitm_lv", "med_chrgitm_type", "bas_medn_flag", "hi_nego_drug_flag", "lmt_used_flag", "drt_reim_flag", "memo"],
            &[
                ("det_item_fee_sumamt", 2),
                ("cnt", 4),
                ("pric", 6),
                ("pric_uplmt_amt", 6),
                ("selfpay_prop", 4),
                ("fulamt_ownpay_amt", 2),
                ("overlmt_amt", 2),
                ("preselfpay_amt", 2),
                ("inscp_scp_amt", 2),
            ],
            &[],
        );
    }
    assert_eq!((up["result"][0]["pric_uplmt_amt"].as_str(), up["result"][4]["pric_uplmt_amt"].as_str()), (Some("0.000000"), Some("80.000000")), "no ceiling is 0, never null");
    let settle = |infno: &'static str, msgid: &'static str| {
        app.client(&g, infno, msgid, json!({"data": {"psn_no": psn_no, "mdtrt_cert_type": "03", "mdtrt_cert_no": format!("F{card:08}"), "med_type": "11", "medfee_sumamt": "3650.0000", "psn_setlway": "01", "mdtrt_id": mdtrt_id, "chrg_bchno": "B-C1", "insutype": "310", "acct_used_flag": "1", "invono": null, "fulamt_ownpay_amt": null, "overlmt_selfpay": null, "preselfpay_amt": null, "inscp_scp_amt": null, "mid_setl_flag": "0", "exp_content": null}}))
    };
    let pre = settle("2206", "H12026030210000000C009").await;
    assert_eq!(pre["infcode"], 0, "{pre:#}");
    complete_settlement("2206", &pre["output"]);
    let out = settle("2207", "H12026030210000000C010").await;
    assert_eq!(out["infcode"], 0, "{out:#}");
    complete_settlement("2207", &out["output"]);
    let s = &out["output"]["setlinfo"];
    assert_eq!(
        (s["medfee_sumamt"].as_str(), s["med_sumfee"].as_str(), s["fund_pay_sumamt"].as_str(), s["psn_cash_pay"].as_str(), s["medins_setl_id"].as_str()),
        (Some("3650.00"), Some("3650.00"), Some("1136.00"), Some("2014.00"), Some("H12026030210000000C010"))
    );
    let fen = |f: &str| parse_decimal(s[f].as_str().unwrap(), 2).unwrap();
    assert_eq!(fen("medfee_sumamt"), fen("fund_pay_sumamt") + fen("psn_part_amt"), "total = fund + personal");
    assert_eq!(fen("psn_part_amt"), fen("acct_pay") + fen("psn_cash_pay"));
    let setl_id = s["setl_id"].as_str().unwrap().to_string();
    let q = app.client_ok(&g, "5203", "H12026030210000000C011", json!({"data": {"psn_no": psn_no, "setl_id": setl_id, "mdtrt_id": mdtrt_id}})).await;
    complete_settlement("5203", &q);
    let rev = app.client_ok(&g, "2208", "H12026030210000000C012", json!({"data": {"setl_id": setl_id, "mdtrt_id": mdtrt_id, "psn_no": psn_no, "exp_content": null}})).await;
    complete_settlement("2208", &rev);
    assert_eq!((rev["setlinfo"]["medfee_sumamt"].as_str(), rev["setlinfo"]["refd_setl_flag"].as_str()), (Some("-3650.00"), Some("1")));
    app.verified().await;
});

// Issue 12, part 5: 1101 by ID card answers the number the hospital sent, so that the
// HIS can send it back in 2201 (as 02, or as 03 with the card's identification code);
// by card the number stays masked.
on_both_databases!(r_set_11_the_id_number_round_trip_registers_and_settles, |db: TestDb| async move {
    let (app, _r, card) = ready(db).await;
    let g = app.gateway().await;
    let info = app
        .client_ok(
            &g,
            "1101",
            "H12026030211000000D001",
            json!({"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": SSN, "card_sn": null, "begntime": null, "psn_cert_type": "01", "certno": SSN, "psn_name": null}}),
        )
        .await;
    assert_eq!((info["baseinfo"]["certno"].as_str(), info["insuinfo"][0]["certno"].as_str()), (Some(SSN), Some(SSN)));
    assert_eq!(info["cardinfo"]["card_id"], card);
    let certno = info["baseinfo"]["certno"].as_str().unwrap().to_string();
    let psn_no = info["baseinfo"]["psn_no"].as_str().unwrap().to_string();
    let register = |msgid: &'static str, cert_type: &'static str, cert_no: String, otp: &'static str| {
        app.client(&g, "2201", msgid, json!({"data": {"psn_no": psn_no, "insutype": "310", "begntime": "2026-03-02 10:00:00", "mdtrt_cert_type": cert_type, "mdtrt_cert_no": cert_no, "card_sn": VENDOR_CODE, "ipt_otp_no": otp}}))
    };
    // The number sent back as 02 registers; as 03 with the card's code it registers the card.
    let by_id = register("H12026030211000000D002", "02", certno.clone(), "D-1").await;
    assert_eq!(by_id["infcode"], 0, "{by_id:#}");
    let by_card = register("H12026030211000000D003", "03", certno.clone(), "D-2").await;
    assert_eq!(by_card["infcode"], 0, "{by_card:#}");
    let mdtrt_id = by_card["output"]["data"]["mdtrt_id"].as_str().unwrap().to_string();
    app.client_ok(&g, "2204", "H12026030211000000D004", json!({"feedetail": [{"feedetl_sn": "1", "mdtrt_id": mdtrt_id, "psn_no": psn_no, "chrg_bchno": "B1", "med_list_codg": "A1", "cnt": "1", "pric": "100", "det_item_fee_sumamt": "100.00", "fee_ocur_time": "2026-03-02 10:10:00"}]})).await;
    let out = app.client_ok(&g, "2207", "H12026030211000000D005", json!({"data": {"psn_no": psn_no, "mdtrt_cert_type": "03", "mdtrt_cert_no": certno, "mdtrt_id": mdtrt_id, "medfee_sumamt": "100.00", "acct_used_flag": "0", "insutype": "310", "med_type": "11"}})).await;
    assert_eq!(out["setlinfo"]["certno"], "110105********002X", "the receipt masks the number");
    // The masked form, another person's number, or the wrong card's code are refused.
    let masked = register("H12026030211000000D006", "03", "110105********002X".into(), "D-3").await;
    assert!(masked["err_msg"].as_str().unwrap().contains("[invalid_ssn]"), "{masked}");
    let other = crate::cards::OTHER;
    app.ok("POST", "/v1/persons", &app.operator, Some(json!({"ssn": other, "name": "王五", "ethnicity": "01", "category": "in_service", "region": "beijing", "unit_code": "U1"})))
        .await;
    let theirs = register("H12026030211000000D007", "02", other.into(), "D-4").await;
    assert!(theirs["err_msg"].as_str().unwrap().contains("[card_not_the_persons]"), "{theirs}");
    let wrong_code = app.client(&g, "2201", "H12026030211000000D008", json!({"data": {"psn_no": psn_no, "insutype": "310", "begntime": "2026-03-02 10:00:00", "mdtrt_cert_type": "03", "mdtrt_cert_no": SSN, "card_sn": "110000D15600000500000000000000FF", "ipt_otp_no": "D-5"}})).await;
    assert!(wrong_code["err_msg"].as_str().unwrap().contains("[card_not_found]"), "{wrong_code}");
    // An ID-card visit registers, but Beijing's file settles only card visits in real time.
    let id_visit = by_id["output"]["data"]["mdtrt_id"].as_str().unwrap().to_string();
    app.client_ok(
        &g,
        "2204",
        "H12026030211000000D009",
        json!({"feedetail": [{"feedetl_sn": "1", "mdtrt_id": id_visit, "chrg_bchno": "B1", "med_list_codg": "A1", "cnt": "1", "pric": "10", "det_item_fee_sumamt": "10.00"}]}),
    )
    .await;
    let msg = app
        .client_refused(&g, "2206", "H12026030211000000D010", json!({"data": {"psn_no": psn_no, "mdtrt_id": id_visit, "acct_used_flag": "0"}}), "credential_not_for_realtime")
        .await;
    assert!(msg.contains("settlement.realtime_credential.id_card"), "{msg}");
});

/// The shipped policies with Beijing settling voucher visits in real time from 2026 (a
/// test's own dated value, not a claim about Beijing).
fn voucher_policies() -> PolicySet {
    PolicySet::from_files(SHIPPED.iter().map(|(file, text)| {
        let text = text
            .lines()
            .map(|l| if l.starts_with("voucher = [") { l.replacen("}]", "}, { from = 2026-01-01, flag = true, source = \"test value\" }]", 1) } else { l.to_string() })
            .collect::<Vec<_>>()
            .join("\n");
        (file.to_string(), text)
    }))
    .unwrap()
}

// Issue 12, part 6 (R-SET-11): the electronic voucher — issued to the holder or by a
// clerk, read by 1101, used by one 2201, refused expired, used, unknown or elsewhere;
// settled in real time only where the region's dated policy says so.
on_both_databases!(r_set_11_the_electronic_voucher_serves_one_visit, |db: TestDb| async move {
    let (app, r, _card) = ready(db).await;
    let g = app.gateway().await;
    let issued = app.ok("POST", &format!("/v1/persons/{SSN}/vouchers"), &r.holder, None).await;
    let code = issued["code"].as_str().unwrap().to_string();
    let expires: chrono::DateTime<chrono::Utc> = issued["expires_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(expires - app.service.clock().now(), chrono::Duration::minutes(5), "Beijing's dated 5 minutes");
    let (s, v) = app.call("POST", &format!("/v1/persons/{SSN}/vouchers"), Some(&r.unit), None).await;
    assert_problem(s, &v, 403, "not_allowed_on_channel");
    app.ok("POST", &format!("/v1/persons/{SSN}/vouchers"), &r.clerk, None).await;
    let info = app
        .client_ok(
            &g,
            "1101",
            "H12026030212000000E001",
            json!({"data": {"mdtrt_cert_type": "01", "mdtrt_cert_no": code, "card_sn": null, "begntime": null, "psn_cert_type": null, "certno": null, "psn_name": null}}),
        )
        .await;
    assert_eq!(info["baseinfo"]["certno"], "110105********002X", "by voucher the number stays masked");
    let psn_no = info["baseinfo"]["psn_no"].as_str().unwrap().to_string();
    // Another institution may not take a code H1 read.
    app.ok("POST", "/v1/institutions", &app.operator, Some(json!({"code": "H2", "name": "另一医院", "region": "beijing", "level": "2"}))).await;
    let h2 = app.token(json!({"role": "institution", "institution": "H2"})).await;
    let body = |msgid: &str, infno: &str, data: Value| json!({"infno": infno, "msgid": msgid, "fixmedins_code": "H2", "input": {"data": data}});
    let v: Value = app
        .client
        .post(format!("{}{PLAIN}", app.base))
        .bearer_auth(&h2)
        .json(&body("H22026030212000000E002", "1101", json!({"mdtrt_cert_type": "01", "mdtrt_cert_no": code})))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(v["err_msg"].as_str().unwrap().contains("[voucher_elsewhere]"), "{v}");
    // Ten registrations race with the one code: one visit is registered.
    let app = std::sync::Arc::new(app);
    let g = std::sync::Arc::new(g);
    let tasks: Vec<_> = (0..10)
        .map(|i| {
            let (app, g, psn_no, code) = (app.clone(), g.clone(), psn_no.clone(), code.clone());
            tokio::spawn(async move { app.client(&g, "2201", &format!("H1202603021200000E1{i:02}"), json!({"data": {"psn_no": psn_no, "insutype": "310", "begntime": "2026-03-02 10:00:00", "mdtrt_cert_type": "01", "mdtrt_cert_no": code, "ipt_otp_no": format!("E-{i}")}})).await })
        })
        .collect();
    let mut registered = Vec::new();
    for t in tasks {
        let v = t.await.unwrap();
        if v["infcode"] == 0 {
            registered.push(v["output"]["data"]["mdtrt_id"].as_str().unwrap().to_string());
        } else {
            assert!(v["err_msg"].as_str().unwrap().contains("[voucher_used]"), "{v}");
        }
    }
    assert_eq!(registered.len(), 1, "one visit per voucher");
    app.client_refused(&g, "1101", "H12026030212000000E003", json!({"data": {"mdtrt_cert_type": "01", "mdtrt_cert_no": code}}), "voucher_used").await;
    app.client_refused(&g, "1101", "H12026030212000000E004", json!({"data": {"mdtrt_cert_type": "01", "mdtrt_cert_no": "YKT-NOT-A-CODE"}}), "voucher_unknown").await;
    // Beijing's file: the voucher visit registers but is not settled in real time.
    app.client_ok(
        &g,
        "2204",
        "H12026030212000000E005",
        json!({"feedetail": [{"feedetl_sn": "1", "mdtrt_id": registered[0], "chrg_bchno": "B1", "med_list_codg": "A1", "cnt": "1", "pric": "10", "det_item_fee_sumamt": "10.00"}]}),
    )
    .await;
    app.client_refused(&g, "2207", "H12026030212000000E006", json!({"data": {"psn_no": psn_no, "mdtrt_id": registered[0], "acct_used_flag": "0"}}), "credential_not_for_realtime")
        .await;
    // A code past its minutes is refused with the time it expired.
    let late = app.ok("POST", &format!("/v1/persons/{SSN}/vouchers"), &r.holder, None).await;
    app.clock.set(app.service.clock().now() + chrono::Duration::minutes(6));
    let msg = app.client_refused(&g, "1101", "H12026030212000000E007", json!({"data": {"mdtrt_cert_type": "01", "mdtrt_cert_no": late["code"]}}), "voucher_expired").await;
    assert!(msg.contains("expired at"), "{msg}");
});

on_both_databases!(r_set_11_a_voucher_visit_settles_where_the_dated_policy_allows_it, |db: TestDb| async move {
    let (app, r, card) = ready_app(started(spawn_app_on(db, true, voucher_policies()).await).await).await;
    let g = app.gateway().await;
    // The card is pre-lost: the voucher identifies the holder all the same.
    app.ok("POST", &format!("/v1/cards/{card}/pre-loss"), &r.hotline, Some(json!({}))).await;
    let code = app.ok("POST", &format!("/v1/persons/{SSN}/vouchers"), &r.holder, None).await["code"].as_str().unwrap().to_string();
    let psn_no = app.client_ok(&g, "1101", "H12026030213000000F001", json!({"data": {"mdtrt_cert_type": "01", "mdtrt_cert_no": code}})).await["baseinfo"]["psn_no"]
        .as_str()
        .unwrap()
        .to_string();
    let reg = app
        .client_ok(
            &g,
            "2201",
            "H12026030213000000F002",
            json!({"data": {"psn_no": psn_no, "insutype": "310", "begntime": "2026-03-02 10:00:00", "mdtrt_cert_type": "01", "mdtrt_cert_no": code, "ipt_otp_no": "F-1"}}),
        )
        .await;
    let mdtrt_id = reg["data"]["mdtrt_id"].as_str().unwrap().to_string();
    app.client_ok(
        &g,
        "2204",
        "H12026030213000000F003",
        json!({"feedetail": [{"feedetl_sn": "1", "mdtrt_id": mdtrt_id, "chrg_bchno": "B1", "med_list_codg": "A1", "cnt": "1", "pric": "100", "det_item_fee_sumamt": "100.00"}]}),
    )
    .await;
    let out = app
        .client_ok(
            &g,
            "2207",
            "H12026030213000000F004",
            json!({"data": {"psn_no": psn_no, "mdtrt_id": mdtrt_id, "mdtrt_cert_type": "01", "acct_used_flag": "1", "medfee_sumamt": "100.00"}}),
        )
        .await;
    assert_eq!(
        (out["setlinfo"]["medfee_sumamt"].as_str(), out["setlinfo"]["acct_pay"].as_str(), out["setlinfo"]["mdtrt_cert_type"].as_str()),
        (Some("100.00"), Some("100.00"), Some("01"))
    );
    // Paid once, whatever the retries.
    app.client_refused(&g, "2207", "H12026030213000000F005", json!({"data": {"psn_no": psn_no, "mdtrt_id": mdtrt_id, "acct_used_flag": "1"}}), "already_settled").await;
    app.verified().await;
});

/// One settled visit of `total` yuan at H1 (card, account unused); its `setl_id`.
async fn settled_visit(app: &TestApp, g: &Gateway, card: i64, tag: &str, total: &str) -> (String, String, String) {
    let psn_no = app
        .client_ok(g, "1101", &format!("H1202603021400{tag}01"), json!({"data": {"mdtrt_cert_type": "03", "mdtrt_cert_no": format!("F{card:08}"), "card_sn": VENDOR_CODE}}))
        .await["baseinfo"]["psn_no"]
        .as_str()
        .unwrap()
        .to_string();
    let reg = app.client_ok(g, "2201", &format!("H1202603021400{tag}02"), json!({"data": {"psn_no": psn_no, "insutype": "310", "begntime": "2026-03-02 10:00:00", "mdtrt_cert_type": "03", "mdtrt_cert_no": format!("F{card:08}"), "card_sn": VENDOR_CODE, "ipt_otp_no": format!("R-{tag}")}})).await;
    let mdtrt_id = reg["data"]["mdtrt_id"].as_str().unwrap().to_string();
    app.client_ok(
        g,
        "2204",
        &format!("H1202603021400{tag}03"),
        json!({"feedetail": [{"feedetl_sn": "1", "mdtrt_id": mdtrt_id, "chrg_bchno": "B1", "med_list_codg": "A1", "cnt": "1", "pric": total, "det_item_fee_sumamt": total}]}),
    )
    .await;
    let out =
        app.client_ok(g, "2207", &format!("H1202603021400{tag}04"), json!({"data": {"psn_no": psn_no, "mdtrt_id": mdtrt_id, "acct_used_flag": "0", "medfee_sumamt": total}})).await;
    (out["setlinfo"]["setl_id"].as_str().unwrap().to_string(), mdtrt_id, psn_no)
}

// Issue 12, part 9: 3201 totals and 3202 details, inline and from a 9101 upload (a zip
// as base64, as C# clients send it, and as byte values, as Java clients do); reversals
// count as the platform counts them.
on_both_databases!(his_reconciliation_3201_3202_agree_and_name_each_difference, |db: TestDb| async move {
    let (app, _r, card) = ready(db).await;
    let g = app.gateway().await;
    let (a, a_visit, psn_no) = settled_visit(&app, &g, card, "000001", "100.00").await;
    let (b, b_visit, _) = settled_visit(&app, &g, card, "000002", "40.00").await;
    app.client_ok(&g, "2208", "H12026030214000000G001", json!({"data": {"setl_id": b, "mdtrt_id": b_visit, "psn_no": psn_no}})).await;
    let fund = |setl_id: &str| {
        let setl_id = setl_id.to_string();
        let app = &app;
        async move { app.db.store.get_settlement(&setl_id).await.unwrap().unwrap().receipt["fund_pay_sumamt"].as_i64().unwrap() }
    };
    let (fa, fb) = (fund(&a).await, fund(&b).await);
    let yuan = |fen: i64| yikatong_core::money::Fen(fen).to_string();
    let totals = |count: i64, medfee: &str, fund: String, flag: Option<&str>| json!({"data": {"insutype": "310", "clr_type": "11", "setl_optins": "110000", "stmt_begndate": "2026-03-02", "stmt_enddate": "2026/3/2", "medfee_sumamt": medfee, "fund_pay_sumamt": fund, "acct_pay": "0.00", "fixmedins_setl_cnt": count, "refd_setl_flag": flag}});
    // Net of the day: two settlements and one reversal.
    let agree = app.client_ok(&g, "3201", "H12026030214000000G002", totals(3, "100.00", yuan(fa), None)).await;
    assert_eq!(agree["stmtinfo"]["stmt_rslt"], "0", "{agree:#}");
    let only_settlements = app.client_ok(&g, "3201", "H12026030214000000G003", totals(2, "140.00", yuan(fa + fb), Some("0"))).await;
    assert_eq!(only_settlements["stmtinfo"]["stmt_rslt"], "0", "{only_settlements:#}");
    let differ = app.client_ok(&g, "3201", "H12026030214000000G004", totals(2, "140.00", yuan(fa + fb), None)).await;
    assert_eq!(differ["stmtinfo"]["stmt_rslt"], "1");
    let dscr = differ["stmtinfo"]["stmt_rslt_dscr"].as_str().unwrap();
    assert!(dscr.contains("fixmedins_setl_cnt 2 here 3") && dscr.contains("medfee_sumamt 140.00 here 100.00"), "{dscr}");
    let other_day = app.client_ok(&g, "3201", "H12026030214000000G005", json!({"data": {"stmt_begndate": "2026-03-03", "stmt_enddate": "2026-03-03", "medfee_sumamt": "0", "fund_pay_sumamt": "0", "acct_pay": "0", "fixmedins_setl_cnt": "0"}})).await;
    assert_eq!(other_day["stmtinfo"]["stmt_rslt"], "0", "{other_day:#}");
    // 3202 inline: a wrong amount, a line the service does not know, a record missing.
    let line = |id: &str, visit: &str, medfee: &str, fund: String, flag: &str| json!({"setl_id": id, "mdtrt_id": visit, "psn_no": psn_no, "medfee_sumamt": medfee, "fund_pay_sumamt": fund, "acct_pay": "0.00", "refd_setl_flag": flag});
    let period = |extra: Value| {
        let mut d = json!({"setl_optins": "110000", "clr_type": "11", "stmt_begndate": "2026-03-02", "stmt_enddate": "2026-03-02", "medfee_sumamt": "100.00", "fund_pay_sumamt": "0", "cash_payamt": "0", "fixmedins_setl_cnt": 3});
        d.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        json!({"data": d})
    };
    let all = vec![line(&a, &a_visit, "100.00", yuan(fa), "0"), line(&b, &b_visit, "40.00", yuan(fb), "0"), line(&b, &b_visit, "-40.00", yuan(-fb), "1")];
    let same = app.client_ok(&g, "3202", "H12026030214000000G006", period(json!({"details": all}))).await;
    assert_eq!((same["stmtinfo"]["stmt_rslt"].as_str(), same["result"].as_array().unwrap().len()), (Some("0"), 0), "{same:#}");
    let wrong = vec![line(&a, &a_visit, "99.00", yuan(fa), "0"), line(&b, &b_visit, "40.00", yuan(fb), "0"), line("S-UNKNOWN", "V", "5.00", "0".into(), "0")];
    let out = app.client_ok(&g, "3202", "H12026030214000000G007", period(json!({"details": wrong}))).await;
    let rows: Vec<(String, String, String)> = out["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["setl_id"].as_str().unwrap().into(), r["stmt_rslt"].as_str().unwrap().into(), r["refd_setl_flag"].as_str().unwrap().into()))
        .collect();
    assert_eq!(rows.len(), 3, "{out:#}");
    assert!(
        rows.contains(&(a.clone(), "1".into(), "0".into())) && rows.contains(&("S-UNKNOWN".into(), "2".into(), "0".into())) && rows.contains(&(b.clone(), "3".into(), "1".into())),
        "{rows:?}"
    );
    // The same list as a file: zipped, uploaded with 9101 as base64, then as byte values.
    let text: String = all
        .iter()
        .map(|l| ["setl_id", "mdtrt_id", "psn_no", "medfee_sumamt", "fund_pay_sumamt", "acct_pay", "refd_setl_flag"].map(|k| l[k].as_str().unwrap().to_string()).join("\t") + "\n")
        .collect();
    let mut zipped = Vec::new();
    {
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(&mut zipped));
        w.start_file("H1_20260302.txt", zip::write::SimpleFileOptions::default()).unwrap();
        std::io::Write::write_all(&mut w, text.as_bytes()).unwrap();
        w.finish().unwrap();
    }
    use base64::Engine;
    let up = app
        .client_ok(
            &g,
            "9101",
            "H12026030214000000G008",
            json!({"fsUploadIn": {"in": base64::engine::general_purpose::STANDARD.encode(&zipped), "filename": "H1_20260302.zip", "fixmedins_code": "H1"}}),
        )
        .await;
    let file = up["file_qury_no"].as_str().unwrap().to_string();
    let by_file = app.client_ok(&g, "3202", "H12026030214000000G009", period(json!({"file_qury_no": file}))).await;
    assert_eq!((by_file["stmtinfo"]["stmt_rslt"].as_str(), by_file["fileinfo"]["file_qury_no"].as_str()), (Some("0"), Some(file.as_str())), "{by_file:#}");
    let signed: Vec<i64> = text.replace("100.00", "100.10").bytes().map(|b| i64::from(b as i8)).collect();
    let up = app.client_ok(&g, "9101", "H12026030214000000G010", json!({"fsUploadIn": {"in": signed, "filename": "H1.txt", "fixmedins_code": "H1"}})).await;
    let differs = app.client_ok(&g, "3202", "H12026030214000000G011", period(json!({"file_qury_no": up["file_qury_no"]}))).await;
    assert_eq!(differs["result"][0]["stmt_rslt"], "1", "{differs:#}");
    assert!(differs["result"][0]["memo"].as_str().unwrap().contains("medfee_sumamt 100.10 here 100.00"), "{differs:#}");
    // A bad line is named; another institution's file does not exist for it.
    let bad = app
        .client_refused(&g, "3202", "H12026030214000000G012", period(json!({"details": [{"setl_id": a, "medfee_sumamt": "ten", "refd_setl_flag": "0"}]})), "invalid_detail_line")
        .await;
    assert!(bad.contains("medfee_sumamt"), "{bad}");
    app.client_refused(&g, "3202", "H12026030214000000G013", period(json!({"file_qury_no": "F-NOT-A-FILE"})), "file_not_found").await;
});
