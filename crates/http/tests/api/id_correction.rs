//! Correcting a person's ID number (R-EXCH-1, 003 Q66) over real HTTP on both databases:
//! the information change first, through the unit, then the exchange; the person keeps
//! their cards, account and history, and one number names one person even under races.

use serde_json::json;
use yikatong_store::on_both_databases;
use yikatong_store::testing::TestDb;

use super::cards::{OTHER, start};
use super::{SSN, assert_problem};

on_both_databases!(r_exch_1_a_corrected_id_number_keeps_cards_account_and_history_then_the_card_is_exchanged, |db: TestDb| async move {
    let (app, r) = start(db).await;
    let corrected = yikatong_service::demo::make_ssn("110105", "1949-12-30".parse().unwrap(), 3);
    let id = app.active_card(&r, false).await;
    app.ok("POST", &format!("/v1/persons/{SSN}/account/credits"), &app.operator, Some(json!({"amount_fen": 4321, "reason": "transfer", "kind": "transfer_in"}))).await;
    let change = format!("/v1/persons/{SSN}/changes");
    // A wrong number says which part is wrong; a number someone else holds is refused.
    let bad = format!("{}0", &corrected[..17]);
    let (s, v) = app.call("POST", &change, Some(&r.unit), Some(json!({"ssn": bad}))).await;
    assert_eq!(s.as_u16(), 422, "{v}");
    assert!(v["detail"].as_str().unwrap().contains("check"), "{v}");
    app.ok("POST", "/v1/persons", &app.operator, Some(json!({"ssn": OTHER, "name": "王五", "ethnicity": "01", "category": "in_service", "region": "beijing", "unit_code": "U1"})))
        .await;
    let (s, v) = app.call("POST", &change, Some(&r.unit), Some(json!({"ssn": OTHER}))).await;
    assert_problem(s, &v, 409, "ssn_taken");
    // The unit files the correction.
    let done = app.ok("POST", &change, &r.unit, Some(json!({"ssn": corrected}))).await;
    assert_eq!(done["fields"], json!(["ssn", "gender", "birth_date"]), "the birth date and gender follow the number: {done}");
    assert_eq!(done["before"]["ssn"], "110105********002X", "masked in what is shown: {done}");
    // Found by the new number only, with the same card and account.
    let (s, _) = app.call("GET", &format!("/v1/persons/{SSN}"), Some(&app.operator), None).await;
    assert_eq!(s.as_u16(), 404, "the old number finds no one");
    let person = app.ok("GET", &format!("/v1/persons/{corrected}"), &app.operator, None).await;
    assert_eq!((person["birth_date"].as_str(), person["cards"][0]["id"].as_i64()), (Some("1949-12-30"), Some(id)), "{person}");
    assert_eq!(person["cards"][0]["number_changed"], true, "the card carries the old number");
    assert_eq!(app.ok("GET", &format!("/v1/persons/{corrected}/account"), &app.operator, None).await["balance_fen"], 4321);
    let history = app.ok("GET", &format!("/v1/persons/{corrected}/changes"), &app.operator, None).await;
    assert!(history.as_array().unwrap().iter().any(|c| c["fields"][0] == "ssn"), "{history}");
    // No one else registers with the new number.
    let (s, v) = app
        .call("POST", "/v1/persons", Some(&app.operator), Some(json!({"ssn": corrected, "name": "冒名", "ethnicity": "01", "category": "in_service", "region": "beijing"})))
        .await;
    assert_eq!(s.as_u16(), 409, "{v}");
    // The holder signs in and applies by the new number; the old card works until the
    // exchanged one is activated.
    let holder = app.token(json!({"role": "holder", "person": corrected})).await;
    assert_eq!(app.ok("GET", &format!("/v1/cards/{id}"), &holder, None).await["id"], id);
    let rep = app.ok("POST", &format!("/v1/cards/{id}/exchange"), &r.clerk, Some(json!({"reason": "ID number corrected", "delivery": "outlet"}))).await;
    let new_id = rep["replacement_card_id"].as_i64().unwrap();
    assert_eq!(app.card(new_id).await["number_changed"], false, "the new card is made with the new number");
    app.produce(&r, new_id).await;
    app.set_now("2026-03-23T10:00:00+08:00").await;
    let number = rep["certificate"]["number"].as_str().unwrap();
    let (s, v) = app.call("POST", &format!("/v1/cards/{new_id}/hand-over"), Some(&r.clerk), Some(json!({"certificate_number": number, "holder_ssn": SSN}))).await;
    assert_problem(s, &v, 422, "holder_id_mismatch");
    app.ok("POST", &format!("/v1/cards/{new_id}/hand-over"), &r.clerk, Some(json!({"certificate_number": number, "holder_ssn": corrected}))).await;
    assert_eq!(app.card(id).await["state"], "active", "until the new card is activated");
    app.ok("POST", &format!("/v1/cards/{new_id}/activation"), &r.institution, Some(json!({"zone": "social"}))).await;
    assert_eq!(app.card(id).await["state"], "exchanged");
    assert_eq!(app.ok("GET", &format!("/v1/persons/{corrected}/account"), &app.operator, None).await["balance_fen"], 4321, "the balance stays with the person");
});

on_both_databases!(r_exch_1_two_corrections_to_one_number_race_and_one_wins, |db: TestDb| async move {
    let (app, _r) = start(db).await;
    app.ok("POST", "/v1/persons", &app.operator, Some(json!({"ssn": OTHER, "name": "王五", "ethnicity": "01", "category": "in_service", "region": "beijing", "unit_code": "U1"})))
        .await;
    let target = yikatong_service::demo::make_ssn("110105", "1970-07-07".parse().unwrap(), 9);
    let body = json!({"ssn": target});
    let (first, second) = (format!("/v1/persons/{SSN}/changes"), format!("/v1/persons/{OTHER}/changes"));
    let (a, b) = tokio::join!(app.call("POST", &first, Some(&app.operator), Some(body.clone())), app.call("POST", &second, Some(&app.operator), Some(body.clone())));
    let mut statuses = [a.0.as_u16(), b.0.as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [201, 409], "one number names one person: {a:?} {b:?}");
    let found = app.ok("GET", &format!("/v1/persons/{target}"), &app.operator, None).await;
    assert!(found["name"] == "张三" || found["name"] == "王五", "{found}");
});

on_both_databases!(r_exch_1_portal_the_unit_files_the_corrected_number, |db: TestDb| async move {
    let (app, r) = start(db).await;
    let cookie = app.post_form("/unit/sign-in", "", &[("token", &r.unit)]).await.1.unwrap();
    let (_, home) = app.page("/unit", &cookie).await;
    assert!(home.contains("name=\"new_ssn\""), "{home}");
    let corrected = yikatong_service::demo::make_ssn("110105", "1949-12-30".parse().unwrap(), 3);
    let (status, _, refused) = app.post_form("/unit/changes", &cookie, &[("ssn", SSN), ("new_ssn", "110105194912300033")]).await;
    assert_eq!(status, 422, "a wrong check digit is refused: {refused}");
    let (status, _, slip) = app.post_form("/unit/changes", &cookie, &[("ssn", SSN), ("new_ssn", &corrected)]).await;
    assert_eq!(status, 200, "{slip}");
    assert!(slip.contains("ssn"), "{slip}");
    assert_eq!(app.ok("GET", &format!("/v1/persons/{corrected}"), &app.operator, None).await["name"], "张三");
});
