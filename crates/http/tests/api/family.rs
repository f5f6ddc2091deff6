//! R-PAY-2: the family mutual-aid account (共济账户). A holder binds family members (each
//! one's name and ID number confirmed); on the month's last day the holder's account
//! pays their resident premiums; what the balance cannot cover is an arrear in the
//! region's window of the next month, payable online. Two runs racing pay nobody twice.

use serde_json::json;
use yikatong_core::policy::{PolicySet, SHIPPED};
use yikatong_store::on_both_databases;
use yikatong_store::testing::TestDb;

use super::{SSN, assert_problem};

/// The shipped files, Beijing's with a resident premium for the mutual-aid account (no
/// public figure is in Beijing's file; see the README).
fn policies_with_a_mutual_aid_premium() -> PolicySet {
    let files = SHIPPED.iter().map(|(f, t)| {
        let text = if f.ends_with("beijing.toml") {
            format!("{t}\n[premium.mutual_aid_fen]\nresident = [{{ from = 2020-01-01, fen = 3000, source = \"test: 30 yuan a month\" }}]\n")
        } else {
            t.to_string()
        };
        (f.to_string(), text)
    });
    PolicySet::from_files(files).unwrap()
}

on_both_databases!(r_pay_2_the_family_mutual_aid_account_pays_on_the_months_last_day, |db: TestDb| async move {
    let (app, r) = crate::cards::started(crate::spawn_app_on(db, true, policies_with_a_mutual_aid_premium()).await).await;
    let child = yikatong_service::demo::make_ssn("110105", "2015-06-01".parse().unwrap(), 81);
    let grandma = yikatong_service::demo::make_ssn("110105", "1950-06-01".parse().unwrap(), 82);
    for (ssn, name) in [(&child, "小明"), (&grandma, "李奶奶")] {
        app.ok("POST", "/v1/persons", &app.operator, Some(json!({"ssn": ssn, "name": name, "ethnicity": "01", "category": "resident", "region": "beijing"}))).await;
    }
    app.ok("POST", &format!("/v1/persons/{SSN}/account/credits"), &app.operator, Some(json!({"amount_fen": 4000, "reason": "transfer", "kind": "transfer_in"}))).await;
    let family = format!("/v1/persons/{SSN}/family");
    // Each member's identity is confirmed; one account pays for a person.
    let (s, v) = app.call("POST", &family, Some(&r.holder), Some(json!({"member_ssn": child, "member_name": "小红"}))).await;
    assert_problem(s, &v, 422, "identity_not_confirmed");
    let (s, v) = app.call("POST", &family, Some(&r.holder), Some(json!({"member_ssn": "110105201506010819", "member_name": "小明"}))).await;
    assert_problem(s, &v, 422, "invalid_ssn");
    assert!(v["detail"].as_str().unwrap().starts_with("member_ssn"), "{v}");
    let bound = app.ok("POST", &family, &r.holder, Some(json!({"member_ssn": child, "member_name": "小明"}))).await;
    assert_eq!((bound["member_name"].as_str(), bound["bound_by"].as_str()), (Some("小明"), Some("holder")), "{bound}");
    app.ok("POST", &family, &r.clerk, Some(json!({"member_ssn": grandma, "member_name": "李奶奶"}))).await;
    let (s, v) = app.call("POST", &family, Some(&r.holder), Some(json!({"member_ssn": child, "member_name": "小明"}))).await;
    assert_problem(s, &v, 409, "already_bound");
    let (s, v) = app.call("POST", &family, Some(&r.holder), Some(json!({"member_ssn": SSN, "member_name": "张三"}))).await;
    assert_problem(s, &v, 422, "same_person");
    let child_token = app.token(json!({"role": "holder", "person": child})).await;
    let (s, v) = app.call("POST", &format!("/v1/persons/{child}/family"), Some(&child_token), Some(json!({"member_ssn": grandma, "member_name": "李奶奶"}))).await;
    assert_problem(s, &v, 409, "no_personal_account");
    assert_eq!(app.ok("GET", &family, &r.holder, None).await.as_array().unwrap().len(), 2);

    // Not before the month's last day.
    let run = |month: &str| json!({"month": month});
    app.set_now("2026-03-15T10:00:00+08:00").await;
    let (s, v) = app.op("POST", "/v1/premiums/family-deductions", Some(run("2026-03"))).await;
    assert_problem(s, &v, 409, "not_yet_due");
    assert!(v["detail"].as_str().unwrap().contains("2026-03-31"), "{v}");
    // On the last day, two runs racing: 40 yuan pays one 30-yuan premium, once.
    app.set_now("2026-03-31T20:00:00+08:00").await;
    let (a, b) = tokio::join!(app.op("POST", "/v1/premiums/family-deductions", Some(run("2026-03"))), app.op("POST", "/v1/premiums/family-deductions", Some(run("2026-03"))));
    assert_eq!((a.0.as_u16(), b.0.as_u16()), (200, 200), "{a:?} {b:?}");
    assert_eq!(a.1["deducted"].as_u64().unwrap() + b.1["deducted"].as_u64().unwrap(), 1, "{a:?} {b:?}");
    let account = app.ok("GET", &format!("/v1/persons/{SSN}/account"), &app.operator, None).await;
    assert_eq!(account["balance_fen"], 1000, "{account}");
    assert_eq!(account["entries"].as_array().unwrap().iter().filter(|e| e["kind"] == "mutual_aid").count(), 1);
    let again = app.ok("POST", "/v1/premiums/family-deductions", &app.operator, Some(run("2026-03"))).await;
    assert_eq!((again["deducted"].as_u64(), again["already_paid"].as_u64(), again["insufficient"].as_u64()), (Some(0), Some(1), Some(1)), "{again}");
    // Which member was paid, which is in arrears.
    let paid_child =
        app.ok("GET", &format!("/v1/persons/{child}/premiums"), &app.operator, None).await["payments"].as_array().unwrap().iter().any(|p| p["channel"] == "mutual_aid");
    let unpaid = if paid_child { &grandma } else { &child };
    let arrears = app.ok("GET", "/v1/premiums/arrears?period=2026-03", &app.operator, None).await;
    assert_eq!(arrears.as_array().unwrap().len(), 1, "{arrears}");
    assert!(arrears[0]["reason"].as_str().unwrap().contains("共济账户余额不足"));
    // The member sees the arrear from the 5th to the 20th of April and pays it online.
    let unpaid_token = app.token(json!({"role": "holder", "person": unpaid})).await;
    let seen = |at: &'static str| {
        let (app, token, unpaid) = (&app, unpaid_token.clone(), unpaid.clone());
        async move {
            app.set_now(at).await;
            app.ok("GET", &format!("/v1/persons/{unpaid}/premiums"), &token, None).await["arrears"].as_array().unwrap().len()
        }
    };
    assert_eq!(seen("2026-04-03T10:00:00+08:00").await, 0);
    assert_eq!(seen("2026-04-06T10:00:00+08:00").await, 1);
    app.ok("POST", &format!("/v1/persons/{unpaid}/premiums"), &unpaid_token, Some(json!({"period": "2026-03", "amount_fen": 3000, "reference": "ONLINE-1"}))).await;
    assert_eq!(seen("2026-04-07T10:00:00+08:00").await, 0, "paid online, no longer in arrears");
    // The holder's portal lists the members and binds one with the same checks.
    let cookie = app.post_form("/holder/sign-in", "", &[("token", &r.holder)]).await.1.unwrap();
    let (status, page) = app.page("/holder/family", &cookie).await;
    assert_eq!(status, 200);
    assert!(page.contains("小明") && page.contains("李奶奶"), "{page}");
    let (status, _, refused) = app.post_form("/holder/family", &cookie, &[("member_ssn", child.as_str()), ("member_name", "小明")]).await;
    assert!(status == 409 && refused.contains("already_bound"), "{status} {refused}");
    app.verified().await;
});

