//! How a new card reaches its holder (R-DIST-1, R-LOSS-5, 000, 001): the way chosen
//! among those the region's file offers for the kind of card, the mail address checked,
//! the delivery fee where the region prices it, and how the fees are paid on the channel
//! the application came through.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::Refusal;
use crate::policy::RegionPolicy;

/// 领取方式: how a new card reaches its holder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryWay {
    /// To the unit that applied, which hands it out (R-DIST-1).
    Unit,
    /// 网点自取: collected at a service outlet.
    Outlet,
    /// 邮寄上门 / 快递送达: mailed to an address.
    Mail,
    /// 银行集中配送: delivered by the bank.
    Bank,
}

impl DeliveryWay {
    pub const ALL: [DeliveryWay; 4] = [DeliveryWay::Unit, DeliveryWay::Outlet, DeliveryWay::Mail, DeliveryWay::Bank];

    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryWay::Unit => "unit",
            DeliveryWay::Outlet => "outlet",
            DeliveryWay::Mail => "mail",
            DeliveryWay::Bank => "bank",
        }
    }

    pub fn parse(s: &str) -> Result<DeliveryWay, Refusal> {
        DeliveryWay::ALL
            .into_iter()
            .find(|w| w.as_str() == s)
            .ok_or_else(|| Refusal::bad_input("invalid_delivery", format!("delivery must be one of unit, outlet, mail, bank, not {s:?}")))
    }

    /// The way as a certificate prints it.
    pub fn label_zh(self) -> &'static str {
        match self {
            DeliveryWay::Unit => "单位发放",
            DeliveryWay::Outlet => "网点领取",
            DeliveryWay::Mail => "邮寄",
            DeliveryWay::Bank => "银行配送",
        }
    }
}

/// Which new card the delivery is for: the region offers different ways for each (000:
/// first and upgrade cards; 001: replacement, exchange and second application).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NewCardKind {
    FirstIssue,
    Successor,
}

impl NewCardKind {
    fn key(self) -> &'static str {
        match self {
            NewCardKind::FirstIssue => "first_issue",
            NewCardKind::Successor => "successor",
        }
    }
}

/// 邮寄地址: where a mailed card goes. Personal data: sealed at rest with the card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailAddress {
    /// 收件人; the holder's name when absent.
    #[serde(default)]
    pub recipient: Option<String>,
    /// 联系电话; the person's phone on record when absent.
    #[serde(default)]
    pub phone: Option<String>,
    /// 详细地址: province, city, district, street and number.
    pub address: String,
    /// 邮政编码, six digits.
    #[serde(default)]
    pub postcode: Option<String>,
}

/// Longest address and recipient name taken, in characters.
const ADDRESS_MAX_CHARS: usize = 120;
const RECIPIENT_MAX_CHARS: usize = 30;

impl MailAddress {
    /// Trims and checks every part; the refusal says which part is wrong.
    pub fn checked(mut self) -> Result<MailAddress, Refusal> {
        let bad = |field: &str, why: String| Refusal::bad_input("invalid_address", format!("address.{field}: {why}"));
        self.address = self.address.trim().to_string();
        let chars = self.address.chars().count();
        if chars < 5 {
            return Err(bad("address", "give the full address: province, city, district, street and number".into()));
        }
        if chars > ADDRESS_MAX_CHARS {
            return Err(bad("address", format!("at most {ADDRESS_MAX_CHARS} characters, not {chars}")));
        }
        if self.address.chars().any(char::is_control) {
            return Err(bad("address", "must not contain control characters or line breaks".into()));
        }
        if let Some(r) = self.recipient.as_mut() {
            *r = r.trim().to_string();
            let n = r.chars().count();
            if n == 0 || n > RECIPIENT_MAX_CHARS || r.chars().any(char::is_control) {
                return Err(bad("recipient", format!("a name of 1 to {RECIPIENT_MAX_CHARS} characters")));
            }
        }
        if let Some(p) = self.phone.as_deref() {
            crate::registry::check_phone(p).map_err(|e| bad("phone", e.message))?;
        }
        if let Some(p) = self.postcode.as_deref()
            && !(p.len() == 6 && p.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(bad("postcode", format!("six digits, not {p:?}")));
        }
        Ok(self)
    }
}

/// The delivery recorded with a new card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    pub way: DeliveryWay,
    /// The delivery fee charged (part of the card's fee).
    pub fee_fen: i64,
    /// How the card's fees were paid (`wechat`, `alipay`, `unionpay_card` …); `None`
    /// when nothing was to pay.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_method: Option<String>,
}

