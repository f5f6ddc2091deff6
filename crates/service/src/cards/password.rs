//! The query password (R-PWD-1): initially the SSN's last six characters; changed on
//! the channels SPEC §6 allows, reset only at an outlet; stored as an Argon2id hash;
//! locked after the region's number of wrong tries for the rest of the day.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use yikatong_core::Refusal;
use yikatong_core::access::{Operation, Principal};
use yikatong_core::card::rules::{self, RuleCtx};
use yikatong_core::card::{Card, CardEvent, apply};
use yikatong_store::CardTx;

use crate::{Service, ServiceError, ServiceResult};

/// The Argon2id hash of a new password, on a blocking thread, before any lock is taken.
async fn hash(password: &str) -> ServiceResult<String> {
    let password = password.to_string();
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::encode_b64(&yikatong_store::crypto::random_bytes::<16>()).map_err(|e| ServiceError::Internal(e.to_string()))?;
        Argon2::default().hash_password(password.as_bytes(), &salt).map(|h| h.to_string()).map_err(|e| ServiceError::Internal(e.to_string()))
    })
    .await
    .map_err(|e| ServiceError::Internal(format!("the password hash stopped: {e}")))?
}

/// Whether `given` is the password whose stored hash is `stored` (`None`: the initial
/// password, the SSN's last six characters). Argon2 is slow on purpose, so it runs on a
/// blocking thread and never inside a write transaction.
async fn verify(stored: Option<String>, ssn: String, given: String) -> ServiceResult<bool> {
    tokio::task::spawn_blocking(move || match stored {
        None => ssn.get(12..).is_some_and(|last6| last6.eq_ignore_ascii_case(&given)),
        Some(stored) => PasswordHash::new(&stored).is_ok_and(|h| Argon2::default().verify_password(given.as_bytes(), &h).is_ok()),
    })
    .await
    .map_err(|e| ServiceError::Internal(format!("the password check stopped: {e}")))
}

/// One password check at a time per card, in this process: fifty guesses sent at once
/// are then checked one after another, and once the day's tries are used up the rest are
/// refused before any hash is computed, instead of fifty slow hashes competing for the
/// CPU. (The limit itself is the database's: it is checked again under the card's lock.)
#[derive(Default)]
pub(crate) struct PasswordGates(std::sync::Mutex<std::collections::HashMap<i64, std::sync::Arc<tokio::sync::Mutex<()>>>>);

impl PasswordGates {
    fn gate(&self, card: i64) -> std::sync::Arc<tokio::sync::Mutex<()>> {
        let mut gates = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        // Gates nobody waits on are dropped, so the map stays as small as the traffic.
        gates.retain(|_, g| std::sync::Arc::strong_count(g) > 1);
        gates.entry(card).or_default().clone()
    }
}

/// Whose query password a kiosk or hotline request gives.
#[derive(Debug, Clone, Copy)]
pub enum QueryTarget<'a> {
    /// The card asked about.
    Card(i64),
    /// A person by ID number: their newest living card.
    Person(&'a str),
}

/// What a holder proves themselves with.
#[derive(Clone, Copy)]
pub(crate) enum Secret<'a> {
    /// The card's query password as typed.
    QueryPassword(&'a str),
    /// A one-time sign-in code, already compared with the kept one (a fast keyed hash).
    SignInCode { right: bool },
}

impl Service {
    /// Checks a query password: the slow hash is verified first, against the card as
    /// read, and only then is the card locked (see [`Service::check_secret`]).
    async fn check_password(&self, who: &Principal, id: i64, given: &str) -> ServiceResult<(Box<dyn CardTx>, Card)> {
        self.check_secret(who, id, Secret::QueryPassword(given)).await
    }

