//! `ykt bench upload`: a unit's application file of a city's size through the HTTP API
//! (`POST /v1/units/{code}/applications`, streamed from disk over a plain HTTP/1.1
//! connection), beside the same size of file through the command line's path
//! (`import_applications` reading the file), on the same database: two units of N/2
//! persons each, one file per unit. Prints each path's time, rows per second, file size
//! and the process's peak resident memory while the upload ran.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use yikatong_core::clock::SystemClock;
use yikatong_service::demo::{DemoRng, city_person};
use yikatong_service::{NewOrganisation, TokenRequest};
use yikatong_store::DataKey;
use yikatong_store::scratch::{Backend, fresh_url};

use super::fixtures::{BenchServer, parse_backend};
use crate::config;

pub async fn run(rows: usize, backends: &[String], pg: &str) -> Result<(), String> {
    println!("ykt bench upload: {rows} application rows, half through the API, half through the command line's path");
    let mut failed = Vec::new();
    for name in backends {
        println!("\n{name}:");
        match upload_once(parse_backend(name)?, pg, rows).await {
            Ok(lines) => lines.iter().for_each(|l| println!("  {l}")),
            Err(e) => {
                println!("  failed: {e}");
                failed.push(name.clone());
            }
        }
    }
    println!("\nbaseline: the command line's path on the same database; the API streams the file to disk and reads it the same way");
    if failed.is_empty() { Ok(()) } else { Err(format!("the benchmark could not run on: {}", failed.join(", "))) }
}

/// The resident set size of this process now, in KiB (Linux).
fn rss_kib() -> u64 {
    super::fixtures::proc_status_kib("VmRSS").unwrap_or(0)
}

