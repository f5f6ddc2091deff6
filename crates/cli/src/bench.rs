//! `ykt bench …`: each benchmark prints its figure beside a baseline measured in the
//! same run on the same database. Benchmarks report; they never fail because the
//! machine is slow.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use clap::Subcommand;
use yikatong_core::clock::{Clock, SystemClock};
use yikatong_service::{NewOrganisation, TokenRequest};
use yikatong_store::DataKey;
use yikatong_store::testing::{Backend, fresh_url};

use crate::config;

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
        #[arg(long, env = "YKT_TEST_PG", default_value = yikatong_store::testing::DEFAULT_TEST_PG)]
        postgres: String,
        /// Only these backends (sqlite, postgres); both by default.
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
        #[arg(long, env = "YKT_TEST_PG", default_value = yikatong_store::testing::DEFAULT_TEST_PG)]
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
        /// Seconds pgbench runs.
        #[arg(long, default_value_t = 10)]
        pgbench_seconds: u32,
        #[arg(long, env = "YKT_TEST_PG", default_value = yikatong_store::testing::DEFAULT_TEST_PG)]
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
        #[arg(long, env = "YKT_TEST_PG", default_value = yikatong_store::testing::DEFAULT_TEST_PG)]
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
        #[arg(long, env = "YKT_TEST_PG", default_value = yikatong_store::testing::DEFAULT_TEST_PG)]
        postgres: String,
        #[arg(long, value_delimiter = ',', default_value = "sqlite,postgres")]
        backends: Vec<String>,
    },
    /// A unit's application file of a city's size (1,000,000 rows, about 40 MB) through
    /// the HTTP API beside the command line's path, on the same database.
    Upload {
        #[arg(long, default_value_t = 1_000_000)]
        rows: usize,
        #[arg(long, env = "YKT_TEST_PG", default_value = yikatong_store::testing::DEFAULT_TEST_PG)]
        postgres: String,
        #[arg(long, value_delimiter = ',', default_value = "sqlite,postgres")]
        backends: Vec<String>,
    },
    /// The pure settlement engine: receipts per second on one core.
    SettleEngine {
        #[arg(long, default_value_t = 1_000_000)]
        receipts: usize,
    },
}

pub(crate) fn parse_backend(name: &str) -> Result<Backend, String> {
    match name {
        "sqlite" => Ok(Backend::Sqlite),
        "postgres" => Ok(Backend::Postgres),
        other => Err(format!("unknown backend {other:?}; use sqlite or postgres")),
    }
}

/// A server on a loopback port for one benchmark, stopped when dropped.
pub(crate) struct BenchServer {
    pub(crate) base: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl BenchServer {
    pub(crate) async fn start(service: Arc<yikatong_service::Service>) -> Result<BenchServer, String> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| e.to_string())?;
        let base = format!("http://{}", listener.local_addr().map_err(|e| e.to_string())?);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(yikatong_http::serve(listener, yikatong_http::AppState::new(service, None), async {
            let _ = stopped.await;
        }));
        Ok(BenchServer { base, stop: Some(stop) })
    }
}

