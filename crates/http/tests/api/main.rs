//! Black-box tests of the HTTP API: a real server on a real port, over real HTTP, on
//! SQLite and on PostgreSQL.

#![allow(clippy::unwrap_used)] // tests state their expectations by unwrapping

mod access;
mod batch;
mod cards;
mod cross_region;
mod delivery;
mod designated;
mod family;
mod his_clients;
mod id_correction;
mod portal;
mod scenarios;
mod settlement;
mod sign_in;
mod visit_cards;
mod webdriver;

use std::sync::Arc;

use reqwest::StatusCode;
use serde_json::{Value, json};
use yikatong_core::clock::TestClock;
use yikatong_core::policy::PolicySet;
use yikatong_http::AppState;
use yikatong_service::{Service, TokenRequest};
use yikatong_store::on_both_databases;
use yikatong_store::testing::TestDb;

struct TestApp {
    base: String,
    client: reqwest::Client,
    operator: String,
    service: Arc<Service>,
    clock: TestClock,
    _stop: tokio::sync::oneshot::Sender<()>,
    db: TestDb,
}

async fn spawn_app_with(db: TestDb, with_test_clock: bool) -> TestApp {
    spawn_app_on(db, with_test_clock, PolicySet::shipped().unwrap()).await
}

/// A server with these region policies (a test's own dated values).
async fn spawn_app_on(db: TestDb, with_test_clock: bool, policies: PolicySet) -> TestApp {
    let clock = TestClock::new("2026-03-02T02:00:00Z".parse().unwrap());
    let service = Arc::new(Service::new(db.store.clone(), Arc::new(clock.clone()), policies).await.unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let state = AppState::new(service.clone(), with_test_clock.then(|| clock.clone()));
    tokio::spawn(yikatong_http::serve(listener, state, async {
        let _ = stopped.await;
    }));
    let operator = service.issue_token(&TokenRequest { role: "operator".into(), ..Default::default() }).await.unwrap().token;
    TestApp { base, client: reqwest::Client::new(), operator, service, clock, _stop: stop, db }
}

async fn spawn_app(db: TestDb) -> TestApp {
    spawn_app_with(db, true).await
}

impl TestApp {
    async fn call(&self, method: &str, path: &str, token: Option<&str>, body: Option<Value>) -> (StatusCode, Value) {
        let (status, _, v) = self.call_full(method, path, token, body, None).await;
        (status, v)
    }

    async fn call_full(&self, method: &str, path: &str, token: Option<&str>, body: Option<Value>, key: Option<&str>) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        let mut req = self.client.request(method.parse().unwrap(), format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        if let Some(k) = key {
            req = req.header("Idempotency-Key", k);
        }
        let res = req.send().await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let text = res.text().await.unwrap();
        (status, headers, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    async fn op(&self, method: &str, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        self.call(method, path, Some(&self.operator), body).await
    }

    async fn token(&self, req: Value) -> String {
        let (s, v) = self.op("POST", "/v1/tokens", Some(req)).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        v["token"].as_str().unwrap().to_string()
    }

    /// Units U1, U2, outlet O1, institution H1 and a person in U1.
    async fn seed(&self) {
        for (path, body) in [
            ("/v1/units", json!({"code": "U1", "name": "示范单位一", "region": "beijing"})),
            ("/v1/units", json!({"code": "U2", "name": "示范单位二", "region": "beijing"})),
            ("/v1/outlets", json!({"code": "O1", "name": "西城网点", "region": "beijing"})),
            ("/v1/institutions", json!({"code": "H1", "name": "示范医院", "region": "beijing", "level": "3"})),
            (
                "/v1/persons",
                json!({"ssn": SSN, "name": "张三", "ethnicity": "01", "category": "in_service", "region": "beijing", "unit_code": "U1", "phone": "13800138000", "handbook_no": "110105123S"}),
            ),
        ] {
            let (s, v) = self.op("POST", path, Some(body)).await;
            assert_eq!(s, StatusCode::CREATED, "{path}: {v}");
        }
    }
}

const SSN: &str = "11010519491231002X";

fn assert_problem(status: StatusCode, v: &Value, want_status: u16, code: &str) {
    assert_eq!(status.as_u16(), want_status, "{v}");
    assert_eq!(v["code"], code, "{v}");
    assert_eq!(v["status"], want_status, "{v}");
    assert!(v["detail"].as_str().is_some_and(|d| !d.is_empty()), "{v}");
}

on_both_databases!(health_metrics_and_request_ids, |db: TestDb| async move {
    let app = spawn_app(db).await;
    let (s, v) = app.call("GET", "/healthz", None, None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["database"], app.db.store.backend());
    let res = app.client.get(format!("{}/healthz", app.base)).send().await.unwrap();
    assert!(res.headers().get("x-request-id").is_some_and(|h| !h.is_empty()));
    app.call("GET", "/v1/units/none", Some(&app.operator), None).await;
    let (s, text) = app.call("GET", "/metrics", None, None).await;
    assert_eq!(s, StatusCode::OK);
    let text = text.as_str().unwrap().to_string();
    assert!(text.contains("ykt_http_requests_total{method=\"GET\",route=\"/v1/units/{code}\",status=\"404\"} 1"), "{text}");
    assert!(text.contains("ykt_registry_persons 0"), "{text}");
    // Latency is a histogram per route: buckets up to +Inf, a count and a sum.
    let labels = "method=\"GET\",route=\"/v1/units/{code}\",status=\"404\"";
    assert!(text.contains("# TYPE ykt_http_request_duration_seconds histogram"), "{text}");
    assert!(text.contains(&format!("ykt_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} 1\n")), "{text}");
    assert!(text.contains(&format!("ykt_http_request_duration_seconds_count{{{labels}}} 1\n")), "{text}");
});

on_both_databases!(every_call_checks_the_caller, |db: TestDb| async move {
    let app = spawn_app(db).await;
    app.seed().await;
    let unit = json!({"code": "U9", "name": "x", "region": "beijing"});
    let (s, v) = app.call("POST", "/v1/units", None, Some(unit.clone())).await;
    assert_problem(s, &v, 401, "unauthenticated");
    let (s, v) = app.call("POST", "/v1/units", Some("ykt_nonsense"), Some(unit.clone())).await;
    assert_problem(s, &v, 401, "unauthenticated");
    let clerk = app.token(json!({"role": "clerk", "outlet": "O1"})).await;
    let (s, v) = app.call("POST", "/v1/units", Some(&clerk), Some(unit.clone())).await;
    assert_problem(s, &v, 403, "not_allowed_on_channel");
    // A clerk token needs an existing outlet.
    let (s, v) = app.op("POST", "/v1/tokens", Some(json!({"role": "clerk"}))).await;
    assert_problem(s, &v, 422, "missing_binding");
    let (s, v) = app.op("POST", "/v1/tokens", Some(json!({"role": "clerk", "outlet": "NOPE"}))).await;
    assert_problem(s, &v, 404, "outlet_not_found");
    // Revocation takes effect at once.
    let (_, list) = app.op("GET", "/v1/tokens", None).await;
    let clerk_id = list.as_array().unwrap().iter().find(|t| t["role"] == "clerk").unwrap()["id"].as_i64().unwrap();
    let (s, _) = app.op("DELETE", &format!("/v1/tokens/{clerk_id}"), None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, v) = app.call("GET", &format!("/v1/persons/{SSN}"), Some(&clerk), None).await;
    assert_problem(s, &v, 401, "unauthenticated");
    assert!(v["detail"].as_str().unwrap().contains("revoked"));
});

on_both_databases!(r_id_1_persons_get_gender_and_birth_date_and_masked_numbers, |db: TestDb| async move {
    let app = spawn_app(db).await;
    app.seed().await;
    let (s, v) = app.op("GET", &format!("/v1/persons/{SSN}"), None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["ssn_masked"], "110105********002X");
    assert_eq!(v["gender"], "female");
    assert_eq!(v["birth_date"], "1949-12-31");
    assert_eq!(v["phone_masked"], "138****8000");
    assert_eq!(v["cards"], json!([]));
    assert!(!v.to_string().contains(SSN), "the full number never leaves: {v}");
    // Lowercase x is the same person.
    let (s, _) = app.op("GET", "/v1/persons/11010519491231002x", None).await;
    assert_eq!(s, StatusCode::OK);
    // A wrong check character is refused with the expected one.
    let (s, v) = app.op("POST", "/v1/persons", Some(json!({"ssn": "110105194912310021", "name": "李四", "ethnicity": "01", "category": "retired", "region": "beijing"}))).await;
    assert_problem(s, &v, 422, "invalid_ssn");
    assert!(v["detail"].as_str().unwrap().contains("should be 'X'"), "{v}");
    let (s, v) = app.op("POST", "/v1/persons", Some(json!({"ssn": "1101051949", "name": "李四", "ethnicity": "01", "category": "retired", "region": "beijing"}))).await;
    assert_problem(s, &v, 422, "invalid_ssn");
    assert!(v["detail"].as_str().unwrap().contains("18 characters"), "{v}");
    // A birth date after today (the test clock says 2026-03-02).
    let future = yikatong_service::demo::make_ssn("110105", "2026-05-01".parse().unwrap(), 12);
    let (s, v) = app.op("POST", "/v1/persons", Some(json!({"ssn": future, "name": "李四", "ethnicity": "01", "category": "in_service", "region": "beijing"}))).await;
    assert_problem(s, &v, 422, "invalid_ssn");
    assert!(v["detail"].as_str().unwrap().contains("future"), "{v}");
    // Duplicates are refused without a second row.
    let (s, v) = app.op("POST", "/v1/persons", Some(json!({"ssn": SSN, "name": "张三", "ethnicity": "01", "category": "in_service", "region": "beijing"}))).await;
    assert_problem(s, &v, 409, "already_exists");
    assert!(!v.to_string().contains(SSN));
    assert_eq!(app.db.store.count_persons().await.unwrap(), 1);
});

on_both_databases!(r_id_2_handbook_number_resolves_the_person, |db: TestDb| async move {
    let app = spawn_app(db).await;
    app.seed().await;
    let inst = app.token(json!({"role": "institution", "institution": "H1"})).await;
    let (s, v) = app.call("GET", "/v1/handbook-numbers/110105123S", Some(&inst), None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["ssn_masked"], "110105********002X");
    let (s, v) = app.call("GET", "/v1/handbook-numbers/1101051230", Some(&inst), None).await;
    assert_problem(s, &v, 422, "invalid_handbook_no");
});

on_both_databases!(bad_input_is_named_and_writes_nothing, |db: TestDb| async move {
    let app = spawn_app(db).await;
    app.seed().await;
    let res = app.client.post(format!("{}/v1/units", app.base)).bearer_auth(&app.operator).body("{\"code\": ").header("content-type", "application/json").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["code"], "invalid_body");
    let (s, v) = app.op("POST", "/v1/units", Some(json!({"code": "U3", "name": "x", "region": "beijing", "colour": "red"}))).await;
    assert_problem(s, &v, 400, "invalid_body");
    assert!(v["detail"].as_str().unwrap().contains("colour"), "{v}");
    let (s, v) = app.op("POST", "/v1/units", Some(json!({"code": "U3", "name": "x", "region": "atlantis"}))).await;
    assert_problem(s, &v, 422, "unknown_region");
    let (s, v) = app.op("POST", "/v1/institutions", Some(json!({"code": "H9", "name": "x", "region": "beijing", "level": "4"}))).await;
    assert_problem(s, &v, 422, "invalid_level");
    let (s, v) = app.op("POST", "/v1/persons", Some(json!({"ssn": "11010219900307123X", "name": "王五", "ethnicity": "99", "category": "in_service", "region": "beijing"}))).await;
    assert_problem(s, &v, 422, "invalid_ethnicity");
    let (s, v) = app
        .op(
            "POST",
            "/v1/persons",
            Some(json!({"ssn": "11010219900307123X", "name": "王五", "ethnicity": "01", "category": "in_service", "region": "beijing", "unit_code": "NOPE"})),
        )
        .await;
    assert_problem(s, &v, 404, "unit_not_found");
    assert_eq!(app.db.store.count_persons().await.unwrap(), 1);
    assert!(app.db.store.get_unit("U3").await.unwrap().is_none());
});

on_both_databases!(r_info_1_changes_are_dated_and_scoped_to_the_unit, |db: TestDb| async move {
    let app = spawn_app(db).await;
    app.seed().await;
    let unit1 = app.token(json!({"role": "unit", "unit": "U1"})).await;
    let unit2 = app.token(json!({"role": "unit", "unit": "U2"})).await;
    let (s, v) = app.call("POST", &format!("/v1/persons/{SSN}/changes"), Some(&unit1), Some(json!({"category": "retired", "effective_on": "2026-03-01"}))).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["fields"], json!(["category"]));
    assert_eq!(v["before"], json!({"category": "in_service"}));
    assert_eq!(v["person"]["category"], "retired");
    app.clock.set("2026-04-10T02:00:00Z".parse().unwrap());
    let (s, v) = app.call("POST", &format!("/v1/persons/{SSN}/changes"), Some(&unit1), Some(json!({"phone": "13900139000", "flags": ["special_disease"]}))).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["after"]["phone"], "139****9000");
    let (s, hist) = app.op("GET", &format!("/v1/persons/{SSN}/changes"), None).await;
    assert_eq!(s, StatusCode::OK);
    let hist = hist.as_array().unwrap().clone();
    assert_eq!(hist.len(), 2);
    assert_eq!(hist[0]["effective_on"], "2026-03-01");
    assert_eq!(hist[1]["effective_on"], "2026-04-10");
    assert!(hist[0]["actor"].as_str().unwrap().starts_with("unit:U1"));
    // Nothing to change: refused, nothing written.
    let (s, v) = app.call("POST", &format!("/v1/persons/{SSN}/changes"), Some(&unit1), Some(json!({"category": "retired"}))).await;
    assert_problem(s, &v, 422, "no_change");
    // Another unit neither sees nor changes this person.
    let (s, v) = app.call("GET", &format!("/v1/persons/{SSN}"), Some(&unit2), None).await;
    assert_problem(s, &v, 404, "person_not_found");
    let (s, v) = app.call("POST", &format!("/v1/persons/{SSN}/changes"), Some(&unit2), Some(json!({"category": "in_service"}))).await;
    assert_problem(s, &v, 404, "person_not_found");
    // A kiosk may look but not change.
    let kiosk = app.token(json!({"role": "kiosk"})).await;
    let (s, v) = app.call("POST", &format!("/v1/persons/{SSN}/changes"), Some(&kiosk), Some(json!({"category": "in_service"}))).await;
    assert_problem(s, &v, 403, "not_allowed_on_channel");
    assert_eq!(app.db.store.person_history(SSN).await.unwrap().len(), 2);
});

