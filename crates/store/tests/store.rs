//! Store tests: every one runs on SQLite and on PostgreSQL.

#![allow(clippy::unwrap_used)] // tests state their expectations by unwrapping

use chrono::{DateTime, NaiveDate, Utc};
use yikatong_store::testing::TestDb;
use yikatong_store::{IdempotencyBegin, Institution, Organisation, Person, PersonChange, StoreError, TokenGrant, on_both_databases};

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

/// Unit U1 of Xicheng, a street office.
fn u1() -> Organisation {
    Organisation {
        code: "U1".into(),
        name: "示例单位".into(),
        region: "beijing".into(),
        created_at: at("2026-03-02T02:00:00Z"),
        kind: Some(yikatong_core::registry::OrganisationKind::StreetOffice),
        district: Some("110105".into()),
    }
}

async fn unit_u1(db: &TestDb) {
    db.store.insert_unit(&u1()).await.unwrap();
}

fn person(ssn: &str) -> Person {
    Person {
        key: String::new(),
        ssn: ssn.into(),
        name: "张三".into(),
        gender: yikatong_core::identity::Gender::Female,
        birth_date: NaiveDate::from_ymd_opt(1949, 12, 31).unwrap(),
        ethnicity: "01".into(),
        category: yikatong_core::registry::Category::InService,
        region: "beijing".into(),
        unit_code: Some("U1".into()),
        phone: Some("13800138000".into()),
        address: None,
        handbook_no: Some("110105123S".into()),
        flags: vec![],
        contribution_base_fen: Some(1_000_000),
        photo_digest: None,
        created_at: at("2026-03-02T02:00:00Z"),
        updated_at: at("2026-03-02T02:00:00Z"),
        version: 1,
    }
}

on_both_databases!(registry_round_trip, |db: TestDb| async move {
    let s = &db.store;
    let u = u1();
    s.insert_unit(&u).await.unwrap();
    assert_eq!(s.get_unit("U1").await.unwrap(), Some(u.clone()));
    assert!(matches!(s.insert_unit(&u).await, Err(StoreError::Duplicate(_))));
    assert_eq!(s.get_unit("nope").await.unwrap(), None);
    s.insert_outlet(&u).await.unwrap();
    assert_eq!(s.get_outlet("U1").await.unwrap().unwrap().name, "示例单位");
    let i = Institution { code: "H1".into(), name: "医院".into(), region: "beijing".into(), level: "3".into(), class: None, created_at: u.created_at };
    s.insert_institution(&i).await.unwrap();
    assert_eq!(s.get_institution("H1").await.unwrap(), Some(i));
});

on_both_databases!(persons_are_encrypted_and_found_by_hash, |db: TestDb| async move {
    unit_u1(&db).await;
    let s = &db.store;
    let p = person("11010519491231002X");
    s.insert_person(&p).await.unwrap();
    let stored = s.get_person("11010519491231002X").await.unwrap().unwrap();
    assert_eq!(stored.key, s.data_key().lookup_hash(&p.ssn), "the key is the hash of the number first registered");
    assert_eq!(stored, Person { key: stored.key.clone(), ..p.clone() });
    assert_eq!(s.find_person_by_handbook("110105123S").await.unwrap().unwrap().ssn, p.ssn);
    assert!(matches!(s.insert_person(&p).await, Err(StoreError::Duplicate(m)) if m.contains("110105********002X")));
    assert_eq!(s.count_persons().await.unwrap(), 1);
    // Nothing readable at rest: reopen the file/schema with another key and the rows
    // do not decrypt.
    let other = yikatong_store::DataKey::from_hex(&yikatong_store::DataKey::generate_hex()).unwrap();
    let reopened = yikatong_store::open(&db.url, other).await.unwrap();
    assert_eq!(reopened.get_person("11010519491231002X").await.unwrap(), None, "hash is keyed");
});

