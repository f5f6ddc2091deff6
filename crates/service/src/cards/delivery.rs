//! A new card's delivery as its applicant asks for it (R-DIST-1, R-LOSS-5): the way,
//! the mail address (from the request, else the person's record), the delivery fee and
//! how the fees are paid; and the operator's dispatch list of a batch, per way.

use serde::{Deserialize, Serialize};
use yikatong_core::Refusal;
use yikatong_core::access::{Operation, Principal, Role};
use yikatong_core::card::Card;
use yikatong_core::card::delivery::{self, Delivery, DeliveryWay, MailAddress, NewCardKind};
use yikatong_core::policy::RegionPolicy;
use yikatong_store::Person;

use crate::{Service, ServiceResult};

/// What an applicant says about a new card's delivery; every field is optional.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeliveryRequest {
    /// `unit`, `outlet`, `mail` or `bank`, among the ways the region offers for the
    /// card; default `unit` when a unit applies, else `outlet`.
    pub delivery: Option<String>,
    /// For `mail`: `{address, postcode?, recipient?, phone?}`; default the address on the
    /// person's record, the holder's name and phone.
    #[schema(value_type = Option<Object>)]
    pub address: Option<MailAddress>,
    /// How the fees are paid (`wechat`, `alipay`, `unionpay_card` …), among those the
    /// region takes on the channel; default the first it lists.
    pub payment_method: Option<String>,
    /// The holder's channel: `web` (the web platform, default) or `app` (the 12333 app
    /// or official account), which take different payment methods (001).
    pub via: Option<String>,
}

/// A new card's delivery as decided: recorded with the card.
pub(crate) struct DeliveryTerms {
    pub delivery: Delivery,
    pub mail_to: Option<MailAddress>,
}

/// One line of a batch's dispatch list.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DispatchLine {
    pub card_id: i64,
    pub card_number: Option<String>,
    pub state: String,
    /// `unit`, `outlet`, `mail` or `bank`.
    pub way: String,
    /// The unit that hands the card out (`unit`, and `bank` delivery to a unit).
    pub unit_code: Option<String>,
    /// The partner bank that took the application (R-APP-3).
    pub bank: Option<String>,
    pub recipient: Option<String>,
    pub phone: Option<String>,
    pub address: Option<String>,
    pub postcode: Option<String>,
    /// A mailed card with no address known (applied for before addresses were asked):
    /// the holder is asked for one by phone.
    pub address_missing: bool,
}

impl Service {
    /// R-DIST-1, R-LOSS-5: the delivery of a new card of `kind` for `person`, whose card
    /// fee (before delivery) is `card_fee_fen`.
    pub(crate) fn delivery_terms(
        &self,
        who: &Principal,
        policy: &RegionPolicy,
        kind: NewCardKind,
        ask: &DeliveryRequest,
        person: &Person,
        card_fee_fen: i64,
    ) -> ServiceResult<DeliveryTerms> {
        let today = self.clock.today();
        let via_app = match ask.via.as_deref() {
            None | Some("web") => false,
            Some("app") => true,
            Some(other) => return Err(Refusal::bad_input("invalid_via", format!("via must be web or app, not {other:?}")).into()),
        };
        let way = delivery::choose_way(policy, today, kind, ask.delivery.as_deref(), who.role == Role::Unit)?;
        let mail_to = match (way, &ask.address) {
            (DeliveryWay::Mail, Some(a)) => Some(a.clone().checked()?),
            (DeliveryWay::Mail, None) => person.address.clone().map(|address| MailAddress { recipient: None, phone: None, address, postcode: None }),
            (_, Some(_)) => return Err(Refusal::bad_input("address_not_used", format!("an address is for mail delivery; this card is delivered by {}", way.as_str())).into()),
            (_, None) => None,
        };
        let mail_to = mail_to.map(|a| MailAddress { recipient: a.recipient.or_else(|| Some(person.name.clone())), phone: a.phone.or_else(|| person.phone.clone()), ..a });
        let fee_fen = delivery::delivery_fee(policy, today, kind, way, who.role == Role::Holder)?;
        let channel = delivery::payment_channel(who.channel(), via_app);
        let payment_method = delivery::payment_method(policy, today, channel, ask.payment_method.as_deref(), card_fee_fen + fee_fen)?;
        Ok(DeliveryTerms { delivery: Delivery { way, fee_fen, payment_method }, mail_to })
    }

    /// R-DIST-1: a batch's cards with how each reaches its holder, of one way or all
    /// (operator): the post office's list for `mail`, the banks' for `bank`, the units'
    /// and outlets' for theirs.
    pub async fn dispatch_list(&self, who: &Principal, batch_id: i64, way: Option<&str>) -> ServiceResult<Vec<DispatchLine>> {
        who.allow(Operation::ReadBatch)?;
        let way = way.map(DeliveryWay::parse).transpose()?;
        self.store.get_batch(batch_id).await?.ok_or_else(|| Refusal::not_found("batch_not_found", format!("there is no production batch {batch_id}")))?;
        let mut lines: Vec<DispatchLine> = self.store.cards_in_batch(batch_id).await?.iter().filter(|c| way.is_none_or(|w| c.delivery_way() == w)).map(dispatch_line).collect();
        lines.sort_by(|a, b| a.way.cmp(&b.way).then(a.card_id.cmp(&b.card_id)));
        Ok(lines)
    }
}

fn dispatch_line(c: &Card) -> DispatchLine {
    let way = c.delivery_way();
    let unit_code = match &c.origin {
        yikatong_core::card::Origin::FirstIssue { unit } | yikatong_core::card::Origin::Upgrade { unit, .. } => unit.clone(),
        _ => None,
    };
    let mail = c.mail_to.as_ref();
    DispatchLine {
        card_id: c.id,
        card_number: c.card_number.clone(),
        state: c.state.as_str().into(),
        way: way.as_str().into(),
        unit_code,
        bank: c.applied_at_bank.clone(),
        recipient: mail.and_then(|m| m.recipient.clone()),
        phone: mail.and_then(|m| m.phone.clone()),
        address: mail.map(|m| m.address.clone()),
        postcode: mail.and_then(|m| m.postcode.clone()),
        address_missing: way == DeliveryWay::Mail && mail.is_none(),
    }
}
