//! Batch files over HTTP (API.md "Files"), on both databases.

use serde_json::{Value, json};
use yikatong_store::on_both_databases;
use yikatong_store::testing::TestDb;

use super::cards::{OTHER, start};
use super::{SSN, TestApp, assert_problem};

impl TestApp {
    async fn upload_applications(&self, token: &str, unit: &str, bytes: Vec<u8>) -> (reqwest::StatusCode, Value) {
        let form = reqwest::multipart::Form::new().part("file", reqwest::multipart::Part::bytes(bytes).file_name("申领.csv"));
        let res = self.client.post(format!("{}/v1/units/{unit}/applications", self.base)).bearer_auth(token).multipart(form).send().await.unwrap();
        (res.status(), res.json().await.unwrap())
    }
}

on_both_databases!(r_app_3_unit_batch_file_in_gbk_with_row_errors_and_no_duplicates, |db: TestDb| async move {
    let (app, r) = start(db).await;
    let in_other_unit = yikatong_service::demo::make_ssn("110105", "1980-01-01".parse().unwrap(), 31);
    app.ok(
        "POST",
        "/v1/persons",
        &app.operator,
        Some(json!({"ssn": in_other_unit, "name": "赵六", "ethnicity": "01", "category": "in_service", "region": "beijing", "unit_code": "U2"})),
    )
    .await;
    app.ok("POST", "/v1/persons", &app.operator, Some(json!({"ssn": OTHER, "name": "王五", "ethnicity": "01", "category": "in_service", "region": "beijing", "unit_code": "U1"})))
        .await;
    let not_insured = yikatong_service::demo::make_ssn("110105", "1981-01-01".parse().unwrap(), 33);
    let csv = format!(
        "公民身份号码,姓名,联系电话,金融卡\n{SSN},张三,13800138000,否\n110105194912310021,李四,,否\n{in_other_unit},赵六,,否\n{not_insured},钱七,,否\n\n{OTHER},王五,,是\n{SSN},张三,,否\n{OTHER},王五,,maybe\n"
    );
    let (gbk, _, _) = encoding_rs::GBK.encode(&csv);
    let (s, v) = app.upload_applications(&r.unit, "U1", gbk.to_vec()).await;
    assert_eq!(s.as_u16(), 200, "{v}");
    assert_eq!((v["encoding"].as_str(), v["rows"].as_i64(), v["accepted"].as_i64()), (Some("GBK"), Some(7), Some(2)), "{v}");
    let refused: Vec<(i64, String)> = v["refused"].as_array().unwrap().iter().map(|x| (x["line"].as_i64().unwrap(), x["code"].as_str().unwrap().to_string())).collect();
    assert_eq!(refused, [(3, "invalid_ssn".to_string()), (4, "not_in_unit".into()), (5, "not_insured".into()), (8, "duplicate".into()), (9, "duplicate".into())], "{v}");
    assert!(v["refused"][0]["reason"].as_str().unwrap().contains("should be 'X'"));
    assert_eq!(v["refused"][2]["ssn"].as_str().unwrap().len(), in_other_unit.len(), "masked, same length");
    assert!(!v.to_string().contains(&in_other_unit), "ID numbers are masked in the report");
    // The same file again creates nothing twice.
    let (_, again) = app.upload_applications(&r.unit, "U1", gbk.to_vec()).await;
    assert_eq!((again["accepted"].as_i64(), again["already_applied"].as_i64()), (Some(0), Some(2)), "{again}");
    let person = app.ok("GET", &format!("/v1/persons/{OTHER}"), &app.operator, None).await;
    assert_eq!(person["cards"].as_array().unwrap().len(), 1);
    assert_eq!(person["cards"][0]["financial"], true);
    // A unit files only for itself; a file without the ID column is refused whole.
    let (s, v) = app.upload_applications(&r.unit, "U2", b"ssn,name\n".to_vec()).await;
    assert_problem(s, &v, 403, "not_your_unit");
    let (s, v) = app.upload_applications(&r.unit, "U1", "姓名\n张三\n".as_bytes().to_vec()).await;
    assert_problem(s, &v, 422, "missing_column");
    let (s, v) = app.upload_applications(&r.unit, "U1", Vec::new()).await;
    assert_problem(s, &v, 422, "empty_file");
});

on_both_databases!(r_dist_1_a_units_file_says_how_each_card_reaches_its_holder, |db: TestDb| async move {
    let (app, r) = start(db).await;
    app.ok("POST", "/v1/persons", &app.operator, Some(json!({"ssn": OTHER, "name": "王五", "ethnicity": "01", "category": "in_service", "region": "beijing", "unit_code": "U1"})))
        .await;
    let third = yikatong_service::demo::make_ssn("110105", "1982-02-02".parse().unwrap(), 35);
    app.ok("POST", "/v1/persons", &app.operator, Some(json!({"ssn": third, "name": "孙八", "ethnicity": "01", "category": "in_service", "region": "beijing", "unit_code": "U1"})))
        .await;
    let fourth = yikatong_service::demo::make_ssn("110105", "1983-03-03".parse().unwrap(), 37);
    app.ok("POST", "/v1/persons", &app.operator, Some(json!({"ssn": fourth, "name": "周九", "ethnicity": "01", "category": "in_service", "region": "beijing", "unit_code": "U1"})))
        .await;
    let csv = format!("公民身份号码,姓名,领取方式,邮寄地址\n{SSN},张三,邮寄,北京市西城区金融大街7号\n{OTHER},王五,银行,\n{third},孙八,,\n{fourth},周九,信鸽,\n");
    let (s, v) = app.upload_applications(&r.unit, "U1", csv.into_bytes()).await;
    assert_eq!(s.as_u16(), 200, "{v}");
    assert_eq!(v["accepted"], 3, "{v}");
    assert_eq!((v["refused"][0]["line"].as_i64(), v["refused"][0]["code"].as_str()), (Some(5), Some("invalid_delivery")), "{v}");
    let way = |ssn: String| {
        let app = &app;
        async move { app.ok("GET", &format!("/v1/persons/{ssn}"), &app.operator, None).await["cards"][0]["delivery"].as_str().unwrap().to_string() }
    };
    assert_eq!((way(SSN.into()).await, way(OTHER.into()).await, way(third.clone()).await), ("mail".into(), "bank".into(), "unit".into()), "an empty cell: the unit hands it out");
});

