//! Who may call what: every route against missing, forged and expired
//! credentials, another organisation, a member and a team manager.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::{TestApp, Victim};
use seatflow_domain::Role;

/// One request per documented operation, aimed at the victim organisation's
/// team Red, user Ann (Red, Professional + SSO) and user Cat (no team, no seat).
pub(crate) fn route_table(
    key_id: &str,
    endpoint_id: &str,
) -> Vec<(Method, &'static str, String, Option<Value>)> {
    use Method as M;
    vec![
        (M::GET, "/v1/catalog", "/v1/catalog".into(), None),
        (M::GET, "/v1/licenses", "/v1/licenses".into(), None),
        (M::GET, "/v1/subscriptions", "/v1/subscriptions".into(), None),
        (M::GET, "/v1/add-ons", "/v1/add-ons".into(), None),
        (M::GET, "/v1/teams", "/v1/teams".into(), None),
        (
            M::POST,
            "/v1/teams",
            "/v1/teams".into(),
            Some(json!({"name": "Intruders"})),
        ),
        (M::GET, "/v1/teams/{team_id}", "/v1/teams/team_red".into(), None),
        (
            M::PATCH,
            "/v1/teams/{team_id}",
            "/v1/teams/team_red".into(),
            Some(json!({"name": "Renamed"})),
        ),
        (
            M::DELETE,
            "/v1/teams/{team_id}",
            "/v1/teams/team_red".into(),
            None,
        ),
        (
            M::PUT,
            "/v1/teams/{team_id}/allocations/{product}",
            "/v1/teams/team_red/allocations/professional".into(),
            Some(json!({"seats": 3})),
        ),
        (M::GET, "/v1/allocations", "/v1/allocations".into(), None),
        (
            M::POST,
            "/v1/allocations/moves",
            "/v1/allocations/moves".into(),
            Some(
                json!({"product": "professional", "from_team": "team_red", "to_team": "team_blue", "seats": 1}),
            ),
        ),
        (M::GET, "/v1/users", "/v1/users".into(), None),
        (
            M::POST,
            "/v1/users",
            "/v1/users".into(),
            Some(
                json!({"name": "Mallory", "email": "mallory@victim.example", "role": "member", "team": "team_red"}),
            ),
        ),
        (
            M::POST,
            "/v1/users/import",
            "/v1/users/import".into(),
            Some(json!({"users": [{"name": "Mallory", "email": "mallory@victim.example"}]})),
        ),
        (M::GET, "/v1/users/{user_id}", "/v1/users/usr_ann".into(), None),
        (
            M::PATCH,
            "/v1/users/{user_id}",
            "/v1/users/usr_ann".into(),
            Some(json!({"role": "admin"})),
        ),
        (M::DELETE, "/v1/users/{user_id}", "/v1/users/usr_ann".into(), None),
        (M::GET, "/v1/me", "/v1/me".into(), None),
        (
            M::POST,
            "/v1/portal/hand-offs",
            "/v1/portal/hand-offs".into(),
            None,
        ),
        (
            M::GET,
            "/v1/entitlements",
            "/v1/entitlements?user=usr_ann".into(),
            None,
        ),
        (
            M::GET,
            "/v1/entitlements/token",
            "/v1/entitlements/token?user=usr_ann".into(),
            None,
        ),
        (M::GET, "/v1/assignments", "/v1/assignments".into(), None),
        (
            M::POST,
            "/v1/assignments",
            "/v1/assignments".into(),
            Some(json!({"product": "professional", "user": "usr_cat"})),
        ),
        (
            M::DELETE,
            "/v1/assignments/{product}/{user_id}",
            "/v1/assignments/professional/usr_ann".into(),
            None,
        ),
        (
            M::POST,
            "/v1/transfers",
            "/v1/transfers".into(),
            Some(json!({"product": "professional", "from_user": "usr_ann", "to_user": "usr_cat"})),
        ),
        (
            M::POST,
            "/v1/users/{user_id}/add-ons",
            "/v1/users/usr_ann/add-ons".into(),
            Some(json!({"product": "analytics"})),
        ),
        (
            M::DELETE,
            "/v1/users/{user_id}/add-ons/{product}",
            "/v1/users/usr_ann/add-ons/sso".into(),
            None,
        ),
        (M::GET, "/v1/usage", "/v1/usage".into(), None),
        (M::GET, "/v1/audit", "/v1/audit".into(), None),
        (M::GET, "/v1/api-keys", "/v1/api-keys".into(), None),
        (
            M::POST,
            "/v1/api-keys",
            "/v1/api-keys".into(),
            Some(json!({"name": "intruder"})),
        ),
        (
            M::DELETE,
            "/v1/api-keys/{key_id}",
            format!("/v1/api-keys/{key_id}"),
            None,
        ),
        (
            M::GET,
            "/v1/operator/organizations",
            "/v1/operator/organizations?q=victim".into(),
            None,
        ),
        (
            M::POST,
            "/v1/operator/organizations",
            "/v1/operator/organizations".into(),
            Some(
                json!({"id": "org_intruder", "name": "Intruder", "admin": {"name": "Mallory", "email": "mallory@intruder.example"}}),
            ),
        ),
        (M::GET, "/v1/operator/jobs", "/v1/operator/jobs".into(), None),
        (
            M::GET,
            "/v1/operator/organizations/{org_id}",
            "/v1/operator/organizations/org_victim".into(),
            None,
        ),
        (
            M::POST,
            "/v1/operator/organizations/{org_id}/grants",
            "/v1/operator/organizations/org_victim/grants".into(),
            Some(json!({"product": "professional", "quantity": 100, "reference": "free seats"})),
        ),
        (
            M::DELETE,
            "/v1/operator/organizations/{org_id}/grants/{grant_id}",
            "/v1/operator/organizations/org_victim/grants/grant_x".into(),
            None,
        ),
        (M::GET, "/v1/notifications", "/v1/notifications".into(), None),
        (M::GET, "/v1/directory-sync", "/v1/directory-sync".into(), None),
        (M::GET, "/v1/usage/activity", "/v1/usage/activity".into(), None),
        (
            M::GET,
            "/v1/license-management",
            "/v1/license-management".into(),
            None,
        ),
        (
            M::PUT,
            "/v1/license-management",
            "/v1/license-management".into(),
            Some(json!({"mode": "automatic", "max_auto_seats_per_period": null})),
        ),
        (
            M::PUT,
            "/v1/directory-sync",
            "/v1/directory-sync".into(),
            Some(json!({"default_product": "professional"})),
        ),
        (
            M::PUT,
            "/v1/notifications",
            "/v1/notifications".into(),
            Some(json!({"billing_contacts": ["billing@intruder.example"], "opted_out": ["over_limit"]})),
        ),
        (
            M::GET,
            "/v1/webhook-endpoints",
            "/v1/webhook-endpoints".into(),
            None,
        ),
        (
            M::POST,
            "/v1/webhook-endpoints",
            "/v1/webhook-endpoints".into(),
            Some(json!({"url": "https://intruder.example/hook", "event_types": ["seat.assigned"]})),
        ),
        (
            M::GET,
            "/v1/webhook-endpoints/{endpoint_id}",
            format!("/v1/webhook-endpoints/{endpoint_id}"),
            None,
        ),
        (
            M::PATCH,
            "/v1/webhook-endpoints/{endpoint_id}",
            format!("/v1/webhook-endpoints/{endpoint_id}"),
            Some(json!({"url": "https://intruder.example/hook"})),
        ),
        (
            M::DELETE,
            "/v1/webhook-endpoints/{endpoint_id}",
            format!("/v1/webhook-endpoints/{endpoint_id}"),
            None,
        ),
        (
            M::POST,
            "/v1/webhook-endpoints/{endpoint_id}/secret",
            format!("/v1/webhook-endpoints/{endpoint_id}/secret"),
            Some(json!({"overlap_hours": 0})),
        ),
        (
            M::GET,
            "/v1/webhook-endpoints/{endpoint_id}/deliveries",
            format!("/v1/webhook-endpoints/{endpoint_id}/deliveries"),
            None,
        ),
        (
            M::POST,
            "/v1/webhook-endpoints/{endpoint_id}/deliveries/{event_id}/redeliver",
            format!(
                "/v1/webhook-endpoints/{endpoint_id}/deliveries/evt_0193a0c4506c0073cf8db0170a6047fe/redeliver"
            ),
            None,
        ),
    ]
}