on_both_databases!(sqlite_file_holds_no_plain_ssn, |db: TestDb| async move {
    unit_u1(&db).await;
    if db.backend != yikatong_store::testing::Backend::Sqlite {
        // The PostgreSQL variant checks the same through SQL.
        db.store.insert_person(&person("11010519491231002X")).await.unwrap();
        let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
        let dump: String = sqlx::query_scalar("SELECT string_agg(p::text, ' ') FROM persons p").fetch_one(&pool).await.unwrap();
        assert!(!dump.contains("19491231002X") && !dump.contains("张三"), "{dump}");
        return;
    }
    db.store.insert_person(&person("11010519491231002X")).await.unwrap();
    drop(db.store.clone());
    let bytes = std::fs::read(&db.url).unwrap_or_default();
    let wal = std::fs::read(format!("{}-wal", db.url)).unwrap_or_default();
    for b in [bytes, wal] {
        let text = String::from_utf8_lossy(&b);
        assert!(!text.contains("11010519491231002X") && !text.contains("张三"));
    }
});

on_both_databases!(r_exch_1_a_corrected_number_keeps_the_key_and_one_number_names_one_person, |db: TestDb| async move {
    unit_u1(&db).await;
    let s = &db.store;
    let (a, b) = (person("11010519491231002X"), Person { handbook_no: None, ..person("11010219900307123X") });
    s.insert_person(&a).await.unwrap();
    s.insert_person(&b).await.unwrap();
    let key = s.get_person(&a.ssn).await.unwrap().unwrap().key;
    let corrected = "110105194912300032";
    let change = |p: &Person| PersonChange {
        ssn: p.ssn.clone(),
        changed_at: at("2026-04-01T02:00:00Z"),
        effective_on: NaiveDate::from_ymd_opt(2026, 4, 1).unwrap(),
        actor: "unit:U1".into(),
        fields: vec!["ssn".into()],
        before: serde_json::json!({"ssn": p.ssn}),
        after: serde_json::json!({"ssn": corrected}),
    };
    let stored_a = s.get_person(&a.ssn).await.unwrap().unwrap();
    s.change_person(1, &Person { ssn: corrected.into(), version: 2, ..stored_a.clone() }, &change(&a)).await.unwrap();
    let found = s.get_person(corrected).await.unwrap().unwrap();
    assert_eq!((found.key.as_str(), found.ssn.as_str()), (key.as_str(), corrected), "the key stays, the number is the new one");
    assert_eq!(s.get_person(&a.ssn).await.unwrap(), None, "the old number finds no one");
    assert_eq!(s.person_history(corrected).await.unwrap().len(), 1, "the history follows the person");
    // The database refuses a second person with the number, whatever the service checked.
    let stored_b = s.get_person(&b.ssn).await.unwrap().unwrap();
    let refused = s.change_person(1, &Person { ssn: corrected.into(), version: 2, ..stored_b }, &change(&b)).await;
    assert!(matches!(refused, Err(StoreError::Duplicate(_))), "{refused:?}");
});

on_both_databases!(r_info_1_changes_keep_dated_history, |db: TestDb| async move {
    unit_u1(&db).await;
    let s = &db.store;
    let before = person("11010519491231002X");
    s.insert_person(&before).await.unwrap();
    let mut after = before.clone();
    after.category = yikatong_core::registry::Category::Retired;
    after.version = 2;
    after.updated_at = at("2026-04-01T02:00:00Z");
    let change = PersonChange {
        ssn: before.ssn.clone(),
        changed_at: after.updated_at,
        effective_on: NaiveDate::from_ymd_opt(2026, 4, 1).unwrap(),
        actor: "unit:U1".into(),
        fields: vec!["category".into()],
        before: serde_json::json!({"category": "in_service"}),
        after: serde_json::json!({"category": "retired"}),
    };
    s.change_person(1, &after, &change).await.unwrap();
    assert_eq!(s.get_person(&before.ssn).await.unwrap().unwrap().category, yikatong_core::registry::Category::Retired);
    assert_eq!(s.person_history(&before.ssn).await.unwrap(), vec![change.clone()]);
    // A second change based on the stale version is refused and writes nothing.
    assert!(matches!(s.change_person(1, &after, &change).await, Err(StoreError::Conflict(_))));
    assert_eq!(s.person_history(&before.ssn).await.unwrap().len(), 1);
});

