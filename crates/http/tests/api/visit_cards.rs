//! R-SET-9: a hospital's own visit card linked to the social security card at the first
//! visit (2201's `visit_card_no`); afterwards 1101 by the card alone answers it.

use serde_json::{Value, json};
use yikatong_store::on_both_databases;
use yikatong_store::testing::TestDb;

use super::TestApp;
use super::settlement::{VENDOR_CODE, ready, refusal_of};

impl TestApp {
    /// 1101 by card at H1: the answer's `visit_card_no` and `psn_no`.
    async fn read_card(&self, token: &str, card: i64, msgid: &str) -> (String, String) {
        let out = self.his_ok(token, "1101", msgid, json!({"data": {"mdtrt_cert_type": "03", "mdtrt_cert_no": format!("F{card:08}"), "card_sn": VENDOR_CODE}})).await;
        (out["baseinfo"]["visit_card_no"].as_str().unwrap().to_string(), out["baseinfo"]["psn_no"].as_str().unwrap().to_string())
    }

    async fn register_with_visit_card(&self, token: &str, card: i64, psn_no: &str, msgid: &str, visit_card_no: &str) -> Value {
        let data = json!({"psn_no": psn_no, "insutype": "310", "begntime": "2026-03-02 10:00:00", "mdtrt_cert_type": "03", "mdtrt_cert_no": format!("F{card:08}"), "card_sn": VENDOR_CODE, "ipt_otp_no": format!("MZ{msgid}"), "visit_card_no": visit_card_no});
        self.his(token, "2201", msgid, json!({"data": data})).await
    }
}

on_both_databases!(r_set_9_the_visit_card_is_linked_at_the_first_visit_and_the_card_alone_finds_it, |db: TestDb| async move {
    let (app, r, card) = ready(db).await;
    let (linked, psn_no) = app.read_card(&r.institution, card, "H120260302100000000V01").await;
    assert_eq!(linked, "", "no visit card yet");
    let first = app.register_with_visit_card(&r.institution, card, &psn_no, "H120260302100000000V02", "JZK-0001").await;
    assert_eq!(first["infcode"], 0, "{first}");
    assert_eq!(app.read_card(&r.institution, card, "H120260302100000000V03").await.0, "JZK-0001", "afterwards the social security card alone is enough");
    // Another institution does not see H1's visit card.
    app.op("POST", "/v1/institutions", Some(json!({"code": "H2", "name": "第二医院", "region": "beijing", "level": "2"}))).await;
    let h2 = app.service.issue_token(&yikatong_service::TokenRequest { role: "institution".into(), institution: Some("H2".into()), ..Default::default() }).await.unwrap().token;
    let body = json!({"infno": "1101", "msgid": "H220260302100000000V04", "fixmedins_code": "H2", "input": {"data": {"mdtrt_cert_type": "03", "mdtrt_cert_no": format!("F{card:08}"), "card_sn": VENDOR_CODE}}});
    let other: Value = app.client.post(format!("{}/fsi/api/rsfComIfsService/callService", app.base)).bearer_auth(&h2).json(&body).send().await.unwrap().json().await.unwrap();
    assert_eq!(other["output"]["baseinfo"]["visit_card_no"], "", "{other}");
    // A malformed number is refused and registers nothing.
    let bad = app.register_with_visit_card(&r.institution, card, &psn_no, "H120260302100000000V05", "no spaces!").await;
    assert!(refusal_of(&bad, "2201", "invalid_visit_card_no").contains("visit_card_no"));

    // Five holders' first visits race to link one number: one wins, the others are
    // told why (their registration rolls back with the link).
    let mut holders = Vec::new();
    for i in 0..5u32 {
        let ssn = yikatong_service::demo::make_ssn("110105", "1980-05-01".parse().unwrap(), 301 + 2 * i);
        let c = app.active_card_of(&r, &ssn).await;
        let (_, p) = app.read_card(&r.institution, c, &format!("H120260302100000000R{i}0")).await;
        holders.push((c, p));
    }
    let msgids: Vec<String> = (0..holders.len()).map(|i| format!("H120260302100000000R{i}1")).collect();
    let answers = futures_util::future::join_all(holders.iter().zip(&msgids).map(|((c, p), m)| app.register_with_visit_card(&r.institution, *c, p, m, "JZK-0002"))).await;
    let won: Vec<usize> = answers.iter().enumerate().filter(|(_, a)| a["infcode"] == 0).map(|(i, _)| i).collect();
    assert_eq!(won.len(), 1, "{answers:?}");
    for (i, a) in answers.iter().enumerate().filter(|(i, _)| *i != won[0]) {
        assert!(refusal_of(a, "2201", "visit_card_taken").contains("JZK-0002"), "{i}: {a}");
        assert_eq!(app.read_card(&r.institution, holders[i].0, &format!("H120260302100000000R{i}2")).await.0, "");
    }
    assert_eq!(app.read_card(&r.institution, holders[won[0]].0, "H120260302100000000R99").await.0, "JZK-0002");

    // The hospital gives the first holder a new card: the new number replaces the old,
    // which is free again for someone else.
    let again = app.register_with_visit_card(&r.institution, card, &psn_no, "H120260302100000000V06", "JZK-0003").await;
    assert_eq!(again["infcode"], 0, "{again}");
    assert_eq!(app.read_card(&r.institution, card, "H120260302100000000V07").await.0, "JZK-0003");
    let loser = (0..5).find(|i| *i != won[0]).unwrap();
    let reuse = app.register_with_visit_card(&r.institution, holders[loser].0, &holders[loser].1, "H120260302100000000V08", "JZK-0001").await;
    assert_eq!(reuse["infcode"], 0, "{reuse}");
});
