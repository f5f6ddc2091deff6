//! `ykt bench card-life`: pre-loss / revoke pairs through the HTTP API beside the raw
//! transactions of the same work.

use std::sync::Arc;
use std::time::Instant;

use yikatong_core::clock::SystemClock;
use yikatong_store::DataKey;
use yikatong_store::scratch::{Backend, fresh_url};

use super::fixtures::{ApiVsBaseline, BenchServer, Latencies, active_cards};
use crate::config;

pub(super) async fn once(backend: Backend, pg: &str, pairs: usize, concurrency: usize) -> Result<ApiVsBaseline, String> {
    let (url, cleanup) = fresh_url(backend, pg).await;
    let result = async {
        let key = DataKey::from_hex(&DataKey::generate_hex()).map_err(|e| e.to_string())?;
        let store = config::open_store(&url, key, yikatong_store::PoolOptions::default()).await?;
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
                let mut latencies = Latencies::new();
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
                        latencies.record(t.elapsed());
                    }
                }
                Ok::<_, String>(latencies)
            }));
        }
        let latencies = Latencies::gather(workers).await?;
        let api_time = started.elapsed();
        drop(server);
        let sample = store.get_card(cards[0]).await.map_err(|e| e.to_string())?.ok_or("no card")?;
        let json = serde_json::to_string(&sample).map_err(|e| e.to_string())?;
        let baselines = super::baselines::Baselines::open(&url).await?;
        let baseline_time = baselines.card_transactions(cards.len(), pairs * 2, concurrency, &json).await?;
        let audit = store.verify_audit().await.map_err(|e| e.to_string())?;
        if !audit.problems.is_empty() {
            return Err(format!("the audit trail does not verify after the run: {:?}", audit.problems));
        }
        Ok(ApiVsBaseline {
            api_rate: (pairs * 2) as f64 / api_time.as_secs_f64(),
            baseline_rate: (pairs * 2) as f64 / baseline_time.as_secs_f64(),
            p50: latencies.quantile(0.50),
            p99: latencies.quantile(0.99),
        })
    }
    .await;
    cleanup();
    result
}
