//! The `ykt` binary as a user runs it: real processes, a real port, real files.

#![allow(clippy::unwrap_used)] // tests state their expectations by unwrapping

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use yikatong_store::testing::{Backend, test_pg_url};

const YKT: &str = env!("CARGO_BIN_EXE_ykt");

#[path = "cli/chaos.rs"]
mod chaos;
#[path = "cli/cross_region.rs"]
mod cross_region;
#[path = "cli/events.rs"]
mod events;
#[path = "cli/regions.rs"]
mod regions;

fn ykt(args: &[&str], key: Option<&str>) -> std::process::Output {
    let mut c = Command::new(YKT);
    c.args(args).env("RUST_LOG", "warn");
    match key {
        Some(k) => c.env("YKT_DATA_KEY", k),
        None => c.env_remove("YKT_DATA_KEY"),
    };
    c.output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Starts `ykt serve` on a free port and returns the child and its URL.
fn serve(db: &str, key: &str, extra: &[&str]) -> (Child, String) {
    let mut child = Command::new(YKT)
        .args(["serve", "--db", db, "--listen", "127.0.0.1:0"])
        .args(extra)
        .env("YKT_DATA_KEY", key)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let url = line.trim().rsplit(' ').next().unwrap().to_string();
    assert!(url.starts_with("http://"), "unexpected first line: {line:?}");
    (child, url)
}

struct Killed(Child);
impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn both(test: impl Fn(&str)) {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let (url, cleanup) = rt.block_on(yikatong_store::testing::fresh_url(backend, &test_pg_url()));
        test(&url);
        cleanup();
    }
}

#[test]
fn serve_refuses_to_start_without_a_data_key() {
    let out = ykt(&["serve", "--db", "/tmp/never-created.db"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("YKT_DATA_KEY"), "{}", text(&out.stderr));
    let out = ykt(&["serve", "--db", "/tmp/never-created.db"], Some("abc"));
    assert!(text(&out.stderr).contains("32 hex characters"), "{}", text(&out.stderr));
    assert!(!std::path::Path::new("/tmp/never-created.db").exists());
}

#[test]
fn a_database_that_does_not_connect_is_named() {
    let key = yikatong_store::DataKey::generate_hex();
    let out = ykt(&["admin", "token", "--db", "postgres://ykt:secret@127.0.0.1:1/none", "--role", "operator"], Some(&key));
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("cannot open the database postgres://ykt:***@127.0.0.1:1/none"), "{err}");
    assert!(!err.contains("secret"));
}

#[test]
fn serve_migrates_issues_tokens_and_answers_on_both_databases() {
    both(|db| {
        let key = yikatong_store::DataKey::generate_hex();
        let out = ykt(&["admin", "token", "--db", db, "--role", "operator", "--label", "test"], Some(&key));
        assert!(out.status.success(), "{}", text(&out.stderr));
        let token = text(&out.stdout).trim().to_string();
        assert!(token.starts_with("ykt_"));
        // A pool of two connections with a two-second wait serves all the same.
        let (child, url) = serve(db, &key, &["--test-clock", "--db-pool-size", "2", "--db-wait-seconds", "2"]);
        let _guard = Killed(child);
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            let c = reqwest::Client::new();
            let health: serde_json::Value = c.get(format!("{url}/healthz")).send().await.unwrap().json().await.unwrap();
            assert_eq!(health["status"], "ok");
            let res = c.post(format!("{url}/v1/units")).bearer_auth(&token).json(&serde_json::json!({"code": "U1", "name": "单位", "region": "beijing"})).send().await.unwrap();
            assert_eq!(res.status().as_u16(), 201);
            let res = c.put(format!("{url}/v1/test/clock")).json(&serde_json::json!({"now": "2026-03-02T10:00:00+08:00"})).send().await.unwrap();
            assert_eq!(res.status().as_u16(), 200);
        });
        // The token can be revoked from the command line; then it stops working.
        let out = ykt(&["admin", "tokens", "--db", db], Some(&key));
        assert!(text(&out.stdout).contains("operator"));
        let out = ykt(&["admin", "revoke-token", "--db", db, "1"], Some(&key));
        assert!(out.status.success(), "{}", text(&out.stderr));
        rt.block_on(async {
            let res = reqwest::Client::new().get(format!("{url}/v1/units/U1")).bearer_auth(&token).send().await.unwrap();
            assert_eq!(res.status().as_u16(), 401);
        });
    });
}

