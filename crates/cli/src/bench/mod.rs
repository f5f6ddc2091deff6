//! `ykt bench …`: each benchmark prints its figure beside a baseline measured in the
//! same run on the same database. Benchmarks report; they never fail because the
//! machine is slow.

mod baselines;
mod card_life;
mod city;
mod cross_region;
mod events;
mod fixtures;
mod portal;
mod registry;
mod report;
mod settle;
mod upload;

use clap::Subcommand;

use fixtures::compare_on_backends;

#[derive(Subcommand, Debug)]
pub enum BenchCommand {
    /// Persons created through the HTTP API per second, on SQLite and PostgreSQL,
    /// beside single-row INSERT transactions of the same rows straight into the same
    /// database.
    Registry {
        /// Persons to create per backend.
        #[arg(long, default_value_t = 5000)]
        count: usize,
        /// Concurrent clients (and baseline connections).
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
        /// PostgreSQL server for the run (a fresh schema is made and dropped).
        #[arg(long, env = "YKT_TEST_PG", default_value = yikatong_store::scratch::DEFAULT_TEST_PG)]
        postgres: String,
        /// Only these backends (sqlite, postgres); both by default.
        #[arg(long, value_delimiter = ',', default_value = "sqlite,postgres")]
        backends: Vec<String>,
    },
    /// Card notices per second from the counter through the relay and JetStream to the
    /// transit blocklist, and the latency from a pre-loss at the counter to the
    /// blocklist (p50, p99), beside the broker's own rate on the same server (a
    /// nats-server of the benchmark's own).
    Events {
        /// Pre-loss / revoke pairs (two notices each).
        #[arg(long, default_value_t = 1000)]
        pairs: usize,
        /// Pre-losses timed one by one from the counter to the blocklist.
        #[arg(long, default_value_t = 200)]
        samples: usize,
        /// Concurrent clerks.
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
        #[arg(long, env = "YKT_TEST_PG", default_value = yikatong_store::scratch::DEFAULT_TEST_PG)]
        postgres: String,
        /// Backends to run (sqlite, postgres).
        #[arg(long, value_delimiter = ',', default_value = "sqlite,postgres")]
        backends: Vec<String>,
    },
    /// Pre-loss / revoke pairs through the HTTP API per second, beside the equivalent
    /// raw SQL transactions (lock the card row, insert an event, update the state).
    CardLife {
        /// Pre-loss / revoke pairs per backend.
        #[arg(long, default_value_t = 2000)]
        pairs: usize,
        /// Concurrent clerks (each works on cards of its own).
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
        #[arg(long, env = "YKT_TEST_PG", default_value = yikatong_store::scratch::DEFAULT_TEST_PG)]
        postgres: String,
        /// Backends to run (sqlite, postgres); PostgreSQL by default.
        #[arg(long, value_delimiter = ',', default_value = "postgres")]
        backends: Vec<String>,
    },
    /// Full outpatient visits (1101, 2201, 2204 with 5 lines, 2206, 2207) through the
    /// national interface with concurrent cashiers, beside pgbench's TPC-B-like script
    /// with the same client count on the same PostgreSQL server.
    Settle {
        /// Visits per cashier.
        #[arg(long, default_value_t = 100)]
        visits: usize,
        /// Concurrent cashiers (and pgbench clients).
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
        /// Other cashier counts run after it, each beside pgbench with as many clients.
        #[arg(long, value_delimiter = ',', default_value = "1,32")]
        other_clients: Vec<usize>,
        /// Cashiers settling visits of one person at once (the locked path); 0: none.
        #[arg(long, default_value_t = 50)]
        same_person: usize,
        /// Seconds pgbench runs.
        #[arg(long, default_value_t = 10)]
        pgbench_seconds: u32,
        #[arg(long, env = "YKT_TEST_PG", default_value = yikatong_store::scratch::DEFAULT_TEST_PG)]
        postgres: String,
    },
    /// A synthetic city through the bureau's batch work (application files, registry
    /// extract and comparison, a production batch, the month's credits), each step
    /// beside the same rows loaded with COPY (PostgreSQL) or INSERT … SELECT (SQLite).
    City {
        /// Persons in the city.
        #[arg(long, default_value_t = 1_000_000)]
        persons: usize,
        /// Cards in the production batch cut.
        #[arg(long, default_value_t = 100_000)]
        batch: usize,
        #[arg(long, env = "YKT_TEST_PG", default_value = yikatong_store::scratch::DEFAULT_TEST_PG)]
        postgres: String,
        /// Backends to run (sqlite, postgres).
        #[arg(long, value_delimiter = ',', default_value = "postgres,sqlite")]
        backends: Vec<String>,
    },
    /// The portal's main pages with a unit of 10,000 persons: p50 and p99 per page
    /// beside `/healthz` on the same server.
    Portal {
        #[arg(long, default_value_t = 10_000)]
        persons: usize,
        /// Requests per page.
        #[arg(long, default_value_t = 200)]
        requests: usize,
        #[arg(long, env = "YKT_TEST_PG", default_value = yikatong_store::scratch::DEFAULT_TEST_PG)]
        postgres: String,
        #[arg(long, value_delimiter = ',', default_value = "sqlite,postgres")]
        backends: Vec<String>,
    },
    /// A unit's application file of a city's size (1,000,000 rows, about 40 MB) through
    /// the HTTP API beside the command line's path, on the same database.
    Upload {
        #[arg(long, default_value_t = 1_000_000)]
        rows: usize,
        #[arg(long, env = "YKT_TEST_PG", default_value = yikatong_store::scratch::DEFAULT_TEST_PG)]
        postgres: String,
        #[arg(long, value_delimiter = ',', default_value = "sqlite,postgres")]
        backends: Vec<String>,
    },
    /// 2207 for a Beijing holder at a Hebei institution (two deployments linked over
    /// NATS, R-XREG-2): rate, p50 and p99 beside the same-region 2207 in the same run.
    CrossRegion {
        /// Visits per cashier, in each region.
        #[arg(long, default_value_t = 100)]
        visits: usize,
        /// Concurrent cashiers.
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
        #[arg(long, env = "YKT_TEST_PG", default_value = yikatong_store::scratch::DEFAULT_TEST_PG)]
        postgres: String,
        #[arg(long, value_delimiter = ',', default_value = "sqlite,postgres")]
        backends: Vec<String>,
    },
    /// The pure settlement engine: receipts per second on one core.
    SettleEngine {
        #[arg(long, default_value_t = 1_000_000)]
        receipts: usize,
    },
    /// Every benchmark above in one run, then one table of their figures and ratios,
    /// written with the machine's description into the generated part of `--out`.
    All {
        /// Small sizes everywhere (a check that every benchmark runs, not a measure).
        #[arg(long)]
        quick: bool,
        /// The Markdown file whose generated part is replaced (the rest is kept).
        #[arg(long, default_value = "docs/benchmarks.md")]
        out: std::path::PathBuf,
        #[arg(long, env = "YKT_TEST_PG", default_value = yikatong_store::scratch::DEFAULT_TEST_PG)]
        postgres: String,
    },
}

