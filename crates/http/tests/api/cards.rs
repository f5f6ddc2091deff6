//! Card scenarios, one per SPEC rule, over real HTTP on both databases.

use reqwest::StatusCode;
use serde_json::{Value, json};
use yikatong_store::on_both_databases;
use yikatong_store::testing::TestDb;

use super::{SSN, TestApp, assert_problem, spawn_app};

pub(crate) const OTHER: &str = "11010219900307123X";
const VENDOR_CODE: &str = "110000D15600000500000000000000AB";

/// Tokens for each role the scenarios use.
pub(crate) struct Roles {
    pub(crate) clerk: String,
    pub(crate) unit: String,
    pub(crate) hotline: String,
    pub(crate) kiosk: String,
    pub(crate) holder: String,
    pub(crate) institution: String,
    pub(crate) bank: String,
    pub(crate) vendor: String,
}

impl TestApp {
    pub(crate) async fn roles(&self) -> Roles {
        Roles {
            clerk: self.token(json!({"role": "clerk", "outlet": "O1"})).await,
            unit: self.token(json!({"role": "unit", "unit": "U1"})).await,
            hotline: self.token(json!({"role": "hotline"})).await,
            kiosk: self.token(json!({"role": "kiosk"})).await,
            holder: self.token(json!({"role": "holder", "person": SSN})).await,
            institution: self.token(json!({"role": "institution", "institution": "H1"})).await,
            bank: self.token(json!({"role": "bank"})).await,
            vendor: self.token(json!({"role": "vendor"})).await,
        }
    }

    pub(crate) async fn set_now(&self, rfc3339: &str) {
        let (s, v) = self.call("PUT", "/v1/test/clock", None, Some(json!({"now": rfc3339}))).await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }

    pub(crate) async fn ok(&self, method: &str, path: &str, token: &str, body: Option<Value>) -> Value {
        let (s, v) = self.call(method, path, Some(token), body).await;
        assert!(s.is_success(), "{method} {path}: {s} {v}");
        v
    }

    /// Applies, produces, dispatches and (for `produced` cards) returns the card id.
    pub(crate) async fn produced_card(&self, r: &Roles, ssn: &str, financial: bool) -> i64 {
        let card = self.ok("POST", &format!("/v1/persons/{ssn}/cards"), &r.clerk, Some(json!({"financial": financial}))).await;
        let id = card["id"].as_i64().unwrap();
        assert_eq!(card["state"], "applied");
        if financial {
            self.ok("POST", &format!("/v1/cards/{id}/bank-account"), &r.bank, Some(json!({"opened": true}))).await;
        }
        self.produce(r, id).await;
        id
    }

    /// Cuts a batch (which takes every applied card) and produces `id` in it.
    pub(crate) async fn produce(&self, r: &Roles, id: i64) {
        let batch = self.ok("POST", "/v1/production-batches", &self.operator, Some(json!({"region": "beijing"}))).await;
        let batch_id = batch["id"].as_i64().unwrap();
        assert!(batch["card_ids"].as_array().unwrap().contains(&json!(id)), "{batch}");
        let number = format!("F{id:08}");
        let report = self
            .ok(
                "POST",
                &format!("/v1/production-batches/{batch_id}/results"),
                &r.vendor,
                Some(json!([{"card_id": id, "card_number": number, "card_identification_code": VENDOR_CODE}])),
            )
            .await;
        assert_eq!(report[0]["status"], "produced", "{report}");
        self.ok("POST", &format!("/v1/production-batches/{batch_id}/dispatch"), &self.operator, None).await;
    }

    /// A first card, handed over by the unit and started at the hospital.
    pub(crate) async fn active_card(&self, r: &Roles, financial: bool) -> i64 {
        let id = self.produced_card(r, SSN, financial).await;
        self.ok("POST", &format!("/v1/cards/{id}/hand-over"), &r.unit, Some(json!({}))).await;
        let card = self.ok("POST", &format!("/v1/cards/{id}/activation"), &r.institution, Some(json!({"zone": "social"}))).await;
        assert_eq!(card["state"], "active");
        id
    }

    /// A first card of `ssn` (registered in unit U1 if new), handed over and started.
    pub(crate) async fn active_card_of(&self, r: &Roles, ssn: &str) -> i64 {
        let (s, _) = self.call("GET", &format!("/v1/persons/{ssn}"), Some(&self.operator), None).await;
        if s == StatusCode::NOT_FOUND {
            self.ok(
                "POST",
                "/v1/persons",
                &self.operator,
                Some(json!({"ssn": ssn, "name": "王五", "ethnicity": "01", "category": "in_service", "region": "beijing", "unit_code": "U1"})),
            )
            .await;
        }
        let id = self.produced_card(r, ssn, false).await;
        self.ok("POST", &format!("/v1/cards/{id}/hand-over"), &r.unit, Some(json!({}))).await;
        self.ok("POST", &format!("/v1/cards/{id}/activation"), &r.institution, Some(json!({"zone": "social"}))).await;
        id
    }

    pub(crate) async fn card(&self, id: i64) -> Value {
        self.ok("GET", &format!("/v1/cards/{id}"), &self.operator, None).await
    }

    pub(crate) async fn outbox_topics(&self) -> Vec<String> {
        let v = self.ok("GET", "/v1/outbox", &self.operator, None).await;
        v.as_array().unwrap().iter().map(|m| m["topic"].as_str().unwrap().to_string()).collect()
    }
}

pub(crate) async fn start(db: TestDb) -> (TestApp, Roles) {
    started(spawn_app(db).await).await
}

/// The seeded app and its roles on a server already started.
pub(crate) async fn started(app: TestApp) -> (TestApp, Roles) {
    app.seed().await;
    app.set_now("2026-03-02T10:00:00+08:00").await;
    let roles = app.roles().await;
    (app, roles)
}

on_both_databases!(r_app_1_and_r_act_1_first_card_from_application_to_active, |db: TestDb| async move {
    let (app, r) = start(db).await;
    let id = app.produced_card(&r, SSN, false).await;
    let card = app.card(id).await;
    assert_eq!(card["state"], "at_distributor");
    assert_eq!(card["fee_fen"], 0, "R-APP-1: first issuance is free");
    assert_eq!(card["card_number"], format!("F{id:08}"));
    // The hotline cannot hand a card over; the unit can (R-DIST-1).
    let (s, v) = app.call("POST", &format!("/v1/cards/{id}/hand-over"), Some(&r.hotline), Some(json!({}))).await;
    assert_problem(s, &v, 403, "not_allowed_on_channel");
    app.ok("POST", &format!("/v1/cards/{id}/hand-over"), &r.unit, Some(json!({}))).await;
    assert_eq!(app.card(id).await["zones"]["social"], "inactive");
    // R-ACT-1: the social zone starts on first use at the hospital.
    let (s, v) = app.call("POST", &format!("/v1/cards/{id}/activation"), Some(&r.kiosk), Some(json!({"zone": "social"}))).await;
    assert_problem(s, &v, 403, "not_allowed_on_channel");
    let card = app.ok("POST", &format!("/v1/cards/{id}/activation"), &r.institution, Some(json!({"zone": "social"}))).await;
    assert_eq!((card["state"].as_str(), card["zones"]["social"].as_str()), (Some("active"), Some("active")));
    // R-APP-4: a person with a working card gets no second first card.
    let (s, v) = app.call("POST", &format!("/v1/persons/{SSN}/cards"), Some(&r.clerk), Some(json!({"financial": false}))).await;
    assert_problem(s, &v, 409, "already_holds_card");
    // The person's record lists the card, masked.
    let person = app.ok("GET", &format!("/v1/persons/{SSN}"), &r.holder, None).await;
    assert_eq!(person["cards"][0]["id"], id);
    assert_eq!(person["cards"][0]["person_ssn_masked"], "110105********002X");
});

on_both_databases!(r_app_2_batch_snapshot_leaves_people_out_with_reasons, |db: TestDb| async move {
    let (app, r) = start(db).await;
    // Applied before the snapshot: goes in.
    let a = app.ok("POST", &format!("/v1/persons/{SSN}/cards"), &r.clerk, Some(json!({}))).await["id"].as_i64().unwrap();
    // A migrant worker on the 1 % rate.
    let migrant = yikatong_service::demo::make_ssn("110105", "1980-01-01".parse().unwrap(), 11);
    app.ok(
        "POST",
        "/v1/persons",
        &app.operator,
        Some(json!({"ssn": migrant, "name": "赵六", "ethnicity": "01", "category": "in_service", "region": "beijing", "unit_code": "U1", "flags": ["migrant_worker_1pct"]})),
    )
    .await;
    let m = app.ok("POST", &format!("/v1/persons/{migrant}/cards"), &r.clerk, Some(json!({}))).await["id"].as_i64().unwrap();
    // A financial card whose account is not open yet.
    let fin = yikatong_service::demo::make_ssn("110105", "1981-01-01".parse().unwrap(), 13);
    app.ok("POST", "/v1/persons", &app.operator, Some(json!({"ssn": fin, "name": "钱七", "ethnicity": "01", "category": "in_service", "region": "beijing", "unit_code": "U1"})))
        .await;
    let f = app.ok("POST", &format!("/v1/persons/{fin}/cards"), &r.clerk, Some(json!({"financial": true}))).await["id"].as_i64().unwrap();
    // Insured after the snapshot instant.
    app.set_now("2026-03-03T10:00:00+08:00").await;
    let late = yikatong_service::demo::make_ssn("110105", "1982-01-01".parse().unwrap(), 15);
    app.ok("POST", "/v1/persons", &app.operator, Some(json!({"ssn": late, "name": "孙八", "ethnicity": "01", "category": "in_service", "region": "beijing", "unit_code": "U1"})))
        .await;
    let l = app.ok("POST", &format!("/v1/persons/{late}/cards"), &r.clerk, Some(json!({}))).await["id"].as_i64().unwrap();
    let batch = app.ok("POST", "/v1/production-batches", &app.operator, Some(json!({"region": "beijing", "snapshot_at": "2026-03-03T00:00:00+08:00"}))).await;
    assert_eq!(batch["card_ids"], json!([a]));
    let excluded = batch["excluded"].as_array().unwrap();
    let reason = |id: i64| excluded.iter().find(|e| e["card_id"] == id).map(|e| e["reason"].as_str().unwrap().to_string()).unwrap_or_default();
    assert!(reason(m).contains("1 %"), "{batch}");
    assert!(reason(f).contains("bank"), "{batch}");
    assert!(reason(l).contains("snapshot"), "{batch}");
    assert!(excluded.iter().all(|e| e["ssn"].as_str().unwrap().contains("********")), "masked");
    // The late one goes into the next batch.
    let next = app.ok("POST", "/v1/production-batches", &app.operator, Some(json!({"region": "beijing"}))).await;
    assert!(next["card_ids"].as_array().unwrap().contains(&json!(l)), "{next}");
    let (s, v) = app.op("POST", "/v1/production-batches", Some(json!({"region": "atlantis"}))).await;
    assert_problem(s, &v, 422, "unknown_region");
});

