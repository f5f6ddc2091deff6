//! The national medical-insurance platform's interface for designated institutions:
//! `POST /fsi/api/rsfComIfsService/callService`, the envelope (`infno`, `msgid`, …,
//! `input`) and its answer (`infcode`, `inf_refmsgid`, `refmsg_time`, `respond_time`,
//! `err_msg`, `output`), so HIS software written for that platform settles here
//! unchanged. Amounts go out as yuan strings with two decimals; numbers come in as JSON
//! numbers or strings and are read exactly from their text.
//!
//! Institutions authenticate with their bearer token; `fixmedins_code` must be the
//! token's institution. A repeated `msgid` gets the first answer and does nothing twice:
//! its claim, the work and the answer commit in one transaction.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sm3::{Digest, Sm3};
use yikatong_core::access::Principal;
use yikatong_core::clock::shanghai;
use yikatong_core::identity::mask_ssn;
use yikatong_core::money::Fen;
use yikatong_core::registry::{Category, PersonFlag, has_flag};
use yikatong_core::settlement::Fund;
use yikatong_service::{EarlierRequest, FeeLineInput, KeptAnswer, PersonInfo, Registration, RequestClaim, RequestKey, Route, ServiceError, SettleRequest, Settlement};

use crate::AppState;

mod reconciliation;

/// 2204's `input` read as the national interface sends it: the visit, the charge batch
/// and each `feedetail` line's fields as text, or the refusal in the interface's words
/// (`[code] message`).
pub fn fee_lines_of(input: &Value) -> Result<(String, String, Vec<FeeLineInput>), String> {
    let lines = input.get("feedetail").and_then(|f| f.as_array()).cloned().unwrap_or_default();
    let first = lines.first().ok_or_else(|| "[no_fee_lines] feedetail is empty".to_string())?;
    let mdtrt_id = required(first, "mdtrt_id").map_err(|e| e.0)?;
    let chrg_bchno = required(first, "chrg_bchno").map_err(|e| e.0)?;
    let mut inputs = Vec::new();
    for l in &lines {
        if text(l, "mdtrt_id") != mdtrt_id {
            return Err("[mixed_visits] every feedetail line must name the same mdtrt_id".into());
        }
        let code = match text(l, "med_list_codg") {
            c if !c.is_empty() => c,
            _ => required(l, "medins_list_codg").map_err(|e| e.0)?,
        };
        let field = |k| required(l, k).map_err(|e| e.0);
        check_time(l, "fee_ocur_time").map_err(|e| e.0)?;
        inputs.push(FeeLineInput { sn: field("feedetl_sn")?, code, qty: field("cnt")?, price: field("pric")?, amount: field("det_item_fee_sumamt")? });
    }
    Ok((mdtrt_id, chrg_bchno, inputs))
}

/// A time field, when the request has one, in a form clients send (see
/// `yikatong_core::clock::parse_business_time`), or the refusal naming it.
fn check_time(v: &Value, key: &str) -> Result<(), HisError> {
    match text(v, key) {
        t if t.trim().is_empty() => Ok(()),
        t => yikatong_core::clock::parse_business_time(key, &t).map(drop).map_err(|e| HisError::from(ServiceError::from(e))),
    }
}

/// A refusal in the interface's words.
struct HisError(String);

impl From<ServiceError> for HisError {
    fn from(e: ServiceError) -> Self {
        HisError(format!("[{}] {}", e.code(), e.public_message()))
    }
}

type HisResult = Result<Value, HisError>;

fn yuan(f: Fen) -> Value {
    Value::String(f.to_string())
}

fn time_ms(t: DateTime<Utc>) -> String {
    t.with_timezone(&shanghai()).format("%Y%m%d%H%M%S%3f").to_string()
}

