//! A seeded organisation over any store: catalog, clock, pools, teams, users.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use seatflow_domain::{
    Actor, Assignment, Catalog, DisplayName, Email, EntitlementStore, ManualClock, Mode, NewGrant, NewUser,
    OrgId, Principal, ProductId, Role, SeatGrant, SeatPool, Seats, TeamId, TeamSeats, User, UserId,
};

use crate::reads::StoreReads as _;

/// The instant every fixture clock starts at.
#[must_use]
pub fn start_time() -> DateTime<Utc> {
    DateTime::from_timestamp(1_790_000_000, 0).expect("valid timestamp")
}

/// An organisation id from a literal.
#[must_use]
pub fn org(id: &str) -> OrgId {
    OrgId::parse(id).expect("valid org id")
}

/// A product id from a literal.
#[must_use]
pub fn product(id: &str) -> ProductId {
    ProductId::parse(id).expect("valid product id")
}

/// A service over a store with a manual clock, and an admin of one organisation.
#[derive(Debug, Clone)]
pub struct Fixture {
    /// The service.
    pub seats: Seats,
    /// The store underneath.
    pub store: Arc<dyn EntitlementStore>,
    /// The clock, movable.
    pub clock: Arc<ManualClock>,
    /// An admin of `org`.
    pub admin: Actor,
}

impl Fixture {
    /// A fixture for organisation `org_id` (created) on `store`.
    pub async fn new(store: Arc<dyn EntitlementStore>, org_id: &str) -> Self {
        Self::named(store, org_id, "Fixture Org").await
    }

    /// A fixture for organisation `org_id` called `name` (created) on `store`.
    pub async fn named(store: Arc<dyn EntitlementStore>, org_id: &str, name: &str) -> Self {
        let clock = Arc::new(ManualClock::at(start_time()));
        let catalog = Arc::new(Catalog::default_catalog().expect("shipped catalog"));
        let seats = Seats::new(store.clone(), clock.clone(), catalog);
        let admin = Actor {
            org: org(org_id),
            principal: Principal::User(UserId::parse("usr_admin").expect("id")),
            role: Role::Admin,
            teams: Vec::new(),
            grants_admin: true,
        };
        let fixture = Self {
            seats,
            store,
            clock,
            admin,
        };
        fixture
            .seats
            .organizations()
            .create_organization(&Actor::system(org(org_id), "fixture"), name, Mode::Apply)
            .await
            .expect("organisation created");
        fixture
    }

    /// The vendor acting on this organisation (grants).
    #[must_use]
    pub fn vendor(&self) -> Actor {
        Actor::system(self.admin.org.clone(), "fixture")
    }

    /// Grants `seats` of `product_id` (a manual grant, as the vendor).
    pub async fn grant(&self, product_id: &str, seats: u32) -> SeatGrant {
        let grant = NewGrant::parse(product(product_id), seats, None, "test fixture").expect("grant");
        self.seats
            .subscriptions()
            .grant_seats(&self.vendor(), &grant, Mode::Apply)
            .await
            .expect("seats granted")
            .value
    }

    /// Sets the purchased seats of `product_id` (when no subscription names
    /// it): ends its grants and grants `seats`.
    pub async fn buy(&self, product_id: &str, seats: u32) {
        let wanted = product(product_id);
        for grant in self
            .seats
            .subscriptions()
            .grants(&self.admin)
            .await
            .expect("grants")
        {
            if grant.product == wanted && grant.counts() {
                self.seats
                    .subscriptions()
                    .end_grant(&self.vendor(), &grant.id)
                    .await
                    .expect("grant ended");
            }
        }
        if seats > 0 {
            self.grant(product_id, seats).await;
        }
    }

    /// Manages licenses automatically (a full pool buys the seat), with at
    /// most `max` seats bought per product and period, telling whoever is
    /// told when `notify`.
    pub async fn buy_automatically(&self, max: Option<u32>, notify: bool) {
        self.seats
            .subscriptions()
            .set_license_management(
                &self.admin,
                &seatflow_domain::LicenseManagement {
                    mode: seatflow_domain::LicenseMode::Automatic,
                    max_auto_seats_per_period: max,
                    notify,
                },
                Mode::Apply,
            )
            .await
            .expect("license management set");
    }

    /// Creates a team.
    pub async fn team(&self, name: &str) -> TeamId {
        self.seats
            .directory()
            .create_team(&self.admin, None, name, Mode::Apply)
            .await
            .expect("team created")
            .value
            .id
    }

    /// Creates a member (optionally in a team) with no seat.
    pub async fn user(&self, name: &str, team: Option<&TeamId>) -> User {
        self.user_with_role(name, team, Role::Member).await
    }

    /// Creates a user with `role` (email `{name}@example.com`, lower case).
    pub async fn user_with_role(&self, name: &str, team: Option<&TeamId>, role: Role) -> User {
        let new = NewUser {
            id: None,
            name: DisplayName::parse(name).expect("valid name"),
            email: Some(
                Email::parse(&format!("{}@example.com", name.to_lowercase().replace(' ', ".")))
                    .expect("email"),
            ),
            directory: None,
            role,
            team: team.cloned(),
        };
        self.seats
            .directory()
            .create_user(&self.admin, new, None, Mode::Apply)
            .await
            .expect("user created")
            .value
            .user
    }

