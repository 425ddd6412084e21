//! Latency and capacity per seat operation on the DynamoDB store, against
//! moto server (run it through `scripts/with-moto.sh`; see BENCHMARKS.md).
//!
//! An organisation of 50 seat holders (25 in team Red, which has an
//! allocation); each operation runs `ROUNDS` times and is timed alone. For each
//! it prints p50/p99 latency, capacity by DynamoDB's billing rules (what AWS
//! would charge), and what moto reported (moto's figures are placeholders).

// Tests and benchmarks: a failed expectation is the failure being reported.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use seatflow_domain::{DisplayName, Email, EntitlementStore, Mode, NewUser, Role, TeamId, UserId};
use seatflow_dynamodb::{Capacity, CapacityMeter, DynamoEntitlementStore};
use seatflow_testkit::{Fixture, product};

const ROUNDS: usize = 100;

#[derive(Default)]
struct Samples {
    latencies: Vec<Duration>,
    capacity: Capacity,
}

impl Samples {
    fn add(&mut self, took: Duration, capacity: Capacity) {
        self.latencies.push(took);
        self.capacity.reported_total += capacity.reported_total;
        self.capacity.estimated_read += capacity.estimated_read;
        self.capacity.estimated_write += capacity.estimated_write;
        self.capacity.requests += capacity.requests;
    }

    fn row(&mut self, name: &str) -> String {
        self.latencies.sort();
        let n = self.latencies.len();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let per = |x: f64| x / n as f64;
        format!(
            "| {name} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} |",
            per(self.capacity.requests as f64),
            ms(self.latencies[n / 2]),
            ms(self.latencies[(n * 99 / 100).min(n - 1)]),
            per(self.capacity.estimated_read),
            per(self.capacity.estimated_write),
            per(self.capacity.reported_total),
        )
    }
}

/// Times `op` and measures the capacity it used.
async fn measure<F: std::future::Future<Output = ()>>(meter: &CapacityMeter, samples: &mut Samples, op: F) {
    let before = meter.snapshot();
    let start = Instant::now();
    op.await;
    let took = start.elapsed();
    samples.add(took, meter.snapshot() - before);
}

/// A fresh table with the organisation described above, and the users the
/// operations act on: (fixture, meter, team Red, spare in Red, spare without a
/// team, giver holding Professional + SSO, taker).
struct World {
    f: Fixture,
    meter: Arc<CapacityMeter>,
    red: TeamId,
    in_team: UserId,
    loner: UserId,
    giver: UserId,
    taker: UserId,
    holders: Vec<UserId>,
}