on_both_databases!(r_app_3_production_promise_and_overdue_cards, |db: TestDb| async move {
    let (app, r) = start(db).await;
    let id = app.ok("POST", &format!("/v1/persons/{SSN}/cards"), &r.unit, Some(json!({}))).await["id"].as_i64().unwrap();
    assert_eq!(app.card(id).await["due_on"], "2026-04-01", "30 days after the application");
    assert_eq!(app.ok("GET", "/v1/cards/overdue", &app.operator, None).await, json!([]));
    app.set_now("2026-04-02T10:00:00+08:00").await;
    let overdue = app.ok("GET", "/v1/cards/overdue", &app.operator, None).await;
    assert_eq!(overdue[0]["id"], id);
    let (s, v) = app.call("GET", "/v1/cards/overdue", Some(&r.clerk), None).await;
    assert_problem(s, &v, 403, "not_allowed_on_channel");
});

on_both_databases!(r_app_4_factory_and_bank_failures_are_reasons_the_unit_sees, |db: TestDb| async move {
    let (app, r) = start(db).await;
    let id = app.ok("POST", &format!("/v1/persons/{SSN}/cards"), &r.unit, Some(json!({"financial": true}))).await["id"].as_i64().unwrap();
    let card = app.ok("POST", &format!("/v1/cards/{id}/bank-account"), &r.bank, Some(json!({"opened": false, "reason": "identity check failed"}))).await;
    assert_eq!(card["state"], "production_failed");
    let seen = app.ok("GET", &format!("/v1/cards/{id}"), &r.unit, None).await;
    assert_eq!(seen["reason"], "bank: identity check failed");
    // A factory failure, and a bad result line that is reported while the others go through.
    let other = app
        .ok("POST", "/v1/persons", &app.operator, Some(json!({"ssn": OTHER, "name": "王五", "ethnicity": "01", "category": "in_service", "region": "beijing", "unit_code": "U1"})))
        .await;
    assert_eq!(other["ssn_masked"], "110102********123X");
    let a = app.ok("POST", &format!("/v1/persons/{OTHER}/cards"), &r.unit, Some(json!({}))).await["id"].as_i64().unwrap();
    let batch = app.ok("POST", "/v1/production-batches", &app.operator, Some(json!({"region": "beijing"}))).await;
    let b = batch["id"].as_i64().unwrap();
    let report = app
        .ok(
            "POST",
            &format!("/v1/production-batches/{b}/results"),
            &r.vendor,
            Some(json!([{"card_id": a, "failed": "chip defect"}, {"card_id": 999, "card_number": "F00000999", "card_identification_code": VENDOR_CODE}])),
        )
        .await;
    assert_eq!(report[0]["status"], "failed");
    assert_eq!(report[1]["status"], "refused");
    assert_eq!(report[1]["code"], "card_not_found");
    assert_eq!(app.ok("GET", &format!("/v1/cards/{a}"), &r.unit, None).await["reason"], "chip defect");
});

on_both_databases!(r_loss_1_r_cal_3_pre_loss_on_every_channel_but_the_unit_for_ten_calendar_days, |db: TestDb| async move {
    let (app, r) = start(db).await;
    let id = app.active_card(&r, false).await;
    let (s, v) = app.call("POST", &format!("/v1/cards/{id}/pre-loss"), Some(&r.unit), Some(json!({}))).await;
    assert_problem(s, &v, 403, "not_allowed_on_channel");
    let (s, v) = app.call("POST", &format!("/v1/cards/{id}/pre-loss"), Some(&r.hotline), Some(json!({}))).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["until"], "2026-03-12T02:00:00Z", "R-CAL-3: ten calendar days to the minute");
    assert_eq!(v["card"]["state"], "pre_lost");
    let (s, v) = app.call("POST", &format!("/v1/cards/{id}/pre-loss"), Some(&r.kiosk), Some(json!({}))).await;
    assert_problem(s, &v, 409, "already_pre_lost");
    assert!(app.outbox_topics().await.contains(&"card.blocked".to_string()));
    // The holder sees it; another holder does not see the card at all.
    assert_eq!(app.ok("GET", &format!("/v1/cards/{id}"), &r.holder, None).await["state"], "pre_lost");
    app.ok("POST", "/v1/persons", &app.operator, Some(json!({"ssn": OTHER, "name": "王五", "ethnicity": "01", "category": "in_service", "region": "beijing"}))).await;
    let stranger = app.token(json!({"role": "holder", "person": OTHER})).await;
    let (s, v) = app.call("POST", &format!("/v1/cards/{id}/pre-loss"), Some(&stranger), Some(json!({}))).await;
    assert_problem(s, &v, 404, "card_not_found");
});

on_both_databases!(r_loss_2_pre_loss_lifts_by_itself_and_is_revoked_only_at_an_outlet, |db: TestDb| async move {
    let (app, r) = start(db).await;
    let id = app.active_card(&r, false).await;
    app.ok("POST", &format!("/v1/cards/{id}/pre-loss"), &r.holder, Some(json!({}))).await;
    app.set_now("2026-03-12T09:59:00+08:00").await;
    assert_eq!(app.card(id).await["state"], "pre_lost");
    app.set_now("2026-03-12T10:00:00+08:00").await;
    let card = app.card(id).await;
    assert_eq!(card["state"], "active", "lifted with nothing having to run");
    assert!(card["pre_loss"].is_null());
    // A second pre-loss, revoked at the outlet: works at once.
    app.ok("POST", &format!("/v1/cards/{id}/pre-loss"), &r.kiosk, Some(json!({}))).await;
    let (s, v) = app.call("DELETE", &format!("/v1/cards/{id}/pre-loss"), Some(&r.hotline), None).await;
    assert_problem(s, &v, 403, "not_allowed_on_channel");
    let card = app.ok("DELETE", &format!("/v1/cards/{id}/pre-loss"), &r.clerk, None).await;
    assert_eq!(card["state"], "active");
    let (s, v) = app.call("DELETE", &format!("/v1/cards/{id}/pre-loss"), Some(&r.clerk), None).await;
    assert_problem(s, &v, 409, "not_pre_lost");
    let topics = app.outbox_topics().await;
    assert!(topics.contains(&"card.unblocked".to_string()), "{topics:?}");
});

on_both_databases!(r_loss_3_formal_loss_only_at_an_outlet_and_for_ever, |db: TestDb| async move {
    let (app, r) = start(db).await;
    let id = app.active_card(&r, false).await;
    let (s, v) = app.call("POST", &format!("/v1/cards/{id}/formal-loss"), Some(&r.hotline), Some(json!({"delivery": "outlet"}))).await;
    assert_problem(s, &v, 403, "not_allowed_on_channel");
    let (s, v) = app.call("POST", &format!("/v1/cards/{id}/formal-loss"), Some(&r.clerk), Some(json!({"delivery": "outlet", "proxy_ssn": "123"}))).await;
    assert_problem(s, &v, 422, "invalid_ssn");
    let rep = app.ok("POST", &format!("/v1/cards/{id}/formal-loss"), &r.clerk, Some(json!({"delivery": "outlet", "proxy_ssn": OTHER}))).await;
    assert!(rep["replacement_card_id"].as_i64().unwrap() > id);
    let old = app.card(id).await;
    assert_eq!(old["state"], "lost");
    assert_eq!(old["successor"], rep["replacement_card_id"]);
    for (token, method, path) in [(&r.kiosk, "POST", "pre-loss"), (&r.clerk, "DELETE", "pre-loss"), (&r.clerk, "POST", "formal-loss")] {
        let body = if method == "POST" { Some(json!({"delivery": "outlet"})) } else { None };
        let body = if path == "pre-loss" && method == "POST" { Some(json!({})) } else { body };
        let (s, v) = app.call(method, &format!("/v1/cards/{id}/{path}"), Some(token), body).await;
        assert_eq!(s.as_u16(), 409, "{method} {path}: {v}");
        assert!(["card_lost", "not_pre_lost"].contains(&v["code"].as_str().unwrap()), "{v}");
    }
    app.set_now("2027-03-02T10:00:00+08:00").await;
    assert_eq!(app.card(id).await["state"], "lost", "even a year later");
    let (s, v) = app.call("POST", &format!("/v1/cards/{id}/activation"), Some(&r.institution), Some(json!({"zone": "social"}))).await;
    assert_problem(s, &v, 409, "card_lost");
});

on_both_databases!(r_loss_4_r_loss_5_r_cal_1_replacement_ready_in_working_days_with_fee, |db: TestDb| async move {
    let (app, r) = start(db).await;
    let id = app.active_card(&r, false).await;
    app.set_now("2026-09-28T10:00:00+08:00").await;
    let rep = app.ok("POST", &format!("/v1/cards/{id}/formal-loss"), &r.clerk, Some(json!({"delivery": "outlet"}))).await;
    assert_eq!(rep["certificate"]["ready_on"], "2026-10-23", "15 working days, National Day skipped");
    assert_eq!(rep["ready_on"], "2026-10-23");
    assert_eq!(rep["fee_fen"], 2000);
    assert!(rep["certificate"]["number"].as_str().unwrap().starts_with("11000020260928"));
    let new = app.card(rep["replacement_card_id"].as_i64().unwrap()).await;
    assert_eq!((new["state"].as_str(), new["origin"].as_str(), new["replaces"].as_i64()), (Some("applied"), Some("replacement"), Some(id)));
    // A financial card takes 35 working days.
    let fin = app
        .ok("POST", "/v1/persons", &app.operator, Some(json!({"ssn": OTHER, "name": "王五", "ethnicity": "01", "category": "in_service", "region": "beijing", "unit_code": "U1"})))
        .await;
    assert!(fin["ssn_masked"].is_string());
    let fid = app.produced_card(&r, OTHER, true).await;
    app.ok("POST", &format!("/v1/cards/{fid}/hand-over"), &r.unit, Some(json!({}))).await;
    let rep = app.ok("POST", &format!("/v1/cards/{fid}/formal-loss"), &r.clerk, Some(json!({"delivery": "mail"}))).await;
    assert_eq!(rep["ready_on"], "2026-11-20");
    // Outside the loaded calendar the ready date is not guessed (R-CAL-2), and the loss
    // is not refused for it: the date waits for the year.
    app.set_now("2026-12-20T10:00:00+08:00").await;
    let third = yikatong_service::demo::make_ssn("110105", "1983-01-01".parse().unwrap(), 17);
    app.ok("POST", "/v1/persons", &app.operator, Some(json!({"ssn": third, "name": "周九", "ethnicity": "01", "category": "in_service", "region": "beijing", "unit_code": "U1"})))
        .await;
    let tid = app.produced_card(&r, &third, false).await;
    app.ok("POST", &format!("/v1/cards/{tid}/hand-over"), &r.unit, Some(json!({}))).await;
    let rep = app.ok("POST", &format!("/v1/cards/{tid}/formal-loss"), &r.clerk, Some(json!({"delivery": "outlet"}))).await;
    assert_eq!((rep["ready_on"].clone(), rep["ready_pending_year"].as_i64()), (Value::Null, Some(2027)), "{rep}");
    assert_eq!(app.card(tid).await["state"], "lost");
});