on_both_databases!(tokens_are_hashed_and_revocable, |db: TestDb| async move {
    let s = &db.store;
    let g = TokenGrant { role: yikatong_core::access::Role::Clerk, outlet: Some("O1".into()), unit: None, institution: None, person_hash: None, label: "t".into() };
    let id = s.insert_token("hash-a", &g, at("2026-03-02T02:00:00Z")).await.unwrap();
    let t = s.find_token("hash-a").await.unwrap().unwrap();
    assert_eq!((t.id, t.grant, t.revoked_at), (id, g, None));
    assert!(s.revoke_token(id, at("2026-03-03T02:00:00Z")).await.unwrap());
    assert!(!s.revoke_token(id, at("2026-03-03T02:00:00Z")).await.unwrap(), "already revoked");
    assert!(s.find_token("hash-a").await.unwrap().unwrap().revoked_at.is_some());
    assert_eq!(s.list_tokens().await.unwrap().len(), 1);
});

on_both_databases!(idempotency_keys_replay_and_refuse_mismatch, |db: TestDb| async move {
    let s = &db.store;
    let now = at("2026-03-02T02:00:00Z");
    // A claim rolled back with its transaction leaves nothing behind.
    let mut tx = s.begin_cards().await.unwrap();
    assert_eq!(tx.claim_request(1, "k", "f1", now, None).await.unwrap(), IdempotencyBegin::Fresh);
    drop(tx);
    assert_eq!(s.idempotency_peek(1, "k", "f1", None).await.unwrap(), None, "nothing is left by a rolled-back claim");
    // Claimed and answered in one transaction.
    let mut tx = s.begin_cards().await.unwrap();
    assert_eq!(tx.claim_request(1, "k", "f1", now, None).await.unwrap(), IdempotencyBegin::Fresh);
    tx.save_response(1, "k", 201, b"{\"ok\":1}").await.unwrap();
    tx.commit().await.unwrap();
    let replay = IdempotencyBegin::Replay { status: 201, body: b"{\"ok\":1}".to_vec() };
    assert_eq!(s.idempotency_peek(1, "k", "f1", None).await.unwrap(), Some(replay.clone()));
    let mut tx = s.begin_cards().await.unwrap();
    assert_eq!(tx.claim_request(1, "k", "f1", now, None).await.unwrap(), replay);
    assert_eq!(tx.claim_request(1, "k", "f2", now, None).await.unwrap(), IdempotencyBegin::Mismatch);
    assert_eq!(tx.claim_request(2, "k", "f2", now, None).await.unwrap(), IdempotencyBegin::Fresh, "keys are per token");
    tx.commit().await.unwrap();
    assert_eq!(s.release_unanswered_claims().await.unwrap(), 1, "a claim committed without its answer is released at start-up");
    // An answer older than the retention no longer counts: the key is free again.
    let later = at("2026-03-03T02:00:01Z");
    let expired = Some(at("2026-03-02T02:00:00.5Z"));
    assert_eq!(s.idempotency_peek(1, "k", "f2", expired).await.unwrap(), None);
    let mut tx = s.begin_cards().await.unwrap();
    assert_eq!(tx.claim_request(1, "k", "f2", later, expired).await.unwrap(), IdempotencyBegin::Fresh);
    tx.commit().await.unwrap();
});

// Two claims of one key at once: the second waits for the first transaction and then
// gets its answer, on both databases.
on_both_databases!(a_concurrent_claim_waits_for_the_first_and_gets_its_answer, |db: TestDb| async move {
    let s = db.store.clone();
    let now = at("2026-03-02T02:00:00Z");
    let mut first = s.begin_cards().await.unwrap();
    assert_eq!(first.claim_request(0, "his:H1:m1", "f", now, None).await.unwrap(), IdempotencyBegin::Fresh);
    let second = tokio::spawn({
        let s = s.clone();
        async move {
            let mut tx = s.begin_cards().await.unwrap();
            tx.claim_request(0, "his:H1:m1", "f", now, None).await.unwrap()
        }
    });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(!second.is_finished(), "the second claim waits for the first transaction");
    first.save_response(0, "his:H1:m1", 200, b"first").await.unwrap();
    first.commit().await.unwrap();
    assert_eq!(second.await.unwrap(), IdempotencyBegin::Replay { status: 200, body: b"first".to_vec() });
});

