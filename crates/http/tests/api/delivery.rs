//! How new cards reach their holders (R-DIST-1, R-LOSS-5), over real HTTP on both
//! databases: the way chosen among the region's, the mail address checked and sealed at
//! rest, the fees and how they were paid per channel, the operator's dispatch lists.

use serde_json::json;
use yikatong_store::on_both_databases;
use yikatong_store::testing::{TestDb, raw_column_text};

use super::cards::{OTHER, start};
use super::{SSN, assert_problem};

const ADDRESS: &str = "北京市西城区金融大街7号院3号楼";

on_both_databases!(r_dist_1_first_cards_go_by_outlet_mail_bank_or_unit_and_mail_is_sealed, |db: TestDb| async move {
    let (app, r) = start(db).await;
    let apply = format!("/v1/persons/{SSN}/cards");
    // Every part of a bad address is named.
    for (address, part) in [
        (json!({"address": "北京"}), "address.address"),
        (json!({"address": ADDRESS, "postcode": "10003"}), "address.postcode"),
        (json!({"address": ADDRESS, "phone": "call me"}), "address.phone"),
    ] {
        let (s, v) = app.call("POST", &apply, Some(&r.clerk), Some(json!({"delivery": "mail", "address": address}))).await;
        assert_problem(s, &v, 422, "invalid_address");
        assert!(v["detail"].as_str().unwrap().contains(part), "{part}: {v}");
    }
    let (s, v) = app.call("POST", &apply, Some(&r.clerk), Some(json!({"delivery": "outlet", "address": {"address": ADDRESS}}))).await;
    assert_problem(s, &v, 422, "address_not_used");
    let (s, v) = app.call("POST", &apply, Some(&r.clerk), Some(json!({"delivery": "drone"}))).await;
    assert_problem(s, &v, 422, "invalid_delivery");
    // Mailed free (000): no fee, so no payment method.
    let mailed = app.ok("POST", &apply, &r.clerk, Some(json!({"delivery": "mail", "address": {"address": ADDRESS, "postcode": "100033"}}))).await;
    assert_eq!((mailed["delivery"].as_str(), mailed["fee_fen"].as_i64(), mailed["delivery_fee_fen"].as_i64()), (Some("mail"), Some(0), Some(0)), "{mailed}");
    assert!(mailed["payment_method"].is_null());
    // The unit's own application goes to the unit unless it asks otherwise; the bank may deliver.
    app.ok("POST", "/v1/persons", &app.operator, Some(json!({"ssn": OTHER, "name": "王五", "ethnicity": "01", "category": "in_service", "region": "beijing", "unit_code": "U1"})))
        .await;
    let by_bank = app.ok("POST", &format!("/v1/persons/{OTHER}/cards"), &r.unit, Some(json!({"delivery": "bank"}))).await;
    assert_eq!(by_bank["delivery"], "bank");
    let third = yikatong_service::demo::make_ssn("110105", "1985-05-05".parse().unwrap(), 31);
    app.ok("POST", "/v1/persons", &app.operator, Some(json!({"ssn": third, "name": "赵六", "ethnicity": "01", "category": "in_service", "region": "beijing", "unit_code": "U1"})))
        .await;
    let by_unit = app.ok("POST", &format!("/v1/persons/{third}/cards"), &r.unit, Some(json!({}))).await;
    assert_eq!(by_unit["delivery"], "unit", "R-DIST-1: the unit hands out what it applied for");
    // The address is readable nowhere at rest: not in the card, not in its events.
    for (table, column) in [("cards", "data"), ("card_events", "payload")] {
        let text = raw_column_text(&app.db.url, table, column).await.unwrap();
        assert!(text.contains("sm4:") && !text.contains("金融大街") && !text.contains("100033") && !text.contains("13800138000"), "{table}: {text}");
    }
    // The operator's dispatch list per way, the mail list with the address to post to.
    let batch = app.ok("POST", "/v1/production-batches", &app.operator, Some(json!({"region": "beijing"}))).await;
    let batch_id = batch["id"].as_i64().unwrap();
    let mail = app.ok("GET", &format!("/v1/production-batches/{batch_id}/dispatch-list?way=mail"), &app.operator, None).await;
    let mail = mail.as_array().unwrap();
    assert_eq!(mail.len(), 1, "{mail:?}");
    assert_eq!((mail[0]["card_id"].as_i64(), mail[0]["address"].as_str(), mail[0]["postcode"].as_str()), (mailed["id"].as_i64(), Some(ADDRESS), Some("100033")));
    assert_eq!((mail[0]["recipient"].as_str(), mail[0]["phone"].as_str()), (Some("张三"), Some("13800138000")), "the holder's name and phone on record");
    let all = app.ok("GET", &format!("/v1/production-batches/{batch_id}/dispatch-list"), &app.operator, None).await;
    let ways: Vec<&str> = all.as_array().unwrap().iter().map(|l| l["way"].as_str().unwrap()).collect();
    assert_eq!(ways, ["bank", "mail", "unit"], "every way, grouped");
    let (s, v) = app.call("GET", &format!("/v1/production-batches/{batch_id}/dispatch-list"), Some(&r.clerk), None).await;
    assert_eq!(s.as_u16(), 403, "{v}");
    let (s, v) = app.call("GET", &format!("/v1/production-batches/{batch_id}/dispatch-list?way=pigeon"), Some(&app.operator), None).await;
    assert_problem(s, &v, 422, "invalid_delivery");
});