on_both_databases!(r_cert_1_certificate_verification_reprint_and_collection_checks, |db: TestDb| async move {
    let (app, r) = start(db).await;
    let id = app.active_card(&r, false).await;
    let rep = app.ok("POST", &format!("/v1/cards/{id}/formal-loss"), &r.clerk, Some(json!({"delivery": "outlet"}))).await;
    let number = rep["certificate"]["number"].as_str().unwrap().to_string();
    let new_id = rep["replacement_card_id"].as_i64().unwrap();
    let cert = app.ok("GET", &format!("/v1/certificates/{number}"), &r.institution, None).await;
    assert_eq!((cert["valid"].as_bool(), cert["holder_ssn_masked"].as_str()), (Some(true), Some("110105********002X")));
    assert_eq!(cert["ready_on"], rep["ready_on"]);
    let (s, v) = app.call("POST", &format!("/v1/certificates/{number}/reprint"), Some(&r.kiosk), None).await;
    assert_problem(s, &v, 403, "not_allowed_on_channel");
    assert_eq!(app.ok("POST", &format!("/v1/certificates/{number}/reprint"), &r.clerk, None).await["prints"], 2);
    app.produce(&r, new_id).await;
    app.set_now("2026-03-23T10:00:00+08:00").await;
    let path = format!("/v1/cards/{new_id}/hand-over");
    let (s, v) = app.call("POST", &path, Some(&r.clerk), Some(json!({"holder_ssn": SSN}))).await;
    assert_problem(s, &v, 422, "certificate_mismatch");
    let (s, v) = app.call("POST", &path, Some(&r.clerk), Some(json!({"certificate_number": number, "holder_ssn": OTHER}))).await;
    assert_problem(s, &v, 422, "holder_id_mismatch");
    let (s, v) = app.call("POST", &path, Some(&r.clerk), Some(json!({"certificate_number": number, "holder_ssn": SSN, "proxy_ssn": SSN}))).await;
    assert_problem(s, &v, 422, "proxy_id_required");
    let card = app.ok("POST", &path, &r.clerk, Some(json!({"certificate_number": number, "holder_ssn": SSN, "proxy_ssn": OTHER}))).await;
    assert_eq!(card["state"], "issued");
    assert_eq!(app.ok("GET", &format!("/v1/certificates/{number}"), &r.holder, None).await["valid"], false, "collected: no longer valid");
    let (s, v) = app.call("GET", "/v1/certificates/NOPE", Some(&r.institution), None).await;
    assert_problem(s, &v, 404, "certificate_not_found");
});

on_both_databases!(r_act_2_and_r_exch_1_exchange_old_card_works_until_the_new_one_is_activated, |db: TestDb| async move {
    let (app, r) = start(db).await;
    let id = app.active_card(&r, false).await;
    let (s, v) = app.call("POST", &format!("/v1/cards/{id}/exchange"), Some(&r.clerk), Some(json!({"reason": " ", "delivery": "outlet"}))).await;
    assert_problem(s, &v, 422, "reason_required");
    let rep = app.ok("POST", &format!("/v1/cards/{id}/exchange"), &r.clerk, Some(json!({"reason": "chip unreadable", "delivery": "outlet"}))).await;
    assert_eq!(rep["fee_fen"], 2000, "R-LOSS-5: an exchange costs the fee too");
    let new_id = rep["replacement_card_id"].as_i64().unwrap();
    assert_eq!(app.card(id).await["state"], "active", "R-EXCH-1: the old card keeps working");
    let (s, v) = app.call("POST", &format!("/v1/cards/{id}/exchange"), Some(&r.clerk), Some(json!({"reason": "again", "delivery": "outlet"}))).await;
    assert_problem(s, &v, 409, "replacement_pending");
    app.produce(&r, new_id).await;
    app.set_now("2026-03-23T10:00:00+08:00").await;
    let number = rep["certificate"]["number"].as_str().unwrap();
    app.ok("POST", &format!("/v1/cards/{new_id}/hand-over"), &r.clerk, Some(json!({"certificate_number": number, "holder_ssn": SSN}))).await;
    assert_eq!(app.card(id).await["state"], "active", "until the new card is activated");
    app.ok("POST", &format!("/v1/cards/{new_id}/activation"), &r.institution, Some(json!({"zone": "social"}))).await;
    let old = app.card(id).await;
    assert_eq!((old["state"].as_str(), old["replaced_by"].as_i64()), (Some("exchanged"), Some(new_id)), "stops at once");
    let person = app.ok("GET", &format!("/v1/persons/{SSN}"), &app.operator, None).await;
    let working: Vec<_> = person["cards"].as_array().unwrap().iter().filter(|c| c["state"] == "active").collect();
    assert_eq!(working.len(), 1);
    assert!(app.outbox_topics().await.contains(&"card.replaced".to_string()));
});

on_both_databases!(r_online_1_replacement_inside_the_monthly_window_and_hours, |db: TestDb| async move {
    let (app, r) = start(db).await;
    let id = app.active_card(&r, false).await;
    app.set_now("2026-03-04T10:00:00+08:00").await;
    app.ok("POST", &format!("/v1/cards/{id}/pre-loss"), &r.holder, Some(json!({}))).await;
    let path = format!("/v1/cards/{id}/replacement-application");
    let (s, v) = app.call("POST", &path, Some(&r.holder), Some(json!({"delivery": "mail"}))).await;
    assert_problem(s, &v, 409, "outside_online_window");
    assert!(v["detail"].as_str().unwrap().contains("day 5"), "{v}");
    app.set_now("2026-03-05T05:59:00+08:00").await;
    let (s, v) = app.call("POST", &path, Some(&r.holder), Some(json!({"delivery": "mail"}))).await;
    assert_problem(s, &v, 409, "outside_online_window");
    assert!(v["detail"].as_str().unwrap().contains("06:00"), "{v}");
    let (s, v) = app.call("POST", &path, Some(&r.clerk), Some(json!({"delivery": "mail"}))).await;
    assert_problem(s, &v, 403, "not_allowed_on_channel");
    app.set_now("2026-03-05T06:00:00+08:00").await;
    let rep = app.ok("POST", &path, &r.holder, Some(json!({"delivery": "mail"}))).await;
    assert_eq!(rep["fee_fen"], 2000);
    assert_eq!(rep["certificate"]["delivery"], "mail");
    assert_eq!(app.card(id).await["state"], "lost");
});

on_both_databases!(r_second_1_returned_card_claimed_again_with_a_certificate, |db: TestDb| async move {
    let (app, r) = start(db).await;
    let id = app.produced_card(&r, SSN, false).await;
    let card = app.ok("POST", &format!("/v1/cards/{id}/return"), &r.unit, None).await;
    assert_eq!(card["state"], "returned");
    let card = app.ok("POST", &format!("/v1/cards/{id}/second-application"), &r.clerk, None).await;
    assert_eq!((card["state"].as_str(), card["ready_on"].as_str()), (Some("at_distributor"), Some("2026-03-17")));
    // The holder leaves with a certificate, collected like a replacement's (R-CERT-1).
    let number = card["certificate"]["number"].as_str().unwrap().to_string();
    assert_eq!((card["certificate"]["ready_on"].as_str(), card["certificate"]["issued_on"].as_str()), (Some("2026-03-17"), Some("2026-03-02")), "{card}");
    let verified = app.ok("GET", &format!("/v1/certificates/{number}"), &r.institution, None).await;
    assert_eq!(verified["valid"], true, "it serves for visits until the card is collected: {verified}");
    let (s, v) = app.call("POST", &format!("/v1/cards/{id}/hand-over"), Some(&r.clerk), Some(json!({"holder_ssn": SSN, "certificate_number": number}))).await;
    assert_problem(s, &v, 409, "not_ready");
    app.set_now("2026-03-17T09:00:00+08:00").await;
    let (s, v) = app.call("POST", &format!("/v1/cards/{id}/hand-over"), Some(&r.clerk), Some(json!({"certificate_number": number}))).await;
    assert_problem(s, &v, 422, "holder_id_mismatch");
    let (s, v) = app.call("POST", &format!("/v1/cards/{id}/hand-over"), Some(&r.clerk), Some(json!({"holder_ssn": SSN, "proxy_ssn": OTHER}))).await;
    assert_problem(s, &v, 422, "certificate_mismatch");
    let card = app.ok("POST", &format!("/v1/cards/{id}/hand-over"), &r.clerk, Some(json!({"holder_ssn": SSN, "proxy_ssn": OTHER, "certificate_number": number}))).await;
    assert_eq!(card["state"], "issued");
    assert_eq!(app.ok("GET", &format!("/v1/certificates/{number}"), &r.institution, None).await["valid"], false);
});

on_both_databases!(r_wrong_1_wrong_data_goes_back_and_is_made_again_free, |db: TestDb| async move {
    let (app, r) = start(db).await;
    let id = app.produced_card(&r, SSN, false).await;
    let (s, v) = app.call("POST", &format!("/v1/cards/{id}/wrong-data"), Some(&r.hotline), Some(json!({"reason": "photo"}))).await;
    assert_problem(s, &v, 403, "not_allowed_on_channel");
    let new = app.ok("POST", &format!("/v1/cards/{id}/wrong-data"), &r.unit, Some(json!({"reason": "photo is not the holder"}))).await;
    assert_eq!((new["origin"].as_str(), new["fee_fen"].as_i64(), new["state"].as_str()), (Some("remake"), Some(0), Some("applied")));
    let old = app.card(id).await;
    assert_eq!(old["state"], "cancelled");
    assert!(old["reason"].as_str().unwrap().contains("photo"));
});

on_both_databases!(r_death_1_card_cancelled_for_use, |db: TestDb| async move {
    let (app, r) = start(db).await;
    let id = app.active_card(&r, false).await;
    let (s, v) = app.call("POST", &format!("/v1/cards/{id}/cancellation"), Some(&r.clerk), Some(json!({"reason": "bored"}))).await;
    assert_problem(s, &v, 422, "invalid_reason");
    let card = app.ok("POST", &format!("/v1/cards/{id}/cancellation"), &r.clerk, Some(json!({"reason": "death"}))).await;
    assert_eq!(card["state"], "cancelled");
    assert!(app.outbox_topics().await.contains(&"card.cancelled".to_string()));
    let (s, v) = app.call("POST", &format!("/v1/cards/{id}/pre-loss"), Some(&r.hotline), Some(json!({}))).await;
    assert_problem(s, &v, 409, "card_cancelled");
});