pub use crate::policy::schema::PAYMENT_CHANNELS;

/// Payment methods a region may list.
pub const PAYMENT_METHODS: [&str; 5] = ["wechat", "alipay", "unionpay_card", "cash", "bank_transfer"];

/// The way asked for, or the default (`unit` when a unit applies, else `outlet`),
/// among the ways `card.delivery_ways.{kind}` offers. A region whose file lists no ways
/// offers its default only (the unit's and the outlet's hands are always there).
pub fn choose_way(policy: &RegionPolicy, on: NaiveDate, kind: NewCardKind, requested: Option<&str>, by_unit: bool) -> Result<DeliveryWay, Refusal> {
    let default = if by_unit { DeliveryWay::Unit } else { DeliveryWay::Outlet };
    let way = requested.map(DeliveryWay::parse).transpose()?.unwrap_or(default);
    if way == default {
        return Ok(way);
    }
    let offered = policy.list(&format!("card.delivery_ways.{}", kind.key()), on).unwrap_or_default();
    if offered.contains(&way.as_str()) {
        return Ok(way);
    }
    let listed = if offered.is_empty() { default.as_str().to_string() } else { offered.join(", ") };
    Err(Refusal::conflict(
        "delivery_not_offered",
        format!(
            "this region delivers {} cards by {listed}, not by {}",
            match kind {
                NewCardKind::FirstIssue => "new",
                NewCardKind::Successor => "replacement and exchange",
            },
            way.as_str()
        ),
    ))
}

/// The delivery fee: a first card's mail delivery is priced by
/// `card.first_issue_mail_fee` (free in Beijing, 000); a successor's by
/// `card.mail_delivery_fee` when the holder applies online (R-LOSS-5). A first card
/// mailed in a region whose file gives no price is refused (the price is data).
pub fn delivery_fee(policy: &RegionPolicy, on: NaiveDate, kind: NewCardKind, way: DeliveryWay, holder_online: bool) -> Result<i64, Refusal> {
    if way != DeliveryWay::Mail {
        return Ok(0);
    }
    match kind {
        NewCardKind::FirstIssue => policy.fen("card.first_issue_mail_fee", on).map(|f| f.0).map_err(|e| Refusal::conflict("policy_not_in_force", e.to_string())),
        NewCardKind::Successor if holder_online => Ok(policy.fen("card.mail_delivery_fee", on).map_or(0, |f| f.0)),
        NewCardKind::Successor => Ok(0),
    }
}

/// How fees of `total_fen` are paid on `channel` (one of [`PAYMENT_CHANNELS`]): the
/// method asked for must be one `card.payment_methods.{channel}` lists; absent, the
/// first it lists. Nothing to pay records no method. A region whose file lists none for
/// the channel takes any known method, or records none.
pub fn payment_method(policy: &RegionPolicy, on: NaiveDate, channel: &str, requested: Option<&str>, total_fen: i64) -> Result<Option<String>, Refusal> {
    if let Some(m) = requested
        && !PAYMENT_METHODS.contains(&m)
    {
        return Err(Refusal::bad_input("invalid_payment_method", format!("payment_method must be one of {}, not {m:?}", PAYMENT_METHODS.join(", "))));
    }
    if total_fen == 0 {
        return Ok(None);
    }
    let listed = policy.list(&format!("card.payment_methods.{channel}"), on).unwrap_or_default();
    match (requested, listed.first()) {
        (None, first) => Ok(first.map(std::string::ToString::to_string)),
        (Some(m), None) => Ok(Some(m.to_string())),
        (Some(m), Some(_)) if listed.contains(&m) => Ok(Some(m.to_string())),
        (Some(m), Some(_)) => Err(Refusal::conflict("payment_method_not_accepted", format!("on the {channel} channel this region takes {}, not {m}", listed.join(", ")))),
    }
}

/// The payment channel of a request: the holder's own channel is the web platform
/// unless they came through the app (`via: "app"`).
pub fn payment_channel(channel: crate::access::Channel, via_app: bool) -> &'static str {
    use crate::access::Channel;
    match channel {
        Channel::Web if via_app => "app",
        Channel::Web => "web",
        Channel::UnitWeb => "unit_web",
        Channel::Bank => "bank",
        _ => "outlet",
    }
}