on_both_databases!(r_loss_5_fees_are_paid_the_way_each_channel_takes, |db: TestDb| async move {
    let (app, r) = start(db).await;
    // At the outlet: WeChat or Alipay (001); the first the region lists when unsaid.
    let id = app.active_card(&r, false).await;
    let (s, v) = app
        .call("POST", &format!("/v1/cards/{id}/exchange"), Some(&r.clerk), Some(json!({"reason": "chip unreadable", "delivery": "outlet", "payment_method": "unionpay_card"})))
        .await;
    assert_problem(s, &v, 409, "payment_method_not_accepted");
    let (s, v) = app.call("POST", &format!("/v1/cards/{id}/exchange"), Some(&r.clerk), Some(json!({"reason": "chip unreadable", "delivery": "bank"}))).await;
    assert_problem(s, &v, 409, "delivery_not_offered");
    let rep = app.ok("POST", &format!("/v1/cards/{id}/exchange"), &r.clerk, Some(json!({"reason": "chip unreadable", "delivery": "outlet"}))).await;
    assert_eq!((rep["fee_fen"].as_i64(), rep["payment_method"].as_str()), (Some(2000), Some("wechat")), "{rep}");
    let new_id = rep["replacement_card_id"].as_i64().unwrap();
    let fees = app.db.store.card_fees(new_id).await.unwrap();
    assert_eq!(fees, vec![("replacement".to_string(), 2000, Some("wechat".to_string()))]);
    // Online through the app: a UnionPay card only; mailed to the address given.
    let second = OTHER;
    let other_card = app.active_card_of(&r, second).await;
    let holder = app.token(json!({"role": "holder", "person": second})).await;
    app.set_now("2026-03-05T10:00:00+08:00").await;
    app.ok("POST", &format!("/v1/cards/{other_card}/pre-loss"), &holder, Some(json!({}))).await;
    let path = format!("/v1/cards/{other_card}/replacement-application");
    let (s, v) = app.call("POST", &path, Some(&holder), Some(json!({"delivery": "mail", "address": {"address": ADDRESS}, "via": "app", "payment_method": "alipay"}))).await;
    assert_problem(s, &v, 409, "payment_method_not_accepted");
    let (s, v) = app.call("POST", &path, Some(&holder), Some(json!({"delivery": "mail", "address": {"address": ADDRESS}, "via": "kiosk"}))).await;
    assert_problem(s, &v, 422, "invalid_via");
    let rep = app.ok("POST", &path, &holder, Some(json!({"delivery": "mail", "address": {"address": ADDRESS, "recipient": "王五家属"}, "via": "app"}))).await;
    assert_eq!(rep["payment_method"], "unionpay_card");
    let card = app.card(rep["replacement_card_id"].as_i64().unwrap()).await;
    assert_eq!((card["delivery"].as_str(), card["payment_method"].as_str()), (Some("mail"), Some("unionpay_card")));
    assert_eq!(card["fee_fen"].as_i64().unwrap(), rep["fee_fen"].as_i64().unwrap() + rep["delivery_fee_fen"].as_i64().unwrap(), "the card's fee is the card fee and the delivery");
});