on_both_databases!(r_acc_1_monthly_credits_once_per_person_and_month_even_after_a_stop, |db: TestDb| async move {
    let (app, _r) = start(db).await;
    // The seeded person has no contribution base; add employees with one, a retiree and a resident.
    let mut employees = Vec::new();
    for i in 0..5u32 {
        let ssn = yikatong_service::demo::make_ssn("110105", "1980-01-01".parse().unwrap(), 41 + 2 * i);
        app.ok("POST", "/v1/persons", &app.operator, Some(json!({"ssn": ssn, "name": "职工", "ethnicity": "01", "category": "in_service", "region": "beijing", "unit_code": "U1", "contribution_base_fen": 1_000_000 + i64::from(i)}))).await;
        employees.push(ssn);
    }
    let retiree = yikatong_service::demo::make_ssn("110105", "1950-01-01".parse().unwrap(), 61);
    app.ok("POST", "/v1/persons", &app.operator, Some(json!({"ssn": retiree, "name": "退休", "ethnicity": "01", "category": "retired", "region": "beijing"}))).await;
    let resident = yikatong_service::demo::make_ssn("110105", "2000-01-01".parse().unwrap(), 63);
    app.ok("POST", "/v1/persons", &app.operator, Some(json!({"ssn": resident, "name": "居民", "ethnicity": "01", "category": "resident", "region": "beijing"}))).await;
    // A run stopped after its first page of two persons, as a crash would stop it.
    let partial = app.service.credit_accounts("2026-11", 2, Some(1), &|_, _| {}).await.unwrap();
    assert!(!partial.complete);
    assert_eq!(partial.persons, 2);
    // Started again as a job over HTTP: the rest is written, nothing twice.
    let (s, v) = app.op("POST", "/v1/jobs/credit-accounts", Some(json!({"month": "2026-11"}))).await;
    assert_eq!(s.as_u16(), 202, "{v}");
    let id = v["job_id"].as_i64().unwrap();
    let mut job = Value::Null;
    for _ in 0..200 {
        job = app.ok("GET", &format!("/v1/jobs/{id}"), &app.operator, None).await;
        if job["state"] != "running" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(job["state"], "finished", "{job}");
    let report = &job["report"];
    assert_eq!((report["persons"].as_i64(), report["not_eligible"].as_i64(), report["failed"].as_i64()), (Some(8), Some(1), Some(1)), "{report}");
    assert_eq!(report["credited"].as_i64().unwrap() + report["already_credited"].as_i64().unwrap(), 6, "{report}");
    assert_eq!(report["credited"].as_i64().unwrap() + partial.credited as i64, 6, "{report}");
    let codes: Vec<&str> = report["failures"].as_array().unwrap().iter().map(|f| f["code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["no_contribution_base"], "{report}");
    let retired = app.ok("GET", &format!("/v1/persons/{retiree}/account"), &app.operator, None).await;
    assert_eq!(retired["balance_fen"], 11_000, "a retiree of 76 gets Beijing's 110 yuan (70岁以上): {retired}");
    for (i, ssn) in employees.iter().enumerate() {
        let account = app.ok("GET", &format!("/v1/persons/{ssn}/account"), &app.operator, None).await;
        assert_eq!(account["entries"].as_array().unwrap().len(), 1, "{account}");
        assert_eq!(account["balance_fen"], (1_000_000 + i as i64) * 2 / 100 + i64::from((1_000_000 + i as i64) * 2 % 100 >= 50), "2 % of the base");
    }
    // The same month again credits nothing; the next month credits again.
    let again = app.service.credit_accounts("2026-11", 1000, None, &|_, _| {}).await.unwrap();
    assert_eq!((again.credited, again.already_credited, again.complete), (0, 6, true));
    let december = app.service.credit_accounts("2026-12", 1000, None, &|_, _| {}).await.unwrap();
    assert_eq!(december.credited, 6);
    let (s, v) = app.op("POST", "/v1/jobs/credit-accounts", Some(json!({"month": "November"}))).await;
    assert_problem(s, &v, 422, "invalid_month");
});

on_both_databases!(r_app_4_production_files_and_the_units_list_of_who_has_a_card, |db: TestDb| async move {
    let (app, r) = start(db).await;
    app.ok(
        "POST",
        "/v1/persons",
        &app.operator,
        Some(json!({"ssn": OTHER, "name": "王五, 小", "ethnicity": "01", "category": "in_service", "region": "beijing", "unit_code": "U1"})),
    )
    .await;
    let plain = app.ok("POST", &format!("/v1/persons/{SSN}/cards"), &r.unit, Some(json!({}))).await["id"].as_i64().unwrap();
    let fin = app.ok("POST", &format!("/v1/persons/{OTHER}/cards"), &r.unit, Some(json!({"financial": true}))).await["id"].as_i64().unwrap();
    // The bank's file: the financial card's account fails, with a reason; a bad line is reported.
    let bank = app.service.authenticate(&r.bank).await.unwrap();
    let report = app.service.import_bank_results(&bank, format!("card_id,opened,reason\n{fin},否,身份核验失败\nx,是,\n").as_bytes()).await.unwrap();
    assert_eq!((report.rows, report.accepted, report.refused.len()), (2, 1, 1));
    assert_eq!((report.refused[0].line, report.refused[0].code.as_str()), (3, "invalid_card_id"));
    let batch = app.ok("POST", "/v1/production-batches", &app.operator, Some(json!({"region": "beijing"}))).await;
    let batch_id = batch["id"].as_i64().unwrap();
    assert_eq!(batch["card_ids"], json!([plain]));
    // The factory's personalisation file: one line per card, the full ID for printing.
    let res = app.client.get(format!("{}/v1/production-batches/{batch_id}/personalisation", app.base)).bearer_auth(&r.vendor).send().await.unwrap();
    assert_eq!(res.headers()["content-type"], "text/csv; charset=utf-8");
    let file = res.text().await.unwrap();
    let lines: Vec<&str> = file.lines().collect();
    assert_eq!(lines[0], "card_id,generation,financial,admdvs,ssn,name,gender,ethnicity,birth_date,photo_ref");
    assert_eq!(lines[1], format!("{plain},3,0,110000,{SSN},张三,2,01,19491231,"));
    assert_eq!(lines.len(), 2);
    let (s, v) = app.call("GET", &format!("/v1/production-batches/{batch_id}/personalisation"), Some(&r.unit), None).await;
    assert_problem(s, &v, 403, "not_allowed_on_channel");
    // The factory's result file, with a bad line.
    let vendor = app.service.authenticate(&r.vendor).await.unwrap();
    let results =
        format!("card_id,card_number,card_identification_code,failed\n{plain},F00000077,110000D15600000500000000000000AB,\n{fin},F00000078,110000D15600000500000000000000AC,\n");
    let report = app.service.import_production_results(&vendor, batch_id, results.as_bytes()).await.unwrap();
    assert_eq!((report.accepted, report.refused.len()), (1, 1));
    assert_eq!(report.refused[0].code, "not_in_batch");
    // The unit sees who has a card, who does not, and why.
    let page = app.ok("GET", "/v1/units/U1/persons?limit=10", &r.unit, None).await;
    let people = page["persons"].as_array().unwrap();
    let of = |masked: &str| people.iter().find(|p| p["ssn_masked"] == masked).unwrap().clone();
    let zhang = of("110105********002X");
    assert_eq!((zhang["status"].as_str(), zhang["card_state"].as_str()), (Some("in_progress"), Some("produced")));
    let wang = of("110102********123X");
    assert_eq!((wang["status"].as_str(), wang["reason"].as_str()), (Some("no_card"), Some("bank: 身份核验失败")));
    let (s, v) = app.call("GET", "/v1/units/U2/persons", Some(&r.unit), None).await;
    assert_problem(s, &v, 404, "unit_not_found");
    let first = app.ok("GET", "/v1/units/U1/persons?limit=1", &app.operator, None).await;
    let next = first["next"].as_str().unwrap();
    let second = app.ok("GET", &format!("/v1/units/U1/persons?limit=1&after={next}"), &app.operator, None).await;
    assert_ne!(first["persons"][0]["ssn_masked"], second["persons"][0]["ssn_masked"]);
});

on_both_databases!(r_cmp_1_r_cmp_3_r_cmp_4_comparison_in_scope_holds_out_and_second_collection_releases, |db: TestDb| async move {
    let (app, r) = start(db).await;
    app.ok("POST", &format!("/v1/persons/{SSN}/changes"), &app.operator, Some(json!({"photo_digest": "p-zhang"}))).await;
    app.ok("POST", "/v1/persons", &app.operator, Some(json!({"ssn": OTHER, "name": "王伍", "ethnicity": "01", "category": "in_service", "region": "beijing", "unit_code": "U1"})))
        .await;
    // The registry: 张三 matches; 王五's name is written differently and his photo is missing.
    let extract = format!("公民身份号码,姓名,性别,民族,出生日期,照片摘要\n{SSN},张三,女,01,19491231,p-zhang\n{OTHER},王五,男,01,19900307,\n1101051949,坏行,女,01,19491231,\n");
    let report = app.service.import_registry(extract.as_bytes()).await.unwrap();
    assert_eq!((report.accepted, report.refused.len(), report.refused[0].line), (2, 1, 4));
    let flexible = yikatong_service::demo::make_ssn("110105", "1970-01-01".parse().unwrap(), 81);
    app.ok("POST", "/v1/persons", &app.operator, Some(json!({"ssn": flexible, "name": "灵活", "ethnicity": "01", "category": "flexible", "region": "beijing"}))).await;
    let cmp = app.service.compare_all(&|_, _| {}).await.unwrap();
    assert_eq!((cmp.persons, cmp.matched, cmp.held, cmp.out_of_scope), (3, 1, 1, 1), "R-CMP-4: flexible employment is not compared");
    let wang = app.ok("GET", &format!("/v1/persons/{OTHER}/comparison"), &r.unit, None).await;
    assert_eq!(
        (wang["marks"]["name"].as_str(), wang["marks"]["photo"].as_str(), wang["marks"]["gender"].as_str(), wang["held"].as_bool()),
        (Some("×"), Some("无"), Some("√"), Some(true))
    );
    // Held out of production with the reason.
    let a = app.ok("POST", &format!("/v1/persons/{SSN}/cards"), &r.unit, Some(json!({}))).await["id"].as_i64().unwrap();
    let b = app.ok("POST", &format!("/v1/persons/{OTHER}/cards"), &r.unit, Some(json!({}))).await["id"].as_i64().unwrap();
    let batch = app.ok("POST", "/v1/production-batches", &app.operator, Some(json!({"region": "beijing"}))).await;
    assert_eq!(batch["card_ids"], json!([a]));
    assert!(batch["excluded"][0]["reason"].as_str().unwrap().contains("second collection"), "{batch}");
    // The printable form: marks, and --- where nothing is to be filled.
    let res = app.client.get(format!("{}/v1/persons/{OTHER}/second-collection-form", app.base)).bearer_auth(&r.unit).send().await.unwrap();
    assert_eq!(res.headers()["content-type"], "text/html; charset=utf-8");
    let page = res.text().await.unwrap();
    assert!(page.contains("社会保障卡信息二次采集表") && page.contains("<td class=\"mark\">×</td>") && page.contains("---"), "{page}");
    assert!(!page.contains(OTHER), "the ID number is masked on the form");
    let res = app.client.get(format!("{}/v1/persons/{OTHER}/second-collection-form?format=pdf", app.base)).bearer_auth(&r.unit).send().await.unwrap();
    assert_eq!(res.headers()["content-type"], "application/pdf");
    let pdf = res.bytes().await.unwrap();
    let text = String::from_utf8_lossy(&pdf);
    assert!(text.starts_with("%PDF-1.4") && text.contains("/STSong-Light"), "a PDF in the standard Chinese font");
    assert!(text.contains("<00D7> Tj"), "the × mark is on the PDF form");
    // The unit submits the corrected items: compared again and released.
    let after = app.ok("POST", &format!("/v1/persons/{OTHER}/second-collection"), &r.unit, Some(json!({"name": "王五", "photo_digest": "p-wang"}))).await;
    assert_eq!(after["held"], false, "{after}");
    let next = app.ok("POST", "/v1/production-batches", &app.operator, Some(json!({"region": "beijing"}))).await;
    assert_eq!(next["card_ids"], json!([b]));
    let history = app.ok("GET", &format!("/v1/persons/{OTHER}/changes"), &app.operator, None).await;
    assert!(history.as_array().unwrap().iter().any(|c| c["after"]["flags"] == json!(["second_collection_pending"])), "{history}");
});

on_both_databases!(r_pay_1_and_r_pay_2_premiums_from_every_channel_and_arrears_in_their_window, |db: TestDb| async move {
    let (app, r) = start(db).await;
    let child = yikatong_service::demo::make_ssn("110105", "2015-06-01".parse().unwrap(), 71);
    app.ok("POST", "/v1/persons", &app.operator, Some(json!({"ssn": child, "name": "小明", "ethnicity": "01", "category": "resident", "region": "beijing"}))).await;
    let grandma = yikatong_service::demo::make_ssn("110105", "1950-06-01".parse().unwrap(), 72);
    app.ok("POST", "/v1/persons", &app.operator, Some(json!({"ssn": grandma, "name": "李奶奶", "ethnicity": "01", "category": "resident", "region": "beijing"}))).await;
    let parent = r.holder.clone(); // 张三 pays for the others
    // Paying for someone else: only through the mini-program, with that person's name
    // and ID number.
    let body = |channel: &str, name: &str, reference: &str| json!({"period": "2026-03", "amount_fen": 38000, "reference": reference, "channel": channel, "name": name, "id_number": child});
    let (s, v) = app.call("POST", &format!("/v1/persons/{child}/premiums"), Some(&parent), Some(body("online", "小明", "R1"))).await;
    assert_problem(s, &v, 403, "not_allowed_on_channel");
    let (s, v) = app.call("POST", &format!("/v1/persons/{child}/premiums"), Some(&parent), Some(body("mini_program", "小红", "R1"))).await;
    assert_problem(s, &v, 422, "identity_not_confirmed");
    let mut without_number = body("mini_program", "小明", "R1");
    without_number["id_number"] = json!(grandma);
    let (s, v) = app.call("POST", &format!("/v1/persons/{child}/premiums"), Some(&parent), Some(without_number)).await;
    assert_problem(s, &v, 422, "identity_not_confirmed");
    assert!(v["detail"].as_str().unwrap().contains("id_number"), "{v}");
    let paid = app.ok("POST", &format!("/v1/persons/{child}/premiums"), &parent, Some(body("mini_program", "小明", "R1"))).await;
    assert_eq!((paid["channel"].as_str(), paid["paid_by_someone_else"].as_bool()), (Some("mini_program"), Some(true)));
    // The same payment reported twice is one payment; a street office records one too.
    app.ok("POST", &format!("/v1/persons/{child}/premiums"), &parent, Some(body("mini_program", "小明", "R1"))).await;
    app.ok("POST", &format!("/v1/persons/{child}/premiums"), &r.clerk, Some(json!({"period": "2026-04", "amount_fen": 38000, "reference": "S9"}))).await;
    let (s, v) = app.call("POST", &format!("/v1/persons/{SSN}/premiums"), Some(&r.clerk), Some(json!({"period": "2026-04", "amount_fen": 38000, "reference": "S10"}))).await;
    assert_problem(s, &v, 409, "not_a_resident");
    // The bank's withholding file: grandma's March deduction failed.
    let file = format!("ssn,period,amount_fen,result,reason\n{grandma},2026-03,38000,失败,余额不足\n{child},2026-03,38000,成功,\nbad,2026-03,1,成功,\n");
    let report = app.service.import_withholding(file.as_bytes()).await.unwrap();
    assert_eq!((report.accepted, report.refused.len()), (2, 1));
    let arrears = app.ok("GET", "/v1/premiums/arrears?period=2026-03", &app.operator, None).await;
    assert_eq!(arrears.as_array().unwrap().len(), 1, "{arrears}");
    assert_eq!(arrears[0]["reason"], "余额不足");
    // The holder sees arrears only from the 5th to the 20th of the next month, records from the 5th.
    let gm = app.token(json!({"role": "holder", "person": grandma})).await;
    let view = |token: String, who: String| {
        let app = &app;
        async move { app.ok("GET", &format!("/v1/persons/{who}/premiums"), &token, None).await }
    };
    assert_eq!(view(gm.clone(), grandma.clone()).await["arrears"], json!([]), "2026-03-02: not yet");
    app.set_now("2026-04-05T09:00:00+08:00").await;
    assert_eq!(view(gm.clone(), grandma.clone()).await["arrears"][0]["period"], "2026-03");
    app.set_now("2026-04-21T09:00:00+08:00").await;
    assert_eq!(view(gm.clone(), grandma.clone()).await["arrears"], json!([]), "after the 20th");
    let ops = app.ok("GET", &format!("/v1/persons/{grandma}/premiums"), &app.operator, None).await;
    assert_eq!(ops["arrears"].as_array().unwrap().len(), 1, "the bureau always sees them");
    // The child's own records: the online payment shows from the 5th of the next month.
    let kid = app.token(json!({"role": "holder", "person": child})).await;
    app.set_now("2026-03-04T09:00:00+08:00").await;
    assert_eq!(view(kid.clone(), child.clone()).await["payments"].as_array().unwrap().len(), 0);
    app.set_now("2026-04-05T09:00:00+08:00").await;
    assert_eq!(view(kid.clone(), child.clone()).await["payments"].as_array().unwrap().len(), 3, "mini-program, street office, withholding");
});

/// A test photo: a light background with a dark figure in the middle.
fn photo(width: u32, height: u32, background: u8, jpeg: bool) -> Vec<u8> {
    let mut rgb = Vec::with_capacity((width * height * 3) as usize);
    for y in 0..height {
        for x in 0..width {
            let figure = x > width / 4 && x < 3 * width / 4 && y > height / 4;
            let v = if figure { 40 } else { background };
            rgb.extend([v, v, v]);
        }
    }
    let mut out = Vec::new();
    if jpeg {
        jpeg_encoder::Encoder::new(&mut out, 90).encode(&rgb, width as u16, height as u16, jpeg_encoder::ColorType::Rgb).unwrap();
    } else {
        let mut enc = png::Encoder::new(&mut out, width, height);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        enc.write_header().unwrap().write_image_data(&rgb).unwrap();
    }
    out
}

on_both_databases!(r_cmp_5_photo_machine_checks_by_region_rules, |db: TestDb| async move {
    let (app, r) = start(db).await;
    let put = |token: String, bytes: Vec<u8>| {
        let req = app.client.put(format!("{}/v1/persons/{SSN}/photo", app.base)).bearer_auth(token).body(bytes);
        async move {
            let res = req.send().await.unwrap();
            (res.status().as_u16(), res.json::<Value>().await.unwrap())
        }
    };
    let (s, v) = put(r.unit.clone(), photo(300, 420, 250, true)).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!((v["format"].as_str(), v["passed"].as_bool()), (Some("jpeg"), Some(true)), "{v}");
    assert!(v["clerk_confirms"].as_str().unwrap().contains("bare-headed"));
    let (_, v) = put(r.holder.clone(), photo(200, 280, 250, false)).await;
    assert_eq!((v["format"].as_str(), v["passed"].as_bool()), (Some("png"), Some(false)));
    assert!(v["reasons"][0].as_str().unwrap().contains("smaller than 295 × 413"), "{v}");
    let (_, v) = put(r.clerk.clone(), photo(413, 413, 250, false)).await;
    assert!(v["reasons"][0].as_str().unwrap().contains("width / height is 1.0000"), "{v}");
    let (_, v) = put(r.unit.clone(), photo(300, 420, 120, false)).await;
    assert!(v["reasons"][0].as_str().unwrap().contains("too dark"), "{v}");
    let (s, v) = put(r.unit.clone(), b"GIF89a....".to_vec()).await;
    assert_problem(reqwest::StatusCode::from_u16(s).unwrap(), &v, 422, "unsupported_photo_format");
    // Only the passing photo became the person's: one change in the history.
    let history = app.ok("GET", &format!("/v1/persons/{SSN}/changes"), &app.operator, None).await;
    let photo_changes: Vec<_> = history.as_array().unwrap().iter().filter(|c| c["fields"] == json!(["photo_digest"])).collect();
    assert_eq!(photo_changes.len(), 1, "{history}");
    let (s, v) = put(r.kiosk.clone(), photo(300, 420, 250, true)).await;
    assert_problem(reqwest::StatusCode::from_u16(s).unwrap(), &v, 403, "not_allowed_on_channel");
});

on_both_databases!(r_app_3_unit_batch_file_as_an_xlsx_workbook, |db: TestDb| async move {
    let (app, r) = start(db).await;
    app.ok("POST", "/v1/persons", &app.operator, Some(json!({"ssn": OTHER, "name": "王五", "ethnicity": "01", "category": "in_service", "region": "beijing", "unit_code": "U1"})))
        .await;
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (row, cells) in
        [["公民身份号码", "姓名", "联系电话", "金融卡"], [SSN, "张三", "13800138000", "否"], ["", "", "", ""], [OTHER, "王五", "", "是"], ["110105194912310021", "李四", "", "否"]]
            .iter()
            .enumerate()
    {
        for (col, text) in cells.iter().enumerate() {
            if !text.is_empty() {
                sheet.write_string(row as u32, col as u16, *text).unwrap();
            }
        }
    }
    sheet.write_number(5, 0, 12345.0).unwrap();
    sheet.write_string(5, 1, "数字").unwrap();
    let bytes = book.save_to_buffer().unwrap();
    let (s, v) = app.upload_applications(&r.unit, "U1", bytes).await;
    assert_eq!(s.as_u16(), 200, "{v}");
    assert_eq!((v["rows"].as_i64(), v["accepted"].as_i64()), (Some(4), Some(2)), "{v}");
    let refused: Vec<(i64, &str, &str)> =
        v["refused"].as_array().unwrap().iter().map(|x| (x["line"].as_i64().unwrap(), x["code"].as_str().unwrap(), x["ssn"].as_str().unwrap())).collect();
    assert_eq!(refused, [(5, "invalid_ssn", "110105********0021"), (6, "invalid_ssn", "12345")], "row numbers as the sheet shows them: {v}");
    let person = app.ok("GET", &format!("/v1/persons/{OTHER}"), &app.operator, None).await;
    assert_eq!(person["cards"][0]["financial"], true);
});

on_both_databases!(city_scale_paths_write_in_bulk_with_chained_events_fresh_ids_and_holds, |db: TestDb| async move {
    let (app, r) = start(db).await;
    let clock = app.service.clock();
    let insured = clock.now() - chrono::Duration::days(1);
    let mut rng = yikatong_service::demo::DemoRng::new(5);
    let people: Vec<yikatong_store::Person> = (0..2500)
        .map(|n| yikatong_service::demo::city_person(n, &["U1".to_string()], clock.today(), &mut rng))
        .map(|p| yikatong_store::Person { created_at: insured, updated_at: insured, ..p })
        .collect();
    assert_eq!(app.db.store.insert_persons(&people).await.unwrap(), 2500);
    let op = app.service.authenticate(&app.operator).await.unwrap();
    let held = &people[5];
    let hold = yikatong_service::PersonChangeRequest { flags: Some(vec!["second_collection_pending".into()]), ..Default::default() };
    app.service.change_person(&op, &held.ssn, &hold).await.unwrap();
    // More rows than one chunk of the import, all accepted, each once.
    let mut csv = String::from("公民身份号码,姓名,联系电话,金融卡\n");
    for p in &people {
        csv.push_str(&format!("{},{},,否\n", p.ssn, p.name));
    }
    let (s, v) = app.upload_applications(&r.unit, "U1", csv.clone().into_bytes()).await;
    assert_eq!((s.as_u16(), v["accepted"].as_i64(), v["refused"].as_array().map(Vec::len)), (200, Some(2500), Some(0)), "{}", &v.to_string()[..300]);
    let ids: std::collections::BTreeSet<i64> = v["card_ids"].as_array().unwrap().iter().map(|x| x.as_i64().unwrap()).collect();
    assert_eq!(ids.len(), 2500);
    let (_, again) = app.upload_applications(&r.unit, "U1", csv.into_bytes()).await;
    assert_eq!((again["accepted"].as_i64(), again["already_applied"].as_i64()), (Some(0), Some(2500)));
    // A card applied for one by one afterwards takes a fresh id.
    let single = app.ok("POST", &format!("/v1/persons/{SSN}/cards"), &r.clerk, Some(json!({}))).await["id"].as_i64().unwrap();
    assert!(single > *ids.last().unwrap());
    // A batch of at most 1,200 cards, over several pages; the held person stays out.
    let batch = app.ok("POST", "/v1/production-batches", &app.operator, Some(json!({"region": "beijing", "max_cards": 1200}))).await;
    assert_eq!(batch["card_ids"].as_array().unwrap().len(), 1200);
    let excluded = batch["excluded"].as_array().unwrap();
    assert_eq!(excluded.len(), 1, "{excluded:?}");
    assert_eq!(excluded[0]["ssn"], yikatong_core::identity::mask_ssn(&held.ssn));
    let first = batch["card_ids"][0].as_i64().unwrap();
    let events = app.ok("GET", &format!("/v1/cards/{first}/events"), &app.operator, None).await;
    let kinds: Vec<&str> = events.as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["applied", "assigned_to_batch"]);
    assert_eq!(app.card(first).await["state"], "in_production");
    // The next batch takes the rest, the single application included.
    let rest = app.ok("POST", "/v1/production-batches", &app.operator, Some(json!({"region": "beijing"}))).await;
    assert_eq!(rest["card_ids"].as_array().unwrap().len(), 2500 - 1200 - 1 + 1);
    assert!(rest["card_ids"].as_array().unwrap().contains(&json!(single)));
    let verify = app.ok("GET", "/v1/audit/verify", &app.operator, None).await;
    assert_eq!(verify["ok"], true, "{verify}");
    // The comparison's holds are written a page at a time and kept in the history.
    let registry: String = people
        .iter()
        .take(3)
        .map(|p| format!("{},{},{},{},{},{}\n", p.ssn, p.name, p.gender.name_zh(), p.ethnicity, p.birth_date.format("%Y%m%d"), p.photo_digest.as_deref().unwrap_or("")))
        .collect();
    app.service.import_registry(format!("ssn,name,gender,ethnicity,birth_date,photo_digest\n{registry}").as_bytes()).await.unwrap();
    let report = app.service.compare_all(&|_, _| {}).await.unwrap();
    let in_scope = |p: &yikatong_store::Person| p.category != yikatong_core::registry::Category::Flexible;
    assert_eq!(report.matched as usize, people.iter().take(3).filter(|p| in_scope(p)).count(), "{report:?}");
    let app = &app;
    let history = |ssn: String| async move { app.ok("GET", &format!("/v1/persons/{ssn}/changes"), &app.operator, None).await.as_array().unwrap().clone() };
    let missing = people.iter().skip(10).find(|p| in_scope(p)).unwrap();
    let changes = history(missing.ssn.clone()).await;
    assert_eq!(changes.len(), 1, "held: {changes:?}");
    assert_eq!(changes[0]["fields"], json!(["flags"]));
    assert!(history(people[0].ssn.clone()).await.is_empty(), "a clean comparison changes nothing");
});

impl TestApp {
    /// `n` synthetic persons insured through unit U1 since yesterday, stored at once.
    async fn insured_in_u1(&self, n: u64, seed: u64) -> Vec<yikatong_store::Person> {
        let clock = self.service.clock();
        let mut rng = yikatong_service::demo::DemoRng::new(seed);
        let people: Vec<yikatong_store::Person> = (0..n)
            .map(|i| yikatong_service::demo::city_person(i, &["U1".to_string()], clock.today(), &mut rng))
            .map(|p| yikatong_store::Person { created_at: clock.now() - chrono::Duration::days(1), ..p })
            .collect();
        self.db.store.insert_persons(&people).await.unwrap();
        people
    }
}

// A unit's file larger than a JSON body may be (here about 3 MB: two thousand people of
// the unit and sixty thousand rows of people it does not insure) goes through the API,
// as the body itself and as a multipart upload, streamed to disk and read line by line:
// each row is accepted or refused with its line. A body over the upload limit is refused
// with 413 naming the limit before it is read.
on_both_databases!(a_unit_file_of_megabytes_goes_through_the_api_and_a_larger_one_gets_413, |db: TestDb| async move {
    let (app, r) = start(db).await;
    let people = app.insured_in_u1(2000, 9).await;
    let mut csv = String::from("ssn,name,phone,financial\n");
    for p in &people {
        csv.push_str(&format!("{},{},13800138000,no\n", p.ssn, p.name));
    }
    for n in 0..60_000u32 {
        let ssn = yikatong_service::demo::make_ssn("120101", "1970-01-01".parse::<chrono::NaiveDate>().unwrap() + chrono::Days::new(u64::from(n / 400)), 101 + 2 * (n % 400));
        csv.push_str(&format!("{ssn},不在本单位,13800138000,no\n"));
    }
    assert!(csv.len() > 2 * 1024 * 1024 + 500_000, "larger than a JSON body: {}", csv.len());
    let res = app.client.post(format!("{}/v1/units/U1/applications", app.base)).bearer_auth(&r.unit).header("content-type", "text/csv").body(csv.clone()).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let v: Value = res.json().await.unwrap();
    assert_eq!((v["rows"].as_i64(), v["accepted"].as_i64(), v["refused"].as_array().map(Vec::len)), (Some(62_000), Some(2000), Some(60_000)), "{}", &v.to_string()[..300]);
    assert_eq!((v["refused"][0]["line"].as_i64(), v["refused"][59_999]["line"].as_i64()), (Some(2002), Some(62_001)), "each refusal with its line");
    let (s, again) = app.upload_applications(&r.unit, "U1", csv.into_bytes()).await;
    assert_eq!((s.as_u16(), again["accepted"].as_i64(), again["already_applied"].as_i64()), (200, Some(0), Some(2000)), "multipart, the same file again");
    // Over the limit: refused from the declared length, with the limit named.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut conn = tokio::net::TcpStream::connect(app.base.trim_start_matches("http://")).await.unwrap();
    let head = format!(
        "POST /v1/units/U1/applications HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {}\r\ncontent-type: text/csv\r\ncontent-length: {}\r\n\r\nssn,name\n",
        r.unit,
        70 * 1024 * 1024
    );
    conn.write_all(head.as_bytes()).await.unwrap();
    let mut answer = vec![0u8; 4096];
    let n = conn.read(&mut answer).await.unwrap();
    let answer = String::from_utf8_lossy(&answer[..n]);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("body_too_large") && answer.contains("64 MiB"), "{answer}");
});

// Part of an upload of a city's size: a file over the JSON limit (8 MiB) sent with an
// `Idempotency-Key` is spooled to disk while its fingerprint is taken, answered once and
// replayed; the portal's upload form streams the same way (past the old 2 MB form limit).
on_both_databases!(a_keyed_upload_over_the_json_limit_is_answered_once_and_the_portal_form_streams_too, |db: TestDb| async move {
    let (app, r) = start(db).await;
    let people = app.insured_in_u1(2000, 11).await;
    let note = "备注".repeat(1000);
    let file = |people: &[yikatong_store::Person]| {
        let mut csv = String::from("ssn,name,phone,financial,note\n");
        for p in people {
            csv.push_str(&format!("{},{},13800138000,no,{note}\n", p.ssn, p.name));
        }
        csv
    };
    let csv = file(&people[..1500]);
    assert!(csv.len() > 8 * 1024 * 1024, "over the JSON limit: {}", csv.len());
    let send = |body: String| {
        app.client
            .post(format!("{}/v1/units/U1/applications", app.base))
            .bearer_auth(&r.unit)
            .header("content-type", "text/csv")
            .header("idempotency-key", "file-2026-03-A")
            .body(body)
            .send()
    };
    let first: Value = send(csv.clone()).await.unwrap().json().await.unwrap();
    assert_eq!((first["rows"].as_i64(), first["accepted"].as_i64()), (Some(1500), Some(1500)), "{first}");
    let again: Value = send(csv.clone()).await.unwrap().json().await.unwrap();
    assert_eq!(again, first, "the same key and file: the first answer, nothing applied twice");
    let other = send(file(&people[..1400])).await.unwrap();
    assert!(other.status().is_client_error(), "the same key with another file is refused: {}", other.status());
    // The portal's form: the CSRF token first, then the file, streamed.
    let cookie = app.post_form("/unit/sign-in", "", &[("token", &r.unit)]).await.1.unwrap();
    let token = app.csrf_of("/unit", &cookie).await;
    let rest = file(&people[1500..]);
    assert!(rest.len() > 2 * 1024 * 1024, "over the old form limit: {}", rest.len());
    let form = reqwest::multipart::Form::new().text("csrf", token).part("file", reqwest::multipart::Part::bytes(rest.into_bytes()).file_name("rest.csv"));
    let res = app.client.post(format!("{}/unit/applications", app.base)).header("cookie", &cookie).multipart(form).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let page = res.text().await.unwrap();
    assert!(page.contains("500"), "the report of the 500 rows: {}", &page[..page.len().min(2000)]);
    let listed = app.ok("GET", "/v1/units/U1/persons?limit=1", &r.unit, None).await;
    assert!(listed.is_object(), "{listed}");
});

// R-ACC-1: the demo city's monthly run credits every person with a personal account,
// retirees by Beijing's age bands; nobody is refused.
on_both_databases!(r_acc_1_the_demo_city_credits_every_eligible_person, |db: TestDb| async move {
    let app = crate::spawn_app(db).await;
    let summary = yikatong_service::demo::fill(&app.service, 400).await.unwrap();
    let c = &summary.credits;
    assert_eq!((c.persons, c.failed), (400, 0), "{c:?}");
    assert_eq!(c.credited + c.not_eligible, 400, "{c:?}");
    let sample = app.ok("GET", &format!("/v1/persons/{}", summary.sample_person), &app.operator, None).await;
    assert_eq!(sample["category"], "retired", "the demo's sample holder is a retiree: {sample}");
    let account = app.ok("GET", &format!("/v1/persons/{}/account", summary.sample_person), &app.operator, None).await;
    let age = yikatong_service::age_on(sample["birth_date"].as_str().unwrap().parse().unwrap(), app.service.clock().today());
    assert_eq!(account["balance_fen"], if age >= 70 { 11_000 } else { 10_000 }, "age {age}: {account}");
});

// API.md "Files", persons: the insurance system's extract in GBK with Chinese headers
// and as a workbook; every bad row by its line, the others kept; the same file again
// creates nothing (operator only).
on_both_databases!(persons_import_reports_bad_rows_by_line_and_creates_nothing_twice, |db: TestDb| async move {
    let (app, r) = start(db).await;
    let ssn = |i: u32| yikatong_service::demo::make_ssn("110106", "1980-01-01".parse().unwrap(), 101 + 2 * i);
    let mut csv = String::from("公民身份号码,姓名,民族,人员类别,单位编号,联系电话\n");
    csv.push_str(&format!("{},赵一,01,在职,U1,13800138001\n", ssn(0)));
    csv.push_str(&format!("{},钱二,01,retired,,\n", ssn(1)));
    let bad_check = format!("{}X", &ssn(2)[..17]);
    csv.push_str(&format!("{bad_check},孙三,01,在职,U1,\n"));
    csv.push_str(&format!("{},李四,01,学生,,\n", ssn(3)));
    csv.push_str(&format!("{},赵一,01,在职,U1,13800138001\n", ssn(0)));
    csv.push_str(&format!("{},周五,01,城乡居民,,138001\n", ssn(4)));
    let (gbk, _, _) = encoding_rs::GBK.encode(&csv);
    let send = |bytes: Vec<u8>, token: String, region: &'static str| {
        let (client, url) = (app.client.clone(), format!("{}/v1/persons/import?region={region}", app.base));
        async move {
            let res = client.post(url).bearer_auth(token).body(bytes).send().await.unwrap();
            (res.status().as_u16(), res.json::<serde_json::Value>().await.unwrap())
        }
    };
    let (s, v) = send(gbk.to_vec(), r.unit.clone(), "beijing").await;
    assert_eq!((s, v["code"].as_str()), (403, Some("not_allowed_on_channel")), "{v}");
    let (s, v) = send(gbk.to_vec(), app.operator.clone(), "atlantis").await;
    assert_eq!(s, 422, "{v}");
    let (s, v) = send(gbk.to_vec(), app.operator.clone(), "beijing").await;
    assert_eq!(s, 200, "{v}");
    assert_eq!((v["encoding"].as_str(), v["rows"].as_i64(), v["accepted"].as_i64(), v["already_present"].as_i64()), (Some("GBK"), Some(6), Some(2), Some(1)), "{v}");
    let refused: Vec<(i64, &str)> = v["refused"].as_array().unwrap().iter().map(|x| (x["line"].as_i64().unwrap(), x["code"].as_str().unwrap())).collect();
    assert_eq!(refused, [(4, "invalid_ssn"), (5, "invalid_category"), (7, "invalid_phone")], "{v}");
    let person = app.ok("GET", &format!("/v1/persons/{}", ssn(0)), &app.operator, None).await;
    assert_eq!((person["category"].as_str(), person["unit_code"].as_str(), person["region"].as_str()), (Some("in_service"), Some("U1"), Some("beijing")), "{person}");
    let (_, again) = send(gbk.to_vec(), app.operator.clone(), "beijing").await;
    assert_eq!((again["accepted"].as_i64(), again["already_present"].as_i64()), (Some(0), Some(3)), "{again}");
    // The same extract as a workbook, with a person more.
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    let rows = [["ssn", "name", "ethnicity", "category", "unit_code", "phone"], [&ssn(1), "钱二", "01", "retired", "", ""], [&ssn(5), "吴六", "01", "flexible", "", ""]];
    for (row, cells) in rows.iter().enumerate() {
        for (col, text) in cells.iter().enumerate() {
            sheet.write_string(row as u32, col as u16, *text).unwrap();
        }
    }
    let (s, v) = send(book.save_to_buffer().unwrap(), app.operator.clone(), "beijing").await;
    assert_eq!((s, v["accepted"].as_i64(), v["already_present"].as_i64()), (200, Some(1), Some(1)), "{v}");
    assert_eq!(app.ok("GET", &format!("/v1/persons/{}", ssn(5)), &app.operator, None).await["category"], "flexible");
});

