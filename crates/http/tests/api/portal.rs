//! The portal: click-throughs in headless Chromium (screenshots to `target/screenshots/`)
//! and the same pages without JavaScript, on both databases.

use serde_json::json;
use yikatong_store::on_both_databases;
use yikatong_store::testing::TestDb;

use super::cards::start;
use super::webdriver::Browser;
use super::{SSN, TestApp};

/// A query password of the holder's own (the initial one does not sign in on the web).
pub const OWN_PASSWORD: &str = "864209";

impl TestApp {
    /// The holder changes the initial query password at a kiosk (R-PWD-1).
    pub(crate) async fn own_password(&self, r: &crate::cards::Roles, id: i64, new: &str) {
        let (s, v) = self.call("PUT", &format!("/v1/cards/{id}/password"), Some(&r.kiosk), Some(json!({"old": &SSN[12..], "new": new}))).await;
        assert!(s.is_success(), "{v}");
    }

    /// Signs in to a part with a token (the sign-in page's second form).
    async fn sign_in_with_token(&self, b: &Browser, part: &str, token: &str) {
        b.goto(&format!("{}/{part}", self.base)).await;
        assert!(b.url().await.ends_with(&format!("/{part}/sign-in")), "a page without a session leads to the sign-in");
        b.type_into("#token", token).await;
        b.click("#token-sign-in").await;
    }

    /// A page fetched without a browser, with a session cookie.
    pub async fn page(&self, path: &str, cookie: &str) -> (u16, String) {
        let res = self.client.get(format!("{}{path}", self.base)).header("cookie", cookie).send().await.unwrap();
        (res.status().as_u16(), res.text().await.unwrap())
    }

    /// The CSRF token of the session `cookie`, as its part's first page carries it.
    pub async fn csrf_of(&self, path: &str, cookie: &str) -> String {
        let part = path.trim_start_matches('/').split('/').next().unwrap();
        let (_, page) = self.page(&format!("/{part}"), cookie).await;
        page.split("name=\"csrf\" value=\"").nth(1).unwrap_or_else(|| panic!("no CSRF token on /{part}: {page}")).split('"').next().unwrap().to_string()
    }

    /// A form posted without a browser (with the session's CSRF token when there is a
    /// session); answers the status, the Set-Cookie and the body.
    pub async fn post_form(&self, path: &str, cookie: &str, form: &[(&str, &str)]) -> (u16, Option<String>, String) {
        let mut form = form.to_vec();
        let csrf = if cookie.is_empty() { String::new() } else { self.csrf_of(path, cookie).await };
        if !cookie.is_empty() {
            form.insert(0, ("csrf", &csrf));
        }
        self.post_form_as_is(path, cookie, &form).await
    }

    /// A form posted exactly as given (no CSRF token added).
    pub async fn post_form_as_is(&self, path: &str, cookie: &str, form: &[(&str, &str)]) -> (u16, Option<String>, String) {
        let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let body: String = form.iter().map(|(k, v)| format!("{k}={}", url_encode(v))).collect::<Vec<_>>().join("&");
        let res = client.post(format!("{}{path}", self.base)).header("cookie", cookie).header("content-type", "application/x-www-form-urlencoded").body(body).send().await.unwrap();
        let cookie = res.headers().get("set-cookie").map(|v| v.to_str().unwrap().split(';').next().unwrap().to_string());
        (res.status().as_u16(), cookie, res.text().await.unwrap())
    }
}

/// The text of HTML with the escapes askama writes undone.
fn unescape(html: &str) -> String {
    html.replace("&#x27;", "'").replace("&#39;", "'").replace("&quot;", "\"").replace("&#34;", "\"").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
}

