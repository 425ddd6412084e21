//! The demo organisation `seatflow-local` starts with, so the API has
//! something to show. Its ids are fixed so the README walkthrough works as written.

use seatflow_domain::{
    Actor, DisplayName, Email, Mode, NewGrant, NewUser, OrgId, ProductId, Role, SeatError, Seats, TeamId,
    UserId,
};

pub const ORG: &str = "org_demo";
pub const ADMIN: &str = "usr_alice";
pub const MANAGER: &str = "usr_bob";
pub const MEMBER: &str = "usr_carol";
pub const ENGINEERING: &str = "team_engineering";
pub const DESIGN: &str = "team_design";

#[allow(clippy::expect_used, reason = "a constant id, checked by the tests")]
pub fn org() -> OrgId {
    OrgId::parse(ORG).expect("valid demo id")
}

#[allow(clippy::expect_used, reason = "the demo's constant ids, checked by the tests")]
fn id<T: std::str::FromStr>(text: &str) -> T
where
    T::Err: std::fmt::Debug,
{
    text.parse().expect("valid demo id")
}

/// Creates the demo organisation: 25 Professional seats, 10 SSO, 5 Advanced
/// Analytics (manual grants, which no subscription overwrites); an Engineering team allocated 10 Professional seats and a Design
/// team; four people, two of them holding seats.
///
/// Does nothing if the organisation exists (a persistent store seeded before).
pub async fn seed(seats: &Seats) -> Result<(), SeatError> {
    if seats.organizations().organization(&org()).await?.is_some() {
        return Ok(());
    }
    let system = Actor::system(org(), "demo-seed");
    seats
        .organizations()
        .create_organization(&system, "Demo Co", Mode::Apply)
        .await?;
    for (product, quantity) in [("professional", 25), ("sso", 10), ("analytics", 5)] {
        let grant = NewGrant::parse(id::<ProductId>(product), quantity, None, "demo seed")?;
        seats
            .subscriptions()
            .grant_seats(&system, &grant, Mode::Apply)
            .await?;
    }
    seats
        .directory()
        .create_team(&system, Some(&id(ENGINEERING)), "Engineering", Mode::Apply)
        .await?;
    seats
        .directory()
        .create_team(&system, Some(&id(DESIGN)), "Design", Mode::Apply)
        .await?;
    let professional: ProductId = id("professional");
    seats
        .allocations()
        .set_allocation(&system, &id(ENGINEERING), &professional, Some(10), Mode::Apply)
        .await?;
    let people = [
        (ADMIN, "Alice Admin", Role::Admin, None, true),
        (MANAGER, "Bob Manager", Role::TeamManager, Some(ENGINEERING), true),
        (MEMBER, "Carol Member", Role::Member, Some(ENGINEERING), true),
        ("usr_dave", "Dave Designer", Role::Member, Some(DESIGN), false),
    ];
    for (user, name, role, team, seat) in people {
        let new = NewUser {
            id: Some(id::<UserId>(user)),
            name: DisplayName::parse(name)?,
            email: Some(Email::parse(&format!(
                "{}@demo.example",
                user.trim_start_matches("usr_")
            ))?),
            directory: None,
            role,
            team: team.map(id::<TeamId>),
        };
        seats
            .directory()
            .create_user(&system, new, seat.then_some(&professional), Mode::Apply)
            .await?;
    }
    Ok(())
}
