//! The medical-insurance catalogue: items added over the API or imported from a CSV
//! file of 100,000+ rows, each bad row reported with its line.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use yikatong_core::Refusal;
use yikatong_core::access::{Operation, Principal};
use yikatong_core::settlement::{CatalogEntry, CatalogItem, ItemClass, ItemKind};

use crate::batch::table::{Column, Table, readable};
use crate::{Service, ServiceResult};

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCatalogItem {
    pub code: String,
    pub name: String,
    /// `drug`, `treatment`, `facility`, `diagnosis_fee`, `registration_fee`.
    pub kind: String,
    /// `A`, `B` or `C`.
    pub class: String,
    pub price_ceiling_fen: Option<i64>,
    /// The region whose catalogue the entry is; optional, default none: the
    /// region-independent entry (any region without its own entry uses it).
    #[serde(default)]
    pub region: Option<String>,
    /// The date the entry takes effect (an item's class or ceiling can change on a
    /// date); optional, default none: in force always.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub valid_from: Option<NaiveDate>,
}

impl NewCatalogItem {
    pub fn to_item(&self) -> Result<CatalogItem, Refusal> {
        let item = CatalogItem {
            code: self.code.trim().into(),
            name: self.name.trim().into(),
            kind: ItemKind::parse(self.kind.trim())?,
            class: ItemClass::parse(self.class.trim())?,
            price_ceiling_fen: self.price_ceiling_fen,
        };
        item.check()?;
        Ok(item)
    }
}

#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct RowError {
    /// The file's line (the header is line 1).
    pub line: usize,
    pub code: String,
    pub reason: String,
}

#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct CatalogImportReport {
    pub accepted: usize,
    pub refused: Vec<RowError>,
}

/// Columns of a catalogue file (English or Chinese headers); region and the date it
/// takes effect are optional.
const COLUMNS: [(&str, &str); 7] =
    [("code", "编码"), ("name", "名称"), ("kind", "类别"), ("class", "等级"), ("price_ceiling_fen", "限价分"), ("region", "地区"), ("valid_from", "生效日期")];

impl Service {
    /// The entry a new item makes: its region must be one the service has a policy for.
    fn to_entry(&self, it: &NewCatalogItem) -> Result<CatalogEntry, Refusal> {
        let region = it.region.as_deref().map(str::trim).filter(|r| !r.is_empty());
        if let Some(r) = region
            && self.policies.region(r).is_err()
        {
            return Err(Refusal::bad_input("unknown_region", format!("there is no region {r:?}")));
        }
        Ok(CatalogEntry { item: it.to_item()?, region: region.map(String::from), valid_from: it.valid_from })
    }

    /// Adds or replaces catalogue entries (operator); all or nothing.
    pub async fn add_catalog_items(&self, who: &Principal, items: &[NewCatalogItem]) -> ServiceResult<usize> {
        who.allow(Operation::AddCatalogItems)?;
        let mut checked = Vec::with_capacity(items.len());
        for (i, it) in items.iter().enumerate() {
            checked.push(self.to_entry(it).map_err(|r| Refusal::bad_input(r.code, format!("item {} ({}): {}", i + 1, it.code, r.message)))?);
        }
        self.store.upsert_catalog_entries(&checked, self.clock.now()).await?;
        Ok(checked.len())
    }

    /// Imports a CSV catalogue (UTF-8 or GBK, header row): good rows are stored in
    /// chunks, each bad row is reported with its line number and reason. Importing the
    /// same file twice changes nothing the second time.
    pub async fn import_catalog_csv(&self, input: impl std::io::BufRead + Send) -> ServiceResult<CatalogImportReport> {
        let columns: Vec<Column> = COLUMNS.iter().enumerate().map(|(k, (en, zh))| Column { en, zh, required: k < 4 }).collect();
        let mut report = CatalogImportReport::default();
        let mut chunk = Vec::new();
        for row in Table::read(input, &columns)? {
            let Some(row) = readable(row, &mut report.refused, |line, r| RowError { line, code: r.code.into(), reason: r.message }) else { continue };
            let cell = |k: usize| row.cells[k].clone();
            let ceiling = cell(4);
            let parsed = if ceiling.is_empty() {
                Ok(None)
            } else {
                ceiling.parse::<i64>().map(Some).map_err(|_| Refusal::bad_input("invalid_price_ceiling", format!("price ceiling {ceiling:?} is not a whole number of fen")))
            };
            let from = cell(6);
            let valid_from = if from.is_empty() {
                Ok(None)
            } else {
                from.parse::<NaiveDate>().map(Some).map_err(|_| Refusal::bad_input("invalid_date", format!("valid_from {from:?} is not a date like 2025-01-01")))
            };
            let item = parsed.and_then(|c| {
                valid_from.and_then(|valid_from| {
                    self.to_entry(&NewCatalogItem { code: cell(0), name: cell(1), kind: cell(2), class: cell(3), price_ceiling_fen: c, region: Some(cell(5)), valid_from })
                })
            });
            match item {
                Ok(it) => chunk.push(it),
                Err(r) => report.refused.push(RowError { line: row.line, code: r.code.into(), reason: r.message }),
            }
            if chunk.len() >= 2000 {
                report.accepted += self.store.upsert_catalog_entries(&chunk, self.clock.now()).await? as usize;
                chunk.clear();
            }
        }
        report.accepted += self.store.upsert_catalog_entries(&chunk, self.clock.now()).await? as usize;
        Ok(report)
    }
}