pub fn url_encode(s: &str) -> String {
    s.bytes().map(|b| if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

on_both_databases!(portal_a_holder_reports_a_pre_loss_in_the_browser_and_sees_it_lift_ten_days_later, |db: TestDb| async move {
    let (app, r) = start(db).await;
    let id = app.active_card(&r, false).await;
    let b = Browser::start().await;
    b.goto(&format!("{}/", app.base)).await;
    assert_eq!(b.tab_to(1).await, "跳到正文 Skip to the content", "the first key press reaches the skip link");
    b.screenshot("landing").await;
    b.goto(&format!("{}/holder", app.base)).await;
    // A wrong password is refused with the API's words and counted.
    b.type_into("#ssn", SSN).await;
    b.type_into("#password", "000000").await;
    b.click("#sign-in").await;
    b.wait_for_text("wrong_password").await;
    b.screenshot("holder-sign-in-refused").await;
    // The initial query password (the ID number's last six characters, R-PWD-1) does
    // not sign in on the web; the holder changes it at a kiosk first.
    b.type_into("#ssn", SSN).await;
    b.type_into("#password", &SSN[12..]).await;
    b.click("#sign-in").await;
    b.wait_for_text("initial_password_not_for_web").await;
    app.own_password(&r, id, OWN_PASSWORD).await;
    b.type_into("#ssn", SSN).await;
    b.type_into("#password", OWN_PASSWORD).await;
    b.click("#sign-in").await;
    b.wait_for_text("我的社保卡").await;
    assert!(b.text(&format!("#card-{id} .state")).await.contains("active"));
    b.screenshot("holder-cards").await;
    // The pre-loss by keyboard alone: Tab to the link, Enter, Tab to the button, Enter.
    b.tab_until(&format!("pre-loss-{id}")).await;
    b.press_enter().await;
    b.wait_for_text("确认对这张卡预挂失吗").await;
    b.screenshot("holder-confirm-pre-loss").await;
    b.tab_until("confirm").await;
    b.press_enter().await;
    let slip = b.wait_for_text("已预挂失").await;
    assert!(slip.contains("2026-03-12 10:00"), "R-LOSS-2: lifts ten calendar days later, to the minute: {slip}");
    b.screenshot("holder-pre-loss-slip").await;
    b.click("#next").await;
    b.wait_for_text("预挂失至").await;
    assert!(b.text(&format!("#card-{id} .state")).await.contains("pre_lost"));
    // Ten days on, the pre-loss has lifted by itself.
    // Ten days on, the session has long expired (15 minutes idle): signing in again
    // returns to the page asked for.
    app.set_now("2026-03-12T10:00:00+08:00").await;
    b.goto(&format!("{}/holder/account", app.base)).await;
    b.wait_for_text("登录 Sign in").await;
    b.type_into("#ssn", SSN).await;
    b.type_into("#password", OWN_PASSWORD).await;
    b.click("#sign-in").await;
    b.wait_for_text("余额").await;
    b.goto(&format!("{}/holder", app.base)).await;
    b.wait_for_text("我的社保卡").await;
    assert!(b.text(&format!("#card-{id} .state")).await.contains("active"), "{}", b.body_text().await);
    b.screenshot("holder-cards-after-ten-days").await;
    b.click("a[href='/holder/account']").await;
    b.wait_for_text("余额").await;
    b.screenshot("holder-account").await;
});

on_both_databases!(portal_a_clerk_reports_a_formal_loss_and_prints_the_certificate, |db: TestDb| async move {
    let (app, r) = start(db).await;
    let id = app.active_card(&r, false).await;
    let b = Browser::start().await;
    app.sign_in_with_token(&b, "outlet", &r.clerk).await;
    b.type_into("#q", SSN).await;
    b.click("#find").await;
    let found = b.wait_for_text("社保卡 Cards").await;
    assert!(found.contains("110105********002X") && !found.contains(SSN), "the person is shown masked: {found}");
    b.screenshot("outlet-person").await;
    b.click(&format!("#formal-loss-{id}")).await;
    b.wait_for_text("确认正式挂失并补卡吗").await;
    b.screenshot("outlet-confirm-formal-loss").await;
    b.click("#confirm").await;
    let slip = b.wait_for_text("办理完成").await;
    assert!(slip.contains("补换卡费") && slip.contains("临时凭证"), "{slip}");
    b.screenshot("outlet-formal-loss-slip").await;
    b.click("#next").await;
    b.wait_for_text("社会保障卡临时凭证").await;
    let number = b.text("#certificate-number").await;
    let card = app.card(id).await;
    assert_eq!(card["state"], "lost");
    let replacement =
        app.ok("GET", &format!("/v1/persons/{SSN}"), &app.operator, None).await["cards"].as_array().unwrap().iter().find(|c| c["replaces"] == json!(id)).unwrap().clone();
    assert_eq!(replacement["certificate"]["number"].as_str(), Some(number.as_str()));
    assert_eq!(b.text("#ready-on").await, replacement["certificate"]["ready_on"].as_str().unwrap());
    b.screenshot("outlet-certificate").await;
    // Doing it again is refused with the API's message.
    b.goto(&format!("{}/outlet/cards/{id}/formal-loss", app.base)).await;
    b.click("#confirm").await;
    b.wait_for_text("代码 code").await;
    b.screenshot("outlet-refusal").await;
});

on_both_databases!(portal_a_unit_uploads_a_file_with_a_bad_row_and_sees_it_by_line, |db: TestDb| async move {
    let (app, r) = start(db).await;
    let b = Browser::start().await;
    app.sign_in_with_token(&b, "unit", &r.unit).await;
    b.wait_for_text("批量申领").await;
    b.screenshot("unit-home").await;
    let dir = std::env::temp_dir().join(format!("ykt-portal-{}-{:?}", std::process::id(), app.db.backend));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("申领.csv");
    std::fs::write(&file, format!("公民身份号码,姓名,联系电话,金融卡\n{SSN},张三,13800138000,否\n110105194912310021,李四,,否\n")).unwrap();
    b.choose_file("#file", &file).await;
    b.click("#upload").await;
    b.wait_for_text("未受理的行").await;
    assert_eq!(b.text("#accepted").await, "1");
    let refusals = b.text("#refusals").await;
    assert!(refusals.contains('3') && refusals.contains("invalid_ssn"), "{refusals}");
    b.screenshot("unit-report").await;
    b.click("a[href='/unit']").await;
    let list = b.wait_for_text("人员制卡情况").await;
    assert!(list.contains("办理中 in progress"), "{list}");
    b.screenshot("unit-people").await;
    let _ = std::fs::remove_dir_all(&dir);
});

on_both_databases!(portal_pages_work_without_javascript_and_refuse_as_the_api_does, |db: TestDb| async move {
    let (app, r) = start(db).await;
    let id = app.active_card(&r, false).await;
    // No session: every part leads to its sign-in.
    for part in ["holder", "unit", "outlet", "operator"] {
        let res = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap().get(format!("{}/{part}", app.base)).send().await.unwrap();
        assert_eq!((res.status().as_u16(), res.headers()["location"].to_str().unwrap()), (303, format!("/{part}/sign-in").as_str()));
    }
    // A part takes only its own role's token.
    let (status, _, body) = app.post_form("/outlet/sign-in", "", &[("token", &r.unit)]).await;
    assert_eq!(status, 401);
    assert!(body.contains("这个令牌不能用于网点柜台"));
    let (status, cookie, _) = app.post_form("/outlet/sign-in", "", &[("token", &r.clerk)]).await;
    assert_eq!(status, 303);
    let cookie = cookie.unwrap();
    assert!(cookie.starts_with("ykt_outlet="));
    // A pre-loss through plain forms: confirmation page, then the slip.
    let (status, page) = app.page(&format!("/outlet/cards/{id}/pre-loss"), &cookie).await;
    assert_eq!(status, 200);
    assert!(page.contains(&format!("action=\"/outlet/cards/{id}/pre-loss\"")) && page.contains("110105********002X"));
    let (status, _, slip) = app.post_form(&format!("/outlet/cards/{id}/pre-loss"), &cookie, &[]).await;
    assert_eq!(status, 200, "{slip}");
    assert!(slip.contains("预挂失 Pre-loss") && slip.contains("2026-03-12 10:00"));
    // The same request again: the page answers with the API's status, code and message.
    let (api_status, problem) = app.call("POST", &format!("/v1/cards/{id}/pre-loss"), Some(&r.clerk), Some(json!({}))).await;
    let (status, _, refused) = app.post_form(&format!("/outlet/cards/{id}/pre-loss"), &cookie, &[]).await;
    assert_eq!(status, api_status.as_u16());
    assert!(refused.contains(problem["code"].as_str().unwrap()), "{refused}");
    assert!(unescape(&refused).contains(problem["detail"].as_str().unwrap()), "{refused}\n{problem}");
    // Pages never show a full ID number; the card number search finds the same person.
    let (_, found) = app.page(&format!("/outlet?q={SSN}"), &cookie).await;
    assert!(!found.contains(SSN) && found.contains("110105********002X"));
    let number = app.card(id).await["card_number"].as_str().unwrap().to_string();
    let (_, by_number) = app.page(&format!("/outlet?q={number}"), &cookie).await;
    assert!(by_number.contains(&format!("id=\"card-{id}\"")));
    // The operator's pages: audit verification and the policy in force on a date.
    let (_, cookie, _) = app.post_form("/operator/sign-in", "", &[("token", &app.operator)]).await;
    let cookie = cookie.unwrap();
    let (_, overview) = app.page("/operator?verify=1", &cookie).await;
    assert!(overview.contains("完好 intact"), "{overview}");
    let (_, policy) = app.page("/operator/policy?region=beijing&at=2026-03-02", &cookie).await;
    assert!(policy.contains("card.pre_loss_days") && policy.contains("10 days"), "{policy}");
    let (status, bad) = app.page("/operator/policy?region=beijing&at=yesterday", &cookie).await;
    assert_eq!(status, 422);
    assert!(bad.contains("invalid_date"));
    // R-CAL-2: from the day a replacement's ready date could fall in a year the calendar
    // lacks, every operator page says which year to load.
    assert!(!overview.contains("class=\"warning\""), "no warning in March");
    app.set_now("2026-12-01T10:00:00+08:00").await;
    let cookie = app.post_form("/operator/sign-in", "", &[("token", &app.operator)]).await.1.unwrap();
    let (_, overview) = app.page("/operator", &cookie).await;
    assert!(overview.contains("class=\"warning\"") && overview.contains("2027"), "{overview}");
    // R-SET-12: the operator sees how many holders have no recorded designated choice.
    let designated = overview.split("id=\"designated\"").nth(1).unwrap();
    assert!(designated.contains("<td>beijing</td><td>1</td><td>0</td><td>1</td><td>是 yes</td>"), "{designated}");
    // R-EVT-2: each party that takes card notices, by name, with its backlog; served
    // without a broker, nothing has left the database.
    let parties = overview.split("id=\"parties\"").nth(1).unwrap();
    for party in ["transit operator", "park-pass operator", "card-issuing bank"] {
        assert!(parties.contains(party), "{party} in {parties}");
    }
    assert!(parties.contains("<td>none</td>"), "{parties}");
    let (_, policy) = app.page("/operator/policy?region=beijing&at=2026-12-01", &cookie).await;
    assert!(policy.contains("class=\"warning\""), "on every operator page");
    // The htmx file is served by the binary itself.
    let (status, js) = app.page("/static/htmx.min.js", "").await;
    assert_eq!(status, 200);
    assert!(js.starts_with("var htmx="));
    // The holder's sign-in answers alike for an unknown ID number and a person without a card.
    let stranger = yikatong_service::demo::make_ssn("110105", "1981-01-01".parse().unwrap(), 33);
    app.ok(
        "POST",
        "/v1/persons",
        &app.operator,
        Some(json!({"ssn": crate::cards::OTHER, "name": "王五", "ethnicity": "01", "category": "in_service", "region": "beijing", "unit_code": "U1"})),
    )
    .await;
    let (unknown_status, _, unknown) = app.post_form("/holder/sign-in", "", &[("ssn", &stranger), ("password", "123456")]).await;
    let (cardless_status, _, cardless) = app.post_form("/holder/sign-in", "", &[("ssn", crate::cards::OTHER), ("password", "123456")]).await;
    assert_eq!((unknown_status, cardless_status), (401, 401));
    assert_eq!(unknown, cardless, "the sign-in does not tell who is insured");
    // A holder's sign-out ends the session and revokes the token it acted with.
    app.own_password(&r, id, OWN_PASSWORD).await;
    let (_, cookie, _) = app.post_form("/holder/sign-in", "", &[("ssn", SSN), ("password", OWN_PASSWORD)]).await;
    let cookie = cookie.unwrap();
    assert_eq!(app.page("/holder", &cookie).await.0, 200);
    app.post_form("/holder/sign-out", &cookie, &[]).await;
    assert!(app.page("/holder", &cookie).await.1.contains("id=\"sign-in\""), "the session has ended: its page leads to the sign-in");
    let tokens = app.service.list_tokens().await.unwrap();
    let made = tokens.iter().filter(|t| t.grant.label == yikatong_service::SIGN_IN_TOKEN_LABEL).collect::<Vec<_>>();
    assert!(!made.is_empty() && made.iter().all(|t| t.revoked_at.is_some()), "the sign-in's token is revoked on sign-out");
});

on_both_databases!(portal_counter_operations_go_through_confirmation_to_a_slip, |db: TestDb| async move {
    let (app, r) = start(db).await;
    let id = app.produced_card(&r, SSN, false).await;
    let (_, cookie, _) = app.post_form("/outlet/sign-in", "", &[("token", &r.clerk)]).await;
    let cookie = cookie.unwrap();
    // Hand-over at the counter checks the ID card read against the holder (R-DIST-1).
    let (_, found) = app.page(&format!("/outlet?q={SSN}"), &cookie).await;
    assert!(found.contains(&format!("id=\"hand-over-{id}\"")), "{found}");
    let (status, confirm) = app.page(&format!("/outlet/cards/{id}/hand-over"), &cookie).await;
    assert_eq!(status, 200);
    assert!(confirm.contains("name=\"holder_ssn\"") && confirm.contains("<label for=\"f-holder_ssn\">"));
    let other = yikatong_service::demo::make_ssn("110105", "1980-01-01".parse().unwrap(), 31);
    let (status, _, refused) = app.post_form(&format!("/outlet/cards/{id}/hand-over"), &cookie, &[("holder_ssn", &other)]).await;
    assert!(status >= 400, "{refused}");
    let (status, _, slip) = app.post_form(&format!("/outlet/cards/{id}/hand-over"), &cookie, &[("holder_ssn", SSN)]).await;
    assert_eq!(status, 200, "{slip}");
    assert!(slip.contains("发卡 Hand-over") && slip.contains("issued"), "{slip}");
    app.ok("POST", &format!("/v1/cards/{id}/activation"), &r.institution, Some(json!({"zone": "social"}))).await;
    // A password reset at the counter; the holder then signs in with the new one.
    let (status, _, slip) = app.post_form(&format!("/outlet/cards/{id}/password-reset"), &cookie, &[("new_password", "246810")]).await;
    assert_eq!(status, 200, "{slip}");
    let (status, _, _) = app.post_form("/holder/sign-in", "", &[("ssn", SSN), ("password", "246810")]).await;
    assert_eq!(status, 303, "the new password signs the holder in");
    // An exchange: fee, certificate, and a reprint that is counted.
    let (status, _, slip) = app.post_form(&format!("/outlet/cards/{id}/exchange"), &cookie, &[("reason", "芯片损坏"), ("delivery", "outlet")]).await;
    assert_eq!(status, 200, "{slip}");
    assert!(slip.contains("换卡 Exchange") && slip.contains("/outlet/certificates/"), "{slip}");
    let number = slip.split("/outlet/certificates/").nth(1).unwrap().split('"').next().unwrap().to_string();
    let prints = |page: &str| page.split("已打印 Printed ").nth(1).unwrap().split(' ').next().unwrap().parse::<u32>().unwrap();
    let (_, certificate) = app.page(&format!("/outlet/certificates/{number}"), &cookie).await;
    let (status, _, reprinted) = app.post_form(&format!("/outlet/certificates/{number}/reprint"), &cookie, &[]).await;
    assert_eq!(status, 200, "{reprinted}");
    assert_eq!(prints(&reprinted), prints(&certificate) + 1);
    // An operation the counter does not know is refused by name.
    let (status, unknown) = app.page(&format!("/outlet/cards/{id}/teleport"), &cookie).await;
    assert_eq!(status, 404);
    assert!(unknown.contains("unknown_operation"));
});

on_both_databases!(portal_a_holder_replaces_online_inside_the_window_changes_the_password_and_gets_the_certificate_pdf, |db: TestDb| async move {
    let (app, r) = start(db).await;
    let id = app.active_card(&r, false).await;
    app.own_password(&r, id, OWN_PASSWORD).await;
    let (_, cookie, _) = app.post_form("/holder/sign-in", "", &[("ssn", SSN), ("password", OWN_PASSWORD)]).await;
    let cookie = cookie.unwrap();
    // The password first (R-PWD-1): a wrong old one is refused, then it changes.
    let (status, form) = app.page(&format!("/holder/cards/{id}/password"), &cookie).await;
    assert_eq!(status, 200);
    assert!(form.contains("<label for=\"new\">"));
    let (status, _, refused) = app.post_form(&format!("/holder/cards/{id}/password"), &cookie, &[("old", "999999"), ("new", "135790")]).await;
    assert_eq!(status, 422, "{refused}");
    assert!(refused.contains("wrong_password"));
    let (status, _, slip) = app.post_form(&format!("/holder/cards/{id}/password"), &cookie, &[("old", OWN_PASSWORD), ("new", "135790")]).await;
    assert_eq!(status, 200, "{slip}");
    // A pre-loss, then the online replacement: refused before the 5th (R-ONLINE-1) …
    app.post_form(&format!("/holder/cards/{id}/pre-loss"), &cookie, &[]).await;
    let (_, home) = app.page("/holder", &cookie).await;
    assert!(home.contains(&format!("id=\"replacement-{id}\"")), "{home}");
    let (status, _, early) = app.post_form(&format!("/holder/cards/{id}/replacement"), &cookie, &[("delivery", "mail")]).await;
    assert!(status >= 400, "{early}");
    assert!(early.contains("代码 code"), "{early}");
    // … and taken on the 5th inside the hours, with the fee and the certificate.
    app.set_now("2026-03-05T09:00:00+08:00").await;
    assert!(app.page("/holder", &cookie).await.1.contains("id=\"sign-in\""), "three days on, the session has expired");
    let cookie = app.post_form("/holder/sign-in", "", &[("ssn", SSN), ("password", "135790")]).await.1.unwrap();
    let (status, _, slip) = app.post_form(&format!("/holder/cards/{id}/replacement"), &cookie, &[("delivery", "mail")]).await;
    assert_eq!(status, 200, "{slip}");
    assert!(slip.contains("补卡申请已受理") && slip.contains(".pdf"), "{slip}");
    let pdf_path = slip.split("href=\"").find(|p| p.starts_with("/holder/certificates/")).unwrap().split('"').next().unwrap().to_string();
    let res = app.client.get(format!("{}{pdf_path}", app.base)).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(res.headers()["content-type"], "application/pdf");
    let pdf = res.bytes().await.unwrap();
    assert!(pdf.starts_with(b"%PDF-1.4"));
    let number = pdf_path.trim_start_matches("/holder/certificates/").trim_end_matches(".pdf");
    let hex: String = format!("YKT-CERT:{number}").chars().map(|c| format!("{:04X}", c as u32)).collect();
    assert!(pdf.windows(hex.len()).any(|w| w == hex.as_bytes()), "the QR code's text is printed under it");
    assert!(pdf.windows(5).filter(|w| w == b" re f").count() > 100, "the QR code's modules are drawn");
    // Another person's certificate is not found for this holder.
    let (status, _) = app.page("/holder/certificates/110000209901011XXXXXXX.pdf", &cookie).await;
    assert_eq!(status, 404);
});

on_both_databases!(portal_a_unit_prints_second_collection_forms_hands_cards_over_and_files_changes, |db: TestDb| async move {
    let (app, r) = start(db).await;
    let (_, cookie, _) = app.post_form("/unit/sign-in", "", &[("token", &r.unit)]).await;
    let cookie = cookie.unwrap();
    // A person held for a second collection, with an application: the list says why and links the form.
    let held = app.ok("POST", &format!("/v1/persons/{SSN}/cards"), &r.unit, Some(json!({}))).await["id"].as_i64().unwrap();
    let op = app.service.authenticate(&app.operator).await.unwrap();
    let hold = yikatong_service::PersonChangeRequest { flags: Some(vec!["second_collection_pending".into()]), ..Default::default() };
    app.service.change_person(&op, SSN, &hold).await.unwrap();
    app.service.import_registry(format!("ssn,name,gender,ethnicity,birth_date,photo_digest\n{SSN},张叁,女,01,19491231,\n").as_bytes()).await.unwrap();
    app.service.compare_all(&|_, _| {}).await.unwrap();
    let (_, list) = app.page("/unit", &cookie).await;
    assert!(list.contains("awaiting second collection") && list.contains(&format!("id=\"form-{held}\"")), "{list}");
    let (status, form) = app.page(&format!("/unit/cards/{held}/second-collection-form"), &cookie).await;
    assert_eq!(status, 200);
    assert!(form.contains("社会保障卡信息二次采集表") && form.contains("---") && !form.contains(SSN), "{form}");
    let res = app.client.get(format!("{}/unit/cards/{held}/second-collection-form?format=pdf", app.base)).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(res.headers()["content-type"], "application/pdf");
    // A produced card of the unit's person is handed over by the unit.
    let other = crate::cards::OTHER;
    app.ok("POST", "/v1/persons", &app.operator, Some(json!({"ssn": other, "name": "王五", "ethnicity": "01", "category": "in_service", "region": "beijing", "unit_code": "U1"})))
        .await;
    let card = app.produced_card(&r, other, false).await;
    let (_, list) = app.page("/unit", &cookie).await;
    assert!(list.contains(&format!("id=\"hand-over-{card}\"")), "{list}");
    let (status, _, slip) = app.post_form(&format!("/unit/cards/{card}/hand-over"), &cookie, &[]).await;
    assert_eq!(status, 200, "{slip}");
    assert_eq!(app.card(card).await["state"], "issued");
    // An information change, kept in the person's history.
    let (status, _, slip) = app.post_form("/unit/changes", &cookie, &[("ssn", other), ("phone", "13911112222")]).await;
    assert_eq!(status, 200, "{slip}");
    assert!(slip.contains("phone"), "{slip}");
    let history = app.ok("GET", &format!("/v1/persons/{other}/changes"), &app.operator, None).await;
    assert_eq!(history.as_array().unwrap().last().unwrap()["fields"], json!(["phone"]));
    // Another unit's person is not found.
    let stranger = yikatong_service::demo::make_ssn("110105", "1980-01-01".parse().unwrap(), 31);
    app.ok(
        "POST",
        "/v1/persons",
        &app.operator,
        Some(json!({"ssn": stranger, "name": "赵六", "ethnicity": "01", "category": "in_service", "region": "beijing", "unit_code": "U2"})),
    )
    .await;
    let (status, _, refused) = app.post_form("/unit/changes", &cookie, &[("ssn", &stranger), ("phone", "13911112222")]).await;
    assert_eq!(status, 404, "{refused}");
});

on_both_databases!(portal_an_operator_cuts_a_batch_follows_it_and_runs_the_month_credits, |db: TestDb| async move {
    let (app, r) = start(db).await;
    let a = app.ok("POST", &format!("/v1/persons/{SSN}/cards"), &r.unit, Some(json!({}))).await["id"].as_i64().unwrap();
    let (_, cookie, _) = app.post_form("/operator/sign-in", "", &[("token", &app.operator)]).await;
    let cookie = cookie.unwrap();
    let (status, form) = app.page("/operator/batches", &cookie).await;
    assert_eq!(status, 200);
    assert!(form.contains("<option value=\"beijing\">") && form.contains("<option value=\"suzhou\">"), "regions come from the policy files");
    let (status, _, refused) = app.post_form("/operator/batches", &cookie, &[("region", "beijing"), ("max_cards", "many")]).await;
    assert_eq!(status, 422, "{refused}");
    let (status, _, slip) = app.post_form("/operator/batches", &cookie, &[("region", "beijing"), ("max_cards", "10")]).await;
    assert_eq!(status, 200, "{slip}");
    let batch = slip.split("/operator/batches/").nth(1).unwrap().split('"').next().unwrap().to_string();
    let (_, progress) = app.page(&format!("/operator/batches/{batch}"), &cookie).await;
    assert!(progress.contains("制卡中") && progress.contains("<td id=\"cards\">1</td>"), "{progress}");
    assert_eq!(app.card(a).await["batch_id"].as_i64().unwrap().to_string(), batch);
    let res = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(format!("{}/operator/batches/lookup?id={batch}", app.base))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["location"].to_str().unwrap(), format!("/operator/batches/{batch}"));
    // The month's credits as a job, followed on its page until it finishes.
    let (status, _, _) = app.post_form("/operator/jobs/credit-accounts", &cookie, &[("month", "2026-03")]).await;
    assert_eq!(status, 303);
    let jobs = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let res = jobs
        .post(format!("{}/operator/jobs/credit-accounts", app.base))
        .header("cookie", &cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("csrf={}&month=2026-03", app.csrf_of("/operator", &cookie).await))
        .send()
        .await
        .unwrap();
    let job = res.headers()["location"].to_str().unwrap().to_string();
    let mut page = String::new();
    for _ in 0..50 {
        page = app.page(&job, &cookie).await.1;
        if page.contains("<td id=\"job-state\">finished</td>") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(page.contains("<td id=\"job-state\">finished</td>") && page.contains("already_credited"), "{page}");
    let (status, _, bad) = app.post_form("/operator/jobs/credit-accounts", &cookie, &[("month", "March")]).await;
    assert_eq!(status, 422, "{bad}");
});

on_both_databases!(portal_a_holder_sees_settlements_with_their_split_and_premiums_in_their_window, |db: TestDb| async move {
    let (app, r, card) = crate::settlement::ready(db).await;
    let (psn_no, mdtrt_id) = app.register(&r.institution, card, "PP").await;
    app.upload(&r.institution, &mdtrt_id, &psn_no, "H120260302140000000001", &[("1", "A1", json!("1"), json!("1000"), "1000.00")]).await;
    let out = app.settle(&r.institution, "2207", "H120260302140000000002", &psn_no, &mdtrt_id, "1000.00", "0").await;
    let setl = &out["output"]["setlinfo"];
    app.own_password(&r, card, OWN_PASSWORD).await;
    let (_, cookie, _) = app.post_form("/holder/sign-in", "", &[("ssn", SSN), ("password", OWN_PASSWORD)]).await;
    let cookie = cookie.unwrap();
    let (status, page) = app.page("/holder/settlements", &cookie).await;
    assert_eq!(status, 200);
    let table = page.split("id=\"settlements\"").nth(1).unwrap();
    for field in ["medfee_sumamt", "fund_pay_sumamt", "acct_pay", "psn_cash_pay"] {
        assert!(table.contains(&format!(">{}<", setl[field].as_str().unwrap())), "{field} = {} in {table}", setl[field]);
    }
    // R-SET-3: a fund payment from two funds names each (800 left of the deductible,
    // 2,200 at 70 % from the mutual aid, the diagnosis fee's 2 yuan from the basic fund).
    let (psn_no, mdtrt_id) = app.register(&r.institution, card, "PQ").await;
    app.upload(&r.institution, &mdtrt_id, &psn_no, "H120260302140000000003", &[("1", "A1", json!("1"), json!("3000"), "3000.00"), ("2", "DIAG", json!("1"), json!("50"), "50.00")])
        .await;
    let two = app.settle(&r.institution, "2207", "H120260302140000000004", &psn_no, &mdtrt_id, "3050.00", "0").await;
    assert_eq!(two["output"]["setlinfo"]["hifob_pay"], "1540.00", "{two}");
    let (_, page) = app.page("/holder/settlements", &cookie).await;
    assert!(page.contains("1542.00 (职工基本医疗保险统筹基金 2.00 · 大额医疗费用互助资金 1540.00)"), "{page}");
    // A resident's premium paid at a counter shows from the region's day of the next month, not before.
    let resident = crate::cards::OTHER;
    app.ok("POST", "/v1/persons", &app.operator, Some(json!({"ssn": resident, "name": "王五", "ethnicity": "01", "category": "resident", "region": "beijing"}))).await;
    let token = app.token(json!({"role": "holder", "person": resident})).await;
    let sign_in = || async { app.post_form("/holder/sign-in", "", &[("token", &token)]).await.1.unwrap() };
    let cookie = sign_in().await;
    let period = "2026-03";
    app.ok("POST", &format!("/v1/persons/{resident}/premiums"), &r.clerk, Some(json!({"period": period, "amount_fen": 38000, "reference": "P-1"}))).await;
    let payments = |page: String| page.split("id=\"payments\"").nth(1).unwrap().split("</table>").next().unwrap().to_string();
    assert!(!payments(app.page("/holder/premiums", &cookie).await.1).contains(period), "not visible yet");
    app.set_now("2026-04-06T10:00:00+08:00").await;
    let cookie = sign_in().await;
    let after = payments(app.page("/holder/premiums", &cookie).await.1);
    assert!(after.contains(period) && after.contains("380.00"), "{after}");
});

// R-CERT-1, R-SET-6 in the portal: the clerk sees the certificate's visit, claims it
// with the holder's ID number, claims a visit from typed receipt lines, approves both;
// the operator's payment file takes them; the holder follows each on their own page.
on_both_databases!(r_cert_1_r_set_6_portal_claims_at_the_counter_are_approved_paid_and_followed_by_the_holder, |db: TestDb| async move {
    let (app, r, card) = crate::settlement::ready(db).await;
    let (number, _, mdtrt_id) = app.certificate_visit(&r, card).await;
    let (_, clerk, _) = app.post_form("/outlet/sign-in", "", &[("token", &r.clerk)]).await;
    let clerk = clerk.unwrap();
    let path = format!("/outlet/certificates/{number}");
    let (status, certificate) = app.page(&path, &clerk).await;
    assert_eq!(status, 200);
    let visits = certificate.split("id=\"certificate-visits\"").nth(1).unwrap().split("</table>").next().unwrap();
    assert!(visits.contains(&mdtrt_id) && visits.contains(">3000.00<") && visits.contains("申请报销 Claim"), "{visits}");
    let claims = format!("{path}/claims");
    let (_, _, refused) = app.post_form(&claims, &clerk, &[("mdtrt_id", &mdtrt_id), ("ssn", crate::cards::OTHER)]).await;
    assert!(refused.contains("代码 code"), "someone else's ID number is refused: {refused}");
    let (status, _, slip) = app.post_form(&claims, &clerk, &[("mdtrt_id", &mdtrt_id), ("ssn", SSN)]).await;
    assert_eq!(status, 200, "{slip}");
    assert!(slip.contains("报销申请已受理") && slip.contains(">840.00<") && slip.contains("2026-03-23"), "{slip}");
    let (_, certificate) = app.page(&path, &clerk).await;
    let visits = certificate.split("id=\"certificate-visits\"").nth(1).unwrap().split("</table>").next().unwrap();
    assert!(!visits.contains("申请报销 Claim") && visits.contains(">0.00<"), "claimed once: {visits}");
    let (_, holder, _) = app.post_form("/holder/sign-in", "", &[("token", &r.holder)]).await;
    let holder = holder.unwrap();
    let (status, page) = app.page("/holder/reimbursements", &holder).await;
    assert_eq!(status, 200);
    let table = page.split("id=\"reimbursements\"").nth(1).unwrap();
    assert!(table.contains(">840.00<") && table.contains("已受理 submitted") && table.contains("2026-03-23"), "{table}");
    // At the counter: a claim from the holder's receipts (a bad line is refused by its
    // number), the claims approved, and the operator's payment file takes them.
    let claim_id = slip.split("申请号 Claim").nth(1).unwrap().split("<td>").nth(1).unwrap().split('<').next().unwrap().to_string();
    let form = |lines: &'static str| [("ssn", SSN), ("institution_code", "H1"), ("visit_date", "2026-03-02"), ("reason", "no_card"), ("lines", lines)];
    let (status, _, refused) = app.post_form("/outlet/reimbursements", &clerk, &form("A1,1,100.00,10000\nA1,1,100.00")).await;
    assert!(status == 422 && refused.contains("line 2"), "{status} {refused}");
    let (_, _, counter) = app.post_form("/outlet/reimbursements", &clerk, &form("A1,1,100.00,10000")).await;
    assert!(counter.contains(">70.00<"), "the deductible was charged once, by the certificate visit: {counter}");
    let (_, found) = app.page(&format!("/outlet?q={SSN}"), &clerk).await;
    let claims = found.split("id=\"claims\"").nth(1).unwrap().split("</table>").next().unwrap();
    assert!(claims.contains(&format!("approve-{claim_id}")) && !claims.contains(SSN), "{claims}");
    let ids: Vec<String> = claims.split("id=\"approve-").skip(1).map(|x| x.split('"').next().unwrap().to_string()).collect();
    assert_eq!(ids.len(), 2, "{claims}");
    for id in &ids {
        let (status, _, approved) = app.post_form(&format!("/outlet/reimbursements/{id}/approval"), &clerk, &[]).await;
        assert!(status == 200 && approved.contains("报销申请已审核"), "{approved}");
    }
    let (_, operator, _) = app.post_form("/operator/sign-in", "", &[("token", &app.operator)]).await;
    let (status, _, file) = app.post_form("/operator/reimbursements/payment-files", &operator.unwrap(), &[]).await;
    assert_eq!(status, 200, "{file}");
    assert!(ids.iter().all(|id| file.contains(&format!(",{id},{SSN},"))) && file.contains(",84000,"), "{file}");
    let (_, page) = app.page("/holder/reimbursements", &holder).await;
    assert_eq!(page.matches("支付中 being paid").count(), 2, "{page}");
});

// SPEC §8: a holder filling in a form is warned before the session ends idle, can keep
// it, and loses nothing typed when it ends anyway: signing in again returns to the form
// with what was chosen.
on_both_databases!(portal_warns_before_the_session_ends_and_keeps_what_was_typed, |db: TestDb| async move {
    let (app, r) = start(db).await;
    let id = app.active_card(&r, false).await;
    app.own_password(&r, id, OWN_PASSWORD).await;
    let b = Browser::start().await;
    let sign_in = || async {
        b.type_into("#ssn", SSN).await;
        b.type_into("#password", OWN_PASSWORD).await;
        b.click("#sign-in").await;
    };
    b.goto(&format!("{}/holder", app.base)).await;
    sign_in().await;
    b.wait_for_text("我的社保卡").await;
    // The holder opens a form and leaves it: thirteen and a half idle minutes on, the
    // page warns (fifteen idle minutes end a session).
    b.goto(&format!("{}/holder/cards/{id}/replacement", app.base)).await;
    b.wait_for_text("确认申请补卡吗").await;
    app.set_now("2026-03-02T10:13:30+08:00").await;
    b.wait_shown("#session-warning", true).await;
    let left: i64 = b.text("#session-left").await.parse().unwrap();
    assert!((0..=120).contains(&left), "the warning counts down from at most two minutes: {left}");
    b.screenshot("holder-session-warning").await;
    // "Stay signed in" keeps the session.
    b.click("#stay-signed-in").await;
    b.wait_shown("#session-warning", false).await;
    // The holder chooses delivery by mail, then is away long enough for the session to end.
    b.click("#f-delivery option[value='mail']").await;
    app.set_now("2026-03-02T10:30:00+08:00").await;
    b.wait_shown("#session-warning", true).await;
    b.click("#confirm").await;
    b.wait_for_text("登录 Sign in").await;
    assert!(b.url().await.contains("/holder/sign-in") || b.body_text().await.contains("身份证号与查询密码"));
    sign_in().await;
    b.wait_for_text("确认申请补卡吗").await;
    assert_eq!(b.script("return document.getElementById('f-delivery').value").await, json!("mail"), "what was chosen before the session ended is kept");
    b.screenshot("holder-form-kept-after-sign-in").await;
});

/// The QR code an SVG of the portal shows (`M{x} {y}h1v1h-1z` per dark module), read
/// as a scanner reads it: drawn at 4 pixels a module and decoded.
fn scan_qr(svg: &str) -> String {
    let side: usize = svg.split("viewBox=\"0 0 ").nth(1).unwrap().split(' ').next().unwrap().parse().unwrap();
    let path = svg.split(" d=\"").nth(1).unwrap().split('"').next().unwrap();
    let mut dark = vec![false; side * side];
    for m in path.split('M').filter(|m| !m.is_empty()) {
        let xy = m.trim_end_matches("h1v1h-1z");
        let (x, y) = xy.split_once(' ').unwrap();
        dark[y.parse::<usize>().unwrap() * side + x.parse::<usize>().unwrap()] = true;
    }
    let scale = 4;
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(side * scale, side * scale, |x, y| if dark[(y / scale) * side + x / scale] { 0 } else { 255 });
    let grids = img.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code on the page");
    grids[0].decode().unwrap().1
}

// R-SET-11: the holder's portal shows the voucher as a QR code that a scanner reads, and
// the code read identifies the holder at the hospital (1101 with mdtrt_cert_type 01).
on_both_databases!(r_set_11_portal_shows_the_voucher_as_a_qr_code_a_scanner_reads, |db: TestDb| async move {
    let (app, r, card) = crate::settlement::ready(db).await;
    app.own_password(&r, card, OWN_PASSWORD).await;
    let (_, cookie, _) = app.post_form("/holder/sign-in", "", &[("ssn", SSN), ("password", OWN_PASSWORD)]).await;
    let cookie = cookie.unwrap();
    let (status, confirm) = app.page("/holder/voucher", &cookie).await;
    assert_eq!(status, 200);
    assert!(confirm.contains("action=\"/holder/voucher\""), "{confirm}");
    let (status, _, page) = app.post_form("/holder/voucher", &cookie, &[]).await;
    assert_eq!(status, 200, "{page}");
    let shown = page.split("id=\"voucher-code\">").nth(1).unwrap().split('<').next().unwrap().to_string();
    let svg = page.split("id=\"voucher-qr\"").nth(1).unwrap().split("</figure>").next().unwrap();
    assert_eq!(scan_qr(svg), shown, "the QR code holds the code shown beside it");
    let info = app.his(&r.institution, "1101", "H120260302150000000V01", json!({"data": {"mdtrt_cert_type": "01", "mdtrt_cert_no": shown}})).await;
    assert_eq!(info["infcode"], 0, "{info}");
    assert_eq!(info["output"]["baseinfo"]["psn_name"], "张三");
    // Without the session's CSRF token nothing is issued.
    let (status, _, _) = app.post_form_as_is("/holder/voucher", &cookie, &[]).await;
    assert_eq!(status, 403);
});
