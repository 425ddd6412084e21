//! Identifiers. Each is a newtype whose constructor is the only way in, so an id
//! that reaches the domain is always well formed.

use serde::{Deserialize, Serialize};
use std::fmt;

use crate::error::ValidationError;

/// Longest id accepted from outside; keeps keys small in every store.
pub const MAX_ID_LEN: usize = 64;

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Parses an id: 1 to 64 characters of ASCII letters, digits, `_` or `-`.
            ///
            /// # Errors
            /// [`ValidationError`] naming the id kind when the text is not a valid id.
            pub fn parse(text: impl Into<String>) -> Result<Self, ValidationError> {
                let text = text.into();
                if is_valid_id(&text) {
                    Ok(Self(text))
                } else {
                    Err(ValidationError::new(
                        stringify!($name),
                        "must be 1 to 64 characters of letters, digits, '_' or '-'",
                    ))
                }
            }

            /// A fresh random id with this kind's prefix.
            #[must_use]
            pub fn generate() -> Self {
                Self(format!("{}_{}", $prefix, uuid::Uuid::new_v4().simple()))
            }

            /// The id as text.
            #[must_use]
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = ValidationError;
            fn try_from(text: String) -> Result<Self, Self::Error> {
                Self::parse(text)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::str::FromStr for $name {
            type Err = ValidationError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }
    };
}

fn is_valid_id(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= MAX_ID_LEN
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

string_id!(
    /// A customer organisation: the boundary no caller ever crosses.
    OrgId,
    "org"
);
string_id!(
    /// A team inside an organisation.
    TeamId,
    "team"
);
string_id!(
    /// A user (person) inside an organisation.
    UserId,
    "usr"
);
string_id!(
    /// A licensable product: a plan's base seat or an add-on (catalog key).
    ProductId,
    "prod"
);
string_id!(
    /// A machine client's API key (the id, never the secret).
    ApiKeyId,
    "key"
);
string_id!(
    /// A payment provider's subscription (`sub_…`).
    SubscriptionId,
    "sub"
);
string_id!(
    /// A manual grant of seats (a sales contract, a demo seed).
    GrantId,
    "grant"
);
string_id!(
    /// An outbound webhook endpoint.
    EndpointId,
    "we"
);

/// An audit entry's id. Time-ordered (UUID v7 from the injected clock), so that
/// ordering by id is ordering by time (to the millisecond; entries of the same
/// millisecond in random order) and serves as a pagination cursor. Written as
/// 32 lower-case hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(value_type = String))]
#[serde(try_from = "String", into = "String")]
pub struct AuditId(uuid::Uuid);

impl AuditId {
    /// A new id for an entry made at `at`.
    #[must_use]
    pub fn new(at: chrono::DateTime<chrono::Utc>) -> Self {
        let millis = u64::try_from(at.timestamp_millis()).unwrap_or(0);
        let nanos = u32::try_from(millis % 1000).unwrap_or(0) * 1_000_000;
        let ts = uuid::Timestamp::from_unix(uuid::NoContext, millis / 1000, nanos);
        Self(uuid::Uuid::new_v7(ts))
    }

    /// Parses a cursor previously handed out.
    ///
    /// # Errors
    /// [`ValidationError`] when the text is not a 32-digit hex id.
    pub fn parse(text: impl Into<String>) -> Result<Self, ValidationError> {
        let text = text.into();
        let invalid = || ValidationError::new("cursor", "is not a cursor this API handed out");
        if text.len() != 32 {
            return Err(invalid());
        }
        uuid::Uuid::try_parse(&text).map(Self).map_err(|_| invalid())
    }
}

impl TryFrom<String> for AuditId {
    type Error = ValidationError;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        Self::parse(text)
    }
}

impl From<AuditId> for String {
    fn from(id: AuditId) -> String {
        id.to_string()
    }
}

impl fmt::Display for AuditId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.simple())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_refuse_empty_long_and_odd_characters() {
        assert!(UserId::parse("").is_err());
        assert!(UserId::parse("a".repeat(65)).is_err());
        assert!(UserId::parse("a/b").is_err());
        assert!(UserId::parse("usr_alice-1").is_ok());
    }

    #[test]
    fn audit_ids_round_trip_as_hex_cursors() {
        let id = AuditId::new(chrono::DateTime::from_timestamp(1_700_000_000, 0).expect("valid time"));
        assert_eq!(AuditId::parse(id.to_string()).expect("round trip"), id);
        assert!(AuditId::parse("nope").is_err());
        assert!(AuditId::parse("z".repeat(32)).is_err());
    }

    #[test]
    fn audit_ids_sort_by_time() {
        let early = chrono::DateTime::from_timestamp(1_700_000_000, 0).expect("valid time");
        let late = chrono::DateTime::from_timestamp(1_700_000_001, 0).expect("valid time");
        assert!(AuditId::new(early) < AuditId::new(late));
    }
}
