//! R-APP-4 (002): the province's card register, so that a person who already holds a
//! working card from another city of the province gets no second one. `ykt import
//! province-cards FILE`: CSV (UTF-8 or GBK) or XLSX with columns `ssn` 公民身份号码,
//! `city` 发卡地 (the issuing city's 6-digit division code) and `state` 卡状态 (`正常` /
//! `normal` for a working card; anything else removes the person's row). Bad rows are
//! reported by line; loading the same file again changes nothing.

use yikatong_core::Refusal;
use yikatong_core::identity::Ssn;

use super::applications::RowRefusal;
use super::production_files::FileReport;
use super::table::{Column, Table, readable};
use crate::{Service, ServiceResult};

const COLUMNS: [Column; 3] =
    [Column { en: "ssn", zh: "公民身份号码", required: true }, Column { en: "city", zh: "发卡地", required: true }, Column { en: "state", zh: "卡状态", required: true }];

/// Rows written per transaction.
const CHUNK: usize = 1000;

fn row_of(c: &[String]) -> Result<(String, String, bool), Refusal> {
    let ssn = Ssn::parse(&c[0]).map_err(|e| Refusal::bad_input("invalid_ssn", e.to_string()))?;
    if !yikatong_core::registry::is_division_code(&c[1]) {
        return Err(Refusal::bad_input("invalid_city", format!("发卡地 / city is the issuing city's 6-digit division code, not {:?}", c[1])));
    }
    let works = matches!(c[2].as_str(), "正常" | "normal");
    Ok((ssn.expose().to_string(), c[1].clone(), works))
}

impl Service {
    /// Loads the province's card register (the command line, as the bureau).
    pub async fn import_province_cards(&self, input: impl std::io::BufRead + Send) -> ServiceResult<FileReport> {
        let mut report = FileReport::default();
        let mut chunk = Vec::with_capacity(CHUNK);
        for row in Table::read(input, &COLUMNS)? {
            report.rows += 1;
            let Some(row) = readable(row, &mut report.refused, |line, r| RowRefusal::new(line, "", r)) else { continue };
            match row_of(&row.cells) {
                Ok(r) => chunk.push(r),
                Err(r) => report.refused.push(RowRefusal::new(row.line, &row.cells[0], r)),
            }
            if chunk.len() >= CHUNK {
                report.accepted += self.store.load_province_cards(&chunk, self.clock.now()).await? as usize;
                chunk.clear();
            }
        }
        report.accepted += self.store.load_province_cards(&chunk, self.clock.now()).await? as usize;
        Ok(report)
    }
}
