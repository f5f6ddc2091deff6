//! `ykt bench portal`: the portal's main pages timed over HTTP on a loopback port with
//! a unit of 10,000 persons, each page's p50 and p99 beside `/healthz` (the same server's
//! floor for one HTTP round trip). Aim: every page under 50 ms.

use std::sync::Arc;
use std::time::{Duration, Instant};

use yikatong_core::clock::SystemClock;
use yikatong_service::demo::{DemoRng, city_person};
use yikatong_service::{NewOrganisation, TokenRequest};
use yikatong_store::DataKey;
use yikatong_store::scratch::{Backend, fresh_url};

use super::fixtures::{BenchServer, Latencies, ms, parse_backend};
use crate::config;

pub async fn run(persons: usize, requests: usize, backends: &[String], pg: &str) -> Result<(), String> {
    println!("ykt bench portal: a unit of {persons} persons, {requests} requests per page, one client");
    let mut failed = Vec::new();
    for name in backends {
        println!("\n{name}:");
        match portal_once(parse_backend(name)?, pg, persons, requests).await {
            Ok(rows) => {
                println!("  {:<40} {:>9} {:>9}", "page", "p50 ms", "p99 ms");
                for (page, p50, p99) in rows {
                    println!("  {page:<40} {:>9.1} {:>9.1}", ms(p50), ms(p99));
                    super::report::record(super::report::Figure::time("portal", &format!("{name}: {page}"), ms(p99), "ms p99", None).with_latency(p50, p99));
                }
            }
            Err(e) => {
                println!("  failed: {e}");
                failed.push(name.clone());
            }
        }
    }
    println!("\nbaseline: /healthz on the same server; aim: every page's p99 under 50 ms");
    if failed.is_empty() { Ok(()) } else { Err(format!("the benchmark could not run on: {}", failed.join(", "))) }
}

async fn portal_once(backend: Backend, pg: &str, persons: usize, requests: usize) -> Result<Vec<(String, Duration, Duration)>, String> {
    let (url, cleanup) = fresh_url(backend, pg).await;
    let result = async {
        let e = |e: yikatong_service::ServiceError| e.to_string();
        let store = config::open_store(&url, DataKey::from_hex(&DataKey::generate_hex()).map_err(|e| e.to_string())?, yikatong_store::PoolOptions::default()).await?;
        let service = config::service(store.clone(), Arc::new(SystemClock), config::policies(None)?).await?;
        let token = |req: TokenRequest| {
            let service = service.clone();
            async move { service.issue_token(&req).await.map(|t| t.token) }
        };
        let op = super::fixtures::operator(&service).await?;
        let region = || "beijing".to_string();
        service.create_unit(&op, &NewOrganisation { code: "P0001".into(), name: "页面基准单位".into(), region: region(), ..Default::default() }).await.map_err(e)?;
        service.create_outlet(&op, &NewOrganisation { code: "P0001".into(), name: "页面基准网点".into(), region: region(), ..Default::default() }).await.map_err(e)?;
        let mut rng = DemoRng::new(50);
        let today = service.clock().today();
        let people: Vec<_> = (0..persons as u64).map(|n| city_person(n, &["P0001".to_string()], today, &mut rng)).collect();
        for chunk in people.chunks(5000) {
            store.insert_persons(chunk).await.map_err(|e| e.to_string())?;
        }
        // A tenth apply through the unit's file, so the list shows card states.
        let file: String = std::iter::once("ssn,name\n".to_string()).chain(people.iter().take(persons / 10).map(|p| format!("{},{}\n", p.ssn, p.name))).collect();
        let unit_token = token(TokenRequest { role: "unit".into(), unit: Some("P0001".into()), ..Default::default() }).await.map_err(e)?;
        let unit = service.authenticate(&unit_token).await.map_err(e)?;
        service.import_applications(&unit, "P0001", file.as_bytes()).await.map_err(e)?;
        let sample = people.first().ok_or("no persons")?.ssn.clone();
        let middle = service.unit_persons(&unit, "P0001", None, 500).await.map_err(e)?.next.unwrap_or_default();
        let clerk = token(TokenRequest { role: "clerk".into(), outlet: Some("P0001".into()), ..Default::default() }).await.map_err(e)?;
        let holder = token(TokenRequest { role: "holder".into(), person: Some(sample.clone()), ..Default::default() }).await.map_err(e)?;
        let operator = token(TokenRequest { role: "operator".into(), ..Default::default() }).await.map_err(e)?;
        // Each part's session, opened as its sign-in opens it.
        let session = |part: &'static str, token: String| {
            let service = service.clone();
            async move {
                let who = service.authenticate(&token).await.map_err(e)?;
                let opened = service.open_portal_session(part, who.token_id).await.map_err(e)?;
                Ok::<_, String>(format!("ykt_{part}={}", opened.id))
            }
        };
        let (unit_cookie, clerk_cookie) = (session("unit", unit_token).await?, session("outlet", clerk).await?);
        let (holder_cookie, operator_cookie) = (session("holder", holder).await?, session("operator", operator).await?);
        let server = BenchServer::start(service.clone()).await?;
        let pages = [
            ("/healthz (baseline)".to_string(), "/healthz".to_string(), String::new()),
            ("/unit (first page of 10,000)".into(), "/unit".into(), unit_cookie.clone()),
            ("/unit?after=… (the 11th page)".into(), format!("/unit?after={middle}"), unit_cookie),
            ("/outlet?q=ID number".into(), format!("/outlet?q={sample}"), clerk_cookie),
            ("/holder".into(), "/holder".into(), holder_cookie.clone()),
            ("/holder/account".into(), "/holder/account".into(), holder_cookie),
            ("/operator (overdue cards)".into(), "/operator".into(), operator_cookie.clone()),
            ("/operator/policy".into(), "/operator/policy".into(), operator_cookie),
        ];
        let client = reqwest::Client::new();
        let mut rows = Vec::new();
        for (name, path, cookie) in pages {
            let mut times = Latencies::new();
            for _ in 0..requests {
                let started = Instant::now();
                let res = client.get(format!("{}{path}", server.base)).header("cookie", &cookie).send().await.map_err(|e| e.to_string())?;
                let (status, landed) = (res.status(), res.url().path().to_string());
                res.bytes().await.map_err(|e| e.to_string())?;
                if !status.is_success() || !path.starts_with(&landed) {
                    return Err(format!("{path} answered {status} at {landed} (a session that did not take?)"));
                }
                times.record(started.elapsed());
            }
            rows.push((name, times.quantile(0.50), times.quantile(0.99)));
        }
        Ok(rows)
    }
    .await;
    cleanup();
    result
}