// R-GEN-1: Beijing's third-generation pilot as dated policy: until the end of May 2024
// only units apply, only for people in service, only units in Xicheng, Shijingshan and
// Huairou; from June 2024 anyone, alone or by a unit.
on_both_databases!(r_gen_1_the_pilot_takes_units_of_its_districts_only_until_it_ends, |db: TestDb| async move {
    let (app, r) = start(db).await;
    app.set_now("2024-03-01T10:00:00+08:00").await;
    let unit = app.ok("POST", "/v1/units", &app.operator, Some(json!({"code": "UXC", "name": "西城试点单位", "region": "beijing", "district": "110102"}))).await;
    assert_eq!((unit["kind"].as_str(), unit["district"].as_str()), (Some("employer"), Some("110102")), "{unit}");
    let (s, v) = app.call("POST", "/v1/units", Some(&app.operator), Some(json!({"code": "UBAD", "name": "坏单位", "region": "beijing", "district": "西城"}))).await;
    assert_problem(s, &v, 422, "invalid_district");
    let xicheng = app.token(json!({"role": "unit", "unit": "UXC"})).await;
    let retired = yikatong_service::demo::make_ssn("110102", "1950-01-01".parse().unwrap(), 123);
    for (ssn, category) in [(OTHER, "in_service"), (retired.as_str(), "retired")] {
        app.ok("POST", "/v1/persons", &app.operator, Some(json!({"ssn": ssn, "name": "王五", "ethnicity": "01", "category": category, "region": "beijing", "unit_code": "UXC"})))
            .await;
    }
    let apply = |token: String, ssn: &str| {
        let (app, path) = (&app, format!("/v1/persons/{ssn}/cards"));
        async move { app.call("POST", &path, Some(&token), Some(json!({"financial": false}))).await }
    };
    let (s, v) = apply(r.clerk.clone(), OTHER).await;
    assert_problem(s, &v, 409, "pilot_units_only");
    assert!(v["detail"].as_str().unwrap().contains("until 2024-05-31"), "{v}");
    let (s, v) = apply(r.unit.clone(), SSN).await;
    assert_problem(s, &v, 409, "outside_pilot");
    let (s, v) = apply(xicheng.clone(), &retired).await;
    assert_problem(s, &v, 409, "outside_pilot");
    let (s, v) = apply(xicheng.clone(), OTHER).await;
    assert_eq!(s.as_u16(), 201, "{v}");
    // A unit's file outside the pilot's districts: refused by row, with the reason.
    let (s, v) = app.upload_applications(&r.unit, "U1", format!("ssn,name\n{SSN},张三\n").into_bytes()).await;
    assert_eq!(s.as_u16(), 200, "{v}");
    assert_eq!((v["accepted"].as_i64(), v["refused"][0]["line"].as_i64(), v["refused"][0]["code"].as_str()), (Some(0), Some(2), Some("outside_pilot")), "{v}");
    // After the pilot: anyone, alone.
    app.set_now("2024-06-01T09:00:00+08:00").await;
    let (s, v) = apply(r.clerk.clone(), SSN).await;
    assert_eq!(s.as_u16(), 201, "{v}");
    let (s, v) = apply(r.clerk.clone(), &retired).await;
    assert_eq!(s.as_u16(), 201, "{v}");
});

