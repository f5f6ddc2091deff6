//! Holder sign-in on the web (SPEC §8, R-PWD-1), portal sessions and CSRF tokens, over
//! real HTTP on both databases.

use serde_json::{Value, json};
use yikatong_store::on_both_databases;
use yikatong_store::testing::TestDb;

use super::cards::start;
use super::portal::OWN_PASSWORD;
use super::{SSN, TestApp};

/// The phone the seeded holder has on record.
const PHONE: &str = "13800138000";

impl TestApp {
    /// The messages queued for the SMS gateway, as the gateway reads them.
    async fn messages(&self) -> Vec<Value> {
        self.ok("GET", "/v1/messages?unsent=false", &self.operator, None).await.as_array().unwrap().clone()
    }

    /// Asks for a sign-in code on the sign-in page; answers the status and the page.
    async fn ask_code(&self, ssn: &str) -> (u16, String) {
        let (status, _, page) = self.post_form("/holder/sign-in/code", "", &[("ssn", ssn)]).await;
        (status, page)
    }

    async fn code_sign_in(&self, code: &str) -> (u16, Option<String>, String) {
        self.post_form("/holder/sign-in", "", &[("ssn", SSN), ("code", code)]).await
    }

    /// A raw form post without following redirects: status, `Set-Cookie`, `Location`.
    async fn raw_post(&self, path: &str, headers: &[(&str, &str)], body: String) -> (u16, Option<String>, Option<String>) {
        let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let mut req = client.post(format!("{}{path}", self.base)).header("content-type", "application/x-www-form-urlencoded").body(body);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let res = req.send().await.unwrap();
        let header = |name: &str| res.headers().get(name).map(|v| v.to_str().unwrap().to_string());
        (res.status().as_u16(), header("set-cookie"), header("location"))
    }

    /// Whether the page at `path` is served to this session (not the sign-in).
    async fn in_session(&self, path: &str, cookie: &str) -> bool {
        let (status, page) = self.page(path, cookie).await;
        status == 200 && !page.contains("data-sign-in")
    }
}

/// The six-digit code in a message.
fn code_in(text: &str) -> String {
    let digits: Vec<char> = text.chars().collect();
    digits.windows(6).find(|w| w.iter().all(char::is_ascii_digit)).map_or_else(|| panic!("no code in {text}"), |w| w.iter().collect())
}

on_both_databases!(r_pwd_1_the_web_refuses_the_initial_password_and_signs_in_with_the_holders_own, |db: TestDb| async move {
    let (app, r) = start(db).await;
    let id = app.active_card(&r, false).await;
    // The initial password, though right, does not sign in on the web.
    let (status, cookie, page) = app.post_form("/holder/sign-in", "", &[("ssn", SSN), ("password", &SSN[12..])]).await;
    assert_eq!((status, cookie), (401, None), "{page}");
    assert!(page.contains("initial_password_not_for_web") && page.contains("96102"), "{page}");
    // It still serves the kiosk, as the seed says.
    let res = app.client.get(format!("{}/v1/cards/{id}", app.base)).bearer_auth(&r.kiosk).header("x-query-password", &SSN[12..]).send().await.unwrap();
    assert_eq!(res.status(), 200);
    // Changed at the kiosk, the holder's own password signs in.
    app.own_password(&r, id, OWN_PASSWORD).await;
    let (status, cookie, _) = app.post_form("/holder/sign-in", "", &[("ssn", SSN), ("password", OWN_PASSWORD)]).await;
    assert_eq!(status, 303);
    assert!(app.in_session("/holder", &cookie.unwrap()).await);
});