on_both_databases!(r_pwd_1_query_password_change_lock_and_reset, |db: TestDb| async move {
    let (app, r) = start(db).await;
    let id = app.active_card(&r, false).await;
    let path = format!("/v1/cards/{id}/password");
    // The initial password is the SSN's last six characters.
    let (s, v) = app.call("PUT", &path, Some(&r.kiosk), Some(json!({"old": "31002X", "new": "123456"}))).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    let (s, v) = app.call("PUT", &path, Some(&r.kiosk), Some(json!({"old": "123456", "new": "12ab"}))).await;
    assert_problem(s, &v, 422, "invalid_password");
    for left in (0..5).rev() {
        let (s, v) = app.call("PUT", &path, Some(&r.hotline), Some(json!({"old": "000000", "new": "654321"}))).await;
        assert_problem(s, &v, 422, "wrong_password");
        assert!(v["detail"].as_str().unwrap().contains(&format!("{left} tries left")), "{v}");
    }
    let (s, v) = app.call("PUT", &path, Some(&r.holder), Some(json!({"old": "123456", "new": "654321"}))).await;
    assert_problem(s, &v, 409, "password_locked");
    // The next day the right password works again.
    app.set_now("2026-03-03T08:00:00+08:00").await;
    let (s, _) = app.call("PUT", &path, Some(&r.holder), Some(json!({"old": "123456", "new": "654321"}))).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    // Reset only at an outlet.
    let (s, v) = app.call("POST", &format!("/v1/cards/{id}/password-reset"), Some(&r.hotline), Some(json!({"new": "111111"}))).await;
    assert_problem(s, &v, 403, "not_allowed_on_channel");
    let (s, _) = app.call("POST", &format!("/v1/cards/{id}/password-reset"), Some(&r.clerk), Some(json!({"new": "111111"}))).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = app.call("PUT", &path, Some(&r.kiosk), Some(json!({"old": "111111", "new": "222222"}))).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    // Card information at a kiosk needs the query password; wrong ones count too.
    let (s, v) = app.call("GET", &format!("/v1/cards/{id}"), Some(&r.kiosk), None).await;
    assert_problem(s, &v, 403, "query_password_required");
    let res = app.client.get(format!("{}/v1/cards/{id}", app.base)).bearer_auth(&r.kiosk).header("x-query-password", "222222").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let res = app.client.get(format!("{}/v1/cards/{id}", app.base)).bearer_auth(&r.hotline).header("x-query-password", "999999").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // The hash never shows in the history.
    let events = app.ok("GET", &format!("/v1/cards/{id}/events"), &app.operator, None).await;
    assert!(!events.to_string().contains("argon2"), "{events}");
});

on_both_databases!(r_info_1_card_out_of_step_flagged_and_synchronised, |db: TestDb| async move {
    let (app, r) = start(db).await;
    let id = app.active_card(&r, false).await;
    assert_eq!(app.card(id).await["out_of_step"], false);
    app.ok("POST", &format!("/v1/persons/{SSN}/changes"), &r.unit, Some(json!({"category": "retired"}))).await;
    assert_eq!(app.card(id).await["out_of_step"], true);
    let (s, v) = app.call("POST", &format!("/v1/cards/{id}/synchronisation"), Some(&r.kiosk), None).await;
    assert_problem(s, &v, 403, "not_allowed_on_channel");
    app.ok("POST", &format!("/v1/cards/{id}/synchronisation"), &r.clerk, None).await;
    assert_eq!(app.card(id).await["out_of_step"], false);
    let (s, v) = app.call("POST", &format!("/v1/cards/{id}/synchronisation"), Some(&r.clerk), None).await;
    assert_problem(s, &v, 409, "not_out_of_step");
});

on_both_databases!(history_is_audited_and_chained, |db: TestDb| async move {
    let (app, r) = start(db).await;
    let id = app.active_card(&r, false).await;
    app.ok("POST", &format!("/v1/cards/{id}/pre-loss"), &r.hotline, Some(json!({}))).await;
    let events = app.ok("GET", &format!("/v1/cards/{id}/events"), &r.holder, None).await;
    let kinds: Vec<_> = events.as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap().to_string()).collect();
    assert_eq!(kinds, ["applied", "assigned_to_batch", "produced", "dispatched", "handed_over", "zone_activated", "pre_loss_reported"]);
    let applied = &events[0];
    assert!(applied["actor"].as_str().unwrap().starts_with("clerk:O1"));
    assert_eq!((applied["channel"].as_str(), applied["place"].as_str()), (Some("outlet"), Some("O1")));
    assert_eq!(events[6]["channel"], "hotline");
    let verify = app.ok("GET", "/v1/audit/verify", &app.operator, None).await;
    assert_eq!(verify["ok"], true, "{verify}");
    // The table refuses edits; an edit made behind its back is detected.
    let (url, backend) = (app.db.url.clone(), app.db.backend);
    tamper(&url, backend, id).await;
    let verify = app.ok("GET", "/v1/audit/verify", &app.operator, None).await;
    assert_eq!(verify["ok"], false);
    assert!(verify["problems"][0].as_str().unwrap().contains(&format!("card {id}")), "{verify}");
});

async fn tamper(url: &str, backend: yikatong_store::testing::Backend, card: i64) {
    use yikatong_store::testing::Backend;
    let edit = format!("UPDATE card_events SET actor = 'nobody' WHERE card_id = {card} AND seq = 1");
    match backend {
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&format!("sqlite:{url}")).await.unwrap();
            assert!(sqlx::raw_sql(sqlx::AssertSqlSafe(edit.clone())).execute(&pool).await.is_err(), "append-only");
            sqlx::raw_sql("DROP TRIGGER card_events_no_update").execute(&pool).await.unwrap();
            sqlx::raw_sql(sqlx::AssertSqlSafe(edit)).execute(&pool).await.unwrap();
        }
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(url).await.unwrap();
            assert!(sqlx::raw_sql(sqlx::AssertSqlSafe(edit.clone())).execute(&pool).await.is_err(), "append-only");
            sqlx::raw_sql("DROP TRIGGER card_events_no_change ON card_events").execute(&pool).await.unwrap();
            sqlx::raw_sql(sqlx::AssertSqlSafe(edit)).execute(&pool).await.unwrap();
        }
    }
}

on_both_databases!(two_clerks_replacing_the_same_card_make_one_replacement, |db: TestDb| async move {
    let (app, r) = start(db).await;
    let id = app.active_card(&r, false).await;
    let second_clerk = app.token(json!({"role": "clerk", "outlet": "O1"})).await;
    let app = std::sync::Arc::new(app);
    let mut tasks = Vec::new();
    for token in [r.clerk.clone(), second_clerk, r.clerk.clone(), r.clerk.clone()] {
        let app = app.clone();
        tasks.push(tokio::spawn(async move { app.call("POST", &format!("/v1/cards/{id}/formal-loss"), Some(&token), Some(json!({"delivery": "outlet"}))).await }));
    }
    let mut created = 0;
    for t in tasks {
        let (s, v) = t.await.unwrap();
        match s.as_u16() {
            201 => created += 1,
            409 => assert_eq!(v["code"], "card_lost", "{v}"),
            other => panic!("{other}: {v}"),
        }
    }
    assert_eq!(created, 1);
    let person = app.ok("GET", &format!("/v1/persons/{SSN}"), &app.operator, None).await;
    assert_eq!(person["cards"].as_array().unwrap().len(), 2, "the lost card and one replacement");
});

impl TestApp {
    /// A Jinan holder's card (financial or not), produced, handed over and its social
    /// zone started; `n` tells holders apart.
    pub(crate) async fn jinan_card(&self, r: &Roles, financial: bool, n: u32) -> i64 {
        let (s, _) = self.call("GET", "/v1/units/JN1", Some(&self.operator), None).await;
        if s == StatusCode::NOT_FOUND {
            self.ok("POST", "/v1/units", &self.operator, Some(json!({"code": "JN1", "name": "济南单位", "region": "jinan"}))).await;
        }
        let jinan = yikatong_service::demo::make_ssn("370102", "1985-05-05".parse().unwrap(), 21 + 2 * n);
        self.ok(
            "POST",
            "/v1/persons",
            &self.operator,
            Some(json!({"ssn": jinan, "name": "济南人", "ethnicity": "01", "category": "in_service", "region": "jinan", "unit_code": "JN1"})),
        )
        .await;
        let id = self.ok("POST", &format!("/v1/persons/{jinan}/cards"), &r.clerk, Some(json!({"financial": financial}))).await["id"].as_i64().unwrap();
        if financial {
            self.ok("POST", &format!("/v1/cards/{id}/bank-account"), &r.bank, Some(json!({"opened": true}))).await;
        }
        let batch = self.ok("POST", "/v1/production-batches", &self.operator, Some(json!({"region": "jinan"}))).await;
        let b = batch["id"].as_i64().unwrap();
        self.ok(
            "POST",
            &format!("/v1/production-batches/{b}/results"),
            &r.vendor,
            Some(json!([{"card_id": id, "card_number": format!("J{id:08}"), "card_identification_code": VENDOR_CODE}])),
        )
        .await;
        self.ok("POST", &format!("/v1/production-batches/{b}/dispatch"), &self.operator, None).await;
        self.ok("POST", &format!("/v1/cards/{id}/hand-over"), &r.clerk, Some(json!({"holder_ssn": jinan}))).await;
        self.ok("POST", &format!("/v1/cards/{id}/activation"), &r.institution, Some(json!({"zone": "social"}))).await;
        id
    }
}

on_both_databases!(r_loss_2_jinan_seven_days_zones_reported_separately, |db: TestDb| async move {
    let (app, r) = start(db).await;
    let id = app.jinan_card(&r, true, 0).await;
    let (s, v) = app.call("POST", &format!("/v1/cards/{id}/pre-loss"), Some(&r.hotline), Some(json!({}))).await;
    assert_problem(s, &v, 422, "zone_required");
    let v = app.ok("POST", &format!("/v1/cards/{id}/pre-loss"), &r.hotline, Some(json!({"zone": "financial"}))).await;
    assert_eq!(v["until"], "2026-03-09T02:00:00Z", "seven days");
    assert_eq!((v["card"]["zones"]["financial"].as_str(), v["card"]["zones"]["social"].as_str()), (Some("pre_lost"), Some("active")));
    app.set_now("2026-03-09T10:00:00+08:00").await;
    assert_eq!(app.card(id).await["zones"]["financial"], "inactive");
});