async fn world(config: &aws_config::SdkConfig, name: &str) -> World {
    let meter = Arc::new(CapacityMeter::default());
    let table = format!("seatflow-bench-{name}-{}", std::process::id());
    let store =
        DynamoEntitlementStore::new(aws_sdk_dynamodb::Client::new(config), table).with_meter(meter.clone());
    store.create_table().await.expect("table created on moto");
    let f = Fixture::new(Arc::new(store) as Arc<dyn EntitlementStore>, "org_bench").await;
    let (pro, sso) = (product("professional"), product("sso"));
    f.buy("professional", 60).await;
    f.buy("sso", 60).await;
    let red: TeamId = f.team("Red").await;
    f.seats
        .allocations()
        .set_allocation(&f.admin, &red, &pro, Some(30), Mode::Apply)
        .await
        .expect("allocation");
    let mut holders = Vec::new();
    for i in 0..50 {
        let team = (i % 2 == 0).then_some(&red);
        let user = f.user(&format!("Holder {i}"), team).await;
        holders.push(user.id.clone());
        f.seats
            .allocations()
            .assign(&f.admin, &pro, &user.id, Mode::Apply)
            .await
            .expect("seat");
    }
    let in_team = f.user("Spare Red", Some(&red)).await.id;
    let loner = f.user("Spare Solo", None).await.id;
    let giver = f.user("Giver", Some(&red)).await.id;
    let taker = f.user("Taker", None).await.id;
    f.seats
        .allocations()
        .assign(&f.admin, &pro, &giver, Mode::Apply)
        .await
        .expect("seat");
    f.seats
        .allocations()
        .assign(&f.admin, &sso, &giver, Mode::Apply)
        .await
        .expect("add-on");
    World {
        f,
        meter,
        red,
        in_team,
        loner,
        giver,
        taker,
        holders,
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let config = seatflow_testkit::aws::sdk_config().await;
    let pro = product("professional");
    let mut rows = Vec::new();
    for (name, in_team) in [("assign (team allocation)", true), ("assign (no team)", false)] {
        let w = world(&config, if in_team { "team" } else { "solo" }).await;
        let user = if in_team { &w.in_team } else { &w.loner };
        let (mut assign, mut unassign) = (Samples::default(), Samples::default());
        for _ in 0..ROUNDS {
            measure(&w.meter, &mut assign, async {
                w.f.seats
                    .allocations()
                    .assign(&w.f.admin, &pro, user, Mode::Apply)
                    .await
                    .expect("assign");
            })
            .await;
            measure(&w.meter, &mut unassign, async {
                w.f.seats
                    .allocations()
                    .unassign(&w.f.admin, &pro, user, Mode::Apply)
                    .await
                    .expect("unassign");
            })
            .await;
        }
        rows.push(assign.row(name));
        rows.push(unassign.row(&name.replace("assign", "unassign")));
    }
    let w = world(&config, "add-on").await;
    let sso = product("sso");
    let (mut add, mut remove) = (Samples::default(), Samples::default());
    for _ in 0..ROUNDS {
        // Holder 0 holds Professional: the add-on's base seat.
        let holder = &w.holders[0];
        measure(&w.meter, &mut add, async {
            w.f.seats
                .allocations()
                .assign(&w.f.admin, &sso, holder, Mode::Apply)
                .await
                .expect("add-on");
        })
        .await;
        measure(&w.meter, &mut remove, async {
            w.f.seats
                .allocations()
                .unassign(&w.f.admin, &sso, holder, Mode::Apply)
                .await
                .expect("remove add-on");
        })
        .await;
    }
    rows.push(add.row("add-on (to a base-seat holder in team Red)"));
    rows.push(remove.row("remove add-on"));
    let w = world(&config, "create").await;
    w.f.buy("professional", 60 + 2 * ROUNDS as u32).await;
    w.f.seats
        .allocations()
        .set_allocation(&w.f.admin, &w.red, &pro, Some(30 + ROUNDS as u32), Mode::Apply)
        .await
        .expect("room in Red");
    let mut create = Samples::default();
    for round in 0..ROUNDS {
        let new = NewUser {
            id: None,
            name: DisplayName::parse(&format!("New {round}")).expect("name"),
            email: Some(Email::parse(&format!("new{round}@bench.example")).expect("email")),
            directory: None,
            role: Role::Member,
            team: (round % 2 == 0).then(|| w.red.clone()),
        };
        measure(&w.meter, &mut create, async {
            w.f.seats
                .directory()
                .create_user(&w.f.admin, new, Some(&pro), Mode::Apply)
                .await
                .expect("create");
        })
        .await;
    }
    rows.push(create.row("create a user with a seat (half in team Red)"));
    // What `POST /scim/v2/Users` does for a directory user: read the
    // organisation's seat policy, then create the user with that seat.
    let w = world(&config, "scim").await;
    w.f.buy("professional", 60 + ROUNDS as u32).await;
    w.f.seats
        .directory()
        .set_directory_seat(&w.f.admin, Some(&pro), Mode::Apply)
        .await
        .expect("policy");
    let mut scim = Samples::default();
    for round in 0..ROUNDS {
        let new = NewUser {
            id: None,
            name: DisplayName::parse(&format!("Directory {round}")).expect("name"),
            email: Some(Email::parse(&format!("dir{round}@bench.example")).expect("email")),
            directory: None,
            role: Role::Member,
            team: None,
        };
        measure(&w.meter, &mut scim, async {
            let policy =
                w.f.seats
                    .organizations()
                    .organization(&w.f.admin.org)
                    .await
                    .expect("read")
                    .and_then(|o| o.directory_seat);
            w.f.seats
                .directory()
                .create_user(&w.f.admin, new, policy.as_ref(), Mode::Apply)
                .await
                .expect("create");
        })
        .await;
    }
    rows.push(scim.row("SCIM user create with the policy's seat (policy read + create)"));
    let w = world(&config, "transfer").await;
    let mut transfer = Samples::default();
    for round in 0..ROUNDS {
        let (from, to) = if round % 2 == 0 {
            (&w.giver, &w.taker)
        } else {
            (&w.taker, &w.giver)
        };
        measure(&w.meter, &mut transfer, async {
            w.f.seats
                .allocations()
                .transfer(&w.f.admin, &pro, from, to, Mode::Apply)
                .await
                .expect("transfer");
        })
        .await;
    }
    rows.push(transfer.row("transfer (with an add-on the first time)"));
    let w = world(&config, "allocate").await;
    let mut allocate = Samples::default();
    for round in 0..ROUNDS {
        let seats = 30 + u32::try_from(round % 2).unwrap_or(0);
        measure(&w.meter, &mut allocate, async {
            w.f.seats
                .allocations()
                .set_allocation(&w.f.admin, &w.red, &pro, Some(seats), Mode::Apply)
                .await
                .expect("allocate");
        })
        .await;
    }
    rows.push(allocate.row("allocate (set a team's allocation)"));
    let w = world(&config, "summary").await;
    let mut summary = Samples::default();
    for _ in 0..ROUNDS {
        measure(&w.meter, &mut summary, async {
            w.f.seats.views().licenses(&w.f.admin).await.expect("summary");
        })
        .await;
    }
    rows.push(summary.row("licenses summary"));

    #[allow(clippy::print_stdout)] // the report is the output
    {
        println!("{ROUNDS} rounds each on a fresh table, moto 5.2.5 single-threaded, one client");
        println!();
        println!(
            "| operation | requests | p50 ms | p99 ms | RCU (billing rules) | WCU (billing rules) | units moto reported |"
        );
        println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
        for row in rows {
            println!("{row}");
        }
    }
}