// R-APP-4: a production cut leaves out a person who left the applying unit after the
// application (减员) and one whose name changed since, each with a reason the unit sees
// with what to do; the reason is recorded once, not at every cut.
on_both_databases!(r_app_4_left_the_unit_or_renamed_after_applying_is_left_out_with_the_reason, |db: TestDb| async move {
    let (app, r) = start(db).await;
    app.ok("POST", "/v1/persons", &app.operator, Some(json!({"ssn": OTHER, "name": "王五", "ethnicity": "01", "category": "in_service", "region": "beijing", "unit_code": "U1"})))
        .await;
    let mut ids = Vec::new();
    for ssn in [SSN, OTHER] {
        ids.push(app.ok("POST", &format!("/v1/persons/{ssn}/cards"), &r.unit, Some(json!({"financial": false}))).await["id"].as_i64().unwrap());
    }
    app.ok("POST", &format!("/v1/persons/{SSN}/changes"), &app.operator, Some(json!({"unit_code": "U2"}))).await;
    app.ok("POST", &format!("/v1/persons/{OTHER}/changes"), &r.unit, Some(json!({"name": "王五改"}))).await;
    for _ in 0..2 {
        let batch = app.ok("POST", "/v1/production-batches", &app.operator, Some(json!({"region": "beijing"}))).await;
        let reasons: Vec<(i64, String)> =
            batch["excluded"].as_array().unwrap().iter().map(|e| (e["card_id"].as_i64().unwrap(), e["reason"].as_str().unwrap().to_string())).collect();
        assert!(reasons.iter().any(|(id, r)| *id == ids[0] && r.contains("left unit U1") && r.contains("减员")), "{batch}");
        assert!(reasons.iter().any(|(id, r)| *id == ids[1] && r.contains("name was changed")), "{batch}");
        assert!(batch["card_ids"].as_array().unwrap().is_empty(), "{batch}");
    }
    let events = app.ok("GET", &format!("/v1/cards/{}/events", ids[0]), &app.operator, None).await;
    assert_eq!(events.to_string().matches("held_out_of_batch").count(), 1, "once, not at every cut: {events}");
    // The person's present unit sees the card and why; so does the unit the renamed person is in.
    let u2 = app.token(json!({"role": "unit", "unit": "U2"})).await;
    let page = app.ok("GET", "/v1/units/U2/persons", &u2, None).await;
    let moved = page["persons"].as_array().unwrap().iter().find(|p| p["card_id"] == json!(ids[0])).unwrap().clone();
    assert!(moved["reason"].as_str().unwrap().contains("left unit U1"), "{moved}");
    let (_, cookie, _) = app.post_form("/unit/sign-in", "", &[("token", &r.unit)]).await;
    let (_, unit_page) = app.page("/unit", &cookie.unwrap()).await;
    assert!(unit_page.contains("name was changed") && unit_page.contains("按变更后的姓名重新申领"), "{unit_page}");
});

