//! Production files (R-APP-4): the personalisation file a card factory needs for a
//! batch, the factory's and the bank's result files, and the unit's list of who has a
//! card, who does not, and why.

use serde::Serialize;
use yikatong_core::Refusal;
use yikatong_core::access::{Operation, Principal, Role};
use yikatong_core::identity::mask_ssn;
use yikatong_core::registry::{PersonFlag, has_flag};

use super::applications::RowRefusal;
use super::table::{Column, Table, readable};
use crate::{ProductionResult, Service, ServiceError, ServiceResult};

/// Columns of the personalisation file, in order.
pub const PERSONALISATION_HEADER: &str = "card_id,generation,financial,admdvs,ssn,name,gender,ethnicity,birth_date,photo_ref";

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_string() }
}

#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct FileReport {
    pub rows: usize,
    pub accepted: usize,
    pub refused: Vec<RowRefusal>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct UnitPerson {
    pub ssn_masked: String,
    pub name: String,
    /// `has_card`, `in_progress` or `no_card`.
    pub status: String,
    pub card_id: Option<i64>,
    pub card_state: Option<String>,
    /// Why there is no card, when there is a reason (R-APP-4).
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct UnitPersonsPage {
    pub persons: Vec<UnitPerson>,
    /// Pass as `after` for the next page; absent on the last.
    pub next: Option<String>,
}

impl Service {
    /// The personalisation file of a batch (operator, vendor): one line per card in
    /// production. It carries the full ID number, which the factory prints on the card.
    pub async fn personalisation_file(&self, who: &Principal, batch_id: i64) -> ServiceResult<String> {
        who.allow(Operation::PersonalisationFile)?;
        self.store.get_batch(batch_id).await?.ok_or_else(|| ServiceError::from(Refusal::not_found("batch_not_found", format!("there is no production batch {batch_id}"))))?;
        let mut out = String::from(PERSONALISATION_HEADER);
        out.push('\n');
        for card in self.store.cards_in_batch(batch_id).await? {
            let p = self.card_holder(&card).await?;
            let admdvs = self.policies.region(&card.region).map(|r| r.admdvs.clone()).unwrap_or_default();
            let fields = [
                card.id.to_string(),
                card.generation.to_string(),
                if card.financial { "1" } else { "0" }.to_string(),
                admdvs,
                p.ssn.clone(),
                csv_field(&card.printed.name),
                p.gender.code().to_string(),
                p.ethnicity.clone(),
                p.birth_date.format("%Y%m%d").to_string(),
                String::new(),
            ];
            out.push_str(&fields.join(","));
            out.push('\n');
        }
        tracing::info!(batch_id, "personalisation file exported");
        Ok(out)
    }

    /// The factory's result file (`card_id`, `card_number`, `card_identification_code`,
    /// `failed`), line by line; a bad line is reported, the others are recorded.
    pub async fn import_production_results(&self, who: &Principal, batch_id: i64, input: impl std::io::BufRead + Send) -> ServiceResult<FileReport> {
        let cols = [
            Column { en: "card_id", zh: "卡序号", required: true },
            Column { en: "card_number", zh: "社会保障卡号", required: false },
            Column { en: "card_identification_code", zh: "卡识别码", required: false },
            Column { en: "failed", zh: "失败原因", required: false },
        ];
        let mut report = FileReport::default();
        for row in Table::read(input, &cols)? {
            report.rows += 1;
            let Some(row) = readable(row, &mut report.refused, |line, r| RowRefusal::new(line, "", r)) else { continue };
            let Ok(card_id) = row.cells[0].parse::<i64>() else {
                report.refused.push(RowRefusal {
                    line: row.line,
                    ssn: String::new(),
                    code: "invalid_card_id".into(),
                    reason: format!("card_id {:?} is not a number", row.cells[0]),
                });
                continue;
            };
            let some = |s: &String| Some(s.clone()).filter(|s| !s.is_empty());
            let line = ProductionResult { card_id, card_number: some(&row.cells[1]), card_identification_code: some(&row.cells[2]), failed: some(&row.cells[3]) };
            let outcome = self.record_production_results(who, batch_id, std::slice::from_ref(&line)).await?;
            match outcome.first() {
                Some(r) if r.status != "refused" => report.accepted += 1,
                Some(r) => {
                    report.refused.push(RowRefusal { line: row.line, ssn: String::new(), code: r.code.clone().unwrap_or_default(), reason: r.message.clone().unwrap_or_default() });
                }
                None => {}
            }
        }
        Ok(report)
    }

    /// The bank's account-opening result file (`card_id`, `opened` 是/否, `reason`).
    pub async fn import_bank_results(&self, who: &Principal, input: impl std::io::BufRead + Send) -> ServiceResult<FileReport> {
        let cols =
            [Column { en: "card_id", zh: "卡序号", required: true }, Column { en: "opened", zh: "开户成功", required: true }, Column { en: "reason", zh: "原因", required: false }];
        let mut report = FileReport::default();
        for row in Table::read(input, &cols)? {
            report.rows += 1;
            let Some(row) = readable(row, &mut report.refused, |line, r| RowRefusal::new(line, "", r)) else { continue };
            let refuse = |code: &str, reason: String| RowRefusal { line: row.line, ssn: String::new(), code: code.into(), reason };
            let Ok(card_id) = row.cells[0].parse::<i64>() else {
                report.refused.push(refuse("invalid_card_id", format!("card_id {:?} is not a number", row.cells[0])));
                continue;
            };
            let opened = match row.cells[1].to_lowercase().as_str() {
                "是" | "yes" | "1" | "true" => true,
                "否" | "no" | "0" | "false" => false,
                other => {
                    report.refused.push(refuse("invalid_opened", format!("opened must be 是 or 否 (yes or no), not {other:?}")));
                    continue;
                }
            };
            let reason = Some(row.cells[2].clone()).filter(|r| !r.is_empty());
            match self.record_bank_account(who, card_id, opened, reason).await {
                Ok(_) => report.accepted += 1,
                Err(ServiceError::Refused(r)) => report.refused.push(refuse(r.code, r.message)),
                Err(e) => return Err(e),
            }
        }
        Ok(report)
    }

    /// A unit's people with their card status and, without a card, the reason
    /// (R-APP-4); pages of `limit` after `after`.
    pub async fn unit_persons(&self, who: &Principal, unit: &str, after: Option<&str>, limit: i64) -> ServiceResult<UnitPersonsPage> {
        who.allow(Operation::ReadUnitPersons)?;
        if who.role == Role::Unit && who.unit.as_deref() != Some(unit) {
            return Err(Refusal::not_found("unit_not_found", format!("there is no unit {unit} visible to you")).into());
        }
        self.require_unit(unit).await?;
        let limit = limit.clamp(1, 500);
        let rows = self.store.unit_persons_page(unit, after, limit).await?;
        let next = (rows.len() as i64 == limit).then(|| rows.last().map(|(h, _)| h.clone())).flatten();
        let mut persons = Vec::with_capacity(rows.len());
        for (hash, p) in rows {
            let cards = self.store.cards_of_person(&hash).await?;
            let alive = cards.iter().filter(|c| c.state.is_alive()).max_by_key(|c| c.id);
            let last = cards.iter().max_by_key(|c| c.id);
            let (status, card, reason) = match (alive, last) {
                (Some(c), _) if matches!(c.state.as_str(), "issued" | "active") => ("has_card", Some(c), None),
                // Held out of production until a second collection (R-CMP-3): the unit acts.
                (Some(c), _) if has_flag(&p.flags, PersonFlag::SecondCollectionPending) => {
                    ("in_progress", Some(c), Some("awaiting second collection (information comparison)".to_string()))
                }
                (Some(c), _) => ("in_progress", Some(c), c.held_reason.clone()),
                (None, Some(c)) => ("no_card", Some(c), c.failure_reason.clone().or_else(|| Some(format!("the last card is {}", c.state.as_str())))),
                (None, None) => (
                    "no_card",
                    None,
                    p.flags
                        .iter()
                        .find(|f| matches!(f, PersonFlag::SecondCollectionPending | PersonFlag::MigrantWorker1Pct))
                        .map(|f| f.as_str().replace('_', " "))
                        .or_else(|| Some("no application yet".into())),
                ),
            };
            persons.push(UnitPerson {
                ssn_masked: mask_ssn(&p.ssn),
                name: p.name.clone(),
                status: status.into(),
                card_id: card.map(|c| c.id),
                card_state: card.map(|c| c.state.as_str().to_string()),
                reason,
            });
        }
        Ok(UnitPersonsPage { persons, next })
    }
}
