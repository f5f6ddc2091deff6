//! Card events over NATS JetStream (R-EVT-1, R-EVT-2), black-box: `ykt serve --nats` and
//! `ykt consume` as processes, against JetStream servers this test starts on loopback
//! ports of its own (Debian's `nats-server`; `scripts/test.sh` installs it) and stops
//! when it ends, pass or fail.

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use yikatong_service::demo::DemoRng;

use super::{Killed, YKT, both, text};

/// A free loopback port below the ephemeral range, so that no listener another test
/// binds (they bind port 0) takes it while a server here is down.
fn free_port(rng: &mut DemoRng) -> u16 {
    (0..500).map(|_| 30_000 + rng.below(20_000) as u16).find(|p| std::net::TcpListener::bind(("127.0.0.1", *p)).is_ok()).unwrap()
}

pub(super) fn rng() -> DemoRng {
    DemoRng::new(u64::from(std::process::id()) ^ std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64)
}

/// One JetStream server of the test's own, stopped and started again at will, killed when
/// dropped; its store is a folder of its own, kept across restarts.
pub(super) struct Nats {
    child: Option<Child>,
    port: u16,
    dir: std::path::PathBuf,
    cluster: Vec<String>,
}

impl Nats {
    pub(super) fn start(rng: &mut DemoRng) -> Nats {
        Nats::with_args(free_port(rng), Vec::new())
    }

