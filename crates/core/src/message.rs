//! Messages the system sends to people (短信 SMS). SPEC §8: the bureau never sends a
//! link by SMS, so no message the system sends may contain one.

use crate::Refusal;

/// What would make a text a link (or lead a reader to type one).
const LINK_MARKS: [&str; 5] = ["://", "www.", "http", ".com", ".cn/"];

/// Refuses a message text that contains a link.
pub fn check_no_link(text: &str) -> Result<(), Refusal> {
    let lower = text.to_ascii_lowercase();
    match LINK_MARKS.iter().find(|m| lower.contains(*m)) {
        Some(mark) => {
            Err(Refusal::bad_input("message_contains_link", format!("a message to a holder may not contain a link (found '{mark}'); the bureau never sends links by SMS")))
        }
        None => Ok(()),
    }
}

/// The text of a one-time sign-in code: the code, how long it is valid, and the warning
/// never to pass it on — no link, no instruction to visit anything.
pub fn sign_in_code_text(code: &str, valid_minutes: i64) -> String {
    format!("【社会保障卡】您的登录验证码为 {code}，{valid_minutes} 分钟内有效。请勿告诉他人，工作人员不会向您索要验证码。")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_with_a_link_is_refused_and_the_sign_in_code_has_none() {
        for bad in ["请点击 https://example.org 领取", "访问 www.example.cn", "see HTTP://x", "bit.ly.com/abc"] {
            assert_eq!(check_no_link(bad).unwrap_err().code, "message_contains_link", "{bad}");
        }
        let text = sign_in_code_text("042917", 5);
        assert!(text.contains("042917") && text.contains("5 分钟"));
        check_no_link(&text).unwrap();
    }
}
