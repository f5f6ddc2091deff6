//! The insured region's side of care in another region (R-XREG-1, R-XREG-2), on both
//! databases: the calls another region's deployment makes, answered by
//! `Service::answer_region_call` as the NATS link hands them over.

use serde_json::{Value, json};
use yikatong_service::{CallFrom, Part, RegionCall};
use yikatong_store::on_both_databases;
use yikatong_store::testing::TestDb;

use super::settlement::{VENDOR_CODE, ready};
use super::{SSN, TestApp};

async fn answer(app: &TestApp, call: &RegionCall) -> Value {
    serde_json::from_slice(&app.service.answer_region_call(&serde_json::to_vec(call).unwrap()).await).unwrap()
}

fn from(care: &str) -> CallFrom {
    CallFrom { care_admdvs: care.into(), institution: format!("H{care}") }
}

fn register(care: &str, psn_no: &str, card: i64, tag: &str) -> RegionCall {
    RegionCall::Register {
        from: from(care),
        call_key: format!("{care}:his:H{care}:R{tag}"),
        mdtrt_id: format!("H{care}V{tag}"),
        psn_no: psn_no.into(),
        cert_type: "03".into(),
        cert_no: format!("F{card:08}"),
        card_sn: Some(VENDOR_CODE.into()),
        begntime: "2026-03-02 10:00:00".into(),
    }
}

fn settle(psn_no: &str, card: i64, amount_fen: i64, setl_id: &str) -> RegionCall {
    use yikatong_core::money::Fen;
    use yikatong_core::settlement::{CatalogItem, FeeLine, ItemClass, ItemKind, SettlementKind};
    let line = FeeLine { sn: "1".into(), code: "T1".into(), qty_e4: 10_000, price_e6: amount_fen * 10_000, amount: Fen(amount_fen) };
    let item = CatalogItem { code: "T1".into(), name: "治疗".into(), kind: ItemKind::Treatment, class: ItemClass::A, price_ceiling_fen: None };
    RegionCall::Settle {
        from: from("130000"),
        call_key: "130000:his:H130000:S1".into(),
        mdtrt_id: "H130000V1".into(),
        psn_no: psn_no.into(),
        date: "2026-03-02".parse().unwrap(),
        credential: "03".into(),
        card_id: Some(card),
        level: "1".into(),
        book: true,
        parts: vec![Part { kind: SettlementKind::Realtime, setl_id: setl_id.into(), use_account: false, lines: vec![(line, item)] }],
    }
}

on_both_databases!(r_xreg_1_r_xreg_2_the_insured_region_refuses_a_pair_that_needs_a_filing_and_books_a_repeated_call_once, |db: TestDb| async move {
    let (app, r, card) = ready(db).await;
    let out = app
        .his_ok(&r.institution, "1101", "H120260302100000XR01", json!({"data": {"mdtrt_cert_type": "03", "mdtrt_cert_no": format!("F{card:08}"), "card_sn": VENDOR_CODE}}))
        .await;
    let psn_no = out["baseinfo"]["psn_no"].as_str().unwrap().to_string();

    // Jinan is no Beijing-Tianjin-Hebei region: Beijing's file asks a filing first.
    let refused = answer(&app, &register("370100", &psn_no, card, "1")).await;
    assert_eq!((refused["outcome"].as_str(), refused["code"].as_str()), (Some("refused"), Some("filing_required")), "{refused}");
    assert!(refused["message"].as_str().unwrap().contains("备案"), "{refused}");
    // A clerk records a filing for temporary care in Jinan in March: the visit of 2
    // March goes through; an ended filing for Suzhou does not cover it.
    let filing = app
        .ok(
            "POST",
            &format!("/v1/persons/{SSN}/filings"),
            &r.clerk,
            Some(json!({"care_admdvs": "370100", "kind": "temporary", "valid_from": "2026-03-01", "valid_to": "2026-03-31"})),
        )
        .await;
    assert_eq!((filing["care_region"].as_str(), filing["kind"].as_str()), (Some("济南市"), Some("temporary")), "{filing}");
    app.ok(
        "POST",
        &format!("/v1/persons/{SSN}/filings"),
        &r.clerk,
        Some(json!({"care_admdvs": "320500", "kind": "long_term_residence", "valid_from": "2025-01-01", "valid_to": "2026-02-28"})),
    )
    .await;
    let bad = app.call("POST", &format!("/v1/persons/{SSN}/filings"), Some(&r.clerk), Some(json!({"care_admdvs": "110105", "kind": "temporary"}))).await;
    assert_eq!(bad.1["code"], "filing_for_own_region", "{:?}", bad.1);
    let filed = app.ok("GET", &format!("/v1/persons/{SSN}/filings"), &app.operator, None).await;
    assert_eq!(filed.as_array().unwrap().len(), 2, "{filed}");
    let jinan = answer(&app, &register("370100", &psn_no, card, "2")).await;
    assert_eq!(jinan["outcome"], "registered", "{jinan}");
    let suzhou = answer(&app, &register("320500", &psn_no, card, "3")).await;
    assert_eq!(suzhou["code"], "filing_required", "an ended filing covers nothing: {suzhou}");
    let registered = answer(&app, &register("130000", &psn_no, card, "4")).await;
    assert_eq!(registered["outcome"], "registered", "{registered}");
    assert!(registered["holder"]["ssn"].as_str().unwrap().contains("********"), "the ID number leaves the region masked: {registered}");

    // 2207 from Hebei, and the same call again (the care region retrying with new ids):
    // the first answer, one booking.
    let first = answer(&app, &settle(&psn_no, card, 300_000, "S1")).await;
    assert_eq!(first["outcome"], "settled", "{first}");
    assert_eq!(first["receipts"][0]["deductible_applied"], 180_000, "Beijing's in-service deductible: {first}");
    let again = answer(&app, &settle(&psn_no, card, 300_000, "S2")).await;
    assert_eq!(again, first);
    assert_eq!(again["setl_ids"][0], "S1");
    let other = answer(&app, &settle(&psn_no, card, 100_000, "S3")).await;
    assert_eq!(other["code"], "call_key_reused", "{other}");
    let op = app.service.authenticate(&app.operator).await.unwrap();
    let booked = app.service.settlements_of(&op, SSN).await.unwrap();
    assert_eq!(booked.len(), 1, "booked once");
    assert_eq!(booked[0].setl_id, "S1");
    let report = app.service.verify_database().await.unwrap();
    assert_eq!(report.violations, 0, "{:?}", report.invariants);
});
