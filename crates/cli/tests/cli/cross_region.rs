//! Care in another region (R-XREG-2, R-XREG-4), black-box: Beijing's and Hebei's
//! deployments as two `ykt serve --region … --nats …` processes, each on its own
//! database, linked through a NATS server this test starts and stops. A Hebei
//! institution settles a Beijing holder through the national interface as a HIS would.

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use yikatong_core::registry::Category;
use yikatong_service::demo::DemoRng;
use yikatong_service::{NewCatalogItem, NewInstitution, NewOrganisation, Service, TokenRequest};
use yikatong_store::testing::{Backend, test_pg_url};

use super::events::{Nats, rng, serve_with_nats};
use super::{text, ykt};

/// Two fresh databases of one backend (one per region), for each backend.
fn both_pairs(test: impl Fn(&str, &str)) {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let (beijing, clean_beijing) = rt.block_on(yikatong_store::testing::fresh_url(backend, &test_pg_url()));
        let (hebei, clean_hebei) = rt.block_on(yikatong_store::testing::fresh_url(backend, &test_pg_url()));
        test(&beijing, &hebei);
        clean_beijing();
        clean_hebei();
    }
}

fn item(code: &str, kind: &str, class: &str, region: Option<&str>) -> NewCatalogItem {
    NewCatalogItem {
        code: code.into(),
        name: format!("{code} 项目"),
        kind: kind.into(),
        class: class.into(),
        price_ceiling_fen: None,
        region: region.map(str::to_string),
        valid_from: None,
    }
}

/// One region's database made as in life, with `institution` of `region` and the
/// catalogue (A0001 is class A everywhere but Hebei, whose own entry makes it class C);
/// in Beijing's, an in-service holder with an active card. Returns the institution's
/// token and, in Beijing, the holder's card number and identification code.
fn region_db(db: &str, key: &str, region: &str, institution: &str, level: &str) -> (String, Option<(String, String)>) {
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let store = yikatong_store::open(db, yikatong_store::DataKey::from_hex(key).unwrap()).await.unwrap();
        let service = Service::new(store.clone(), Arc::new(yikatong_core::clock::SystemClock), yikatong_core::policy::PolicySet::shipped().unwrap()).await.unwrap();
        let operator = service.issue_token(&TokenRequest { role: "operator".into(), ..Default::default() }).await.unwrap().token;
        let op = service.authenticate(&operator).await.unwrap();
        let inst = NewInstitution { code: institution.into(), name: format!("{institution} 医院"), region: region.into(), level: level.into(), class: None };
        service.create_institution(&op, &inst).await.unwrap();
        let items = [item("T100", "treatment", "A", None), item("A0001", "drug", "A", None), item("A0001", "drug", "C", Some("hebei"))];
        service.add_catalog_items(&op, &items).await.unwrap();
        let token = service.issue_token(&TokenRequest { role: "institution".into(), institution: Some(institution.into()), ..Default::default() }).await.unwrap().token;
        if region != "beijing" {
            return (token, None);
        }
        let org = |code: &str, name: &str| NewOrganisation { code: code.into(), name: name.into(), region: "beijing".into(), ..Default::default() };
        service.create_unit(&op, &org("XR", "异地测试单位")).await.unwrap();
        service.create_outlet(&op, &org("XR", "异地测试网点")).await.unwrap();
        let mut people = yikatong_service::demo::synthetic_persons(1, &["XR".into()], service.clock().today(), &mut DemoRng::new(7));
        people[0].category = Category::InService;
        people[0].flags.clear();
        store.insert_persons(&people).await.unwrap();
        let ids = yikatong_service::demo::issue_active_cards(&service, &[people[0].ssn.clone()], "XR", institution).await.unwrap();
        (token, Some((format!("D{:08}", ids[0]), format!("110000D156000005{:016X}", ids[0]))))
    })
}

