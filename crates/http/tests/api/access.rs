//! The access matrix (SPEC §6, §8): every cell — operation × role (and so channel) — of
//! `yikatong_core::access::Operation::roles` walked against the real service on both
//! databases, and the kiosk's and hotline's reads over HTTP with and without the query
//! password (R-PWD-1).

use serde_json::json;
use yikatong_core::access::{Access, Operation, Principal, Role};
use yikatong_service::{QueryTarget, ServiceError};
use yikatong_store::on_both_databases;
use yikatong_store::testing::TestDb;

use super::cards::start;
use super::{SSN, TestApp};

fn from<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> T {
    serde_json::from_value(v).unwrap()
}

/// Asks the service for `op` as `who`: only whether the matrix let it through matters.
async fn ask(app: &TestApp, who: &Principal, token: &str, op: Operation, card: i64, tag: &str) -> Result<(), ServiceError> {
    use Operation::*;
    let s = &app.service;
    let org = |code: String| yikatong_service::NewOrganisation { code, name: "矩阵".into(), region: "beijing".into(), ..Default::default() };
    match op {
        CreateUnit => s.create_unit(who, &org(format!("MU{tag}"))).await.map(drop),
        ReadUnit => s.get_unit(who, "U1").await.map(drop),
        CreateOutlet => s.create_outlet(who, &org(format!("MO{tag}"))).await.map(drop),
        CreateInstitution => s.create_institution(who, &from(json!({"code": format!("MI{tag}"), "name": "矩阵医院", "region": "beijing", "level": "community"}))).await.map(drop),
        CreatePerson => s.create_person(who, &from(json!({"ssn": yikatong_service::demo::make_ssn("110105", "1970-01-01".parse().unwrap(), 400 + tag.len() as u32), "name": "矩阵", "ethnicity": "01", "category": "in_service", "region": "beijing"}))).await.map(drop),
        ReadPerson => s.get_person(who, SSN).await.map(drop),
        FindPerson => s.find_person(who, SSN).await.map(drop),
        PersonByHandbook => s.person_by_handbook(who, "110105123S").await.map(drop),
        ChangePerson => s.change_person(who, SSN, &from(json!({"address": format!("北京 {tag}")}))).await.map(drop),
        ReadPersonHistory => s.person_history(who, SSN).await.map(drop),
        UploadPhoto => s.upload_photo(who, SSN, b"not a photo").await.map(drop),
        SecondCollection => s.second_collection(who, SSN, &Default::default()).await.map(drop),
        ImportApplications => s.import_applications(who, "U1", &b"ssn,name\n"[..]).await.map(drop),
        ReadUnitPersons => s.unit_persons(who, "U1", None, 10).await.map(drop),
        ApplyForCard => s.apply_for_card(who, SSN, &yikatong_service::ApplicationRequest::default()).await.map(drop),
        ReadCard => s.get_card(who, card).await.map(drop),
        ReadCardEvents => s.card_history(who, card).await.map(drop),
        ReadHolderOfCard => s.holder_ssn_of_card(who, card).await.map(drop),
        CutBatch => s.cut_batch(who, "beijing", None, Some(0)).await.map(drop),
        ReadBatch => s.batch_progress(who, 999).await.map(drop),
        PersonalisationFile => s.personalisation_file(who, 999).await.map(drop),
        RecordProductionResults => s.record_production_results(who, 999, &[]).await.map(drop),
        DispatchBatch => s.dispatch_batch(who, 999).await.map(drop),
        RecordBankAccount => s.record_bank_account(who, card, true, None).await.map(drop),
        HandOver => s.hand_over(who, card, &Default::default()).await.map(drop),
        Activate => s.activate(who, card, yikatong_core::card::Zone::Social, None).await.map(drop),
        CheckCardForSettlement => s.check_card_for_settlement(who, card).await.map(drop),
        ListOverdue => s.overdue_cards(who).await.map(drop),
        ReportPreLoss => s.report_pre_loss(who, card, None).await.map(drop),
        RevokePreLoss => s.revoke_pre_loss(who, card, None).await.map(drop),
        FormalLoss => s.formal_loss(who, 999_999, &from(json!({"delivery": "outlet"}))).await.map(drop),
        OnlineReplacement => s.online_replacement(who, 999_999, &Default::default()).await.map(drop),
        Exchange => s.exchange(who, 999_999, &from(json!({"reason": "芯片损坏", "delivery": "outlet"}))).await.map(drop),
        ReturnCard => s.return_card(who, 999_999).await.map(drop),
        SecondApplication => s.second_application(who, 999_999, &Default::default()).await.map(drop),
        ReportWrongData => s.report_wrong_data(who, 999_999, "姓名错误").await.map(drop),
        CancelCard => s.cancel_card(who, 999_999, "death").await.map(drop),
        SynchroniseCard => s.synchronise_card(who, card).await.map(drop),
        ReadCertificate => s.certificate(who, "NO-SUCH").await.map(drop),
        ReprintCertificate => s.reprint_certificate(who, "NO-SUCH").await.map(drop),
        ChangePassword => s.change_password(who, 999_999, "000000", "135790").await.map(drop),
        ResetPassword => s.reset_password(who, 999_999, "135790").await.map(drop),
        ReadOutbox => app.call("GET", "/v1/outbox", Some(token), None).await.1.get("code").and_then(|c| c.as_str()).map_or(Ok(()), |c| Err(refusal(c))),
        Settle => s.cancel_registration(who, "NO-SUCH").await.map(drop),
        ReadSettlement => s.get_settlement(who, "NO-SUCH").await.map(drop),
        ReadSettlements => s.settlements_of(who, SSN).await.map(drop),
        TraceSettlement => s.settlement_trace(who, "NO-SUCH").await.map(drop),
        ReverseSettlement => s.reverse_settlement(who, "NO-SUCH").await.map(drop),
        DeclareWorkInjury => s.declare_work_injury(who, "NO-SUCH").await.map(drop),
        ManualReimbursement => s.manual_reimbursement(who, &from(json!({"ssn": SSN, "institution_code": "NO-SUCH", "visit_date": "2026-03-01", "reason": "no_card", "lines": []}))).await.map(drop),
        AddCatalogItems => s.add_catalog_items(who, &[]).await.map(drop),
        PayReimbursements => s.reimbursement_payment_file(who).await.map(drop),
        RecordReimbursementResults => s.record_reimbursement_results(who, &[]).await.map(drop),
        ReadAccount => s.account(who, SSN).await.map(drop),
        IssueVoucher => s.issue_voucher(who, SSN).await.map(drop),
        SetDesignatedInstitutions => s.set_designated_institutions(who, SSN, &from(json!({"institutions": []}))).await.map(drop),
        ReadDesignatedCounts => s.designated_counts(who).await.map(drop),
        RecordFiling => s.record_filing(who, SSN, &from(json!({"care_admdvs": "370100", "kind": "not-a-kind"}))).await.map(drop),
        CreditAccount => s.credit_account(who, SSN, 0, None, "矩阵").await.map(drop),
        StartCredits => s.start_credit_job(who, "not-a-month").await.map(drop),
        ReadJob => s.job(who, 999).await.map(drop),
        PayPremium => s.pay_premium(who, SSN, &from(json!({"period": "2026-03", "amount_fen": 0, "reference": format!("M{tag}")}))).await.map(drop),
        ReadArrears => s.arrears(who, "2026-03").await.map(drop),
        BindFamilyMember => s.bind_family_member(who, SSN, &from(json!({"member_ssn": "not-an-id", "member_name": "无"}))).await.map(drop),
        RunFamilyDeductions => s.deduct_family_premiums(who, "not-a-month").await.map(drop),
        OwnRecords => s.own_ssn(who).await.map(drop),
        VerifyDatabase => s.verify(who).await.map(drop),
        VerifyAudit => s.audit(who, None).await.map(drop),
        LoadCalendar => s.load_calendar_year(Some(who), "matrix.toml", "not toml").await.map(drop),
        ReadMessages => s.messages(who, 0, true, 1).await.map(drop),
        ReportMessageSent => s.message_sent(who, 999).await.map(drop),
        IssueHisCredential => s.issue_his_credential(who, "NO-SUCH").await.map(drop),
        ListHisCredentials => s.his_credentials(who).await.map(drop),
        RevokeHisCredential => s.revoke_his_credential(who, 999).await.map(drop),
        IssueToken | ListTokens | RevokeToken => {
            let (method, path, body) = match op {
                IssueToken => ("POST", "/v1/tokens".to_string(), Some(json!({"role": "kiosk"}))),
                ListTokens => ("GET", "/v1/tokens".to_string(), None),
                _ => ("DELETE", "/v1/tokens/999999".to_string(), None),
            };
            app.call(method, &path, Some(token), body).await.1.get("code").and_then(|c| c.as_str()).map_or(Ok(()), |c| Err(refusal(c)))
        }
    }
}

