//! Who may do what through which channel (SPEC §6, §8). The role and channel come from
//! the credential, never from a header the client picks.

use serde::{Deserialize, Serialize};

use crate::Refusal;

/// The role a bearer token is bound to (API.md `ykt admin token --role`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Operator,
    Clerk,
    Unit,
    Institution,
    Holder,
    Hotline,
    Kiosk,
    Bank,
    Vendor,
}

impl Role {
    pub const ALL: [Role; 9] = [
        Role::Operator,
        Role::Clerk,
        Role::Unit,
        Role::Institution,
        Role::Holder,
        Role::Hotline,
        Role::Kiosk,
        Role::Bank,
        Role::Vendor,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Operator => "operator",
            Role::Clerk => "clerk",
            Role::Unit => "unit",
            Role::Institution => "institution",
            Role::Holder => "holder",
            Role::Hotline => "hotline",
            Role::Kiosk => "kiosk",
            Role::Bank => "bank",
            Role::Vendor => "vendor",
        }
    }

    pub fn parse(s: &str) -> Result<Role, Refusal> {
        Role::ALL.into_iter().find(|r| r.as_str() == s).ok_or_else(|| {
            let all: Vec<_> = Role::ALL.iter().map(|r| r.as_str()).collect();
            Refusal::bad_input("invalid_role", format!("unknown role '{s}'; roles are {}", all.join(", ")))
        })
    }

    /// The channel every request made with this role arrives through.
    pub fn channel(self) -> Channel {
        match self {
            Role::Operator => Channel::Bureau,
            Role::Clerk => Channel::Outlet,
            Role::Unit => Channel::UnitWeb,
            Role::Institution => Channel::Institution,
            Role::Holder => Channel::Web,
            Role::Hotline => Channel::Hotline,
            Role::Kiosk => Channel::Kiosk,
            Role::Bank => Channel::Bank,
            Role::Vendor => Channel::Vendor,
        }
    }
}

/// The channel through which an operation arrives (SPEC §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// 社保中心: the bureau's operators.
    Bureau,
    /// 社保卡服务网点: a service outlet's counter.
    Outlet,
    /// 96102 hotline.
    Hotline,
    /// 自助终端: a self-service kiosk.
    Kiosk,
    /// Web platform, 12333 app and official account (the holder's own channel).
    Web,
    /// An employer unit's online service.
    UnitWeb,
    /// A designated medical institution's HIS.
    Institution,
    Bank,
    Vendor,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Bureau => "bureau",
            Channel::Outlet => "outlet",
            Channel::Hotline => "hotline",
            Channel::Kiosk => "kiosk",
            Channel::Web => "web",
            Channel::UnitWeb => "unit_web",
            Channel::Institution => "institution",
            Channel::Bank => "bank",
            Channel::Vendor => "vendor",
        }
    }
}

/// The authenticated caller: a role and what it is bound to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub token_id: i64,
    pub role: Role,
    pub outlet: Option<String>,
    pub unit: Option<String>,
    pub institution: Option<String>,
    /// For a holder: the lookup hash of their SSN (never the number itself).
    pub person_hash: Option<String>,
}

impl Principal {
    pub fn channel(&self) -> Channel {
        self.role.channel()
    }

    /// Refuses unless the caller has one of `roles`.
    pub fn require(&self, roles: &[Role]) -> Result<(), Refusal> {
        if roles.contains(&self.role) {
            Ok(())
        } else {
            let names: Vec<_> = roles.iter().map(|r| r.as_str()).collect();
            Err(Refusal::forbidden(
                "not_allowed_on_channel",
                format!("a {} on the {} channel may not do this; it needs: {}", self.role.as_str(), self.channel().as_str(), names.join(", ")),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_and_map_to_channels() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()).unwrap(), r);
        }
        assert_eq!(Role::Holder.channel(), Channel::Web);
        assert_eq!(Role::parse("root").unwrap_err().code, "invalid_role");
        let p = Principal { token_id: 1, role: Role::Kiosk, outlet: None, unit: None, institution: None, person_hash: None };
        assert!(p.require(&[Role::Kiosk, Role::Clerk]).is_ok());
        assert_eq!(p.require(&[Role::Clerk]).unwrap_err().code, "not_allowed_on_channel");
    }
}