on_both_databases!(calendar_years_persist, |db: TestDb| async move {
    let s = &db.store;
    s.put_calendar_year(2027, "year = 2027", at("2026-12-01T00:00:00Z")).await.unwrap();
    s.put_calendar_year(2027, "year = 2027 # again", at("2026-12-02T00:00:00Z")).await.unwrap();
    assert_eq!(s.calendar_years().await.unwrap(), vec![(2027, "year = 2027 # again".to_string())]);
});

on_both_databases!(bulk_insert_skips_existing_and_migrations_are_idempotent, |db: TestDb| async move {
    unit_u1(&db).await;
    let s = &db.store;
    let a = person("11010519491231002X");
    let mut b = person("11010219900307123X");
    b.handbook_no = None;
    s.insert_person(&a).await.unwrap();
    assert_eq!(s.insert_persons(&[a.clone(), b.clone()]).await.unwrap(), 1);
    assert_eq!(s.count_persons().await.unwrap(), 2);
    let key = yikatong_store::DataKey::from_hex(&db.key_hex).unwrap();
    let again = yikatong_store::open(&db.url, key).await.unwrap();
    assert_eq!(again.count_persons().await.unwrap(), 2);
});

on_both_databases!(a_person_of_an_unregistered_unit_is_refused, |db: TestDb| async move {
    let p = person("11010519491231002X");
    assert!(matches!(db.store.insert_person(&p).await, Err(StoreError::UnknownUnit(u)) if u == "U1"));
    assert_eq!(db.store.count_persons().await.unwrap(), 0);
    unit_u1(&db).await;
    db.store.insert_person(&p).await.unwrap();
    let mut moved = p.clone();
    moved.unit_code = Some("U404".into());
    moved.version = 2;
    let change = PersonChange {
        ssn: p.ssn.clone(),
        changed_at: p.created_at,
        effective_on: p.birth_date,
        actor: "operator#1".into(),
        fields: vec!["unit_code".into()],
        before: serde_json::json!({}),
        after: serde_json::json!({}),
    };
    assert!(matches!(db.store.change_person(1, &moved, &change).await, Err(StoreError::UnknownUnit(u)) if u == "U404"));
    assert!(db.store.person_history(&p.ssn).await.unwrap().is_empty(), "nothing half-written");
});

#[tokio::test]
async fn a_database_that_does_not_connect_is_named() {
    let key = yikatong_store::DataKey::from_hex(&yikatong_store::DataKey::generate_hex()).unwrap();
    let err = yikatong_store::open("postgres://ykt:secret@127.0.0.1:1/none", key.clone()).await.err().unwrap();
    let msg = err.to_string();
    assert!(msg.starts_with("cannot open the database postgres://ykt:***@127.0.0.1:1/none"), "{msg}");
    let err = yikatong_store::open("/nonexistent-dir/x/y.db", key).await.err().unwrap();
    assert!(err.to_string().contains("/nonexistent-dir/x/y.db"), "{err}");
}

on_both_databases!(statistics_refresh_names_only_tables, |db: TestDb| async move {
    unit_u1(&db).await;
    let s = &db.store;
    s.insert_person(&person("11010519491231002X")).await.unwrap();
    s.refresh_statistics(&["persons", "cards"]).await.unwrap();
    assert!(s.refresh_statistics(&["persons; DROP TABLE persons"]).await.is_err());
});

