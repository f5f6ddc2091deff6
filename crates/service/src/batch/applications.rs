//! R-APP-3: a unit's batch application file (`ssn` 公民身份号码, `name` 姓名, `phone`
//! 联系电话, `financial` 金融卡). Every bad row is reported with its line and reason;
//! good rows become applications. A row whose person already has this unit's card
//! application (from an earlier run of the same file, or one cut short) is counted as
//! already applied, so sending a file again, or again after a crash, creates nothing
//! twice and loses nothing.

use std::collections::HashMap;

use serde::Serialize;
use yikatong_core::Refusal;
use yikatong_core::access::{Operation, Principal, Role};
use yikatong_core::card::production::Applicant;
use yikatong_core::card::{Card, CardEvent};
use yikatong_core::identity::{Ssn, mask_ssn};
use yikatong_core::registry::check_phone;
use yikatong_store::Person;

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

const COLUMNS: [(&str, &str, bool); 6] = [
    ("ssn", "公民身份号码", true),
    ("name", "姓名", true),
    ("phone", "联系电话", false),
    ("financial", "金融卡", false),
    ("delivery", "领取方式", false),
    ("address", "邮寄地址", false),
];

/// R-DIST-1: 领取方式 as a unit's file writes it (单位 / 网点 / 邮寄 / 银行, or the
/// API's words); empty, the unit hands the card out.
fn parse_delivery(v: &str) -> Result<Option<String>, Refusal> {
    let way = match v.trim() {
        "" => return Ok(None),
        "单位" | "单位发放" => "unit",
        "网点" | "网点领取" | "网点自取" => "outlet",
        "邮寄" | "邮寄上门" => "mail",
        "银行" | "银行配送" | "银行集中配送" => "bank",
        other => other,
    };
    yikatong_core::card::delivery::DeliveryWay::parse(way).map(|w| Some(w.as_str().to_string()))
}

fn parse_financial(v: &str) -> Result<bool, Refusal> {
    match v.trim().to_lowercase().as_str() {
        "" | "否" | "no" | "n" | "0" | "false" => Ok(false),
        "是" | "yes" | "y" | "1" | "true" => Ok(true),
        other => Err(Refusal::bad_input("invalid_financial", format!("金融卡 / financial must be 是 or 否 (yes or no), not {other:?}"))),
    }
}

/// Rows decided together: one lookup of their persons and one transaction for their
/// cards (a few statements, however many rows).
const CHUNK: usize = 2000;

/// New applications after which the planner's statistics are refreshed.
const REFRESH_STATISTICS_AFTER: usize = 10_000;

/// A row whose cells are well formed, waiting for its chunk.
struct Candidate {
    line: usize,
    written_ssn: String,
    hash: String,
    name: String,
    financial: bool,
    /// The row gives a phone number.
    phone: bool,
    /// R-DIST-1: the row's 领取方式 and 邮寄地址, when given.
    delivery: Option<String>,
    address: Option<String>,
}

impl Service {
    /// Imports a unit's batch application file (the unit itself, a clerk or an operator).
    pub async fn import_applications(&self, who: &Principal, unit: &str, input: impl std::io::BufRead + Send) -> ServiceResult<ApplicationReport> {
        who.allow(Operation::ImportApplications)?;
        if who.role == Role::Unit && who.unit.as_deref() != Some(unit) {
            return Err(Refusal::forbidden("not_your_unit", format!("a unit applies only for its own people, not for unit {unit}")).into());
        }
        let unit_record = self.require_unit(unit).await?;
        // R-APP-3: a partner bank takes a unit's batch; its token names the bank.
        let bank = match who.role {
            Role::Bank => Some(who.outlet.clone().ok_or_else(|| {
                ServiceError::from(Refusal::bad_input("bank_code_required", "a partner bank's token names the bank (issue it with --bank) to take a unit's batch"))
            })?),
            _ => None,
        };
        // Who applies, the same for every row of the file (R-GEN-1, R-APP-3, the
        // late-collection fee).
        let last_cut = self.store.latest_batch_snapshot(&unit_record.region).await?;
        let applicant = Applicant::Unit { district: unit_record.district.as_deref(), bank: bank.as_deref(), last_cut };
        let columns: Vec<Column> = COLUMNS.iter().map(|(en, zh, required)| Column { en, zh, required: *required }).collect();
        let mut report = ApplicationReport { unit: unit.into(), ..Default::default() };
        // Who was on which line so far, by the first 128 bits of the person's keyed hash
        // (a million rows hold about 40 MB here, not the ID numbers themselves).
        let mut seen: HashMap<u128, usize> = HashMap::new();
        // Applications are made as the unit (the channel of R-APP-3).
        let as_unit = Principal { role: Role::Unit, unit: Some(unit.into()), outlet: None, institution: None, person_hash: None, token_id: who.token_id, unlocked: None };
        let mut table = Table::read(input, &columns)?;
        let mut pending = Vec::with_capacity(CHUNK);
        for row in table.by_ref() {
            report.rows += 1;
            let Some(row) = readable(row, &mut report.refused, |line, r| RowRefusal::new(line, "", r)) else { continue };
            match self.candidate(&row.cells, row.line, &mut seen) {
                Ok(c) => pending.push(c),
                Err(r) => report.refused.push(RowRefusal::new(row.line, &row.cells[0], r)),
            }
            if pending.len() >= CHUNK {
                self.apply_chunk(&as_unit, unit, &applicant, std::mem::take(&mut pending), &mut report).await?;
            }
        }
        self.apply_chunk(&as_unit, unit, &applicant, pending, &mut report).await?;
        report.refused.sort_by_key(|r| r.line);
        // A large file changes the cards table faster than autovacuum re-plans it; the
        // production cut's paging needs the planner to know how many cards are applied.
        if report.accepted >= REFRESH_STATISTICS_AFTER {
            self.store.refresh_statistics(&["cards", "card_events"]).await?;
        }
        report.encoding = table.encoding().into();
        tracing::info!(unit, rows = report.rows, accepted = report.accepted, refused = report.refused.len(), "batch application imported");
        Ok(report)
    }

