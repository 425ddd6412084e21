//! What an API key needs for each route: the one table that maps every
//! authenticated route of every function to a scope. A route missing here is
//! refused to every key (fail closed); a test checks that each documented
//! operation is listed.

use axum::http::Method;
use seatflow_domain::ApiScope;

/// What a key needs to call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Any key of the organisation (the route gives a key nothing its
    /// organisation's other routes would not, or refuses machine clients
    /// itself).
    AnyKey,
    /// A key with this scope.
    Scope(ApiScope),
    /// A key with every one of these scopes.
    All(&'static [ApiScope]),
}

impl Need {
    /// The scopes of this need that `held` lacks (none: allowed).
    #[must_use]
    pub fn missing(self, held: &[ApiScope]) -> Vec<ApiScope> {
        match self {
            Need::AnyKey => Vec::new(),
            Need::Scope(needed) => [needed].into_iter().filter(|s| !held.contains(s)).collect(),
            Need::All(needed) => needed.iter().copied().filter(|s| !held.contains(s)).collect(),
        }
    }
}

/// What a key needs for `method` on the route `template` (as the router
/// matched it, e.g. `/v1/users/{user_id}`); `None` for a route no key may call.
#[must_use]
pub fn required(method: &Method, template: &str) -> Option<Need> {
    use ApiScope::{
        AuditRead, BillingRead, BillingWrite, EntitlementsRead, SeatsRead, SeatsWrite, SettingsWrite,
        UsersRead, UsersWrite,
    };
    use Need::{AnyKey, Scope};
    let read = *method == Method::GET || *method == Method::HEAD;
    if template.starts_with("/scim/v2/") {
        return Some(Scope(ApiScope::Scim));
    }
    let need = match (read, template) {
        (_, "/v1/catalog" | "/v1/me" | "/v1/checkout/quote") => AnyKey,
        // The domain refuses machine clients: keys never manage keys.
        (_, "/v1/api-keys" | "/v1/api-keys/{key_id}") => AnyKey,
        // The domain refuses machine clients: a key is no person to sign in.
        (false, "/v1/portal/hand-offs") => AnyKey,
        (true, "/v1/entitlements" | "/v1/entitlements/token") => Scope(EntitlementsRead),
        (true, "/v1/directory-sync") => Scope(UsersRead),
        (false, "/v1/directory-sync") => Scope(SettingsWrite),
        (true, "/v1/audit") => Scope(AuditRead),
        (true, "/v1/teams" | "/v1/teams/{team_id}" | "/v1/users" | "/v1/users/{user_id}") => Scope(UsersRead),
        (
            false,
            "/v1/teams" | "/v1/teams/{team_id}" | "/v1/users" | "/v1/users/{user_id}" | "/v1/users/import",
        ) => Scope(UsersWrite),
        (
            true,
            "/v1/licenses" | "/v1/subscriptions" | "/v1/add-ons" | "/v1/allocations" | "/v1/usage"
            | "/v1/usage/activity",
        ) => Scope(SeatsRead),
        // Who holds which seat, by name and email: people's data as well.
        (true, "/v1/assignments") => Need::All(&[SeatsRead, UsersRead]),
        (
            false,
            "/v1/teams/{team_id}/allocations/{product}"
            | "/v1/allocations/moves"
            | "/v1/assignments"
            | "/v1/assignments/{product}/{user_id}"
            | "/v1/transfers"
            | "/v1/users/{user_id}/add-ons"
            | "/v1/users/{user_id}/add-ons/{product}",
        ) => Scope(SeatsWrite),
        (_, "/v1/notifications") => Scope(SettingsWrite),
        // Endpoints and their delivery logs (which hold events' data) are
        // the organisation's integration settings, read or written.
        (
            _,
            "/v1/webhook-endpoints"
            | "/v1/webhook-endpoints/{endpoint_id}"
            | "/v1/webhook-endpoints/{endpoint_id}/secret"
            | "/v1/webhook-endpoints/{endpoint_id}/deliveries"
            | "/v1/webhook-endpoints/{endpoint_id}/deliveries/{event_id}/redeliver",
        ) => Scope(SettingsWrite),
        (true, "/v1/checkout/sessions/{id}/confirmation" | "/v1/license-management") => Scope(BillingRead),
        // Automatic license management spends the organisation's money.
        (false, "/v1/license-management") => Scope(BillingWrite),
        (
            false,
            "/v1/checkout/sessions"
            | "/v1/subscriptions/{id}/seats"
            | "/v1/subscriptions/{id}/cancellation"
            | "/v1/subscriptions/{id}/renewal-seats"
            | "/v1/subscriptions/{id}/plan"
            | "/v1/billing/portal",
        ) => Scope(BillingWrite),
        // seatflow-local's stand-ins (outbox, reminders, reconciliation, offline Stripe).
        (_, dev) if dev.starts_with("/dev/") => AnyKey,
        _ => return None,
    };
    Some(need)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_writes_need_their_own_scopes_and_unknown_routes_none() {
        assert_eq!(
            required(&Method::GET, "/v1/users"),
            Some(Need::Scope(ApiScope::UsersRead))
        );
        assert_eq!(
            required(&Method::POST, "/v1/users"),
            Some(Need::Scope(ApiScope::UsersWrite))
        );
        assert_eq!(
            required(&Method::DELETE, "/v1/assignments/{product}/{user_id}"),
            Some(Need::Scope(ApiScope::SeatsWrite))
        );
        assert_eq!(required(&Method::GET, "/v1/unheard-of"), None);
    }

    #[test]
    fn the_assignment_export_needs_people_as_well_as_seats() {
        let need = required(&Method::GET, "/v1/assignments").expect("listed");
        assert_eq!(need.missing(&[ApiScope::SeatsRead]), vec![ApiScope::UsersRead]);
        assert_eq!(need.missing(&[ApiScope::SeatsRead, ApiScope::UsersRead]), vec![]);
        assert_eq!(
            required(&Method::GET, "/v1/licenses")
                .expect("listed")
                .missing(&[ApiScope::SeatsRead]),
            vec![]
        );
    }
}
