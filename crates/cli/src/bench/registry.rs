//! `ykt bench registry`: persons created through the HTTP API beside single-row
//! INSERT transactions of the same rows.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use yikatong_core::clock::{Clock, SystemClock};
use yikatong_service::{NewOrganisation, TokenRequest};
use yikatong_store::DataKey;
use yikatong_store::scratch::{Backend, fresh_url};

use super::fixtures::{ApiVsBaseline, BenchServer, Latencies};
use crate::config;

pub(super) async fn once(backend: Backend, pg: &str, count: usize, concurrency: usize) -> Result<ApiVsBaseline, String> {
    let (url, cleanup) = fresh_url(backend, pg).await;
    let result = async {
        let key = DataKey::from_hex(&DataKey::generate_hex()).map_err(|e| e.to_string())?;
        let store = config::open_store(&url, key, yikatong_store::PoolOptions::default()).await?;
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
                let mut latencies = Latencies::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(body) = bodies.get(i) else { break };
                    let t = Instant::now();
                    let res = client.post(format!("{base}/v1/persons")).bearer_auth(&token).json(body).send().await.map_err(|e| e.to_string())?;
                    if res.status().as_u16() != 201 {
                        return Err(format!("POST /v1/persons answered {}: {}", res.status(), res.text().await.unwrap_or_default()));
                    }
                    latencies.record(t.elapsed());
                }
                Ok::<_, String>(latencies)
            }));
        }
        let latencies = Latencies::gather(workers).await?;
        let api_time = started.elapsed();
        drop(server);
        let created = store.count_persons().await.map_err(|e| e.to_string())?;
        if created as usize != count {
            return Err(format!("{created} persons stored, {count} sent"));
        }
        // The baseline writes the same rows again, straight into a copy of the table.
        let baselines = super::baselines::Baselines::open(&url).await?;
        let baseline_time = baselines.single_row_inserts("persons", "ssn_hash", concurrency).await?;
        Ok(ApiVsBaseline {
            api_rate: count as f64 / api_time.as_secs_f64(),
            baseline_rate: count as f64 / baseline_time.as_secs_f64(),
            p50: latencies.quantile(0.50),
            p99: latencies.quantile(0.99),
        })
    }
    .await;
    cleanup();
    result
}
