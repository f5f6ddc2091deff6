//! `ykt bench events`: card notices per second through the relay and JetStream to a
//! party's blocklist (a backlog the counter wrote while the relay was stopped), and the latency from a pre-loss at the counter to
//! the transit blocklist (p50, p99), beside the broker's own rate for the same number of
//! messages of the same size on the same server. The benchmark runs a `nats-server` of
//! its own on a loopback port (Debian's package), stopped when it ends.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use async_nats::jetstream;
use futures_util::StreamExt;
use yikatong_core::card::parties::Party;
use yikatong_core::clock::SystemClock;
use yikatong_store::DataKey;
use yikatong_store::scratch::{Backend, fresh_url};

use super::fixtures::{BenchServer, Latencies, active_cards, ms, parse_backend};
use crate::config;

/// A JetStream server of the benchmark's own, killed when dropped.
pub(super) struct OwnNats {
    child: Child,
    pub(super) url: String,
    dir: std::path::PathBuf,
}

impl OwnNats {
    pub(super) fn start() -> Result<OwnNats, String> {
        let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map_err(|e| e.to_string())?.port();
        let dir = std::env::temp_dir().join(format!("ykt-bench-nats-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let child = Command::new("nats-server")
            .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd", &dir.display().to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start nats-server ({e}); Debian: apt-get install nats-server"))?;
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if started.elapsed() > Duration::from_secs(10) {
                return Err("nats-server did not listen".into());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(OwnNats { child, url: format!("nats://127.0.0.1:{port}"), dir })
    }
}

impl Drop for OwnNats {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// One backend's figures.
struct Figures {
    notices_per_s: f64,
    baseline_per_s: f64,
    latencies: Latencies,
}

pub(super) async fn run(pairs: usize, samples: usize, concurrency: usize, backends: &[String], pg: &str) -> Result<(), String> {
    println!("ykt bench events: {pairs} pre-loss / revoke pairs ({} notices) by {concurrency} clerks, then {samples} pre-losses timed one by one", pairs * 2);
    println!("{:<10} {:>12} {:>12} {:>8} {:>22} {:>10}", "backend", "notices/s", "baseline/s", "ratio", "counter→blocklist p50", "p99");
    for name in backends {
        match once(parse_backend(name)?, pg, pairs, samples, concurrency).await {
            Ok(f) => {
                let baseline = Some((format!("{name}: JetStream publish and durable consumer"), f.baseline_per_s));
                super::report::record(
                    super::report::Figure::rate("events", &format!("{name}: counter to transit blocklist"), f.notices_per_s, "notices/s", baseline)
                        .with_latency(f.latencies.quantile(0.50), f.latencies.quantile(0.99)),
                );
                println!(
                    "{name:<10} {:>12.0} {:>12.0} {:>8.2} {:>20.1}ms {:>8.1}ms",
                    f.notices_per_s,
                    f.baseline_per_s,
                    f.notices_per_s / f.baseline_per_s.max(f64::MIN_POSITIVE),
                    ms(f.latencies.quantile(0.50)),
                    ms(f.latencies.quantile(0.99))
                );
            }
            Err(e) => println!("{name:<10} failed: {e}"),
        }
    }
    println!("notices/s: a backlog of notices the counter wrote, from the relay's start until the transit blocklist applied the last one");
    println!("baseline: as many messages of the same size published to JetStream on the same server and taken by a durable consumer one at a time, acknowledged each");
    Ok(())
}

async fn once(backend: Backend, pg: &str, pairs: usize, samples: usize, concurrency: usize) -> Result<Figures, String> {
    let nats = OwnNats::start()?;
    let (url, cleanup) = fresh_url(backend, pg).await;
    let blocklist = nats.dir.join("transit.db").display().to_string();
    let result = async {
        let key = DataKey::from_hex(&DataKey::generate_hex()).map_err(|e| e.to_string())?;
        let store = config::open_store(&url, key, yikatong_store::PoolOptions::default()).await?;
        let service = config::service(store.clone(), Arc::new(SystemClock), config::policies(None)?).await?;
        let (cards, clerk) = active_cards(&service, store.as_ref(), concurrency.max(1) * 4).await?;
        let (_client, js) = yikatong_events::connect(&nats.url).await?;
        let service = Arc::into_inner(service).ok_or("the service is shared")?;
        let service = Arc::new(service.with_broker(Arc::new(yikatong_events::broker::NatsBroker { js: js.clone() })));
        let server = BenchServer::start(service.clone()).await?;

        // The counter's work first, the relay stopped: the notices wait in the outbox.
        let client = reqwest::Client::new();
        let next = Arc::new(AtomicUsize::new(0));
        let mut workers = Vec::new();
        for w in 0..concurrency.max(1) {
            let (client, base, clerk, next) = (client.clone(), server.base.clone(), clerk.clone(), next.clone());
            let own: Vec<i64> = cards.iter().copied().skip(w).step_by(concurrency.max(1)).collect();
            workers.push(tokio::spawn(async move {
                let mut i = 0;
                while next.fetch_add(1, Ordering::Relaxed) < pairs {
                    let id = own[i % own.len()];
                    i += 1;
                    pre_loss(&client, &base, &clerk, id, "POST").await?;
                    pre_loss(&client, &base, &clerk, id, "DELETE").await?;
                }
                Ok::<_, String>(())
            }));
        }
        for w in workers {
            w.await.map_err(|e| e.to_string())??;
        }

        // Then the relay and the transit operator's consumer (telling each notice it
        // applied): the time until the blocklist has applied every notice.
        let started = Instant::now();
        let relay = tokio::spawn(
            yikatong_events::relay::Relay::new(service.clone(), js.clone(), 1, yikatong_events::relay::Pace { idle: Duration::from_millis(2), ..Default::default() }).run(),
        );
        let (tell, mut applied) = tokio::sync::mpsc::unbounded_channel::<(i64, &'static str, Instant)>();
        let list = yikatong_events::consumer::Blocklist::open(&blocklist, Party::Transit).await?;
        let consumer = tokio::spawn(yikatong_events::consumer::run(js.clone(), list, move |d| {
            let _ = tell.send((d.notice.card_id, d.notice.change.topic(), Instant::now()));
        }));
        for _ in 0..pairs * 2 {
            tokio::time::timeout(Duration::from_mins(1), applied.recv()).await.map_err(|_| "the blocklist stopped applying notices".to_string())?;
        }
        let notices_per_s = (pairs * 2) as f64 / started.elapsed().as_secs_f64();

        let mut latencies = Latencies::new();
        for i in 0..samples {
            let id = cards[i % cards.len()];
            let t = Instant::now();
            pre_loss(&client, &server.base, &clerk, id, "POST").await?;
            loop {
                let (card, topic, at) = tokio::time::timeout(Duration::from_secs(30), applied.recv())
                    .await
                    .map_err(|_| "no notice reached the blocklist".to_string())?
                    .ok_or("the consumer stopped")?;
                if card == id && topic == "card.blocked" {
                    latencies.record(at - t);
                    break;
                }
            }
            pre_loss(&client, &server.base, &clerk, id, "DELETE").await?;
        }
        consumer.abort();
        relay.abort();
        drop(server);
        let baseline_per_s = broker_baseline(&js, pairs * 2, 600).await?;
        Ok(Figures { notices_per_s, baseline_per_s, latencies })
    }
    .await;
    cleanup();
    result
}

async fn pre_loss(client: &reqwest::Client, base: &str, clerk: &str, id: i64, method: &str) -> Result<(), String> {
    let req = client.request(method.parse().map_err(|_| "method".to_string())?, format!("{base}/v1/cards/{id}/pre-loss")).bearer_auth(clerk);
    let req = if method == "POST" { req.json(&serde_json::json!({})) } else { req };
    let res = req.send().await.map_err(|e| e.to_string())?;
    if res.status().is_success() { Ok(()) } else { Err(format!("{method} pre-loss answered {}", res.status())) }
}

/// The broker's own rate: `count` messages of `size` bytes published (acknowledged) to a
/// scratch stream and taken by a durable consumer one at a time, each acknowledged.
async fn broker_baseline(js: &jetstream::Context, count: usize, size: usize) -> Result<f64, String> {
    let stream = js
        .get_or_create_stream(jetstream::stream::Config { name: "YKT_BENCH_BASELINE".into(), subjects: vec!["ykt_bench.>".into()], ..Default::default() })
        .await
        .map_err(|e| e.to_string())?;
    let consumer = stream
        .get_or_create_consumer(
            "baseline",
            jetstream::consumer::pull::Config {
                durable_name: Some("baseline".into()),
                ack_policy: jetstream::consumer::AckPolicy::Explicit,
                max_ack_pending: 1,
                ..Default::default()
            },
        )
        .await
        .map_err(|e| e.to_string())?;
    let body = vec![b'x'; size];
    let started = Instant::now();
    let mut acks = Vec::with_capacity(count);
    for i in 0..count {
        acks.push(js.publish(format!("ykt_bench.card.{}", i % 64), body.clone().into()).await.map_err(|e| e.to_string())?);
    }
    for a in acks {
        a.await.map_err(|e| e.to_string())?;
    }
    let mut messages = consumer.messages().await.map_err(|e| e.to_string())?;
    for _ in 0..count {
        let m = tokio::time::timeout(Duration::from_secs(30), messages.next())
            .await
            .map_err(|_| "the baseline's consumer stopped".to_string())?
            .ok_or("no message")?
            .map_err(|e| e.to_string())?;
        m.ack().await.map_err(|e| e.to_string())?;
    }
    let rate = count as f64 / started.elapsed().as_secs_f64();
    let _ = js.delete_stream("YKT_BENCH_BASELINE").await;
    Ok(rate)
}