#[tokio::test]
async fn the_route_table_covers_every_documented_operation() {
    let doc = serde_json::to_value(seatflow_seats_api::openapi()).expect("document serialises");
    let mut documented: Vec<(String, String)> = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("path item").keys() {
            documented.push((method.to_uppercase(), path.clone()));
        }
    }
    let mut tested: Vec<(String, String)> = route_table("key", "we_x")
        .into_iter()
        .map(|(m, p, _, _)| (m.to_string(), p.to_owned()))
        .collect();
    documented.sort();
    tested.sort();
    assert_eq!(
        documented, tested,
        "every documented operation is walked by the auth tests"
    );
    assert_eq!(doc["openapi"], "3.1.0");
}

#[tokio::test]
async fn health_and_the_openapi_document_answer_without_credentials() {
    let app = TestApp::new().await;
    let (status, _, body) = app.call(Method::GET, "/healthz", None, None).await;
    assert_eq!((status, body["status"].as_str()), (StatusCode::OK, Some("ok")));
    let (status, _, body) = app.call(Method::GET, "/v1/openapi.json", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body["paths"]["/v1/assignments"]["post"].is_object());
}

#[tokio::test]
async fn every_route_refuses_missing_forged_and_expired_credentials() {
    let app = TestApp::new().await;
    let victim = Victim::seed(&app).await;
    let forged = app.foreign_token("usr_ann", "org_victim");
    let expired = app.expired_token("usr_ann", "org_victim");
    for (method, template, path, body) in route_table(&victim.key_id, &victim.endpoint_id) {
        for token in [
            None,
            Some("garbage"),
            Some(forged.as_str()),
            Some(expired.as_str()),
            Some("sfk_unknown"),
        ] {
            let (status, headers, problem) = app.call(method.clone(), &path, token, body.clone()).await;
            assert_eq!(
                status,
                StatusCode::UNAUTHORIZED,
                "{method} {template} with {token:?}"
            );
            assert_eq!(headers["content-type"], "application/problem+json");
            assert_eq!(problem["code"], "unauthenticated");
        }
    }
}

