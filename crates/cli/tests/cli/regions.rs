//! A deployment per region (R-XREG-1, issue 18 part 1): `ykt serve --region …` answers
//! its own region's calls and refuses the others with the reason, before anything is
//! recorded.

use serde_json::{Value, json};

use super::{Killed, both, serve, text, ykt};

async fn his(c: &reqwest::Client, url: &str, token: &str, msgid: &str, care: &str, insured: &str) -> Value {
    let body = json!({
        "infno": "1101", "msgid": msgid, "mdtrtarea_admvs": care, "insuplc_admdvs": insured, "fixmedins_code": "H1",
        "input": {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": "11010519491231002X", "psn_cert_type": "01", "certno": "11010519491231002X"}}
    });
    c.post(format!("{url}/fsi/api/rsfComIfsService/callService")).bearer_auth(token).json(&body).send().await.unwrap().json().await.unwrap()
}

#[test]
fn r_xreg_1_a_deployment_of_one_region_answers_its_own_calls_and_refuses_the_others_on_both_databases() {
    both(|db| {
        let key = yikatong_store::DataKey::generate_hex();
        let out = ykt(&["serve", "--db", db, "--region", "atlantis", "--listen", "127.0.0.1:0"], Some(&key));
        assert_eq!(out.status.code(), Some(2));
        assert!(text(&out.stderr).contains("--region") && text(&out.stderr).contains("atlantis"), "{}", text(&out.stderr));

        let operator = text(&ykt(&["admin", "token", "--db", db, "--role", "operator"], Some(&key)).stdout).trim().to_string();
        // Beijing's deployment, named by its division code.
        let (child, url) = serve(db, &key, &["--region", "110000"]);
        let _guard = Killed(child);
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            let c = reqwest::Client::new();
            let res = c
                .post(format!("{url}/v1/institutions"))
                .bearer_auth(&operator)
                .json(&json!({"code": "H1", "name": "示范医院", "region": "beijing", "level": "3"}))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status().as_u16(), 201);
            let res: Value =
                c.post(format!("{url}/v1/tokens")).bearer_auth(&operator).json(&json!({"role": "institution", "institution": "H1"})).send().await.unwrap().json().await.unwrap();
            let inst = res["token"].as_str().unwrap().to_string();

            let v = his(&c, &url, &inst, "H1202603021000000000001", "130000", "110000").await;
            assert_eq!(v["infcode"], -1);
            let msg = v["err_msg"].as_str().unwrap();
            assert!(msg.starts_with("[wrong_region]") && msg.contains("北京市") && msg.contains("河北省"), "{msg}");

            let v = his(&c, &url, &inst, "H1202603021000000000002", "110105", "130302").await;
            let msg = v["err_msg"].as_str().unwrap();
            assert!(msg.starts_with("[cross_region_unavailable]") && msg.contains("秦皇岛市"), "the most specific region file names the holder's region: {msg}");

            let v = his(&c, &url, &inst, "H1202603021000000000003", "110105", "999999").await;
            assert!(v["err_msg"].as_str().unwrap().starts_with("[unknown_region]"), "{v}");

            // Beijing's own call goes through to the transaction (the person is not
            // registered here: its own refusal, not the region's).
            let v = his(&c, &url, &inst, "H1202603021000000000004", "110105", "110000").await;
            let msg = v["err_msg"].as_str().unwrap_or_default();
            assert!(!msg.contains("region"), "{v}");
            // A refused call recorded nothing: its msgid is free for the real call.
            let v = his(&c, &url, &inst, "H1202603021000000000001", "110000", "110000").await;
            assert!(!v["err_msg"].as_str().unwrap_or_default().contains("msgid"), "{v}");
        });
    });
}
