//! Comparison with the population registry and second collection (R-CMP-1..4): the
//! registry extract is loaded from a file; every person's six items are marked; a person
//! with any `×` or `无` carries the `second_collection_pending` flag, which keeps them out
//! of production batches, until corrected items compare clean. Flags are set and cleared
//! as information changes, so the history shows them.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use yikatong_core::Refusal;
use yikatong_core::access::{Operation, Principal};
use yikatong_core::comparison::{Items, Marks, compare};
use yikatong_core::identity::{Ssn, mask_ssn};
use yikatong_core::registry::{PersonFlag, check_ethnicity};
use yikatong_store::{Person, PersonChange, RegistryRow};

use super::applications::RowRefusal;
use super::production_files::FileReport;
use super::table::{Column, Table, readable};
use crate::{PersonChangeRequest, Service, ServiceError, ServiceResult};

const PENDING: PersonFlag = PersonFlag::SecondCollectionPending;

#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct CompareReport {
    pub persons: u64,
    /// Persons whose category the region does not compare (R-CMP-4).
    pub out_of_scope: u64,
    pub matched: u64,
    /// Held out of production until a second collection.
    pub held: u64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ComparisonView {
    pub ssn_masked: String,
    /// Each item: `√`, `×` or `无`.
    #[schema(value_type = Object)]
    pub marks: Marks,
    pub held: bool,
}

/// The corrected items a unit or the holder submits (R-CMP-3). Gender and birth date
/// come from the ID number; a wrong one needs the ID number itself corrected.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SecondCollection {
    pub name: Option<String>,
    pub ethnicity: Option<String>,
    pub photo_digest: Option<String>,
}

fn items_of(p: &Person) -> Items {
    Items {
        ssn: p.ssn.clone(),
        name: p.name.clone(),
        gender: p.gender.as_str().to_string(),
        ethnicity: p.ethnicity.clone(),
        birth_date: p.birth_date.format("%Y%m%d").to_string(),
        photo: p.photo_digest.clone(),
    }
}

/// The person's flags after these marks, when the hold changes.
fn hold_change(person: &Person, marks: &Marks) -> Option<Vec<PersonFlag>> {
    let held = person.flags.contains(&PENDING);
    if held != marks.all_match() {
        return None;
    }
    let mut flags: Vec<PersonFlag> = person.flags.iter().filter(|f| **f != PENDING).copied().collect();
    if !marks.all_match() {
        flags.push(PENDING);
    }
    Some(flags)
}

fn items_of_registry(r: RegistryRow) -> Items {
    Items { ssn: r.ssn, name: r.name, gender: r.gender, ethnicity: r.ethnicity, birth_date: r.birth_date.format("%Y%m%d").to_string(), photo: r.photo_digest }
}

fn marks_json(marks: &Marks) -> ServiceResult<serde_json::Value> {
    serde_json::to_value(marks).map_err(|e| ServiceError::Internal(e.to_string()))
}

fn parse_gender(s: &str) -> Option<&'static str> {
    match s {
        "男" | "1" | "male" | "M" => Some("male"),
        "女" | "2" | "female" | "F" => Some("female"),
        _ => None,
    }
}

fn parse_birth(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y%m%d").or_else(|_| NaiveDate::parse_from_str(s, "%Y-%m-%d")).ok()
}

/// The bureau's own comparison run acts as an operator (recorded as `operator#0`).
fn bureau() -> Principal {
    Principal::bureau(0)
}

