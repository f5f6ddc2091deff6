//! 领卡证明, the card-collection certificate (R-CERT-1): verification by institutions,
//! reprint at the outlet.

use chrono::NaiveDate;
use serde::Serialize;
use yikatong_core::Refusal;
use yikatong_core::access::{Operation, Principal, Role};
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
    /// The collection date; `null` while the calendar lacks its year (R-CAL-2).
    #[schema(value_type = Option<String>)]
    pub ready_on: Option<NaiveDate>,
    /// The calendar year the collection date waits for, while `ready_on` is `null`.
    pub ready_pending_year: Option<i32>,
    pub delivery: String,
    pub prints: u32,
    /// Valid for medical visits today: until the new card is collected.
    pub valid: bool,
}

/// A certificate serves medical visits until its card is collected (R-CERT-1).
pub(crate) fn certificate_valid(card: &Card) -> bool {
    card.state.is_alive() && !matches!(card.state, CardState::Issued | CardState::Active)
}

fn not_found(number: &str) -> ServiceError {
    Refusal::not_found("certificate_not_found", format!("there is no certificate {number}")).into()
}

impl Service {
    #[allow(clippy::unused_self)] // a use case's helper, beside the use cases that call it
    fn certificate_view(&self, card: &Card, person: &yikatong_store::Person) -> ServiceResult<CertificateView> {
        let c = card.certificate.as_ref().ok_or_else(|| ServiceError::Internal("certificate without data".into()))?;
        Ok(CertificateView {
            number: c.number.clone(),
            card_id: card.id,
            holder_ssn_masked: mask_ssn(&person.ssn),
            holder_name: person.name.clone(),
            issued_on: c.issued_on,
            ready_on: c.ready_on,
            ready_pending_year: super::views::ready_pending_year(c),
            delivery: c.delivery.clone(),
            prints: c.prints,
            valid: certificate_valid(card),
        })
    }

    /// Verification by an institution, a clerk or the holder.
    pub async fn certificate(&self, who: &Principal, number: &str) -> ServiceResult<CertificateView> {
        who.allow(Operation::ReadCertificate)?;
        let card = self.store.card_by_certificate(number).await?.ok_or_else(|| not_found(number))?;
        if who.role == Role::Holder && who.person_hash.as_deref() != Some(card.person_hash.as_str()) {
            return Err(not_found(number));
        }
        let person = self.card_holder(&card).await?;
        self.certificate_view(&card, &person)
    }

    /// A lost certificate is reprinted at the outlet (with ID).
    pub async fn reprint_certificate(&self, who: &Principal, number: &str) -> ServiceResult<CertificateView> {
        who.allow(Operation::ReprintCertificate)?;
        let card = self.store.card_by_certificate(number).await?.ok_or_else(|| not_found(number))?;
        let card = self
            .card_command(who, card.id, Operation::ReprintCertificate, |c, ctx| {
                yikatong_core::card::rules::channel_allows(ctx, &[yikatong_core::access::Channel::Outlet], "reprinting a certificate")?;
                if !c.state.is_alive() {
                    return Err(yikatong_core::card::rules::state_refusal(c, ctx.now, "reprinting its certificate"));
                }
                Ok(vec![CardEvent::CertificateReprinted])
            })
            .await?;
        self.certificate_view(&card.card, &card.holder)
    }
}

/// What a certificate's QR code holds: a hospital's system scans it and verifies the
/// number with `GET /v1/certificates/{number}` (or 1101 with the certificate).
pub fn certificate_qr_text(number: &str) -> String {
    format!("YKT-CERT:{number}")
}

impl Service {
    /// R-CAL-2: the collection dates that waited for calendar `year`, counted now that it
    /// is loaded and recorded on each card (the holder sees it on the certificate and the
    /// portal). Returns how many were counted.
    pub async fn count_awaited_ready_dates(&self, year: i32) -> ServiceResult<u64> {
        let calendar = self.calendar()?;
        let meta = yikatong_store::EventMeta { actor: "calendar".into(), channel: "system".into(), place: None, at: self.clock.now() };
        let mut counted = 0;
        for id in self.store.cards_awaiting_year(year).await? {
            let mut tx = self.store.begin_cards().await?;
            let Some(card) = tx.lock_card(id).await? else { continue };
            if let Some(events) = yikatong_core::card::rules::count_ready_date(&card, &calendar) {
                let after = events.iter().fold(card, yikatong_core::card::apply);
                tx.record(&after, &events, &meta).await?;
                tx.commit().await?;
                counted += 1;
            }
        }
        Ok(counted)
    }

    /// At start-up: dates that waited for a year loaded meanwhile (by `ykt calendar
    /// load` on another process) are counted.
    pub async fn count_every_awaited_ready_date(&self) -> ServiceResult<u64> {
        let years: Vec<i32> = self.calendar()?.years().map(|y| y.year).collect();
        let mut counted = 0;
        for y in years {
            counted += self.count_awaited_ready_dates(y).await?;
        }
        Ok(counted)
    }

    /// The certificate as a PDF for the holder (or a clerk) to print: its number, the
    /// collection date and a QR code a hospital can scan to verify it.
    pub async fn certificate_pdf(&self, who: &Principal, number: &str) -> ServiceResult<Vec<u8>> {
        use crate::batch::pdf::{Rule, TextLine, page_with_squares, qr_squares};
        let c = self.certificate(who, number).await?;
        let line = |y: u32, size: u32, text: String| TextLine { x: 60, y, size, text };
        let lines = vec![
            TextLine { x: 150, y: 780, size: 20, text: "社会保障卡临时凭证".into() },
            line(730, 12, format!("凭证编号：{}", c.number)),
            line(705, 12, format!("持卡人：{}　公民身份号码：{}", c.holder_name, c.holder_ssn_masked)),
            line(680, 12, format!("开具日期：{}　领卡日期：{}", c.issued_on, super::views::ready_on_text(c.ready_on, c.ready_pending_year))),
            line(655, 12, format!("领取方式：{}", yikatong_core::card::delivery::DeliveryWay::parse(&c.delivery).map_or("网点领取", |w| w.label_zh()))),
            line(630, 12, format!("就医有效：{}", if c.valid { "是（领取新卡前）" } else { "否（新卡已领取）" })),
            line(600, 10, "凭此凭证及身份证领取新卡；领卡前可凭此就医，医院扫描二维码核验。".into()),
            line(395, 9, certificate_qr_text(&c.number)),
        ];
        let squares = qr_squares(&certificate_qr_text(&c.number), 60, 580, 4).ok_or_else(|| ServiceError::Internal("the certificate number does not fit a QR code".into()))?;
        Ok(page_with_squares(&lines, &[Rule { x1: 55, x2: 545, y: 760 }], &squares))
    }
}

impl Service {
    /// The ID number of a card's holder, for a unit or a clerk who may see the card (the
    /// portal addresses a unit's people by their cards and never writes the number out).
    pub async fn holder_ssn_of_card(&self, who: &Principal, id: i64) -> ServiceResult<String> {
        who.allow(Operation::ReadHolderOfCard)?;
        let card = self.store.get_card(id).await?.ok_or_else(|| ServiceError::from(Refusal::not_found("card_not_found", format!("there is no card {id}"))))?;
        self.check_card_visible(who, &card).await?;
        Ok(self.card_holder(&card).await?.ssn)
    }
}
