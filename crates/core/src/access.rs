//! Who may do what through which channel (SPEC §6, §8). The role and channel come from
//! the credential, never from a header the client picks. [`Operation::roles`] is the
//! access matrix — role × channel × operation, reads included — in one table that every
//! use case consults ([`Principal::allow`]); a test walks every cell over HTTP. A role
//! maps to exactly one channel ([`Role::channel`]), so a row of roles is a row of
//! channels. Whose records a role reaches (a unit its own people, a holder themself, a
//! hospital its own visits) is checked where the records are loaded.

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
    pub const ALL: [Role; 9] = [Role::Operator, Role::Clerk, Role::Unit, Role::Institution, Role::Holder, Role::Hotline, Role::Kiosk, Role::Bank, Role::Vendor];

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

/// Everything a caller can ask of the service, each a row of the access matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    // Registry.
    CreateUnit,
    ReadUnit,
    CreateOutlet,
    CreateInstitution,
    CreatePerson,
    ReadPerson,
    FindPerson,
    PersonByHandbook,
    ChangePerson,
    ReadPersonHistory,
    UploadPhoto,
    SecondCollection,
    ImportApplications,
    ReadUnitPersons,
    // The card's life.
    ApplyForCard,
    ReadCard,
    ReadCardEvents,
    ReadHolderOfCard,
    CutBatch,
    ReadBatch,
    PersonalisationFile,
    RecordProductionResults,
    DispatchBatch,
    RecordBankAccount,
    HandOver,
    Activate,
    CheckCardForSettlement,
    ListOverdue,
    ReportPreLoss,
    RevokePreLoss,
    FormalLoss,
    OnlineReplacement,
    Exchange,
    ReturnCard,
    SecondApplication,
    ReportWrongData,
    CancelCard,
    SynchroniseCard,
    ReadCertificate,
    ReprintCertificate,
    ChangePassword,
    ResetPassword,
    ReadOutbox,
    // Settlement and accounts.
    Settle,
    ReadSettlement,
    ReadSettlements,
    TraceSettlement,
    ReverseSettlement,
    /// R-SET-7: a settlement found to be a work injury, reversed and claimed.
    DeclareWorkInjury,
    ManualReimbursement,
    /// R-SET-6: the payment file of the approved reimbursements.
    PayReimbursements,
    /// R-SET-6: the bank's result of a payment file.
    RecordReimbursementResults,
    AddCatalogItems,
    ReadAccount,
    /// 医保电子凭证: a holder's single-use code for one visit (R-SET-11).
    IssueVoucher,
    /// R-SET-12: record the designated institutions a holder chose.
    SetDesignatedInstitutions,
    /// R-SET-12: how many holders have no recorded choice.
    ReadDesignatedCounts,
    /// R-XREG-1: record a holder's filing (备案) for care in another region.
    RecordFiling,
    CreditAccount,
    StartCredits,
    ReadJob,
    PayPremium,
    ReadArrears,
    /// R-PAY-2: bind a family member to the holder's mutual-aid account.
    BindFamilyMember,
    /// R-PAY-2: the month-end deductions from the mutual-aid accounts.
    RunFamilyDeductions,
    // The holder's own records, the bureau's operations.
    OwnRecords,
    VerifyDatabase,
    VerifyAudit,
    LoadCalendar,
    ReadMessages,
    ReportMessageSent,
    IssueToken,
    ListTokens,
    RevokeToken,
    IssueHisCredential,
    ListHisCredentials,
    RevokeHisCredential,
}

use Role::{Bank, Clerk, Holder, Hotline, Institution, Kiosk, Operator, Unit, Vendor};