impl Drop for BenchServer {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

/// Runs one API-versus-baseline benchmark on each backend and prints a row for each.
async fn compare_on_backends<F, Fut>(unit: &str, backends: &[String], baseline_note: Option<&str>, mut once: F) -> Result<(), String>
where
    F: FnMut(Backend) -> Fut,
    Fut: std::future::Future<Output = Result<ApiVsBaseline, String>>,
{
    println!("{:<10} {:>14} {:>14} {:>10} {:>10} {:>10}", "backend", format!("api {unit}/s"), "baseline/s", "ratio", "api p50", "api p99");
    let mut failed = Vec::new();
    for name in backends {
        match once(parse_backend(name)?).await {
            Ok(r) => println!(
                "{:<10} {:>14.0} {:>14.0} {:>10.2} {:>8.1}ms {:>8.1}ms",
                name,
                r.api_rate,
                r.baseline_rate,
                r.api_rate / r.baseline_rate.max(f64::MIN_POSITIVE),
                ms(r.p50),
                ms(r.p99)
            ),
            Err(e) => {
                println!("{name:<10} failed: {e}");
                failed.push(name.clone());
            }
        }
    }
    if let Some(note) = baseline_note {
        println!("baseline: {note}");
    }
    println!("aim: the API at no less than half the baseline's rate (ratio >= 0.50)");
    if failed.is_empty() { Ok(()) } else { Err(format!("the benchmark could not run on: {}", failed.join(", "))) }
}

pub async fn run(cmd: BenchCommand) -> Result<(), String> {
    match cmd {
        BenchCommand::Registry { count, concurrency, postgres, backends } => {
            println!("ykt bench registry: {count} persons per backend, {concurrency} concurrent clients");
            compare_on_backends("req", &backends, Some("single-row INSERT transactions of the same rows into the persons table"), |b| {
                registry_once(b, &postgres, count, concurrency)
            })
            .await
        }
        BenchCommand::CardLife { pairs, concurrency, postgres, backends } => {
            println!("ykt bench card-life: {pairs} pre-loss / revoke pairs per backend, {concurrency} concurrent clerks");
            compare_on_backends("ops", &backends, Some("BEGIN; SELECT … FOR UPDATE; INSERT event; UPDATE state; COMMIT on a scratch copy of the same card rows"), |b| {
                card_life_once(b, &postgres, pairs, concurrency)
            })
            .await
        }
        BenchCommand::Settle { visits, concurrency, pgbench_seconds, postgres } => crate::bench_settle::run(visits, concurrency, pgbench_seconds, &postgres).await,
        BenchCommand::SettleEngine { receipts } => crate::bench_settle::engine(receipts),
        BenchCommand::City { persons, batch, postgres, backends } => crate::bench_city::run(persons, batch, &backends, &postgres).await,
        BenchCommand::Portal { persons, requests, postgres, backends } => crate::bench_portal::run(persons, requests, &backends, &postgres).await,
        BenchCommand::Upload { rows, postgres, backends } => crate::bench_upload::run(rows, &backends, &postgres).await,
    }
}

/// An operator of the benchmark's own service.
pub(crate) async fn operator(service: &yikatong_service::Service) -> Result<yikatong_core::access::Principal, String> {
    let e = |e: yikatong_service::ServiceError| e.to_string();
    service.authenticate(&service.issue_token(&TokenRequest { role: "operator".into(), ..Default::default() }).await.map_err(e)?.token).await.map_err(e)
}

/// Active cards for the benchmark, made through the service as in life; returns them
/// and a clerk token of their outlet.
pub(crate) async fn active_cards(service: &yikatong_service::Service, store: &dyn yikatong_store::Store, count: usize) -> Result<(Vec<i64>, String), String> {
    use yikatong_service::NewInstitution;
    let e = |e: yikatong_service::ServiceError| e.to_string();
    let op = operator(service).await?;
    let region = || "beijing".to_string();
    service.create_unit(&op, &NewOrganisation { code: "BENCH".into(), name: "基准单位".into(), region: region(), ..Default::default() }).await.map_err(e)?;
    service.create_outlet(&op, &NewOrganisation { code: "BENCH".into(), name: "基准网点".into(), region: region(), ..Default::default() }).await.map_err(e)?;
    service.create_institution(&op, &NewInstitution { code: "BENCH".into(), name: "基准医院".into(), region: region(), level: "3".into(), class: None }).await.map_err(e)?;
    let mut rng = yikatong_service::demo::DemoRng::new(7);
    let people = yikatong_service::demo::synthetic_persons(count, &["BENCH".into()], service.clock().today(), &mut rng);
    store.insert_persons(&people).await.map_err(|e| e.to_string())?;
    let ssns: Vec<String> = people.into_iter().map(|p| p.ssn).collect();
    let ids = yikatong_service::demo::issue_active_cards(service, &ssns, "BENCH", "BENCH").await.map_err(e)?;
    let clerk = service.issue_token(&TokenRequest { role: "clerk".into(), outlet: Some("BENCH".into()), ..Default::default() }).await.map_err(e)?;
    Ok((ids, clerk.token))
}

async fn card_life_once(backend: Backend, pg: &str, pairs: usize, concurrency: usize) -> Result<ApiVsBaseline, String> {
    let (url, cleanup) = fresh_url(backend, pg).await;
    let result = async {
        let store = config::open_store(&url, DataKey::from_hex(&DataKey::generate_hex()).map_err(|e| e.to_string())?, yikatong_store::PoolOptions::default()).await?;
        let service = config::service(store.clone(), Arc::new(SystemClock), config::policies(None)?).await?;
        let concurrency = concurrency.max(1);
        let (cards, clerk) = active_cards(&service, store.as_ref(), concurrency * 4).await?;
        let server = BenchServer::start(service.clone()).await?;
        let client = reqwest::Client::new();
        let started = Instant::now();
        let mut workers = Vec::new();
        for w in 0..concurrency {
            let own: Vec<i64> = cards.iter().skip(w).step_by(concurrency).copied().collect();
            let n = pairs / concurrency + usize::from(w < pairs % concurrency);
            let (client, base, clerk) = (client.clone(), server.base.clone(), clerk.clone());
            workers.push(tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(n * 2);
                for i in 0..n {
                    let id = own[i % own.len()];
                    for (method, status) in [("POST", 201u16), ("DELETE", 200)] {
                        let t = Instant::now();
                        let req = client.request(method.parse().map_err(|_| "method".to_string())?, format!("{base}/v1/cards/{id}/pre-loss")).bearer_auth(&clerk);
                        let req = if method == "POST" { req.json(&serde_json::json!({})) } else { req };
                        let res = req.send().await.map_err(|e| e.to_string())?;
                        if res.status().as_u16() != status {
                            return Err(format!("{method} pre-loss answered {}: {}", res.status(), res.text().await.unwrap_or_default()));
                        }
                        latencies.push(t.elapsed());
                    }
                }
                Ok::<_, String>(latencies)
            }));
        }
        let mut latencies = Vec::new();
        for w in workers {
            latencies.extend(w.await.map_err(|e| e.to_string())??);
        }
        let api_time = started.elapsed();
        drop(server);
        let sample = store.get_card(cards[0]).await.map_err(|e| e.to_string())?.ok_or("no card")?;
        let json = serde_json::to_string(&sample).map_err(|e| e.to_string())?;
        let baseline_time = store.baseline_card_transactions(cards.len(), pairs * 2, concurrency, &json).await.map_err(|e| e.to_string())?;
        let audit = store.verify_audit().await.map_err(|e| e.to_string())?;
        if !audit.problems.is_empty() {
            return Err(format!("the audit trail does not verify after the run: {:?}", audit.problems));
        }
        latencies.sort();
        Ok(ApiVsBaseline {
            api_rate: (pairs * 2) as f64 / api_time.as_secs_f64(),
            baseline_rate: (pairs * 2) as f64 / baseline_time.as_secs_f64(),
            p50: percentile(&latencies, 0.50),
            p99: percentile(&latencies, 0.99),
        })
    }
    .await;
    cleanup();
    result
}