// Every file in the backend's migration folder is applied on a fresh database: a file
// can no longer be added to the folder and forgotten in a hand-kept list.
on_both_databases!(every_migration_file_is_applied_on_a_fresh_database, |db: TestDb| async move {
    let folder = match db.backend {
        yikatong_store::testing::Backend::Sqlite => "sqlite",
        yikatong_store::testing::Backend::Postgres => "postgres",
    };
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations").join(folder);
    let mut in_folder: Vec<i64> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".sql"))
        .map(|n| n.split('_').next().unwrap().parse::<i64>().unwrap())
        .collect();
    in_folder.sort_unstable();
    assert!(in_folder.contains(&7), "0007_batch_paging.sql is in the folder");
    assert_eq!(db.store.applied_migrations().await.unwrap(), in_folder, "every file of {} is applied", dir.display());
});

// A database made while migrations were a hand-kept list (files 0001-0006 applied and
// recorded in `schema_migrations`, 0007 never applied) is adopted: nothing is applied
// twice, its data is kept, and 0007 and later are applied.
on_both_databases!(a_database_of_the_hand_kept_list_is_adopted, |db: TestDb| async move {
    let backend = db.backend;
    let (url, cleanup) = yikatong_store::testing::fresh_url(backend, &yikatong_store::testing::test_pg_url()).await;
    let folder = if backend == yikatong_store::testing::Backend::Sqlite { "sqlite" } else { "postgres" };
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations").join(folder);
    let mut legacy = String::new();
    for n in 1..=6 {
        let file = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).find(|p| p.file_name().unwrap().to_string_lossy().starts_with(&format!("{n:04}_"))).unwrap();
        legacy.push_str(&std::fs::read_to_string(file).unwrap());
        legacy.push('\n');
    }
    legacy.push_str("CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, applied_at TEXT NOT NULL); INSERT INTO schema_migrations VALUES (1, 'x'), (2, 'x'), (3, 'x'), (4, 'x'), (5, 'x'), (6, 'x'); INSERT INTO units (code, name, region, created_at) VALUES ('U1', 'u', 'beijing', '2026-03-02T02:00:00.000000Z');");
    yikatong_store::testing::run_raw_sql(&url, &legacy).await.unwrap();
    let key = yikatong_store::DataKey::from_hex(&db.key_hex).unwrap();
    let reopened = yikatong_store::open(&url, key).await.unwrap();
    assert!(reopened.get_unit("U1").await.unwrap().is_some(), "the data is kept");
    let applied = reopened.applied_migrations().await.unwrap();
    assert_eq!(applied, db.store.applied_migrations().await.unwrap(), "the adopted database has every migration a new one has");
    assert!(applied.contains(&7));
    drop(reopened);
    cleanup();
});

// R-ACT-2 held by the database: a second card that settles (state active) for one person
// cannot be written, whatever code tries; other states are free.
on_both_databases!(r_act_2_the_database_refuses_a_second_card_that_settles, |db: TestDb| async move {
    let insert = |state: &str| format!("INSERT INTO cards (person_hash, region, state, version, head_hash, data) VALUES ('p1', 'beijing', '{state}', 0, '', '{{}}')");
    let run = |sql: String| {
        let url = db.url.clone();
        async move { yikatong_store::testing::run_raw_sql(&url, &sql).await }
    };
    for state in ["active", "replaced", "issued"] {
        run(insert(state)).await.unwrap();
    }
    let second = run(insert("active")).await.unwrap_err();
    assert!(second.as_database_error().is_some_and(sqlx::error::DatabaseError::is_unique_violation), "a second active card for one person is refused by the database: {second}");
});