/// Walks every route as `token` and checks that nothing of the victim's
/// leaks and nothing of it changes.
async fn walk_denied(
    app: &TestApp,
    victim: &Victim,
    token: &str,
    who: &str,
    allowed: &[&str],
    secrets: &[&str],
) {
    let audit_before = victim.audit_len(app).await;
    for (method, template, path, body) in route_table(&victim.key_id, &victim.endpoint_id) {
        // What the caller sent may be echoed back (`team 'x' not found`); only
        // what they did not already know would be a leak.
        let sent = format!(
            "{path} {}",
            body.as_ref().map(Value::to_string).unwrap_or_default()
        );
        let secrets: Vec<&str> = secrets.iter().copied().filter(|s| !sent.contains(s)).collect();
        let (status, _, body) = app.call(method.clone(), &path, Some(token), body).await;
        let text = body.to_string();
        if allowed.contains(&template) && status.is_success() {
            for secret in &secrets {
                assert!(
                    !text.contains(secret),
                    "{who}: {method} {template} leaked {secret}: {text}"
                );
            }
            continue;
        }
        assert!(
            status == StatusCode::FORBIDDEN || status == StatusCode::NOT_FOUND,
            "{who}: {method} {template} answered {status}: {text}"
        );
        for secret in &secrets {
            assert!(
                !text.contains(secret),
                "{who}: {method} {template} leaked {secret} in {text}"
            );
        }
    }
    assert_eq!(
        victim.audit_len(app).await,
        audit_before,
        "{who} changed nothing of the victim's"
    );
}

#[tokio::test]
async fn another_organisation_sees_and_changes_nothing() {
    let app = TestApp::new().await;
    let victim = Victim::seed(&app).await;
    let intruder = app.token("usr_eve", "org_other", seatflow_domain::Role::Admin, &[]);
    // Collection routes answer with the intruder's own (empty) organisation.
    let own = [
        "/v1/catalog",
        "/v1/licenses",
        "/v1/subscriptions",
        "/v1/add-ons",
        "/v1/teams",
        "/v1/teams",
        "/v1/allocations",
        "/v1/users",
        "/v1/assignments",
        "/v1/usage",
        "/v1/usage/activity",
        "/v1/audit",
        "/v1/api-keys",
        "/v1/notifications",
        "/v1/directory-sync",
        "/v1/license-management",
        "/v1/webhook-endpoints",
        // The intruder's own user, and signing them in to the portal.
        "/v1/me",
        "/v1/portal/hand-offs",
        // Rows imported into the intruder's own organisation.
        "/v1/users/import",
    ];
    let own: Vec<&str> = own.into_iter().chain(["/v1/teams", "/v1/api-keys"]).collect();
    walk_denied(
        &app,
        &victim,
        &intruder,
        "other org admin",
        &own,
        &victim.secrets(),
    )
    .await;
    // And its API key is no better.
    let key = app.api_key_for("org_other").await;
    walk_denied(&app, &victim, &key, "other org API key", &own, &victim.secrets()).await;
}