/// An HTTP refusal's code as a service error (only the code is compared).
fn refusal(code: &str) -> ServiceError {
    let code: &'static str = Box::leak(code.to_string().into_boxed_str());
    yikatong_core::Refusal::forbidden(code, "over HTTP").into()
}

const MATRIX_CODES: [&str; 2] = ["not_allowed_on_channel", "query_password_required"];

on_both_databases!(every_cell_of_the_access_matrix_is_what_the_service_does, |db: TestDb| async move {
    let (app, r) = start(db).await;
    let card = app.active_card(&r, false).await;
    let tokens = [
        (Role::Operator, app.operator.clone()),
        (Role::Clerk, r.clerk.clone()),
        (Role::Unit, r.unit.clone()),
        (Role::Institution, r.institution.clone()),
        (Role::Holder, r.holder.clone()),
        (Role::Hotline, r.hotline.clone()),
        (Role::Kiosk, r.kiosk.clone()),
        (Role::Bank, r.bank.clone()),
        (Role::Vendor, r.vendor.clone()),
    ];
    assert_eq!(tokens.len(), Role::ALL.len());
    let mut cells = 0;
    // The reads behind the query password first, while the card lives.
    let mut ops = Operation::ALL.to_vec();
    ops.sort_by_key(|op| op.query_password_roles().is_empty());
    for op in ops {
        for (role, token) in &tokens {
            let who = app.service.authenticate(token).await.unwrap();
            let tag = format!("{}{}", op.as_str().len(), role.as_str());
            let answer = ask(&app, &who, token, op, card, &tag).await;
            let code = answer.as_ref().err().map(yikatong_service::ServiceError::code);
            match op.access(*role) {
                None => assert_eq!(code, Some("not_allowed_on_channel"), "{op:?} by a {role:?} is not in the matrix, so it is refused by it"),
                Some(Access::Allowed) => assert!(!code.is_some_and(|c| MATRIX_CODES.contains(&c)), "{op:?} by a {role:?} is allowed, yet: {answer:?}"),
                Some(Access::WithQueryPassword) => {
                    assert_eq!(code, Some("query_password_required"), "{op:?} by a {role:?} needs the query password");
                    let target = if matches!(op, Operation::ReadCard | Operation::ReadCardEvents) { QueryTarget::Card(card) } else { QueryTarget::Person(SSN) };
                    let opened = app.service.with_query_password(&who, op, target, Some(&SSN[12..])).await.unwrap();
                    let answer = ask(&app, &opened, token, op, card, &tag).await;
                    assert!(answer.is_ok(), "{op:?} by a {role:?} with the query password: {answer:?}");
                }
            }
            cells += 1;
        }
    }
    assert_eq!(cells, Operation::ALL.len() * Role::ALL.len());
});

