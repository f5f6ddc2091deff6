//! The query password (R-PWD-1): initially the SSN's last six characters; changed on
//! the channels SPEC §6 allows, reset only at an outlet; stored as an Argon2id hash;
//! locked after the region's number of wrong tries for the rest of the day.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use yikatong_core::Refusal;
use yikatong_core::access::{Principal, Role};
use yikatong_core::card::rules::{self, RuleCtx};
use yikatong_core::card::{Card, CardEvent, apply};
use yikatong_store::CardTx;

use crate::{Service, ServiceError, ServiceResult};

fn hash(password: &str) -> ServiceResult<String> {
    let salt = SaltString::encode_b64(&yikatong_store::crypto::random_bytes::<16>()).map_err(|e| ServiceError::Internal(e.to_string()))?;
    Argon2::default().hash_password(password.as_bytes(), &salt).map(|h| h.to_string()).map_err(|e| ServiceError::Internal(e.to_string()))
}

fn verify(card: &Card, ssn: &str, given: &str) -> bool {
    match &card.password.hash {
        None => ssn.get(12..).is_some_and(|last6| last6.eq_ignore_ascii_case(given)),
        Some(stored) => PasswordHash::new(stored).is_ok_and(|h| Argon2::default().verify_password(given.as_bytes(), &h).is_ok()),
    }
}

impl Service {
    /// Checks a query password under the card's lock. A wrong one is recorded (it counts
    /// toward the day's lock) and committed before the refusal, so it cannot be retried
    /// without limit. On success the locked card and its transaction are handed back.
    async fn check_password(&self, who: &Principal, id: i64, given: &str) -> ServiceResult<(Box<dyn CardTx>, Card)> {
        let mut tx = self.store.begin_cards().await?;
        let card = self.lock_visible(&mut tx, who, id).await?;
        let (policy, calendar) = self.rule_parts(&card.region)?;
        let ctx = RuleCtx { policy, calendar: &calendar, now: self.clock.now(), channel: who.channel() };
        let max = rules::password_attempt_allowed(&card, &ctx)?;
        let person = self.card_holder(&card).await?;
        if !verify(&card, &person.ssn, given) {
            let event = CardEvent::PasswordFailed { on: ctx.today() };
            let after = apply(card, &event);
            let left = max.saturating_sub(after.password.failures);
            tx.record(&after, &[event], &self.meta(who)).await?;
            tx.commit().await?;
            return Err(Refusal::bad_input("wrong_password", format!("the query password is wrong; {left} tries left today")).into());
        }
        Ok((tx, card))
    }

    /// Changes the query password after checking the old one.
    pub async fn change_password(&self, who: &Principal, id: i64, old: &str, new: &str) -> ServiceResult<()> {
        who.require(&[Role::Holder, Role::Clerk, Role::Hotline, Role::Kiosk])?;
        rules::check_new_password(new)?;
        let new_hash = hash(new)?;
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
        if !matches!(who.role, Role::Kiosk | Role::Hotline) {
            return self.get_card(who, id).await;
        }
        let given = password.ok_or_else(|| {
            ServiceError::from(Refusal::forbidden("query_password_required", "card information at a kiosk or on the hotline needs the card's query password"))
        })?;
        let (tx, card) = self.check_password(who, id, given).await?;
        tx.commit().await?;
        self.card_view(&card).await
    }

    /// Resets a forgotten password, at an outlet only.
    pub async fn reset_password(&self, who: &Principal, id: i64, new: &str) -> ServiceResult<()> {
        rules::check_new_password(new)?;
        let new_hash = hash(new)?;
        self.card_command(who, id, &[Role::Clerk], |card, ctx| {
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

impl Service {
    /// The holder web channel's sign-in (R-PWD-1): ID number and the query password of
    /// the holder's newest living card. A wrong password counts toward the day's lock
    /// like anywhere else. Returns a holder token for the session.
    pub async fn holder_sign_in(&self, ssn: &str, password: &str) -> ServiceResult<crate::IssuedToken> {
        let parsed = yikatong_core::identity::Ssn::parse(ssn)?;
        // One answer whether the person is unknown or holds no card: the sign-in does not
        // tell who is insured.
        let unknown = || ServiceError::Unauthenticated("the ID number or the query password is wrong (signing in needs the query password of a card you hold)".into());
        let person = self.store.get_person(parsed.expose()).await?.ok_or_else(unknown)?;
        let hash = self.store.data_key().lookup_hash(parsed.expose());
        let card = self.store.cards_of_person(&hash).await?.into_iter().rev().find(|c| c.state.is_alive()).ok_or_else(unknown)?;
        let as_holder = Principal { token_id: 0, role: Role::Holder, outlet: None, unit: None, institution: None, person_hash: Some(hash) };
        let (tx, _) = self.check_password(&as_holder, card.id, password).await?;
        tx.commit().await?;
        self.issue_token(&crate::TokenRequest { role: "holder".into(), person: Some(person.ssn), label: Some("portal sign-in".into()), ..Default::default() }).await
    }

    /// The signed-in holder's own ID number (pages address the holder's records by it).
    pub async fn own_ssn(&self, who: &Principal) -> ServiceResult<String> {
        who.require(&[Role::Holder])?;
        let hash = who.person_hash.as_deref().ok_or_else(|| ServiceError::Unauthenticated("a holder token names its person".into()))?;
        Ok(self.store.get_person_by_hash(hash).await?.ok_or_else(|| ServiceError::Unauthenticated("the token's person is no longer registered".into()))?.ssn)
    }
}