/// A national-interface call as a HIS makes it.
async fn call(c: &reqwest::Client, url: &str, token: &str, infno: &str, msgid: &str, insured: &str, input: Value) -> Value {
    let body = json!({"infno": infno, "msgid": msgid, "mdtrtarea_admvs": "130000", "insuplc_admdvs": insured, "fixmedins_code": "HB1", "input": input});
    c.post(format!("{url}/fsi/api/rsfComIfsService/callService")).bearer_auth(token).json(&body).send().await.unwrap().json().await.unwrap()
}

fn ok(v: &Value) -> &Value {
    assert_eq!(v["infcode"], 0, "{v}");
    &v["output"]
}

/// Registers a visit at HB1 for the Beijing holder and uploads its lines: a treatment of
/// 3,000 yuan (class A) and a drug of 100 yuan (class C in Hebei's catalogue).
async fn visit(c: &reqwest::Client, url: &str, token: &str, n: u32, psn_no: &str, card: &(String, String)) -> String {
    let begntime = chrono::Utc::now().with_timezone(&yikatong_core::clock::shanghai()).format("%Y-%m-%d %H:%M:%S").to_string();
    let reg = json!({"data": {"psn_no": psn_no, "insutype": "310", "begntime": begntime, "mdtrt_cert_type": "03", "mdtrt_cert_no": card.0, "card_sn": card.1, "ipt_otp_no": format!("OP{n}")}});
    let out = call(c, url, token, "2201", &format!("HB1V{n}R"), "110000", reg).await;
    let mdtrt_id = ok(&out)["data"]["mdtrt_id"].as_str().unwrap().to_string();
    let line = |sn: &str, code: &str, amount: &str| json!({"feedetl_sn": sn, "mdtrt_id": mdtrt_id, "psn_no": psn_no, "chrg_bchno": "B1", "fee_ocur_time": begntime, "med_list_codg": code, "cnt": "1", "pric": amount, "det_item_fee_sumamt": amount});
    let out = call(c, url, token, "2204", &format!("HB1V{n}F"), "110000", json!({"feedetail": [line("1", "T100", "3000.00"), line("2", "A0001", "100.00")]})).await;
    ok(&out);
    mdtrt_id
}

fn settle_input(mdtrt_id: &str, psn_no: &str) -> Value {
    json!({"data": {"mdtrt_id": mdtrt_id, "psn_no": psn_no, "mdtrt_cert_type": "03", "medfee_sumamt": "3100.00", "acct_used_flag": "0", "med_type": "11"}})
}

fn verified(db: &str, key: &str, region: &str) {
    let out = ykt(&["verify", "--db", db], Some(key));
    assert!(out.status.success(), "{region}'s invariants: {}{}", text(&out.stdout), text(&out.stderr));
}

/// `ykt clearing` for this month, less the line's note of which side the region is.
fn clearing(db: &str, key: &str) -> Vec<String> {
    let month = chrono::Utc::now().with_timezone(&yikatong_core::clock::shanghai()).format("%Y-%m").to_string();
    let out = ykt(&["clearing", "--month", &month, "--db", db], Some(key));
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout).lines().map(|l| l.replace(" (this region cares)", "").replace(" (this region insures)", "")).collect()
}

/// Both regions' statements agree to the fen, with `settled` settlements in the pair.
fn clearing_agrees(beijing: (&str, &str), hebei: (&str, &str), settled: usize) {
    let (b, h) = (clearing(beijing.0, beijing.1), clearing(hebei.0, hebei.1));
    assert_eq!(b, h, "both sides' statements agree");
    assert!(b.iter().any(|l| l == "pair 130000 河北省 -> 110000 北京市"), "{b:?}");
    let net = b.iter().find(|l| l.trim_start().starts_with("net")).unwrap();
    assert!(net.contains(&format!("count {settled:>6}")), "{net}");
}

fn signal(child: &std::process::Child, sig: &str) {
    assert!(Command::new("kill").args([sig, &child.id().to_string()]).status().unwrap().success());
}