on_both_databases!(r_pwd_1_a_code_sent_to_the_phone_signs_in_once_and_wrong_codes_count_toward_the_lock, |db: TestDb| async move {
    let (app, r) = start(db).await;
    let id = app.active_card(&r, false).await;
    // A code goes to the phone on record, in a message without a link.
    let (status, page) = app.ask_code(SSN).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("id=\"code\"") && page.contains("没有任何链接"), "{page}");
    let sent = app.messages().await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!((sent[0]["phone"].as_str(), sent[0]["purpose"].as_str()), (Some(PHONE), Some("sign_in_code")));
    let body = sent[0]["body"].as_str().unwrap();
    yikatong_core::message::check_no_link(body).unwrap();
    let code = code_in(body);
    // A stranger's ID number gets the same answer and sends nothing.
    let stranger = yikatong_service::demo::make_ssn("110105", "1981-01-01".parse().unwrap(), 33);
    let (status, other) = app.ask_code(&stranger).await;
    assert_eq!(status, 200);
    assert_eq!(other.replace(&stranger, SSN), page, "the answer does not tell who is insured");
    assert_eq!(app.messages().await.len(), 1);
    // Asking again at once is refused; the code stays the one sent.
    let (status, again) = app.ask_code(SSN).await;
    assert!(status >= 400 && again.contains("code_sent_recently"), "{status} {again}");
    // A wrong code is refused and counted; the right one signs in, once.
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let (status, cookie, refused) = app.code_sign_in(wrong).await;
    assert_eq!((status, cookie), (401, None));
    assert!(refused.contains("wrong_code") && refused.contains("tries left"), "{refused}");
    let (status, cookie, _) = app.code_sign_in(&code).await;
    assert_eq!(status, 303);
    assert!(app.in_session("/holder", &cookie.unwrap()).await);
    let (status, _, used) = app.code_sign_in(&code).await;
    assert_eq!(status, 401, "a code signs in once: {used}");
    // A code is valid five minutes.
    app.set_now("2026-03-02T10:10:00+08:00").await;
    app.ask_code(SSN).await;
    let late = code_in(app.messages().await.last().unwrap()["body"].as_str().unwrap());
    app.set_now("2026-03-02T10:15:01+08:00").await;
    let (status, _, expired) = app.code_sign_in(&late).await;
    assert!(status == 401 && expired.contains("wrong_code"), "{expired}");
    // Wrong codes count toward the card's daily lock like wrong passwords: once locked,
    // neither a right code nor the right password signs in, and no new code is sent.
    let mut locked = String::new();
    for _ in 0..10 {
        let (_, _, page) = app.code_sign_in(wrong).await;
        if page.contains("password_locked") {
            locked = page;
            break;
        }
    }
    assert!(!locked.is_empty(), "wrong codes end in the lock");
    app.own_password_when_locked_is_refused(&r, id).await;
    let (status, page) = app.ask_code(SSN).await;
    assert!(status >= 400 && page.contains("password_locked"), "{page}");
});

impl TestApp {
    /// While locked, the kiosk cannot check the password either.
    async fn own_password_when_locked_is_refused(&self, r: &crate::cards::Roles, id: i64) {
        let (s, v) = self.call("PUT", &format!("/v1/cards/{id}/password"), Some(&r.kiosk), Some(json!({"old": &SSN[12..], "new": OWN_PASSWORD}))).await;
        assert_eq!((s.as_u16(), v["code"].as_str()), (409, Some("password_locked")), "{v}");
    }
}