on_both_databases!(concurrent_changes_lose_nothing, |db: TestDb| async move {
    let app = Arc::new(spawn_app(db).await);
    app.seed().await;
    let mut tasks = Vec::new();
    for i in 0..8 {
        let app = app.clone();
        tasks.push(tokio::spawn(async move { app.op("POST", &format!("/v1/persons/{SSN}/changes"), Some(json!({"phone": format!("1390013900{i}")}))).await }));
    }
    let mut created = 0;
    for t in tasks {
        let (s, v) = t.await.unwrap();
        match s.as_u16() {
            201 => created += 1,
            409 => assert_eq!(v["code"], "concurrent_change", "{v}"),
            other => panic!("unexpected {other}: {v}"),
        }
    }
    assert!(created >= 1);
    let history = app.db.store.person_history(SSN).await.unwrap();
    assert_eq!(history.len(), created, "every accepted change is in the history, no other");
    let person = app.db.store.get_person(SSN).await.unwrap().unwrap();
    assert_eq!(person.version, 1 + created as i64);
});

on_both_databases!(holders_see_only_themselves, |db: TestDb| async move {
    let app = spawn_app(db).await;
    app.seed().await;
    let other = "11010219900307123X";
    let (s, _) = app.op("POST", "/v1/persons", Some(json!({"ssn": other, "name": "王五", "ethnicity": "01", "category": "in_service", "region": "beijing"}))).await;
    assert_eq!(s, StatusCode::CREATED);
    let holder = app.token(json!({"role": "holder", "person": SSN})).await;
    let (s, _) = app.call("GET", &format!("/v1/persons/{SSN}"), Some(&holder), None).await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = app.call("GET", &format!("/v1/persons/{other}"), Some(&holder), None).await;
    assert_problem(s, &v, 404, "person_not_found");
    let (s, v) = app.call("POST", "/v1/tokens", Some(&holder), Some(json!({"role": "operator"}))).await;
    assert_problem(s, &v, 403, "not_allowed_on_channel");
});