impl Operation {
    pub const ALL: [Operation; 77] = {
        use Operation::*;
        [
            CreateUnit,
            ReadUnit,
            CreateOutlet,
            CreateInstitution,
            CreatePerson,
            ReadPerson,
            FindPerson,
            PersonByHandbook,
            ChangePerson,
            ReadPersonHistory,
            UploadPhoto,
            SecondCollection,
            ImportApplications,
            ReadUnitPersons,
            ApplyForCard,
            ReadCard,
            ReadCardEvents,
            ReadHolderOfCard,
            CutBatch,
            ReadBatch,
            PersonalisationFile,
            RecordProductionResults,
            DispatchBatch,
            RecordBankAccount,
            HandOver,
            Activate,
            CheckCardForSettlement,
            ListOverdue,
            ReportPreLoss,
            RevokePreLoss,
            FormalLoss,
            OnlineReplacement,
            Exchange,
            ReturnCard,
            SecondApplication,
            ReportWrongData,
            CancelCard,
            SynchroniseCard,
            ReadCertificate,
            ReprintCertificate,
            ChangePassword,
            ResetPassword,
            ReadOutbox,
            Settle,
            ReadSettlement,
            ReadSettlements,
            TraceSettlement,
            ReverseSettlement,
            DeclareWorkInjury,
            ManualReimbursement,
            PayReimbursements,
            RecordReimbursementResults,
            AddCatalogItems,
            ReadAccount,
            IssueVoucher,
            SetDesignatedInstitutions,
            ReadDesignatedCounts,
            RecordFiling,
            CreditAccount,
            StartCredits,
            ReadJob,
            PayPremium,
            ReadArrears,
            BindFamilyMember,
            RunFamilyDeductions,
            OwnRecords,
            VerifyDatabase,
            VerifyAudit,
            LoadCalendar,
            ReadMessages,
            ReportMessageSent,
            IssueToken,
            ListTokens,
            RevokeToken,
            IssueHisCredential,
            ListHisCredentials,
            RevokeHisCredential,
        ]
    };

    /// The access matrix: the roles (hence channels) that may do the operation.
    pub fn roles(self) -> &'static [Role] {
        use Operation::*;
        match self {
            CreateUnit | CreateOutlet | CreateInstitution | CreatePerson => &[Operator],
            ReadUnit => &[Operator, Clerk, Unit],
            // Kiosk and hotline read a person, a card, its history or an account only
            // with the card's query password (see `query_password_roles`).
            ReadPerson => &[Operator, Clerk, Hotline, Kiosk, Unit, Holder],
            FindPerson => &[Operator, Clerk],
            PersonByHandbook => &[Operator, Clerk, Institution],
            // A unit files changes of its own people (never a move to another unit).
            ChangePerson => &[Operator, Unit],
            ReadPersonHistory => &[Operator, Clerk, Unit, Holder],
            UploadPhoto => &[Unit, Holder, Clerk],
            SecondCollection => &[Unit, Holder, Clerk, Operator],
            ImportApplications => &[Unit, Clerk, Operator, Bank],
            ReadUnitPersons => &[Operator, Clerk, Unit],
            ApplyForCard => &[Clerk, Unit, Holder, Operator],
            ReadCard => &[Operator, Clerk, Hotline, Kiosk, Institution, Bank, Unit, Holder],
            ReadCardEvents => &[Operator, Clerk, Hotline, Kiosk, Unit, Holder],
            ReadHolderOfCard => &[Unit, Clerk, Operator],
            CutBatch | ReadBatch | DispatchBatch => &[Operator],
            // A unit sees its own cards past their promise (R-DIST-1).
            ListOverdue => &[Operator, Unit],
            PersonalisationFile => &[Operator, Vendor],
            RecordProductionResults => &[Vendor],
            RecordBankAccount => &[Bank],
            HandOver | ReturnCard | ReportWrongData => &[Unit, Clerk],
            Activate => &[Institution, Bank, Clerk],
            CheckCardForSettlement | Settle => &[Institution],
            // R-LOSS-1: a pre-loss from every channel the holder reaches; R-LOSS-2: its
            // revocation only at an outlet.
            // The bank: a financial zone's temporary loss, where the region says so (Jinan).
            ReportPreLoss => &[Clerk, Hotline, Kiosk, Holder, Bank],
            RevokePreLoss => &[Clerk, Bank],
            // R-LOSS-3: formal loss at an outlet (a bank too where the region's policy says
            // so: a region's rules may narrow a cell, never widen it).
            FormalLoss => &[Clerk, Bank],
            OnlineReplacement | OwnRecords => &[Holder],
            Exchange | SynchroniseCard | ReprintCertificate | ResetPassword => &[Clerk],
            SecondApplication => &[Clerk, Holder],
            CancelCard => &[Clerk, Operator],
            ReadCertificate => &[Institution, Clerk, Holder, Operator],
            ChangePassword => &[Holder, Clerk, Hotline, Kiosk],
            ReadOutbox => &[Operator, Bank],
            ReadSettlement => &[Institution, Operator, Clerk, Holder],
            ReadSettlements => &[Holder, Clerk, Operator],
            ReverseSettlement => &[Institution, Operator],
            DeclareWorkInjury => &[Operator],
            ManualReimbursement => &[Clerk, Operator],
            PayReimbursements => &[Operator],
            RecordReimbursementResults => &[Bank],
            TraceSettlement | AddCatalogItems | CreditAccount | StartCredits | ReadJob | ReadArrears => &[Operator],
            ReadAccount => &[Operator, Clerk, Holder, Hotline, Kiosk],
            // The holder on the portal, or a clerk for the holder at the counter.
            IssueVoucher => &[Holder, Clerk],
            // R-SET-12: set by the unit or at the outlet (the operator for corrections).
            SetDesignatedInstitutions => &[Unit, Clerk, Operator],
            ReadDesignatedCounts => &[Operator],
            // R-XREG-1: the holder online, a clerk at the counter, the operator.
            RecordFiling => &[Holder, Clerk, Operator],
            PayPremium => &[Holder, Clerk, Bank],
            BindFamilyMember => &[Holder, Clerk],
            RunFamilyDeductions => &[Operator],
            VerifyDatabase | VerifyAudit | LoadCalendar | ReadMessages | ReportMessageSent | IssueToken | ListTokens | RevokeToken => &[Operator],
            IssueHisCredential | ListHisCredentials | RevokeHisCredential => &[Operator],
        }
    }

    /// The roles of [`Operation::roles`] that need the query password of the card asked
    /// about (or of the person's current card) for this operation (R-PWD-1, SPEC §6).
    pub fn query_password_roles(self) -> &'static [Role] {
        match self {
            Operation::ReadPerson | Operation::ReadCard | Operation::ReadCardEvents | Operation::ReadAccount => &[Hotline, Kiosk],
            _ => &[],
        }
    }

    /// The cell of the matrix for a role.
    pub fn access(self, role: Role) -> Option<Access> {
        if !self.roles().contains(&role) {
            None
        } else if self.query_password_roles().contains(&role) {
            Some(Access::WithQueryPassword)
        } else {
            Some(Access::Allowed)
        }
    }

    pub fn as_str(self) -> String {
        let name = format!("{self:?}");
        let mut out = String::new();
        for (i, c) in name.chars().enumerate() {
            if c.is_ascii_uppercase() && i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        }
        out
    }
}

