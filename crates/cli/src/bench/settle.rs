//! `ykt bench settle` and `ykt bench settle-engine`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use yikatong_core::clock::SystemClock;
use yikatong_core::money::Fen;
use yikatong_core::policy::PolicySet;
use yikatong_core::registry::{Category, InstitutionLevel};
use yikatong_core::settlement::catalog::line_product;
use yikatong_core::settlement::{CatalogItem, FeeLine, ItemClass, ItemKind, SettlementInput, YearTotals, settle};
use yikatong_service::{NewCatalogItem, TokenRequest};
use yikatong_store::DataKey;
use yikatong_store::scratch::{Backend, fresh_url};

use super::fixtures::{BenchServer, Latencies, active_cards, ms};
use super::report;
use crate::config;

/// The five lines of every benchmark visit: code, quantity, price, amount (yuan).
const LINES: [(&str, &str, &str, &str); 5] =
    [("DIAG", "1", "50", "50.00"), ("A1", "2", "15.5", "31.00"), ("B1", "1", "200", "200.00"), ("C1", "1", "100", "100.00"), ("A2", "3", "100", "300.00")];

pub async fn run(visits: usize, concurrency: usize, other_clients: &[usize], same_person: usize, pgbench_seconds: u32, pg: &str) -> Result<(), String> {
    let concurrency = concurrency.max(1);
    println!("ykt bench settle: {concurrency} cashiers × {visits} visits (1101, 2201, 2204 × 5 lines, 2206, 2207) on PostgreSQL");
    let (r, pgbench) = at_clients(visits, concurrency, pgbench_seconds, pg).await?;
    println!("{:<28} {:>12} {:>10} {:>10}", "", "per second", "p50", "p99");
    println!("{:<28} {:>12.0} {:>8.1}ms {:>8.1}ms", "2207 settlements (API)", r.settlements_per_s, ms(r.p50), ms(r.p99));
    println!("{:<28} {:>12.0}", "whole visits (5 calls each)", r.visits_per_s);
    let figure = |clients: usize, r: &SettleResult, pgbench: &Result<f64, String>| {
        let name = format!("2207, {clients} {}", if clients == 1 { "cashier" } else { "cashiers" });
        let baseline = pgbench.as_ref().ok().map(|tps| (format!("pgbench TPC-B, {clients} clients"), *tps));
        report::record(report::Figure::rate("settle", &name, r.settlements_per_s, "settlements/s", baseline).with_latency(r.p50, r.p99).aim(0.6));
    };
    figure(concurrency, &r, &pgbench);
    match &pgbench {
        Ok(tps) => {
            println!("{:<28} {:>12.0}", format!("pgbench TPC-B, {concurrency} clients"), tps);
            println!("ratio 2207 / pgbench: {:.2} (aim ≥ 0.60); 2207 p99 {:.1} ms (aim < 20 ms)", r.settlements_per_s / tps.max(f64::MIN_POSITIVE), ms(r.p99));
        }
        Err(e) => println!("pgbench baseline not measured: {e}"),
    }
    for &clients in other_clients.iter().filter(|c| **c != concurrency && **c > 0) {
        let (r, pgbench) = at_clients(visits, clients, pgbench_seconds, pg).await?;
        figure(clients, &r, &pgbench);
        match pgbench {
            Ok(tps) => println!(
                "{clients:>3} cashiers: 2207 {:.0}/s, p50 {:.1} ms, p99 {:.1} ms; pgbench TPC-B {clients} clients {tps:.0}/s; ratio {:.2}",
                r.settlements_per_s,
                ms(r.p50),
                ms(r.p99),
                r.settlements_per_s / tps.max(f64::MIN_POSITIVE)
            ),
            Err(e) => println!("{clients:>3} cashiers: 2207 {:.0}/s, p50 {:.1} ms, p99 {:.1} ms; pgbench not measured: {e}", r.settlements_per_s, ms(r.p50), ms(r.p99)),
        }
    }
    if same_person > 0 {
        let (r, booked, balance) = one_person(visits.clamp(1, 20), same_person, pg).await?;
        report::record(report::Figure::rate("settle", &format!("2207, {same_person} cashiers, one person"), r.settlements_per_s, "settlements/s", None).with_latency(r.p50, r.p99));
        println!(
            "{same_person:>3} cashiers, one person (the locked path): 2207 {:.0}/s, p50 {:.1} ms, p99 {:.1} ms; {booked} settlements booked, each once, account {balance} fen (never below zero)",
            r.settlements_per_s,
            ms(r.p50),
            ms(r.p99)
        );
    }
    println!("every run with the per-visit guarantees in force: the visit's lock, one live settlement per visit and kind (a unique index), the person's lock");
    Ok(())
}

