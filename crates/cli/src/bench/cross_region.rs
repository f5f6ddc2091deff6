//! `ykt bench cross-region`: 2207 for a Beijing holder at a Hebei institution (the care
//! region's deployment asks Beijing's over NATS request/reply, R-XREG-2), rate, p50 and
//! p99, beside the same-region 2207 at a Beijing institution in the same run, on the
//! same backend and machine. Two deployments in this process, each on a fresh database
//! of its own, linked through a `nats-server` of the benchmark's own.

use std::sync::Arc;
use std::time::Duration;

use yikatong_core::clock::SystemClock;
use yikatong_service::{NewInstitution, Service, TokenRequest};
use yikatong_store::DataKey;
use yikatong_store::scratch::{Backend, fresh_url};

use super::events::OwnNats;
use super::fixtures::{BenchServer, active_cards, ms, operator, parse_backend};
use super::settle::{His, SettleResult, bench_catalogue, cashiers};
use crate::config;

pub(super) async fn run(visits: usize, concurrency: usize, backends: &[String], pg: &str) -> Result<(), String> {
    let concurrency = concurrency.max(1);
    println!("ykt bench cross-region: {concurrency} cashiers × {visits} visits (1101, 2201, 2204 × 5 lines, 2206, 2207), same-region then cross-region");
    println!("{:<10} {:<34} {:>12} {:>10} {:>10}", "backend", "", "2207 per s", "p50", "p99");
    let mut failed = Vec::new();
    for name in backends {
        match once(parse_backend(name)?, pg, visits, concurrency).await {
            Ok((same, cross)) => {
                println!("{name:<10} {:<34} {:>12.0} {:>8.1}ms {:>8.1}ms", "same region (Beijing at Beijing)", same.settlements_per_s, ms(same.p50), ms(same.p99));
                println!("{name:<10} {:<34} {:>12.0} {:>8.1}ms {:>8.1}ms", "cross-region (Beijing at Hebei)", cross.settlements_per_s, ms(cross.p50), ms(cross.p99));
                println!("{name:<10} ratio cross / same: {:.2}", cross.settlements_per_s / same.settlements_per_s.max(f64::MIN_POSITIVE));
                let baseline = Some((format!("{name}: same-region 2207"), same.settlements_per_s));
                super::report::record(
                    super::report::Figure::rate("cross-region", &format!("{name}: 2207 of a Beijing holder at Hebei"), cross.settlements_per_s, "settlements/s", baseline)
                        .with_latency(cross.p50, cross.p99),
                );
            }
            Err(e) => {
                println!("{name:<10} failed: {e}");
                failed.push(name.clone());
            }
        }
    }
    println!("cross-region: the Hebei deployment prices the lines, Beijing's computes and books over NATS, then Hebei books its copy");
    if failed.is_empty() { Ok(()) } else { Err(format!("the benchmark could not run on: {}", failed.join(", "))) }
}

/// One region's deployment on a fresh database, serving `region` only.
async fn deployment(backend: Backend, pg: &str, region: &str, client: &async_nats::Client) -> Result<Deployment, String> {
    let (url, cleanup) = fresh_url(backend, pg).await;
    let store = config::open_store(&url, DataKey::from_hex(&DataKey::generate_hex()).map_err(|e| e.to_string())?, yikatong_store::PoolOptions::default()).await?;
    let service = config::service(store.clone(), Arc::new(SystemClock), config::policies(None)?).await?;
    let service = Arc::into_inner(service).ok_or("the service is shared")?.with_region(region).map_err(|e| e.to_string())?;
    let link = yikatong_events::regions::NatsRegionLink::new(client.clone(), Duration::from_secs(3));
    let service = Arc::new(service.with_region_link(Arc::new(link)));
    let calls = yikatong_events::regions::listen_for_calls(client, region).await?;
    tokio::spawn(yikatong_events::regions::answer_calls(client.clone(), service.clone(), calls));
    Ok((service, store, Box::new(cleanup)))
}

/// A deployment, its database, and what drops the database.
type Deployment = (Arc<Service>, Arc<dyn yikatong_store::Store>, Box<dyn FnOnce()>);

async fn once(backend: Backend, pg: &str, visits: usize, concurrency: usize) -> Result<(SettleResult, SettleResult), String> {
    let nats = OwnNats::start()?;
    let (client, _) = yikatong_events::connect(&nats.url).await?;
    let (beijing, store, clean_beijing) = deployment(backend, pg, "beijing", &client).await?;
    let (hebei, _, clean_hebei) = deployment(backend, pg, "hebei", &client).await?;
    let result = async {
        let e = |e: yikatong_service::ServiceError| e.to_string();
        let (cards, _) = active_cards(&beijing, store.as_ref(), concurrency * 2).await?;
        let op = operator(&beijing).await?;
        beijing.add_catalog_items(&op, &bench_catalogue()).await.map_err(e)?;
        for id in &cards {
            let card = store.get_card(*id).await.map_err(|e| e.to_string())?.ok_or("card")?;
            let person = store.get_person_by_hash(&card.person_hash).await.map_err(|e| e.to_string())?.ok_or("person")?;
            beijing.credit_account(&op, &person.ssn, 100_000, None, "benchmark").await.map_err(e)?;
        }
        let hb_op = operator(&hebei).await?;
        hebei
            .create_institution(&hb_op, &NewInstitution { code: "HBENCH".into(), name: "河北基准医院".into(), region: "hebei".into(), level: "1".into(), class: None })
            .await
            .map_err(e)?;
        hebei.add_catalog_items(&hb_op, &bench_catalogue()).await.map_err(e)?;
        let token = |service: &Arc<Service>, institution: &str| {
            let (service, institution) = (service.clone(), institution.to_string());
            async move { service.issue_token(&TokenRequest { role: "institution".into(), institution: Some(institution), ..Default::default() }).await.map(|t| t.token) }
        };
        let (bj_inst, hb_inst) = (token(&beijing, "BENCH").await.map_err(e)?, token(&hebei, "HBENCH").await.map_err(e)?);
        let (bj_server, hb_server) = (BenchServer::start(beijing.clone()).await?, BenchServer::start(hebei.clone()).await?);
        let same = cashiers(Arc::new(His::beijing(&bj_server.base, &bj_inst)), &cards, visits, concurrency).await?;
        let at_hebei =
            His { client: reqwest::Client::new(), base: hb_server.base.clone(), inst: hb_inst, institution: "HBENCH".into(), care: "130000".into(), insured: "110000".into() };
        let cross = cashiers(Arc::new(at_hebei), &cards, visits, concurrency).await?;
        Ok((same, cross))
    }
    .await;
    clean_beijing();
    clean_hebei();
    result
}
