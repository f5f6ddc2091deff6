//! How the pages write states, money and time: Chinese first, the API's code beside it.

use chrono::{DateTime, Utc};

/// A card state as the pages show it (the API's code stays visible next to it).
pub fn card_state_label(state: &str) -> &'static str {
    match state {
        "applied" => "已申领",
        "in_production" => "制卡中",
        "produced" => "已制成",
        "at_distributor" => "待领取",
        "issued" => "已领取（未启用）",
        "active" => "正常",
        "pre_lost" => "预挂失",
        "lost" => "已正式挂失",
        "replaced" => "已补换",
        "exchanged" => "已换卡",
        "cancelled" => "已注销",
        "production_failed" => "制卡失败",
        "returned" => "已退回",
        _ => "其他",
    }
}

/// Fen as yuan with two decimals, exactly (no floating point).
pub fn fen_yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", fen.unsigned_abs() / 100, fen.unsigned_abs() % 100)
}

/// An instant in business time (Asia/Shanghai), to the minute.
pub fn shanghai_time(at: &DateTime<Utc>) -> String {
    at.with_timezone(&yikatong_core::clock::shanghai()).format("%Y-%m-%d %H:%M").to_string()
}

/// One card as a row of a page's table.
pub struct CardRow {
    pub id: i64,
    pub number: String,
    pub state: String,
    pub state_label: &'static str,
    pub kind: &'static str,
    /// While a pre-loss lasts: when it lifts by itself.
    pub pre_loss_until: Option<String>,
    pub certificate: Option<String>,
    pub reason: Option<String>,
    /// A pre-loss can be reported (the card is with the holder and not pre-lost).
    pub can_pre_loss: bool,
    pub can_revoke: bool,
    pub can_formal_loss: bool,
    pub can_exchange: bool,
    /// Waiting at the outlet or unit for its holder (R-DIST-1).
    pub can_hand_over: bool,
    pub can_reset_password: bool,
    /// Out of step with the record (R-INFO-1): a clerk synchronises it.
    pub can_synchronise: bool,
}

impl CardRow {
    pub fn of(c: &yikatong_service::CardView) -> CardRow {
        let with_holder = matches!(c.base_state.as_str(), "issued" | "active");
        CardRow {
            id: c.id,
            number: c.card_number.clone().unwrap_or_else(|| "—".into()),
            state: c.state.clone(),
            state_label: card_state_label(&c.state),
            kind: if c.financial { "金融社保卡" } else { "社保卡" },
            pre_loss_until: c.pre_loss.as_ref().map(|p| shanghai_time(&p.until)),
            certificate: c.certificate.as_ref().map(|x| x.number.clone()),
            reason: c.reason.clone(),
            can_pre_loss: with_holder && c.pre_loss.is_none(),
            can_revoke: c.pre_loss.is_some(),
            can_formal_loss: with_holder,
            can_exchange: with_holder,
            can_hand_over: c.base_state == "at_distributor",
            can_reset_password: with_holder,
            can_synchronise: c.out_of_step,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_and_time_are_written_exactly() {
        assert_eq!(fen_yuan(123_456), "1234.56");
        assert_eq!(fen_yuan(-5), "-0.05");
        assert_eq!(fen_yuan(0), "0.00");
        let at: DateTime<Utc> = "2026-03-02T02:00:00Z".parse().unwrap_or_default();
        assert_eq!(shanghai_time(&at), "2026-03-02 10:00");
        assert_eq!(card_state_label("pre_lost"), "预挂失");
    }
}
