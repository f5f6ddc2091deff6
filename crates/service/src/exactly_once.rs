//! Exactly-once requests (a national `msgid`, a client's `Idempotency-Key`): the claim
//! of the request's key opens the transaction its work runs in, and the answer is kept
//! in that same transaction, as zero-to-production's `try_processing` / `save_response`
//! do. A crash therefore leaves either nothing (the client's retry runs the work) or
//! the work with its answer (the retry gets the first answer); never a claim without
//! an answer.
//!
//! The interface layer opens a [`RequestClaim`] scope around a use case. Inside it,
//! [`Service::begin_write`] claims the key in the first write transaction, and
//! [`Service::commit`] hands that transaction back to the scope instead of committing
//! it; the interface renders the answer and [`RequestClaim::finish`] writes it and
//! commits. Concurrent requests with the same key meet on the key's unique index: the
//! second waits for the first's transaction and then gets its answer.
//!
//! A use case that runs several write transactions (a batch import) commits the first,
//! claim included, when it begins the second: such work is resumable by its own design
//! (the same file again skips what went through), and its answer is kept afterwards.
//! Claims left without an answer by such a request when the service stopped are
//! released at the next start ([`Service::recover_interrupted_work`]).

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
use yikatong_core::Refusal;
use yikatong_store::{CardTx, IdempotencyBegin};

use crate::{Service, ServiceResult};

tokio::task_local! {
    static CLAIM: Arc<RequestClaim>;
}

/// The key of one request: `token_id` 0 with `his:<institution>:<msgid>` for the
/// national interface (kept for ever), the caller's token id and its
/// `Idempotency-Key` otherwise (kept for [`Service::idempotency_retention`]).
#[derive(Debug, Clone)]
pub struct RequestKey {
    pub token_id: i64,
    pub key: String,
    pub fingerprint: String,
}

/// An answer kept for a key: HTTP status and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptAnswer {
    pub status: u16,
    pub body: Vec<u8>,
}

/// What an earlier request under the same key left, looked up before the work starts so
/// that a retry gets its first answer at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EarlierRequest {
    /// It was answered: this is the answer.
    Answered(KeptAnswer),
    /// The key was used for a different request (another fingerprint).
    Different,
    /// It was claimed and never answered (its work is resumable, see the module's docs).
    Interrupted,
}

impl Service {
    /// The earlier request under `key`, if any, within the key's retention.
    pub async fn earlier_request(&self, key: &RequestKey) -> ServiceResult<Option<EarlierRequest>> {
        let expire_before = expiry(self, key);
        Ok(self.store.idempotency_peek(key.token_id, &key.key, &key.fingerprint, expire_before).await?.map(|found| match found {
            IdempotencyBegin::Replay { status, body } => EarlierRequest::Answered(KeptAnswer { status, body }),
            IdempotencyBegin::Mismatch => EarlierRequest::Different,
            IdempotencyBegin::InProgress | IdempotencyBegin::Fresh => EarlierRequest::Interrupted,
        }))
    }
}

/// Answers under a token's key expire after [`Service::idempotency_retention`]; the
/// national interface's (`token_id` 0) are kept for ever.
fn expiry(service: &Service, key: &RequestKey) -> Option<DateTime<Utc>> {
    (key.token_id != 0).then(|| service.clock.now() - service.idempotency_retention())
}

enum Progress {
    /// Not claimed in any committed transaction.
    Unclaimed,
    /// Claimed in the write transaction now open (if it rolls back, so does the claim).
    ClaimedOpen,
    /// Claimed in this transaction, whose commit waits for the answer.
    Held(Box<dyn CardTx>),
    /// Claimed in a transaction that is committed; the answer is written alone.
    Committed,
}

/// The claim scope of one request.
pub struct RequestClaim {
    key: RequestKey,
    expire_before: Option<DateTime<Utc>>,
    progress: Mutex<Progress>,
    /// Set when the claim found the key already answered: the interface returns this.
    replay: Mutex<Option<KeptAnswer>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl RequestClaim {
    /// Runs `work` inside the claim scope of `key`.
    pub async fn scope<F: Future>(service: &Service, key: RequestKey, work: F) -> (Arc<RequestClaim>, F::Output) {
        let expire_before = expiry(service, &key);
        let claim = Arc::new(RequestClaim { key, expire_before, progress: Mutex::new(Progress::Unclaimed), replay: Mutex::new(None) });
        let out = CLAIM.scope(claim.clone(), work).await;
        (claim, out)
    }

    /// The first answer, when the claim met a key already answered.
    pub fn replayed(&self) -> Option<KeptAnswer> {
        lock(&self.replay).clone()
    }

    /// Keeps `answer` for the key (in the work's own transaction when it is held) and
    /// commits; returns the answer to send: `answer`, or the first answer when another
    /// request with the key was answered first. `keep` false (a server error) keeps
    /// nothing and releases the claim, so a retry runs again.
    pub async fn finish(&self, service: &Service, answer: KeptAnswer, keep: bool) -> ServiceResult<KeptAnswer> {
        if let Some(first) = self.replayed() {
            return Ok(first);
        }
        let progress = std::mem::replace(&mut *lock(&self.progress), Progress::Unclaimed);
        let k = &self.key;
        match progress {
            Progress::Held(mut tx) if keep => {
                tx.save_response(k.token_id, &k.key, answer.status, &answer.body).await?;
                tx.commit().await?;
            }
            Progress::Held(_) => {} // dropped: the work and its claim roll back
            Progress::Committed if keep => service.store.idempotency_finish(k.token_id, &k.key, answer.status, &answer.body).await?,
            Progress::Committed => service.store.idempotency_abandon(k.token_id, &k.key).await?,
            Progress::Unclaimed | Progress::ClaimedOpen if keep => {
                // Nothing was written: the answer (a refusal, a read) is kept alone.
                let mut tx = service.store.begin_cards().await?;
                match tx.claim_request(k.token_id, &k.key, &k.fingerprint, service.clock.now(), self.expire_before).await? {
                    IdempotencyBegin::Fresh => {
                        tx.save_response(k.token_id, &k.key, answer.status, &answer.body).await?;
                        tx.commit().await?;
                    }
                    IdempotencyBegin::Replay { status, body } => return Ok(KeptAnswer { status, body }),
                    // Another request holds the key (a different body, or one still
                    // running): this answer is sent but not kept.
                    IdempotencyBegin::Mismatch | IdempotencyBegin::InProgress => {}
                }
            }
            Progress::Unclaimed | Progress::ClaimedOpen => {}
        }
        Ok(answer)
    }
}

/// The key of the request whose claim scope this task runs in, if any: a call to
/// another region made for it is keyed by it, so that the request repeated makes the
/// same call (see `settlement/cross_region`). A client's `Idempotency-Key` is its
/// token's own, so it is named with the token's id.
pub(crate) fn current_request_key() -> Option<String> {
    CLAIM.try_with(|c| if c.key.token_id == 0 { c.key.key.clone() } else { format!("token{}:{}", c.key.token_id, c.key.key) }).ok()
}

impl Service {
    /// How long an `Idempotency-Key` is kept (a national `msgid` is kept for ever).
    pub fn idempotency_retention(&self) -> Duration {
        self.idempotency_retention
    }

