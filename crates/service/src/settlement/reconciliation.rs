//! Daily reconciliation with institutions (对账, 3201 totals and 3202 details). The
//! records counted are the platform's: a settlement booked in the period is one record
//! (`refd_setl_flag` 0, its amounts as booked) and its reversal in the period another
//! (`refd_setl_flag` 1, the same amounts negative), each in the period of its own time.
//! A period is whole business days (Asia/Shanghai), `stmt_begndate` to `stmt_enddate`
//! inclusive.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use yikatong_core::Refusal;
use yikatong_core::access::Principal;
use yikatong_core::clock::shanghai;
use yikatong_core::money::Fen;
use yikatong_core::registry::Category;
use yikatong_core::settlement::SettlementKind;

use super::{institution_of, psn_no};
use crate::{Service, ServiceError, ServiceResult};

/// One record of the platform's count: a settlement or its reversal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReconRecord {
    pub setl_id: String,
    pub mdtrt_id: String,
    pub psn_no: String,
    pub insutype: String,
    /// 清算类别: 11 outpatient (every real-time settlement here is outpatient).
    pub clr_type: String,
    pub medfee_sumamt: Fen,
    pub fund_pay_sumamt: Fen,
    pub acct_pay: Fen,
    /// `true` for the record of a reversal (`refd_setl_flag` 1).
    pub refund: bool,
}

/// Count and sums of records, as 3201 compares them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReconTotals {
    pub count: i64,
    pub medfee_sumamt: Fen,
    pub fund_pay_sumamt: Fen,
    pub acct_pay: Fen,
}

impl ReconTotals {
    pub fn of<'a>(records: impl IntoIterator<Item = &'a ReconRecord>) -> ReconTotals {
        records.into_iter().fold(ReconTotals::default(), |t, r| ReconTotals {
            count: t.count + 1,
            medfee_sumamt: t.medfee_sumamt + r.medfee_sumamt,
            fund_pay_sumamt: t.fund_pay_sumamt + r.fund_pay_sumamt,
            acct_pay: t.acct_pay + r.acct_pay,
        })
    }
}

/// Which records a reconciliation covers.
#[derive(Debug, Clone, Default)]
pub struct ReconScope {
    /// Empty: every insurance type.
    pub insutype: String,
    /// Empty: every clearing type.
    pub clr_type: String,
    pub begin: NaiveDate,
    pub end: NaiveDate,
    /// `Some(false)` settlements only, `Some(true)` reversals only, `None` both.
    pub refund: Option<bool>,
}

impl ReconScope {
    fn covers(&self, r: &ReconRecord) -> bool {
        (self.insutype.is_empty() || self.insutype == r.insutype) && (self.clr_type.is_empty() || self.clr_type == r.clr_type) && self.refund.is_none_or(|f| f == r.refund)
    }
}

/// One line of an institution's 3202 list that differs from the service's records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReconDifference {
    /// The institution's line (`None`: the service has a record the list lacks).
    pub theirs: Option<ReconRecord>,
    /// The service's record (`None`: the list has a line the service does not know).
    pub ours: Option<ReconRecord>,
    /// 1 amounts differ, 2 only in the institution's list, 3 only in the service's.
    pub stmt_rslt: &'static str,
    pub memo: String,
}

impl Service {
    /// 9101: keeps a file the institution uploads (the 3202 detail list) and answers its
    /// query number; the file is the institution's alone.
    pub async fn upload_his_file(&self, who: &Principal, filename: &str, content: Vec<u8>) -> ServiceResult<yikatong_store::HisFile> {
        let institution = institution_of(who)?;
        if content.is_empty() {
            return Err(Refusal::bad_input("empty_file", "fsUploadIn.in holds no bytes").into());
        }
        let r: [u8; 12] = yikatong_store::crypto::random_bytes();
        let file = yikatong_store::HisFile {
            file_qury_no: format!("F{}", hex::encode_upper(r)),
            institution,
            filename: filename.chars().take(200).collect(),
            content,
            created_at: self.clock.now(),
        };
        self.store.insert_his_file(&file).await?;
        Ok(file)
    }

    /// A file the caller institution uploaded with 9101.
    pub async fn his_file(&self, who: &Principal, file_qury_no: &str) -> ServiceResult<yikatong_store::HisFile> {
        let institution = institution_of(who)?;
        self.store
            .his_file(file_qury_no, &institution)
            .await?
            .ok_or_else(|| Refusal::not_found("file_not_found", format!("there is no uploaded file {file_qury_no} of this institution")).into())
    }