/// One run of `clients` cashiers on a fresh schema, and pgbench with as many clients on
/// the same server.
async fn at_clients(visits: usize, clients: usize, pgbench_seconds: u32, pg: &str) -> Result<(SettleResult, Result<f64, String>), String> {
    let (url, cleanup) = fresh_url(Backend::Postgres, pg).await;
    let result = settle_run(&url, visits, clients, clients * 2).await;
    let pgbench = pgbench_tps(&url, clients, pgbench_seconds);
    cleanup();
    Ok((result?.0, pgbench))
}

/// `cashiers` cashiers settling visits of one person at once: every 2207 waits for the
/// person's lock. Returns the rate, how many settlements were booked and the account's
/// balance after them.
async fn one_person(visits: usize, cashiers: usize, pg: &str) -> Result<(SettleResult, usize, i64), String> {
    let (url, cleanup) = fresh_url(Backend::Postgres, pg).await;
    let result = settle_run(&url, visits, cashiers, 1).await;
    cleanup();
    let (r, after) = result?;
    if after.balance_fen < 0 || after.settlements != visits * cashiers {
        return Err(format!("one person's {} settlements of {} left the account at {} fen", after.settlements, visits * cashiers, after.balance_fen));
    }
    Ok((r, after.settlements, after.balance_fen))
}

/// What the first person's account and settlements show after a run.
struct FirstPerson {
    settlements: usize,
    balance_fen: i64,
}

pub(super) struct SettleResult {
    /// 2207 calls per second while the cashiers settle their prepared visits.
    pub(super) settlements_per_s: f64,
    /// Whole visits (all five calls) per second over both phases.
    pub(super) visits_per_s: f64,
    pub(super) p50: Duration,
    pub(super) p99: Duration,
}

/// `concurrency` cashiers on the cards of `persons` persons (each cashier on cards of
/// its own when there are enough, all on the same cards otherwise).
async fn settle_run(url: &str, visits: usize, concurrency: usize, persons: usize) -> Result<(SettleResult, FirstPerson), String> {
    let store = config::open_store(url, DataKey::from_hex(&DataKey::generate_hex()).map_err(|e| e.to_string())?, yikatong_store::PoolOptions::default()).await?;
    let service = config::service(store.clone(), Arc::new(SystemClock), config::policies(None)?).await?;
    let e = |e: yikatong_service::ServiceError| e.to_string();
    let (cards, _) = active_cards(&service, store.as_ref(), persons.max(1)).await?;
    let op = super::fixtures::operator(&service).await?;
    service.add_catalog_items(&op, &bench_catalogue()).await.map_err(e)?;
    let mut first = None;
    for id in &cards {
        let card = store.get_card(*id).await.map_err(|e| e.to_string())?.ok_or("card")?;
        let person = store.get_person_by_hash(&card.person_hash).await.map_err(|e| e.to_string())?.ok_or("person")?;
        service.credit_account(&op, &person.ssn, 100_000, None, "benchmark").await.map_err(e)?;
        first.get_or_insert(card.person_hash);
    }
    let inst = service.issue_token(&TokenRequest { role: "institution".into(), institution: Some("BENCH".into()), ..Default::default() }).await.map_err(e)?.token;
    let server = BenchServer::start(service.clone()).await?;
    let his = Arc::new(His::beijing(&server.base, &inst));
    let result = cashiers(his, &cards, visits, concurrency).await;
    drop(server);
    let first = first.ok_or("no card")?;
    let after = FirstPerson {
        settlements: store.settlements_of_person(&first).await.map_err(|e| e.to_string())?.len(),
        balance_fen: store.account_entries(&first).await.map_err(|e| e.to_string())?.iter().map(|e| e.amount_fen).sum(),
    };
    Ok((result?, after))
}

/// The catalogue of the benchmark's five lines, region-independent.
pub(super) fn bench_catalogue() -> Vec<NewCatalogItem> {
    let item = |code: &str, kind: &str, class: &str, ceiling: Option<i64>| NewCatalogItem {
        code: code.into(),
        name: code.into(),
        kind: kind.into(),
        class: class.into(),
        price_ceiling_fen: ceiling,
        region: None,
        valid_from: None,
    };
    vec![
        item("DIAG", "diagnosis_fee", "A", None),
        item("A1", "drug", "A", None),
        item("B1", "drug", "B", None),
        item("C1", "treatment", "C", None),
        item("A2", "drug", "A", Some(8000)),
    ]
}