    /// A team manager of `teams` in the fixture's organisation.
    #[must_use]
    pub fn manager(&self, teams: &[TeamId]) -> Actor {
        Actor {
            org: self.admin.org.clone(),
            principal: Principal::User(UserId::parse("usr_manager").expect("id")),
            role: Role::TeamManager,
            teams: teams.to_vec(),
            grants_admin: true,
        }
    }

    /// The caller `user` acting as a member.
    #[must_use]
    pub fn member(&self, user: &UserId) -> Actor {
        Actor {
            org: self.admin.org.clone(),
            principal: Principal::User(user.clone()),
            role: Role::Member,
            teams: Vec::new(),
            grants_admin: true,
        }
    }

    /// Assigns a seat of `product` to `user` as the admin.
    pub async fn assign(&self, product: &ProductId, user: &UserId) -> Assignment {
        self.seats
            .allocations()
            .assign(&self.admin, product, user, Mode::Apply)
            .await
            .unwrap_or_else(|e| panic!("assigning {product} to {user}: {e}"))
            .value
    }

    /// Imports `rows` as the admin (applied), answering the report.
    pub async fn import(&self, rows: &[seatflow_domain::ImportRow]) -> seatflow_domain::ImportReport {
        self.seats
            .directory()
            .import_users(&self.admin, rows, Mode::Apply)
            .await
            .expect("import answered")
    }

    /// The code of the refusal of assigning `product` to `user` as the admin.
    pub async fn refused_assign(&self, product: &ProductId, user: &UserId) -> &'static str {
        match self
            .seats
            .allocations()
            .assign(&self.admin, product, user, Mode::Apply)
            .await
        {
            Ok(_) => panic!("assigning {product} to {user} was expected to be refused"),
            Err(e) => e.code(),
        }
    }

    /// Takes `user`'s seat of `product` as the admin: the seats that went.
    pub async fn unassign(&self, product: &ProductId, user: &UserId) -> Vec<Assignment> {
        self.seats
            .allocations()
            .unassign(&self.admin, product, user, Mode::Apply)
            .await
            .unwrap_or_else(|e| panic!("unassigning {product} from {user}: {e}"))
            .value
    }

    /// Sets `team`'s allocation of `product` as the admin.
    pub async fn allocate(&self, team: &TeamId, product: &ProductId, seats: Option<u32>) -> TeamSeats {
        self.seats
            .allocations()
            .set_allocation(&self.admin, team, product, seats, Mode::Apply)
            .await
            .unwrap_or_else(|e| panic!("allocating {seats:?} {product} to {team}: {e}"))
            .value
    }

    /// The pool of `product` as stored (panics when there is none).
    pub async fn pool(&self, product: &ProductId) -> SeatPool {
        self.store
            .pool(&self.admin.org, product)
            .await
            .expect("read")
            .unwrap_or_else(|| panic!("no {product} pool"))
    }

    /// Checks that every pool's and team's counters equal a recount of the
    /// assignments, that no team grows past its allocation (or what it held
    /// when the allocation was set below that), and that no add-on is held
    /// without a base seat.
    pub async fn assert_counters_match_assignments(&self) {
        let org = &self.admin.org;
        let rows = self
            .seats
            .views()
            .assignment_rows(&self.admin)
            .await
            .expect("export");
        for pool in self.store.pools(org).await.expect("pools") {
            let held = rows
                .iter()
                .filter(|r| r.assignment.product == pool.product)
                .count();
            assert_eq!(
                pool.assigned as usize, held,
                "pool {} counter vs assignments",
                pool.product
            );
            assert!(pool.assigned_in_allocations <= pool.assigned);
        }
        for seats in self.store.all_team_seats(org).await.expect("team seats") {
            let held = rows
                .iter()
                .filter(|r| {
                    r.assignment.product == seats.product && r.assignment.team.as_ref() == Some(&seats.team)
                })
                .count();
            assert_eq!(
                seats.assigned as usize, held,
                "team {} {} counter",
                seats.team, seats.product
            );
            // A team grows only while under its allocation; set below its
            // use, it holds what it held then (its pool share) at most.
            if let Some(allocated) = seats.allocated {
                let ceiling = seats.pool_share.unwrap_or(allocated).max(allocated);
                assert!(
                    seats.assigned <= ceiling,
                    "team usage within allocation or pool share"
                );
            }
        }
        let catalog = self.seats.catalog();
        for row in &rows {
            if !catalog.is_plan(&row.assignment.product) {
                assert!(
                    rows.iter()
                        .any(|r| r.user.id == row.user.id && catalog.is_plan(&r.assignment.product)),
                    "add-on {} of {} without a base seat",
                    row.assignment.product,
                    row.user.id
                );
            }
        }
    }
}
