//! The insured population from the insurance system's extract (API.md "Files":
//! `ykt import persons FILE --region R`, `POST /v1/persons/import`): CSV in UTF-8 or
//! GBK, or XLSX, columns `ssn` 公民身份号码, `name` 姓名, `ethnicity` 民族, `category`
//! 人员类别, `unit_code` 单位编号, `phone` 联系电话. Each row is checked as `POST
//! /v1/persons` checks one person and refused by its line; the accepted rows are written
//! a thousand at a time, each thousand in one transaction, a person already present
//! skipped, so that sending the file again — or again after a crash — creates nothing
//! twice. The file is read line by line (a million rows in bounded memory).

use serde::Serialize;
use yikatong_core::access::{Operation, Principal};

use super::applications::RowRefusal;
use super::table::{Column, Table, readable};
use crate::registry::NewPerson;
use crate::{Service, ServiceError, ServiceResult};

/// What an import of persons did.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct PersonsImportReport {
    pub region: String,
    /// `UTF-8` or `GBK`.
    pub encoding: String,
    pub rows: usize,
    /// Persons created by this run.
    pub accepted: usize,
    /// Rows whose person was present already (an earlier run, or twice in the file).
    pub already_present: usize,
    pub refused: Vec<RowRefusal>,
}

/// Persons written per transaction.
const CHUNK: usize = 1000;

const COLUMNS: [Column; 6] = [
    Column { en: "ssn", zh: "公民身份号码", required: true },
    Column { en: "name", zh: "姓名", required: true },
    Column { en: "ethnicity", zh: "民族", required: true },
    Column { en: "category", zh: "人员类别", required: true },
    Column { en: "unit_code", zh: "单位编号", required: false },
    Column { en: "phone", zh: "联系电话", required: false },
];

/// A category as the extract writes it: the API's code, or its Chinese name.
fn category_code(written: &str) -> &str {
    match written {
        "在职" | "在职职工" => "in_service",
        "退休" | "退休人员" => "retired",
        "城乡居民" | "居民" => "resident",
        "灵活就业" | "灵活就业人员" => "flexible",
        other => other,
    }
}

impl Service {
    /// Imports the persons of `region` from `input`; `progress` is told the rows read so
    /// far after each written thousand.
    pub async fn import_persons(
        &self,
        who: &Principal,
        region: &str,
        input: impl std::io::BufRead + Send,
        progress: &(dyn Fn(usize) + Sync),
    ) -> ServiceResult<PersonsImportReport> {
        who.allow(Operation::CreatePerson)?;
        self.check_region(region)?;
        let mut table = Table::read(input, &COLUMNS)?;
        let mut report = PersonsImportReport { region: region.to_string(), ..Default::default() };
        let mut chunk = Vec::with_capacity(CHUNK);
        for row in table.by_ref() {
            report.rows += 1;
            let Some(row) = readable(row, &mut report.refused, |line, r| RowRefusal::new(line, "", r)) else { continue };
            let c = &row.cells;
            let new = NewPerson {
                ssn: c[0].clone(),
                name: c[1].clone(),
                ethnicity: c[2].clone(),
                category: category_code(&c[3]).to_string(),
                region: region.to_string(),
                unit_code: Some(c[4].clone()).filter(|u| !u.is_empty()),
                phone: Some(c[5].clone()).filter(|p| !p.is_empty()),
                ..Default::default()
            };
            match self.build_person(&new) {
                Ok(p) => chunk.push(p),
                Err(ServiceError::Refused(r)) => report.refused.push(RowRefusal::new(row.line, &c[0], r)),
                Err(other) => return Err(other),
            }
            if chunk.len() >= CHUNK {
                self.write_persons(&mut chunk, &mut report).await?;
                progress(report.rows);
            }
        }
        self.write_persons(&mut chunk, &mut report).await?;
        progress(report.rows);
        report.encoding = table.encoding().to_string();
        Ok(report)
    }

    async fn write_persons(&self, chunk: &mut Vec<yikatong_store::Person>, report: &mut PersonsImportReport) -> ServiceResult<()> {
        if chunk.is_empty() {
            return Ok(());
        }
        let inserted = self.store.insert_persons(chunk).await? as usize;
        report.accepted += inserted;
        report.already_present += chunk.len() - inserted;
        chunk.clear();
        Ok(())
    }
}