on_both_databases!(r_pwd_1_kiosk_and_hotline_read_a_person_account_and_history_only_with_the_query_password, |db: TestDb| async move {
    let (app, r) = start(db).await;
    let card = app.active_card(&r, false).await;
    for token in [&r.kiosk, &r.hotline] {
        for path in [format!("/v1/persons/{SSN}"), format!("/v1/persons/{SSN}/account"), format!("/v1/cards/{card}/events"), format!("/v1/cards/{card}")] {
            let (s, v) = app.call("GET", &path, Some(token), None).await;
            assert_eq!((s.as_u16(), v["code"].as_str()), (403, Some("query_password_required")), "{path}: {v}");
            let res = app.client.get(format!("{}{path}", app.base)).bearer_auth(token).header("x-query-password", &SSN[12..]).send().await.unwrap();
            assert_eq!(res.status(), 200, "{path} with the password");
        }
    }
    // A wrong password is refused and counted like anywhere else.
    let res = app.client.get(format!("{}/v1/persons/{SSN}", app.base)).bearer_auth(&r.kiosk).header("x-query-password", "999999").send().await.unwrap();
    let v: serde_json::Value = res.json().await.unwrap();
    assert_eq!(v["code"], "wrong_password", "{v}");
    // The password of one person's card opens only that person's records.
    let other = crate::cards::OTHER;
    let other_card = app.active_card_of(&r, other).await;
    let res = app.client.get(format!("{}/v1/cards/{other_card}/events", app.base)).bearer_auth(&r.kiosk).header("x-query-password", &SSN[12..]).send().await.unwrap();
    assert_eq!(res.status(), 422, "another card's password is a wrong password for this card");
});

on_both_databases!(a_unit_never_moves_a_person_to_another_unit_but_files_that_they_left, |db: TestDb| async move {
    let (app, r) = start(db).await;
    app.ok("POST", "/v1/units", &app.operator, Some(json!({"code": "U9", "name": "另一单位", "region": "beijing"}))).await;
    let (s, v) = app.call("POST", &format!("/v1/persons/{SSN}/changes"), Some(&r.unit), Some(json!({"unit_code": "U9"}))).await;
    assert_eq!((s.as_u16(), v["code"].as_str()), (403, Some("unit_may_not_move_person")), "{v}");
    assert_eq!(app.ok("GET", &format!("/v1/persons/{SSN}"), &app.operator, None).await["unit_code"], "U1");
    // 减员: the unit files that the person left; the bureau may then place them anywhere.
    app.ok("POST", &format!("/v1/persons/{SSN}/changes"), &r.unit, Some(json!({"leaves_unit": true}))).await;
    assert!(app.ok("GET", &format!("/v1/persons/{SSN}"), &app.operator, None).await["unit_code"].is_null());
    let (s, _) = app.call("GET", &format!("/v1/persons/{SSN}"), Some(&r.unit), None).await;
    assert_eq!(s.as_u16(), 404, "a person who left is no longer the unit's");
    app.ok("POST", &format!("/v1/persons/{SSN}/changes"), &app.operator, Some(json!({"unit_code": "U9"}))).await;
    assert_eq!(app.ok("GET", &format!("/v1/persons/{SSN}"), &app.operator, None).await["unit_code"], "U9");
});