    /// The checks one row passes on its own: its cells, and not twice in the file.
    fn candidate(&self, cells: &[String], line: usize, seen: &mut HashMap<u128, usize>) -> Result<Candidate, Refusal> {
        let ssn = Ssn::parse(&cells[0]).map_err(|e| Refusal::bad_input("invalid_ssn", e.to_string()))?;
        let hash = self.store.data_key().lookup_hash(ssn.expose());
        let key = u128::from_str_radix(hash.get(..32).unwrap_or(&hash), 16).unwrap_or_default();
        if let Some(first) = seen.insert(key, line) {
            return Err(Refusal::bad_input("duplicate", format!("this person is already on line {first} of the file")));
        }
        let financial = parse_financial(&cells[3])?;
        if !cells[2].is_empty() {
            check_phone(&cells[2])?;
        }
        let delivery = parse_delivery(&cells[4])?;
        let address = Some(cells[5].trim().to_string()).filter(|a| !a.is_empty());
        Ok(Candidate { line, written_ssn: cells[0].clone(), hash, name: cells[1].clone(), financial, phone: !cells[2].is_empty(), delivery, address })
    }

    /// A chunk of rows against the insurance records and the cards the persons hold, as
    /// one transaction: the persons are locked, so a clerk applying for one of them at
    /// the same time waits, and the unit's applications are written together.
    async fn apply_chunk(&self, as_unit: &Principal, unit: &str, applicant: &Applicant<'_>, chunk: Vec<Candidate>, report: &mut ApplicationReport) -> ServiceResult<()> {
        if chunk.is_empty() {
            return Ok(());
        }
        let hashes: Vec<String> = chunk.iter().map(|c| c.hash.clone()).collect();
        // By the number as it is now; their cards by their key (R-EXCH-1).
        let persons: HashMap<String, Person> = self.store.persons_by_numbers(&hashes).await?.into_iter().collect();
        let keys: Vec<String> = persons.values().map(|p| p.key.clone()).collect();
        let mut tx = self.begin_write().await?;
        let mut cards_of: HashMap<String, Vec<Card>> = HashMap::new();
        for card in tx.lock_persons_cards(&keys).await? {
            cards_of.entry(card.person_hash.clone()).or_default().push(card);
        }
        let now = self.clock.now();
        let mut new_cards = Vec::new();
        for c in chunk {
            let decided = persons
                .get(&c.hash)
                .ok_or_else(|| Refusal::bad_input("not_insured", "no insured person has this ID number").into())
                .and_then(|person| self.application_of(as_unit, unit, applicant, &c, person, cards_of.get(&person.key).map_or(&[][..], |v| v.as_slice()), now));
            match decided {
                Ok(Some(card)) => new_cards.push(card),
                Ok(None) => report.already_applied += 1,
                Err(ServiceError::Refused(r)) => report.refused.push(RowRefusal::new(c.line, &c.written_ssn, r)),
                Err(other) => return Err(other),
            }
        }
        let ids = tx.insert_cards(&new_cards, &self.meta(as_unit)).await?;
        self.commit_now(tx).await?;
        report.accepted += ids.len();
        report.card_ids.extend(ids);
        Ok(())
    }

    /// One row's decision: a new card and its event, `None` when this unit's application
    /// for the person already exists, or the refusal.
    #[allow(clippy::too_many_arguments)] // the row, its person and cards, who applies
    fn application_of(
        &self,
        as_unit: &Principal,
        unit: &str,
        applicant: &Applicant,
        c: &Candidate,
        person: &Person,
        cards: &[Card],
        now: chrono::DateTime<chrono::Utc>,
    ) -> ServiceResult<Option<(Card, Vec<CardEvent>)>> {
        if person.unit_code.as_deref() != Some(unit) {
            return Err(Refusal::bad_input("not_in_unit", format!("the person is not insured through unit {unit}")).into());
        }
        if person.name != c.name {
            return Err(Refusal::bad_input("name_mismatch", "the name differs from the insurance record; file an information change first").into());
        }
        if cards.iter().any(|card| card.state.is_alive() && card.origin.applying_unit() == Some(unit)) {
            return Ok(None);
        }
        yikatong_core::card::production::check_phone_required(self.policies.region(&person.region)?, self.clock.today(), c.phone || person.phone.is_some())?;
        let ask = crate::ApplicationRequest {
            delivery: c.delivery.clone(),
            address: c.address.clone().map(|address| yikatong_core::card::delivery::MailAddress { recipient: None, phone: None, address, postcode: None }),
            financial: c.financial,
            ..Default::default()
        };
        let (card, event) = self.open_first_card(as_unit, person, person.key.clone(), &ask, cards, applicant, now)?;
        Ok(Some((card, vec![event])))
    }
}
