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
}

pub async fn run(cmd: BenchCommand) -> Result<(), String> {
    match cmd {
        BenchCommand::Registry { count, concurrency, postgres, backends } => {
            println!("ykt bench registry: {count} persons per backend, {concurrency} concurrent clients");
            println!("{:<10} {:>14} {:>14} {:>10} {:>10} {:>10}", "backend", "api req/s", "baseline/s", "ratio", "api p50", "api p99");
            let mut failed = Vec::new();
            for name in &backends {
                let backend = match name.as_str() {
                    "sqlite" => Backend::Sqlite,
                    "postgres" => Backend::Postgres,
                    other => return Err(format!("unknown backend {other:?}; use sqlite or postgres")),
                };
                match registry_once(backend, &postgres, count, concurrency).await {
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
            println!("aim: the API at no less than half the baseline's rate (ratio >= 0.50)");
            if failed.is_empty() { Ok(()) } else { Err(format!("the benchmark could not run on: {}", failed.join(", "))) }
        }
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

struct RegistryResult {
    api_rate: f64,
    baseline_rate: f64,
    p50: Duration,
    p99: Duration,
}

async fn registry_once(backend: Backend, pg: &str, count: usize, concurrency: usize) -> Result<RegistryResult, String> {
    let (url, cleanup) = fresh_url(backend, pg).await;
    let result = async {
        let store = config::open_store(&url, DataKey::from_hex(&DataKey::generate_hex()).map_err(|e| e.to_string())?).await?;
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let service = config::service(store.clone(), clock.clone(), config::policies(None)?).await?;
        let operator = service.issue_token(&TokenRequest { role: "operator".into(), ..Default::default() }).await.map_err(|e| e.to_string())?;
        let who = service.authenticate(&operator.token).await.map_err(|e| e.to_string())?;
        service
            .create_unit(&who, &NewOrganisation { code: "BENCH".into(), name: "基准单位".into(), region: "beijing".into() })
            .await
            .map_err(|e| e.to_string())?;

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| e.to_string())?;
        let base = format!("http://{}", listener.local_addr().map_err(|e| e.to_string())?);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let state = yikatong_http::AppState::new(service.clone(), None);
        let server = tokio::spawn(yikatong_http::serve(listener, state, async {
            let _ = stopped.await;
        }));

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
        let _ = stop.send(());
        let _ = server.await;
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
        let pct = |p: f64| latencies.get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1))).copied().unwrap_or_default();
        Ok(RegistryResult {
            api_rate: count as f64 / api_time.as_secs_f64(),
            baseline_rate: count as f64 / baseline_time.as_secs_f64(),
            p50: pct(0.50),
            p99: pct(0.99),
        })
    }
    .await;
    cleanup();
    result
}
