//! The filters identity providers send (RFC 7644 §3.4.2.2): an attribute,
//! `eq`, and a quoted value, such as `userName eq "ann@example.com"`; for
//! groups also a member (`members[value eq "usr_…"]`), alone or after `and`.
//! Other filters are refused with `invalidFilter`.

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

/// A Groups filter: an equality on a group attribute, a member, or both
/// (`id eq "team_…" and members[value eq "usr_…"]`, how Microsoft Entra
/// checks one membership without reading the group's members).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct GroupFilter {
    /// The equality on a group attribute, if any.
    pub equality: Option<Equality>,
    /// The user id a group must have as a member, if any.
    pub member: Option<String>,
}

/// Parses a Groups `filter`: `attribute eq "value"` on `allowed`,
/// `members[value eq "id"]`, or the two joined by `and`.
pub fn group_filter(filter: &str, allowed: &[&str]) -> Result<GroupFilter, ScimError> {
    let refused = || {
        ScimError::new(
            StatusCode::BAD_REQUEST,
            Some("invalidFilter"),
            format!(
                "seatflow filters groups with `attribute eq \"value\"` on {}, `members[value eq \"id\"]`, \
                 or the two joined by `and`; got: {filter}",
                allowed.join(", ")
            ),
        )
    };
    let mut found = GroupFilter::default();
    for part in conjuncts(filter) {
        let inner = part
            .get(..8)
            .filter(|head| head.eq_ignore_ascii_case("members["))
            .and_then(|_| part[8..].strip_suffix(']'));
        match inner {
            Some(inner) if found.member.is_none() => {
                found.member = Some(equality(inner, &["value"]).map_err(|_| refused())?.value);
            }
            None if found.equality.is_none() => found.equality = Some(equality(part, allowed)?),
            _ => return Err(refused()),
        }
    }
    if found == GroupFilter::default() {
        return Err(refused());
    }
    Ok(found)
}

/// `filter` split at each `and` outside quotes and brackets.
fn conjuncts(filter: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut start, mut depth, mut quoted, mut escaped) = (0, 0_i32, false, false);
    let bytes = filter.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if quoted {
            match (escaped, c) {
                (false, b'\\') => escaped = true,
                (false, b'"') => quoted = false,
                _ => escaped = false,
            }
        } else {
            match c {
                b'"' => quoted = true,
                b'[' => depth += 1,
                b']' => depth -= 1,
                _ if depth == 0
                    && c.is_ascii_whitespace()
                    && bytes.len() > i + 4
                    && bytes[i + 1..i + 4].eq_ignore_ascii_case(b"and")
                    && bytes[i + 4].is_ascii_whitespace() =>
                {
                    parts.push(filter[start..i].trim());
                    i += 4;
                    start = i;
                }
                _ => {}
            }
        }
        i += 1;
    }
    parts.push(filter[start..].trim());
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_groups_filter_takes_an_equality_a_member_or_both() {
        let groups = ["displayName", "id"];
        assert_eq!(
            group_filter(r#"id eq "team_1" and members[value eq "usr_2"]"#, &groups).expect("parses"),
            GroupFilter {
                equality: Some(Equality {
                    attribute: "id".into(),
                    value: "team_1".into()
                }),
                member: Some("usr_2".into()),
            }
        );
        let member_only = group_filter(r#"MEMBERS[Value EQ "usr_2"]"#, &groups).expect("parses");
        assert_eq!(
            (member_only.equality, member_only.member.as_deref()),
            (None, Some("usr_2"))
        );
        let named = group_filter(r#"displayName eq "Sales and Marketing""#, &groups).expect("parses");
        assert_eq!(
            named.equality.map(|e| e.value).as_deref(),
            Some("Sales and Marketing")
        );
        for bad in [
            r#"members[value eq "a"] and members[value eq "b"]"#,
            r#"id eq "a" and id eq "b""#,
            r#"id eq "a" or members[value eq "b"]"#,
            r#"members[display eq "b"]"#,
            r#"members[value eq "b""#,
            r#"id eq "a" and"#,
            "",
        ] {
            assert!(group_filter(bad, &groups).is_err(), "{bad}");
        }
    }

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