on_both_databases!(r_set_10_card_check_refuses_with_the_reason, |db: TestDb| async move {
    let (app, r) = start(db).await;
    let id = app.active_card(&r, false).await;
    let path = format!("/v1/cards/{id}/settlement-check");
    let (s, v) = app.call("POST", &path, Some(&r.clerk), None).await;
    assert_problem(s, &v, 403, "not_allowed_on_channel");
    app.ok("POST", &path, &r.institution, None).await;
    app.ok("POST", &format!("/v1/persons/{SSN}/changes"), &r.unit, Some(json!({"category": "retired"}))).await;
    let (s, v) = app.call("POST", &path, Some(&r.institution), None).await;
    assert_problem(s, &v, 409, "card_out_of_step");
    app.ok("POST", &format!("/v1/cards/{id}/synchronisation"), &r.clerk, None).await;
    app.ok("POST", &format!("/v1/cards/{id}/pre-loss"), &r.hotline, Some(json!({}))).await;
    let (s, v) = app.call("POST", &path, Some(&r.institution), None).await;
    assert_problem(s, &v, 409, "card_pre_lost");
    assert!(v["detail"].as_str().unwrap().contains("2026-03-12 10:00"), "{v}");
});

// A pre-loss racing with settlement-time checks on the same card: the card's history
// is their order, and no check is accepted after the pre-loss.
on_both_databases!(pre_loss_racing_settlement_checks_never_both_win, |db: TestDb| async move {
    let (app, r) = start(db).await;
    let id = app.active_card(&r, false).await;
    let app = std::sync::Arc::new(app);
    let mut tasks = Vec::new();
    for i in 0..24 {
        let app = app.clone();
        let (hotline, institution) = (r.hotline.clone(), r.institution.clone());
        tasks.push(tokio::spawn(async move {
            if i == 12 {
                app.call("POST", &format!("/v1/cards/{id}/pre-loss"), Some(&hotline), Some(json!({}))).await
            } else {
                app.call("POST", &format!("/v1/cards/{id}/settlement-check"), Some(&institution), None).await
            }
        }));
    }
    let mut accepted = 0;
    let mut refused = 0;
    for t in tasks {
        let (s, v) = t.await.unwrap();
        match (s.as_u16(), v["code"].as_str()) {
            (200, _) => accepted += 1,
            (201, _) => {}
            (409, Some("card_pre_lost")) => refused += 1,
            other => panic!("{other:?}: {v}"),
        }
    }
    let events = app.ok("GET", &format!("/v1/cards/{id}/events"), &app.operator, None).await;
    let kinds: Vec<_> = events.as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap()).collect();
    let pre_loss_at = kinds.iter().position(|k| *k == "pre_loss_reported").unwrap();
    assert!(kinds[pre_loss_at..].iter().all(|k| *k != "used_for_settlement"), "{kinds:?}");
    assert_eq!(kinds.iter().filter(|k| **k == "used_for_settlement").count(), accepted);
    assert_eq!(accepted + refused, 23);
});

// R-ACT-2 on the first swipe (R-ACT-1): an exchange card whose social zone starts at
// registration (2201) stops the old card in the same transaction; the old card then
// registers nothing, and the person never holds two cards that settle.
on_both_databases!(r_act_2_a_replacement_started_by_its_first_swipe_stops_the_old_card, |db: TestDb| async move {
    let (app, r) = start(db).await;
    app.ok("POST", "/v1/catalog/items", &app.operator, Some(json!([{"code": "A1", "name": "阿莫西林胶囊", "kind": "drug", "class": "A"}]))).await;
    let old = app.active_card(&r, false).await;
    let rep = app.ok("POST", &format!("/v1/cards/{old}/exchange"), &r.clerk, Some(json!({"reason": "chip unreadable", "delivery": "outlet"}))).await;
    let new_id = rep["replacement_card_id"].as_i64().unwrap();
    app.produce(&r, new_id).await;
    app.set_now("2026-03-23T10:00:00+08:00").await;
    let number = rep["certificate"]["number"].as_str().unwrap();
    app.ok("POST", &format!("/v1/cards/{new_id}/hand-over"), &r.clerk, Some(json!({"certificate_number": number, "holder_ssn": SSN}))).await;
    assert_eq!(app.card(new_id).await["state"], "issued");
    let (psn_no, _) = app.register(&r.institution, new_id, "SW").await;
    assert_eq!(app.card(new_id).await["state"], "active", "the first swipe starts the social zone");
    let stopped = app.card(old).await;
    assert_eq!((stopped["state"].as_str(), stopped["replaced_by"].as_i64()), (Some("exchanged"), Some(new_id)), "the old card stops at the same instant");
    let person = app.ok("GET", &format!("/v1/persons/{SSN}"), &app.operator, None).await;
    assert_eq!(person["cards"].as_array().unwrap().iter().filter(|c| c["state"] == "active").count(), 1);
    let body = json!({"infno": "2201", "msgid": "H120260323100000000099", "mdtrtarea_admvs": "110000", "insuplc_admdvs": "110000", "fixmedins_code": "H1", "input": {"data": {"psn_no": psn_no, "insutype": "310", "begntime": "2026-03-23 10:00:00", "mdtrt_cert_type": "03", "mdtrt_cert_no": format!("F{old:08}"), "card_sn": VENDOR_CODE, "ipt_otp_no": "MZOLD"}}});
    let res: Value =
        app.client.post(format!("{}/fsi/api/rsfComIfsService/callService", app.base)).bearer_auth(&r.institution).json(&body).send().await.unwrap().json().await.unwrap();
    assert_eq!(res["infcode"], -1, "the old card registers nothing: {res}");
    assert!(res["err_msg"].as_str().unwrap().contains("exchanged"), "{res}");
    assert!(app.outbox_topics().await.contains(&"card.replaced".to_string()));
});

// R-GEN-1: a unit's application for a holder of a working second-generation card makes
// an upgrade that names it; the older card works until the upgrade is activated, which
// stops it.
on_both_databases!(r_gen_1_an_upgrade_names_the_older_card_and_its_activation_stops_it, |db: TestDb| async move {
    let app = spawn_app(db).await;
    app.set_now("2022-06-01T10:00:00+08:00").await;
    app.seed().await;
    let r = app.roles().await;
    let older = app.active_card(&r, false).await;
    assert_eq!(app.card(older).await["generation"], 2);
    app.set_now("2026-03-02T10:00:00+08:00").await;
    let up = app.ok("POST", &format!("/v1/persons/{SSN}/cards"), &r.unit, Some(json!({"financial": false}))).await;
    let up_id = up["id"].as_i64().unwrap();
    assert_eq!((up["generation"].as_i64(), up["origin"].as_str(), up["replaces"].as_i64()), (Some(3), Some("upgrade"), Some(older)), "{up}");
    app.produce(&r, up_id).await;
    app.ok("POST", &format!("/v1/cards/{up_id}/hand-over"), &r.unit, Some(json!({}))).await;
    assert_eq!(app.card(older).await["state"], "active", "the older card works until the upgrade is activated");
    app.ok("POST", &format!("/v1/cards/{up_id}/activation"), &r.clerk, Some(json!({"zone": "social"}))).await;
    let old = app.card(older).await;
    assert_eq!((old["state"].as_str(), old["replaced_by"].as_i64()), (Some("replaced"), Some(up_id)), "{old}");
});

// R-CAL-2 (as amended): a formal loss on 2026-12-01 of a financial card (35 working days,
// past the shipped calendar) is never refused: the loss and the certificate take effect
// at once, the collection date waits for 2027 (null, with the year named) and the
// operator is warned in /healthz and /v1/verify; loading 2027 counts the date.
on_both_databases!(r_cal_2_a_loss_is_never_refused_for_want_of_a_calendar_year, |db: TestDb| async move {
    let (app, r) = start(db).await;
    let id = app.active_card(&r, true).await;
    app.set_now("2026-12-01T10:00:00+08:00").await;
    let health = app.ok("GET", "/healthz", &app.operator, None).await;
    assert!(health["warnings"][0].as_str().unwrap().contains("2027"), "the operator is warned ahead: {health}");
    let rep = app.ok("POST", &format!("/v1/cards/{id}/formal-loss"), &r.clerk, Some(json!({"delivery": "outlet"}))).await;
    assert_eq!(app.card(id).await["state"], "lost", "the loss takes effect at once");
    assert_eq!((rep["ready_on"].clone(), rep["ready_pending_year"].as_i64()), (Value::Null, Some(2027)), "{rep}");
    assert_eq!((rep["certificate"]["ready_on"].clone(), rep["certificate"]["ready_pending_year"].as_i64()), (Value::Null, Some(2027)), "{rep}");
    let number = rep["certificate"]["number"].as_str().unwrap().to_string();
    let cert = app.ok("GET", &format!("/v1/certificates/{number}"), &r.institution, None).await;
    assert_eq!((cert["valid"].as_bool(), cert["ready_pending_year"].as_i64()), (Some(true), Some(2027)), "the certificate serves at once: {cert}");
    let report = app.ok("GET", "/v1/verify", &app.operator, None).await;
    assert!(report["warnings"][0].as_str().unwrap().contains("2027"), "{report}");
    assert_eq!(report["violations"], 0, "a warning is no violation: {report}");
    let year = "year = 2027\nsource = \"test notice\"\nholidays = [2027-01-01]\nworkdays = []\n";
    let put = app.client.put(format!("{}/v1/calendar/years/2027", app.base)).bearer_auth(&app.operator).body(year).send().await.unwrap();
    assert_eq!(put.status(), StatusCode::OK);
    let cert = app.ok("GET", &format!("/v1/certificates/{number}"), &r.holder, None).await;
    assert_eq!((cert["ready_on"].as_str(), cert["ready_pending_year"].clone()), (Some("2027-01-20"), Value::Null), "35 working days from 2026-12-01 (2027-01-01 off): {cert}");
    let new_id = rep["replacement_card_id"].as_i64().unwrap();
    let events = app.ok("GET", &format!("/v1/cards/{new_id}/events"), &app.operator, None).await;
    assert!(events.as_array().unwrap().iter().any(|e| e["type"] == "ready_date_counted"), "{events}");
    let health = app.ok("GET", "/healthz", &app.operator, None).await;
    assert_eq!(health["warnings"], json!([]), "{health}");
    app.ok("GET", "/v1/verify", &app.operator, None).await;
});

