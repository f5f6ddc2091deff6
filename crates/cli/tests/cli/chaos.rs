//! Crash and race tests: the real `ykt` as a child process, killed with SIGKILL at
//! seeded random instants while it works, restarted, and the work finished; then `ykt
//! verify`, and the counts a run without kills would have. The seed is printed;
//! `YKT_CHAOS_SEED=n` replays a run.
//!
//! - Settlement traffic: cashiers register visits (2201), upload fee lines (2204) and
//!   settle (2207) through the national interface while the server is killed; every
//!   request is retried under its own msgid until answered, and HIS-style retries of
//!   2207 under new msgids and 2204s arrive at the same time.
//! - Manual reimbursements: clerks' claims sent with Idempotency-Keys and approved,
//!   then payment files, while the server is killed: each claim once, in one file.
//! - Batch work: an application file, the registry comparison and the month's credits
//!   (command-line processes killed and started again), a production cut (a request
//!   with an Idempotency-Key, retried across kills) and a credit job the server was
//!   running when it was killed.

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use yikatong_service::demo::DemoRng;
use yikatong_store::Store;
use yikatong_store::testing::{Backend, test_pg_url};

use super::{YKT, text, ykt};

/// The institution the cashiers work at, and its region code.
const HOSPITAL: &str = "H0004";

