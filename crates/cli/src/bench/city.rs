//! `ykt bench city`: a synthetic city of persons (valid ID numbers, 10 units) put
//! through the bureau's batch work the way a city does it: the units' application
//! files, the registry extract and the comparison, a production batch, the month's
//! account credits. Each step prints its time beside a same-run baseline: the rows that
//! step wrote, loaded again the database's fastest way into an empty copy of the same
//! table (PostgreSQL `COPY … FROM STDIN`; SQLite one `INSERT … SELECT`).

use std::io::{BufReader, BufWriter, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Datelike;
use yikatong_core::access::Principal;
use yikatong_core::clock::SystemClock;
use yikatong_service::demo::{DemoRng, city_person};
use yikatong_service::{NewOrganisation, Service};
use yikatong_store::scratch::{Backend, fresh_url};
use yikatong_store::{DataKey, Store};

use super::baselines::Baselines;

use crate::config;

const UNITS: usize = 10;
/// Every this-many persons has a different name in the registry (marked `×`) …
const NAME_DIFFERS_EVERY: u64 = 100;
/// … and every this-many is missing from the extract (marked `无`).
const MISSING_EVERY: u64 = 200;

/// One timed step and its baseline.
struct Step {
    name: &'static str,
    rows: u64,
    took: Duration,
    /// The process's peak resident memory during the step, in MB.
    peak_mb: String,
    /// What the baseline loaded (tables), how many rows, how long.
    baseline: (String, u64, Duration),
}

pub async fn run(persons: usize, batch: usize, backends: &[String], pg: &str) -> Result<(), String> {
    println!("ykt bench city: {persons} persons in {UNITS} units; a production batch of {batch}; {} cores", std::thread::available_parallelism().map_or(1, std::num::NonZero::get));
    let mut failed = Vec::new();
    for name in backends {
        let backend = super::fixtures::parse_backend(name)?;
        println!("\n{name}:");
        let started = Instant::now();
        match city_once(backend, pg, persons, batch).await {
            Ok(steps) => {
                print_steps(backend, &steps);
                record_steps(name, backend, &steps);
                println!("  whole run (setup included): {:.1} min", started.elapsed().as_secs_f64() / 60.0);
            }
            Err(e) => {
                println!("  failed: {e}");
                failed.push(name.clone());
            }
        }
    }
    println!("\naim: each step within 3 x its baseline's time");
    if failed.is_empty() { Ok(()) } else { Err(format!("the benchmark could not run on: {}", failed.join(", "))) }
}

fn print_steps(backend: Backend, steps: &[Step]) {
    let how = match backend {
        Backend::Postgres => "COPY",
        Backend::Sqlite => "INSERT…SELECT",
    };
    println!(
        "  {:<34} {:>9} {:>9} {:>9} {:>8}   {:<36} {:>9} {:>9} {:>7}",
        "step",
        "rows",
        "time s",
        "rows/s",
        "peak MB",
        format!("baseline ({how} of the rows written)"),
        "rows",
        "time s",
        "ratio"
    );
    for s in steps {
        let (tables, rows, took) = &s.baseline;
        println!(
            "  {:<34} {:>9} {:>9.2} {:>9.0} {:>8}   {:<36} {:>9} {:>9.2} {:>6.1}x",
            s.name,
            s.rows,
            s.took.as_secs_f64(),
            s.rows as f64 / s.took.as_secs_f64().max(1e-9),
            s.peak_mb,
            tables,
            rows,
            took.as_secs_f64(),
            s.took.as_secs_f64() / took.as_secs_f64().max(1e-9)
        );
    }
}

/// Each step's time beside its baseline's, for `ykt bench all` (aim: 3 × `COPY` on
/// PostgreSQL, 5 × `INSERT … SELECT` on SQLite).
fn record_steps(name: &str, backend: Backend, steps: &[Step]) {
    let (how, aim) = match backend {
        Backend::Postgres => ("COPY", 3.0),
        Backend::Sqlite => ("INSERT…SELECT", 5.0),
    };
    for s in steps {
        let (_, rows, took) = &s.baseline;
        let baseline = Some((format!("{how} of its {rows} rows"), took.as_secs_f64()));
        super::report::record(
            super::report::Figure::time("city", &format!("{name}: {} ({} rows, peak {} MB)", s.name, s.rows, s.peak_mb), s.took.as_secs_f64(), "s", baseline).aim(aim),
        );
    }
}

/// Starts measuring the peak resident memory afresh (Linux: `5` to `clear_refs`
/// resets `VmHWM`), so each step's peak is its own and not the baseline's before it.
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// The process's peak resident memory (Linux `VmHWM`), in MB.
fn peak_rss_mb() -> String {
    super::fixtures::proc_status_kib("VmHWM").map_or_else(|| "unknown".into(), |kb| (kb / 1024).to_string())
}

/// Loads again, into empty copies, the rows each `(table, select)` reads; sums them.
async fn baseline(store: &Baselines, parts: &[(&str, String)]) -> Result<(String, u64, Duration), String> {
    let (mut rows, mut took) = (0, Duration::ZERO);
    for (table, select) in parts {
        let (r, t) = store.bulk_load(table, select).await?;
        rows += r;
        took += t;
    }
    Ok((parts.iter().map(|(t, _)| *t).collect::<Vec<_>>().join(" + "), rows, took))
}

async fn city_once(backend: Backend, pg: &str, persons: usize, batch: usize) -> Result<Vec<Step>, String> {
    let (url, cleanup) = fresh_url(backend, pg).await;
    let dir = std::env::temp_dir().join(format!("ykt-bench-city-{}", std::process::id()));
    let result = async {
        let e = |e: yikatong_service::ServiceError| e.to_string();
        let key = DataKey::from_hex(&DataKey::generate_hex()).map_err(|e| e.to_string())?;
        let store = config::open_store(&url, key, yikatong_store::PoolOptions::default()).await?;
        let baselines = Baselines::open(&url).await?;
        let service = config::service(store.clone(), Arc::new(SystemClock), config::policies(None)?).await?;
        let op = super::fixtures::operator(&service).await?;
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let started = Instant::now();
        let units = make_city(&service, store.as_ref(), &op, &dir, persons).await?;
        println!("  setup: {persons} persons loaded and their files written in {:.1} s (not compared)", started.elapsed().as_secs_f64());
        let mut steps = Vec::new();

        reset_peak_rss();
        let started = Instant::now();
        let mut accepted = 0;
        for unit in &units {
            let file = std::fs::File::open(dir.join(format!("{unit}.csv"))).map_err(|e| e.to_string())?;
            let report = service.import_applications(&op, unit, BufReader::new(file)).await.map_err(e)?;
            if let Some(r) = report.refused.first() {
                return Err(format!("unit {unit}'s file had a refused row: line {} {}", r.line, r.reason));
            }
            accepted += report.accepted as u64;
        }
        let (took, peak_mb) = (started.elapsed(), peak_rss_mb());
        let base = baseline(&baselines, &[("cards", "SELECT * FROM cards".into()), ("card_events", "SELECT * FROM card_events".into())]).await?;
        steps.push(Step { name: "import applications (10 unit files)", rows: accepted, took, peak_mb, baseline: base });

        reset_peak_rss();
        let started = Instant::now();
        let file = std::fs::File::open(dir.join("registry.csv")).map_err(|e| e.to_string())?;
        let report = service.import_registry(BufReader::new(file)).await.map_err(e)?;
        let (took, peak_mb) = (started.elapsed(), peak_rss_mb());
        let base = baseline(&baselines, &[("registry_extract", "SELECT * FROM registry_extract".into())]).await?;
        steps.push(Step { name: "import registry extract", rows: report.accepted as u64, took, peak_mb, baseline: base });

        reset_peak_rss();
        let started = Instant::now();
        let compared = service.compare_all(&|_, _| {}).await.map_err(e)?;
        let (took, peak_mb) = (started.elapsed(), peak_rss_mb());
        let base = baseline(&baselines, &[("comparisons", "SELECT * FROM comparisons".into())]).await?;
        println!("  comparison: {} matched, {} held for a second collection", compared.matched, compared.held);
        steps.push(Step { name: "compare with the registry", rows: compared.persons, took, peak_mb, baseline: base });

        reset_peak_rss();
        let started = Instant::now();
        let cut = service.cut_batch(&op, "beijing", None, Some(batch)).await.map_err(e)?;
        let (took, peak_mb) = (started.elapsed(), peak_rss_mb());
        let base = baseline(
            &baselines,
            &[("cards", format!("SELECT * FROM cards WHERE batch_id = {}", cut.id)), ("card_events", "SELECT * FROM card_events WHERE kind = 'assigned_to_batch'".into())],
        )
        .await?;
        println!("  production batch {}: {} cards, {} held out on the way", cut.id, cut.card_ids.len(), cut.excluded.len());
        steps.push(Step { name: "cut a production batch", rows: cut.card_ids.len() as u64, took, peak_mb, baseline: base });

        let today = service.clock().today();
        let month = format!("{}-{:02}", today.year(), today.month());
        reset_peak_rss();
        let started = Instant::now();
        let credits = service.credit_accounts(&month, yikatong_service::batch::credits::PAGE, None, &|_, _| {}).await.map_err(e)?;
        let (took, peak_mb) = (started.elapsed(), peak_rss_mb());
        let base = baseline(&baselines, &[("account_entries", "SELECT * FROM account_entries".into())]).await?;
        println!(
            "  credits {month}: {} credited ({} fen), {} not eligible, {} refused{}",
            credits.credited,
            credits.credited_fen,
            credits.not_eligible,
            credits.failed,
            credits.failures.first().map(|f| format!(" (first: {} {})", f.code, f.reason)).unwrap_or_default()
        );
        steps.push(Step { name: "credit the month's accounts", rows: credits.persons, took, peak_mb, baseline: base });

        let audit = store.verify_audit().await.map_err(|e| e.to_string())?;
        if !audit.problems.is_empty() {
            return Err(format!("the audit trail does not verify after the run: {:?}", &audit.problems[..audit.problems.len().min(3)]));
        }
        Ok(steps)
    }
    .await;
    let _ = std::fs::remove_dir_all(&dir);
    cleanup();
    result
}

/// Units, persons (loaded 10,000 at a time), each unit's application file and the
/// registry extract, made in one pass over the city in bounded memory.
async fn make_city(service: &Arc<Service>, store: &dyn Store, op: &Principal, dir: &std::path::Path, persons: usize) -> Result<Vec<String>, String> {
    let e = |e: yikatong_service::ServiceError| e.to_string();
    let io = |e: std::io::Error| e.to_string();
    let units: Vec<String> = (1..=UNITS).map(|i| format!("C{i:02}")).collect();
    let mut files = Vec::new();
    for unit in &units {
        service.create_unit(op, &NewOrganisation { code: unit.clone(), name: format!("城市基准单位{unit}"), region: "beijing".into(), ..Default::default() }).await.map_err(e)?;
        let mut f = BufWriter::new(std::fs::File::create(dir.join(format!("{unit}.csv"))).map_err(io)?);
        writeln!(f, "公民身份号码,姓名,联系电话,金融卡").map_err(io)?;
        files.push(f);
    }
    let mut registry = BufWriter::new(std::fs::File::create(dir.join("registry.csv")).map_err(io)?);
    writeln!(registry, "公民身份号码,姓名,性别,民族,出生日期,照片摘要").map_err(io)?;
    let today = service.clock().today();
    let mut rng = DemoRng::new(2026);
    let mut chunk = Vec::with_capacity(10_000);
    for n in 0..persons as u64 {
        let p = city_person(n, &units, today, &mut rng);
        let unit = units.iter().position(|u| Some(u) == p.unit_code.as_ref()).unwrap_or(0);
        writeln!(files[unit], "{},{},{},否", p.ssn, p.name, p.phone.as_deref().unwrap_or("")).map_err(io)?;
        if n % MISSING_EVERY != MISSING_EVERY - 1 {
            let name = if n % NAME_DIFFERS_EVERY == 3 { format!("{}某", p.name) } else { p.name.clone() };
            let gender = p.gender.name_zh();
            writeln!(registry, "{},{name},{gender},{},{},{}", p.ssn, p.ethnicity, p.birth_date.format("%Y%m%d"), p.photo_digest.as_deref().unwrap_or("")).map_err(io)?;
        }
        chunk.push(p);
        if chunk.len() == 10_000 {
            store.insert_persons(&chunk).await.map_err(|e| e.to_string())?;
            chunk.clear();
        }
    }
    store.insert_persons(&chunk).await.map_err(|e| e.to_string())?;
    for mut f in files {
        f.flush().map_err(io)?;
    }
    registry.flush().map_err(io)?;
    Ok(units)
}
