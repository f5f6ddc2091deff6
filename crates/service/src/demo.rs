//! Synthetic demo data for `ykt demo`: Beijing units, outlets, institutions and a few
//! thousand persons with valid ID numbers. Deterministic, so a demo looks the same
//! every time; nothing in it is a real person.

use chrono::{Datelike, Days, NaiveDate};
use yikatong_core::identity::{Gender, check_character};
use yikatong_core::registry::{Category, OrganisationKind, PersonFlag};
use yikatong_core::settlement::{CatalogItem, ItemClass, ItemKind};
use yikatong_store::{Institution, Organisation, Person};

use crate::{Service, ServiceResult};

/// Beijing's district division codes (GB/T 2260).
const DISTRICTS: [(&str, &str); 16] = [
    ("110101", "东城"),
    ("110102", "西城"),
    ("110105", "朝阳"),
    ("110106", "丰台"),
    ("110107", "石景山"),
    ("110108", "海淀"),
    ("110109", "门头沟"),
    ("110111", "房山"),
    ("110112", "通州"),
    ("110113", "顺义"),
    ("110114", "昌平"),
    ("110115", "大兴"),
    ("110116", "怀柔"),
    ("110117", "平谷"),
    ("110118", "密云"),
    ("110119", "延庆"),
];
const SURNAMES: [&str; 20] = ["王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "胡", "朱", "高", "林", "何", "郭", "马", "罗"];
const GIVEN: [&str; 24] = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀英", "华", "建国", "志强", "桂英", "丹", "萍"];

/// A small deterministic generator (xorshift64*), enough for demo data.
pub struct DemoRng(u64);

impl DemoRng {
    pub fn new(seed: u64) -> Self {
        DemoRng(seed.max(1))
    }
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

/// A valid SSN from a division code, a birth date and a sequence number (0-999).
pub fn make_ssn(division: &str, birth: NaiveDate, seq: u32) -> String {
    let first17 = format!("{division}{}{:03}", birth.format("%Y%m%d"), seq % 1000);
    format!("{first17}{}", check_character(first17.as_bytes()))
}

/// `count` distinct synthetic persons of Beijing spread over `units`.
pub fn synthetic_persons(count: usize, units: &[String], today: NaiveDate, rng: &mut DemoRng) -> Vec<Person> {
    let mut seen = std::collections::HashSet::with_capacity(count);
    let mut out = Vec::with_capacity(count);
    let epoch = NaiveDate::from_ymd_opt(1950, 1, 1).unwrap_or_default();
    let span_days = (NaiveDate::from_ymd_opt(2005, 12, 31).unwrap_or_default() - epoch).num_days() as u64;
    while out.len() < count {
        let (division, _) = DISTRICTS[rng.below(DISTRICTS.len() as u64) as usize];
        let birth = epoch.checked_add_days(Days::new(rng.below(span_days))).unwrap_or(epoch);
        let ssn = make_ssn(division, birth, rng.below(1000) as u32);
        if !seen.insert(ssn.clone()) {
            continue;
        }
        out.push(synthetic_person(ssn, birth, units, today, rng));
    }
    out
}

/// The `n`-th person of a synthetic city: distinct for every `n` below 200 million
/// without remembering the others (the ID number's division, birth date and sequence
/// are `n` written in mixed radix), so a city of millions is made in bounded memory.
pub fn city_person(n: u64, units: &[String], today: NaiveDate, rng: &mut DemoRng) -> Person {
    let epoch = NaiveDate::from_ymd_opt(1950, 1, 1).unwrap_or_default();
    let span_days = (NaiveDate::from_ymd_opt(2005, 12, 31).unwrap_or_default() - epoch).num_days() as u64;
    let districts = DISTRICTS.len() as u64;
    let (division, _) = DISTRICTS[(n % districts) as usize];
    // Consecutive persons get birth dates far apart (7919 is prime to the span's 20,453
    // days, so each block of the span still gives every date once).
    let m = n / districts;
    let birth = epoch.checked_add_days(Days::new(m.wrapping_mul(7919) % span_days)).unwrap_or(epoch);
    let seq = (m / span_days) as u32;
    synthetic_person(make_ssn(division, birth, seq), birth, units, today, rng)
}

fn synthetic_person(ssn: String, birth: NaiveDate, units: &[String], today: NaiveDate, rng: &mut DemoRng) -> Person {
    let age = today.year() - birth.year();
    let category = if age >= 60 {
        Category::Retired
    } else if rng.below(10) == 0 {
        Category::Flexible
    } else {
        Category::InService
    };
    let name = format!("{}{}", SURNAMES[rng.below(20) as usize], GIVEN[rng.below(24) as usize]);
    let seq: u32 = ssn[14..17].parse().unwrap_or(0);
    let now = chrono::Utc::now();
    let mut person = Person {
        key: String::new(),
        ssn,
        name,
        gender: if seq % 2 == 1 { Gender::Male } else { Gender::Female },
        birth_date: birth,
        ethnicity: if rng.below(20) == 0 { "03" } else { "01" }.into(),
        category,
        region: "beijing".into(),
        unit_code: units.get(rng.below(units.len() as u64) as usize).cloned(),
        phone: Some(format!("13{:09}", rng.below(1_000_000_000))),
        address: None,
        handbook_no: None,
        flags: Vec::new(),
        contribution_base_fen: (category != Category::Retired).then(|| 600_000 + rng.below(2_400_000) as i64),
        photo_digest: Some(format!("{:016x}", rng.next_u64())),
        created_at: now,
        updated_at: now,
        version: 1,
    };
    // Drawn last, so that the rest of each person stays as earlier demos made it: one
    // in 40 a disabled veteran, one in 25 of those in service a civil servant (R-SET-3).
    if rng.below(40) == 0 {
        person.flags.push(PersonFlag::DisabledVeteran);
    }
    if category == Category::InService && rng.below(25) == 0 {
        person.flags.push(PersonFlag::CivilServant);
    }
    person
}

/// Takes persons through the whole first issuance, as in life: a clerk applies at
/// `outlet`, the operator cuts a batch, the factory produces, the bureau dispatches, the
/// clerk hands each card over (checking the holder's ID) and `institution` starts the
/// social zone. Returns the card ids.
pub async fn issue_active_cards(service: &Service, ssns: &[String], outlet: &str, institution: &str) -> ServiceResult<Vec<i64>> {
    use yikatong_core::card::Zone;

    use crate::{HandOverRequest, ProductionResult, TokenRequest};
    let principal = |role: &str, outlet: Option<&str>, inst: Option<&str>| TokenRequest {
        role: role.into(),
        outlet: outlet.map(String::from),
        institution: inst.map(String::from),
        label: Some("demo".into()),
        ..Default::default()
    };
    let mut who = Vec::new();
    for req in [principal("operator", None, None), principal("clerk", Some(outlet), None), principal("vendor", None, None), principal("institution", None, Some(institution))] {
        let token = service.issue_token(&req).await?;
        who.push(service.authenticate(&token.token).await?);
    }
    let (op, clerk, vendor, inst) = (&who[0], &who[1], &who[2], &who[3]);
    let mut ids = Vec::with_capacity(ssns.len());
    for ssn in ssns {
        ids.push(service.apply_for_card(clerk, ssn, &crate::ApplicationRequest::default()).await?.id);
    }
    let region = service.store.get_card(ids.first().copied().unwrap_or_default()).await?.map_or_else(|| "beijing".into(), |c| c.region);
    let batch = service.cut_batch(op, &region, None, None).await?;
    let results: Vec<ProductionResult> = batch
        .card_ids
        .iter()
        .map(|id| ProductionResult { card_id: *id, card_number: Some(format!("D{id:08}")), card_identification_code: Some(format!("110000D156000005{id:016X}")), failed: None })
        .collect();
    service.record_production_results(vendor, batch.id, &results).await?;
    service.dispatch_batch(op, batch.id).await?;
    for (id, ssn) in ids.iter().zip(ssns) {
        service.hand_over(clerk, *id, &HandOverRequest { holder_ssn: Some(ssn.clone()), ..Default::default() }).await?;
        service.activate(inst, *id, Zone::Social, None).await?;
    }
    Ok(ids)
}

/// What the demo created, for printing.
#[derive(Debug, Clone)]
pub struct DemoSummary {
    pub units: Vec<String>,
    pub outlets: Vec<String>,
    pub institutions: Vec<String>,
    pub persons: usize,
    /// Persons whose card is active.
    pub active_cards: usize,
    /// One person to sign in as a holder.
    pub sample_person: String,
    /// This month's account credits (R-ACC-1).
    pub credits: crate::batch::credits::CreditReport,
}

/// Fills an empty database with the demo city.
pub async fn fill(service: &Service, persons: usize) -> ServiceResult<DemoSummary> {
    let store = &service.store;
    let now = service.clock().now();
    let mut units = Vec::new();
    for i in 1..=20 {
        let code = format!("U{i:04}");
        let (division, district) = DISTRICTS[(i - 1) % DISTRICTS.len()];
        // Every fifth unit is a street office, where retirees under social management collect (R-DIST-1).
        let kind = if i % 5 == 0 { OrganisationKind::StreetOffice } else { OrganisationKind::Employer };
        let name = if kind == OrganisationKind::StreetOffice { format!("北京{district}示范街道办事处{i:02}") } else { format!("北京{district}示范单位{i:02}") };
        store.insert_unit(&Organisation { code: code.clone(), name, region: "beijing".into(), created_at: now, kind: Some(kind), district: Some(division.to_string()) }).await?;
        units.push(code);
    }
    let mut outlets = Vec::new();
    for (i, (_, district)) in DISTRICTS.iter().take(5).enumerate() {
        let code = format!("O{:03}", i + 1);
        store
            .insert_outlet(&Organisation {
                code: code.clone(), name: format!("{district}区社保卡服务网点"), region: "beijing".into(), created_at: now, kind: None, district: None
            })
            .await?;
        outlets.push(code);
    }
    let mut institutions = Vec::new();
    for (code, name, level) in [
        ("H0001", "北京示范社区卫生服务中心", "community"),
        ("H0002", "北京示范一级医院", "1"),
        ("H0003", "北京示范二级医院", "2"),
        ("H0004", "北京示范三级医院", "3"),
        ("H0005", "北京示范药店", "pharmacy"),
    ] {
        store.insert_institution(&Institution { code: code.into(), name: name.into(), region: "beijing".into(), level: level.into(), class: None, created_at: now }).await?;
        institutions.push(code.to_string());
    }
    let mut rng = DemoRng::new(20_261_126);
    let mut people = synthetic_persons(persons, &units, service.clock().today(), &mut rng);
    // Insured as of the service's clock (a test's clock too), so that a batch cut now
    // does not take them for persons insured after its snapshot.
    for p in &mut people {
        (p.created_at, p.updated_at) = (now, now);
    }
    for chunk in people.chunks(500) {
        store.insert_persons(chunk).await?;
    }
    let sample_person = people.first().map(|p| p.ssn.clone()).unwrap_or_default();
    // A tenth of the city already holds an active card.
    let holders: Vec<String> = people.iter().take(persons / 10).map(|p| p.ssn.clone()).collect();
    let active_cards = if holders.is_empty() { 0 } else { issue_active_cards(service, &holders, &outlets[0], &institutions[0]).await?.len() };
    // A small catalogue to settle against, and this month's account credits.
    let item = |code: &str, name: &str, kind: ItemKind, class: ItemClass, ceiling: Option<i64>| CatalogItem {
        code: code.into(),
        name: name.into(),
        kind,
        class,
        price_ceiling_fen: ceiling,
    };
    store
        .upsert_catalog_items(
            &[
                item("DIAG", "门诊诊察费", ItemKind::DiagnosisFee, ItemClass::A, None),
                item("REG", "挂号费", ItemKind::RegistrationFee, ItemClass::C, None),
                item("A0001", "阿莫西林胶囊", ItemKind::Drug, ItemClass::A, None),
                item("B0001", "乙类药品示例", ItemKind::Drug, ItemClass::B, None),
                item("C0001", "丙类治疗示例", ItemKind::Treatment, ItemClass::C, None),
                item("A0002", "限价药品示例", ItemKind::Drug, ItemClass::A, Some(8000)),
            ],
            now,
        )
        .await?;
    let month = service.clock().today().format("%Y-%m").to_string();
    let credits = service.credit_accounts(&month, crate::batch::credits::PAGE, None, &|_, _| {}).await?;
    Ok(DemoSummary { units, outlets, institutions, persons: people.len(), active_cards, sample_person, credits })
}

#[cfg(test)]
mod tests {
    use super::*;
    use yikatong_core::identity::Ssn;

    #[test]
    fn synthetic_persons_have_valid_distinct_ssns() {
        let mut rng = DemoRng::new(7);
        let today = NaiveDate::from_ymd_opt(2026, 11, 26).unwrap();
        let ps = synthetic_persons(2000, &["U1".into()], today, &mut rng);
        let distinct: std::collections::HashSet<_> = ps.iter().map(|p| p.ssn.clone()).collect();
        assert_eq!(distinct.len(), 2000);
        for p in &ps {
            let ssn = Ssn::parse(&p.ssn).unwrap();
            assert_eq!(ssn.gender(), p.gender);
            assert_eq!(ssn.birth_date(), p.birth_date);
        }
    }
}