fn seed() -> u64 {
    std::env::var("YKT_CHAOS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64) % 1_000_000)
}

/// A `ykt serve` child on a fixed port, killed and started again at will.
struct Server {
    child: Option<Child>,
    db: String,
    key: String,
    port: u16,
    kills: u64,
}

impl Server {
    fn start(db: &str, key: &str) -> Server {
        // A port below the kernel's ephemeral range, so that no other test's listener
        // (they bind port 0) takes it while this server is down between a kill and its
        // restart.
        let mut rng = DemoRng::new(u64::from(std::process::id()) ^ seed());
        let port = (0..200).map(|_| 20_000 + rng.below(10_000) as u16).find(|p| std::net::TcpListener::bind(("127.0.0.1", *p)).is_ok()).unwrap();
        let mut s = Server { child: None, db: db.into(), key: key.into(), port, kills: 0 };
        s.spawn();
        s
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Starts the server and waits until it listens (the port may be a moment in use
    /// after a kill).
    fn spawn(&mut self) {
        for _ in 0..100 {
            let mut child = Command::new(YKT)
                .args(["serve", "--db", &self.db, "--listen", &format!("127.0.0.1:{}", self.port)])
                .env("YKT_DATA_KEY", &self.key)
                .env("RUST_LOG", "error")
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            let mut line = String::new();
            let _ = BufReader::new(child.stdout.take().unwrap()).read_line(&mut line);
            if line.contains("serving on") {
                self.child = Some(child);
                return;
            }
            let _ = child.kill();
            let _ = child.wait();
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("ykt serve did not start on port {}", self.port);
    }

    /// SIGKILL, then start again.
    fn kill_and_restart(&mut self) {
        self.kill();
        self.kills += 1;
        self.spawn();
    }

    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Posts until an answer comes (connection refused or reset while the server is down
/// is retried with the same request); panics after a minute.
async fn post_until_answered(client: &reqwest::Client, url: &str, token: &str, body: &Value, key: Option<&str>) -> (u16, Value) {
    let deadline = Instant::now() + Duration::from_mins(1);
    loop {
        let mut req = client.post(url).bearer_auth(token).json(body);
        if let Some(k) = key {
            req = req.header("Idempotency-Key", k);
        }
        if let Ok(res) = req.send().await {
            let status = res.status().as_u16();
            if let Ok(v) = res.json::<Value>().await
                && status < 500
            {
                return (status, v);
            }
        }
        assert!(Instant::now() < deadline, "no answer to {body} within a minute");
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
}

/// Posts with an Idempotency-Key until a success answers, and returns its text (a
/// payment file); panics after a minute.
async fn post_text_until_answered(client: &reqwest::Client, url: &str, token: &str, key: &str) -> String {
    let deadline = Instant::now() + Duration::from_mins(1);
    loop {
        if let Ok(res) = client.post(url).bearer_auth(token).header("Idempotency-Key", key).send().await {
            let status = res.status().as_u16();
            if let Ok(text) = res.text().await
                && status < 500
            {
                assert_eq!(status, 201, "{text}");
                return text;
            }
        }
        assert!(Instant::now() < deadline, "no payment file within a minute");
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
}

/// One call of the national interface, retried under the same msgid until answered.
async fn his(client: &reqwest::Client, base: &str, token: &str, infno: &str, msgid: &str, input: Value) -> Value {
    let body = json!({"infno": infno, "msgid": msgid, "mdtrtarea_admvs": "110000", "insuplc_admdvs": "110000", "fixmedins_code": HOSPITAL, "fixmedins_name": "示范医院", "infver": "V1.0", "opter_type": "1", "opter": "001", "input": input});
    post_until_answered(client, &format!("{base}/fsi/api/rsfComIfsService/callService"), token, &body, None).await.1
}

/// A holder with an active card, as the cashier's card reader sees it.
#[derive(Clone)]
struct Holder {
    hash: String,
    card_number: String,
    card_sn: String,
}

/// The database the runs start from: the demo city (400 persons, 40 active cards, this
/// month's credits) and 3,000 persons of a unit that has applied for nothing yet.
async fn city(db: &str, key: &str) -> (Vec<Holder>, String, String, Vec<(String, String)>) {
    use yikatong_service::{Service, TokenRequest};
    let store = yikatong_store::open(db, yikatong_store::DataKey::from_hex(key).unwrap()).await.unwrap();
    let service = Service::new(store.clone(), Arc::new(yikatong_core::clock::SystemClock), yikatong_core::policy::PolicySet::shipped().unwrap()).await.unwrap();
    yikatong_service::demo::fill(&service, 400).await.unwrap();
    let now = chrono::Utc::now();
    store
        .insert_unit(&yikatong_store::Organisation {
            code: "UCHAOS".into(), name: "混沌测试单位".into(), region: "beijing".into(), created_at: now, kind: None, district: None
        })
        .await
        .unwrap();
    let mut rng = DemoRng::new(7);
    let mut unit: Vec<yikatong_store::Person> = yikatong_service::demo::synthetic_persons(3000, &["UCHAOS".into()], service.clock().today(), &mut rng);
    for (i, p) in unit.iter_mut().enumerate() {
        // Distinct from the demo city's people, whose numbers come from the same generator.
        p.ssn = yikatong_service::demo::make_ssn("110108", "1980-01-01".parse::<chrono::NaiveDate>().unwrap() + chrono::Days::new(i as u64 / 400), 101 + 2 * (i as u32 % 400));
        p.birth_date = yikatong_core::identity::Ssn::parse(&p.ssn).unwrap().birth_date();
        p.gender = yikatong_core::identity::Ssn::parse(&p.ssn).unwrap().gender();
        p.category = yikatong_core::registry::Category::InService;
        p.flags.clear();
    }
    for chunk in unit.chunks(500) {
        store.insert_persons(chunk).await.unwrap();
    }
    let mut holders = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = store.persons_page(after.as_deref(), 500).await.unwrap();
        let Some(last) = page.last() else { break };
        after = Some(last.0.clone());
        for (hash, person) in page {
            if person.category != yikatong_core::registry::Category::InService || !person.flags.is_empty() {
                continue;
            }
            for c in store.cards_of_person(&hash).await.unwrap() {
                if c.state == yikatong_core::card::CardState::Active {
                    holders.push(Holder { hash: hash.clone(), card_number: c.card_number.clone().unwrap(), card_sn: c.identification_code.clone().unwrap() });
                }
            }
        }
    }
    let token = service.issue_token(&TokenRequest { role: "institution".into(), institution: Some(HOSPITAL.into()), ..Default::default() }).await.unwrap().token;
    let operator = service.issue_token(&TokenRequest { role: "operator".into(), ..Default::default() }).await.unwrap().token;
    let applicants = unit.iter().map(|p| (p.ssn.clone(), p.name.clone())).collect();
    (holders, token, operator, applicants)
}

/// What the settlement traffic saw.
#[derive(Default)]
struct Traffic {
    /// Per visit: the answers of its 2207s (first the cashier's, then a retry's under a
    /// new msgid, if one was sent).
    settlements: Vec<(String, String, Vec<Value>)>,
    stuck: u64,
}

/// One cashier: `visits` visits of one holder, each registered, given fee lines and
/// settled, with a HIS-style retry under a new msgid and a late 2204 thrown in at random.
async fn cashier(client: reqwest::Client, base: String, token: String, h: Holder, w: usize, visits: usize, seed: u64) -> Traffic {
    let mut rng = DemoRng::new(seed ^ (w as u64 * 7919));
    let psn_no: String = h.hash.chars().take(30).collect();
    let mut t = Traffic::default();
    let stuck = |v: &Value| u64::from(v["err_msg"].as_str().is_some_and(|m| m.contains("[duplicate_request]")));
    for v in 0..visits {
        let id = |step: u32| format!("{HOSPITAL}{seed:06}{w:02}{v:03}{step:02}");
        let now = chrono::Utc::now().with_timezone(&yikatong_core::clock::shanghai()).format("%Y-%m-%d %H:%M:%S").to_string();
        let reg = his(&client, &base, &token, "2201", &id(1), json!({"data": {"psn_no": psn_no, "insutype": "310", "begntime": now, "mdtrt_cert_type": "03", "mdtrt_cert_no": h.card_number, "card_sn": h.card_sn, "ipt_otp_no": format!("MZ{seed}{w:02}{v:03}")}})).await;
        t.stuck += stuck(&reg);
        assert_eq!(reg["infcode"], 0, "2201: {reg}");
        let mdtrt_id = reg["output"]["data"]["mdtrt_id"].as_str().unwrap().to_string();
        let line = |sn: &str, amount: &str| json!({"feedetl_sn": sn, "mdtrt_id": mdtrt_id, "psn_no": psn_no, "chrg_bchno": "B1", "med_list_codg": "A0001", "medins_list_codg": "A0001", "det_item_fee_sumamt": amount, "cnt": "1", "pric": amount});
        let up = his(&client, &base, &token, "2204", &id(2), json!({"feedetail": [line("1", "123.45")]})).await;
        t.stuck += stuck(&up);
        assert_eq!(up["infcode"], 0, "2204: {up}");
        let settle_input = json!({"data": {"psn_no": psn_no, "mdtrt_id": mdtrt_id, "acct_used_flag": "1", "mdtrt_cert_type": "03", "med_type": "11", "insutype": "310"}});
        let retry = rng.below(2) == 0;
        let late_line = rng.below(2) == 0;
        let retry_after = Duration::from_millis(rng.below(40));
        let (m3, m4, m5) = (id(3), id(4), id(5));
        let (first, second, late) = tokio::join!(
            his(&client, &base, &token, "2207", &m3, settle_input.clone()),
            async {
                if retry {
                    tokio::time::sleep(retry_after).await;
                    Some(his(&client, &base, &token, "2207", &m4, settle_input.clone()).await)
                } else {
                    None
                }
            },
            async { if late_line { Some(his(&client, &base, &token, "2204", &m5, json!({"feedetail": [line("2", "6.78")]})).await) } else { None } }
        );
        for a in [Some(&first), second.as_ref(), late.as_ref()].into_iter().flatten() {
            t.stuck += stuck(a);
        }
        if let Some(l) = &late {
            assert_eq!(l["infcode"], 0, "a late 2204 is taken (billed now or left for later): {l}");
        }
        let mut answers = vec![first];
        answers.extend(second);
        t.settlements.push((mdtrt_id, psn_no.clone(), answers));
    }
    t
}

/// Runs a command-line batch, killing it at seeded random instants until a run ends by
/// itself; returns that run's output and how many runs were killed. The first kill comes
/// early (within `first_ms`) and each later run is given about twice as long, so a batch
/// is killed mid-work whatever its speed on this machine, and then finishes.
fn until_it_finishes(args: &[&str], key: &str, rng: &mut DemoRng, first_ms: u64) -> (std::process::Output, u64) {
    let mut kills = 0;
    for attempt in 0..12u32 {
        let mut child = Command::new(YKT).args(args).env("YKT_DATA_KEY", key).env("RUST_LOG", "error").stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        let window = first_ms << attempt.min(8);
        let at = Instant::now() + Duration::from_millis(window / 2 + rng.below(window / 2 + 1));
        loop {
            if child.try_wait().unwrap().is_some() {
                let out = child.wait_with_output().unwrap();
                assert!(out.status.success(), "{args:?}: {}{}", text(&out.stdout), text(&out.stderr));
                return (out, kills);
            }
            if Instant::now() >= at {
                let _ = child.kill();
                let _ = child.wait();
                kills += 1;
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    let out = ykt(args, Some(key));
    assert!(out.status.success(), "{args:?}: {}{}", text(&out.stdout), text(&out.stderr));
    (out, kills)
}

/// What a run found; all but the first two must be zero.
#[derive(Debug, Default)]
struct Tally {
    kills: u64,
    acks: u64,
    lost: u64,
    doubled: u64,
    stuck: u64,
    violations: u64,
}

/// Every acknowledged 2207 is in the database with its ledger entry; each visit has
/// exactly one live settlement; a retry under a new msgid was refused naming it.
async fn check_settlements(store: &Arc<dyn Store>, holders: &[Holder], traffic: &[Traffic], t: &mut Tally) {
    for tr in traffic {
        t.stuck += tr.stuck;
        for (mdtrt_id, psn_no, answers) in &tr.settlements {
            let hash = &holders.iter().find(|h| h.hash.starts_with(psn_no.as_str())).unwrap().hash;
            let acked: HashSet<String> = answers.iter().filter(|a| a["infcode"] == 0).map(|a| a["output"]["setlinfo"]["setl_id"].as_str().unwrap().to_string()).collect();
            t.acks += acked.len() as u64;
            for a in answers.iter().filter(|a| a["infcode"] != 0) {
                let msg = a["err_msg"].as_str().unwrap_or_default();
                assert!(msg.contains("[already_settled]") && acked.iter().all(|id| msg.contains(id.as_str())), "a second 2207 is refused naming the first settlement: {a}");
            }
            let live: Vec<_> = store
                .settlements_of_person(hash)
                .await
                .unwrap()
                .into_iter()
                .filter(|s| &s.mdtrt_id == mdtrt_id && s.state == yikatong_core::settlement::SettlementState::Settled)
                .collect();
            match (acked.len(), live.len()) {
                (1, 1) if acked.contains(&live[0].setl_id) => {}
                (a, l) if a > 1 || l > 1 => t.doubled += 1,
                _ => t.lost += 1,
            }
            let entries = store.account_entries(hash).await.unwrap();
            for setl_id in &acked {
                let Some(s) = store.get_settlement(setl_id).await.unwrap() else {
                    t.lost += 1;
                    continue;
                };
                let acct_pay = s.receipt["acct_pay"].as_i64().unwrap_or(0);
                let debited: i64 = entries.iter().filter(|e| e.reference.as_deref() == Some(setl_id.as_str())).map(|e| e.amount_fen).sum();
                if debited != -acct_pay {
                    t.lost += 1;
                }
            }
        }
    }
}

fn chaos_on(backend: Backend) -> Tally {
    let seed = seed();
    let mut rng = DemoRng::new(seed);
    println!("chaos on {backend:?}: seed {seed} (YKT_CHAOS_SEED={seed} replays it)");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (db, cleanup) = rt.block_on(yikatong_store::testing::fresh_url(backend, &test_pg_url()));
    let key = yikatong_store::DataKey::generate_hex();
    let (holders, token, operator, applicants) = rt.block_on(city(&db, &key));
    assert!(holders.len() >= 6, "the demo city has holders of active cards: {}", holders.len());
    let mut t = Tally::default();

    // 1. Settlement traffic with the server killed under it.
    let mut server = Server::start(&db, &key);
    let base = server.url();
    let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
    let cashiers: Vec<_> = holders.iter().take(8).enumerate().map(|(w, h)| rt.spawn(cashier(client.clone(), base.clone(), token.clone(), h.clone(), w, 40, seed))).collect();
    while cashiers.iter().any(|c| !c.is_finished()) && server.kills < 25 {
        std::thread::sleep(Duration::from_millis(50 + rng.below(300)));
        if cashiers.iter().any(|c| !c.is_finished()) {
            server.kill_and_restart();
        }
    }
    let traffic: Vec<Traffic> = rt.block_on(async {
        let mut all = Vec::new();
        for c in cashiers {
            all.push(c.await.unwrap());
        }
        all
    });
    let store = rt.block_on(yikatong_store::open(&db, yikatong_store::DataKey::from_hex(&key).unwrap())).unwrap();
    rt.block_on(check_settlements(&store, &holders, &traffic, &mut t));
    println!("  settlement traffic: {} kills of the server", server.kills);

    // 1b. Manual reimbursements with the server killed under them: clerks' claims, each
    //     sent with its Idempotency-Key until answered, approved, then payment files made
    //     under kills: every acknowledged claim exists once and is in one file only.
    let before = server.kills;
    let claimant = rt.block_on(store.get_person_by_hash(&holders[0].hash)).unwrap().unwrap().ssn;
    let today = chrono::Utc::now().with_timezone(&yikatong_core::clock::shanghai()).date_naive().to_string();
    let clerks: Vec<_> = (0..4)
        .map(|w| {
            let (client, url, operator, body) = (client.clone(), format!("{base}/v1/reimbursements"), operator.clone(), json!({"ssn": claimant, "institution_code": HOSPITAL, "visit_date": today, "reason": "no_card", "lines": [{"code": "A0001", "quantity": "1", "unit_price": "100.00", "amount_fen": 10000}]}));
            rt.spawn(async move {
                let mut ids = Vec::new();
                for i in 0..25 {
                    let (status, v) = post_until_answered(&client, &url, &operator, &body, Some(&format!("claim-{seed}-{w}-{i}"))).await;
                    assert_eq!(status, 201, "{v}");
                    let id = v["id"].as_str().unwrap().to_string();
                    let (status, v) = post_until_answered(&client, &format!("{url}/{id}/approval"), &operator, &json!({}), None).await;
                    assert!(status == 200 || v["code"] == "not_submitted", "{v}");
                    ids.push(id);
                }
                ids
            })
        })
        .collect();
    while clerks.iter().any(|c| !c.is_finished()) && server.kills - before < 8 {
        std::thread::sleep(Duration::from_millis(5 + rng.below(120)));
        if clerks.iter().any(|c| !c.is_finished()) {
            server.kill_and_restart();
        }
    }
    let acknowledged: Vec<String> = rt.block_on(async {
        let mut all = Vec::new();
        for c in clerks {
            all.extend(c.await.unwrap());
        }
        all
    });
    let files: Vec<_> = (0..2)
        .map(|f| {
            let (client, url, operator, key) = (client.clone(), format!("{base}/v1/reimbursements/payment-files"), operator.clone(), format!("file-{seed}-{f}"));
            rt.spawn(async move { post_text_until_answered(&client, &url, &operator, &key).await })
        })
        .collect();
    for _ in 0..3 {
        std::thread::sleep(Duration::from_millis(rng.below(20)));
        if files.iter().any(|f| !f.is_finished()) {
            server.kill_and_restart();
        }
    }
    let files: Vec<String> = rt.block_on(async {
        let mut all = Vec::new();
        for f in files {
            all.push(f.await.unwrap());
        }
        all
    });
    let mut paid: Vec<&str> = files.iter().flat_map(|f| f.lines().skip(1)).map(|l| l.split(',').nth(1).unwrap()).collect();
    let in_files = paid.len();
    paid.sort_unstable();
    paid.dedup();
    let claims = rt.block_on(store.reimbursement_claims_of(&holders[0].hash)).unwrap();
    for id in &acknowledged {
        if !claims.iter().any(|c| &c.id == id) || !paid.contains(&id.as_str()) {
            t.lost += 1;
        }
    }
    t.doubled += (claims.len() - acknowledged.len()) as u64 + (in_files - paid.len()) as u64;
    println!("  manual reimbursements: {} kills, {} claims, {} in payment files", server.kills - before, acknowledged.len(), paid.len());

    // 2. A unit's application file, its process killed until a run ends by itself:
    //    every applicant then has exactly one card.
    server.kill();
    let dir = std::env::temp_dir().join(format!("ykt-chaos-{}-{seed}-{backend:?}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("applications.csv");
    let mut csv = String::from("ssn,name\n");
    for (ssn, name) in &applicants {
        csv.push_str(&format!("{ssn},{name}\n"));
    }
    std::fs::write(&file, csv).unwrap();
    let (out, kills) = until_it_finishes(&["import", "applications", file.to_str().unwrap(), "--unit", "UCHAOS", "--db", &db], &key, &mut rng, 120);
    t.kills += kills;
    println!("  application file: {kills} kills");
    assert!(text(&out.stdout).contains("3000 rows") && text(&out.stdout).contains(" 0 refused"), "{}", text(&out.stdout));
    let hashes: Vec<String> = applicants.iter().map(|(ssn, _)| store.data_key().lookup_hash(ssn)).collect();
    rt.block_on(async {
        for h in &hashes {
            match store.cards_of_person(h).await.unwrap().len() {
                1 => {}
                0 => t.lost += 1,
                _ => t.doubled += 1,
            }
        }
    });

    // 3. The production cut, one request with an Idempotency-Key retried across kills:
    //    one batch with every applied card.
    server.spawn();
    let cut = rt.spawn({
        let (client, url, operator, key) = (client.clone(), format!("{base}/v1/production-batches"), operator.clone(), format!("cut-{seed}"));
        async move { post_until_answered(&client, &url, &operator, &json!({"region": "beijing"}), Some(&key)).await }
    });
    let before = server.kills;
    for _ in 0..3 {
        std::thread::sleep(Duration::from_millis(20 + rng.below(300)));
        if !cut.is_finished() {
            server.kill_and_restart();
        }
    }
    println!("  production cut: {} kills", server.kills - before);
    let (status, batch) = rt.block_on(cut).unwrap();
    assert_eq!(status, 201, "{batch}");
    let batch_id = batch["id"].as_i64().unwrap();
    assert_eq!(batch["card_ids"].as_array().unwrap().len(), applicants.len(), "every applied card in the one batch");
    rt.block_on(async {
        if store.get_batch(batch_id + 1).await.unwrap().is_some() {
            t.doubled += 1;
        }
        let in_batch = store.cards_in_batch(batch_id).await.unwrap().len();
        if in_batch != applicants.len() {
            t.lost += 1;
        }
    });

    // 4. A credit job the server was running when it was killed is not left running;
    //    started again it finishes, and a run after it has nothing left to credit.
    let next_month = (chrono::Utc::now().with_timezone(&yikatong_core::clock::shanghai()).date_naive() + chrono::Months::new(1)).format("%Y-%m").to_string();
    let jobs = format!("{base}/v1/jobs/credit-accounts");
    let (s, started) = rt.block_on(post_until_answered(&client, &jobs, &operator, &json!({"month": next_month}), None));
    assert_eq!(s, 202, "{started}");
    std::thread::sleep(Duration::from_millis(rng.below(60)));
    server.kill_and_restart();
    let job = |id: i64| rt.block_on(async { client.get(format!("{base}/v1/jobs/{id}")).bearer_auth(&operator).send().await.unwrap().json::<Value>().await.unwrap() });
    let first = job(started["job_id"].as_i64().unwrap());
    assert_ne!(first["state"], "running", "a job the stop interrupted is not left running: {first}");
    let (_, again) = rt.block_on(post_until_answered(&client, &jobs, &operator, &json!({"month": next_month}), None));
    let deadline = Instant::now() + Duration::from_mins(1);
    let finished = loop {
        let j = job(again["job_id"].as_i64().unwrap());
        if j["state"] != "running" {
            break j;
        }
        assert!(Instant::now() < deadline, "the credit job finishes: {j}");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(finished["state"], "finished", "{finished}");
    server.kill();

    // 5. The next month's credits from the command line, killed until a run ends by
    //    itself; a run after it credits nothing more.
    let month_after = (chrono::Utc::now().with_timezone(&yikatong_core::clock::shanghai()).date_naive() + chrono::Months::new(2)).format("%Y-%m").to_string();
    let credit = ["batch", "credit-accounts", "--month", month_after.as_str(), "--db", db.as_str()];
    let (_, kills) = until_it_finishes(&credit, &key, &mut rng, 80);
    t.kills += kills;
    println!("  monthly credits: {kills} kills");
    for month in [next_month.as_str(), month_after.as_str()] {
        let out = ykt(&["batch", "credit-accounts", "--month", month, "--db", &db], Some(&key));
        let stdout = text(&out.stdout);
        assert!(stdout.contains(" 0 credited (0.00 yuan)"), "everything was credited once, nothing is left: {stdout}");
    }

    // 6. The comparison with the registry, killed until a run ends by itself: the same
    //    marks and holds as a run after it.
    let registry = dir.join("registry.csv");
    let mut csv = String::from("ssn,name,gender,ethnicity,birth_date,photo_digest\n");
    rt.block_on(async {
        let mut after: Option<String> = None;
        let mut n = 0;
        loop {
            let page = store.persons_page(after.as_deref(), 1000).await.unwrap();
            let Some(last) = page.last() else { break };
            after = Some(last.0.clone());
            for (_, p) in page {
                n += 1;
                let name = if n % 100 == 0 { format!("{}改", p.name) } else { p.name.clone() };
                csv.push_str(&format!("{},{name},{},{},{},{}\n", p.ssn, p.gender, p.ethnicity, p.birth_date.format("%Y%m%d"), p.photo_digest.clone().unwrap_or_default()));
            }
        }
    });
    std::fs::write(&registry, csv).unwrap();
    let out = ykt(&["import", "registry", registry.to_str().unwrap(), "--db", &db], Some(&key));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let (out, kills) = until_it_finishes(&["batch", "compare", "--db", &db], &key, &mut rng, 80);
    t.kills += kills;
    println!("  registry comparison: {kills} kills");
    let after_kills = text(&out.stdout);
    let clean = text(&ykt(&["batch", "compare", "--db", &db], Some(&key)).stdout);
    assert_eq!(after_kills.lines().last(), clean.lines().last(), "the comparison after kills is the comparison without");

    // Every invariant of the whole database.
    t.kills += server.kills;
    let out = ykt(&["verify", "--db", &db], Some(&key));
    let report = text(&out.stdout);
    let violations = report.lines().last().and_then(|l| l.rsplit(", ").next()).and_then(|v| v.split(' ').next()).and_then(|n| n.parse::<u64>().ok());
    t.violations = violations.unwrap_or(u64::MAX);
    assert!(out.status.success() || t.violations > 0, "{report}{}", text(&out.stderr));
    if t.violations > 0 {
        println!("{report}");
    }
    drop(store);
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
    cleanup();
    t
}

#[test]
fn chaos_kills_the_server_and_the_batches_and_nothing_is_lost_doubled_or_stuck() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let t = chaos_on(backend);
        println!("chaos: {} kills, {} acknowledged settlements, {} lost, {} doubled, {} stuck, {} invariant violations", t.kills, t.acks, t.lost, t.doubled, t.stuck, t.violations);
        assert_eq!((t.lost, t.doubled, t.stuck, t.violations), (0, 0, 0, 0), "{backend:?}: {t:?}");
        assert!(t.kills > 0 && t.acks > 0, "{t:?}");
    }
}
