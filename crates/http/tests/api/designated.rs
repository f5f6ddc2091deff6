//! R-SET-12: where a holder may be treated. A Beijing holder with a recorded choice
//! settles in real time only at the chosen institutions and at those of a class open to
//! all (A-class, TCM, specialty); elsewhere the visit is refused with the way to a manual
//! claim. A holder with no recorded choice is not restricted.

use serde_json::json;
use yikatong_store::on_both_databases;
use yikatong_store::testing::TestDb;

use super::assert_problem;
use super::scenarios::catalogue;

on_both_databases!(r_set_12_designated_institutions_restrict_real_time_settlement, |db: TestDb| async move {
    let app = crate::spawn_app(db).await;
    catalogue(&app).await;
    app.set_now("2026-01-05T10:00:00+08:00").await;
    app.op("POST", "/v1/outlets", Some(json!({"code": "O1", "name": "网点", "region": "beijing"}))).await;
    let chosen_elsewhere = app.hospital("beijing", "110000", "110105", "HA", "3", None).await;
    let chosen = app.hospital("beijing", "110000", "110105", "HB", "2", None).await;
    let tcm = app.hospital("beijing", "110000", "110105", "HC", "3", Some("tcm")).await;
    for code in ["HD", "HE"] {
        app.hospital("beijing", "110000", "110105", code, "1", None).await;
    }
    let (s, v) = app.op("POST", "/v1/institutions", Some(json!({"code": "HX", "name": "x", "region": "beijing", "level": "3", "class": "famous"}))).await;
    assert_problem(s, &v, 422, "invalid_class");
    let ssn = yikatong_service::demo::make_ssn("110105", "1980-02-01".parse().unwrap(), 11);
    app.op("POST", "/v1/persons", Some(json!({"ssn": ssn, "name": "定点", "ethnicity": "01", "category": "in_service", "region": "beijing"}))).await;
    let card = yikatong_service::demo::issue_active_cards(&app.service, std::slice::from_ref(&ssn), "O1", "HA").await.unwrap()[0];
    let number = app.ok("GET", &format!("/v1/cards/{card}"), &app.operator, None).await["card_number"].as_str().unwrap().to_string();
    let counts = app.ok("GET", "/v1/reports/designated-choices", &app.operator, None).await;
    assert_eq!(counts, json!([{"region": "beijing", "persons": 1, "with_choice": 0, "without_choice": 1, "restricts": true}]));
    let line = [("A1", "100.00")];

    // No recorded choice: not restricted.
    assert_eq!(app.settle_on(&chosen_elsewhere, &number, "310", "N1", "2026-03-02", &line).await["infcode"], 0);
    // A clerk records the handbook's choice from June; May's visit is not restricted yet.
    let clerk = app.service.issue_token(&yikatong_service::TokenRequest { role: "clerk".into(), outlet: Some("O1".into()), ..Default::default() }).await.unwrap().token;
    let set = app.ok("PUT", &format!("/v1/persons/{ssn}/designated-institutions"), &clerk, Some(json!({"institutions": ["HB", "HD"], "valid_from": "2026-06-01"}))).await;
    assert_eq!((set["restricts"].as_bool(), set["max_choices"].as_u64(), set["current"].is_null()), (Some(true), Some(4), true), "{set}");
    assert_eq!(set["history"][0]["chosen_by"], "clerk at O1");
    assert_eq!(app.settle_on(&chosen_elsewhere, &number, "310", "N2", "2026-05-04", &line).await["infcode"], 0);
    // From June: elsewhere refused, with the way to a manual claim.
    let refused = app.settle_on(&chosen_elsewhere, &number, "310", "N3", "2026-06-02", &line).await;
    let msg = crate::settlement::refusal_of(&refused, "2207", "not_designated_institution");
    assert!(msg.contains("HB, HD") && msg.contains("手工报销"), "{msg}");
    // The chosen institution and a TCM hospital (open to all in Beijing) settle.
    assert_eq!(app.settle_on(&chosen, &number, "310", "N4", "2026-06-03", &line).await["infcode"], 0);
    assert_eq!(app.settle_on(&tcm, &number, "310", "N5", "2026-06-04", &line).await["infcode"], 0);

    // The region's maximum, its own institutions, and who may record a choice.
    let (s, v) = app.call("PUT", &format!("/v1/persons/{ssn}/designated-institutions"), Some(&clerk), Some(json!({"institutions": ["HA", "HB", "HC", "HD", "HE"]}))).await;
    assert_problem(s, &v, 422, "too_many_institutions");
    app.op("POST", "/v1/institutions", Some(json!({"code": "HH", "name": "河北医院", "region": "hebei", "level": "3"}))).await;
    let (s, v) = app.call("PUT", &format!("/v1/persons/{ssn}/designated-institutions"), Some(&clerk), Some(json!({"institutions": ["HH"]}))).await;
    assert_problem(s, &v, 422, "institution_not_in_region");
    let kiosk = app.service.issue_token(&yikatong_service::TokenRequest { role: "kiosk".into(), ..Default::default() }).await.unwrap().token;
    let (s, v) = app.call("PUT", &format!("/v1/persons/{ssn}/designated-institutions"), Some(&kiosk), Some(json!({"institutions": ["HA"]}))).await;
    assert_problem(s, &v, 403, "not_allowed_on_channel");
    app.set_now("2026-06-10T10:00:00+08:00").await;
    let read = app.ok("GET", &format!("/v1/persons/{ssn}/designated-institutions"), &app.operator, None).await;
    assert_eq!(read["current"]["institutions"], json!(["HB", "HD"]), "{read}");
    let counts = app.ok("GET", "/v1/reports/designated-choices", &app.operator, None).await;
    assert_eq!((counts[0]["with_choice"].as_i64(), counts[0]["without_choice"].as_i64()), (Some(1), Some(0)));
    app.verified().await;
});