/// The `p` quantile of sorted latencies.
pub(crate) fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted.get(((sorted.len() as f64 * p) as usize).min(sorted.len().saturating_sub(1))).copied().unwrap_or_default()
}

/// A figure of this process's `/proc/self/status` in KiB (`VmRSS`, `VmHWM`; Linux).
pub(crate) fn proc_status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.strip_prefix(field).is_some_and(|rest| rest.starts_with(':')))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

pub(crate) fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// An API rate beside its same-run baseline.
pub(crate) struct ApiVsBaseline {
    api_rate: f64,
    baseline_rate: f64,
    p50: Duration,
    p99: Duration,
}

async fn registry_once(backend: Backend, pg: &str, count: usize, concurrency: usize) -> Result<ApiVsBaseline, String> {
    let (url, cleanup) = fresh_url(backend, pg).await;
    let result = async {
        let store = config::open_store(&url, DataKey::from_hex(&DataKey::generate_hex()).map_err(|e| e.to_string())?, yikatong_store::PoolOptions::default()).await?;
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let service = config::service(store.clone(), clock.clone(), config::policies(None)?).await?;
        let operator = service.issue_token(&TokenRequest { role: "operator".into(), ..Default::default() }).await.map_err(|e| e.to_string())?;
        let who = service.authenticate(&operator.token).await.map_err(|e| e.to_string())?;
        service
            .create_unit(&who, &NewOrganisation { code: "BENCH".into(), name: "基准单位".into(), region: "beijing".into(), ..Default::default() })
            .await
            .map_err(|e| e.to_string())?;

        let server = BenchServer::start(service.clone()).await?;
        let base = server.base.clone();

        let mut rng = yikatong_service::demo::DemoRng::new(42);
        let people = yikatong_service::demo::synthetic_persons(count, &["BENCH".into()], clock.today(), &mut rng);
        let bodies: Arc<Vec<serde_json::Value>> = Arc::new(
            people
                .iter()
                .map(|p| serde_json::json!({"ssn": p.ssn, "name": p.name, "ethnicity": p.ethnicity, "category": p.category, "region": "beijing", "unit_code": "BENCH", "phone": p.phone}))
                .collect(),
        );
        let client = reqwest::Client::new();
        let next = Arc::new(AtomicUsize::new(0));
        let started = Instant::now();
        let mut workers = Vec::new();
        for _ in 0..concurrency.max(1) {
            let (client, bodies, next, base, token) = (client.clone(), bodies.clone(), next.clone(), base.clone(), operator.token.clone());
            workers.push(tokio::spawn(async move {
                let mut latencies = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(body) = bodies.get(i) else { break };
                    let t = Instant::now();
                    let res = client.post(format!("{base}/v1/persons")).bearer_auth(&token).json(body).send().await.map_err(|e| e.to_string())?;
                    if res.status().as_u16() != 201 {
                        return Err(format!("POST /v1/persons answered {}: {}", res.status(), res.text().await.unwrap_or_default()));
                    }
                    latencies.push(t.elapsed());
                }
                Ok::<_, String>(latencies)
            }));
        }
        let mut latencies = Vec::new();
        for w in workers {
            latencies.extend(w.await.map_err(|e| e.to_string())??);
        }
        let api_time = started.elapsed();
        drop(server);
        let created = store.count_persons().await.map_err(|e| e.to_string())?;
        if created as usize != count {
            return Err(format!("{created} persons stored, {count} sent"));
        }
        // The baseline writes the same kind of rows (other persons, same unit) straight
        // into the persons table.
        let mut rng = yikatong_service::demo::DemoRng::new(4242);
        let mut baseline_people = yikatong_service::demo::synthetic_persons(count * 2, &["BENCH".into()], clock.today(), &mut rng);
        let taken: std::collections::HashSet<&str> = people.iter().map(|p| p.ssn.as_str()).collect();
        baseline_people.retain(|p| !taken.contains(p.ssn.as_str()));
        baseline_people.truncate(count);
        let baseline_time = store.baseline_single_row_inserts(&baseline_people, concurrency).await.map_err(|e| e.to_string())?;
        latencies.sort();
        Ok(ApiVsBaseline {
            api_rate: count as f64 / api_time.as_secs_f64(),
            baseline_rate: count as f64 / baseline_time.as_secs_f64(),
            p50: percentile(&latencies, 0.50),
            p99: percentile(&latencies, 0.99),
        })
    }
    .await;
    cleanup();
    result
}