// R-APP-4 (002): the province's card register: a person with a working card of another
// city of the province is left out of the cut with the city; a register row of this
// city's own card, or of a card no longer working, does not hold anyone back.
on_both_databases!(r_app_4_a_working_card_elsewhere_in_the_province_is_seen_from_its_register, |db: TestDb| async move {
    let (app, r) = start(db).await;
    app.ok("POST", "/v1/units", &app.operator, Some(json!({"code": "JN1", "name": "济南单位", "region": "jinan"}))).await;
    let ssn = |n: u32| yikatong_service::demo::make_ssn("370102", "1980-02-02".parse().unwrap(), 31 + 2 * n);
    let mut ids = Vec::new();
    for n in 0..3 {
        app.ok(
            "POST",
            "/v1/persons",
            &app.operator,
            Some(json!({"ssn": ssn(n), "name": "济南人", "ethnicity": "01", "category": "in_service", "region": "jinan", "unit_code": "JN1"})),
        )
        .await;
        ids.push(app.ok("POST", &format!("/v1/persons/{}/cards", ssn(n)), &r.clerk, Some(json!({"financial": false}))).await["id"].as_i64().unwrap());
    }
    let register = format!("公民身份号码,发卡地,卡状态\n{},370200,正常\n{},370100,正常\n{},370200,注销\n{},青岛,正常\n", ssn(0), ssn(1), ssn(2), ssn(2));
    let report = app.service.import_province_cards(register.as_bytes()).await.unwrap();
    assert_eq!((report.rows, report.accepted, report.refused.len(), report.refused[0].line, report.refused[0].code.as_str()), (4, 3, 1, 5, "invalid_city"), "{report:?}");
    let again = app.service.import_province_cards(register.as_bytes()).await.unwrap();
    assert_eq!(again.accepted, 3);
    let batch = app.ok("POST", "/v1/production-batches", &app.operator, Some(json!({"region": "jinan"}))).await;
    let excluded: Vec<(i64, String)> = batch["excluded"].as_array().unwrap().iter().map(|e| (e["card_id"].as_i64().unwrap(), e["reason"].as_str().unwrap().to_string())).collect();
    assert_eq!(excluded.len(), 1, "{batch}");
    assert_eq!(excluded[0].0, ids[0]);
    assert!(excluded[0].1.contains("370200") && excluded[0].1.contains("province"), "{batch}");
    let mut taken: Vec<i64> = batch["card_ids"].as_array().unwrap().iter().map(|c| c.as_i64().unwrap()).collect();
    taken.sort_unstable();
    assert_eq!(taken, [ids[1], ids[2]], "Jinan's own card and a card no longer working hold no one back");
});