#[test]
fn r_xreg_2_r_xreg_4_a_hebei_institution_settles_a_beijing_holder_under_beijings_policy_and_survives_the_insured_region_down_or_slow_on_both_databases() {
    both_pairs(|beijing_db, hebei_db| {
        let nats = Nats::start(&mut rng());
        let (bj_key, hb_key) = (yikatong_store::DataKey::generate_hex(), yikatong_store::DataKey::generate_hex());
        let (bj_token, card) = region_db(beijing_db, &bj_key, "beijing", "BJ1", "3");
        let card = card.unwrap();
        let (hb_token, _) = region_db(hebei_db, &hb_key, "hebei", "HB1", "1");
        let (mut beijing, bj_url) = serve_with_nats(beijing_db, &bj_key, &nats.url(), &["--region", "beijing"]);
        let (hebei, hb_url) = serve_with_nats(hebei_db, &hb_key, &nats.url(), &["--region", "130000", "--region-call-timeout-ms", "1500"]);
        let rt = tokio::runtime::Runtime::new().unwrap();
        let c = reqwest::Client::new();
        rt.block_on(async {
            // 1101 at the Hebei institution answers from Beijing.
            let out = call(&c, &hb_url, &hb_token, "1101", "HB1P1", "110000", json!({"data": {"mdtrt_cert_type": "03", "mdtrt_cert_no": card.0, "card_sn": card.1}})).await;
            let info = ok(&out);
            assert_eq!(info["insuinfo"][0]["insuplc_admdvs"], "110000", "{info}");
            assert_eq!(info["cardinfo"]["card_stas"], "active", "{info}");
            assert!(info["baseinfo"]["certno"].as_str().unwrap().contains("********"), "another region sees the ID number masked: {info}");
            let psn_no = info["baseinfo"]["psn_no"].as_str().unwrap().to_string();

            // 2207: Hebei's catalogue classifies (A0001 is class C there), Beijing's policy
            // computes: its in-service deductible of 1,800 yuan, not Hebei's 200.
            let first = visit(&c, &hb_url, &hb_token, 1, &psn_no, &card).await;
            let out = call(&c, &hb_url, &hb_token, "2207", "HB1S1", "110000", settle_input(&first, &psn_no)).await;
            let setl = ok(&out)["setlinfo"].clone();
            assert_eq!(setl["medfee_sumamt"], "3100.00");
            assert_eq!(setl["fulamt_ownpay_amt"], "100.00", "Hebei's catalogue makes A0001 self-paid: {setl}");
            assert_eq!(setl["act_pay_dedc"], "1800.00", "Beijing's deductible: {setl}");
            assert_eq!(setl["clr_optins"], "110000");
            let cents = |k: &str| yikatong_core::money::Fen::parse_yuan(setl[k].as_str().unwrap()).unwrap().0;
            assert_eq!(cents("medfee_sumamt"), cents("fund_pay_sumamt") + cents("psn_part_amt"), "the receipt adds up: {setl}");
            let setl_id = setl["setl_id"].as_str().unwrap().to_string();
            // The same msgid again: the first answer; nothing booked twice anywhere.
            let again = call(&c, &hb_url, &hb_token, "2207", "HB1S1", "110000", settle_input(&first, &psn_no)).await;
            assert_eq!(ok(&again)["setlinfo"]["setl_id"], setl_id.as_str());
            let out = call(&c, &hb_url, &hb_token, "5203", "HB1Q1", "110000", json!({"data": {"setl_id": setl_id}})).await;
            assert_eq!(ok(&out)["setlinfo"]["act_pay_dedc"], "1800.00");
            // The day's reconciliation (3201) at Hebei counts the copy, a Beijing employee's.
            let day = chrono::Utc::now().with_timezone(&yikatong_core::clock::shanghai()).format("%Y-%m-%d").to_string();
            let totals = json!({"data": {"insutype": "310", "clr_type": "11", "setl_optins": "110000", "stmt_begndate": day, "stmt_enddate": day, "medfee_sumamt": "3100.00", "fund_pay_sumamt": setl["fund_pay_sumamt"], "acct_pay": "0.00", "fixmedins_setl_cnt": 1}});
            let out = call(&c, &hb_url, &hb_token, "3201", "HB1T1", "110000", totals).await;
            assert_eq!(ok(&out)["stmtinfo"]["stmt_rslt"], "0", "{out}");

            // The deductible is charged once a year wherever the holder was treated: at
            // Beijing's own institution the next visit pays none.
            let begntime = chrono::Utc::now().with_timezone(&yikatong_core::clock::shanghai()).format("%Y-%m-%d %H:%M:%S").to_string();
            let bj = |infno: &str, msgid: &str, input: Value| {
                let body = json!({"infno": infno, "msgid": msgid, "mdtrtarea_admvs": "110000", "insuplc_admdvs": "110000", "fixmedins_code": "BJ1", "input": input});
                c.post(format!("{bj_url}/fsi/api/rsfComIfsService/callService")).bearer_auth(&bj_token).json(&body).send()
            };
            let reg = json!({"data": {"psn_no": psn_no, "insutype": "310", "begntime": begntime, "mdtrt_cert_type": "03", "mdtrt_cert_no": card.0, "card_sn": card.1, "ipt_otp_no": "BJOP1"}});
            let out: Value = bj("2201", "BJ1R1", reg).await.unwrap().json().await.unwrap();
            let bj_visit = ok(&out)["data"]["mdtrt_id"].as_str().unwrap().to_string();
            let line = json!({"feedetl_sn": "1", "mdtrt_id": bj_visit, "psn_no": psn_no, "chrg_bchno": "B1", "fee_ocur_time": begntime, "med_list_codg": "T100", "cnt": "1", "pric": "500.00", "det_item_fee_sumamt": "500.00"});
            let out: Value = bj("2204", "BJ1F1", json!({"feedetail": [line]})).await.unwrap().json().await.unwrap();
            ok(&out);
            let input = json!({"data": {"mdtrt_id": bj_visit, "psn_no": psn_no, "mdtrt_cert_type": "03", "medfee_sumamt": "500.00", "acct_used_flag": "0"}});
            let out: Value = bj("2207", "BJ1S1", input).await.unwrap().json().await.unwrap();
            assert_eq!(ok(&out)["setlinfo"]["act_pay_dedc"], "0.00", "the deductible was met at the Hebei visit: {out}");

            // 2208 at Hebei reverses in both regions; the visit may be settled again.
            let out = call(&c, &hb_url, &hb_token, "2208", "HB1X1", "110000", json!({"data": {"setl_id": setl_id, "mdtrt_id": first, "psn_no": psn_no}})).await;
            assert_eq!(ok(&out)["setlinfo"]["refd_setl_flag"], "1");
            let out = call(&c, &hb_url, &hb_token, "2207", "HB1S2", "110000", settle_input(&first, &psn_no)).await;
            assert_eq!(ok(&out)["setlinfo"]["act_pay_dedc"], "1800.00", "the reversal gave the deductible back in Beijing: {out}");
        });
        verified(beijing_db, &bj_key, "Beijing");
        verified(hebei_db, &hb_key, "Hebei");

        let (psn_no, down) = rt.block_on(async {
            let out = call(&c, &hb_url, &hb_token, "1101", "HB1P2", "110000", json!({"data": {"mdtrt_cert_type": "03", "mdtrt_cert_no": card.0, "card_sn": card.1}})).await;
            let psn_no = ok(&out)["baseinfo"]["psn_no"].as_str().unwrap().to_string();
            let slow = visit(&c, &hb_url, &hb_token, 2, &psn_no, &card).await;
            let down = visit(&c, &hb_url, &hb_token, 3, &psn_no, &card).await;

            // Beijing too slow to answer (stopped): the hospital is told within the
            // timeout, the answer is not kept, and the same msgid once Beijing runs again
            // completes the booking once in both regions.
            signal(&beijing.0, "-STOP");
            let started = Instant::now();
            let out = call(&c, &hb_url, &hb_token, "2207", "HB1S3", "110000", settle_input(&slow, &psn_no)).await;
            assert!(started.elapsed() < Duration::from_secs(5), "told within 5 s: {:?}", started.elapsed());
            assert_eq!(out["infcode"], -1);
            assert!(out["err_msg"].as_str().unwrap().starts_with("[insured_region_timeout]"), "{out}");
            signal(&beijing.0, "-CONT");
            let out = call(&c, &hb_url, &hb_token, "2207", "HB1S3", "110000", settle_input(&slow, &psn_no)).await;
            let setl_id = ok(&out)["setlinfo"]["setl_id"].as_str().unwrap().to_string();
            let again = call(&c, &hb_url, &hb_token, "2207", "HB1S3", "110000", settle_input(&slow, &psn_no)).await;
            assert_eq!(ok(&again)["setlinfo"]["setl_id"], setl_id.as_str());
            let other = call(&c, &hb_url, &hb_token, "2207", "HB1S4", "110000", settle_input(&slow, &psn_no)).await;
            assert!(other["err_msg"].as_str().unwrap_or_default().starts_with("[already_settled]"), "booked once: {other}");

            // Beijing down: refused at once with the reason, nothing booked on either
            // side; once Beijing is back the visit settles.
            drop(std::mem::replace(&mut beijing, super::Killed(Command::new("true").spawn().unwrap())));
            let started = Instant::now();
            let out = call(&c, &hb_url, &hb_token, "2207", "HB1S5", "110000", settle_input(&down, &psn_no)).await;
            assert!(started.elapsed() < Duration::from_secs(5), "told at once: {:?}", started.elapsed());
            assert_eq!(out["infcode"], -1);
            let msg = out["err_msg"].as_str().unwrap();
            assert!(msg.starts_with("[insured_region_unreachable]") && msg.contains("北京市"), "{msg}");
            (psn_no, down)
        });
        let (_beijing, _) = serve_with_nats(beijing_db, &bj_key, &nats.url(), &["--region", "beijing"]);
        rt.block_on(async {
            let out = call(&c, &hb_url, &hb_token, "2207", "HB1S6", "110000", settle_input(&down, &psn_no)).await;
            ok(&out);
        });
        drop(hebei);
        verified(beijing_db, &bj_key, "Beijing");
        verified(hebei_db, &hb_key, "Hebei");
        // R-XREG-3: four settlements, one reversed in the month, the same on both sides.
        clearing_agrees((beijing_db, &bj_key), (hebei_db, &hb_key), 3);
    });
}