    /// The caller institution's records in `scope` (3201, 3202).
    pub async fn reconciliation_records(&self, who: &Principal, scope: &ReconScope) -> ServiceResult<Vec<ReconRecord>> {
        let institution = institution_of(who)?;
        if scope.end < scope.begin {
            return Err(Refusal::bad_input("invalid_period", format!("stmt_enddate {} is before stmt_begndate {}", scope.end, scope.begin)).into());
        }
        let (from, to) = (start_of(scope.begin)?, start_of(scope.end.succ_opt().ok_or_else(|| Refusal::bad_input("invalid_period", "stmt_enddate is out of range"))?)?);
        let mut settlements = Vec::new();
        for kind in SettlementKind::WITH_THE_CARD {
            settlements.extend(self.store.settlements_of_institution(&institution, kind, from, to).await?);
        }
        settlements.sort_by(|a, b| (a.created_at, &a.setl_id).cmp(&(b.created_at, &b.setl_id)));
        let hashes: Vec<String> = settlements.iter().map(|s| s.person_hash.clone()).collect();
        let mut categories: HashMap<String, Category> = self.store.persons_by_hashes(&hashes).await?.into_iter().map(|(h, p)| (h, p.category)).collect();
        // Another region's holder is known by the visit's record of them (R-XREG-2).
        for s in settlements.iter().filter(|s| s.is_care_copy()) {
            if !categories.contains_key(&s.person_hash)
                && let Some(visit) = self.store.get_visit(&s.mdtrt_id).await?
            {
                categories.insert(s.person_hash.clone(), super::cross_region::holder_of(&visit)?.category);
            }
        }
        let mut out = Vec::new();
        for mut s in settlements {
            let receipt = super::booking::stored_receipt(&mut s)?;
            // A settlement whose person is gone is reported as an employee's (310).
            let category = categories.get(&s.person_hash).copied().unwrap_or(Category::InService);
            let record = |refund: bool| {
                let r = if refund { receipt.reversal() } else { receipt.clone() };
                ReconRecord {
                    setl_id: s.setl_id.clone(),
                    mdtrt_id: s.mdtrt_id.clone(),
                    psn_no: psn_no(&s.person_hash),
                    insutype: category.insutype().to_string(),
                    clr_type: "11".into(),
                    medfee_sumamt: r.total,
                    fund_pay_sumamt: r.fund_pay_sumamt,
                    acct_pay: r.acct_pay,
                    refund,
                }
            };
            if (from..to).contains(&s.created_at) {
                out.push(record(false));
            }
            if s.reversed_at.is_some_and(|at| (from..to).contains(&at)) {
                out.push(record(true));
            }
        }
        out.retain(|r| scope.covers(r));
        Ok(out)
    }
}

/// 3202: the institution's list against the service's records, every line that
/// differs or is missing on either side, in `setl_id` order.
pub fn compare_details(theirs: &[ReconRecord], ours: &[ReconRecord]) -> Vec<ReconDifference> {
    let key = |r: &ReconRecord| (r.setl_id.clone(), r.refund);
    let mut ours_by: BTreeMap<(String, bool), &ReconRecord> = ours.iter().map(|r| (key(r), r)).collect();
    let mut out = Vec::new();
    for t in theirs {
        match ours_by.remove(&key(t)) {
            None => out.push(ReconDifference {
                theirs: Some(t.clone()),
                ours: None,
                stmt_rslt: "2",
                memo: format!("settlement {} is not one of this institution's records in the period", t.setl_id),
            }),
            Some(o) => {
                let mut differ = amount_differences([
                    ("medfee_sumamt", t.medfee_sumamt, o.medfee_sumamt),
                    ("fund_pay_sumamt", t.fund_pay_sumamt, o.fund_pay_sumamt),
                    ("acct_pay", t.acct_pay, o.acct_pay),
                ]);
                if !t.mdtrt_id.is_empty() && t.mdtrt_id != o.mdtrt_id {
                    differ.push(format!("mdtrt_id {} here {}", t.mdtrt_id, o.mdtrt_id));
                }
                if !differ.is_empty() {
                    out.push(ReconDifference { theirs: Some(t.clone()), ours: Some(o.clone()), stmt_rslt: "1", memo: differ.join("; ") });
                }
            }
        }
    }
    for (_, o) in ours_by {
        out.push(ReconDifference {
            theirs: None,
            ours: Some(o.clone()),
            stmt_rslt: "3",
            memo: format!("settlement {} of the period is missing from the institution's list", o.setl_id),
        });
    }
    out.sort_by(|a, b| {
        let id = |d: &ReconDifference| d.theirs.as_ref().or(d.ours.as_ref()).map(|r| (r.setl_id.clone(), r.refund));
        id(a).cmp(&id(b))
    });
    out
}

