//! 领卡证明, the card-collection certificate (R-CERT-1): verification by institutions,
//! reprint at the outlet.

use chrono::NaiveDate;
use serde::Serialize;
use yikatong_core::Refusal;
use yikatong_core::access::{Principal, Role};
use yikatong_core::card::{Card, CardEvent, CardState};
use yikatong_core::identity::mask_ssn;

use crate::{Service, ServiceError, ServiceResult};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CertificateView {
    pub number: String,
    pub card_id: i64,
    pub holder_ssn_masked: String,
    pub holder_name: String,
    pub issued_on: NaiveDate,
    /// The collection date.
    pub ready_on: NaiveDate,
    pub delivery: String,
    pub prints: u32,
    /// Valid for medical visits today: until the new card is collected.
    pub valid: bool,
}

fn not_found(number: &str) -> ServiceError {
    Refusal::not_found("certificate_not_found", format!("there is no certificate {number}")).into()
}

impl Service {
    fn certificate_view(&self, card: &Card, person: &yikatong_store::Person) -> ServiceResult<CertificateView> {
        let c = card.certificate.as_ref().ok_or_else(|| ServiceError::Internal("certificate without data".into()))?;
        let collected = matches!(card.state, CardState::Issued | CardState::Active) || !card.state.is_alive();
        Ok(CertificateView {
            number: c.number.clone(),
            card_id: card.id,
            holder_ssn_masked: mask_ssn(&person.ssn),
            holder_name: person.name.clone(),
            issued_on: c.issued_on,
            ready_on: c.ready_on,
            delivery: c.delivery.clone(),
            prints: c.prints,
            valid: !collected,
        })
    }

    /// Verification by an institution, a clerk or the holder.
    pub async fn certificate(&self, who: &Principal, number: &str) -> ServiceResult<CertificateView> {
        who.require(&[Role::Institution, Role::Clerk, Role::Holder, Role::Operator])?;
        let card = self.store.card_by_certificate(number).await?.ok_or_else(|| not_found(number))?;
        if who.role == Role::Holder && who.person_hash.as_deref() != Some(card.person_hash.as_str()) {
            return Err(not_found(number));
        }
        let person = self.card_holder(&card).await?;
        self.certificate_view(&card, &person)
    }

    /// A lost certificate is reprinted at the outlet (with ID).
    pub async fn reprint_certificate(&self, who: &Principal, number: &str) -> ServiceResult<CertificateView> {
        let card = self.store.card_by_certificate(number).await?.ok_or_else(|| not_found(number))?;
        let card = self
            .card_command(who, card.id, &[Role::Clerk], |c, ctx| {
                yikatong_core::card::rules::channel_allows(ctx, &[yikatong_core::access::Channel::Outlet], "reprinting a certificate")?;
                if !c.state.is_alive() {
                    return Err(yikatong_core::card::rules::state_refusal(c, ctx.now, "reprinting its certificate"));
                }
                Ok(vec![CardEvent::CertificateReprinted])
            })
            .await?;
        let person = self.card_holder(&card).await?;
        self.certificate_view(&card, &person)
    }
}