/// Settles `visits` at HB1 four at a time until each is settled: the same msgid again
/// after a failure (the connection cut, no answer in time), a new one only when the
/// answer says nothing was done (`insured_region_unreachable`). `url` is read afresh at
/// each try, so that a region restarted on another port is found. Returns how many tries
/// did not settle; `settled` counts those that did.
#[allow(clippy::too_many_arguments)]
async fn settle_all(
    c: &reqwest::Client,
    url: &std::sync::Mutex<String>,
    token: &str,
    psn_no: &str,
    visits: &[String],
    round: &str,
    patient: bool,
    settled: &std::sync::atomic::AtomicUsize,
) -> usize {
    use futures_util::StreamExt;
    let failures = std::sync::atomic::AtomicUsize::new(0);
    futures_util::stream::iter(visits.iter().enumerate())
        .for_each_concurrent(4, |(n, mdtrt_id)| {
            let failures = &failures;
            async move {
                let mut attempt = 0;
                loop {
                    let msgid = format!("HB1{round}{n}A{attempt}");
                    let base = url.lock().unwrap().clone();
                    let body = json!({"infno": "2207", "msgid": msgid, "mdtrtarea_admvs": "130000", "insuplc_admdvs": "110000", "fixmedins_code": "HB1", "input": settle_input(mdtrt_id, psn_no)});
                    let answer = async { c.post(format!("{base}/fsi/api/rsfComIfsService/callService")).bearer_auth(token).json(&body).send().await?.json::<Value>().await };
                    match answer.await {
                        Ok(v) if v["infcode"] == 0 || v["err_msg"].as_str().unwrap_or_default().starts_with("[already_settled]") => {
                            settled.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            return;
                        }
                        Ok(v) if v["err_msg"].as_str().unwrap_or_default().starts_with("[insured_region_unreachable]") => attempt += 1,
                        _ => {}
                    }
                    failures.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if !patient {
                        return;
                    }
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        })
        .await;
    failures.into_inner()
}

#[test]
fn r_xreg_4_either_region_killed_during_cross_region_traffic_comes_back_consistent_and_the_clearing_agrees_on_both_databases() {
    both_pairs(|beijing_db, hebei_db| {
        let nats = Nats::start(&mut rng());
        let (bj_key, hb_key) = (yikatong_store::DataKey::generate_hex(), yikatong_store::DataKey::generate_hex());
        let (_, card) = region_db(beijing_db, &bj_key, "beijing", "BJ1", "3");
        let card = card.unwrap();
        let (hb_token, _) = region_db(hebei_db, &hb_key, "hebei", "HB1", "1");
        let beijing_args = ["--region", "beijing"];
        let hebei_args = ["--region", "hebei", "--region-call-timeout-ms", "1500"];
        let (mut beijing, _) = serve_with_nats(beijing_db, &bj_key, &nats.url(), &beijing_args);
        let (mut hebei, hb_url) = serve_with_nats(hebei_db, &hb_key, &nats.url(), &hebei_args);
        let url = std::sync::Mutex::new(hb_url);
        let rt = tokio::runtime::Runtime::new().unwrap();
        let c = reqwest::Client::new();
        let base = || url.lock().unwrap().clone();
        let (psn_no, visits) = rt.block_on(async {
            let out = call(&c, &base(), &hb_token, "1101", "HB1P1", "110000", json!({"data": {"mdtrt_cert_type": "03", "mdtrt_cert_no": card.0, "card_sn": card.1}})).await;
            let psn_no = ok(&out)["baseinfo"]["psn_no"].as_str().unwrap().to_string();
            let mut visits = Vec::new();
            for n in 0..24 {
                visits.push(visit(&c, &base(), &hb_token, 10 + n, &psn_no, &card).await);
            }
            (psn_no, visits)
        });
        for (round, killed) in [("K", "Hebei"), ("L", "Beijing")] {
            let batch: Vec<String> = if round == "K" { visits[..12].to_vec() } else { visits[12..].to_vec() };
            let settled = std::sync::atomic::AtomicUsize::new(0);
            let failed = rt.block_on(async {
                // Traffic, and the region killed with SIGKILL once three visits are settled.
                let traffic = settle_all(&c, &url, &hb_token, &psn_no, &batch, round, false, &settled);
                let kill = async {
                    while settled.load(std::sync::atomic::Ordering::Relaxed) < 3 {
                        tokio::time::sleep(Duration::from_millis(2)).await;
                    }
                    let victim = if killed == "Hebei" { &mut hebei } else { &mut beijing };
                    signal(&victim.0, "-KILL");
                };
                tokio::join!(traffic, kill).0
            });
            println!("{killed} killed during traffic: {} of {} settled, {failed} failed", settled.load(std::sync::atomic::Ordering::Relaxed), batch.len());
            assert!(failed > 0, "the kill interrupted the traffic");
            if killed == "Hebei" {
                let (server, fresh) = serve_with_nats(hebei_db, &hb_key, &nats.url(), &hebei_args);
                hebei = server;
                *url.lock().unwrap() = fresh;
            } else {
                beijing = serve_with_nats(beijing_db, &bj_key, &nats.url(), &beijing_args).0;
            }
            // The hospital retries what got no answer; each visit is settled once.
            let again = std::sync::atomic::AtomicUsize::new(0);
            rt.block_on(settle_all(&c, &url, &hb_token, &psn_no, &batch, round, true, &again));
            assert_eq!(again.into_inner(), batch.len());
        }
        drop(hebei);
        drop(beijing);
        verified(beijing_db, &bj_key, "Beijing");
        verified(hebei_db, &hb_key, "Hebei");
        clearing_agrees((beijing_db, &bj_key), (hebei_db, &hb_key), 24);
    });
}