    /// Checks a secret that proves the holder (the query password or a one-time sign-in
    /// code): it is verified first, against the card as read, and only then is the card
    /// locked. Under the lock the check is confirmed (the password unchanged, the day's
    /// tries not used up meanwhile) and a wrong one is recorded (it counts toward the
    /// day's lock, whichever kind of secret it was) and committed before the refusal, so
    /// it cannot be retried without limit. On success the locked card and its
    /// transaction are handed back.
    pub(crate) async fn check_secret(&self, who: &Principal, id: i64, secret: Secret<'_>) -> ServiceResult<(Box<dyn CardTx>, Card)> {
        let gate = self.password_gates.gate(id);
        let _one_at_a_time = gate.lock().await;
        let seen = self.store.get_card(id).await?.ok_or_else(|| super::card_not_found(id))?;
        self.check_card_visible(who, &seen).await?;
        let (policy, calendar) = self.rule_parts(&seen.region)?;
        let ctx = RuleCtx { policy, calendar: &calendar, now: self.clock.now(), channel: who.channel() };
        rules::password_attempt_allowed(&seen, &ctx)?;
        let right = match secret {
            Secret::QueryPassword(given) => {
                let holder = self.card_holder(&seen).await?;
                verify(seen.password.hash.clone(), holder.ssn, given.to_string()).await?
            }
            Secret::SignInCode { right } => right,
        };
        let mut tx = self.store.begin_cards().await?;
        let card = self.lock_visible(&mut tx, who, id).await?;
        if card.password.hash != seen.password.hash {
            return Err(Refusal::conflict("concurrent_change", "the query password was changed at the same moment; try again").into());
        }
        let max = rules::password_attempt_allowed(&card, &ctx)?;
        if !right {
            let event = CardEvent::PasswordFailed { on: ctx.today() };
            let after = apply(card, &event);
            let left = max.saturating_sub(after.password.failures);
            tx.record(&after, &[event], &self.meta(who)).await?;
            tx.commit().await?;
            return Err(match secret {
                Secret::QueryPassword(_) => Refusal::bad_input("wrong_password", format!("the query password is wrong; {left} tries left today")),
                Secret::SignInCode { .. } => Refusal::bad_input(
                    "wrong_code",
                    format!("the sign-in code is wrong or no longer valid; {left} tries left today (wrong codes count like wrong query passwords)"),
                ),
            }
            .into());
        }
        Ok((tx, card))
    }

    /// Changes the query password after checking the old one.
    pub async fn change_password(&self, who: &Principal, id: i64, old: &str, new: &str) -> ServiceResult<()> {
        who.allow(Operation::ChangePassword)?;
        rules::check_new_password(new)?;
        let new_hash = hash(new).await?;
        let (mut tx, card) = self.check_password(who, id, old).await?;
        let (policy, calendar) = self.rule_parts(&card.region)?;
        rules::password_change_allowed(&RuleCtx { policy, calendar: &calendar, now: self.clock.now(), channel: who.channel() }, false)?;
        let event = CardEvent::PasswordChanged { hash: new_hash };
        let after = apply(card, &event);
        tx.record(&after, &[event], &self.meta(who)).await?;
        tx.commit().await?;
        Ok(())
    }

    /// R-PWD-1: card information at a kiosk or on the hotline needs the query password.
    pub async fn query_card_with_password(&self, who: &Principal, id: i64, password: Option<&str>) -> ServiceResult<super::CardView> {
        let who = self.with_query_password(who, Operation::ReadCard, QueryTarget::Card(id), password).await?;
        self.get_card(&who, id).await
    }

    /// The caller with the query password given for `target` checked (R-PWD-1, SPEC §6):
    /// where the access matrix asks the caller's role for it on `op`, the password of the
    /// card asked about — or, for a person's records, of the person's newest living card —
    /// is checked (a wrong one counts toward the day's lock) and opens that person's
    /// records for this request. Without a password, or where none is asked, the caller
    /// is unchanged (and the read then refuses with `query_password_required` if it needed
    /// one).
    pub async fn with_query_password(&self, who: &Principal, op: Operation, target: QueryTarget<'_>, password: Option<&str>) -> ServiceResult<Principal> {
        let (Ok(yikatong_core::access::Access::WithQueryPassword), Some(password)) = (who.may(op), password) else { return Ok(who.clone()) };
        let id = match target {
            QueryTarget::Card(id) => id,
            QueryTarget::Person(ssn) => {
                let ssn = yikatong_core::identity::Ssn::parse(ssn)?;
                let card = match self.person_key(&ssn).await? {
                    Some(key) => self.current_card(&key).await?,
                    None => None,
                };
                card.ok_or_else(|| Refusal::not_found("person_not_found", "no person with a card whose query password could open the records is known by this ID number"))?.id
            }
        };
        let (tx, card) = self.check_password(who, id, password).await?;
        tx.commit().await?;
        Ok(Principal { unlocked: Some(card.person_hash), ..who.clone() })
    }

    /// Resets a forgotten password, at an outlet only.
    pub async fn reset_password(&self, who: &Principal, id: i64, new: &str) -> ServiceResult<()> {
        rules::check_new_password(new)?;
        let new_hash = hash(new).await?;
        self.card_command(who, id, Operation::ResetPassword, |card, ctx| {
            rules::password_change_allowed(ctx, true)?;
            if !card.state.is_alive() {
                return Err(rules::state_refusal(card, ctx.now, "resetting the password"));
            }
            Ok(vec![CardEvent::PasswordReset { hash: new_hash }])
        })
        .await?;
        Ok(())
    }
}