// A closed set's value is typed from the database up: a stored value outside its set
// (written behind the service's back) is reported as corrupt, naming the column and the
// value, and a value inside it reads back as its variant.
on_both_databases!(a_stored_value_outside_its_closed_set_is_reported_as_corrupt, |db: TestDb| async move {
    use yikatong_store::JobState;
    let s = &db.store;
    let id = s.create_job("monthly_credits", &serde_json::json!({}), 3, at("2026-12-02T01:00:00Z")).await.unwrap();
    assert_eq!(s.get_job(id).await.unwrap().unwrap().state, JobState::Running);
    s.update_job(id, JobState::Finished, 3, None, at("2026-12-02T01:05:00Z")).await.unwrap();
    let job = s.get_job(id).await.unwrap().unwrap();
    assert_eq!((job.state, job.finished_at.is_some()), (JobState::Finished, true));
    s.update_job(id, JobState::Running, 1, None, at("2026-12-02T01:06:00Z")).await.unwrap();
    assert_eq!(s.get_job(id).await.unwrap().unwrap().state, JobState::Finished, "a finished job never runs again");

    yikatong_store::testing::run_raw_sql(&db.url, &format!("UPDATE jobs SET state = 'paused' WHERE id = {id}")).await.unwrap();
    let err = s.get_job(id).await.unwrap_err();
    assert!(matches!(&err, StoreError::Corrupt(m) if m.contains("job state") && m.contains("paused")), "{err}");

    unit_u1(&db).await;
    yikatong_store::testing::run_raw_sql(&db.url, "UPDATE units SET kind = 'embassy' WHERE code = 'U1'").await.unwrap();
    let err = s.get_unit("U1").await.unwrap_err();
    assert!(matches!(&err, StoreError::Corrupt(m) if m.contains("organisation kind") && m.contains("embassy")), "{err}");
});

