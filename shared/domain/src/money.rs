//! Money as integer minor units with a currency; never floats.

use serde::{Deserialize, Serialize};
use std::fmt;

use crate::error::ValidationError;

/// An ISO 4217 currency code, upper case (`USD`, `EUR`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(try_from = "String", into = "String")]
pub struct Currency(String);

impl Currency {
    /// Parses a three-letter code; lower case is accepted and normalised.
    ///
    /// # Errors
    /// [`ValidationError`] when the code is not three ASCII letters.
    pub fn parse(code: &str) -> Result<Self, ValidationError> {
        if code.len() == 3 && code.bytes().all(|b| b.is_ascii_alphabetic()) {
            Ok(Self(code.to_ascii_uppercase()))
        } else {
            Err(ValidationError::new(
                "currency",
                "must be a three-letter ISO 4217 code",
            ))
        }
    }

    /// The code, upper case.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Currency {
    type Error = ValidationError;
    fn try_from(code: String) -> Result<Self, Self::Error> {
        Self::parse(&code)
    }
}

impl From<Currency> for String {
    fn from(c: Currency) -> String {
        c.0
    }
}

/// An amount in the currency's minor unit (cents for USD).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Money {
    /// Amount in minor units.
    pub minor: i64,
    /// ISO 4217 code.
    pub currency: Currency,
}

impl Money {
    /// An amount of `minor` units of `currency`.
    #[must_use]
    pub fn new(minor: i64, currency: Currency) -> Self {
        Self { minor, currency }
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.minor < 0 { "-" } else { "" };
        let abs = self.minor.unsigned_abs();
        write!(
            f,
            "{sign}{}.{:02} {}",
            abs / 100,
            abs % 100,
            self.currency.as_str()
        )
    }
}

/// `amount × numerator / denominator`, rounded half away from zero, in i128 so
/// that no intermediate product overflows.
#[must_use]
pub fn mul_div_round(amount: i64, numerator: i64, denominator: i64) -> i64 {
    debug_assert!(denominator > 0);
    let product = i128::from(amount) * i128::from(numerator);
    let d = i128::from(denominator);
    let rounded = if product >= 0 {
        (product + d / 2) / d
    } else {
        (product - d / 2) / d
    };
    i64::try_from(rounded).unwrap_or(if rounded > 0 { i64::MAX } else { i64::MIN })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_is_half_away_from_zero() {
        assert_eq!(mul_div_round(100, 1, 3), 33);
        assert_eq!(mul_div_round(100, 2, 3), 67);
        assert_eq!(mul_div_round(1, 1, 2), 1);
        assert_eq!(mul_div_round(-1, 1, 2), -1);
    }

    #[test]
    fn money_displays_in_major_units() {
        let usd = Currency::parse("usd").expect("valid");
        assert_eq!(Money::new(123_456, usd).to_string(), "1234.56 USD");
    }
}