// R-APP-3: a partner bank takes a unit's batch file with the same row-level report as the
// online upload, and is named on every card it applied for; a bank token that names no
// bank is refused.
on_both_databases!(r_app_3_a_partner_bank_takes_a_units_batch_and_is_named_on_its_cards, |db: TestDb| async move {
    let (app, r) = start(db).await;
    let partner = app.token(json!({"role": "bank", "bank": "ICBC-BJ-0101"})).await;
    let file = format!("公民身份号码,姓名\n{SSN},张三\n110105194912310021,李四\n").into_bytes();
    let (s, v) = app.upload_applications(&r.bank, "U1", file.clone()).await;
    assert_problem(s, &v, 422, "bank_code_required");
    let (s, v) = app.upload_applications(&partner, "U1", file).await;
    assert_eq!(s.as_u16(), 200, "{v}");
    assert_eq!((v["accepted"].as_i64(), v["refused"][0]["line"].as_i64(), v["refused"][0]["code"].as_str()), (Some(1), Some(3), Some("invalid_ssn")), "{v}");
    let card = app.card(v["card_ids"][0].as_i64().unwrap()).await;
    assert_eq!((card["applied_at_bank"].as_str(), card["origin"].as_str()), (Some("ICBC-BJ-0101"), Some("first_issue")), "{card}");
    let events = app.ok("GET", &format!("/v1/cards/{}/events", card["id"]), &app.operator, None).await;
    assert!(events.to_string().contains("ICBC-BJ-0101"), "in the card's history: {events}");
    // The unit's own upload names no bank.
    app.ok("POST", "/v1/persons", &app.operator, Some(json!({"ssn": OTHER, "name": "王五", "ethnicity": "01", "category": "in_service", "region": "beijing", "unit_code": "U1"})))
        .await;
    let (_, v) = app.upload_applications(&r.unit, "U1", format!("ssn,name\n{OTHER},王五\n").into_bytes()).await;
    assert!(app.card(v["card_ids"][0].as_i64().unwrap()).await["applied_at_bank"].is_null());
});