    /// A write transaction; inside a [`RequestClaim`] scope the request's key is claimed
    /// in it first.
    pub(crate) async fn begin_write(&self) -> ServiceResult<Box<dyn CardTx>> {
        let Ok(claim) = CLAIM.try_with(std::clone::Clone::clone) else {
            return Ok(self.store.begin_cards().await?);
        };
        // A transaction held for the answer is committed before a second one begins
        // (SQLite has one writer): the request is then a multi-transaction one.
        let held = {
            let mut p = lock(&claim.progress);
            match std::mem::replace(&mut *p, Progress::Committed) {
                Progress::Held(tx) => Some(tx),
                Progress::Committed => None,
                Progress::Unclaimed | Progress::ClaimedOpen => {
                    *p = Progress::Unclaimed;
                    None
                }
            }
        };
        if let Some(tx) = held {
            tx.commit().await?;
        }
        let mut tx = self.store.begin_cards().await?;
        if !matches!(*lock(&claim.progress), Progress::Unclaimed) {
            return Ok(tx);
        }
        let k = &claim.key;
        match tx.claim_request(k.token_id, &k.key, &k.fingerprint, self.clock.now(), claim.expire_before).await? {
            IdempotencyBegin::Fresh => {
                *lock(&claim.progress) = Progress::ClaimedOpen;
                Ok(tx)
            }
            IdempotencyBegin::Replay { status, body } => {
                *lock(&claim.replay) = Some(KeptAnswer { status, body });
                Err(Refusal::conflict("duplicate_request", "this request was already answered; its first answer is returned").into())
            }
            // The national interface's words for its msgid; a client's for its key.
            IdempotencyBegin::Mismatch if k.token_id == 0 => Err(Refusal::bad_input("msgid_reused", "this msgid was already used for a different request").into()),
            IdempotencyBegin::Mismatch => Err(Refusal::bad_input("idempotency_key_reused", "this key was already used for a different request").into()),
            IdempotencyBegin::InProgress if k.token_id == 0 => {
                Err(Refusal::conflict("duplicate_request", "a request with this msgid was interrupted before it was answered; send it again under a new msgid").into())
            }
            IdempotencyBegin::InProgress => {
                Err(Refusal::conflict("duplicate_request", "a request with this key was interrupted before it was answered; send it again under a new key").into())
            }
        }
    }

    /// Commits a write transaction begun with [`Service::begin_write`]; inside a claim
    /// scope, the transaction holding the claim is kept for the answer instead.
    pub(crate) async fn commit(&self, tx: Box<dyn CardTx>) -> ServiceResult<()> {
        if let Ok(claim) = CLAIM.try_with(std::clone::Clone::clone) {
            let mut p = lock(&claim.progress);
            if matches!(*p, Progress::ClaimedOpen) {
                *p = Progress::Held(tx);
                return Ok(());
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// Commits at once, for use cases of several transactions (a batch import, each
    /// of whose chunks must be durable before the next): the request's claim, if this
    /// transaction holds it, commits with it and the answer is kept afterwards.
    pub(crate) async fn commit_now(&self, tx: Box<dyn CardTx>) -> ServiceResult<()> {
        tx.commit().await?;
        if let Ok(claim) = CLAIM.try_with(std::clone::Clone::clone) {
            let mut p = lock(&claim.progress);
            if matches!(*p, Progress::ClaimedOpen) {
                *p = Progress::Committed;
            }
        }
        Ok(())
    }

    /// At start-up: jobs left `running` by a stopped service are marked `interrupted`
    /// (each can be started again and skips what it already did), and claims left
    /// without an answer (only multi-transaction requests can leave one) are released.
    /// Returns how many of each.
    pub async fn recover_interrupted_work(&self) -> ServiceResult<(u64, u64)> {
        let jobs = self.store.interrupt_running_jobs(self.clock.now()).await?;
        let claims = self.store.release_unanswered_claims().await?;
        self.count_every_awaited_ready_date().await?;
        if jobs > 0 || claims > 0 {
            tracing::warn!(jobs, claims, "recovered work interrupted by the last stop");
        }
        Ok((jobs, claims))
    }
}