#[tokio::test]
async fn a_member_sees_only_their_own_seats() {
    let app = TestApp::new().await;
    let victim = Victim::seed(&app).await;
    let member = app.token("usr_cat", "org_victim", seatflow_domain::Role::Member, &[]);
    let secrets: Vec<&str> = victim
        .secrets()
        .into_iter()
        .filter(|s| !["org_victim", "usr_cat"].contains(s))
        .collect();
    walk_denied(
        &app,
        &victim,
        &member,
        "member",
        &["/v1/catalog", "/v1/me", "/v1/portal/hand-offs"],
        &secrets,
    )
    .await;
    let (status, _, me) = app.call(Method::GET, "/v1/me", Some(&member), None).await;
    assert_eq!(
        (status, me["user"]["id"].as_str()),
        (StatusCode::OK, Some("usr_cat"))
    );
}

#[tokio::test]
async fn a_team_manager_sees_and_changes_only_their_teams() {
    let app = TestApp::new().await;
    let victim = Victim::seed(&app).await;
    let manager = app.token(
        "usr_ben",
        "org_victim",
        seatflow_domain::Role::TeamManager,
        &["team_blue"],
    );
    let secrets = [
        "team_red",
        "usr_ann",
        "ann@victim.example",
        "usr_cat",
        &victim.key_prefix,
    ];
    let allowed = [
        "/v1/catalog",
        "/v1/teams",
        "/v1/allocations",
        "/v1/users",
        "/v1/me",
        "/v1/portal/hand-offs",
        "/v1/usage",
        "/v1/usage/activity",
    ];
    walk_denied(&app, &victim, &manager, "team manager", &allowed, &secrets).await;
    // Within their own team they can act.
    let (status, _, teams) = app.call(Method::GET, "/v1/teams", Some(&manager), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(teams.as_array().map(Vec::len), Some(1));
    let (status, _, body) = app
        .call(
            Method::DELETE,
            "/v1/assignments/professional/usr_ben",
            Some(&manager),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// A token minted to live longer than the maximum lifetime is refused, even
/// while it has not expired.
#[tokio::test]
async fn a_token_issued_to_live_too_long_is_refused() {
    let app = TestApp::new().await;
    Victim::seed(&app).await;
    let mint = |hours: u64| {
        app.state
            .auth
            .mint(
                &seatflow_domain::UserId::parse("usr_admin").expect("id"),
                &seatflow_domain::OrgId::parse("org_victim").expect("id"),
                seatflow_domain::Role::Admin,
                &[],
                hours * 3600,
            )
            .expect("token")
    };
    let (status, _, _) = app.call(Method::GET, "/v1/licenses", Some(&mint(24)), None).await;
    assert_eq!(status, StatusCode::OK, "a day is allowed");
    let (status, _, problem) = app.call(Method::GET, "/v1/licenses", Some(&mint(48)), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.contains("longer than 24 hours")),
        "{problem}"
    );
}

/// A token is honoured as seatflow stores its user now: a demotion or team
/// move takes effect at once, and a removed (or never added) user is refused
/// with an unexpired token.
#[tokio::test]
async fn a_token_acts_with_the_stored_role_and_team_and_not_for_an_unknown_user() {
    let app = TestApp::new().await;
    let _victim = Victim::seed(&app).await;
    // Ben manages Blue (stored); a token claiming admin and team Red gets neither.
    let overclaiming = app.token(
        "usr_ben",
        "org_victim",
        seatflow_domain::Role::Admin,
        &["team_red"],
    );
    let (status, _, body) = app
        .call(Method::GET, "/v1/api-keys", Some(&overclaiming), None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, _, red) = app
        .call(Method::GET, "/v1/teams/team_red", Some(&overclaiming), None)
        .await;
    assert_ne!(status, StatusCode::OK, "{red}");
    let (status, _, blue) = app
        .call(Method::GET, "/v1/teams/team_blue", Some(&overclaiming), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{blue}");

    // The admin's token stops working as admin the moment the stored role changes.
    let admin = app.token("usr_admin", "org_victim", seatflow_domain::Role::Admin, &[]);
    let (status, _, _) = app.call(Method::GET, "/v1/api-keys", Some(&admin), None).await;
    assert_eq!(status, StatusCode::OK);
    // Another admin demotes them.
    app.person("org_victim", "usr_boss", "Boss", seatflow_domain::Role::Admin)
        .await;
    let boss = app.token("usr_boss", "org_victim", seatflow_domain::Role::Admin, &[]);
    let (status, _, demoted) = app
        .call(
            Method::PATCH,
            "/v1/users/usr_admin",
            Some(&boss),
            Some(json!({"role": "member"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{demoted}");
    assert_eq!(demoted["audit"]["action"], "user_updated");
    let (status, _, body) = app.call(Method::GET, "/v1/api-keys", Some(&admin), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");

    // A user the organisation does not have is refused, whatever the token says.
    let ghost = app.token("usr_ghost", "org_victim", seatflow_domain::Role::Admin, &[]);
    let (status, _, body) = app.call(Method::GET, "/v1/licenses", Some(&ghost), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["code"], "unauthenticated");
    assert!(
        body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("not a user of organisation")),
        "{body}"
    );
}

/// An admin removes a user through the API: their seats come back at once,
/// and their unexpired token is refused from then on; members cannot remove
/// anyone, and an admin cannot remove themselves.
#[tokio::test]
async fn a_removed_user_is_refused_with_an_unexpired_token() {
    let app = TestApp::new().await;
    let _victim = Victim::seed(&app).await;
    let admin = app.token("usr_admin", "org_victim", seatflow_domain::Role::Admin, &[]);
    let ann = app.token("usr_ann", "org_victim", seatflow_domain::Role::Member, &[]);
    let (status, _, _) = app.call(Method::GET, "/v1/me", Some(&ann), None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, body) = app
        .call(Method::DELETE, "/v1/users/usr_ben", Some(&ann), None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");

    let (status, _, dry) = app
        .call(
            Method::DELETE,
            "/v1/users/usr_ann?dry_run=true",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(
        (status, dry["dry_run"].as_bool()),
        (StatusCode::OK, Some(true)),
        "{dry}"
    );
    let (status, _, _) = app.call(Method::GET, "/v1/me", Some(&ann), None).await;
    assert_eq!(status, StatusCode::OK, "a dry run removes nobody");

    let (status, _, removed) = app
        .call(Method::DELETE, "/v1/users/usr_ann", Some(&admin), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{removed}");
    assert_eq!(removed["audit"]["action"], "user_removed");
    assert_eq!(removed["result"]["seats"].as_array().map(Vec::len), Some(2));
    let (status, _, body) = app.call(Method::GET, "/v1/me", Some(&ann), None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("unauthenticated"))
    );
    let (_, _, licenses) = app.call(Method::GET, "/v1/licenses", Some(&admin), None).await;
    let sso = licenses
        .as_array()
        .and_then(|l| l.iter().find(|p| p["product"] == "sso"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(sso["assigned"], 0, "{licenses}");
    let (status, _, gone) = app
        .call(Method::DELETE, "/v1/users/usr_ann", Some(&admin), None)
        .await;
    assert_eq!(
        (status, gone["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    let (status, _, myself) = app
        .call(Method::DELETE, "/v1/users/usr_admin", Some(&admin), None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{myself}");
}

/// A key that reads seats sees counts, not people: the assignment export
/// (names and emails of who holds what) needs `users:read` as well.
#[tokio::test]
async fn the_assignment_export_needs_users_read_as_well_as_seats_read() {
    let app = TestApp::new().await;
    Victim::seed(&app).await;
    let admin = app.token("usr_admin", "org_victim", Role::Admin, &[]);
    let key = |scopes: serde_json::Value| {
        let (app, admin) = (&app, admin.clone());
        async move {
            let (status, _, created) = app
                .call(
                    Method::POST,
                    "/v1/api-keys",
                    Some(&admin),
                    Some(serde_json::json!({"name": "reader", "scopes": scopes})),
                )
                .await;
            assert_eq!(status, StatusCode::CREATED, "{created}");
            created["result"]["secret"].as_str().expect("secret").to_owned()
        }
    };
    let seats_only = key(serde_json::json!(["seats:read"])).await;
    let (status, _, _) = app
        .call(Method::GET, "/v1/licenses", Some(&seats_only), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    for path in ["/v1/assignments", "/v1/assignments?format=csv"] {
        let (status, _, problem) = app.call(Method::GET, path, Some(&seats_only), None).await;
        assert_eq!(
            (status, problem["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("insufficient_scope")),
            "{path}: {problem}"
        );
        assert!(
            problem["detail"]
                .as_str()
                .is_some_and(|d| d.contains("'users:read'") && !d.contains("'seats:read'")),
            "{problem}"
        );
    }
    let both = key(serde_json::json!(["seats:read", "users:read"])).await;
    let (status, _, rows) = app.call(Method::GET, "/v1/assignments", Some(&both), None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(rows.as_array().is_some_and(|r| !r.is_empty()), "{rows}");
}