on_both_databases!(idempotency_key_makes_a_retry_safe, |db: TestDb| async move {
    let app = spawn_app(db).await;
    app.seed().await;
    let body = json!({"ssn": "11010219900307123X", "name": "王五", "ethnicity": "01", "category": "in_service", "region": "beijing"});
    let (s1, h1, v1) = app.call_full("POST", "/v1/persons", Some(&app.operator), Some(body.clone()), Some("k-1")).await;
    assert_eq!(s1, StatusCode::CREATED, "{v1}");
    assert!(h1.get("idempotent-replayed").is_none());
    let (s2, h2, v2) = app.call_full("POST", "/v1/persons", Some(&app.operator), Some(body.clone()), Some("k-1")).await;
    assert_eq!((s2, &v2), (StatusCode::CREATED, &v1), "the same answer again");
    assert_eq!(h2["idempotent-replayed"], "true");
    assert_eq!(app.db.store.count_persons().await.unwrap(), 2, "created once");
    let mut other = body.clone();
    other["name"] = json!("王六");
    let (s, _, v) = app.call_full("POST", "/v1/persons", Some(&app.operator), Some(other), Some("k-1")).await;
    assert_problem(s, &v, 422, "idempotency_key_reused");
    // A refusal is kept too: the same failing request gets the same refusal.
    let bad = json!({"ssn": "110102199003071232", "name": "王五", "ethnicity": "01", "category": "in_service", "region": "beijing"});
    let (s, _, v) = app.call_full("POST", "/v1/persons", Some(&app.operator), Some(bad.clone()), Some("k-2")).await;
    assert_problem(s, &v, 422, "invalid_ssn");
    let (s, h, v) = app.call_full("POST", "/v1/persons", Some(&app.operator), Some(bad), Some("k-2")).await;
    assert_problem(s, &v, 422, "invalid_ssn");
    assert_eq!(h["content-type"], "application/problem+json");
    assert_eq!(h["idempotent-replayed"], "true");
    // After 24 hours the key is forgotten: the same request runs again.
    app.clock.set("2026-03-03T02:00:01Z".parse().unwrap());
    let (s, h, v) = app
        .call_full(
            "POST",
            "/v1/persons",
            Some(&app.operator),
            Some(json!({"ssn": "110102199003071232", "name": "王五", "ethnicity": "01", "category": "in_service", "region": "beijing"})),
            Some("k-2"),
        )
        .await;
    assert_problem(s, &v, 422, "invalid_ssn");
    assert!(h.get("idempotent-replayed").is_none(), "an expired key does not replay");
    // Without a key, a retry is a duplicate.
    let (s, v) = app.op("POST", "/v1/persons", Some(body)).await;
    assert_problem(s, &v, 409, "already_exists");
});