/// `concurrency` cashiers of `his`'s institution, each on cards of its own: first every
/// visit read, registered, its five lines uploaded and previewed (1101, 2201, 2204,
/// 2206), then every visit settled (2207), timed.
pub(super) async fn cashiers(his: Arc<His>, cards: &[i64], visits: usize, concurrency: usize) -> Result<SettleResult, String> {
    // Phase 1: every cashier reads cards, registers visits, uploads their five lines
    // and previews the settlement (1101, 2201, 2204, 2206).
    let started = Instant::now();
    let mut workers = Vec::new();
    for w in 0..concurrency {
        let own: Vec<i64> = if cards.len() >= concurrency { cards.iter().skip(w).step_by(concurrency).copied().collect() } else { cards.to_vec() };
        let his = his.clone();
        workers.push(tokio::spawn(async move {
            let mut prepared = Vec::with_capacity(visits);
            for v in 0..visits {
                let card = own[v % own.len()];
                let number = format!("D{card:08}");
                let sn = format!("110000D156000005{card:016X}");
                let id = |step: u32| format!("BENCH{w:03}{v:06}{step:02}");
                let info = his.call("1101", &id(1), json!({"data": {"mdtrt_cert_type": "03", "mdtrt_cert_no": number, "card_sn": sn}})).await?;
                let psn_no = info["baseinfo"]["psn_no"].as_str().unwrap_or_default().to_string();
                let begntime = chrono::Utc::now().with_timezone(&yikatong_core::clock::shanghai()).format("%Y-%m-%d %H:%M:%S").to_string();
                let reg = his.call("2201", &id(2), json!({"data": {"psn_no": psn_no, "insutype": "310", "begntime": begntime, "mdtrt_cert_type": "03", "mdtrt_cert_no": number, "card_sn": sn, "ipt_otp_no": format!("B{w:03}{v:06}")}})).await?;
                let mdtrt_id = reg["data"]["mdtrt_id"].as_str().unwrap_or_default().to_string();
                let lines: Vec<Value> = LINES
                    .iter()
                    .enumerate()
                    .map(|(i, (code, cnt, pric, amt))| json!({"feedetl_sn": i.to_string(), "mdtrt_id": mdtrt_id, "psn_no": psn_no, "chrg_bchno": "1", "med_list_codg": code, "cnt": cnt, "pric": pric, "det_item_fee_sumamt": amt}))
                    .collect();
                his.call("2204", &id(3), json!({"feedetail": lines})).await?;
                let settle_input = json!({"data": {"psn_no": psn_no, "mdtrt_id": mdtrt_id, "medfee_sumamt": "681.00", "acct_used_flag": "1", "mdtrt_cert_type": "03", "med_type": "11"}});
                his.call("2206", &id(4), settle_input.clone()).await?;
                prepared.push((id(5), settle_input));
            }
            Ok::<_, String>(prepared)
        }));
    }
    let mut prepared = Vec::new();
    for w in workers {
        prepared.push(w.await.map_err(|e| e.to_string())??);
    }
    let prep_secs = started.elapsed().as_secs_f64();

    // Phase 2: the same cashiers settle every visit (2207), concurrently.
    let started = Instant::now();
    let mut workers = Vec::new();
    for visits in prepared {
        let his = his.clone();
        workers.push(tokio::spawn(async move {
            let mut lat = Latencies::new();
            for (msgid, input) in visits {
                let t = Instant::now();
                his.call("2207", &msgid, input).await?;
                lat.record(t.elapsed());
            }
            Ok::<_, String>(lat)
        }));
    }
    let settle_lat = Latencies::gather(workers).await?;
    let settle_secs = started.elapsed().as_secs_f64();
    #[allow(clippy::cast_precision_loss)] // a count of visits
    let n = settle_lat.count() as f64;
    Ok(SettleResult { settlements_per_s: n / settle_secs, visits_per_s: n / (prep_secs + settle_secs), p50: settle_lat.quantile(0.50), p99: settle_lat.quantile(0.99) })
}

/// A cashier's HIS: calls the national interface with the envelope of its institution,
/// its region (`mdtrtarea_admvs`) and the holders' (`insuplc_admdvs`).
pub(super) struct His {
    pub(super) client: reqwest::Client,
    pub(super) base: String,
    pub(super) inst: String,
    pub(super) institution: String,
    pub(super) care: String,
    pub(super) insured: String,
}

impl His {
    /// Beijing's institution `BENCH` for Beijing's holders.
    pub(super) fn beijing(base: &str, inst: &str) -> His {
        His { client: reqwest::Client::new(), base: base.into(), inst: inst.into(), institution: "BENCH".into(), care: "110000".into(), insured: "110000".into() }
    }

