//! What a booked settlement is and where it stands: the closed sets a settlement record
//! carries (R-SET-1, R-SET-5, R-SET-6, R-SET-7).

use serde::{Deserialize, Serialize};

/// How a settlement came about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SettlementKind {
    /// 联网结算 settled at the counter with the card, in real time (R-SET-1).
    Realtime,
    /// R-SET-5: the registration fee's own settlement, beside the visit's.
    Registration,
    /// 手工报销 paid in cash and reimbursed by hand (R-SET-6).
    Manual,
}

impl SettlementKind {
    pub const ALL: [SettlementKind; 3] = [SettlementKind::Realtime, SettlementKind::Registration, SettlementKind::Manual];
    /// The kinds an institution books with the card (and reconciles daily).
    pub const WITH_THE_CARD: [SettlementKind; 2] = [SettlementKind::Realtime, SettlementKind::Registration];

    pub fn as_str(self) -> &'static str {
        match self {
            SettlementKind::Realtime => "realtime",
            SettlementKind::Registration => "registration",
            SettlementKind::Manual => "manual",
        }
    }

    pub fn parse(s: &str) -> Option<SettlementKind> {
        SettlementKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// Where a settlement stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SettlementState {
    /// 2206's answer: computed, nothing booked.
    Preview,
    /// Booked.
    Settled,
    /// 冲正 reversed (2208, or a work injury found later, R-SET-7).
    Reversed,
}

impl SettlementState {
    pub const ALL: [SettlementState; 3] = [SettlementState::Preview, SettlementState::Settled, SettlementState::Reversed];

    pub fn as_str(self) -> &'static str {
        match self {
            SettlementState::Preview => "preview",
            SettlementState::Settled => "settled",
            SettlementState::Reversed => "reversed",
        }
    }

    pub fn parse(s: &str) -> Option<SettlementState> {
        SettlementState::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// Where a registered visit (2201) stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VisitState {
    /// Open for fee lines and settlement.
    Registered,
    /// Its registration was cancelled (2202).
    Cancelled,
    /// R-SET-7: declared a work injury; the holder pays in full and claims from
    /// work-injury insurance.
    WorkInjury,
}

impl VisitState {
    pub const ALL: [VisitState; 3] = [VisitState::Registered, VisitState::Cancelled, VisitState::WorkInjury];

    pub fn as_str(self) -> &'static str {
        match self {
            VisitState::Registered => "registered",
            VisitState::Cancelled => "cancelled",
            VisitState::WorkInjury => "work_injury",
        }
    }

    pub fn parse(s: &str) -> Option<VisitState> {
        VisitState::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl std::fmt::Display for SettlementKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Display for SettlementState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_states_read_back_as_written() {
        for k in SettlementKind::ALL {
            assert_eq!(SettlementKind::parse(k.as_str()), Some(k));
            assert_eq!(serde_json::to_value(k).unwrap(), serde_json::Value::String(k.as_str().into()));
        }
        for s in SettlementState::ALL {
            assert_eq!(SettlementState::parse(s.as_str()), Some(s));
        }
        assert_eq!(SettlementState::parse("paid"), None);
        for v in VisitState::ALL {
            assert_eq!(VisitState::parse(v.as_str()), Some(v));
        }
    }
}