// Qinhuangdao (003 §5), the fifth region: 2-inch photos checked by machine with the rest
// for a clerk, the phone number required, the batch cut from the data of 23 October, and
// the card's cost paid by a unit that applies after the batch its people were collected for.
on_both_databases!(r_cmp_5_r_app_2_qinhuangdao_photo_phone_snapshot_and_late_collection_fee, |db: TestDb| async move {
    let (app, r) = start(db).await;
    app.set_now("2025-09-01T10:00:00+08:00").await;
    app.ok("POST", "/v1/units", &app.operator, Some(json!({"code": "QHD1", "name": "秦皇岛单位", "region": "qinhuangdao"}))).await;
    let qhd = app.token(json!({"role": "unit", "unit": "QHD1"})).await;
    let ssn = |n: u32| yikatong_service::demo::make_ssn("130302", "1980-03-03".parse().unwrap(), 41 + 2 * n);
    for n in 0..3 {
        let phone = if n == 1 { json!(null) } else { json!("13800000000") };
        app.ok(
            "POST",
            "/v1/persons",
            &app.operator,
            Some(json!({"ssn": ssn(n), "name": "秦皇岛人", "ethnicity": "01", "category": "in_service", "region": "qinhuangdao", "unit_code": "QHD1", "phone": phone})),
        )
        .await;
    }
    app.set_now("2026-03-02T10:00:00+08:00").await;
    app.ok(
        "POST",
        "/v1/persons",
        &app.operator,
        Some(json!({"ssn": ssn(3), "name": "新参保", "ethnicity": "01", "category": "in_service", "region": "qinhuangdao", "unit_code": "QHD1", "phone": "13800000003"})),
    )
    .await;
    // The photo: Beijing's 1-inch size is too small here; the clerk confirms the rest.
    let res = app.client.put(format!("{}/v1/persons/{}/photo", app.base, ssn(0))).bearer_auth(&qhd).body(photo(300, 420, 250, true)).send().await.unwrap();
    let v: Value = res.json().await.unwrap();
    assert!(v["reasons"][0].as_str().unwrap().contains("smaller than 413 × 579"), "{v}");
    let res = app.client.put(format!("{}/v1/persons/{}/photo", app.base, ssn(0))).bearer_auth(&qhd).body(photo(420, 588, 250, true)).send().await.unwrap();
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["passed"], true, "{v}");
    assert!(v["clerk_confirms"].as_str().unwrap().contains("dark collared top"), "{v}");
    // The phone number is required: from the record or the file's row.
    let (s, v) = app.call("POST", &format!("/v1/persons/{}/cards", ssn(1)), Some(&r.clerk), Some(json!({"financial": false}))).await;
    assert_problem(s, &v, 422, "phone_required");
    let (_, v) = app.upload_applications(&qhd, "QHD1", format!("ssn,name,phone\n{},秦皇岛人,\n{},秦皇岛人,13900000001\n", ssn(0), ssn(1)).into_bytes()).await;
    assert_eq!((v["accepted"].as_i64(), v["refused"].as_array().unwrap().len()), (Some(2), 0), "the row's phone serves: {v}");
    // The cut takes the data of 23 October 2025, 0:00: the person insured after it waits.
    let card3 = app.ok("POST", &format!("/v1/persons/{}/cards", ssn(3)), &qhd, Some(json!({"financial": false}))).await;
    let batch = app.ok("POST", "/v1/production-batches", &app.operator, Some(json!({"region": "qinhuangdao"}))).await;
    assert_eq!(batch["snapshot_at"], "2025-10-22T16:00:00Z", "{batch}");
    assert_eq!(batch["card_ids"].as_array().unwrap().len(), 2, "{batch}");
    assert!(batch["excluded"].as_array().unwrap().iter().any(|e| e["card_id"] == card3["id"] && e["reason"].as_str().unwrap().contains("insured after")), "{batch}");
    // After that batch: a unit applying for someone it covered pays the card's cost; for
    // someone insured since, the card is free.
    let late = app.ok("POST", &format!("/v1/persons/{}/cards", ssn(2)), &qhd, Some(json!({"financial": false}))).await;
    assert_eq!(late["fee_fen"], 2000, "{late}");
    assert_eq!(card3["fee_fen"], 0, "{card3}");
});