on_both_databases!(r_second_1_claimed_card_is_mailed_where_asked_and_today_requests_still_work, |db: TestDb| async move {
    let (app, r) = start(db).await;
    let id = app.produced_card(&r, SSN, false).await;
    app.ok("POST", &format!("/v1/cards/{id}/return"), &r.unit, None).await;
    let card = app.ok("POST", &format!("/v1/cards/{id}/second-application"), &r.clerk, Some(json!({"delivery": "mail", "address": {"address": ADDRESS}}))).await;
    assert_eq!((card["delivery"].as_str(), card["certificate"]["delivery"].as_str()), (Some("mail"), Some("mail")), "{card}");
    assert!(card["payment_method"].is_null(), "a second application is free");
    // A replacement mailed without an address, as today's clients ask, still goes through:
    // the person has no address on record, so the dispatch list asks for one.
    let old = app.active_card_of(&r, OTHER).await;
    let rep = app.ok("POST", &format!("/v1/cards/{old}/formal-loss"), &r.clerk, Some(json!({"delivery": "mail"}))).await;
    let new_id = rep["replacement_card_id"].as_i64().unwrap();
    let batch = app.ok("POST", "/v1/production-batches", &app.operator, Some(json!({"region": "beijing"}))).await;
    let list = app.ok("GET", &format!("/v1/production-batches/{}/dispatch-list?way=mail", batch["id"]), &app.operator, None).await;
    let line = list.as_array().unwrap().iter().find(|l| l["card_id"] == new_id).cloned().unwrap_or_default();
    assert_eq!(line["address_missing"], true, "{list}");
});

on_both_databases!(r_dist_1_portal_holder_asks_for_mail_and_the_operator_sees_the_mail_list, |db: TestDb| async move {
    use crate::portal::OWN_PASSWORD;
    let (app, r) = start(db).await;
    let id = app.active_card(&r, false).await;
    app.own_password(&r, id, OWN_PASSWORD).await;
    app.set_now("2026-03-05T09:00:00+08:00").await;
    let cookie = app.post_form("/holder/sign-in", "", &[("ssn", SSN), ("password", OWN_PASSWORD)]).await.1.unwrap();
    app.post_form(&format!("/holder/cards/{id}/pre-loss"), &cookie, &[]).await;
    let (_, form) = app.page(&format!("/holder/cards/{id}/replacement"), &cookie).await;
    assert!(form.contains("name=\"address\"") && form.contains("unionpay_card") && form.contains("name=\"via\""), "{form}");
    let (status, _, refused) =
        app.post_form(&format!("/holder/cards/{id}/replacement"), &cookie, &[("delivery", "mail"), ("address", ADDRESS), ("postcode", "1000"), ("via", "app")]).await;
    assert_eq!(status, 422, "{refused}");
    assert!(refused.contains("address.postcode"), "{refused}");
    let (status, _, slip) = app
        .post_form(
            &format!("/holder/cards/{id}/replacement"),
            &cookie,
            &[("delivery", "mail"), ("address", ADDRESS), ("postcode", "100033"), ("payment_method", ""), ("via", "app")],
        )
        .await;
    assert_eq!(status, 200, "{slip}");
    assert!(slip.contains("银联卡 UnionPay card"), "the app takes a UnionPay card: {slip}");
    let batch = app.ok("POST", "/v1/production-batches", &app.operator, Some(json!({"region": "beijing"}))).await;
    let (_, op_cookie, _) = app.post_form("/operator/sign-in", "", &[("token", &app.operator)]).await;
    let op_cookie = op_cookie.unwrap();
    let (status, list) = app.page(&format!("/operator/batches/{}/dispatch-list?way=mail", batch["id"]), &op_cookie).await;
    assert_eq!(status, 200, "{list}");
    assert!(list.contains(ADDRESS) && list.contains("100033") && list.contains("张三"), "{list}");
    let (_, banks) = app.page(&format!("/operator/batches/{}/dispatch-list?way=bank", batch["id"]), &op_cookie).await;
    assert!(!banks.contains(ADDRESS), "the bank's list has only the bank's cards");
});