on_both_databases!(policy_in_force_on_a_date, |db: TestDb| async move {
    let app = spawn_app(db).await;
    let (s, v) = app.call("GET", "/v1/policies/beijing?at=2024-03-01", None, None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["parameters"]["card.pre_loss_days"]["value"], 10);
    assert_eq!(v["parameters"]["card.pre_loss_days"]["unit"], "days");
    assert_eq!(v["parameters"]["outpatient.deductible.in_service"]["value"], 180000);
    assert_eq!(v["parameters"]["card.online_window.opens"]["value"], "06:00");
    assert!(v["parameters"]["card.replacement_fee"]["source"].as_str().unwrap().contains("20元"));
    let (_, v) = app.call("GET", "/v1/policies/jinan?at=2024-03-01", None, None).await;
    assert_eq!(v["parameters"]["card.pre_loss_days"]["value"], 7);
    // Before Hebei's values start, they are simply not in force.
    let (_, v) = app.call("GET", "/v1/policies/hebei?at=2024-03-01", None, None).await;
    assert!(v["parameters"].get("outpatient.deductible.level_1").is_none());
    // Without `at`, the test clock's today.
    let (_, v) = app.call("GET", "/v1/policies/beijing", None, None).await;
    assert_eq!(v["at"], "2026-03-02");
    let (s, v) = app.call("GET", "/v1/policies/atlantis?at=2024-03-01", None, None).await;
    assert_problem(s, &v, 404, "unknown_region");
    let (s, v) = app.call("GET", "/v1/policies/beijing?at=2024-13-01", None, None).await;
    assert_problem(s, &v, 422, "invalid_date");
});