/// Each amount that differs, as `field theirs here ours` (3201's description, 3202's memo).
pub fn amount_differences<const N: usize>(pairs: [(&str, Fen, Fen); N]) -> Vec<String> {
    pairs.iter().filter(|(_, a, b)| a != b).map(|(field, a, b)| format!("{field} {a} here {b}")).collect()
}

/// The 3202 detail file (uploaded with 9101): one settlement a line, fields separated by
/// tabs (or commas) — `setl_id, mdtrt_id, psn_no, medfee_sumamt, fund_pay_sumamt,
/// acct_pay, refd_setl_flag` — amounts in yuan. Blank lines are skipped; a bad line is
/// refused naming its number.
pub fn parse_detail_text(text: &str) -> ServiceResult<Vec<ReconRecord>> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim_start_matches('\u{feff}').trim();
        if line.is_empty() {
            continue;
        }
        let sep = if line.contains('\t') { '\t' } else { ',' };
        let f: Vec<&str> = line.split(sep).map(str::trim).collect();
        let bad = |why: String| ServiceError::from(Refusal::bad_input("invalid_detail_line", format!("detail line {}: {why}", n + 1)));
        if f.len() < 7 {
            return Err(bad(format!("{} fields; a line has 7 (setl_id, mdtrt_id, psn_no, medfee_sumamt, fund_pay_sumamt, acct_pay, refd_setl_flag)", f.len())));
        }
        let amount = |i: usize, name: &str| yikatong_core::money::parse_decimal(f[i], 2).map(Fen).ok_or_else(|| bad(format!("{name} {:?} is not an amount in yuan", f[i])));
        let refund = match f[6] {
            "0" => false,
            "1" => true,
            other => return Err(bad(format!("refd_setl_flag {other:?} is not 0 or 1"))),
        };
        out.push(ReconRecord {
            setl_id: f[0].into(),
            mdtrt_id: f[1].into(),
            psn_no: f[2].into(),
            insutype: String::new(),
            clr_type: String::new(),
            medfee_sumamt: amount(3, "medfee_sumamt")?,
            fund_pay_sumamt: amount(4, "fund_pay_sumamt")?,
            acct_pay: amount(5, "acct_pay")?,
            refund,
        });
    }
    Ok(out)
}

fn start_of(day: NaiveDate) -> ServiceResult<DateTime<Utc>> {
    day.and_hms_opt(0, 0, 0)
        .and_then(|t| t.and_local_timezone(shanghai()).single())
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| ServiceError::Internal(format!("no start of day {day}")))
}

/// The text of a 9101 detail file: a zip archive (as the platform takes it) of text
/// files, or the text itself; UTF-8 or GB18030 (GBK).
pub fn detail_file_text(bytes: &[u8]) -> ServiceResult<String> {
    let bad = |why: String| ServiceError::from(Refusal::bad_input("invalid_detail_file", why));
    let mut raw = Vec::new();
    if bytes.starts_with(b"PK\x03\x04") {
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(|e| bad(format!("the zip archive cannot be read: {e}")))?;
        for i in 0..archive.len() {
            let mut entry = archive.by_index(i).map_err(|e| bad(format!("the zip archive's entry {i} cannot be read: {e}")))?;
            if entry.is_file() {
                std::io::Read::read_to_end(&mut entry, &mut raw).map_err(|e| bad(format!("the zip archive's entry {i} cannot be read: {e}")))?;
                raw.push(b'\n');
            }
        }
    } else {
        raw.extend_from_slice(bytes);
    }
    if let Ok(text) = String::from_utf8(raw.clone()) {
        return Ok(text);
    }
    let (text, had_errors) = encoding_rs::GB18030.decode_without_bom_handling(&raw);
    if had_errors {
        return Err(bad("the file is neither UTF-8 nor GBK text".into()));
    }
    Ok(text.into_owned())
}
