//! What the seats API's benchmarks share: an organisation with seats and an
//! admin, as the vendor's operator would set it up.

use seatflow_domain::{Actor, DisplayName, Email, Mode, NewGrant, NewUser, OrgId, ProductId, Role, UserId};
use seatflow_http::AppState;

/// Creates organisation `org` with `seats` Professional seats (a grant) and
/// an admin, `usr_admin`; answers the admin's bearer token (an hour).
pub async fn organisation_with_admin(state: &AppState, org: &str, seats: u32) -> String {
    let org = OrgId::parse(org).expect("org");
    let system = Actor::system(org.clone(), "bench");
    let service = &state.seats;
    service
        .organizations()
        .create_organization(&system, "Bench Inc", Mode::Apply)
        .await
        .expect("org");
    let grant = NewGrant::parse(
        ProductId::parse("professional").expect("id"),
        seats,
        None,
        "bench",
    )
    .expect("grant");
    service
        .subscriptions()
        .grant_seats(&system, &grant, Mode::Apply)
        .await
        .expect("seats");
    let admin = UserId::parse("usr_admin").expect("id");
    let new = NewUser {
        id: Some(admin.clone()),
        name: DisplayName::parse("Admin").expect("name"),
        email: Some(Email::parse(&format!("admin@{org}.example")).expect("email")),
        directory: None,
        role: Role::Admin,
        team: None,
    };
    service
        .directory()
        .create_user(&system, new, None, Mode::Apply)
        .await
        .expect("admin");
    state
        .auth
        .mint(&admin, &org, Role::Admin, &[], 3600)
        .expect("token")
}
