//! `ykt consume`: a party's consumer of card notices (R-EVT-1, R-EVT-2), keeping its own
//! blocklist, or (`--check`) the answer a transit gate or a bank gets for a card.

use clap::Args;
use yikatong_core::card::parties::{Party, Standing};
use yikatong_events::consumer::{self, Blocklist};

#[derive(Args, Debug)]
pub struct ConsumeArgs {
    /// The party: bank, transit or park.
    #[arg(long)]
    pub role: String,
    /// The NATS server (JetStream) the service delivers to.
    #[arg(long, default_value = "nats://127.0.0.1:4222")]
    pub nats: String,
    /// The party's own blocklist, a SQLite file (made when missing).
    #[arg(long)]
    pub db: String,
    /// Answer `usable` or `blocked` with the reason for this card number, and stop.
    #[arg(long)]
    pub check: Option<String>,
}

pub async fn run(args: ConsumeArgs) -> Result<(), String> {
    let party = Party::parse(&args.role).ok_or_else(|| format!("--role is one of {}, not {:?}", Party::spellings(), args.role))?;
    let blocklist = Blocklist::open(&args.db, party).await?;
    if let Some(number) = &args.check {
        match blocklist.check(number).await? {
            Standing::Usable => println!("usable"),
            Standing::Blocked(reason) => println!("blocked {reason}"),
        }
        return Ok(());
    }
    let (_client, js) = yikatong_events::connect(&args.nats).await?;
    println!("{} ({party}) is taking card notices from {}", party.name(), args.nats);
    let taking = consumer::run(js, blocklist, |d| tracing::info!(id = d.id, card = d.notice.card_id, topic = d.notice.change.topic(), "applied"));
    tokio::select! {
        r = taking => r,
        _ = tokio::signal::ctrl_c() => Ok(()),
    }
}