on_both_databases!(portal_sessions_end_after_fifteen_idle_minutes_eight_hours_in_all_and_at_sign_out, |db: TestDb| async move {
    let (app, r) = start(db).await;
    // The cookie: a random id, HttpOnly, SameSite=Strict, the part's path; Secure over TLS.
    let form = format!("token={}", r.holder);
    let (status, cookie, location) = app.raw_post("/holder/sign-in", &[], form.clone()).await;
    assert_eq!((status, location.as_deref()), (303, Some("/holder")));
    let set = cookie.unwrap();
    assert!(set.contains("HttpOnly") && set.contains("SameSite=Strict") && set.contains("Path=/holder") && !set.contains("Secure"), "{set}");
    let id = set.split(';').next().unwrap().trim_start_matches("ykt_holder=").to_string();
    assert!(id.len() == 64 && !id.contains(&r.holder), "the cookie holds a random id, not the token");
    let (_, tls, _) = app.raw_post("/holder/sign-in", &[("x-forwarded-proto", "https")], form).await;
    assert!(tls.unwrap().contains("; Secure"));
    let cookie = format!("ykt_holder={id}");
    // Fifteen minutes without a request end it; each request starts the fifteen again.
    for at in ["10:14:00", "10:28:00", "10:42:59"] {
        app.set_now(&format!("2026-03-02T{at}+08:00")).await;
        assert!(app.in_session("/holder", &cookie).await, "active at {at}");
    }
    app.set_now("2026-03-02T10:58:00+08:00").await;
    assert!(!app.in_session("/holder", &cookie).await, "fifteen idle minutes end the session");
    // Eight hours end it however busy it is.
    let busy = app.post_form("/holder/sign-in", "", &[("token", &r.holder)]).await.1.unwrap();
    let start = chrono::DateTime::parse_from_rfc3339("2026-03-02T10:58:00+08:00").unwrap();
    for step in 1..=34 {
        app.set_now(&(start + chrono::Duration::minutes(14 * step)).to_rfc3339()).await;
        assert!(app.in_session("/holder", &busy).await, "busy at step {step}");
    }
    app.set_now(&(start + chrono::Duration::hours(8)).to_rfc3339()).await;
    assert!(!app.in_session("/holder", &busy).await, "eight hours end the session");
    // Sign-out ends it at once; the bearer token it was opened with stays the holder's.
    let cookie = app.post_form("/holder/sign-in", "", &[("token", &r.holder)]).await.1.unwrap();
    app.post_form("/holder/sign-out", &cookie, &[]).await;
    assert!(!app.in_session("/holder", &cookie).await);
    let (status, _) = app.call("GET", &format!("/v1/persons/{SSN}"), Some(&r.holder), None).await;
    assert_eq!(status, 200);
    // A page asked for without a session comes back after the sign-in.
    let res = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap().get(format!("{}/holder/account", app.base)).send().await.unwrap();
    assert_eq!(res.headers()["location"], "/holder/sign-in?next=/holder/account");
    let (_, _, location) = app.raw_post("/holder/sign-in", &[], format!("token={}&next=/holder/account", r.holder)).await;
    assert_eq!(location.as_deref(), Some("/holder/account"));
    let (_, _, elsewhere) = app.raw_post("/holder/sign-in", &[], format!("token={}&next=https://example.org/", r.holder)).await;
    assert_eq!(elsewhere.as_deref(), Some("/holder"), "never to another site");
});

on_both_databases!(portal_forms_that_change_state_need_the_sessions_csrf_token, |db: TestDb| async move {
    let (app, r) = start(db).await;
    let id = app.active_card(&r, false).await;
    let clerk = app.post_form("/outlet/sign-in", "", &[("token", &r.clerk)]).await.1.unwrap();
    let other = app.post_form("/outlet/sign-in", "", &[("token", &r.clerk)]).await.1.unwrap();
    let path = format!("/outlet/cards/{id}/pre-loss");
    // Without the token, or with another session's, nothing is done.
    let (status, _, page) = app.post_form_as_is(&path, &clerk, &[]).await;
    assert_eq!(status, 403);
    assert!(page.contains("csrf_token_invalid"), "{page}");
    let foreign = app.csrf_of("/outlet", &other).await;
    let (status, _, _) = app.post_form_as_is(&path, &clerk, &[("csrf", &foreign)]).await;
    assert_eq!(status, 403);
    assert_eq!(app.card(id).await["state"], "active", "a forged form changes nothing");
    // With it, the pre-loss is done.
    let (status, _, slip) = app.post_form(&path, &clerk, &[]).await;
    assert_eq!(status, 200, "{slip}");
    assert_eq!(app.card(id).await["state"], "pre_lost");
    // A multipart upload carries it as its first field.
    let unit = app.post_form("/unit/sign-in", "", &[("token", &r.unit)]).await.1.unwrap();
    let csv = "ssn,name,phone\n".to_string();
    let upload = |csrf: Option<String>| {
        let mut form = reqwest::multipart::Form::new();
        if let Some(t) = csrf {
            form = form.text("csrf", t);
        }
        let form = form.part("file", reqwest::multipart::Part::bytes(csv.clone().into_bytes()).file_name("a.csv"));
        app.client.post(format!("{}/unit/applications", app.base)).header("cookie", &unit).multipart(form).send()
    };
    assert_eq!(upload(None).await.unwrap().status(), 403);
    let token = app.csrf_of("/unit", &unit).await;
    let res = upload(Some(token)).await.unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
});
