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
    /// Handed over, its social zone not started (R-ACT-1).
    pub can_activate: bool,
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
            can_activate: c.base_state == "issued",
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

#[cfg(test)]
mod contrast {
    //! WCAG 2.1 AA: the stylesheet's text and background pairs have a contrast of at
    //! least 4.5:1 (normal text). The pairs are read from the stylesheet itself.

    const CSS: &str = include_str!("../../static/portal.css");

    fn channel(c: u8) -> f64 {
        let c = f64::from(c) / 255.0;
        if c <= 0.039_28 { c / 12.92 } else { ((c + 0.055) / 1.055).powf(2.4) }
    }

    fn luminance(hex: &str) -> f64 {
        let digits = hex.trim_start_matches('#');
        let digits: String = if digits.len() == 3 { digits.chars().flat_map(|c| [c, c]).collect() } else { digits.to_string() };
        let v = u32::from_str_radix(&digits, 16).unwrap_or(0);
        let (r, g, b) = ((v >> 16) as u8, (v >> 8) as u8, v as u8);
        0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)
    }

    fn ratio(a: &str, b: &str) -> f64 {
        let (x, y) = (luminance(a), luminance(b));
        (x.max(y) + 0.05) / (x.min(y) + 0.05)
    }

    /// The stylesheet without its comments.
    fn css() -> String {
        let mut out = String::new();
        let mut rest = CSS;
        while let Some((before, after)) = rest.split_once("/*") {
            out.push_str(before);
            rest = after.split_once("*/").map_or("", |(_, a)| a);
        }
        out.push_str(rest);
        out
    }

    /// The colour a declaration sets inside the rule of `selector`.
    fn declared(selector: &str, property: &str) -> String {
        let css = css();
        let rule = css.split('}').find(|r| r.trim_start().starts_with(selector)).unwrap_or_else(|| panic!("no rule {selector}"));
        let body = rule.split_once('{').map_or(rule, |(_, b)| b);
        let value = body
            .split(';')
            .find_map(|d| d.split_once(':').filter(|(p, _)| p.trim() == property).map(|(_, v)| v.trim().to_string()))
            .unwrap_or_else(|| panic!("no {property} in {selector}"));
        let var = |name: &str| css.split(&format!("{name}:")).nth(1).and_then(|v| v.split(';').next()).map(|v| v.trim().to_string()).unwrap_or_default();
        match value.strip_prefix("var(").and_then(|v| v.strip_suffix(')')) {
            Some(name) => var(name),
            None => value.split_whitespace().find(|w| w.starts_with('#')).unwrap_or(&value).to_string(),
        }
    }

    #[test]
    fn every_text_colour_meets_aa_contrast_on_its_background() {
        let white = "#ffffff";
        let pairs = [
            (declared("body", "color"), declared("body", "background")),
            (declared("a {", "color"), white.to_string()),
            (white.to_string(), declared(".top {", "background")),
            (declared(".primary, .button", "color"), declared(".primary, .button", "background")),
            (declared(".refusal", "color"), declared(".refusal", "background")),
            (declared(".ok", "color"), declared(".ok", "background")),
            (declared(".code", "color"), white.to_string()),
            (declared(".foot", "color"), white.to_string()),
            (declared(".code", "color"), declared(":root", "--pale")),
        ];
        for (fg, bg) in pairs {
            let r = ratio(&fg, &bg);
            assert!(r >= 4.5, "{fg} on {bg}: {r:.2} < 4.5");
        }
    }
}

/// A QR code of `text` as an inline SVG: one square per dark module, four modules of
/// quiet zone around, scaled by the page (a scanner reads it off the screen).
pub fn qr_svg(text: &str) -> String {
    let Ok(code) = qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::M) else {
        return String::new();
    };
    let width = code.width();
    let side = width + 8;
    let mut svg = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {side} {side}" width="{px}" height="{px}" shape-rendering="crispEdges" role="img"><rect width="{side}" height="{side}" fill="#fff"/><path fill="#000" d=""##,
        px = side * 6
    );
    for (i, _) in code.to_colors().iter().enumerate().filter(|(_, c)| **c == qrcode::Color::Dark) {
        svg.push_str(&format!("M{} {}h1v1h-1z", i % width + 4, i / width + 4));
    }
    svg.push_str(r#""/></svg>"#);
    svg
}