    fn with_args(port: u16, cluster: Vec<String>) -> Nats {
        let dir = std::env::temp_dir().join(format!("ykt-nats-{}-{port}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let mut n = Nats { child: None, port, dir, cluster };
        n.spawn();
        n
    }

    /// A 3-node cluster on loopback, each with its own client and route port.
    fn cluster(rng: &mut DemoRng) -> Vec<Nats> {
        let ports: Vec<(u16, u16)> = (0..3).map(|_| (free_port(rng), free_port(rng))).collect();
        let routes = ports.iter().map(|(_, r)| format!("nats://127.0.0.1:{r}")).collect::<Vec<_>>().join(",");
        ports
            .iter()
            .enumerate()
            .map(|(i, (client, route))| {
                Nats::with_args(
                    *client,
                    vec![
                        "--name".into(),
                        format!("n{i}"),
                        "--cluster_name".into(),
                        "ykt".into(),
                        "--cluster".into(),
                        format!("nats://127.0.0.1:{route}"),
                        "--routes".into(),
                        routes.clone(),
                    ],
                )
            })
            .collect()
    }

    pub(super) fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    fn spawn(&mut self) {
        let child = Command::new("nats-server")
            .args(["-js", "-a", "127.0.0.1", "-p", &self.port.to_string(), "-sd", self.dir.to_str().unwrap()])
            .args(&self.cluster)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nats-server is installed (scripts/test.sh installs Debian's)");
        self.child = Some(child);
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(started.elapsed() < Duration::from_secs(10), "nats-server did not listen on {}", self.port);
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Nats {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `ykt serve --nats … --test-clock` on a free port.
pub(super) fn serve_with_nats(db: &str, key: &str, nats: &str, extra: &[&str]) -> (Killed, String) {
    let args: Vec<&str> = ["--test-clock", "--nats", nats].into_iter().chain(extra.iter().copied()).collect();
    let (child, url) = super::serve(db, key, &args);
    (Killed(child), url)
}

/// A party's consumer process.
fn consume(role: &str, nats: &str, blocklist: &str) -> Killed {
    Killed(
        Command::new(YKT)
            .args(["consume", "--role", role, "--nats", nats, "--db", blocklist])
            .env("RUST_LOG", "error")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    )
}

/// What `ykt consume --check` answers for a card number.
fn check(role: &str, blocklist: &str, number: &str) -> String {
    let out = Command::new(YKT).args(["consume", "--role", role, "--db", blocklist, "--check", number]).env("RUST_LOG", "error").output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout).trim().to_string()
}

/// Waits until `what` holds, up to 30 s.
fn eventually(what: &str, holds: impl FnMut() -> bool) {
    eventually_within(Duration::from_secs(30), what, holds);
}

fn eventually_within(limit: Duration, what: &str, mut holds: impl FnMut() -> bool) {
    let started = Instant::now();
    while !holds() {
        assert!(started.elapsed() < limit, "waited {limit:?} for: {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The notices a blocklist applied, in the order it applied them: `(id, card_id)`.
fn applied(blocklist: &str) -> Vec<(i64, i64)> {
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let Ok(pool) = sqlx::SqlitePool::connect(&format!("sqlite://{blocklist}")).await else { return Vec::new() };
        let rows = sqlx::query_as("SELECT id, card_id FROM applied ORDER BY seq").fetch_all(&pool).await.unwrap_or_default();
        pool.close().await;
        rows
    })
}

/// Active cards made through the service as in life, with a clerk's and an operator's
/// token: `(card ids, clerk, operator)`. A card's number is `D` and its id.
fn active_cards(db: &str, key: &str, count: usize) -> (Vec<i64>, String, String) {
    use yikatong_service::{NewInstitution, NewOrganisation, Service, TokenRequest};
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let store = yikatong_store::open(db, yikatong_store::DataKey::from_hex(key).unwrap()).await.unwrap();
        let service = Service::new(store.clone(), Arc::new(yikatong_core::clock::SystemClock), yikatong_core::policy::PolicySet::shipped().unwrap()).await.unwrap();
        let operator = service.issue_token(&TokenRequest { role: "operator".into(), ..Default::default() }).await.unwrap().token;
        let op = service.authenticate(&operator).await.unwrap();
        let org = |code: &str, name: &str| NewOrganisation { code: code.into(), name: name.into(), region: "beijing".into(), ..Default::default() };
        service.create_unit(&op, &org("EVT", "事件测试单位")).await.unwrap();
        service.create_outlet(&op, &org("EVT", "事件测试网点")).await.unwrap();
        service
            .create_institution(&op, &NewInstitution { code: "EVT".into(), name: "事件测试医院".into(), region: "beijing".into(), level: "3".into(), class: None })
            .await
            .unwrap();
        let people = yikatong_service::demo::synthetic_persons(count, &["EVT".into()], service.clock().today(), &mut DemoRng::new(11));
        store.insert_persons(&people).await.unwrap();
        let ssns: Vec<String> = people.into_iter().map(|p| p.ssn).collect();
        let ids = yikatong_service::demo::issue_active_cards(&service, &ssns, "EVT", "EVT").await.unwrap();
        let clerk = service.issue_token(&TokenRequest { role: "clerk".into(), outlet: Some("EVT".into()), ..Default::default() }).await.unwrap().token;
        (ids, clerk, operator)
    })
}

/// The card replaced as in life through the service: an exchange at the counter, the new
/// card produced, handed over on the certificate once it is ready, and activated at the
/// institution (which stops the old card, R-ACT-2). `ready` is called between the
/// exchange and the activation. Returns the new card's id.
fn replace_by_exchange(db: &str, key: &str, id: i64, ready: impl FnOnce()) -> i64 {
    use yikatong_service::{ExchangeRequest, HandOverRequest, ProductionResult, Service, TokenRequest};
    let rt = tokio::runtime::Runtime::new().unwrap();
    let clock = yikatong_core::clock::TestClock::new(chrono::Utc::now());
    let (service, new_id, ssn, certificate) = rt.block_on(async {
        let store = yikatong_store::open(db, yikatong_store::DataKey::from_hex(key).unwrap()).await.unwrap();
        let service = Service::new(store.clone(), Arc::new(clock.clone()), yikatong_core::policy::PolicySet::shipped().unwrap()).await.unwrap();
        let clerk = principal(&service, TokenRequest { role: "clerk".into(), outlet: Some("EVT".into()), ..Default::default() }).await;
        let holder = store.get_card(id).await.unwrap().unwrap().person_hash;
        let ssn = store.get_person_by_hash(&holder).await.unwrap().unwrap().ssn;
        let rep =
            service.exchange(&clerk, id, &ExchangeRequest { reason: "chip unreadable".into(), delivery: "outlet".into(), address: None, payment_method: None }).await.unwrap();
        (service, rep.replacement_card_id, ssn, rep.certificate.number)
    });
    ready();
    rt.block_on(async {
        let op = principal(&service, TokenRequest { role: "operator".into(), ..Default::default() }).await;
        let vendor = principal(&service, TokenRequest { role: "vendor".into(), ..Default::default() }).await;
        let clerk = principal(&service, TokenRequest { role: "clerk".into(), outlet: Some("EVT".into()), ..Default::default() }).await;
        let inst = principal(&service, TokenRequest { role: "institution".into(), institution: Some("EVT".into()), ..Default::default() }).await;
        let batch = service.cut_batch(&op, "beijing", None, None).await.unwrap();
        let made = ProductionResult { card_id: new_id, card_number: Some(number(new_id)), card_identification_code: Some(format!("110000D156000005{new_id:016X}")), failed: None };
        service.record_production_results(&vendor, batch.id, &[made]).await.unwrap();
        service.dispatch_batch(&op, batch.id).await.unwrap();
        clock.set(chrono::Utc::now() + chrono::Duration::days(40));
        service.hand_over(&clerk, new_id, &HandOverRequest { certificate_number: Some(certificate), holder_ssn: Some(ssn), proxy_ssn: None }).await.unwrap();
        service.activate(&inst, new_id, yikatong_core::card::Zone::Social, None).await.unwrap();
    });
    new_id
}

async fn principal(service: &yikatong_service::Service, req: yikatong_service::TokenRequest) -> yikatong_core::access::Principal {
    service.authenticate(&service.issue_token(&req).await.unwrap().token).await.unwrap()
}

fn number(id: i64) -> String {
    format!("D{id:08}")
}

/// A clerk's pre-loss (`POST`) or its revocation (`DELETE`) at the counter.
async fn pre_loss(c: &reqwest::Client, base: &str, clerk: &str, id: i64, method: &str) {
    let req = c.request(method.parse().unwrap(), format!("{base}/v1/cards/{id}/pre-loss")).bearer_auth(clerk);
    let req = if method == "POST" { req.json(&json!({})) } else { req };
    let res = req.send().await.unwrap();
    assert!(res.status().is_success(), "{method} pre-loss of card {id}: {}", res.text().await.unwrap());
}

/// Each card's notices reached the party in the order they were written (outbox ids
/// rise for one card), each once.
fn in_order_once(applied: &[(i64, i64)]) {
    let mut last: HashMap<i64, i64> = HashMap::new();
    let mut seen = std::collections::HashSet::new();
    for (id, card) in applied {
        assert!(seen.insert(*id), "notice {id} applied twice");
        if let Some(before) = last.insert(*card, *id) {
            assert!(before < *id, "card {card}: notice {id} applied after {before}");
        }
    }
}

#[test]
fn r_evt_1_the_transit_blocklist_follows_pre_loss_revocation_lifting_replacement_and_cancellation_on_both_databases() {
    both(|db| {
        let mut rng = rng();
        let nats = Nats::start(&mut rng);
        let key = yikatong_store::DataKey::generate_hex();
        let (ids, clerk, operator) = active_cards(db, &key, 4);
        let (_server, base) = serve_with_nats(db, &key, &nats.url(), &[]);
        let blocklist = nats.dir.join("transit.db").display().to_string();
        let _transit = consume("transit", &nats.url(), &blocklist);
        let rt = tokio::runtime::Runtime::new().unwrap();
        let c = reqwest::Client::new();
        let (a, b, gone) = (ids[0], ids[1], ids[2]);
        assert_eq!(check("transit", &blocklist, &number(a)), "usable");

        rt.block_on(pre_loss(&c, &base, &clerk, a, "POST"));
        eventually("a pre-loss is in the transit blocklist", || check("transit", &blocklist, &number(a)).starts_with("blocked pre_loss until"));
        rt.block_on(pre_loss(&c, &base, &clerk, a, "DELETE"));
        eventually("its revocation takes it out", || check("transit", &blocklist, &number(a)) == "usable");

        // A pre-loss lifting by itself: its notice is delivered when the service's clock
        // passes the pre-loss's end, not before.
        rt.block_on(pre_loss(&c, &base, &clerk, b, "POST"));
        eventually("the second pre-loss is blocked", || check("transit", &blocklist, &number(b)).starts_with("blocked"));
        std::thread::sleep(Duration::from_millis(500));
        assert!(check("transit", &blocklist, &number(b)).starts_with("blocked"), "the lifting is not delivered before it is due");
        let later = (chrono::Utc::now() + chrono::Duration::days(60)).to_rfc3339();
        rt.block_on(async { c.put(format!("{base}/v1/test/clock")).json(&json!({"now": later})).send().await.unwrap() });
        eventually("the lifting takes it out", || check("transit", &blocklist, &number(b)) == "usable");

        // A cancellation blocks for good.
        let res = rt.block_on(async { c.post(format!("{base}/v1/cards/{gone}/cancellation")).bearer_auth(&operator).json(&json!({"reason": "death"})).send().await.unwrap() });
        if res.status().is_success() {
            eventually("a cancellation blocks for good", || check("transit", &blocklist, &number(gone)) == "blocked cancelled");
        } else {
            panic!("cancellation answered {}", res.status());
        }

        // A replacement's activation blocks the old card; until then it works.
        let old = ids[3];
        let new = replace_by_exchange(db, &key, old, || {
            std::thread::sleep(Duration::from_millis(300));
            assert_eq!(check("transit", &blocklist, &number(old)), "usable", "the old card works until the new one is activated");
        });
        eventually("the old card is blocked once the new one is activated", || check("transit", &blocklist, &number(old)) == "blocked replaced");
        assert_eq!(check("transit", &blocklist, &number(new)), "usable");

        // R-EVT-2: the operator sees each party by name with its backlog; the bank and
        // the park-pass operator, who are not running, have every notice still to take.
        let parties: Vec<Value> = rt.block_on(async { c.get(format!("{base}/v1/consumers")).bearer_auth(&operator).send().await.unwrap().json().await.unwrap() });
        let of = |role: &str| parties.iter().find(|p| p["role"] == role).unwrap_or_else(|| panic!("no {role} in {parties:?}")).clone();
        eventually("the transit operator has nothing left to take", || {
            let parties: Vec<Value> = rt.block_on(async { c.get(format!("{base}/v1/consumers")).bearer_auth(&operator).send().await.unwrap().json().await.unwrap() });
            parties.iter().any(|p| p["role"] == "transit" && p["backlog"] == 0)
        });
        let applied_by_transit = applied(&blocklist).len() as u64;
        assert_eq!(of("park")["backlog"].as_u64().unwrap(), applied_by_transit, "the park-pass operator has all of them still to take: {parties:?}");
        assert!(of("bank")["name"].as_str().unwrap().contains("bank"));
        assert_eq!(of("transit")["broker"], "reachable");
        in_order_once(&applied(&blocklist));
    });
}

#[test]
fn r_evt_2_a_consumer_stopped_during_100_notices_gets_each_once_when_it_returns() {
    let mut rng = rng();
    let nats = Nats::start(&mut rng);
    let key = yikatong_store::DataKey::generate_hex();
    let db = nats.dir.join("service.db").display().to_string();
    let (ids, clerk, _) = active_cards(&db, &key, 50);
    let (_server, base) = serve_with_nats(&db, &key, &nats.url(), &[]);
    let blocklist = nats.dir.join("park.db").display().to_string();
    let park = consume("park", &nats.url(), &blocklist);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let c = reqwest::Client::new();
    // 50 pre-losses and their revocations: 100 notices (each pre-loss's lifting is
    // withdrawn by its revocation).
    let changes = {
        let (c, base, clerk, ids) = (c.clone(), base.clone(), clerk.clone(), ids.clone());
        rt.spawn(async move {
            for id in ids {
                pre_loss(&c, &base, &clerk, id, "POST").await;
                pre_loss(&c, &base, &clerk, id, "DELETE").await;
            }
        })
    };
    eventually("the park-pass operator applied some", || applied(&blocklist).len() >= 10);
    drop(park);
    let at_stop = applied(&blocklist).len();
    rt.block_on(changes).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(applied(&blocklist).len(), at_stop, "nothing is applied while it is away");
    let _park = consume("park", &nats.url(), &blocklist);
    eventually("all 100 applied when it returns", || applied(&blocklist).len() >= 100);
    std::thread::sleep(Duration::from_millis(500));
    let all = applied(&blocklist);
    assert_eq!(all.len(), 100, "each once");
    in_order_once(&all);
    for id in &ids {
        assert_eq!(check("park", &blocklist, &number(*id)), "usable");
    }
}

#[test]
fn r_evt_1_the_broker_stopped_during_100_changes_delivers_them_all_in_order_per_card_when_it_returns() {
    let mut rng = rng();
    let mut nats = Nats::start(&mut rng);
    let key = yikatong_store::DataKey::generate_hex();
    let db = nats.dir.join("service.db").display().to_string();
    let (ids, clerk, operator) = active_cards(&db, &key, 50);
    let (_server, base) = serve_with_nats(&db, &key, &nats.url(), &[]);
    let blocklist = std::env::temp_dir().join(format!("ykt-bank-{}-{}.db", std::process::id(), nats.port)).display().to_string();
    let _bank = consume("bank", &nats.url(), &blocklist);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let c = reqwest::Client::new();
    for (i, id) in ids.iter().enumerate() {
        if i == 10 {
            // The broker goes away: the counter goes on working, the notices wait.
            nats.stop();
        }
        rt.block_on(pre_loss(&c, &base, &clerk, *id, "POST"));
        rt.block_on(pre_loss(&c, &base, &clerk, *id, "DELETE"));
    }
    let waiting: Vec<Value> = rt.block_on(async { c.get(format!("{base}/v1/consumers")).bearer_auth(&operator).send().await.unwrap().json().await.unwrap() });
    assert!(waiting.iter().all(|p| p["undelivered"].as_u64().unwrap() > 0 && p["broker"].as_str().unwrap().starts_with("unreachable")), "{waiting:?}");
    nats.spawn();
    eventually("all 100 reach the bank when the broker returns", || applied(&blocklist).len() >= 100);
    std::thread::sleep(Duration::from_millis(500));
    let all = applied(&blocklist);
    assert_eq!(all.len(), 100);
    in_order_once(&all);
    let _ = std::fs::remove_file(&blocklist);
}

#[test]
fn r_evt_1_a_three_node_cluster_with_a_node_killed_loses_and_doubles_nothing() {
    let mut rng = rng();
    let mut nodes = Nats::cluster(&mut rng);
    let urls = nodes.iter().map(Nats::url).collect::<Vec<_>>().join(",");
    let key = yikatong_store::DataKey::generate_hex();
    let db = nodes[0].dir.join("service.db").display().to_string();
    let (ids, clerk, _) = active_cards(&db, &key, 50);
    // The cluster forms and elects its JetStream leader before the stream is made.
    std::thread::sleep(Duration::from_secs(3));
    let (_server, base) = serve_with_nats(&db, &key, &urls, &["--nats-replicas", "3"]);
    let blocklist = nodes[1].dir.join("transit.db").display().to_string();
    let _transit = consume("transit", &urls, &blocklist);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let c = reqwest::Client::new();
    for (i, id) in ids.iter().enumerate() {
        if i == 20 {
            nodes[2].stop();
        }
        rt.block_on(pre_loss(&c, &base, &clerk, *id, "POST"));
        rt.block_on(pre_loss(&c, &base, &clerk, *id, "DELETE"));
    }
    // A node's death moves the stream's and the consumer's leaders: an election, then
    // redelivery after the acknowledgement wait.
    eventually_within(Duration::from_secs(90), "all 100 reach transit with a node down", || applied(&blocklist).len() >= 100);
    std::thread::sleep(Duration::from_millis(500));
    let all = applied(&blocklist);
    assert_eq!(all.len(), 100);
    in_order_once(&all);
}