impl Service {
    /// Loads the registry extract (`ssn` 公民身份号码, `name` 姓名, `gender` 性别, `ethnicity`
    /// 民族, `birth_date` 出生日期, `photo_digest` 照片摘要); bad rows are reported by line.
    pub async fn import_registry(&self, input: impl std::io::BufRead + Send) -> ServiceResult<FileReport> {
        let cols = [
            Column { en: "ssn", zh: "公民身份号码", required: true },
            Column { en: "name", zh: "姓名", required: true },
            Column { en: "gender", zh: "性别", required: true },
            Column { en: "ethnicity", zh: "民族", required: true },
            Column { en: "birth_date", zh: "出生日期", required: true },
            Column { en: "photo_digest", zh: "照片摘要", required: false },
        ];
        let mut report = FileReport::default();
        let mut chunk = Vec::new();
        for row in Table::read(input, &cols)? {
            report.rows += 1;
            let Some(row) = readable(row, &mut report.refused, |line, r| RowRefusal::new(line, "", r)) else { continue };
            let c = &row.cells;
            let parsed = (|| -> Result<RegistryRow, Refusal> {
                let ssn = Ssn::parse(&c[0]).map_err(|e| Refusal::bad_input("invalid_ssn", e.to_string()))?;
                let gender = parse_gender(&c[2]).ok_or_else(|| Refusal::bad_input("invalid_gender", format!("性别 / gender must be 男 or 女, not {:?}", c[2])))?;
                check_ethnicity(&c[3])?;
                let birth = parse_birth(&c[4]).ok_or_else(|| Refusal::bad_input("invalid_date", format!("出生日期 / birth_date must be YYYYMMDD, not {:?}", c[4])))?;
                Ok(RegistryRow {
                    ssn: ssn.expose().into(),
                    name: c[1].clone(),
                    gender: gender.into(),
                    ethnicity: c[3].clone(),
                    birth_date: birth,
                    photo_digest: Some(c[5].clone()).filter(|p| !p.is_empty()),
                })
            })();
            match parsed {
                Ok(r) => chunk.push(r),
                Err(r) => report.refused.push(RowRefusal::new(row.line, &c[0], r)),
            }
            if chunk.len() >= 1000 {
                report.accepted += self.store.upsert_registry_rows(&chunk, self.clock.now()).await? as usize;
                chunk.clear();
            }
        }
        report.accepted += self.store.upsert_registry_rows(&chunk, self.clock.now()).await? as usize;
        Ok(report)
    }

    /// Compares one person, keeps the marks and sets or clears the hold.
    async fn compare_person(&self, person: &Person) -> ServiceResult<Marks> {
        let registry = self.store.registry_row(&person.ssn).await?;
        let marks = compare(&items_of(person), registry.map(items_of_registry).as_ref());
        self.store.save_comparison(&person.ssn, &marks_json(&marks)?, self.clock.now()).await?;
        self.keep_holds(&[(person.clone(), marks)]).await?;
        Ok(marks)
    }

    /// Sets the hold of each person whose marks have a `×` or `无`, clears it when they
    /// are clean; a change of flag is an information change, kept in the person's
    /// history. One transaction for the page.
    async fn keep_holds(&self, page: &[(Person, Marks)]) -> ServiceResult<()> {
        let (now, today) = (self.clock.now(), self.clock.today());
        let changes: Vec<(i64, Person, PersonChange)> = page
            .iter()
            .filter_map(|(before, marks)| {
                let flags = hold_change(before, marks)?;
                let change = PersonChange {
                    ssn: before.ssn.clone(),
                    changed_at: now,
                    effective_on: today,
                    actor: bureau().actor(),
                    fields: vec!["flags".into()],
                    before: serde_json::json!({ "flags": before.flags }),
                    after: serde_json::json!({ "flags": flags }),
                };
                let after = Person { flags, updated_at: now, version: before.version + 1, ..before.clone() };
                Some((before.version, after, change))
            })
            .collect();
        if !changes.is_empty() {
            self.store.change_flags(&changes).await?;
            tracing::info!(persons = changes.len(), "second-collection holds set or lifted");
        }
        Ok(())
    }