/// A cell of the access matrix that is not a refusal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Allowed,
    /// Allowed once the query password of the card (or the person's current card) is given.
    WithQueryPassword,
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
    /// The person (lookup hash) whose card's query password this request gave, which
    /// opens the matrix's query-password cells for that person's records only.
    pub unlocked: Option<String>,
}

/// The roles that may look at any card.
pub const SEES_EVERY_CARD: [Role; 6] = [Role::Operator, Role::Clerk, Role::Hotline, Role::Kiosk, Role::Institution, Role::Bank];

/// The refusal of a query-password cell without the password.
pub fn query_password_required() -> Refusal {
    Refusal::forbidden("query_password_required", "information at a kiosk or on the hotline needs the query password of the card asked about (X-Query-Password)")
}

impl Principal {
    pub fn channel(&self) -> Channel {
        self.role.channel()
    }

    /// A caller acting for the bureau itself (batch work, the command line).
    pub fn bureau(token_id: i64) -> Principal {
        Principal { token_id, role: Role::Operator, outlet: None, unit: None, institution: None, person_hash: None, unlocked: None }
    }

    /// The caller's cell of the matrix for `op`, or the refusal naming who may.
    pub fn may(&self, op: Operation) -> Result<Access, Refusal> {
        op.access(self.role).ok_or_else(|| {
            let names: Vec<_> = op.roles().iter().map(|r| r.as_str()).collect();
            Refusal::forbidden(
                "not_allowed_on_channel",
                format!("a {} on the {} channel may not do this ({}); it needs: {}", self.role.as_str(), self.channel().as_str(), op.as_str(), names.join(", ")),
            )
        })
    }

    /// Refuses unless the matrix allows `op` outright (a query-password cell is refused
    /// here: only the reads that check the password for a person use [`Principal::allow_for`]).
    pub fn allow(&self, op: Operation) -> Result<(), Refusal> {
        match self.may(op)? {
            Access::Allowed => Ok(()),
            Access::WithQueryPassword => Err(query_password_required()),
        }
    }

