//! R-APP-3: a unit's batch application file (`ssn` 公民身份号码, `name` 姓名, `phone`
//! 联系电话, `financial` 金融卡). Every bad row is reported with its line and reason;
//! good rows become applications. A row whose person already has this unit's card
//! application (from an earlier run of the same file, or one cut short) is counted as
//! already applied, so sending a file again, or again after a crash, creates nothing
//! twice and loses nothing.

use serde::Serialize;
use yikatong_core::Refusal;
use yikatong_core::access::{Principal, Role};
use yikatong_core::card::Origin;
use yikatong_core::identity::{Ssn, mask_ssn};
use yikatong_core::registry::check_phone;

use super::table::{Column, Table, readable};
use crate::{Service, ServiceError, ServiceResult};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RowRefusal {
    /// The file's line (the header is line 1).
    pub line: usize,
    /// The ID number as written, masked when it is one.
    pub ssn: String,
    pub code: String,
    pub reason: String,
}

impl RowRefusal {
    /// A refused row, with the ID number as written (masked when it has an ID number's
    /// length, since it may be a real one with one wrong character).
    pub fn new(line: usize, written_ssn: &str, refusal: Refusal) -> Self {
        let ssn = if written_ssn.chars().count() == 18 { mask_ssn(written_ssn) } else { written_ssn.to_string() };
        RowRefusal { line, ssn, code: refusal.code.into(), reason: refusal.message }
    }
}

#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct ApplicationReport {
    pub unit: String,
    /// `UTF-8` or `GBK`.
    pub encoding: String,
    pub rows: usize,
    /// New applications made by this run.
    pub accepted: usize,
    /// Rows whose person already had this unit's application (an earlier run).
    pub already_applied: usize,
    pub refused: Vec<RowRefusal>,
    /// Card ids of the new applications.
    pub card_ids: Vec<i64>,
}

const COLUMNS: [(&str, &str, bool); 4] = [("ssn", "公民身份号码", true), ("name", "姓名", true), ("phone", "联系电话", false), ("financial", "金融卡", false)];

fn parse_financial(v: &str) -> Result<bool, Refusal> {
    match v.trim().to_lowercase().as_str() {
        "" | "否" | "no" | "n" | "0" | "false" => Ok(false),
        "是" | "yes" | "y" | "1" | "true" => Ok(true),
        other => Err(Refusal::bad_input("invalid_financial", format!("金融卡 / financial must be 是 or 否 (yes or no), not {other:?}"))),
    }
}

impl Service {
    /// Imports a unit's batch application file (the unit itself, a clerk or an operator).
    pub async fn import_applications(&self, who: &Principal, unit: &str, input: impl std::io::BufRead + Send) -> ServiceResult<ApplicationReport> {
        who.require(&[Role::Unit, Role::Clerk, Role::Operator])?;
        if who.role == Role::Unit && who.unit.as_deref() != Some(unit) {
            return Err(Refusal::forbidden("not_your_unit", format!("a unit applies only for its own people, not for unit {unit}")).into());
        }
        self.require_unit(unit).await?;
        let columns: Vec<Column> = COLUMNS.iter().map(|(en, zh, required)| Column { en, zh, required: *required }).collect();
        let mut report = ApplicationReport { unit: unit.into(), ..Default::default() };
        let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
        // Applications are made as the unit (the channel of R-APP-3).
        let as_unit = yikatong_core::access::Principal { role: Role::Unit, unit: Some(unit.into()), outlet: None, institution: None, person_hash: None, token_id: who.token_id };
        let mut table = Table::read(input, &columns)?;
        for row in table.by_ref() {
            report.rows += 1;
            let Some(row) = readable(row, &mut report.refused, |line, r| RowRefusal::new(line, "", r)) else { continue };
            match self.application_row(&as_unit, unit, &row.cells, row.line, &mut seen).await {
                Ok(Some(card_id)) => {
                    report.accepted += 1;
                    report.card_ids.push(card_id);
                }
                Ok(None) => report.already_applied += 1,
                Err(ServiceError::Refused(r)) => report.refused.push(RowRefusal::new(row.line, &row.cells[0], r)),
                Err(other) => return Err(other),
            }
        }
        report.encoding = table.encoding().into();
        tracing::info!(unit, rows = report.rows, accepted = report.accepted, refused = report.refused.len(), "batch application imported");
        Ok(report)
    }

    /// One row: `Some(card id)` for a new application, `None` when this unit's
    /// application for the person already exists.
    async fn application_row(&self, as_unit: &Principal, unit: &str, cells: &[String], line: usize, seen: &mut std::collections::HashMap<String, usize>) -> ServiceResult<Option<i64>> {
        let ssn = Ssn::parse(&cells[0])?;
        if let Some(first) = seen.insert(ssn.expose().to_string(), line) {
            return Err(Refusal::bad_input("duplicate", format!("this person is already on line {first} of the file")).into());
        }
        let financial = parse_financial(&cells[3])?;
        if !cells[2].is_empty() {
            check_phone(&cells[2])?;
        }
        let person = self
            .store
            .get_person(ssn.expose())
            .await?
            .ok_or_else(|| ServiceError::from(Refusal::bad_input("not_insured", "no insured person has this ID number")))?;
        if person.unit_code.as_deref() != Some(unit) {
            return Err(Refusal::bad_input("not_in_unit", format!("the person is not insured through unit {unit}")).into());
        }
        if person.name != cells[1] {
            return Err(Refusal::bad_input("name_mismatch", "the name differs from the insurance record; file an information change first").into());
        }
        let hash = self.store.data_key().lookup_hash(ssn.expose());
        let mine = self.store.cards_of_person(&hash).await?.into_iter().any(|c| c.state.is_alive() && matches!(&c.origin, Origin::FirstIssue { unit: Some(u) } if u == unit));
        if mine {
            return Ok(None);
        }
        Ok(Some(self.apply_for_card(as_unit, ssn.expose(), financial).await?.id))
    }
}