on_both_databases!(r_cal_1_and_2_working_days_and_loading_a_year, |db: TestDb| async move {
    let app = spawn_app(db).await;
    let (s, v) = app.call("GET", "/v1/calendar/working-days?from=2026-09-28&days=15", None, None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["ready_on"], "2026-10-23");
    let (_, v) = app.call("GET", "/v1/calendar/days/2026-10-10", None, None).await;
    assert_eq!(v["working_day"], true);
    let (s, v) = app.call("GET", "/v1/calendar/days/2027-01-04", None, None).await;
    assert_problem(s, &v, 409, "calendar_year_missing");
    assert!(v["detail"].as_str().unwrap().contains("2027"));
    let year = "year = 2027\nsource = \"test notice\"\nholidays = [2027-01-01]\nworkdays = []\n";
    let clerk_outlet = json!({"code": "O1", "name": "网点", "region": "beijing"});
    app.op("POST", "/v1/outlets", Some(clerk_outlet)).await;
    let clerk = app.token(json!({"role": "clerk", "outlet": "O1"})).await;
    let put = |token: String, body: &'static str| {
        let req = app.client.put(format!("{}/v1/calendar/years/2027", app.base)).bearer_auth(token).body(body);
        async move { req.send().await.unwrap() }
    };
    assert_eq!(put(clerk, year).await.status(), StatusCode::FORBIDDEN);
    let bad = put(app.operator.clone(), "year = 2027\nsource = \"x\"\nholidays = []\nworkdays = [2027-01-05]\n").await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.text().await.unwrap().contains("not a weekend"));
    assert_eq!(put(app.operator.clone(), year).await.status(), StatusCode::OK);
    let (_, v) = app.call("GET", "/v1/calendar/days/2027-01-04", None, None).await;
    assert_eq!(v["working_day"], true);
    // The loaded year survives a restart.
    let again = Service::new(app.db.store.clone(), Arc::new(app.clock.clone()), PolicySet::shipped().unwrap()).await.unwrap();
    assert!(!again.is_working_day("2027-01-01".parse().unwrap()).unwrap());
    assert!(app.service.is_working_day("2027-01-04".parse().unwrap()).unwrap());
});