// The card property test through the real service: seeded random sequences of what
// holders, clerks, hospitals and the bureau do to one person's cards (pre-loss and its
// revocation, formal loss, exchange, production, hand-over, activation at the counter or
// by the first swipe, time passing), over HTTP on both databases. After every step the
// person holds at most one card that settles and a lost card has stayed lost; nothing
// answers 5xx; at the end `GET /v1/verify` finds no violation.
on_both_databases!(property_random_card_lives_through_the_service_keep_one_card_that_settles, |db: TestDb| async move {
    let (app, r) = start(db).await;
    let seed: u64 = std::env::var("YKT_PROPERTY_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| u64::from(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos()));
    println!("card property seed {seed} (YKT_PROPERTY_SEED={seed} replays it)");
    let mut rng = yikatong_service::demo::DemoRng::new(seed);
    app.active_card(&r, false).await;
    let mut lost: std::collections::HashSet<i64> = std::collections::HashSet::new();
    let mut now = chrono::DateTime::parse_from_rfc3339("2026-03-02T10:00:00+08:00").unwrap();
    let mut done = 0;
    let mut refused: std::collections::BTreeMap<String, u32> = std::collections::BTreeMap::new();
    for step in 0..100u32 {
        let person = app.ok("GET", &format!("/v1/persons/{SSN}"), &app.operator, None).await;
        let cards: Vec<Value> = person["cards"].as_array().unwrap().clone();
        // Mostly a card still in use, sometimes any (a dead card must refuse).
        let alive: Vec<&Value> =
            cards.iter().filter(|c| !["lost", "replaced", "exchanged", "cancelled", "production_failed"].contains(&c["base_state"].as_str().unwrap_or_default())).collect();
        let card = if !alive.is_empty() && rng.below(6) > 0 { alive[rng.below(alive.len() as u64) as usize] } else { &cards[rng.below(cards.len() as u64) as usize] };
        let id = card["id"].as_i64().unwrap();
        let with_base = |state: &str| cards.iter().filter(|c| c["base_state"] == state).map(|c| c["id"].as_i64().unwrap()).collect::<Vec<_>>();
        let (status, answer) = match rng.below(9) {
            0 => app.call("POST", &format!("/v1/cards/{id}/pre-loss"), Some(&r.hotline), Some(json!({}))).await,
            1 => app.call("DELETE", &format!("/v1/cards/{id}/pre-loss"), Some(&r.clerk), None).await,
            2 => app.call("POST", &format!("/v1/cards/{id}/formal-loss"), Some(&r.clerk), Some(json!({"delivery": "outlet"}))).await,
            3 => app.call("POST", &format!("/v1/cards/{id}/exchange"), Some(&r.clerk), Some(json!({"reason": "chip unreadable", "delivery": "outlet"}))).await,
            4 => match with_base("applied").first() {
                Some(applied) => {
                    app.produce(&r, *applied).await;
                    (StatusCode::OK, json!({"produced": applied}))
                }
                None => (StatusCode::OK, Value::Null),
            },
            5 => match cards.iter().find(|c| c["base_state"] == "at_distributor") {
                Some(c) => {
                    let cid = c["id"].as_i64().unwrap();
                    match c["certificate"]["number"].as_str() {
                        Some(number) => {
                            app.call("POST", &format!("/v1/cards/{cid}/hand-over"), Some(&r.clerk), Some(json!({"certificate_number": number, "holder_ssn": SSN}))).await
                        }
                        None => app.call("POST", &format!("/v1/cards/{cid}/hand-over"), Some(&r.unit), Some(json!({}))).await,
                    }
                }
                None => (StatusCode::OK, Value::Null),
            },
            6 => match with_base("issued").first() {
                Some(issued) => app.call("POST", &format!("/v1/cards/{issued}/activation"), Some(&r.clerk), Some(json!({"zone": "social"}))).await,
                None => (StatusCode::OK, Value::Null),
            },
            7 => match with_base("issued").first() {
                Some(issued) => {
                    let info = app
                        .his(
                            &r.institution,
                            "1101",
                            &format!("P{seed:08}{step:03}1"),
                            json!({"data": {"mdtrt_cert_type": "03", "mdtrt_cert_no": format!("F{issued:08}"), "card_sn": VENDOR_CODE}}),
                        )
                        .await;
                    let psn_no = info["output"]["baseinfo"]["psn_no"].as_str().unwrap_or_default().to_string();
                    let reg = app.his(&r.institution, "2201", &format!("P{seed:08}{step:03}2"), json!({"data": {"psn_no": psn_no, "insutype": "310", "begntime": now.format("%Y-%m-%d %H:%M:%S").to_string(), "mdtrt_cert_type": "03", "mdtrt_cert_no": format!("F{issued:08}"), "card_sn": VENDOR_CODE, "ipt_otp_no": format!("PR{seed}{step}")}})).await;
                    assert!(!reg["err_msg"].as_str().unwrap_or_default().contains("internal_error"), "{reg}");
                    (StatusCode::OK, reg)
                }
                None => (StatusCode::OK, Value::Null),
            },
            _ => {
                now += chrono::Duration::days(1 + rng.below(25) as i64);
                app.set_now(&now.to_rfc3339()).await;
                (StatusCode::OK, Value::Null)
            }
        };
        assert!(status.as_u16() < 500, "step {step}: {answer}");
        if status.is_success() && !answer.is_null() && answer.get("infcode").is_none_or(|c| c == 0) {
            done += 1;
        } else if let Some(code) = answer.get("code").or_else(|| answer.get("err_msg")).and_then(|c| c.as_str()) {
            *refused.entry(code.split(']').next().unwrap_or(code).trim_start_matches('[').to_string()).or_insert(0) += 1;
        }
        let person = app.ok("GET", &format!("/v1/persons/{SSN}"), &app.operator, None).await;
        let after: Vec<&Value> = person["cards"].as_array().unwrap().iter().collect();
        let settling: Vec<i64> = after.iter().filter(|c| c["base_state"] == "active").map(|c| c["id"].as_i64().unwrap()).collect();
        assert!(settling.len() <= 1, "step {step} (seed {seed}): two cards that settle: {settling:?}");
        for c in &after {
            let cid = c["id"].as_i64().unwrap();
            if lost.contains(&cid) {
                assert_eq!(c["base_state"], "lost", "step {step} (seed {seed}): lost card {cid} came back");
            }
            if c["base_state"] == "lost" {
                lost.insert(cid);
            }
        }
    }
    let person = app.ok("GET", &format!("/v1/persons/{SSN}"), &app.operator, None).await;
    let states: Vec<&str> = person["cards"].as_array().unwrap().iter().map(|c| c["base_state"].as_str().unwrap()).collect();
    println!("card property: {done} of 100 steps changed something, refusals {refused:?}; the person's cards end {states:?}");
    app.verified().await;
});

// Load without 500s: fifty mixed operations on one card at once (pre-loss, revocation,
// formal loss) and fifty wrong query passwords at once each get a success or a 4xx, the
// slowest in about 0.3 s, on both databases: no request holds a write transaction across
// the slow password hash, and none needs a second pooled connection while it holds one.
on_both_databases!(fifty_operations_on_one_card_and_fifty_wrong_passwords_answer_without_5xx, |db: TestDb| async move {
    let (app, r) = start(db).await;
    let id = app.active_card(&r, false).await;
    let second = app.active_card_of(&r, OTHER).await;
    let (s, _) = app.call("PUT", &format!("/v1/cards/{second}/password"), Some(&r.kiosk), Some(json!({"old": &OTHER[12..], "new": "246810"}))).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "an Argon2 hash to check against");
    let app = std::sync::Arc::new(app);
    let mut tasks = Vec::new();
    for i in 0..50 {
        let (app, hotline, clerk) = (app.clone(), r.hotline.clone(), r.clerk.clone());
        tasks.push(tokio::spawn(async move {
            let started = std::time::Instant::now();
            let (status, v) = match i % 3 {
                0 => app.call("POST", &format!("/v1/cards/{id}/pre-loss"), Some(&hotline), Some(json!({}))).await,
                1 => app.call("DELETE", &format!("/v1/cards/{id}/pre-loss"), Some(&clerk), None).await,
                _ => app.call("POST", &format!("/v1/cards/{id}/formal-loss"), Some(&clerk), Some(json!({"delivery": "outlet"}))).await,
            };
            (status, v, started.elapsed())
        }));
    }
    for i in 0..50 {
        let (app, kiosk) = (app.clone(), r.kiosk.clone());
        tasks.push(tokio::spawn(async move {
            let started = std::time::Instant::now();
            let res = app.client.get(format!("{}/v1/cards/{second}", app.base)).bearer_auth(&kiosk).header("x-query-password", format!("{:06}", 100_000 + i)).send().await.unwrap();
            let status = res.status();
            (status, res.json::<Value>().await.unwrap_or(Value::Null), started.elapsed())
        }));
    }
    let mut slowest = std::time::Duration::ZERO;
    let mut formal_losses = 0;
    for t in tasks {
        let (status, v, took) = t.await.unwrap();
        assert!(status.as_u16() < 500, "{status}: {v}");
        formal_losses += usize::from(v.get("replacement_card_id").is_some());
        slowest = slowest.max(took);
    }
    // About 0.3 s on the 2-core machine; the bound is looser so that a busy CI machine
    // does not fail it, and tight enough to catch a pool timeout (10 s) or fifty hashes
    // computed under the card's lock (several seconds).
    println!("slowest answer of 100: {slowest:?}");
    assert!(slowest < std::time::Duration::from_secs(3), "every answer within seconds, none waiting on a pool timeout: {slowest:?}");
    assert_eq!(formal_losses, 1, "one formal loss, one replacement");
    let card = app.card(second).await;
    assert_eq!(card["state"], "active", "wrong passwords change nothing but the count");
    app.verified().await;
});

