//! [`closed_set!`]: an enum whose values each have one spelling, the one API.md, the
//! files and the database use.

/// Declares an enum of unit variants, each with its text (`Variant = "text"`), and gives
/// it `ALL`, `as_str`, `parse` (the text back to the value, `None` outside the set),
/// `one_of` (a request's text among some of the values), `Display` and serde as that
/// text.
///
/// ```
/// yikatong_core::closed_set! {
///     /// A traffic light.
///     pub enum Light { Red = "red", Green = "green" }
/// }
/// assert_eq!(Light::parse("red"), Some(Light::Red));
/// assert_eq!(Light::Green.to_string(), "green");
/// assert_eq!(Light::parse("blue"), None);
/// ```
#[macro_export]
macro_rules! closed_set {
    ($(#[$meta:meta])* pub enum $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $text)] $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The value's one spelling.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            /// The value spelled `text`; `None` when `text` is outside the set.
            pub fn parse(text: &str) -> Option<$name> {
                Self::ALL.iter().copied().find(|v| v.as_str() == text)
            }

            /// The set's spellings, joined for a message (`a, b, c`).
            pub fn spellings() -> String {
                Self::joined(Self::ALL)
            }

            /// `text` as one of `allowed` (`default` when there is no text); otherwise
            /// the allowed spellings, joined, for the refusal to name.
            pub fn one_of(text: Option<&str>, allowed: &[$name], default: $name) -> Result<$name, String> {
                match text {
                    None => Ok(default),
                    Some(t) => Self::parse(t).filter(|v| allowed.contains(v)).ok_or_else(|| Self::joined(allowed)),
                }
            }

            fn joined(values: &[$name]) -> String {
                values.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", ")
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use crate::access::Role;
    use crate::account::EntryKind;
    use crate::identity::Gender;
    use crate::registry::OrganisationKind;
    use crate::settlement::ClaimState;

    /// Each value has one spelling: `parse` gives back what `as_str` wrote, serde writes
    /// the same text, and text outside the set parses to nothing.
    fn one_spelling<T>(all: &[T], as_str: fn(T) -> &'static str, parse: fn(&str) -> Option<T>)
    where
        T: Copy + PartialEq + std::fmt::Debug + serde::Serialize,
    {
        for v in all {
            assert_eq!(parse(as_str(*v)), Some(*v));
            assert_eq!(serde_json::to_value(v).unwrap(), serde_json::Value::String(as_str(*v).into()));
        }
        assert_eq!(parse("no-such-value"), None);
        assert_eq!(parse(&as_str(all[0]).to_uppercase()), None, "spelling is exact");
    }

    #[test]
    fn every_closed_set_has_one_spelling_per_value() {
        one_spelling(Gender::ALL, Gender::as_str, Gender::parse);
        one_spelling(OrganisationKind::ALL, OrganisationKind::as_str, OrganisationKind::parse);
        one_spelling(EntryKind::ALL, EntryKind::as_str, EntryKind::parse);
        one_spelling(ClaimState::ALL, ClaimState::as_str, ClaimState::parse);
        one_spelling(&Role::ALL, Role::as_str, |s| Role::parse(s).ok());
        assert_eq!(ClaimState::spellings(), "submitted, approved, sent, paid, failed");
    }

    #[test]
    fn a_request_names_the_kinds_it_may_use() {
        assert_eq!(OrganisationKind::of_unit(None).unwrap(), OrganisationKind::Employer);
        assert_eq!(OrganisationKind::of_unit(Some("school")).unwrap(), OrganisationKind::School);
        let refused = OrganisationKind::of_unit(Some("instant_issue")).unwrap_err();
        assert_eq!(refused.code, "invalid_unit_kind");
        assert!(refused.message.contains("employer, job_centre"), "{}", refused.message);
        assert_eq!(OrganisationKind::of_outlet(None).unwrap(), OrganisationKind::Counter);
        assert_eq!(OrganisationKind::of_outlet(Some("school")).unwrap_err().code, "invalid_outlet_kind");

        assert_eq!(EntryKind::by_operator(None).unwrap(), EntryKind::Credit);
        assert_eq!(EntryKind::by_operator(Some("transfer_in")).unwrap(), EntryKind::TransferIn);
        let refused = EntryKind::by_operator(Some("settlement")).unwrap_err();
        assert_eq!(refused.code, "invalid_kind", "an operator cannot write a settlement's entry");
        assert!(refused.message.contains("credit, transfer_in, correction"), "{}", refused.message);
    }
}
