//! Manual reimbursement (手工报销, R-SET-6): why a visit is paid in cash and claimed by
//! hand instead of settled in real time.

use crate::Refusal;

/// Why a visit is reimbursed by hand (R-SET-6): emergency without the card, employer in
/// arrears, insured but no card yet, during a replacement (its certificate period),
/// maternity care, family-planning surgery, non-local care, drugs bought outside, a card
/// the hospital cannot read, and costs from before the card (R-SET-8).
pub const MANUAL_REASONS: [&str; 10] = [
    "no_card",
    "emergency_without_card",
    "certificate_period",
    "employer_arrears",
    "maternity",
    "family_planning",
    "non_local",
    "drugs_bought_outside",
    "card_unreadable",
    "before_card",
];

/// R-SET-6: `reason` is one of [`MANUAL_REASONS`], or the refusal listing them.
pub fn check_manual_reason(reason: &str) -> Result<(), Refusal> {
    if MANUAL_REASONS.contains(&reason) { Ok(()) } else { Err(Refusal::bad_input("invalid_reason", format!("reason must be one of {}", MANUAL_REASONS.join(", ")))) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r_set_6_a_claim_names_one_of_the_reasons_for_paying_by_hand() {
        assert!(check_manual_reason("emergency_without_card").is_ok());
        let refused = check_manual_reason("convenience").unwrap_err();
        assert_eq!(refused.code, "invalid_reason");
        assert!(refused.message.contains("non_local"), "{}", refused.message);
    }
}

crate::closed_set! {
    /// Where a manual-reimbursement claim (手工报销) is: `submitted` by a clerk,
    /// `approved` by an operator, `sent` in a payment file, then `paid` or `failed` as the
    /// bank's results say (R-SET-6).
    pub enum ClaimState {
        Submitted = "submitted",
        Approved = "approved",
        Sent = "sent",
        Paid = "paid",
        Failed = "failed",
    }
}
