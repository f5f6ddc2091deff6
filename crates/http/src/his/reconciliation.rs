//! Reconciliation in the interface's words: `3201` totals (对总账), `3202` details
//! (对明细账) inline or from a file uploaded with `9101`. See
//! `yikatong_service::ReconScope` for which records count.

use base64::Engine;
use serde_json::{Value, json};
use yikatong_core::access::Principal;
use yikatong_core::money::Fen;
use yikatong_service::{ReconDifference, ReconRecord, ReconScope, ReconTotals, Service, amount_differences, compare_details, detail_file_text, parse_detail_text};

use super::{HisError, HisResult, data, required, text, yuan};

/// The period and filters of a 3201 or 3202 `data`.
fn scope_of(d: &Value) -> Result<ReconScope, HisError> {
    let date = |key: &str| -> Result<chrono::NaiveDate, HisError> {
        let t = required(d, key)?;
        yikatong_core::clock::parse_business_time(key, &t).map(|t| t.date()).map_err(|e| HisError::from(yikatong_service::ServiceError::from(e)))
    };
    let refund = match text(d, "refd_setl_flag").as_str() {
        "" => None,
        "0" => Some(false),
        "1" => Some(true),
        other => return Err(HisError(format!("[invalid_flag] refd_setl_flag {other:?} is not 0 or 1"))),
    };
    Ok(ReconScope { insutype: text(d, "insutype"), clr_type: text(d, "clr_type"), begin: date("stmt_begndate")?, end: date("stmt_enddate")?, refund })
}

/// An amount field of the institution's figures; absent is zero.
fn amount(d: &Value, key: &str) -> Result<Fen, HisError> {
    match text(d, key) {
        t if t.is_empty() => Ok(Fen::ZERO),
        t => yikatong_core::money::parse_decimal(&t, 2).map(Fen).ok_or_else(|| HisError(format!("[invalid_amount] {key} {t:?} is not an amount in yuan with at most 2 decimals"))),
    }
}

/// 3201: the institution's totals against the service's.
pub(super) async fn totals(s: &Service, who: &Principal, input: &Value) -> HisResult {
    let d = data(input);
    let scope = scope_of(d)?;
    let count = match text(d, "fixmedins_setl_cnt") {
        t if t.is_empty() => 0,
        t => t.parse::<i64>().map_err(|_| HisError(format!("[invalid_count] fixmedins_setl_cnt {t:?} is not a whole number")))?,
    };
    let theirs = ReconTotals { count, medfee_sumamt: amount(d, "medfee_sumamt")?, fund_pay_sumamt: amount(d, "fund_pay_sumamt")?, acct_pay: amount(d, "acct_pay")? };
    let ours = ReconTotals::of(&s.reconciliation_records(who, &scope).await?);
    let mut differ = Vec::new();
    if theirs.count != ours.count {
        differ.push(format!("fixmedins_setl_cnt {} here {}", theirs.count, ours.count));
    }
    differ.extend(amount_differences([
        ("medfee_sumamt", theirs.medfee_sumamt, ours.medfee_sumamt),
        ("fund_pay_sumamt", theirs.fund_pay_sumamt, ours.fund_pay_sumamt),
        ("acct_pay", theirs.acct_pay, ours.acct_pay),
    ]));
    let dscr = if differ.is_empty() { format!("{} records agree", ours.count) } else { differ.join("; ") };
    Ok(json!({"stmtinfo": {
        "setl_optins": text(d, "setl_optins"),
        "stmt_rslt": if differ.is_empty() { "0" } else { "1" },
        "stmt_rslt_dscr": dscr,
        "fixmedins_setl_cnt": ours.count,
        "medfee_sumamt": yuan(ours.medfee_sumamt),
        "fund_pay_sumamt": yuan(ours.fund_pay_sumamt),
        "acct_pay": yuan(ours.acct_pay),
    }}))
}

/// A line of an inline 3202 list (`data.details[]`), the fields of the file's line.
fn inline_line(v: &Value, n: usize) -> Result<ReconRecord, HisError> {
    let line = ["setl_id", "mdtrt_id", "psn_no", "medfee_sumamt", "fund_pay_sumamt", "acct_pay", "refd_setl_flag"].map(|k| text(v, k)).join("\t");
    parse_detail_text(&line).map_err(HisError::from)?.pop().ok_or_else(|| HisError(format!("[invalid_detail_line] details[{n}] is empty")))
}

