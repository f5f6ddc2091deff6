//! A party's side (R-EVT-1, R-EVT-2): its durable consumer and its own blocklist, kept in
//! a SQLite file of its own. Each notice is applied in one transaction that also records
//! its id, and acknowledged after that commits: a notice delivered again (its
//! acknowledgement lost, the consumer stopped before it) is recognised by its id and
//! applied once.

use std::str::FromStr;
use std::time::Duration;

use async_nats::jetstream;
use futures_util::StreamExt;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};
use yikatong_core::card::notices::CardNotice;
use yikatong_core::card::parties::{Listing, Party, Standing};

/// A notice as the relay sends it: the outbox row's notice with its stable id.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Delivered {
    pub id: i64,
    #[serde(flatten)]
    pub notice: CardNotice,
}

/// A card's kept listing by its number.
const LISTING: &str = "SELECT listing FROM cards WHERE card_number = $1";

/// A kept listing, or the empty one of a card never heard of.
fn listing_of(kept: Option<String>) -> Result<Listing, String> {
    Ok(kept.map(|t| serde_json::from_str(&t)).transpose().map_err(|e| e.to_string())?.unwrap_or_default())
}

/// A party's blocklist (`ykt consume … --db <file>`).
pub struct Blocklist {
    pool: SqlitePool,
    party: Party,
}

impl Blocklist {
    /// Opens (or makes) the party's file.
    pub async fn open(path: &str, party: Party) -> Result<Blocklist, String> {
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{path}"))
            .map_err(|e| e.to_string())?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new().max_connections(2).connect_with(options).await.map_err(|e| format!("cannot open the blocklist {path}: {e}"))?;
        sqlx::raw_sql(
            "CREATE TABLE IF NOT EXISTS applied (seq INTEGER PRIMARY KEY AUTOINCREMENT, id INTEGER NOT NULL UNIQUE, card_id INTEGER NOT NULL, topic TEXT NOT NULL, applied_at TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS cards (card_number TEXT PRIMARY KEY, card_id INTEGER NOT NULL, listing TEXT NOT NULL, updated_at TEXT NOT NULL);",
        )
        .execute(&pool)
        .await
        .map_err(|e| e.to_string())?;
        Ok(Blocklist { pool, party })
    }

    /// Applies a notice once: `false` when its id was applied before (nothing changes).
    pub async fn apply(&self, d: &Delivered) -> Result<bool, String> {
        let now = chrono::Utc::now().to_rfc3339();
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await.map_err(|e| e.to_string())?;
        let fresh = sqlx::query("INSERT INTO applied (id, card_id, topic, applied_at) VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING")
            .bind(d.id)
            .bind(d.notice.card_id)
            .bind(d.notice.change.topic())
            .bind(&now)
            .execute(&mut *tx)
            .await
            .map_err(|e| e.to_string())?
            .rows_affected()
            == 1;
        if !fresh {
            return Ok(false);
        }
        // A card not yet produced has no number: no party holds it, only its id is kept.
        if let Some(number) = &d.notice.card_number {
            let kept: Option<String> = sqlx::query_scalar(LISTING).bind(number).fetch_optional(&mut *tx).await.map_err(|e| e.to_string())?;
            let mut listing = listing_of(kept)?;
            listing.apply(self.party, &d.notice.change);
            sqlx::query("INSERT INTO cards (card_number, card_id, listing, updated_at) VALUES ($1, $2, $3, $4) ON CONFLICT (card_number) DO UPDATE SET card_id = excluded.card_id, listing = excluded.listing, updated_at = excluded.updated_at")
                .bind(number)
                .bind(d.notice.card_id)
                .bind(serde_json::to_string(&listing).map_err(|e| e.to_string())?)
                .bind(&now)
                .execute(&mut *tx)
                .await
                .map_err(|e| e.to_string())?;
        }
        tx.commit().await.map_err(|e| e.to_string())?;
        Ok(true)
    }

    /// The card's standing, as a gate or a bank asks it: a card never heard of is usable.
    pub async fn check(&self, card_number: &str) -> Result<Standing, String> {
        let kept: Option<String> = sqlx::query_scalar(LISTING).bind(card_number).fetch_optional(&self.pool).await.map_err(|e| e.to_string())?;
        Ok(listing_of(kept)?.standing())
    }

    /// How many notices were applied, and the ids in the order they were (for checks).
    pub async fn applied(&self) -> Result<Vec<(i64, i64)>, String> {
        sqlx::query_as("SELECT id, card_id FROM applied ORDER BY seq").fetch_all(&self.pool).await.map_err(|e| e.to_string())
    }
}

/// Takes the party's notices until the task is dropped: each applied to the blocklist,
/// then acknowledged. A notice that cannot be read is logged and terminated, so that it
/// does not stop the ones after it; while the broker is away it tries again.
pub async fn run(js: jetstream::Context, blocklist: Blocklist, on_applied: impl Fn(&Delivered) + Send + Sync) -> Result<(), String> {
    let party = blocklist.party;
    loop {
        // The service's relay declares the stream and the parties' consumers (with the
        // cluster's number of copies); a party only waits for them.
        let consumer = match js.get_stream(crate::STREAM).await {
            Ok(stream) => stream.get_consumer::<jetstream::consumer::pull::Config>(party.as_str()).await.map_err(|e| e.to_string()),
            Err(e) => Err(format!("the stream {} is not there yet: {e}", crate::STREAM)),
        };
        let consumer = match consumer {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "the broker or the stream cannot be reached; trying again");
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            }
        };
        // Short pulls with heartbeats: a server that died under the connection is noticed
        // in seconds, and the pull goes to the node that took over.
        let mut messages = match consumer.stream().expires(Duration::from_secs(2)).heartbeat(Duration::from_millis(500)).messages().await {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(error = %e, "cannot take messages; trying again");
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            }
        };
        while let Some(next) = messages.next().await {
            let message = match next {
                Ok(m) => m,
                Err(e) => {
                    tracing::warn!(error = %e, "a message could not be taken");
                    continue;
                }
            };
            match serde_json::from_slice::<Delivered>(&message.payload) {
                Ok(d) => {
                    if blocklist.apply(&d).await? {
                        on_applied(&d);
                    }
                    if let Err(e) = message.ack().await {
                        tracing::warn!(error = %e, id = d.id, "the acknowledgement was not sent; the notice comes again and is recognised");
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, subject = %message.subject, "a notice that cannot be read is set aside");
                    let _ = message.ack_with(jetstream::AckKind::Term).await;
                }
            }
        }
    }
}
