//! `ykt demo`: a fresh embedded database with a demo city, served at once, with a
//! working token for each role printed.

use std::sync::Arc;

use clap::Args;
use yikatong_core::access::Role;
use yikatong_core::clock::{Clock, SystemClock, TestClock};
use yikatong_service::TokenRequest;
use yikatong_store::DataKey;

use crate::config;

#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// How many synthetic persons to create.
    #[arg(long, default_value_t = 3000)]
    pub persons: usize,
    /// SQLite file for the demo (a fresh one in a temporary directory if absent; an
    /// existing file is refused so that no data is overwritten).
    #[arg(long)]
    pub db: Option<String>,
    /// Expose PUT /v1/test/clock.
    #[arg(long)]
    pub test_clock: bool,
}

pub async fn run(args: DemoArgs) -> Result<(), String> {
    let path = match &args.db {
        Some(p) if std::path::Path::new(p).exists() => return Err(format!("{p} already exists; the demo starts from an empty database")),
        Some(p) => p.clone(),
        None => {
            let dir = std::env::temp_dir().join(format!("ykt-demo-{}", std::process::id()));
            std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
            dir.join("demo.db").display().to_string()
        }
    };
    let key = DataKey::generate_hex();
    let store = config::open_store(&path, DataKey::from_hex(&key).map_err(|e| e.to_string())?, yikatong_store::PoolOptions::default()).await?;
    let (clock, test_clock): (Arc<dyn Clock>, Option<TestClock>) = if args.test_clock {
        let c = TestClock::new(chrono::Utc::now());
        (Arc::new(c.clone()), Some(c))
    } else {
        (Arc::new(SystemClock), None)
    };
    let service = config::service(store, clock, config::policies(None)?).await?;
    println!("Filling the demo city (Beijing) with {} persons …", args.persons);
    let summary = yikatong_service::demo::fill(&service, args.persons).await.map_err(|e| e.to_string())?;
    let mut tokens = Vec::new();
    for role in Role::ALL {
        let req = TokenRequest {
            role: role.as_str().into(),
            outlet: (role == Role::Clerk).then(|| summary.outlets[0].clone()),
            unit: (role == Role::Unit).then(|| summary.units[0].clone()),
            institution: (role == Role::Institution).then(|| summary.institutions[3].clone()),
            person: (role == Role::Holder).then(|| summary.sample_person.clone()),
            bank: (role == Role::Bank).then(|| "B0001".to_string()),
            label: Some("demo".into()),
        };
        let t = service.issue_token(&req).await.map_err(|e| e.to_string())?;
        tokens.push((role, t.token));
    }
    let listen = args.listen.clone();
    let gateway = tokio::spawn(print_messages(service.clone()));
    let served = crate::serve::listen_and_serve(service, test_clock, &listen, |url| {
        println!();
        println!("Yikatong demo is serving on {url}");
        println!("  database      {path}");
        println!("  data key      YKT_DATA_KEY={key}");
        println!(
            "  registry      {} units, {} outlets, {} institutions, {} persons, {} active cards",
            summary.units.len(),
            summary.outlets.len(),
            summary.institutions.len(),
            summary.persons,
            summary.active_cards
        );
        println!("  holder        {} (synthetic; its holder token is below)", summary.sample_person);
        let c = &summary.credits;
        println!(
            "  credits {}  {} persons credited ({} yuan), {} without a personal account, {} refused",
            c.month,
            c.credited + c.already_credited,
            yikatong_core::money::Fen(c.credited_fen),
            c.not_eligible,
            c.failed
        );
        println!();
        println!("Tokens (send as `Authorization: Bearer <token>`):");
        for (role, token) in &tokens {
            println!("  {:<12} {token}", role.as_str());
        }
        println!();
        println!("Try:  curl -H 'Authorization: Bearer {}' {url}/v1/units/{}", tokens[0].1, summary.units[0]);
        println!("      curl {url}/v1/policies/beijing?at=2024-03-01");
        println!("Messages to phones (sign-in codes) are printed here, as the SMS gateway would send them.");
        println!("Stop with Ctrl-C.");
    })
    .await;
    gateway.abort();
    served
}

/// The demo's SMS gateway: prints each message waiting in the outbox and reports it sent.
async fn print_messages(service: Arc<yikatong_service::Service>) {
    let gateway = yikatong_core::access::Principal::bureau(0);
    loop {
        match service.messages(&gateway, 0, true, 100).await {
            Ok(waiting) => {
                for m in waiting {
                    println!("[SMS to {}] {}", m.phone, m.body);
                    if let Err(e) = service.message_sent(&gateway, m.id).await {
                        tracing::warn!(error = %e, "the demo gateway could not mark a message sent");
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "the demo gateway could not read the messages"),
        }
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
}