/// 3202: the institution's list of settlements for the period — inline in
/// `data.details`, or the file of `data.file_qury_no` uploaded with 9101 — against
/// the service's records; every line that differs or is missing is answered.
pub(super) async fn details(s: &Service, who: &Principal, input: &Value) -> HisResult {
    let d = data(input);
    let scope = scope_of(d)?;
    let (theirs, file) = if let Some(lines) = d.get("details").and_then(Value::as_array) {
        (lines.iter().enumerate().map(|(n, l)| inline_line(l, n)).collect::<Result<Vec<_>, _>>()?, None)
    } else {
        let file = s.his_file(who, &required(d, "file_qury_no")?).await?;
        (parse_detail_text(&detail_file_text(&file.content)?)?, Some(file))
    };
    // The list is compared with the records of its own kind when the request says so.
    let ours = s.reconciliation_records(who, &scope).await?;
    let differences = compare_details(&theirs, &ours);
    let result: Vec<Value> = differences.iter().map(difference_json).collect();
    let dscr = if differences.is_empty() {
        format!("{} records agree", ours.len())
    } else {
        format!("{} of {} lines differ or are missing", differences.len(), theirs.len().max(ours.len()))
    };
    Ok(json!({
        "fileinfo": {
            "file_qury_no": file.as_ref().map(|f| f.file_qury_no.clone()).unwrap_or_default(),
            "filename": file.as_ref().map(|f| f.filename.clone()).unwrap_or_default(),
            "dld_endtime": "",
        },
        "stmtinfo": {"setl_optins": text(d, "setl_optins"), "stmt_rslt": if differences.is_empty() { "0" } else { "1" }, "stmt_rslt_dscr": dscr},
        "result": result,
    }))
}

fn difference_json(x: &ReconDifference) -> Value {
    let shown = x.ours.as_ref().or(x.theirs.as_ref()).cloned().unwrap_or_else(|| ReconRecord {
        setl_id: String::new(),
        mdtrt_id: String::new(),
        psn_no: String::new(),
        insutype: String::new(),
        clr_type: String::new(),
        medfee_sumamt: Fen::ZERO,
        fund_pay_sumamt: Fen::ZERO,
        acct_pay: Fen::ZERO,
        refund: false,
    });
    json!({
        "psn_no": shown.psn_no,
        "mdtrt_id": shown.mdtrt_id,
        "setl_id": shown.setl_id,
        "msgid": "",
        "stmt_rslt": x.stmt_rslt,
        "refd_setl_flag": if shown.refund { "1" } else { "0" },
        "memo": x.memo,
        // The service's figures where it has the record, else the institution's.
        "medfee_sumamt": yuan(shown.medfee_sumamt),
        "fund_pay_sumamt": yuan(shown.fund_pay_sumamt),
        "acct_pay": yuan(shown.acct_pay),
    })
}

/// 9101: `fsUploadIn {in, filename}` — `in` the file's bytes as base64 text (as C#
/// clients serialise a byte array) or as an array of byte values (as Java clients do).
pub(super) async fn upload(s: &Service, who: &Principal, input: &Value) -> HisResult {
    let f = input.get("fsUploadIn").unwrap_or(input);
    let bytes = match f.get("in") {
        Some(Value::String(b64)) => {
            base64::engine::general_purpose::STANDARD.decode(b64.trim()).map_err(|e| HisError(format!("[invalid_file] fsUploadIn.in is not base64: {e}")))?
        }
        Some(Value::Array(values)) => values
            .iter()
            .map(|v| v.as_i64().and_then(|b| u8::try_from(b).ok().or_else(|| i8::try_from(b).ok().map(|b| b as u8))))
            .collect::<Option<Vec<u8>>>()
            .ok_or_else(|| HisError("[invalid_file] fsUploadIn.in must hold byte values (0-255 or -128-127)".into()))?,
        _ => return Err(HisError("[missing_field] fsUploadIn.in (the file's bytes) is required".into())),
    };
    let filename = required(f, "filename")?;
    let file = s.upload_his_file(who, &filename, bytes).await?;
    Ok(json!({"file_qury_no": file.file_qury_no, "filename": file.filename, "dld_endtime": ""}))
}