#[test]
fn calendar_load_persists_a_new_year() {
    both(|db| {
        let key = yikatong_store::DataKey::generate_hex();
        let dir = std::env::temp_dir().join(format!("ykt-cal-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("2027.toml");
        std::fs::write(&file, "year = 2027\nsource = \"test\"\nholidays = [2027-01-01]\nworkdays = [2027-01-10]\n").unwrap();
        let out = ykt(&["calendar", "load", file.to_str().unwrap(), "--db", db], Some(&key));
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert!(text(&out.stdout).contains("calendar 2027 loaded"));
        let out = ykt(&["calendar", "show", "--db", db], Some(&key));
        assert!(text(&out.stdout).contains("2027  test"), "{}", text(&out.stdout));
        std::fs::write(&file, "year = 2027\nsource = \"test\"\nholidays = [2026-01-01]\nworkdays = []\n").unwrap();
        let out = ykt(&["calendar", "load", file.to_str().unwrap(), "--db", db], Some(&key));
        assert_eq!(out.status.code(), Some(2));
        assert!(text(&out.stderr).contains("is not in 2027"), "{}", text(&out.stderr));
        let _ = std::fs::remove_dir_all(&dir);
    });
}

#[test]
fn policy_show_prints_what_was_in_force() {
    let out = ykt(&["policy", "show", "beijing", "--at", "2024-03-01"], None);
    assert!(out.status.success());
    let s = text(&out.stdout);
    assert!(s.contains("card.pre_loss_days") && s.contains("10 days"), "{s}");
    let out = ykt(&["policy", "show", "jinan", "--at", "2024-03-01", "--json"], None);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["parameters"]["card.pre_loss_days"]["value"], 7);
    let out = ykt(&["policy", "show", "beijing", "--at", "March"], None);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_policy_file_with_a_typo_is_named_with_file_and_line() {
    let dir = std::env::temp_dir().join(format!("ykt-pol-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../policies/beijing.toml")).unwrap();
    let bad = good.replacen("replacement_fee", "replacment_fee", 1);
    let line = bad.lines().position(|l| l.starts_with("replacment_fee")).unwrap() + 1;
    let file = dir.join("beijing.toml");
    std::fs::write(&file, bad).unwrap();
    let out = ykt(&["policy", "check", file.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains(&format!("beijing.toml:{line}: unknown key card.replacment_fee")), "{err}");
    let out = ykt(&["policy", "show", "beijing", "--policies", dir.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(2));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn demo_serves_with_tokens_for_every_role() {
    let db = std::env::temp_dir().join(format!("ykt-demo-test-{}.db", std::process::id()));
    let _ = std::fs::remove_file(&db);
    let mut child = Command::new(YKT)
        .args(["demo", "--listen", "127.0.0.1:0", "--persons", "300", "--db", db.to_str().unwrap()])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let lines: Vec<String> = {
        let reader = BufReader::new(child.stdout.take().unwrap());
        let mut out = Vec::new();
        for line in reader.lines() {
            let line = line.unwrap();
            let done = line.starts_with("Stop with");
            out.push(line);
            if done {
                break;
            }
        }
        out
    };
    let _guard = Killed(child);
    let url = lines.iter().find(|l| l.contains("serving on")).unwrap().rsplit(' ').next().unwrap().to_string();
    let token = |role: &str| lines.iter().find(|l| l.trim_start().starts_with(&format!("{role} ")) && l.contains("ykt_")).unwrap().split_whitespace().last().unwrap().to_string();
    for role in ["operator", "clerk", "unit", "institution", "holder", "hotline", "kiosk", "bank", "vendor"] {
        assert!(token(role).starts_with("ykt_"), "{role}");
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let c = reqwest::Client::new();
        let res = c.get(format!("{url}/v1/units/U0001")).bearer_auth(token("operator")).send().await.unwrap();
        assert_eq!(res.status().as_u16(), 200);
        let metrics = c.get(format!("{url}/metrics")).send().await.unwrap().text().await.unwrap();
        assert!(metrics.contains("ykt_registry_persons 300"), "{metrics}");
        // The sample holder already holds an active card and sees it.
        let ssn = lines.iter().find(|l| l.contains("(synthetic")).unwrap().split_whitespace().nth(1).unwrap().to_string();
        let me: serde_json::Value = c.get(format!("{url}/v1/persons/{ssn}")).bearer_auth(token("holder")).send().await.unwrap().json().await.unwrap();
        assert_eq!(me["cards"][0]["state"], "active", "{me}");
    });
    std::thread::sleep(Duration::from_millis(10));
    let _ = std::fs::remove_file(&db);
}

#[test]
fn audit_verify_detects_an_edited_event() {
    both(|db| {
        let key = yikatong_store::DataKey::generate_hex();
        let rt = tokio::runtime::Runtime::new().unwrap();
        let card_id = rt.block_on(async {
            use std::sync::Arc;
            use yikatong_service::{NewOrganisation, NewPerson, Service, TokenRequest};
            let store = yikatong_store::open(db, yikatong_store::DataKey::from_hex(&key).unwrap()).await.unwrap();
            let service = Service::new(store, Arc::new(yikatong_core::clock::SystemClock), yikatong_core::policy::PolicySet::shipped().unwrap()).await.unwrap();
            let op = service.issue_token(&TokenRequest { role: "operator".into(), ..Default::default() }).await.unwrap();
            let op = service.authenticate(&op.token).await.unwrap();
            service.create_outlet(&op, &NewOrganisation { code: "O1".into(), name: "网点".into(), region: "beijing".into(), ..Default::default() }).await.unwrap();
            service
                .create_person(
                    &op,
                    &NewPerson {
                        ssn: "11010519491231002X".into(),
                        name: "张三".into(),
                        ethnicity: "01".into(),
                        category: "retired".into(),
                        region: "beijing".into(),
                        ..Default::default()
                    },
                )
                .await
                .unwrap();
            let clerk = service.issue_token(&TokenRequest { role: "clerk".into(), outlet: Some("O1".into()), ..Default::default() }).await.unwrap();
            let clerk = service.authenticate(&clerk.token).await.unwrap();
            service.apply_for_card(&clerk, "11010519491231002X", &yikatong_service::ApplicationRequest::default()).await.unwrap().id
        });
        let checkpoints = std::env::temp_dir().join(format!("ykt-checkpoints-{}-{}", std::process::id(), db.len()));
        let dir = checkpoints.to_str().unwrap();
        let out = ykt(&["audit", "verify", "--db", db, "--checkpoints", dir], Some(&key));
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert!(text(&out.stdout).contains("1 cards, 1 events checked, no checkpoint in") && text(&out.stdout).contains(", 0 problems"), "{}", text(&out.stdout));
        let out = ykt(&["audit", "checkpoint", "--db", db, "--checkpoints", dir], Some(&key));
        assert!(out.status.success() && text(&out.stdout).contains("checkpoint written"), "{}", text(&out.stderr));
        let out = ykt(&["audit", "verify", "--db", db, "--checkpoints", dir], Some(&key));
        assert!(text(&out.stdout).contains("checkpoint-") && text(&out.stdout).contains(", 0 problems"), "{}", text(&out.stdout));
        rt.block_on(async {
            let edit = format!("UPDATE card_events SET payload = '{{}}' WHERE card_id = {card_id}");
            if db.starts_with("postgres") {
                let pool = sqlx::PgPool::connect(db).await.unwrap();
                sqlx::raw_sql("DROP TRIGGER card_events_no_change ON card_events").execute(&pool).await.unwrap();
                sqlx::raw_sql(sqlx::AssertSqlSafe(edit)).execute(&pool).await.unwrap();
            } else {
                let pool = sqlx::SqlitePool::connect(&format!("sqlite:{db}")).await.unwrap();
                sqlx::raw_sql("DROP TRIGGER card_events_no_update").execute(&pool).await.unwrap();
                sqlx::raw_sql(sqlx::AssertSqlSafe(edit)).execute(&pool).await.unwrap();
            }
        });
        let out = ykt(&["audit", "verify", "--db", db, "--checkpoints", dir], Some(&key));
        assert_eq!(out.status.code(), Some(2));
        assert!(text(&out.stdout).contains(&format!("PROBLEM  card {card_id}: event 1 (applied) was changed")), "{}{}", text(&out.stdout), text(&out.stderr));
        let _ = std::fs::remove_dir_all(&checkpoints);
    });
}

#[test]
fn catalog_import_of_100000_rows_reports_bad_rows_by_line() {
    both(|db| {
        let key = yikatong_store::DataKey::generate_hex();
        let dir = std::env::temp_dir().join(format!("ykt-cat-{}-{}", std::process::id(), db.len()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("catalog.csv");
        let mut csv = String::from("编码,名称,类别,等级,限价分\n");
        for i in 0..100_000 {
            match i {
                10 => csv.push_str("X10,坏行,drug,D,\n"),
                20 => csv.push_str("X20,\"名称, 带逗号\",pill,A,\n"),
                30 => csv.push_str("X30,限价,drug,A,abc\n"),
                _ => csv.push_str(&format!("X{i},\"药品 {i}\",drug,{},{}\n", ["A", "B", "C"][i % 3], if i % 7 == 0 { "1500" } else { "" })),
            }
        }
        std::fs::write(&file, &csv).unwrap();
        for _ in 0..2 {
            let out = ykt(&["catalog", "import", file.to_str().unwrap(), "--db", db], Some(&key));
            assert!(out.status.success(), "{}", text(&out.stderr));
            let stdout = text(&out.stdout);
            assert!(stdout.contains("catalogue: 99997 rows accepted, 3 refused"), "{stdout}");
            assert!(stdout.contains("line 12: class must be A, B or C"), "{stdout}");
            assert!(stdout.contains("line 22: kind must be"), "{stdout}");
            assert!(stdout.contains("line 32: price ceiling \"abc\""), "{stdout}");
        }
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            let store = yikatong_store::open(db, yikatong_store::DataKey::from_hex(&key).unwrap()).await.unwrap();
            let item = store.catalog_item("X14").await.unwrap().unwrap();
            assert_eq!((item.name.as_str(), item.class.as_str(), item.price_ceiling_fen), ("药品 14", "C", Some(1500)));
            assert!(store.catalog_item("X10").await.unwrap().is_none());
        });
        let _ = std::fs::remove_dir_all(&dir);
    });
}

/// `ykt import persons`: an extract of 30,000 rows (one bad) read line by line with
/// progress on stderr; run again it creates nothing.
#[test]
fn import_persons_from_the_command_line() {
    both(|db| {
        let key = yikatong_store::DataKey::generate_hex();
        let dir = std::env::temp_dir().join(format!("ykt-persons-{}-{}", std::process::id(), db.len()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("persons.csv");
        let mut csv = String::from("ssn,name,ethnicity,category,unit_code,phone\n");
        for i in 0..30_000u32 {
            let ssn = yikatong_service::demo::make_ssn("110107", "1970-01-01".parse::<chrono::NaiveDate>().unwrap() + chrono::Days::new(u64::from(i / 400)), 101 + 2 * (i % 400));
            csv.push_str(&format!("{ssn},参保人{i},01,in_service,,\n"));
        }
        csv.push_str("110107197001010000,错号,01,in_service,,\n");
        std::fs::write(&file, csv).unwrap();
        let out = ykt(&["import", "persons", file.to_str().unwrap(), "--region", "beijing", "--db", db], Some(&key));
        assert!(out.status.success(), "{}", text(&out.stderr));
        let stdout = text(&out.stdout);
        assert!(stdout.contains("30001 rows, 30000 accepted, 0 already present, 1 refused") && stdout.contains("line 30002:"), "{stdout}");
        assert!(text(&out.stderr).contains("persons:") && text(&out.stderr).contains("(100%)"), "progress: {}", text(&out.stderr));
        let out = ykt(&["import", "persons", file.to_str().unwrap(), "--region", "beijing", "--db", db], Some(&key));
        assert!(text(&out.stdout).contains("0 accepted, 30000 already present"), "{}", text(&out.stdout));
        let _ = std::fs::remove_dir_all(&dir);
    });
}

#[test]
fn import_applications_and_credit_accounts_from_the_command_line() {
    both(|db| {
        let key = yikatong_store::DataKey::generate_hex();
        let rt = tokio::runtime::Runtime::new().unwrap();
        let ssns: Vec<String> = rt.block_on(async {
            use std::sync::Arc;
            use yikatong_service::{NewOrganisation, NewPerson, Service, TokenRequest};
            let store = yikatong_store::open(db, yikatong_store::DataKey::from_hex(&key).unwrap()).await.unwrap();
            let service = Service::new(store, Arc::new(yikatong_core::clock::SystemClock), yikatong_core::policy::PolicySet::shipped().unwrap()).await.unwrap();
            let op = service.issue_token(&TokenRequest { role: "operator".into(), ..Default::default() }).await.unwrap();
            let op = service.authenticate(&op.token).await.unwrap();
            service.create_unit(&op, &NewOrganisation { code: "U1".into(), name: "单位".into(), region: "beijing".into(), ..Default::default() }).await.unwrap();
            let mut ssns = Vec::new();
            for i in 0..3u32 {
                let ssn = yikatong_service::demo::make_ssn("110105", "1985-06-01".parse().unwrap(), 101 + 2 * i);
                service
                    .create_person(
                        &op,
                        &NewPerson {
                            ssn: ssn.clone(),
                            name: format!("职工{i}"),
                            ethnicity: "01".into(),
                            category: "in_service".into(),
                            region: "beijing".into(),
                            unit_code: Some("U1".into()),
                            contribution_base_fen: Some(800_000),
                            ..Default::default()
                        },
                    )
                    .await
                    .unwrap();
                ssns.push(ssn);
            }
            ssns
        });
        let dir = std::env::temp_dir().join(format!("ykt-apps-{}-{}", std::process::id(), db.len()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("applications.csv");
        std::fs::write(&file, format!("ssn,name,financial\n{},职工0,no\n{},职工1,yes\n{},错名,no\n", ssns[0], ssns[1], ssns[2])).unwrap();
        let out = ykt(&["import", "applications", file.to_str().unwrap(), "--unit", "U1", "--db", db], Some(&key));
        assert!(out.status.success(), "{}", text(&out.stderr));
        let stdout = text(&out.stdout);
        assert!(stdout.contains("3 rows, 2 accepted, 0 already applied, 1 refused"), "{stdout}");
        assert!(stdout.contains("line 4:") && stdout.contains("name_mismatch"), "{stdout}");
        let out = ykt(&["import", "applications", file.to_str().unwrap(), "--unit", "U1", "--db", db], Some(&key));
        assert!(text(&out.stdout).contains("0 accepted, 2 already applied"), "{}", text(&out.stdout));
        for _ in 0..2 {
            let out = ykt(&["batch", "credit-accounts", "--month", "2026-11", "--db", db], Some(&key));
            assert!(out.status.success(), "{}", text(&out.stderr));
            assert!(text(&out.stderr).contains("credit-accounts: 3/3 (100%)"), "{}", text(&out.stderr));
        }
        let out = ykt(&["batch", "credit-accounts", "--month", "2026-11", "--db", db], Some(&key));
        assert!(text(&out.stdout).contains("3 persons, 0 credited (0.00 yuan), 3 already credited"), "{}", text(&out.stdout));
        // ykt verify: every invariant holds; an account driven below zero behind the
        // service's back is found, and the exit status says so.
        let out = ykt(&["verify", "--db", db], Some(&key));
        assert!(out.status.success(), "{}{}", text(&out.stdout), text(&out.stderr));
        assert!(text(&out.stdout).contains(", 0 violations"), "{}", text(&out.stdout));
        let tamper = "INSERT INTO account_entries (person_hash, at, kind, amount_fen, reference, reason) VALUES ('tampered', '2026-11-01T00:00:00.000000Z', 'correction', -5, NULL, 'behind the service')";
        rt.block_on(yikatong_store::testing::run_raw_sql(db, tamper)).unwrap();
        let out = ykt(&["verify", "--db", db], Some(&key));
        assert!(!out.status.success(), "a violation fails the command");
        assert!(text(&out.stdout).contains("FAIL") && text(&out.stdout).contains("balance -0.05 yuan"), "{}", text(&out.stdout));
        let _ = std::fs::remove_dir_all(&dir);
    });
}

#[test]
fn registry_compare_and_production_files_from_the_command_line() {
    both(|db| {
        let key = yikatong_store::DataKey::generate_hex();
        let rt = tokio::runtime::Runtime::new().unwrap();
        let (ssn, batch_id, card_id) = rt.block_on(async {
            use std::sync::Arc;
            use yikatong_service::{NewOrganisation, NewPerson, Service, TokenRequest};
            let store = yikatong_store::open(db, yikatong_store::DataKey::from_hex(&key).unwrap()).await.unwrap();
            let service = Service::new(store, Arc::new(yikatong_core::clock::SystemClock), yikatong_core::policy::PolicySet::shipped().unwrap()).await.unwrap();
            let op = service.authenticate(&service.issue_token(&TokenRequest { role: "operator".into(), ..Default::default() }).await.unwrap().token).await.unwrap();
            service.create_unit(&op, &NewOrganisation { code: "U1".into(), name: "单位".into(), region: "beijing".into(), ..Default::default() }).await.unwrap();
            let ssn = yikatong_service::demo::make_ssn("110105", "1985-06-01".parse().unwrap(), 201);
            service
                .create_person(
                    &op,
                    &NewPerson {
                        ssn: ssn.clone(),
                        name: "职工".into(),
                        ethnicity: "01".into(),
                        category: "in_service".into(),
                        region: "beijing".into(),
                        unit_code: Some("U1".into()),
                        photo_digest: Some("ph".into()),
                        ..Default::default()
                    },
                )
                .await
                .unwrap();
            let unit = service
                .authenticate(&service.issue_token(&TokenRequest { role: "unit".into(), unit: Some("U1".into()), ..Default::default() }).await.unwrap().token)
                .await
                .unwrap();
            let card = service.apply_for_card(&unit, &ssn, &yikatong_service::ApplicationRequest::default()).await.unwrap().id;
            let batch = service.cut_batch(&op, "beijing", None, None).await.unwrap().id;
            (ssn, batch, card)
        });
        let dir = std::env::temp_dir().join(format!("ykt-files-{}-{}", std::process::id(), db.len()));
        std::fs::create_dir_all(&dir).unwrap();
        let registry = dir.join("registry.csv");
        std::fs::write(&registry, format!("ssn,name,gender,ethnicity,birth_date,photo_digest\n{ssn},职工,male,01,19850601,ph\n")).unwrap();
        let out = ykt(&["import", "registry", registry.to_str().unwrap(), "--db", db], Some(&key));
        assert!(text(&out.stdout).contains("registry extract: 1 rows, 1 accepted, 0 refused"), "{}{}", text(&out.stdout), text(&out.stderr));
        let out = ykt(&["batch", "compare", "--db", db], Some(&key));
        assert!(text(&out.stdout).contains("comparison: 1 persons, 1 matched, 0 held"), "{}{}", text(&out.stdout), text(&out.stderr));
        let out = ykt(&["export", "personalisation", "--batch", &batch_id.to_string(), "--db", db], Some(&key));
        let file = text(&out.stdout);
        assert!(file.starts_with("card_id,generation") && file.contains(&ssn), "{file}");
        let results = dir.join("results.csv");
        std::fs::write(&results, format!("card_id,card_number,card_identification_code,failed\n{card_id},F12345678,110000D15600000500000000000000AB,\n")).unwrap();
        let out = ykt(&["import", "production-results", results.to_str().unwrap(), "--batch", &batch_id.to_string(), "--db", db], Some(&key));
        assert!(text(&out.stdout).contains("production results: 1 rows, 1 accepted, 0 refused"), "{}{}", text(&out.stdout), text(&out.stderr));
        let _ = std::fs::remove_dir_all(&dir);
    });
}

#[test]
fn bench_city_runs_every_step_beside_its_baseline_on_both_databases() {
    let out = Command::new(YKT).args(["bench", "city", "--persons", "3000", "--batch", "400", "--postgres", &test_pg_url()]).env_remove("RUST_LOG").output().unwrap();
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    for backend in ["postgres:", "sqlite:"] {
        let section = stdout.split(backend).nth(1).unwrap_or_else(|| panic!("no {backend} section in {stdout}"));
        for step in ["import applications", "import registry extract", "compare with the registry", "cut a production batch", "credit the month's accounts"] {
            let line = section.lines().find(|l| l.trim_start().starts_with(step)).unwrap_or_else(|| panic!("no {step} line in {section}"));
            assert!(line.trim_end().ends_with('x'), "a ratio ends the line: {line}");
        }
        assert!(section.contains("production batch 1: 400 cards"), "{section}");
        assert!(section.contains("peak MB"), "{section}");
    }
    assert!(stdout.contains("COPY of the rows written") && stdout.contains("INSERT…SELECT of the rows written"), "{stdout}");
    assert!(text(&out.stderr).trim().is_empty(), "benchmarks log warnings only: {}", text(&out.stderr));
}

/// The registry and card-life benchmarks run their own baselines (raw statements in
/// scratch tables the command line makes and drops) on both databases.
#[test]
fn bench_registry_and_card_life_print_a_rate_beside_their_baselines_on_both_databases() {
    for args in
        [&["bench", "registry", "--count", "60", "--concurrency", "3"][..], &["bench", "card-life", "--pairs", "30", "--concurrency", "3", "--backends", "sqlite,postgres"][..]]
    {
        let out = Command::new(YKT).args(args).args(["--postgres", &test_pg_url()]).env_remove("RUST_LOG").output().unwrap();
        let stdout = text(&out.stdout);
        assert!(out.status.success(), "{args:?}: {stdout}\n{}", text(&out.stderr));
        for backend in ["sqlite", "postgres"] {
            let line = stdout.lines().find(|l| l.starts_with(backend)).unwrap_or_else(|| panic!("no {backend} line in {stdout}"));
            let figures: Vec<&str> = line.split_whitespace().collect();
            let (api, baseline): (f64, f64) = (figures[1].parse().unwrap(), figures[2].parse().unwrap());
            assert!(api > 0.0 && baseline > 0.0, "both rates measured: {line}");
        }
        assert!(stdout.contains("baseline: "), "{stdout}");
    }
}

/// The events benchmark runs its own nats-server and prints a rate beside the broker's
/// own, and the counter-to-blocklist latency.
#[test]
fn bench_events_prints_notices_per_second_beside_the_broker_and_the_latency_on_both_databases() {
    let out =
        Command::new(YKT).args(["bench", "events", "--pairs", "20", "--samples", "5", "--concurrency", "2", "--postgres", &test_pg_url()]).env_remove("RUST_LOG").output().unwrap();
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    for backend in ["sqlite", "postgres"] {
        let line = stdout.lines().find(|l| l.starts_with(backend)).unwrap_or_else(|| panic!("no {backend} line in {stdout}"));
        let figures: Vec<&str> = line.split_whitespace().collect();
        assert!(figures.len() >= 6 && !line.contains("failed"), "{line}");
        assert!(figures[1].parse::<f64>().unwrap() > 0.0 && figures[2].parse::<f64>().unwrap() > 0.0, "{line}");
    }
}

/// `ykt bench cross-region` prints the cross-region 2207's rate, p50 and p99 beside the
/// same-region 2207's of the same run, on both databases.
#[test]
fn bench_cross_region_prints_2207_beside_the_same_region_2207_on_both_databases() {
    let out = Command::new(YKT).args(["bench", "cross-region", "--visits", "3", "--concurrency", "2", "--postgres", &test_pg_url()]).env_remove("RUST_LOG").output().unwrap();
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    for backend in ["sqlite", "postgres"] {
        for row in ["same region", "cross-region"] {
            let line = stdout.lines().find(|l| l.starts_with(backend) && l.contains(row)).unwrap_or_else(|| panic!("no {backend} {row} line in {stdout}"));
            let rate = line.split(')').nth(1).and_then(|rest| rest.split_whitespace().next()).and_then(|n| n.parse::<f64>().ok());
            assert!(rate.is_some_and(|r| r > 0.0) && line.contains("ms"), "{line}");
        }
        assert!(stdout.lines().any(|l| l.starts_with(backend) && l.contains("ratio cross / same")), "{stdout}");
    }
}

#[test]
fn bench_portal_times_every_main_page_beside_healthz() {
    let out = Command::new(YKT).args(["bench", "portal", "--persons", "300", "--requests", "3", "--postgres", &test_pg_url()]).env_remove("RUST_LOG").output().unwrap();
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    for backend in ["sqlite:", "postgres:"] {
        let section = stdout.split(backend).nth(1).unwrap();
        for page in ["/healthz (baseline)", "/unit (first page", "/outlet?q=", "/holder ", "/holder/account", "/operator (overdue", "/operator/policy"] {
            let line = section.lines().find(|l| l.trim_start().starts_with(page)).unwrap_or_else(|| panic!("no {page} in {section}"));
            let figures: Vec<f64> = line.split_whitespace().rev().take(2).map(|f| f.parse().unwrap()).collect();
            assert!(figures.iter().all(|f| *f >= 0.0), "{line}");
        }
    }
}

#[test]
fn serve_writes_an_audit_checkpoint_when_it_stops() {
    both(|db| {
        let key = yikatong_store::DataKey::generate_hex();
        let dir = std::env::temp_dir().join(format!("ykt-stop-checkpoints-{}-{}", std::process::id(), db.len()));
        let (child, url) = serve(db, &key, &["--checkpoints", dir.to_str().unwrap()]);
        let mut guard = Killed(child);
        let rt = tokio::runtime::Runtime::new().unwrap();
        let health = rt.block_on(async { reqwest::get(format!("{url}/healthz")).await.unwrap().status().as_u16() });
        assert_eq!(health, 200);
        // Ctrl-C: the service stops gracefully and writes its last checkpoint.
        let status = Command::new("kill").args(["-INT", &guard.0.id().to_string()]).status().unwrap();
        assert!(status.success());
        let exited = guard.0.wait().unwrap();
        assert!(exited.success(), "{exited:?}");
        let files: Vec<_> = std::fs::read_dir(&dir).unwrap().filter_map(std::result::Result::ok).map(|e| e.file_name().to_string_lossy().into_owned()).collect();
        assert!(files.iter().any(|f| f.starts_with("checkpoint-") && f.ends_with(".txt")), "{files:?}");
        let out = ykt(&["audit", "verify", "--db", db, "--checkpoints", dir.to_str().unwrap()], Some(&key));
        assert!(out.status.success() && text(&out.stdout).contains("checkpoint-"), "{}", text(&out.stdout));
        let _ = std::fs::remove_dir_all(&dir);
    });
}

#[test]
fn bench_upload_sends_a_unit_file_through_the_api_beside_the_command_line_on_both_databases() {
    let out = Command::new(YKT).args(["bench", "upload", "--rows", "2000", "--postgres", &test_pg_url()]).env_remove("RUST_LOG").output().unwrap();
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    for backend in ["sqlite:", "postgres:"] {
        let section = stdout.split(backend).nth(1).unwrap();
        for path in ["command line (baseline)", "API upload"] {
            let line = section.lines().find(|l| l.trim_start().starts_with(path)).unwrap_or_else(|| panic!("no {path} in {section}"));
            let rows: u64 = line.split_whitespace().rev().nth(2).unwrap().parse().unwrap();
            assert_eq!(rows, 1000, "{line}");
        }
        assert!(section.contains("accepted 1000 of 1000 through the API"), "{section}");
    }
}

#[test]
fn admin_his_credential_issues_an_access_id_that_signs_national_interface_requests_on_both_databases() {
    both(|db| {
        let key = yikatong_store::DataKey::generate_hex();
        let token = text(&ykt(&["admin", "token", "--db", db, "--role", "operator"], Some(&key)).stdout).trim().to_string();
        let (child, url) = serve(db, &key, &[]);
        let _guard = Killed(child);
        let rt = tokio::runtime::Runtime::new().unwrap();
        let c = reqwest::Client::new();
        rt.block_on(async {
            let res = c
                .post(format!("{url}/v1/institutions"))
                .bearer_auth(&token)
                .json(&serde_json::json!({"code": "H7", "name": "网关医院", "region": "beijing", "level": "2"}))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status().as_u16(), 201);
        });
        let out = ykt(&["admin", "his-credential", "--db", db, "--institution", "H7"], Some(&key));
        assert!(out.status.success(), "{}", text(&out.stderr));
        let stdout = text(&out.stdout);
        let field = |name: &str| stdout.lines().find_map(|l| l.strip_prefix(&format!("{name}="))).unwrap_or_else(|| panic!("no {name}= in {stdout}")).to_string();
        let (paasid, secret) = (field("paasid"), field("secret"));
        let listed = text(&ykt(&["admin", "his-credential", "--db", db, "--list"], Some(&key)).stdout);
        assert!(listed.contains(&paasid) && listed.contains("H7") && !listed.contains(&secret), "{listed}");
        let signed = |nonce: &str| {
            let ts = chrono::Utc::now().timestamp().to_string();
            c.post(format!("{url}/fsi/api/rsfComIfsService/callService/9001"))
                .header("x-tif-paasid", &paasid)
                .header("x-tif-timestamp", &ts)
                .header("x-tif-nonce", nonce)
                .header("x-tif-signature", yikatong_service::gateway_signature(&ts, &secret, nonce))
                .json(&serde_json::json!({"infno": "9001", "msgid": format!("H7{nonce:0>28}"), "fixmedins_code": "H7", "input": {"opter_no": "1"}}))
                .send()
        };
        rt.block_on(async {
            let v: serde_json::Value = signed("1").await.unwrap().json().await.unwrap();
            assert_eq!(v["infcode"], 0, "{v}");
        });
        assert!(ykt(&["admin", "his-credential", "--db", db, "--revoke", "1"], Some(&key)).status.success());
        rt.block_on(async {
            let v: serde_json::Value = signed("2").await.unwrap().json().await.unwrap();
            assert!(v["err_msg"].as_str().unwrap().contains("[credential_revoked]"), "{v}");
        });
    });
}

/// `ykt bench all --quick` runs every benchmark at small sizes, prints one table of
/// their figures beside their baselines, and writes it with the machine into the
/// generated part of the file it is given, keeping the rest (the profile, the notes).
#[test]
fn bench_all_runs_every_benchmark_and_writes_one_table_with_the_machine() {
    let dir = std::env::temp_dir().join(format!("ykt-bench-all-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out_file = dir.join("benchmarks.md");
    std::fs::write(&out_file, "# Benchmarks\n\n<!-- ykt bench all: begin -->\nold\n<!-- ykt bench all: end -->\n\n## Where the time goes\nkept\n").unwrap();
    let out = Command::new(YKT).args(["bench", "all", "--quick", "--out"]).arg(&out_file).args(["--postgres", &test_pg_url()]).env_remove("RUST_LOG").output().unwrap();
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    // `ykt bench settle`'s own lines come first, as they always did.
    assert!(stdout.lines().any(|l| l.starts_with("2207 settlements (API)")) && stdout.contains("ratio 2207 / pgbench: "), "{stdout}");
    let table = stdout.split("ykt bench all: ").nth(1).unwrap_or_else(|| panic!("no summary in {stdout}"));
    for figure in [
        "settle: 2207, 8 cashiers",
        "settle: 2207, 2 cashiers",
        "settle: 2207, 3 cashiers, one person",
        "card-life: postgres",
        "registry: sqlite",
        "events: postgres",
        "cross-region: sqlite",
        "city: postgres: import applications",
        "city: sqlite: credit the month's accounts",
        "upload: postgres",
        "portal: sqlite: /holder",
        "settle-engine",
    ] {
        let row = table.lines().find(|l| l.starts_with(figure)).unwrap_or_else(|| panic!("no {figure} row in {table}"));
        let value: f64 = row[figure.len()..].split_whitespace().find_map(|w| w.parse().ok()).unwrap_or_else(|| panic!("no figure in {row}"));
        assert!(value > 0.0, "{row}");
    }
    let written = std::fs::read_to_string(&out_file).unwrap();
    assert!(!written.contains("\nold\n") && written.contains("## Where the time goes\nkept"), "the generated part replaced, the rest kept: {written}");
    for machine in ["| cores |", "| memory |", "| PostgreSQL | PostgreSQL ", "| SQLite | SQLite "] {
        assert!(written.contains(machine), "{machine} in {written}");
    }
    assert!(written.contains("| settle: 2207, 8 cashiers |"), "{written}");
    let _ = std::fs::remove_dir_all(&dir);
}