// R-PAY-2: a bound family member's settlement is paid from the holder's account after
// their own (`acct_mulaid_pay`), reversed back to it, and never past its balance however
// many of the member's visits settle at once.
on_both_databases!(r_pay_2_a_family_members_settlement_is_paid_by_the_mutual_aid_account, |db: TestDb| async move {
    let (app, r) = crate::cards::started(crate::spawn_app(db).await).await;
    app.catalogue().await;
    let spouse = yikatong_service::demo::make_ssn("110105", "1982-04-01".parse().unwrap(), 91);
    let card = app.active_card_of(&r, &spouse).await;
    app.ok("POST", &format!("/v1/persons/{SSN}/account/credits"), &app.operator, Some(json!({"amount_fen": 50000, "reason": "transfer", "kind": "transfer_in"}))).await;
    app.ok("POST", &format!("/v1/persons/{SSN}/family"), &r.holder, Some(json!({"member_ssn": spouse, "member_name": "王五"}))).await;
    let balance = |ssn: String| {
        let app = &app;
        async move { app.ok("GET", &format!("/v1/persons/{ssn}/account"), &app.operator, None).await["balance_fen"].as_i64().unwrap() }
    };
    let (psn_no, mdtrt_id) = app.register(&r.institution, card, "MA").await;
    app.upload(&r.institution, &mdtrt_id, &psn_no, "H120260302160000000001", &[("1", "A1", json!("1"), json!("1000"), "1000.00")]).await;
    let out = app.settle(&r.institution, "2207", "H120260302160000000002", &psn_no, &mdtrt_id, "1000.00", "1").await;
    let s = &out["output"]["setlinfo"];
    assert_eq!(
        (s["acct_pay"].as_str(), s["acct_mulaid_pay"].as_str(), s["psn_cash_pay"].as_str(), s["psn_part_amt"].as_str()),
        (Some("0.00"), Some("500.00"), Some("500.00"), Some("1000.00")),
        "{s}"
    );
    assert_eq!(balance(SSN.to_string()).await, 0, "the holder's account paid 500");
    let rev = app.his_ok(&r.institution, "2208", "H120260302160000000003", json!({"data": {"setl_id": s["setl_id"], "mdtrt_id": mdtrt_id, "psn_no": psn_no}})).await;
    assert_eq!(rev["setlinfo"]["acct_mulaid_pay"], "-500.00");
    assert_eq!(balance(SSN.to_string()).await, 50000, "the reversal gives it back");
    // Two of the member's visits settling at once take the holder's 500 once.
    let mut visits = Vec::new();
    for (i, tag) in ["MB", "MC"].into_iter().enumerate() {
        let (p, m) = app.register(&r.institution, card, tag).await;
        app.upload(&r.institution, &m, &p, &format!("H12026030216000000001{i}"), &[("1", "A1", json!("1"), json!("1000"), "1000.00")]).await;
        visits.push((p, m));
    }
    let (a, b) = tokio::join!(
        app.settle(&r.institution, "2207", "H120260302160000000020", &visits[0].0, &visits[0].1, "1000.00", "1"),
        app.settle(&r.institution, "2207", "H120260302160000000021", &visits[1].0, &visits[1].1, "1000.00", "1"),
    );
    let fen = |v: &serde_json::Value| yikatong_core::money::Fen::parse_yuan(v["output"]["setlinfo"]["acct_mulaid_pay"].as_str().unwrap()).unwrap().0;
    assert_eq!(fen(&a) + fen(&b), 50000, "{a} {b}");
    assert_eq!(balance(SSN.to_string()).await, 0);
    // Two employees binding each other at once: one binding, never a circle.
    let (p, q) = (yikatong_service::demo::make_ssn("110105", "1983-01-01".parse().unwrap(), 93), yikatong_service::demo::make_ssn("110105", "1984-01-01".parse().unwrap(), 95));
    for (ssn, name) in [(&p, "甲"), (&q, "乙")] {
        app.ok("POST", "/v1/persons", &app.operator, Some(json!({"ssn": ssn, "name": name, "ethnicity": "01", "category": "in_service", "region": "beijing"}))).await;
    }
    let (tp, tq) = (app.token(json!({"role": "holder", "person": p})).await, app.token(json!({"role": "holder", "person": q})).await);
    let (pq, qp) = (format!("/v1/persons/{p}/family"), format!("/v1/persons/{q}/family"));
    let (x, y) = tokio::join!(
        app.call("POST", &pq, Some(&tp), Some(json!({"member_ssn": q, "member_name": "乙"}))),
        app.call("POST", &qp, Some(&tq), Some(json!({"member_ssn": p, "member_name": "甲"}))),
    );
    let statuses = [x.0.as_u16(), y.0.as_u16()];
    assert!(statuses.contains(&201) && statuses.contains(&409), "{x:?} {y:?}");
    app.verified().await;
});