pub async fn run(cmd: BenchCommand) -> Result<(), String> {
    match cmd {
        BenchCommand::Registry { count, concurrency, postgres, backends } => {
            println!("ykt bench registry: {count} persons per backend, {concurrency} concurrent clients");
            compare_on_backends("registry", "req", 0.5, &backends, Some("single-row INSERT transactions of the same rows into an empty copy of the persons table"), |b| {
                registry::once(b, &postgres, count, concurrency)
            })
            .await
        }
        BenchCommand::CardLife { pairs, concurrency, postgres, backends } => {
            println!("ykt bench card-life: {pairs} pre-loss / revoke pairs per backend, {concurrency} concurrent clerks");
            compare_on_backends(
                "card-life",
                "ops",
                0.7,
                &backends,
                Some("BEGIN; SELECT … FOR UPDATE; INSERT event; UPDATE state; COMMIT on a scratch copy of the same card rows"),
                |b| card_life::once(b, &postgres, pairs, concurrency),
            )
            .await
        }
        BenchCommand::Events { pairs, samples, concurrency, postgres, backends } => events::run(pairs, samples, concurrency, &backends, &postgres).await,
        BenchCommand::Settle { visits, concurrency, other_clients, same_person, pgbench_seconds, postgres } => {
            settle::run(visits, concurrency, &other_clients, same_person, pgbench_seconds, &postgres).await
        }
        BenchCommand::SettleEngine { receipts } => settle::engine(receipts),
        BenchCommand::CrossRegion { visits, concurrency, postgres, backends } => cross_region::run(visits, concurrency, &backends, &postgres).await,
        BenchCommand::City { persons, batch, postgres, backends } => city::run(persons, batch, &backends, &postgres).await,
        BenchCommand::Portal { persons, requests, postgres, backends } => portal::run(persons, requests, &backends, &postgres).await,
        BenchCommand::Upload { rows, postgres, backends } => upload::run(rows, &backends, &postgres).await,
        BenchCommand::All { quick, out, postgres } => all(quick, &out, &postgres).await,
    }
}