    /// Refuses unless the matrix allows `op` on the records of the person `person_hash`:
    /// a query-password cell needs that person's card password given in this request.
    pub fn allow_for(&self, op: Operation, person_hash: &str) -> Result<(), Refusal> {
        match self.may(op)? {
            Access::Allowed => Ok(()),
            Access::WithQueryPassword if self.unlocked.as_deref() == Some(person_hash) => Ok(()),
            Access::WithQueryPassword => Err(query_password_required()),
        }
    }

    /// The outlet, unit or institution the caller acts for, if any.
    pub fn place(&self) -> Option<&str> {
        self.outlet.as_deref().or(self.unit.as_deref()).or(self.institution.as_deref())
    }

    /// How the caller is recorded as an actor: role, what it acts for and the token,
    /// e.g. `clerk:O001#12` (`operator#1` when it acts for no place).
    pub fn actor(&self) -> String {
        match self.place() {
            Some(place) => format!("{}:{place}#{}", self.role.as_str(), self.token_id),
            None => format!("{}#{}", self.role.as_str(), self.token_id),
        }
    }

    /// Who recorded something, as a record shows it to people: `unit U1`, `clerk at O1`,
    /// or the role.
    pub fn recorded_by(&self) -> String {
        match (self.role, &self.unit, &self.outlet) {
            (Role::Unit, Some(u), _) => format!("unit {u}"),
            (Role::Clerk, _, Some(o)) => format!("clerk at {o}"),
            (role, ..) => role.as_str().to_string(),
        }
    }

    /// Whether the caller may see the person `key` (their lookup hash), insured through
    /// `unit`: a unit sees its own people, a holder only themself, every other role anyone
    /// its cell of the matrix lets it read. Callers who may not see a person are told
    /// there is none, so existence does not leak.
    pub fn sees_person(&self, key: &str, unit: Option<&str>) -> bool {
        match self.role {
            Role::Unit => unit.is_some() && unit == self.unit.as_deref(),
            Role::Holder => self.person_hash.as_deref() == Some(key),
            _ => true,
        }
    }

    /// Whether the caller may see a card of the person `holder_key`, insured through
    /// `holder_unit`: a holder their own cards, a unit its people's, a card factory the
    /// cards it makes, and the roles of [`SEES_EVERY_CARD`] any.
    pub fn sees_card(&self, holder_key: &str, holder_unit: Option<&str>) -> bool {
        match self.role {
            Role::Holder => self.person_hash.as_deref() == Some(holder_key),
            Role::Unit => holder_unit.is_some_and(|u| Some(u) == self.unit.as_deref()),
            Role::Vendor => true,
            r => SEES_EVERY_CARD.contains(&r),
        }
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
        let p = Principal { role: Role::Kiosk, ..Principal::bureau(1) };
        assert!(p.require(&[Role::Kiosk, Role::Clerk]).is_ok());
        assert_eq!(p.require(&[Role::Clerk]).unwrap_err().code, "not_allowed_on_channel");
    }

    #[test]
    fn r_pwd_1_kiosk_and_hotline_read_a_person_only_with_the_query_password_of_that_person() {
        let kiosk = Principal { role: Role::Kiosk, ..Principal::bureau(1) };
        assert_eq!(kiosk.allow(Operation::ReadPerson).unwrap_err().code, "query_password_required");
        let unlocked = Principal { unlocked: Some("h1".into()), ..kiosk.clone() };
        assert!(unlocked.allow_for(Operation::ReadPerson, "h1").is_ok());
        assert_eq!(unlocked.allow_for(Operation::ReadPerson, "h2").unwrap_err().code, "query_password_required", "only the person whose password was given");
        assert_eq!(kiosk.allow(Operation::FormalLoss).unwrap_err().code, "not_allowed_on_channel");
        assert!(kiosk.allow(Operation::ReportPreLoss).is_ok());
        // Every operation names who may do it, and a query-password cell is always a subset.
        for op in Operation::ALL {
            assert!(!op.roles().is_empty(), "{op:?}");
            assert!(op.query_password_roles().iter().all(|r| op.roles().contains(r)), "{op:?}");
        }
        let names: std::collections::HashSet<_> = Operation::ALL.iter().map(|o| o.as_str()).collect();
        assert_eq!(names.len(), Operation::ALL.len(), "ALL lists each operation once");
        assert_eq!(Operation::CheckCardForSettlement.as_str(), "check_card_for_settlement");
    }
}