on_both_databases!(test_clock_only_with_the_flag, |db: TestDb| async move {
    let app = spawn_app(db).await;
    let (s, v) = app.call("PUT", "/v1/test/clock", None, Some(json!({"now": "2026-03-12T10:00:00+08:00"}))).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["now"], "2026-03-12T10:00:00+08:00");
    let (_, v) = app.call("GET", "/v1/test/clock", None, None).await;
    assert_eq!(v["now"], "2026-03-12T10:00:00+08:00");
    let (_, v) = app.call("GET", "/v1/policies/beijing", None, None).await;
    assert_eq!(v["at"], "2026-03-12");
    let (s, v) = app.call("PUT", "/v1/test/clock", None, Some(json!({"now": "yesterday"}))).await;
    assert_problem(s, &v, 400, "invalid_body");
    drop(app);
    let plain = spawn_app_with(TestDb::new(yikatong_store::testing::Backend::Sqlite).await, false).await;
    let (s, _) = plain.call("PUT", "/v1/test/clock", None, Some(json!({"now": "2026-03-12T10:00:00+08:00"}))).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
});

#[test]
fn openapi_document_has_not_drifted() {
    let generated = yikatong_http::document_json();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/openapi.json");
    if std::env::var("YKT_UPDATE_OPENAPI").is_ok() {
        std::fs::write(path, generated).unwrap();
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/openapi.json differs from the code's OpenAPI document; if the change is intended, run `YKT_UPDATE_OPENAPI=1 cargo nextest run -p yikatong-http openapi` and commit it"
    );
    let doc: Value = serde_json::from_str(generated).unwrap();
    for path in ["/v1/persons", "/v1/persons/{ssn}/changes", "/v1/policies/{region}", "/v1/test/clock", "/healthz", "/metrics"] {
        assert!(doc["paths"].get(path).is_some(), "{path} is documented");
    }
}

