//! What the benchmarks share: the backends, a server on a loopback port, the bureau's
//! operator, active cards to work on, latency percentiles (hdrhistogram) and the table
//! of an API rate beside its baseline.

use std::sync::Arc;
use std::time::Duration;

use hdrhistogram::Histogram;
use yikatong_service::{NewOrganisation, TokenRequest};
use yikatong_store::scratch::Backend;

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
/// Each row is recorded for `ykt bench all` under `bench`, judged by `aim` (the least
/// ratio to the baseline aimed at).
pub(crate) async fn compare_on_backends<F, Fut>(bench: &str, unit: &str, aim: f64, backends: &[String], baseline_note: Option<&str>, mut once: F) -> Result<(), String>
where
    F: FnMut(Backend) -> Fut,
    Fut: std::future::Future<Output = Result<ApiVsBaseline, String>>,
{
    println!("{:<10} {:>14} {:>14} {:>10} {:>10} {:>10}", "backend", format!("api {unit}/s"), "baseline/s", "ratio", "api p50", "api p99");
    let mut failed = Vec::new();
    for name in backends {
        match once(parse_backend(name)?).await {
            Ok(r) => {
                let baseline = Some((format!("{name}: raw SQL of the same work"), r.baseline_rate));
                super::report::record(super::report::Figure::rate(bench, name, r.api_rate, &format!("{unit}/s"), baseline).with_latency(r.p50, r.p99).aim(aim));
                println!(
                    "{:<10} {:>14.0} {:>14.0} {:>10.2} {:>8.1}ms {:>8.1}ms",
                    name,
                    r.api_rate,
                    r.baseline_rate,
                    r.api_rate / r.baseline_rate.max(f64::MIN_POSITIVE),
                    ms(r.p50),
                    ms(r.p99)
                );
            }
            Err(e) => {
                println!("{name:<10} failed: {e}");
                failed.push(name.clone());
            }
        }
    }
    if let Some(note) = baseline_note {
        println!("baseline: {note}");
    }
    println!("aim: the API at no less than {aim:.2} of the baseline's rate");
    if failed.is_empty() { Ok(()) } else { Err(format!("the benchmark could not run on: {}", failed.join(", "))) }
}

/// An operator of the benchmark's own service.
pub(crate) async fn operator(service: &yikatong_service::Service) -> Result<yikatong_core::access::Principal, String> {
    let e = |e: yikatong_service::ServiceError| e.to_string();
    service.authenticate(&service.issue_token(&TokenRequest { role: "operator".into(), ..Default::default() }).await.map_err(e)?.token).await.map_err(e)
}

/// Active cards for the benchmark, made through the service as in life; returns them
/// and a clerk token of their outlet. Their holders are in-service employees without
/// flags, whom every region's policy settles (Beijing's file has no outpatient figures
/// for flexible employment yet, which the synthetic city also has).
pub(crate) async fn active_cards(service: &yikatong_service::Service, store: &dyn yikatong_store::Store, count: usize) -> Result<(Vec<i64>, String), String> {
    use yikatong_service::NewInstitution;
    let e = |e: yikatong_service::ServiceError| e.to_string();
    let op = operator(service).await?;
    let region = || "beijing".to_string();
    service.create_unit(&op, &NewOrganisation { code: "BENCH".into(), name: "基准单位".into(), region: region(), ..Default::default() }).await.map_err(e)?;
    service.create_outlet(&op, &NewOrganisation { code: "BENCH".into(), name: "基准网点".into(), region: region(), ..Default::default() }).await.map_err(e)?;
    service.create_institution(&op, &NewInstitution { code: "BENCH".into(), name: "基准医院".into(), region: region(), level: "3".into(), class: None }).await.map_err(e)?;
    let mut rng = yikatong_service::demo::DemoRng::new(7);
    let mut people = yikatong_service::demo::synthetic_persons(count, &["BENCH".into()], service.clock().today(), &mut rng);
    for p in &mut people {
        p.category = yikatong_core::registry::Category::InService;
        p.flags.clear();
    }
    store.insert_persons(&people).await.map_err(|e| e.to_string())?;
    let ssns: Vec<String> = people.into_iter().map(|p| p.ssn).collect();
    let ids = yikatong_service::demo::issue_active_cards(service, &ssns, "BENCH", "BENCH").await.map_err(e)?;
    let clerk = service.issue_token(&TokenRequest { role: "clerk".into(), outlet: Some("BENCH".into()), ..Default::default() }).await.map_err(e)?;
    Ok((ids, clerk.token))
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
    pub(crate) api_rate: f64,
    pub(crate) baseline_rate: f64,
    pub(crate) p50: Duration,
    pub(crate) p99: Duration,
}

/// Latencies of one kind of request in microseconds, to three significant figures
/// (hdrhistogram), from a microsecond to an hour.
pub(crate) struct Latencies(Histogram<u64>);

impl Latencies {
    pub(crate) fn new() -> Latencies {
        // Bounds that hdrhistogram accepts (low >= 1, high >= 2 * low, 3 figures).
        Latencies(Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid histogram bounds"))
    }

    pub(crate) fn record(&mut self, d: Duration) {
        self.0.saturating_record(u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1));
    }

    /// Every worker's latencies together, or the first worker's failure.
    pub(crate) async fn gather(workers: Vec<tokio::task::JoinHandle<Result<Latencies, String>>>) -> Result<Latencies, String> {
        let mut all = Latencies::new();
        for w in workers {
            all.merge(&w.await.map_err(|e| e.to_string())??);
        }
        Ok(all)
    }

    /// Adds another worker's latencies.
    pub(crate) fn merge(&mut self, other: &Latencies) {
        // Both have the same bounds, so the addition cannot fail.
        let _ = self.0.add(&other.0);
    }

    /// The `q` quantile (0.5 the median, 0.99 the 99th percentile).
    pub(crate) fn quantile(&self, q: f64) -> Duration {
        Duration::from_micros(self.0.value_at_quantile(q))
    }

    pub(crate) fn count(&self) -> u64 {
        self.0.len()
    }
}
