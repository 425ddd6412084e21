//! The filters identity providers send (RFC 7644 §3.4.2.2): an attribute,
//! `eq`, and a quoted value, such as `userName eq "ann@example.com"`. Other
//! filters are refused with `invalidFilter`.

use axum::http::StatusCode;

use super::ScimError;

/// `attribute eq "value"`, the attribute as written (compared without case).
#[derive(Debug, PartialEq, Eq)]
pub struct Equality {
    /// The attribute.
    pub attribute: String,
    /// The value.
    pub value: String,
}

/// Parses `filter`, accepting only `attribute eq "value"` on `allowed`
/// attributes (any case).
pub fn equality(filter: &str, allowed: &[&str]) -> Result<Equality, ScimError> {
    let refused = || {
        ScimError::new(
            StatusCode::BAD_REQUEST,
            Some("invalidFilter"),
            format!(
                "seatflow filters with `attribute eq \"value\"` on {}; got: {filter}",
                allowed.join(", ")
            ),
        )
    };
    let filter = filter.trim();
    let (attribute, rest) = filter.split_once(char::is_whitespace).ok_or_else(refused)?;
    let (op, value) = rest
        .trim_start()
        .split_once(char::is_whitespace)
        .ok_or_else(refused)?;
    if !op.eq_ignore_ascii_case("eq") {
        return Err(refused());
    }
    let value = value.trim();
    let value: String = serde_json::from_str(value).map_err(|_| refused())?;
    let attribute = allowed
        .iter()
        .find(|a| a.eq_ignore_ascii_case(attribute))
        .ok_or_else(refused)?;
    Ok(Equality {
        attribute: (*attribute).to_owned(),
        value,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_equality_on_an_allowed_attribute_parses_and_others_are_refused() {
        assert_eq!(
            equality(r#"userName eq "ann@example.com""#, &["userName"]).expect("parses"),
            Equality {
                attribute: "userName".into(),
                value: "ann@example.com".into()
            }
        );
        assert_eq!(
            equality(r#"USERNAME Eq "a \"quoted\" name""#, &["userName"])
                .expect("parses")
                .value,
            r#"a "quoted" name"#
        );
        for bad in [
            r#"userName co "ann""#,
            r#"title eq "x""#,
            "userName eq ann",
            r#"userName eq "a" and active eq true"#,
            "",
        ] {
            assert!(equality(bad, &["userName"]).is_err(), "{bad}");
        }
    }
}