on_both_databases!(persons_import_from_the_operators_page_reports_by_line, |db: TestDb| async move {
    let (app, _r) = start(db).await;
    let cookie = app.post_form("/operator/sign-in", "", &[("token", &app.operator)]).await.1.unwrap();
    let (_, form) = app.page("/operator/batches", &cookie).await;
    assert!(form.contains("action=\"/operator/persons/import\""), "{form}");
    let ssn = yikatong_service::demo::make_ssn("370102", "1980-01-01".parse().unwrap(), 111);
    let csv = format!("公民身份号码,姓名,民族,人员类别\n{ssn},济南人,01,在职\n370102198001011234,坏行,01,在职\n");
    let upload = |csv: String, token: String| {
        reqwest::multipart::Form::new().text("csrf", token).text("region", "jinan").part("file", reqwest::multipart::Part::bytes(csv.into_bytes()).file_name("persons.csv"))
    };
    let token = app.csrf_of("/operator", &cookie).await;
    let res = app.client.post(format!("{}/operator/persons/import", app.base)).header("cookie", &cookie).multipart(upload(csv.clone(), token.clone())).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let page = res.text().await.unwrap();
    assert!(page.contains("<td id=\"accepted\">1</td>") && page.contains("<td>3</td>") && page.contains("invalid_ssn"), "{page}");
    assert_eq!(app.ok("GET", &format!("/v1/persons/{ssn}"), &app.operator, None).await["region"], "jinan");
    let res = app.client.post(format!("{}/operator/persons/import", app.base)).header("cookie", &cookie).multipart(upload(csv, String::from("forged"))).send().await.unwrap();
    assert_eq!(res.status(), 403, "the CSRF token is checked on the upload too");
});
