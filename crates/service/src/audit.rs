//! An audit trail tampering cannot hide (SPEC §8): each card's events are chained with a
//! keyed hash (`yikatong_store::records::event_hash`); each card's state is checked as the
//! projection of its events; and the heads of all chains are committed in checkpoints
//! written outside the database (a folder beside the SQLite file by default), each
//! signed with the chain key, so that removing the newest events of a card and moving
//! its head back is found too. `ykt audit verify` and `GET /v1/audit/verify` report each.

use std::path::{Path, PathBuf};

use serde::Serialize;
use yikatong_core::access::{Operation, Principal};

use crate::{Service, ServiceError, ServiceResult};

const PAGE: i64 = 2_000;

/// What the audit found.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct AuditView {
    pub cards: u64,
    pub events: u64,
    /// The checkpoint compared with, if any.
    pub checkpoint: Option<String>,
    pub problems: Vec<String>,
    pub ok: bool,
}

fn io(e: std::io::Error) -> ServiceError {
    ServiceError::Internal(format!("checkpoints: {e}"))
}

/// The folder checkpoints go to when none is named: beside a SQLite file
/// (`yikatong.db.checkpoints/`), or `./yikatong-checkpoints` for PostgreSQL.
pub fn default_checkpoints(db: &str) -> PathBuf {
    if db.starts_with("postgres://") || db.starts_with("postgresql://") {
        PathBuf::from("yikatong-checkpoints")
    } else {
        PathBuf::from(format!("{}.checkpoints", db.trim_start_matches("sqlite:")))
    }
}

/// The newest checkpoint file in `dir`, if any.
fn newest_checkpoint(dir: &Path) -> Option<PathBuf> {
    let entries = std::fs::read_dir(dir).ok()?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("checkpoint-") && n.ends_with(".txt")))
        .collect();
    files.sort();
    files.pop()
}

impl Service {
    /// Writes a checkpoint of every card's chain head into `dir`: one line per card
    /// (`id seq head`), then `mac` and the keyed hash of the lines. Returns its path.
    pub async fn write_checkpoint(&self, dir: &Path) -> ServiceResult<PathBuf> {
        std::fs::create_dir_all(dir).map_err(io)?;
        let mut body = String::new();
        let mut after = 0;
        loop {
            let page = self.store.chain_heads_page(after, PAGE).await?;
            let Some(last) = page.last() else { break };
            after = last.0;
            for (id, seq, head) in page {
                body.push_str(&format!("{id} {seq} {head}\n"));
            }
        }
        let mac = self.store.data_key().chain_mac(body.as_bytes());
        let now = self.clock.now().format("%Y%m%dT%H%M%S%6fZ");
        let path = dir.join(format!("checkpoint-{now}.txt"));
        let partial = dir.join(format!(".checkpoint-{now}.partial"));
        std::fs::write(&partial, format!("{body}mac {mac}\n")).map_err(io)?;
        std::fs::rename(&partial, &path).map_err(io)?;
        Ok(path)
    }

    /// The audit (operator): chains, projections and the newest checkpoint in `dir`.
    pub async fn audit(&self, who: &Principal, dir: Option<&Path>) -> ServiceResult<AuditView> {
        who.allow(Operation::VerifyAudit)?;
        self.audit_database(dir).await
    }

    /// The audit without a caller (the command line).
    pub async fn audit_database(&self, dir: Option<&Path>) -> ServiceResult<AuditView> {
        let chains = self.store.verify_audit().await?;
        let mut view = AuditView { cards: chains.cards, events: chains.events, problems: chains.problems, ..Default::default() };
        let mut after = 0;
        loop {
            let page = self.store.cards_with_events_page(after, PAGE).await?;
            let Some(last) = page.last() else { break };
            after = last.0.id;
            for (card, state_column, events) in page {
                view.problems.extend(crate::verify::projection_problem(&card, &state_column, &events));
            }
        }
        if let Some(dir) = dir {
            self.check_checkpoint(dir, &mut view).await?;
        }
        view.ok = view.problems.is_empty();
        Ok(view)
    }

    /// Every card in the newest checkpoint still has the event the checkpoint saw at its
    /// head: a card's newest events removed (and its head moved back), a history
    /// rewritten, or a card removed are each named.
    async fn check_checkpoint(&self, dir: &Path, view: &mut AuditView) -> ServiceResult<()> {
        let Some(path) = newest_checkpoint(dir) else { return Ok(()) };
        view.checkpoint = Some(path.display().to_string());
        let text = std::fs::read_to_string(&path).map_err(io)?;
        let (body, mac) = match text.rsplit_once("mac ") {
            Some((body, mac)) => (body, mac.trim()),
            None => (text.as_str(), ""),
        };
        if self.store.data_key().chain_mac(body.as_bytes()) != mac {
            view.problems.push(format!("checkpoint {}: its signature does not verify (the file was changed)", path.display()));
            return Ok(());
        }
        let heads: Vec<(i64, i64, String)> = body
            .lines()
            .filter_map(|l| {
                let mut parts = l.split(' ');
                Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?, parts.next()?.to_string()))
            })
            .collect();
        for chunk in heads.chunks(PAGE as usize) {
            let (Some(first), Some(last)) = (chunk.first(), chunk.last()) else { continue };
            let stored: std::collections::HashMap<(i64, i64), String> = self.store.event_hashes_of(first.0, last.0).await?.into_iter().map(|(c, s, h)| ((c, s), h)).collect();
            for (card, seq, head) in chunk {
                if *seq == 0 {
                    continue;
                }
                match stored.get(&(*card, *seq)) {
                    Some(h) if h == head => {}
                    Some(_) => view.problems.push(format!("card {card}: event {seq} is not the one the checkpoint saw (its history was rewritten)")),
                    None => view.problems.push(format!("card {card}: event {seq}, in the checkpoint, is missing (events were removed)")),
                }
            }
        }
        Ok(())
    }
}