// No personal data in clear at rest (SPEC §8): a person's name, ID number, phone and
// address, after a card's whole life (application, production, hand-over, a renaming
// and the card's synchronisation), a national-interface read kept for its msgid and a
// request kept for its Idempotency-Key, appear nowhere in the SQLite file and its WAL, or
// in a pg_dump of the PostgreSQL schema.
on_both_databases!(no_personal_data_in_clear_at_rest, |db: TestDb| async move {
    let (app, r) = start(db).await;
    let (ssn, name, renamed, phone, address) =
        (yikatong_service::demo::make_ssn("110105", "1977-07-07".parse().unwrap(), 35), "欧阳明", "欧阳明远", "13912345678", "北京市朝阳区光华路甲8号");
    let (s, _, _) = app
        .call_full(
            "POST",
            "/v1/persons",
            Some(&app.operator),
            Some(json!({"ssn": ssn, "name": name, "ethnicity": "01", "category": "in_service", "region": "beijing", "unit_code": "U1", "phone": phone})),
            Some("create-1"),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    app.ok("POST", &format!("/v1/persons/{ssn}/changes"), &r.unit, Some(json!({"address": address}))).await;
    let id = app.active_card_of(&r, &ssn).await;
    app.ok("POST", &format!("/v1/persons/{ssn}/changes"), &app.operator, Some(json!({"name": renamed}))).await;
    app.ok("POST", &format!("/v1/cards/{id}/synchronisation"), &r.clerk, None).await;
    let info = app.his(&r.institution, "1101", "H120260302100000009901", json!({"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": ssn}})).await;
    assert_eq!(info["output"]["baseinfo"]["psn_name"], renamed, "{info}");
    let mut at_rest = Vec::new();
    match app.db.backend {
        yikatong_store::testing::Backend::Sqlite => {
            for suffix in ["", "-wal"] {
                at_rest.extend(std::fs::read(format!("{}{suffix}", app.db.url)).unwrap_or_default());
            }
        }
        yikatong_store::testing::Backend::Postgres => {
            let (base, schema) = app.db.url.split_once("?options[search_path]=").unwrap();
            let dump = std::process::Command::new("pg_dump").args(["--dbname", base, "--schema", schema, "--data-only"]).output().unwrap();
            assert!(dump.status.success(), "{}", String::from_utf8_lossy(&dump.stderr));
            at_rest = dump.stdout;
        }
    }
    assert!(at_rest.len() > 10_000, "the database was read: {} bytes", at_rest.len());
    let text = String::from_utf8_lossy(&at_rest);
    for secret in [ssn.as_str(), name, renamed, phone, address] {
        assert!(!text.contains(secret), "{secret} is stored in clear");
    }
});

// An audit trail tampering cannot hide, each kind on both databases, by someone with the
// whole database but not the data key: a card's newest event removed and its head moved
// back (found by the checkpoint written outside the database), an event edited and the
// chain recomputed without the chain key, and a lost card's row set back to active
// (found as a state its events do not make). The chain alone verifies the first and the
// last of these.
on_both_databases!(audit_finds_each_tampering_a_plain_chain_would_miss, |db: TestDb| async move {
    use yikatong_store::testing::{Backend, run_raw_sql};
    let (app, r) = start(db).await;
    let a = app.active_card(&r, false).await;
    app.ok("POST", &format!("/v1/cards/{a}/pre-loss"), &r.hotline, Some(json!({}))).await;
    let b = app.active_card_of(&r, OTHER).await;
    let c = app.ok("POST", &format!("/v1/cards/{b}/formal-loss"), &r.clerk, Some(json!({"delivery": "outlet"}))).await["replacement_card_id"].as_i64().unwrap();
    let dir = std::env::temp_dir().join(format!("ykt-checkpoints-{}-{a}-{}", std::process::id(), yikatong_store::DataKey::generate_hex()));
    app.service.write_checkpoint(&dir).await.unwrap();
    let clean = app.service.audit_database(Some(&dir)).await.unwrap();
    assert!(clean.ok && clean.checkpoint.is_some(), "{clean:?}");
    let url = app.db.url.clone();
    let unlock = match app.db.backend {
        Backend::Sqlite => "DROP TRIGGER card_events_no_update; DROP TRIGGER card_events_no_delete",
        Backend::Postgres => "ALTER TABLE card_events DISABLE TRIGGER card_events_no_change",
    };
    run_raw_sql(&url, unlock).await.unwrap();
    // 1. The replacement card's newest (only) event removed, its head moved back.
    run_raw_sql(&url, &format!("DELETE FROM card_events WHERE card_id = {c}; UPDATE cards SET head_hash = '', last_seq = 0 WHERE id = {c}")).await.unwrap();
    // 2. Card a's pre-loss edited, the chain recomputed with a key of the attacker's own.
    let theirs = yikatong_store::DataKey::from_hex(&yikatong_store::DataKey::generate_hex()).unwrap();
    let mut prev = String::new();
    let mut script = String::new();
    for e in app.db.store.card_events(a).await.unwrap() {
        let mut payload = e.event.clone();
        if e.kind == "pre_loss_reported" {
            payload["until"] = json!("2099-01-01T00:00:00Z");
        }
        let payload = payload.to_string();
        let hash = yikatong_store::event_hash(&theirs, &prev, a, e.seq, &e.kind, &payload, &e.meta);
        script.push_str(&format!(
            "UPDATE card_events SET payload = '{}', prev_hash = '{prev}', hash = '{hash}' WHERE card_id = {a} AND seq = {};",
            payload.replace('\'', "''"),
            e.seq
        ));
        prev = hash;
    }
    script.push_str(&format!("UPDATE cards SET head_hash = '{prev}' WHERE id = {a};"));
    run_raw_sql(&url, &script).await.unwrap();
    // 3. The lost card set back to active.
    run_raw_sql(&url, &format!("UPDATE cards SET state = 'active', data = REPLACE(data, '\"state\":\"lost\"', '\"state\":\"active\"') WHERE id = {b}")).await.unwrap();
    assert_eq!(app.card(b).await["state"], "active", "the API now reports the lost card active");
    let found = app.service.audit_database(Some(&dir)).await.unwrap();
    let said = |card: i64, what: &str| found.problems.iter().any(|p| p.starts_with(&format!("card {card}:")) && p.contains(what));
    assert!(said(c, "missing (events were removed)"), "{:?}", found.problems);
    assert!(said(a, "was changed after it was written"), "{:?}", found.problems);
    assert!(said(b, "not what its events make"), "{:?}", found.problems);
    assert!(!found.ok);
    let _ = std::fs::remove_dir_all(&dir);
});

// R-DIST-1: Jinan's units hand produced cards out within 10 days (002); a retiree under
// social management collects from the street office; a card not handed out in time is
// listed as overdue for the operator and for its unit (not for another unit), until it is
// handed over.
on_both_databases!(r_dist_1_cards_not_handed_out_in_the_regions_days_are_overdue_for_the_unit, |db: TestDb| async move {
    let (app, r) = start(db).await;
    let office = app
        .ok("POST", "/v1/units", &app.operator, Some(json!({"code": "JNSO", "name": "济南示范街道办事处", "region": "jinan", "kind": "street_office", "district": "370102"})))
        .await;
    assert_eq!(office["kind"], "street_office");
    let (s, v) = app.call("POST", "/v1/units", Some(&app.operator), Some(json!({"code": "JNX", "name": "单位", "region": "jinan", "kind": "factory"}))).await;
    assert_problem(s, &v, 422, "invalid_unit_kind");
    let retiree = yikatong_service::demo::make_ssn("370102", "1955-05-05".parse().unwrap(), 135);
    app.ok(
        "POST",
        "/v1/persons",
        &app.operator,
        Some(json!({"ssn": retiree, "name": "刘七", "ethnicity": "01", "category": "retired", "region": "jinan", "unit_code": "JNSO", "phone": "13900139000"})),
    )
    .await;
    let street = app.token(json!({"role": "unit", "unit": "JNSO"})).await;
    let card = app.ok("POST", &format!("/v1/persons/{retiree}/cards"), &street, Some(json!({"financial": false}))).await;
    let id = card["id"].as_i64().unwrap();
    let batch = app.ok("POST", "/v1/production-batches", &app.operator, Some(json!({"region": "jinan"}))).await;
    assert!(batch["card_ids"].as_array().unwrap().contains(&json!(id)), "{batch}");
    let batch_id = batch["id"].as_i64().unwrap();
    app.ok(
        "POST",
        &format!("/v1/production-batches/{batch_id}/results"),
        &r.vendor,
        Some(json!([{"card_id": id, "card_number": format!("F{id:08}"), "card_identification_code": crate::settlement::VENDOR_CODE}])),
    )
    .await;
    app.ok("POST", &format!("/v1/production-batches/{batch_id}/dispatch"), &app.operator, None).await;
    let overdue = |token: String| {
        let app = &app;
        async move { app.ok("GET", "/v1/cards/overdue", &token, None).await.as_array().unwrap().iter().map(|c| c["id"].as_i64().unwrap()).collect::<Vec<_>>() }
    };
    app.set_now("2026-03-12T10:00:00+08:00").await;
    assert!(!overdue(app.operator.clone()).await.contains(&id), "the tenth day is in time");
    app.set_now("2026-03-13T10:00:00+08:00").await;
    assert!(overdue(app.operator.clone()).await.contains(&id));
    assert_eq!(overdue(street.clone()).await, [id], "the unit sees its own");
    let (_, cookie, _) = app.post_form("/unit/sign-in", "", &[("token", &street)]).await;
    let (_, page) = app.page("/unit", &cookie.unwrap()).await;
    let listed = page.split("id=\"overdue\"").nth(1).unwrap_or_default().split("</table>").next().unwrap();
    assert!(listed.contains(&format!("#{id}")) && listed.contains("2026-03-12"), "on the unit's page: {page}");
    assert!(!overdue(r.unit.clone()).await.contains(&id), "another unit does not");
    let (s, v) = app.call("GET", "/v1/cards/overdue", Some(&r.clerk), None).await;
    assert_problem(s, &v, 403, "not_allowed_on_channel");
    app.ok("POST", &format!("/v1/cards/{id}/hand-over"), &street, Some(json!({}))).await;
    assert!(!overdue(app.operator.clone()).await.contains(&id), "handed out");
    // Beijing's file sets no days: its cards wait at the unit without a promise.
    let beijing = app.produced_card(&r, SSN, false).await;
    app.set_now("2027-03-13T10:00:00+08:00").await;
    assert!(!overdue(app.operator.clone()).await.contains(&beijing));
});