    /// `ykt batch compare`: every person against the registry extract, a page at a time
    /// (the page's persons with their registry rows in one read, their marks in one
    /// write); only persons whose hold changes are written one by one.
    pub async fn compare_all(&self, progress: &(dyn Fn(u64, u64) + Send + Sync)) -> ServiceResult<CompareReport> {
        let total = self.store.count_persons().await? as u64;
        let mut report = CompareReport::default();
        let mut rows = self.store.compare_page(None, 1000).await?;
        while let Some((last, _, _)) = rows.last() {
            let after = last.clone();
            let today = self.clock.today();
            let mut kept = Vec::with_capacity(rows.len());
            let mut holds = Vec::new();
            for (hash, p, registry) in rows {
                report.persons += 1;
                // R-CMP-4: a category the region's file does not put in scope is left alone.
                let policy = self.policies.region(&p.region)?;
                let scope = format!("comparison.in_scope.{}", p.category);
                if !policy.parameters.contains_key(&scope) || !policy.flag(&scope, today).map_err(ServiceError::from)? {
                    report.out_of_scope += 1;
                    continue;
                }
                let marks = compare(&items_of(&p), registry.map(items_of_registry).as_ref());
                if marks.all_match() {
                    report.matched += 1;
                } else {
                    report.held += 1;
                }
                kept.push((hash, marks_json(&marks)?));
                holds.push((p, marks));
            }
            // This page's writes overlap the next page's read (different persons).
            let write = async {
                self.store.save_comparisons(&kept, self.clock.now()).await?;
                self.keep_holds(&holds).await
            };
            let (written, next) = tokio::join!(write, self.store.compare_page(Some(&after), 1000));
            written?;
            rows = next?;
            progress(report.persons, total);
        }
        Ok(report)
    }

    /// A person's marks (operator, clerk, their unit, the holder).
    pub async fn comparison(&self, who: &Principal, ssn: &str) -> ServiceResult<ComparisonView> {
        let view = self.get_person(who, ssn).await?;
        let ssn = Ssn::parse(ssn)?;
        let (marks, _) = self
            .store
            .comparison(ssn.expose())
            .await?
            .ok_or_else(|| ServiceError::from(Refusal::not_found("not_compared", "the person has not been compared with the registry yet")))?;
        let marks: Marks = serde_json::from_value(marks).map_err(|e| ServiceError::Internal(e.to_string()))?;
        Ok(ComparisonView { ssn_masked: view.ssn_masked, held: !marks.all_match(), marks })
    }

    /// R-CMP-3: corrected items submitted online (the unit or the holder), then compared
    /// again; a clean comparison releases the person for production.
    pub async fn second_collection(&self, who: &Principal, ssn: &str, items: &SecondCollection) -> ServiceResult<ComparisonView> {
        who.allow(Operation::SecondCollection)?;
        self.get_person(who, ssn).await?;
        let change = PersonChangeRequest { name: items.name.clone(), ethnicity: items.ethnicity.clone(), photo_digest: items.photo_digest.clone(), ..Default::default() };
        if change.name.is_some() || change.ethnicity.is_some() || change.photo_digest.is_some() {
            match self.change_person(&bureau(), ssn, &change).await {
                Ok(_) => {}
                Err(ServiceError::Refused(r)) if r.code == "no_change" => {}
                Err(e) => return Err(e),
            }
        }
        let parsed = Ssn::parse(ssn)?;
        let person = self.require_person(&parsed).await?;
        self.correct_applied_cards(&person).await?;
        let marks = self.compare_person(&person).await?;
        Ok(ComparisonView { ssn_masked: mask_ssn(&person.ssn), held: !marks.all_match(), marks })
    }

    /// R-CMP-3: the corrected items are part of the application: a card applied for and
    /// not yet in production takes them (so it is made with the corrected name, and a cut
    /// does not take it for a name changed after the application, R-APP-4).
    async fn correct_applied_cards(&self, person: &Person) -> ServiceResult<()> {
        let hash = person.key_with(self.store.data_key());
        let record = crate::cards::printed_of(person);
        let mut tx = self.begin_write().await?;
        tx.lock_person(&hash).await?;
        let meta = self.meta(&bureau());
        for card in tx.person_cards(&hash).await? {
            if card.state == yikatong_core::card::CardState::Applied && card.printed != record {
                let events = vec![yikatong_core::card::CardEvent::Synchronised { printed: record.clone() }];
                let after = events.iter().fold(card, yikatong_core::card::apply);
                tx.record(&after, &events, &meta).await?;
            }
        }
        self.commit(tx).await
    }