/// Reads a field as text whether it came as a string or a number.
fn text(v: &Value, key: &str) -> String {
    match v.get(key) {
        Some(Value::String(s)) => s.trim().to_string(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

fn required(v: &Value, key: &str) -> Result<String, HisError> {
    let t = text(v, key);
    if t.is_empty() { Err(HisError(format!("[missing_field] input field {key} is required"))) } else { Ok(t) }
}

fn data(input: &Value) -> &Value {
    input.get("data").unwrap_or(input)
}

/// The answer envelope; `inf_refmsgid` is the receiver's region (6), time (14) and a
/// serial (10).
fn envelope(state: &AppState, admdvs: &str, infcode: i32, err: Option<String>, output: Value, received: DateTime<Utc>) -> Value {
    let now = state.service.clock().now();
    let serial: [u8; 4] = yikatong_service::secrets::random_bytes();
    json!({
        "infcode": infcode,
        "inf_refmsgid": format!("{admdvs:0>6}{}{:010}", now.with_timezone(&shanghai()).format("%Y%m%d%H%M%S"), u32::from_be_bytes(serial)),
        "refmsg_time": time_ms(received),
        "respond_time": time_ms(now),
        "err_msg": err,
        "warn_msg": Value::Null,
        "cainfo": Value::Null,
        "signtype": Value::Null,
        "output": output,
    })
}

/// The caller of the interface: a request carrying a bearer token is judged by the token
/// alone; without one, by the gateway's `x-tif-*` signature (see
/// `yikatong_service::GatewaySignature`).
async fn caller(state: &AppState, headers: &HeaderMap) -> Result<Principal, HisError> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let bearer = header("authorization").and_then(|v| v.split_once(' ')).filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer")).map(|(_, t)| t.trim().to_string());
    if let Some(token) = bearer {
        return Ok(state.service.authenticate(&token).await?);
    }
    match (header("x-tif-paasid"), header("x-tif-timestamp"), header("x-tif-nonce"), header("x-tif-signature")) {
        (Some(paasid), Some(timestamp), Some(nonce), Some(signature)) => {
            Ok(state.service.authenticate_gateway(yikatong_service::GatewaySignature { paasid, timestamp, nonce, signature }).await?)
        }
        (None, None, None, None) => Err(HisError(
            "[unauthenticated] sign the request with the gateway's x-tif-paasid, x-tif-timestamp, x-tif-nonce and x-tif-signature headers, or send the institution's bearer token"
                .into(),
        )),
        _ => Err(HisError("[unauthenticated] a signed request needs all of x-tif-paasid, x-tif-timestamp, x-tif-nonce and x-tif-signature".into())),
    }
}

/// `POST /fsi/api/rsfComIfsService/callService/{infno}`: as below, the path's code the
/// body's `infno`.
pub async fn call_service_for(State(state): State<AppState>, axum::extract::Path(code): axum::extract::Path<String>, headers: HeaderMap, body: axum::body::Bytes) -> Json<Value> {
    call(state, Some(code), headers, body).await
}

/// `POST /fsi/api/rsfComIfsService/callService`
pub async fn call_service(State(state): State<AppState>, headers: HeaderMap, body: axum::body::Bytes) -> Json<Value> {
    call(state, None, headers, body).await
}

/// A request envelope as read from the body: what the dispatch needs, nothing trusted
/// yet but its shape.
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope {
    pub infno: String,
    pub msgid: String,
    pub fixmedins_code: String,
    pub mdtrtarea_admvs: String,
    /// The holder's insured region, when the call names one.
    pub insuplc_admdvs: String,
    pub input: Value,
}

impl Envelope {
    /// Reads the body of a call (at the path's `infno` when it names one): any JSON
    /// object with the interface's fields — strings or numbers, extra fields ignored,
    /// indented or not — or the refusal in the interface's words.
    pub fn read(body: &[u8], path_code: Option<&str>) -> Result<Envelope, String> {
        let req = serde_json::from_slice::<Value>(body).map_err(|_| "[invalid_body] the request is not JSON".to_string())?;
        if !req.is_object() {
            return Err("[invalid_body] the request is not a JSON object with infno, msgid and input".into());
        }
        let infno = text(&req, "infno");
        if let Some(code) = path_code.filter(|c| *c != infno) {
            return Err(format!("[infno_mismatch] the path names transaction {code} but infno is {infno:?}"));
        }
        let msgid = text(&req, "msgid");
        if msgid.is_empty() || msgid.chars().count() > 30 {
            return Err("[invalid_msgid] msgid is required (30 characters: institution, time, sequence)".into());
        }
        Ok(Envelope {
            infno,
            msgid,
            fixmedins_code: text(&req, "fixmedins_code"),
            mdtrtarea_admvs: text(&req, "mdtrtarea_admvs"),
            insuplc_admdvs: text(&req, "insuplc_admdvs"),
            input: req.get("input").cloned().unwrap_or(Value::Null),
        })
    }
}

/// The transactions whose work claims the msgid before it reads anything but the
/// caller's institution: 2206 and 2207 open their write transaction with the claim, so
/// they need no look-up before it.
const CLAIMED_FIRST: [&str; 2] = ["2206", "2207"];

async fn call(state: AppState, path_code: Option<String>, headers: HeaderMap, body: axum::body::Bytes) -> Json<Value> {
    let received = state.service.clock().now();
    let fail = |msg: String| Json(envelope(&state, "000000", -1, Some(msg), json!({}), received));
    let Envelope { infno, msgid, fixmedins_code, mdtrtarea_admvs: admdvs, insuplc_admdvs, input } = match Envelope::read(&body, path_code.as_deref()) {
        Ok(e) => e,
        Err(msg) => return fail(msg),
    };
    let who = match caller(&state, &headers).await {
        Ok(p) => p,
        Err(e) => return fail(e.0),
    };
    if who.role != yikatong_core::access::Role::Institution {
        return fail("[not_allowed_on_channel] only a designated institution's token may call this interface".into());
    }
    let institution = who.institution.clone().unwrap_or_default();
    if fixmedins_code != institution {
        return fail(format!("[wrong_institution] fixmedins_code must be this token's institution {institution}"));
    }
    // A deployment of one region answers its own region's calls only (R-XREG-1); a
    // holder of another region is served through that region.
    let route = match state.service.route_call(&admdvs, &insuplc_admdvs) {
        Ok(route) => route,
        Err(e) => return fail(format!("[{}] {}", e.code(), e.public_message())),
    };
    let mut hasher = Sm3::new();
    hasher.update(infno.as_bytes());
    hasher.update(b"\n");
    hasher.update(input.to_string().as_bytes());
    let fingerprint = hex::encode(hasher.finalize());
    let key = RequestKey { token_id: 0, key: format!("his:{institution}:{msgid}"), fingerprint };
    // The msgid is looked up first, so that a retry gets the first answer at once and a
    // read under a reused msgid is refused. A settlement skips the look-up: its claim
    // is the first statement of its transaction and finds the same (a duplicate in
    // flight waits there for the first's answer).
    let looked_up = if CLAIMED_FIRST.contains(&infno.as_str()) { Ok(None) } else { state.service.earlier_request(&key).await };
    match looked_up {
        Ok(None) => {}
        Ok(Some(EarlierRequest::Answered(first))) => return Json(kept_answer(&first.body)),
        Ok(Some(EarlierRequest::Different)) => return fail("[msgid_reused] this msgid was already used for a different request".into()),
        Ok(Some(EarlierRequest::Interrupted)) => {
            return fail("[duplicate_request] a request with this msgid was interrupted before it was answered; send it again under a new msgid".into());
        }
        Err(e) => {
            tracing::error!(error = %e, "could not look up the msgid");
            return fail(format!("[internal_error] {}", e.public_message()));
        }
    }
    // The claim of the msgid opens the transaction the work runs in, and the answer
    // commits with the work (see yikatong_service::RequestClaim).
    let started = std::time::Instant::now();
    let (claim, outcome) = RequestClaim::scope(&state.service, key, dispatch(&state, &who, &route, &infno, &msgid, &input)).await;
    // An internal error is not kept: its work rolled back, and a retry runs again; nor is
    // a call another region did not answer, which the retry makes again.
    let keep =
        !matches!(&outcome, Err(HisError(msg)) if msg.starts_with("[internal_error]") || yikatong_service::UNANSWERED_CODES.iter().any(|c| msg.starts_with(&format!("[{c}]"))));
    let answer = match outcome {
        Ok(output) => envelope(&state, &admdvs, 0, None, output, received),
        Err(HisError(msg)) => envelope(&state, &admdvs, -1, Some(msg), json!({}), received),
    };
    let answer = KeptAnswer { status: 200, body: answer.to_string().into_bytes() };
    let sent = match claim.finish(&state.service, answer, keep).await {
        Ok(sent) => kept_answer(&sent.body),
        Err(e) => {
            tracing::error!(error = %e, "could not keep the interface answer");
            return fail("[internal_error] the answer could not be kept; nothing was done, send the request again".into());
        }
    };
    // A repeat answered with the first answer booked nothing and is not counted.
    if infno == "2207" && claim.replayed().is_none() {
        state.metrics.observe_booking(sent["infcode"] == 0, started.elapsed().as_secs_f64());
    }
    tracing::info!(infno = %infno, infcode = %sent["infcode"], "national interface call");
    Json(sent)
}

fn kept_answer(body: &[u8]) -> Value {
    serde_json::from_slice(body).unwrap_or_else(|_| json!({"infcode": -1, "err_msg": "stored answer unreadable"}))
}

async fn dispatch(state: &AppState, who: &Principal, route: &Route, infno: &str, msgid: &str, input: &Value) -> HisResult {
    let s = &state.service;
    match infno {
        "9001" => {
            let r: [u8; 8] = yikatong_service::secrets::random_bytes();
            let now = s.clock().now_local();
            Ok(json!({"signinoutb": {"sign_time": now.format("%Y-%m-%d %H:%M:%S").to_string(), "sign_no": hex::encode(r)}}))
        }
        "1101" => {
            let d = data(input);
            let cert_type = required(d, "mdtrt_cert_type")?;
            let cert_no = match text(d, "mdtrt_cert_no") {
                n if !n.is_empty() => n,
                _ => required(d, "certno")?,
            };
            let card_sn = text(d, "card_sn");
            let card_sn = Some(card_sn.as_str()).filter(|c| !c.is_empty());
            let info = match route {
                Route::Here => s.person_info(who, &cert_type, &cert_no, card_sn).await?,
                Route::Insured(region) => s.person_info_elsewhere(who, region, &cert_type, &cert_no, card_sn).await?,
            };
            // By ID card the hospital sent the number itself and gets it back, so that it
            // can send it again in 2201; by card or voucher it stays masked.
            let certno = if cert_type == "02" { cert_no.clone() } else { mask_ssn(&info.person.ssn) };
            Ok(person_info_output(&info, &certno, s.clock().now()))
        }
        "2201" => {
            let d = data(input);
            let reg = Registration {
                psn_no: required(d, "psn_no")?,
                insutype: text(d, "insutype"),
                begntime: required(d, "begntime")?,
                mdtrt_cert_type: required(d, "mdtrt_cert_type")?,
                mdtrt_cert_no: required(d, "mdtrt_cert_no")?,
                card_sn: Some(text(d, "card_sn")).filter(|c| !c.is_empty()),
                ipt_otp_no: required(d, "ipt_otp_no")?,
                visit_card_no: Some(text(d, "visit_card_no")).filter(|c| !c.trim().is_empty()),
                certificate_no: Some(text(d, "certificate_no")).filter(|c| !c.trim().is_empty()),
                extra: json!({"atddr_no": text(d, "atddr_no"), "dr_name": text(d, "dr_name"), "dept_code": text(d, "dept_code"), "dept_name": text(d, "dept_name"), "caty": text(d, "caty")}),
            };
            let v = match route {
                Route::Here => s.register_visit(who, &reg).await?,
                Route::Insured(region) => s.register_visit_elsewhere(who, region, &reg).await?,
            };
            Ok(json!({"data": {"mdtrt_id": v.mdtrt_id, "psn_no": reg.psn_no, "ipt_otp_no": v.ipt_otp_no}}))
        }
        "2202" => {
            let d = data(input);
            s.cancel_registration(who, &required(d, "mdtrt_id")?).await?;
            Ok(json!({}))
        }
        "2203" | "2203A" => {
            let info = input.get("mdtrtinfo").cloned().unwrap_or(Value::Null);
            let mdtrt_id = required(&info, "mdtrt_id")?;
            check_time(&info, "begntime")?;
            for d in input.get("diseinfo").and_then(Value::as_array).into_iter().flatten() {
                check_time(d, "diag_time")?;
            }
            s.record_visit_info(who, &mdtrt_id, &info, input.get("diseinfo").unwrap_or(&Value::Null)).await?;
            Ok(json!({}))
        }
        "2204" => {
            let (mdtrt_id, chrg_bchno, inputs) = fee_lines_of(input).map_err(HisError)?;
            let results = s.upload_fee_lines(who, &mdtrt_id, &chrg_bchno, &inputs).await?;
            let out: Vec<Value> = results
                .iter()
                .map(|r| {
                    let sp = &r.split;
                    json!({
                        "feedetl_sn": sp.sn,
                        "det_item_fee_sumamt": yuan(sp.amount),
                        "cnt": format!("{}.{:04}", r.qty_e4 / 10_000, r.qty_e4 % 10_000),
                        "pric": format!("{}.{:06}", r.price_e6 / 1_000_000, r.price_e6 % 1_000_000),
                        // No ceiling is 0, never null: clients read it into a decimal.
                        "pric_uplmt_amt": format!("{}0000", Fen(sp.price_ceiling_fen.unwrap_or(0))),
                        "selfpay_prop": format!("{}.{:04}", sp.selfpay_prop.0 / 10_000, sp.selfpay_prop.0 % 10_000),
                        "fulamt_ownpay_amt": yuan(sp.fulamt_ownpay),
                        "overlmt_amt": yuan(sp.overlmt),
                        "preselfpay_amt": yuan(sp.preselfpay),
                        "inscp_scp_amt": yuan(sp.inscp),
                        "chrgitm_lv": sp.class.level_code(),
                        "med_chrgitm_type": r.kind.as_str(),
                        // The catalogue carries none of these marks: every line says 0 (no).
                        "bas_medn_flag": "0",
                        "hi_nego_drug_flag": "0",
                        "chld_medc_flag": "0",
                        "list_sp_item_flag": "0",
                        "lmt_used_flag": "0",
                        "drt_reim_flag": "0",
                        "memo": "",
                    })
                })
                .collect();
            Ok(json!({"result": out}))
        }
        "2205" => {
            let d = data(input);
            let n = s.cancel_fee_lines(who, &required(d, "mdtrt_id")?, &required(d, "chrg_bchno")?).await?;
            Ok(json!({"removed": n}))
        }
        "2206" | "2207" => {
            let d = data(input);
            let medfee = match text(d, "medfee_sumamt") {
                t if t.is_empty() => None,
                t => Some(Fen::parse_yuan(&t).ok_or_else(|| HisError(format!("[invalid_amount] medfee_sumamt {t:?} is not an amount in yuan")))?),
            };
            let req = SettleRequest {
                mdtrt_id: required(d, "mdtrt_id")?,
                psn_no: required(d, "psn_no")?,
                use_account: text(d, "acct_used_flag") == "1",
                medfee_sumamt: medfee,
                med_type: Some(text(d, "med_type")).filter(|m| !m.is_empty()),
            };
            let settled = s.settle_visit(who, &req, infno == "2207").await?;
            Ok(settlement_output(&settled, msgid, d, false))
        }
        "2208" => {
            let d = data(input);
            let reversed = s.reverse_settlement(who, &required(d, "setl_id")?).await?;
            Ok(settlement_output(&reversed, msgid, d, true))
        }
        "5203" => {
            let d = data(input);
            let found = s.get_settlement(who, &required(d, "setl_id")?).await?;
            Ok(settlement_output(&found, "", d, false))
        }
        "3201" => reconciliation::totals(s, who, input).await,
        "3202" => reconciliation::details(s, who, input).await,
        "9101" => reconciliation::upload(s, who, input).await,
        other => Err(HisError(format!(
            "[unknown_transaction] transaction {other:?} is not offered; offered: 9001, 1101, 2201, 2202, 2203, 2203A, 2204, 2205, 2206, 2207, 2208, 5203, 3201, 3202, 9101"
        ))),
    }
}

fn person_info_output(info: &PersonInfo, certno: &str, now: DateTime<Utc>) -> Value {
    let today = now.with_timezone(&shanghai()).date_naive();
    let p = &info.person;
    let insured_on = p.created_at.with_timezone(&shanghai()).date_naive();
    // Identities known since the person's record: no end date (`endtime` null).
    let idet: Vec<Value> = p
        .flags
        .iter()
        .filter(|f| f.is_identity())
        .map(|f| json!({"psn_idet_type": f.as_str(), "psn_type_lv": "", "memo": "", "begntime": format!("{insured_on} 00:00:00"), "endtime": Value::Null}))
        .collect();
    json!({
        "baseinfo": {
            "psn_no": info.psn_no,
            "psn_cert_type": "01",
            "certno": certno,
            "psn_name": p.name,
            "gend": p.gender.code(),
            "naty": p.ethnicity,
            "brdy": p.birth_date.to_string(),
            "age": yikatong_service::age_on(p.birth_date, today),
            "exp_content": "",
            // R-SET-9 (an extension): the asking institution's visit card linked to the
            // holder, "" when none, so that the social security card alone finds it.
            "visit_card_no": info.visit_card_no.clone().unwrap_or_default(),
        },
        "insuinfo": [{
            "balc": yuan(info.balance),
            "insutype": p.category.insutype(),
            "psn_type": p.category.psn_type(),
            "psn_insu_stas": if has_flag(&p.flags, PersonFlag::InsuranceSuspended) { "2" } else { "1" },
            "psn_insu_date": insured_on.to_string(),
            "paus_insu_date": Value::Null,
            "cvlserv_flag": flag(has_flag(&p.flags, PersonFlag::CivilServant)),
            "insuplc_admdvs": info.admdvs,
            "emp_name": p.unit_code.clone().unwrap_or_default(),
            "certno": certno,
        }],
        "idetinfo": idet,
        // The card's state as in force now: a pre-loss shows as `pre_lost` (R-SET-10).
        "cardinfo": info.card.as_ref().map(|c| json!({"card_id": c.id, "card_no": c.card_number, "card_stas": c.reported_state(now)})),
    })
}

/// A yes/no field of the interface: `1` yes, `0` no.
fn flag(yes: bool) -> &'static str {
    if yes { "1" } else { "0" }
}

/// 2206/2207/5203's answer, or 2208's (`reversal`: the receipt as its reversal shows it,
/// see `Receipt::reversal`).
fn settlement_output(st: &Settlement, msgid: &str, d: &Value, reversal: bool) -> Value {
    let r = if reversal { st.receipt.reversal() } else { st.receipt.clone() };
    let p = &st.person;
    let ratio = format!("{}.{:04}", r.ratio.0 / 10_000, r.ratio.0 % 10_000);
    let insutype = p.category.insutype();
    let proc_info = r.trace.iter().map(|t| t.step.clone()).collect::<Vec<_>>().join("; ");
    // One row per fund that paid (R-SET-3): the basic fund's always, the others where
    // their part is not zero, then the personal account's.
    let mut detail: Vec<Value> = Fund::ALL
        .into_iter()
        .filter(|f| *f == Fund::Basic || r.paid_by(*f) != Fen::ZERO)
        .map(|f| {
            json!({
                "fund_pay_type": f.fund_pay_type(insutype),
                "inscp_scp_amt": yuan(r.inscp),
                "crt_payb_lmt_amt": yuan(if f == Fund::Basic { r.deductible_applied } else { Fen::ZERO }),
                "fund_payamt": yuan(r.paid_by(f)),
                "fund_pay_type_name": f.name_zh(insutype),
                "setl_proc_info": if f == Fund::Basic { proc_info.clone() } else { format!("{}: {}", f.key(), yuan(r.paid_by(f))) },
            })
        })
        .collect();
    if r.acct_pay != Fen::ZERO {
        detail.push(json!({"fund_pay_type": "310200", "inscp_scp_amt": yuan(r.acct_pay), "crt_payb_lmt_amt": yuan(Fen::ZERO), "fund_payamt": yuan(r.acct_pay), "fund_pay_type_name": "职工基本医疗保险个人账户", "setl_proc_info": "personal account"}));
    }
    json!({
        "setlinfo": {
            "setl_id": st.setl_id,
            "mdtrt_id": st.mdtrt_id,
            "psn_no": st.psn_no,
            "psn_name": p.name,
            "psn_cert_type": "01",
            "certno": mask_ssn(&p.ssn),
            "gend": p.gender.code(),
            "naty": p.ethnicity,
            "brdy": p.birth_date.to_string(),
            "age": yikatong_service::age_on(p.birth_date, st.settled_at.with_timezone(&shanghai()).date_naive()),
            "insutype": insutype,
            "psn_type": p.category.psn_type(),
            "cvlserv_flag": flag(has_flag(&p.flags, PersonFlag::CivilServant)),
            "flxempe_flag": flag(p.category == Category::Flexible),
            "setl_time": st.settled_at.with_timezone(&shanghai()).format("%Y-%m-%d %H:%M:%S").to_string(),
            "mdtrt_cert_type": text(d, "mdtrt_cert_type"),
            "med_type": text(d, "med_type"),
            "medfee_sumamt": yuan(r.total),
            "med_sumfee": yuan(r.total),
            "fulamt_ownpay_amt": yuan(r.fulamt_ownpay),
            "overlmt_selfpay": yuan(r.overlmt_selfpay),
            "preselfpay_amt": yuan(r.preselfpay),
            "inscp_scp_amt": yuan(r.inscp),
            "act_pay_dedc": yuan(r.deductible_applied),
            "hifp_pay": yuan(r.paid_by(Fund::Basic)),
            "pool_prop_selfpay": ratio,
            "cvlserv_pay": yuan(r.paid_by(Fund::CivilServant)),
            "hifes_pay": yuan(r.paid_by(Fund::RetireeSupplementary)),
            "hifmi_pay": yuan(Fen::ZERO),
            "hifob_pay": yuan(r.paid_by(Fund::LargeAmount)),
            "maf_pay": yuan(Fen::ZERO),
            "hifdm_pay": yuan(Fen::ZERO),
            "oth_pay": yuan(r.paid_by(Fund::DisabledVeteran)),
            "fund_pay_sumamt": yuan(r.fund_pay_sumamt),
            "psn_part_amt": yuan(r.psn_part_amt),
            "acct_pay": yuan(r.acct_pay),
            "psn_cash_pay": yuan(r.psn_cash_pay),
            "hosp_part_amt": yuan(Fen::ZERO),
            "balc": yuan(r.balance_after),
            "acct_mulaid_pay": yuan(r.acct_mulaid_pay),
            "medins_setl_id": msgid,
            "clr_optins": st.admdvs,
            "clr_way": "1",
            "clr_type": "11",
            "setl_stas": st.state,
            "refd_setl_flag": flag(reversal),
            // R-SET-5: the registration fee's own settlement, when this 2207 booked one.
            "memo": st.registration_setl_id.as_ref().map(|id| format!("registration fee settled apart: {id}")).unwrap_or_default(),
        },
        "setldetail": detail,
    })
}