// R-LOSS-1, R-LOSS-2 for Jinan (002): the financial zone's temporary loss is reported to
// the bank and lifted at a bank outlet, apart from the social zone, once the bank has
// activated it; formal loss at a bank; a card with one zone needs no zone named; the bank
// takes no pre-loss in Beijing.
on_both_databases!(r_loss_1_jinan_bank_reports_and_lifts_the_financial_zones_loss, |db: TestDb| async move {
    let (app, r) = start(db).await;
    let id = app.jinan_card(&r, true, 0).await;
    let pre_loss = format!("/v1/cards/{id}/pre-loss");
    let (s, v) = app.call("POST", &pre_loss, Some(&r.bank), Some(json!({"zone": "financial"}))).await;
    assert_problem(s, &v, 409, "financial_zone_not_active");
    app.ok("POST", &format!("/v1/cards/{id}/activation"), &r.bank, Some(json!({"zone": "financial"}))).await;
    let (s, v) = app.call("POST", &pre_loss, Some(&r.bank), Some(json!({"zone": "social"}))).await;
    assert_problem(s, &v, 403, "not_at_bank_in_region");
    let v = app.ok("POST", &pre_loss, &r.bank, Some(json!({"zone": "financial"}))).await;
    assert_eq!((v["card"]["zones"]["financial"].as_str(), v["card"]["zones"]["social"].as_str()), (Some("pre_lost"), Some("active")), "{v}");
    let (s, v) = app.call("DELETE", &format!("{pre_loss}?zone=social"), Some(&r.bank), None).await;
    assert_problem(s, &v, 403, "not_at_bank_in_region");
    let card = app.ok("DELETE", &format!("{pre_loss}?zone=financial"), &r.bank, None).await;
    assert_eq!(card["zones"]["financial"], "active", "lifted at the bank: {card}");
    // A social-only card is reported without naming its zone.
    let social_only = app.jinan_card(&r, false, 1).await;
    let v = app.ok("POST", &format!("/v1/cards/{social_only}/pre-loss"), &r.hotline, Some(json!({}))).await;
    assert_eq!(v["card"]["zones"]["social"], "pre_lost", "{v}");
    app.ok("DELETE", &format!("/v1/cards/{social_only}/pre-loss"), &r.clerk, None).await;
    // Formal loss at a bank outlet reaches the rule; Jinan's file (002) gives no
    // replacement period, so it fails closed naming the parameter.
    let (s, v) = app.call("POST", &format!("/v1/cards/{id}/formal-loss"), Some(&r.bank), Some(json!({"delivery": "outlet"}))).await;
    assert_problem(s, &v, 409, "policy_not_in_force");
    let detail = v["detail"].as_str().unwrap();
    assert!(detail.contains("card.replacement_fee") || detail.contains("card.production_working_days"), "{v}");
    // Beijing's banks take no pre-loss.
    let beijing = app.active_card(&r, true).await;
    let (s, v) = app.call("POST", &format!("/v1/cards/{beijing}/pre-loss"), Some(&r.bank), Some(json!({}))).await;
    assert_problem(s, &v, 403, "not_at_bank_in_region");
});

// R-ACT-2 (000): when a financial card's exchange card is activated, the holder chooses to
// keep or close the old card's bank account; the choice is recorded with the old card's
// stop and reaches the bank in the outbox's card.replaced.
on_both_databases!(r_act_2_the_old_cards_bank_account_is_kept_or_closed_at_the_holders_choice, |db: TestDb| async move {
    let (app, r) = start(db).await;
    let id = app.active_card(&r, true).await;
    let rep = app.ok("POST", &format!("/v1/cards/{id}/exchange"), &r.clerk, Some(json!({"reason": "chip unreadable", "delivery": "outlet"}))).await;
    let new_id = rep["replacement_card_id"].as_i64().unwrap();
    app.ok("POST", &format!("/v1/cards/{new_id}/bank-account"), &r.bank, Some(json!({"opened": true}))).await;
    app.produce(&r, new_id).await;
    app.set_now("2026-04-21T10:00:00+08:00").await;
    let number = rep["certificate"]["number"].as_str().unwrap();
    app.ok("POST", &format!("/v1/cards/{new_id}/hand-over"), &r.clerk, Some(json!({"certificate_number": number, "holder_ssn": SSN}))).await;
    let activation = format!("/v1/cards/{new_id}/activation");
    let (s, v) = app.call("POST", &activation, Some(&r.clerk), Some(json!({"zone": "social", "old_card_account": "sell"}))).await;
    assert_problem(s, &v, 400, "invalid_body");
    assert!(v["detail"].as_str().unwrap().contains("`keep` or `close`"), "{v}");
    let (s, v) = app.call("POST", &activation, Some(&r.bank), Some(json!({"zone": "financial", "old_card_account": "close"}))).await;
    assert_problem(s, &v, 422, "invalid_field");
    // At the counter: the confirmation asks the holder's choice, the slip shows it.
    let (_, clerk, _) = app.post_form("/outlet/sign-in", "", &[("token", &r.clerk)]).await;
    let clerk = clerk.unwrap();
    let (_, found) = app.page(&format!("/outlet?q={SSN}"), &clerk).await;
    assert!(found.contains(&format!("activation-{new_id}")), "{found}");
    let (_, confirm) = app.page(&format!("/outlet/cards/{new_id}/activation"), &clerk).await;
    assert!(confirm.contains("old_card_account") && confirm.contains("注销 close"), "{confirm}");
    let (status, _, slip) = app.post_form(&format!("/outlet/cards/{new_id}/activation"), &clerk, &[("old_card_account", "close")]).await;
    assert!(status == 200 && slip.contains("注销 close"), "{status} {slip}");
    let outbox = app.ok("GET", "/v1/outbox", &r.bank, None).await;
    let replaced: Vec<&Value> = outbox.as_array().unwrap().iter().filter(|m| m["topic"] == "card.replaced" && m["card_id"] == json!(id)).collect();
    assert_eq!(replaced.len(), 1, "{outbox}");
    assert_eq!(replaced[0]["payload"]["event"]["bank_account"], "close", "{}", replaced[0]);
    let history = app.ok("GET", &format!("/v1/cards/{id}/events"), &app.operator, None).await;
    assert!(history.to_string().contains("\"bank_account\":\"close\""), "recorded with the stop: {history}");
    // A card without a bank account carries no choice; saying nothing keeps the account.
    let plain = app.active_card_of(&r, OTHER).await;
    let rep = app.ok("POST", &format!("/v1/cards/{plain}/exchange"), &r.clerk, Some(json!({"reason": "worn", "delivery": "outlet"}))).await;
    let next = rep["replacement_card_id"].as_i64().unwrap();
    app.produce(&r, next).await;
    app.set_now("2026-06-20T10:00:00+08:00").await;
    app.ok("POST", &format!("/v1/cards/{next}/hand-over"), &r.clerk, Some(json!({"certificate_number": rep["certificate"]["number"], "holder_ssn": OTHER}))).await;
    app.ok("POST", &format!("/v1/cards/{next}/activation"), &r.institution, Some(json!({"zone": "social"}))).await;
    let outbox = app.ok("GET", "/v1/outbox", &r.bank, None).await;
    let plain_replaced = outbox.as_array().unwrap().iter().find(|m| m["topic"] == "card.replaced" && m["card_id"] == json!(plain)).unwrap().clone();
    assert!(plain_replaced["payload"]["event"].get("bank_account").is_none(), "{plain_replaced}");
});

/// The shipped files, Jinan's with a replacement fee (002 gives none; the test's own figure).
fn jinan_with_a_replacement_fee() -> yikatong_core::policy::PolicySet {
    let files = yikatong_core::policy::SHIPPED.iter().map(|(f, t)| {
        let text = if f.ends_with("jinan.toml") {
            t.replace("[card]\n", "[card]\nreplacement_fee = [{ from = 2015-01-01, fen = 2000, source = \"test: the fee 002 does not give\" }]\n")
        } else {
            t.to_string()
        };
        (f.to_string(), text)
    });
    yikatong_core::policy::PolicySet::from_files(files).unwrap()
}

on_both_databases!(r_loss_4_jinan_replaces_on_the_spot_where_the_outlet_makes_cards, |db: TestDb| async move {
    let (app, r) = started(crate::spawn_app_on(db, true, jinan_with_a_replacement_fee()).await).await;
    // A bank branch that makes cards on the spot is registered as an instant-issue outlet
    // under its bank code; the bureau's ordinary counter makes none.
    app.ok("POST", "/v1/outlets", &app.operator, Some(json!({"code": "ICBC-JN", "name": "工商银行济南分行", "region": "jinan", "kind": "instant_issue"}))).await;
    let (s, v) = app.call("POST", "/v1/outlets", Some(&app.operator), Some(json!({"code": "X1", "name": "网点", "region": "jinan", "kind": "kiosk"}))).await;
    assert_problem(s, &v, 422, "invalid_outlet_kind");
    let bank = app.token(json!({"role": "bank", "bank": "ICBC-JN"})).await;
    let id = app.jinan_card(&r, true, 3).await;
    app.ok("POST", &format!("/v1/cards/{id}/activation"), &bank, Some(json!({"zone": "financial"}))).await;
    let spot = |extra: serde_json::Value| {
        let mut body = json!({"delivery": "outlet", "immediate": true, "card_number": "J90000001", "card_identification_code": VENDOR_CODE});
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        body
    };
    let path = format!("/v1/cards/{id}/formal-loss");
    let (s, v) = app.call("POST", &path, Some(&r.clerk), Some(spot(json!({})))).await;
    assert_problem(s, &v, 409, "immediate_not_offered_here");
    let (s, v) = app.call("POST", &path, Some(&bank), Some(spot(json!({"card_number": null})))).await;
    assert_problem(s, &v, 422, "card_number_required");
    let (s, v) = app.call("POST", &path, Some(&bank), Some(spot(json!({"card_identification_code": "short"})))).await;
    assert_problem(s, &v, 422, "invalid_identification_code");
    assert_eq!(app.card(id).await["state"], "active", "a refused on-the-spot replacement loses nothing");
    let rep = app.ok("POST", &path, &bank, Some(spot(json!({})))).await;
    assert_eq!((rep["ready_on"].as_str(), rep["fee_fen"].as_i64()), (Some("2026-03-02"), Some(2000)), "{rep}");
    let new = app.card(rep["replacement_card_id"].as_i64().unwrap()).await;
    assert_eq!((new["state"].as_str(), new["card_number"].as_str()), (Some("issued"), Some("J90000001")), "handed over at once: {new}");
    assert_eq!(app.card(id).await["state"], "lost");
    // At the counter's page: the form asks for it, and an ordinary counter refuses it.
    let (_, clerk_cookie, _) = app.post_form("/outlet/sign-in", "", &[("token", &r.clerk)]).await;
    let clerk_cookie = clerk_cookie.unwrap();
    let other = app.jinan_card(&r, false, 4).await;
    let (_, form) = app.page(&format!("/outlet/cards/{other}/formal-loss"), &clerk_cookie).await;
    assert!(form.contains("name=\"immediate\"") && form.contains("name=\"card_number\""), "{form}");
    let (status, _, refused) = app
        .post_form(
            &format!("/outlet/cards/{other}/formal-loss"),
            &clerk_cookie,
            &[("delivery", "outlet"), ("immediate", "yes"), ("card_number", "J90000002"), ("card_identification_code", VENDOR_CODE)],
        )
        .await;
    assert_eq!(status, 409, "{refused}");
    assert!(refused.contains("immediate_not_offered_here"), "{refused}");
    // Beijing's file makes replacements at the factory only, whatever the outlet.
    app.ok("POST", "/v1/outlets", &app.operator, Some(json!({"code": "O9", "name": "北京即时网点", "region": "beijing", "kind": "instant_issue"}))).await;
    let clerk = app.token(json!({"role": "clerk", "outlet": "O9"})).await;
    let beijing = app.active_card(&r, false).await;
    let (s, v) = app.call("POST", &format!("/v1/cards/{beijing}/formal-loss"), Some(&clerk), Some(spot(json!({})))).await;
    assert_problem(s, &v, 409, "immediate_not_offered");
    assert_eq!(app.card(beijing).await["state"], "active");
});