    /// The second-collection form as a PDF (A4, Chinese).
    pub async fn second_collection_pdf(&self, who: &Principal, ssn: &str) -> ServiceResult<Vec<u8>> {
        use super::pdf::{Rule, TextLine, page};
        let person = self.get_person(who, ssn).await?;
        let view = self.comparison(who, ssn).await?;
        let mut lines = vec![
            TextLine { x: 160, y: 780, size: 20, text: "社会保障卡信息二次采集表".into() },
            TextLine {
                x: 60, y: 740, size: 12, text: format!("姓名：{}　公民身份号码：{}　单位：{}", person.name, person.ssn_masked, person.unit_code.as_deref().unwrap_or(""))
            },
            TextLine { x: 60, y: 705, size: 12, text: "项目".into() },
            TextLine { x: 200, y: 705, size: 12, text: "比对结果".into() },
            TextLine { x: 300, y: 705, size: 12, text: "需填写内容（以身份证或户口簿为准）".into() },
        ];
        let mut rules = vec![Rule { x1: 55, x2: 545, y: 720 }, Rule { x1: 55, x2: 545, y: 698 }];
        for (i, (_, label, mark)) in view.marks.labelled().iter().enumerate() {
            let y = 675 - 30 * i as u32;
            lines.push(TextLine { x: 60, y, size: 12, text: (*label).into() });
            lines.push(TextLine { x: 215, y, size: 12, text: mark.symbol().into() });
            if *mark == yikatong_core::comparison::Mark::Match {
                lines.push(TextLine { x: 300, y, size: 12, text: "---".into() });
            }
            rules.push(Rule { x1: 55, x2: 545, y: y - 10 });
        }
        lines.push(TextLine { x: 60, y: 470, size: 10, text: "√ 一致，无需填写（---）；× 不一致，请按证件填写；无 缺失，请填写。".into() });
        Ok(page(&lines, &rules))
    }

    /// The second-collection form (二次采集表) as a printable page, in Chinese: each item's
    /// mark, `---` where nothing is to be filled, a blank to fill otherwise.
    pub async fn second_collection_form(&self, who: &Principal, ssn: &str) -> ServiceResult<String> {
        let person = self.get_person(who, ssn).await?;
        let view = self.comparison(who, ssn).await?;
        let rows: String = view
            .marks
            .labelled()
            .iter()
            .map(|(_, label, mark)| {
                let fill = if *mark == yikatong_core::comparison::Mark::Match { "---" } else { "&nbsp;" };
                format!("<tr><th scope=\"row\">{label}</th><td class=\"mark\">{}</td><td class=\"fill\">{fill}</td></tr>\n", mark.symbol())
            })
            .collect();
        let esc = |s: &str| s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
        Ok(format!(
            "<!doctype html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>社会保障卡信息二次采集表</title>\n<style>body{{font-family:sans-serif;color:#111;background:#fff}}table{{border-collapse:collapse;width:100%}}th,td{{border:1px solid #333;padding:.5em;text-align:left}}td.fill{{min-width:12em}}</style></head>\n<body><h1>社会保障卡信息二次采集表</h1>\n<p>姓名：{}　公民身份号码：{}　单位：{}</p>\n<table><thead><tr><th scope=\"col\">项目</th><th scope=\"col\">比对结果</th><th scope=\"col\">需填写内容（以身份证或户口簿为准）</th></tr></thead><tbody>\n{rows}</tbody></table>\n<p>√ 一致，无需填写（---）；× 不一致，请按证件填写；无 缺失，请填写。</p>\n</body></html>\n",
            esc(&person.name),
            person.ssn_masked,
            esc(person.unit_code.as_deref().unwrap_or("")),
        ))
    }
}