    async fn call(&self, infno: &str, msgid: &str, input: Value) -> Result<Value, String> {
        let body = json!({"infno": infno, "msgid": msgid, "mdtrtarea_admvs": self.care, "insuplc_admdvs": self.insured, "infver": "V1.0", "opter_type": "1", "opter": "1", "opter_name": "收费员", "inf_time": "", "fixmedins_code": self.institution, "fixmedins_name": "基准医院", "sign_no": "", "input": input});
        let res = self.client.post(format!("{}/fsi/api/rsfComIfsService/callService", self.base)).bearer_auth(&self.inst).json(&body).send().await.map_err(|e| e.to_string())?;
        let v: Value = res.json().await.map_err(|e| e.to_string())?;
        if v["infcode"] != 0 {
            return Err(format!("{infno}: {v}"));
        }
        Ok(v["output"].clone())
    }
}

/// pgbench's built-in TPC-B-like script on the same server, in a scratch schema.
fn pgbench_tps(url: &str, clients: usize, seconds: u32) -> Result<f64, String> {
    let (base, schema) = url.split_once("options[search_path]=").ok_or("no schema in the benchmark URL")?;
    let base = base.trim_end_matches(['?', '&']);
    let sep = if base.contains('?') { '&' } else { '?' };
    let libpq = format!("{base}{sep}options=-c%20search_path%3D{schema}");
    let run = |args: &[&str]| {
        std::process::Command::new("pgbench")
            .args(args)
            .arg(&libpq)
            .output()
            .map_err(|e| format!("cannot run pgbench ({e}); install PostgreSQL's client tools (Debian: postgresql-client)"))
    };
    let init = run(&["-i", "-s", "1", "-q"])?;
    if !init.status.success() {
        return Err(format!("pgbench -i failed: {}", String::from_utf8_lossy(&init.stderr)));
    }
    let clients = clients.to_string();
    let secs = seconds.to_string();
    let out = run(&["-n", "-c", &clients, "-j", "2", "-T", &secs])?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find(|l| l.starts_with("tps = "))
        .and_then(|l| l.trim_start_matches("tps = ").split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| format!("pgbench printed no tps: {text}{}", String::from_utf8_lossy(&out.stderr)))
}

/// The pure engine on one core: a million receipts of five lines.
pub fn engine(receipts: usize) -> Result<(), String> {
    let set = PolicySet::shipped().map_err(|e| e.to_string())?;
    let policy = set.region("beijing").map_err(|e| e.to_string())?;
    let item = |code: &str, kind, class, ceiling| CatalogItem { code: code.into(), name: code.into(), kind, class, price_ceiling_fen: ceiling };
    let items = [
        item("DIAG", ItemKind::DiagnosisFee, ItemClass::A, None),
        item("A1", ItemKind::Drug, ItemClass::A, None),
        item("B1", ItemKind::Drug, ItemClass::B, None),
        item("C1", ItemKind::Treatment, ItemClass::C, None),
        item("A2", ItemKind::Drug, ItemClass::A, Some(8000)),
    ];
    let date = "2026-03-02".parse().map_err(|_| "date")?;
    let mut checksum = 0i64;
    let mut totals = YearTotals::default();
    let started = Instant::now();
    for i in 0..receipts {
        let lines: Vec<(FeeLine, CatalogItem)> = items
            .iter()
            .enumerate()
            .map(|(k, it)| {
                let qty_e4 = 10_000 * (1 + (i + k) as i64 % 3);
                let price_e6 = 1_000_000 * (10 + ((i * 7 + k) % 400) as i64);
                (FeeLine { sn: k.to_string(), code: it.code.clone(), qty_e4, price_e6, amount: line_product(qty_e4, price_e6) }, it.clone())
            })
            .collect();
        let r = settle(&SettlementInput {
            policy,
            date,
            category: if i % 3 == 0 { Category::Retired } else { Category::InService },
            age: 50,
            level: InstitutionLevel::Level3,
            lines: &lines,
            totals: totals.clone(),
            account_balance: Fen(50_000),
            use_account: i % 2 == 0,
            flags: &[],
            mutual_aid_balance: Fen::ZERO,
        })
        .map_err(|e| e.to_string())?;
        checksum = checksum.wrapping_add(r.psn_part_amt.0);
        totals = if i % 1000 == 0 { YearTotals::default() } else { totals.plus(&r) };
    }
    let secs = started.elapsed().as_secs_f64();
    println!("ykt bench settle-engine: {receipts} receipts of 5 lines on one core in {secs:.2} s");
    report::record(report::Figure::rate("settle-engine", "receipts of 5 lines on one core", receipts as f64 / secs, "receipts/s", None));
    println!("  {:.0} receipts per second per core ({:.2} µs each; checksum {checksum})", receipts as f64 / secs, secs * 1e6 / receipts as f64);
    Ok(())
}
