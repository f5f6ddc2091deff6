//! Holder sign-in on the web and app channels (SPEC §8, R-PWD-1). The initial query
//! password — the ID number's last six characters, known to anyone who knows the number
//! — serves the kiosk and the hotline but never signs in here: the holder changes it
//! first (kiosk, hotline, outlet) and signs in with their own, or signs in with a
//! one-time code sent to the phone on record in a message with no link. A wrong password
//! or a wrong code counts toward the card's daily lock alike.

use yikatong_core::Refusal;
use yikatong_core::access::{Operation, Principal, Role};
use yikatong_core::card::Card;
use yikatong_core::card::rules::{self, RuleCtx};
use yikatong_core::identity::Ssn;
use yikatong_core::message::sign_in_code_text;
use yikatong_store::Person;
use yikatong_store::crypto::random_bytes;

use crate::cards::Secret;
use crate::{IssuedToken, Service, ServiceError, ServiceResult};

/// The label of the tokens sign-ins make: they end with their portal session.
pub const SIGN_IN_TOKEN_LABEL: &str = "portal sign-in";

/// What a request for a sign-in code answers: the same whether or not a code went out,
/// so that it does not tell who is insured.
#[derive(Debug, Clone)]
pub struct CodeRequested {
    pub valid_minutes: i64,
}

/// A random six-digit code, every value equally likely.
fn new_code() -> String {
    loop {
        let n = u32::from_le_bytes(random_bytes::<4>());
        // 4,294,000,000 is the largest multiple of 1,000,000 below 2^32.
        if n < 4_294_000_000 {
            return format!("{:06}", n % 1_000_000);
        }
    }
}

impl Service {
    /// The same refusal whether the person is unknown or holds no card.
    fn unknown_holder() -> ServiceError {
        ServiceError::Unauthenticated("the ID number or the query password is wrong (signing in needs the query password of a card you hold)".into())
    }

    /// The person and their newest living card, as a holder signing in.
    async fn signing_in(&self, ssn: &str) -> ServiceResult<(Person, Card, Principal)> {
        let parsed = Ssn::parse(ssn)?;
        let person = self.store.get_person(parsed.expose()).await?.ok_or_else(Self::unknown_holder)?;
        let hash = person.key.clone();
        let card = self.current_card(&hash).await?.ok_or_else(Self::unknown_holder)?;
        let as_holder = Principal { token_id: 0, role: Role::Holder, outlet: None, unit: None, institution: None, person_hash: Some(hash), unlocked: None };
        Ok((person, card, as_holder))
    }

    async fn sign_in_token(&self, person: Person) -> ServiceResult<IssuedToken> {
        self.issue_token(&crate::TokenRequest { role: "holder".into(), person: Some(person.ssn), label: Some(SIGN_IN_TOKEN_LABEL.into()), ..Default::default() }).await
    }

    /// Signs a holder in with the ID number and the query password of their newest living
    /// card; the initial password is refused (`initial_password_not_for_web`) even when
    /// right. Returns a holder token for the session.
    pub async fn holder_sign_in(&self, ssn: &str, password: &str) -> ServiceResult<IssuedToken> {
        let (person, card, as_holder) = self.signing_in(ssn).await?;
        let (tx, checked) = self.check_secret(&as_holder, card.id, Secret::QueryPassword(password)).await?;
        tx.commit().await?;
        if checked.password.hash.is_none() {
            return Err(Refusal::forbidden(
                "initial_password_not_for_web",
                "the initial query password (the ID number's last six characters) cannot sign in on the web or the app: change it first at a kiosk, on the 96102 hotline or at an outlet, or sign in with a code sent to your phone",
            )
            .into());
        }
        self.sign_in_token(person).await
    }

    /// Sends a one-time sign-in code to the phone on record of a holder with a living
    /// card; a new code supersedes the one before. Refused while the card's query password
    /// is locked for the day, and within the resend interval of the last code.
    pub async fn request_sign_in_code(&self, ssn: &str) -> ServiceResult<CodeRequested> {
        let rules = &self.session_rules;
        let answer = CodeRequested { valid_minutes: rules.code_valid.num_minutes() };
        let parsed = Ssn::parse(ssn)?;
        let Ok((person, card, _)) = self.signing_in(parsed.expose()).await else { return Ok(answer) };
        let Some(phone) = person.phone.clone().filter(|p| !p.trim().is_empty()) else { return Ok(answer) };
        let (policy, calendar) = self.rule_parts(&card.region)?;
        let now = self.clock.now();
        rules::password_attempt_allowed(&card, &RuleCtx { policy, calendar: &calendar, now, channel: Role::Holder.channel() })?;
        if let Some(last) = self.store.latest_sign_in_code(&card.person_hash).await?
            && now < last.created_at + rules.code_resend_after
        {
            let wait = (last.created_at + rules.code_resend_after - now).num_seconds().max(1);
            return Err(Refusal::conflict(
                "code_sent_recently",
                format!("a code was sent less than {} seconds ago; wait {wait} seconds before asking again", rules.code_resend_after.num_seconds()),
            )
            .into());
        }
        let code = new_code();
        let code_hash = self.code_hash(&card.person_hash, &code);
        self.store.insert_sign_in_code(&card.person_hash, &code_hash, now, now + rules.code_valid).await?;
        self.notifier.send("sign_in_code", &phone, &sign_in_code_text(&code, answer.valid_minutes)).await?;
        Ok(answer)
    }

    fn code_hash(&self, person_hash: &str, code: &str) -> String {
        self.store.data_key().lookup_hash(&format!("sign-in code {person_hash} {code}"))
    }

    /// Signs a holder in with the newest code sent to their phone: valid until it expires,
    /// used once; a wrong one counts toward the card's daily lock.
    pub async fn holder_sign_in_with_code(&self, ssn: &str, code: &str) -> ServiceResult<IssuedToken> {
        let (person, card, as_holder) = self.signing_in(ssn).await?;
        let now = self.clock.now();
        let kept = self.store.latest_sign_in_code(&card.person_hash).await?.filter(|c| c.used_at.is_none() && now < c.expires_at);
        let right = kept.as_ref().is_some_and(|c| c.code_hash == self.code_hash(&card.person_hash, code.trim()));
        let (tx, _) = self.check_secret(&as_holder, card.id, Secret::SignInCode { right }).await?;
        tx.commit().await?;
        // Used once: of two sign-ins with the same code, one wins.
        let kept = kept.ok_or_else(|| ServiceError::Internal("a right code without a kept code".into()))?;
        if !self.store.use_sign_in_code(kept.id, now).await? {
            return Err(Refusal::bad_input("wrong_code", "the sign-in code was used already; ask for a new one").into());
        }
        self.sign_in_token(person).await
    }

    /// The signed-in holder's own ID number (pages address the holder's records by it).
    pub async fn own_ssn(&self, who: &Principal) -> ServiceResult<String> {
        who.allow(Operation::OwnRecords)?;
        let hash = who.person_hash.as_deref().ok_or_else(|| ServiceError::Unauthenticated("a holder token names its person".into()))?;
        Ok(self.store.get_person_by_hash(hash).await?.ok_or_else(|| ServiceError::Unauthenticated("the token's person is no longer registered".into()))?.ssn)
    }
}