on_both_databases!(openapi_is_served, |db: TestDb| async move {
    let app = spawn_app(db).await;
    let (s, v) = app.call("GET", "/v1/openapi.json", None, None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v, serde_json::from_str::<Value>(yikatong_http::document_json()).unwrap());
});

// The same Idempotency-Key sent four times at once: the work runs once, and every
// caller gets the first answer (the claim is taken in the work's transaction, so the
// others wait for it instead of running or being told "in progress").
on_both_databases!(concurrent_requests_with_one_idempotency_key_run_once_and_share_the_answer, |db: TestDb| async move {
    let app = Arc::new(spawn_app(db).await);
    app.seed().await;
    let body = json!({"ssn": "11010219900307123X", "name": "王五", "ethnicity": "01", "category": "in_service", "region": "beijing"});
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let (app, body) = (app.clone(), body.clone());
        tasks.push(tokio::spawn(async move { app.call_full("POST", "/v1/persons", Some(&app.operator), Some(body), Some("same-key")).await }));
    }
    let mut answers = Vec::new();
    for t in tasks {
        let (status, headers, v) = t.await.unwrap();
        assert_eq!(status, StatusCode::CREATED, "{v}");
        answers.push((v, headers.get("idempotent-replayed").is_some()));
    }
    assert!(answers.iter().all(|(v, _)| *v == answers[0].0), "one answer for all");
    assert_eq!(answers.iter().filter(|(_, replayed)| !replayed).count(), 1, "the work ran once");
    assert_eq!(app.db.store.count_persons().await.unwrap(), 2);
});

// More requests with Idempotency-Keys at once than the pool has connections: each holds
// its transaction until its answer is kept, and none reads through a second pooled
// connection meanwhile, so none waits on the others' connections (both databases).
on_both_databases!(more_keyed_requests_at_once_than_pooled_connections_all_finish, |db: TestDb| async move {
    let app = Arc::new(spawn_app(db).await);
    app.seed().await;
    let started = std::time::Instant::now();
    let mut tasks = Vec::new();
    for i in 0..24 {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            let body = json!({"amount_fen": 100 + i, "reason": "transfer from Tianjin", "kind": "transfer_in"});
            app.call_full("POST", &format!("/v1/persons/{SSN}/account/credits"), Some(&app.operator), Some(body), Some(&format!("credit-{i}"))).await
        }));
    }
    for t in tasks {
        let (status, _, v) = t.await.unwrap();
        assert_eq!(status, StatusCode::CREATED, "{v}");
    }
    assert!(started.elapsed() < std::time::Duration::from_secs(20), "no request waited on a pool timeout: {:?}", started.elapsed());
    let account = app.ok("GET", &format!("/v1/persons/{SSN}/account"), &app.operator, None).await;
    assert_eq!(account["balance_fen"], (0..24).map(|i| 100 + i).sum::<i64>());
});

// What schemathesis found, kept as tests: axum's own rejections of a path or query are
// problem+json like every refusal, and an id at the edge of i64 is not a 500.
on_both_databases!(malformed_paths_and_queries_are_problems_and_edge_ids_never_a_server_error, |db: TestDb| async move {
    let app = spawn_app(db).await;
    for (method, path) in [
        ("DELETE", "/v1/tokens/9223372036854775808"),
        ("GET", "/v1/calendar/working-days?from="),
        ("POST", "/v1/messages/-9223372036854775808/sent"),
        ("GET", "/v1/messages?after=-1"),
    ] {
        let req = app.client.request(method.parse().unwrap(), format!("{}{path}", app.base)).bearer_auth(&app.operator);
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        assert!((400..500).contains(&status), "{method} {path}: {status}");
        assert_eq!(res.headers()["content-type"], "application/problem+json", "{method} {path}");
        let v: Value = res.json().await.unwrap();
        assert!(v["code"].is_string() && v["status"] == status, "{v}");
    }
});