async fn upload_once(backend: Backend, pg: &str, rows: usize) -> Result<Vec<String>, String> {
    let (url, cleanup) = fresh_url(backend, pg).await;
    let dir = std::env::temp_dir().join(format!("ykt-bench-upload-{}", std::process::id()));
    let result = async {
        let e = |e: yikatong_service::ServiceError| e.to_string();
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let store = config::open_store(&url, DataKey::from_hex(&DataKey::generate_hex()).map_err(|e| e.to_string())?, yikatong_store::PoolOptions::default()).await?;
        let service = config::service(store.clone(), Arc::new(SystemClock), config::policies(None)?).await?;
        let op = super::fixtures::operator(&service).await?;
        let units = ["UA".to_string(), "UB".to_string()];
        for code in &units {
            service
                .create_unit(&op, &NewOrganisation { code: code.clone(), name: format!("上传基准单位 {code}"), region: "beijing".into(), ..Default::default() })
                .await
                .map_err(e)?;
        }
        let mut rng = DemoRng::new(77);
        let now = service.clock().now();
        let half = rows / 2;
        let mut files = Vec::new();
        for (u, code) in units.iter().enumerate() {
            let path = dir.join(format!("{code}.csv"));
            let mut out = std::io::BufWriter::new(std::fs::File::create(&path).map_err(|e| e.to_string())?);
            std::io::Write::write_all(&mut out, "ssn,name,phone,financial\n".as_bytes()).map_err(|e| e.to_string())?;
            let mut chunk = Vec::with_capacity(5000);
            for n in 0..half as u64 {
                let p = city_person(u as u64 * half as u64 + n, std::slice::from_ref(code), now.date_naive(), &mut rng);
                std::io::Write::write_all(&mut out, format!("{},{},13800138000,no\n", p.ssn, p.name).as_bytes()).map_err(|e| e.to_string())?;
                chunk.push(yikatong_store::Person { created_at: now - chrono::Duration::days(1), ..p });
                if chunk.len() == 5000 {
                    store.insert_persons(&chunk).await.map_err(|e| e.to_string())?;
                    chunk.clear();
                }
            }
            store.insert_persons(&chunk).await.map_err(|e| e.to_string())?;
            std::io::Write::flush(&mut out).map_err(|e| e.to_string())?;
            files.push(path);
        }
        let size = std::fs::metadata(&files[1]).map_err(|e| e.to_string())?.len();
        // The command line's path: the service reads the file.
        let unit_a = service
            .authenticate(&service.issue_token(&TokenRequest { role: "unit".into(), unit: Some(units[0].clone()), ..Default::default() }).await.map_err(e)?.token)
            .await
            .map_err(e)?;
        let started = Instant::now();
        let report = service.import_applications(&unit_a, &units[0], std::io::BufReader::new(std::fs::File::open(&files[0]).map_err(|e| e.to_string())?)).await.map_err(e)?;
        let cli = started.elapsed();
        // The API: the file streamed over one connection, the server in this process.
        let unit_b = service.issue_token(&TokenRequest { role: "unit".into(), unit: Some(units[1].clone()), ..Default::default() }).await.map_err(e)?.token;
        let server = BenchServer::start(service.clone()).await?;
        let peak = Arc::new(AtomicU64::new(rss_kib()));
        let before = peak.load(Ordering::Relaxed);
        let sampler = {
            let peak = peak.clone();
            tokio::spawn(async move {
                loop {
                    peak.fetch_max(rss_kib(), Ordering::Relaxed);
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                }
            })
        };
        let started = Instant::now();
        let answer = post_file(&server.base, &units[1], &unit_b, &files[1], size).await?;
        let api = started.elapsed();
        sampler.abort();
        let accepted: serde_json::Value = serde_json::from_str(answer.split("\r\n\r\n").nth(1).unwrap_or("{}"))
            .map_err(|e| format!("the API's answer is not its report: {e}: {}", &answer[..answer.len().min(300)]))?;
        let per_s = |n: usize, d: std::time::Duration| n as f64 / d.as_secs_f64().max(1e-9);
        let through_api = per_s(accepted["rows"].as_u64().unwrap_or(0) as usize, api);
        super::report::record(super::report::Figure::rate(
            "upload",
            &format!("{}: application file through the API", if matches!(backend, Backend::Postgres) { "postgres" } else { "sqlite" }),
            through_api,
            "rows/s",
            Some(("the command line's path".into(), per_s(report.rows, cli))),
        ));
        Ok(vec![
            format!("{:<34} {:>10} {:>12} {:>14}", "path", "rows", "seconds", "rows/s"),
            format!("{:<34} {:>10} {:>12.1} {:>14.0}", "command line (baseline)", report.rows, cli.as_secs_f64(), per_s(report.rows, cli)),
            format!(
                "{:<34} {:>10} {:>12.1} {:>14.0}",
                "API upload",
                accepted["rows"].as_u64().unwrap_or(0),
                api.as_secs_f64(),
                per_s(accepted["rows"].as_u64().unwrap_or(0) as usize, api)
            ),
            format!(
                "file of {:.1} MB; accepted {} of {} through the API; resident memory {} MiB before, {} MiB at most during the upload",
                size as f64 / 1e6,
                accepted["accepted"],
                accepted["rows"],
                before / 1024,
                peak.load(Ordering::Relaxed) / 1024
            ),
        ])
    }
    .await;
    let _ = std::fs::remove_dir_all(&dir);
    cleanup();
    result
}

/// Posts a file as the body of one HTTP/1.1 request, read from disk a chunk at a time.
async fn post_file(base: &str, unit: &str, token: &str, path: &std::path::Path, size: u64) -> Result<String, String> {
    let mut conn = tokio::net::TcpStream::connect(base.trim_start_matches("http://")).await.map_err(|e| e.to_string())?;
    let head = format!(
        "POST /v1/units/{unit}/applications HTTP/1.1\r\nhost: bench\r\nauthorization: Bearer {token}\r\ncontent-type: text/csv\r\ncontent-length: {size}\r\nconnection: close\r\n\r\n"
    );
    conn.write_all(head.as_bytes()).await.map_err(|e| e.to_string())?;
    let mut file = tokio::fs::File::open(path).await.map_err(|e| e.to_string())?;
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = file.read(&mut buf).await.map_err(|e| e.to_string())?;
        if n == 0 {
            break;
        }
        conn.write_all(&buf[..n]).await.map_err(|e| e.to_string())?;
    }
    let mut answer = Vec::new();
    conn.read_to_end(&mut answer).await.map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&answer).into_owned();
    if text.starts_with("HTTP/1.1 200") { Ok(text) } else { Err(format!("the upload was answered {}", &text[..text.len().min(300)])) }
}