// R-SET-2: one deductible per year holds because the year totals a settlement used are
// written with it. What a settlement reads under its visit's lock (the visit's live
// settlements, its lines priced by the catalogue entry in force, the account with the
// family holder) and its booking — record, year totals, debits and lines, one statement
// on PostgreSQL — written together or not at all.
on_both_databases!(r_set_2_a_booking_writes_its_record_totals_debits_and_lines_together, |db: TestDb| async move {
    use yikatong_core::money::Fen;
    use yikatong_core::settlement::{CatalogEntry, CatalogItem, ItemClass, ItemKind, SettlementKind, SettlementState, YearTotals};
    use yikatong_store::{AccountDebit, Booking, FamilyMember, SettlementRecord, StoredFeeLine, VisitRecord};
    let s = &db.store;
    let now = at("2026-03-02T02:00:00Z");
    let day = |d: &str| d.parse::<NaiveDate>().unwrap();
    let item = |code: &str, ceiling: Option<i64>| CatalogItem { code: code.into(), name: code.into(), kind: ItemKind::Drug, class: ItemClass::A, price_ceiling_fen: ceiling };
    s.upsert_catalog_entries(
        &[
            CatalogEntry::everywhere(item("A1", None)),
            CatalogEntry { item: item("A1", Some(800)), region: Some("beijing".into()), valid_from: Some(day("2026-03-01")) },
            CatalogEntry::everywhere(item("B1", None)),
        ],
        now,
    )
    .await
    .unwrap();
    let line = |sn: &str, code: &str, fen: i64| StoredFeeLine {
        sn: sn.into(),
        chrg_bchno: "1".into(),
        code: code.into(),
        qty_e4: 10_000,
        price_e6: fen * 10_000,
        amount_fen: fen,
        setl_id: None,
    };
    let visit = VisitRecord {
        mdtrt_id: "V1".into(),
        institution: "H1".into(),
        person_hash: "P1".into(),
        card_id: None,
        ipt_otp_no: "O1".into(),
        state: yikatong_core::settlement::VisitState::Registered,
        data: serde_json::json!({}),
        created_at: now,
    };
    let mut tx = s.begin_cards().await.unwrap();
    tx.insert_visit(&visit).await.unwrap();
    tx.insert_fee_lines("V1", "1", &[line("1", "A1", 1000), line("2", "B1", 2000), line("3", "ZZ", 5)]).await.unwrap();
    tx.append_account_entry("P1", now, yikatong_core::account::EntryKind::Credit, 5000, None, "credit").await.unwrap();
    tx.bind_family_member(&FamilyMember { member_hash: "P1".into(), holder_hash: "HOLDER".into(), bound_at: now, bound_by: "holder".into() }).await.unwrap();
    tx.commit().await.unwrap();

    let mut tx = s.begin_cards().await.unwrap();
    tx.lock_visit("V1").await.unwrap().unwrap();
    assert_eq!(tx.live_settlements("V1").await.unwrap(), []);
    let (lines, items) = tx.priced_visit_lines("V1", "beijing", day("2026-03-02")).await.unwrap();
    assert_eq!(lines.iter().map(|l| l.sn.as_str()).collect::<Vec<_>>(), ["1", "2", "3"], "every line once, in sn order");
    assert_eq!(items, [item("A1", Some(800)), item("B1", None)], "the region's entry in force; a code outside the catalogue has none");
    let (_, before) = tx.priced_visit_lines("V1", "beijing", day("2026-02-28")).await.unwrap();
    assert_eq!(before[0], item("A1", None), "before the region's entry begins, the entry everywhere");
    assert_eq!(tx.account_and_holder("P1").await.unwrap(), (5000, Some("HOLDER".into())));
    assert_eq!(tx.account_and_holder("HOLDER").await.unwrap(), (0, None));
    tx.lock_year_totals("P1", 2026).await.unwrap();
    let totals = YearTotals { deductible_used: Fen(1800), fund_paid: Fen(700), insured_used: Fen(900), ..Default::default() };
    let record = SettlementRecord {
        setl_id: "S1".into(),
        mdtrt_id: "V1".into(),
        institution: "H1".into(),
        person_hash: "P1".into(),
        kind: SettlementKind::Realtime,
        state: SettlementState::Settled,
        visit_date: day("2026-03-02"),
        year: 2026,
        receipt: serde_json::json!({"total": "30.00"}),
        created_at: now,
        reversed_at: None,
        cross_region: None,
    };
    let debits = [
        AccountDebit { person_hash: "P1".into(), amount_fen: -1000, reason: "own".into() },
        AccountDebit { person_hash: "HOLDER".into(), amount_fen: -500, reason: "mutual aid".into() },
    ];
    let sns = ["1".to_string(), "2".to_string()];
    assert_eq!(tx.book_settlement(&Booking { record: &record, totals: &totals, debits: &debits, sns: &sns }).await.unwrap(), 2);
    tx.commit().await.unwrap();

    assert_eq!(s.get_settlement("S1").await.unwrap().unwrap(), record);
    assert_eq!(s.year_totals("P1", 2026).await.unwrap(), totals);
    let own = s.account_entries("P1").await.unwrap();
    assert_eq!((own.len(), own[1].amount_fen, own[1].kind, own[1].reference.as_deref()), (2, -1000, yikatong_core::account::EntryKind::Settlement, Some("S1")));
    assert_eq!(s.account_entries("HOLDER").await.unwrap().iter().map(|e| e.amount_fen).collect::<Vec<_>>(), [-500]);
    let settled: Vec<Option<String>> = s.fee_lines("V1").await.unwrap().into_iter().map(|l| l.setl_id).collect();
    assert_eq!(settled, [Some("S1".into()), Some("S1".into()), None]);

    // A second live settlement of the kind is refused by the database, and nothing of it
    // is written: not its totals, not its debit, not its line.
    let mut tx = s.begin_cards().await.unwrap();
    assert_eq!(tx.live_settlements("V1").await.unwrap(), [(SettlementKind::Realtime, "S1".to_string())]);
    let (_, items) = tx.priced_visit_lines("V1", "beijing", day("2026-03-02")).await.unwrap();
    assert_eq!(items, [], "a settled line is not priced again");
    let again = SettlementRecord { setl_id: "S2".into(), ..record.clone() };
    let other = YearTotals { deductible_used: Fen(9999), ..totals.clone() };
    let err = tx.book_settlement(&Booking { record: &again, totals: &other, debits: &debits[..1], sns: &["3".to_string()] }).await.unwrap_err();
    assert!(matches!(err, StoreError::Duplicate(_)), "{err}");
    drop(tx);
    assert_eq!(s.year_totals("P1", 2026).await.unwrap(), totals);
    assert_eq!(s.account_entries("P1").await.unwrap().len(), 2);
    assert_eq!(s.fee_lines("V1").await.unwrap()[2].setl_id, None);
});