/// The sizes of `ykt bench all`: each benchmark's defaults, or small ones with `--quick`.
fn every_benchmark(quick: bool, postgres: &str) -> Vec<BenchCommand> {
    let pg = || postgres.to_string();
    let both = || vec!["sqlite".to_string(), "postgres".to_string()];
    let size = |full: usize, small: usize| if quick { small } else { full };
    vec![
        BenchCommand::Settle {
            visits: size(100, 3),
            concurrency: 8,
            other_clients: if quick { vec![2] } else { vec![1, 32] },
            same_person: size(50, 3),
            pgbench_seconds: if quick { 1 } else { 10 },
            postgres: pg(),
        },
        BenchCommand::CardLife { pairs: size(2000, 30), concurrency: 8, postgres: pg(), backends: both() },
        BenchCommand::Registry { count: size(5000, 60), concurrency: 8, postgres: pg(), backends: both() },
        BenchCommand::Events { pairs: size(1000, 20), samples: size(200, 5), concurrency: 8, postgres: pg(), backends: both() },
        BenchCommand::CrossRegion { visits: size(100, 3), concurrency: 8, postgres: pg(), backends: both() },
        BenchCommand::City { persons: size(1_000_000, 3000), batch: size(100_000, 400), postgres: pg(), backends: both() },
        BenchCommand::Upload { rows: size(1_000_000, 2000), postgres: pg(), backends: both() },
        BenchCommand::Portal { persons: size(10_000, 300), requests: size(200, 3), postgres: pg(), backends: both() },
        BenchCommand::SettleEngine { receipts: size(1_000_000, 10_000) },
    ]
}

/// `ykt bench all`: every benchmark, then their figures in one table, written into
/// `out` with the machine. A benchmark that fails is named and the others still run.
async fn all(quick: bool, out: &std::path::Path, postgres: &str) -> Result<(), String> {
    report::take();
    let started = std::time::Instant::now();
    let mut failed = Vec::new();
    for cmd in every_benchmark(quick, postgres) {
        let name = format!("{cmd:?}").split([' ', '{']).next().unwrap_or_default().to_string();
        println!();
        if let Err(e) = Box::pin(run(cmd)).await {
            println!("{name} failed: {e}");
            failed.push(name);
        }
    }
    let figures = report::take();
    let machine = report::machine(postgres).await;
    println!("\nykt bench all: {} figures in {:.1} min", figures.len(), started.elapsed().as_secs_f64() / 60.0);
    println!("{}", report::table(&figures));
    let mut section = format!(
        "Written by `ykt bench all{}` on {} (Asia/Shanghai), in {:.1} minutes.\n\n| machine | |\n| --- | --- |\n",
        if quick { " --quick" } else { "" },
        chrono::Utc::now().with_timezone(&yikatong_core::clock::shanghai()).format("%Y-%m-%d %H:%M"),
        started.elapsed().as_secs_f64() / 60.0
    );
    for (k, v) in &machine {
        section.push_str(&format!("| {k} | {v} |\n"));
    }
    section.push('\n');
    section.push_str(&report::markdown(&figures));
    if !failed.is_empty() {
        section.push_str(&format!("\nNot run to the end: {}.\n", failed.join(", ")));
    }
    let existing = std::fs::read_to_string(out).unwrap_or_default();
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    std::fs::write(out, report::replace_section(&existing, &section)).map_err(|e| format!("{}: {e}", out.display()))?;
    println!("written to {}", out.display());
    if failed.is_empty() { Ok(()) } else { Err(format!("these benchmarks failed: {}", failed.join(", "))) }
}
