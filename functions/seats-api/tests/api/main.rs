//! Router tests of the seats API: every route's happy path, every problem
//! code, authentication, organisation scoping and role limits, and dry runs.
//! One test binary (link time); each test builds its own app.

mod events;
mod harness;

use axum::http::{Method, StatusCode};
use harness::{TestApp, Victim};
use serde_json::{Value, json};

/// One request per documented operation, aimed at the victim organisation's
/// team Red, user Ann (Red, Professional + SSO) and user Cat (no team, no seat).
fn route_table(key_id: &str) -> Vec<(Method, &'static str, String, Option<Value>)> {
    use Method as M;
    vec![
        (M::GET, "/v1/catalog", "/v1/catalog".into(), None),
        (M::GET, "/v1/licenses", "/v1/licenses".into(), None),
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
        (M::GET, "/v1/users/{user_id}", "/v1/users/usr_ann".into(), None),
        (M::GET, "/v1/me", "/v1/me".into(), None),
        (
            M::GET,
            "/v1/entitlements",
            "/v1/entitlements?user=usr_ann".into(),
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
        (M::GET, "/v1/notifications", "/v1/notifications".into(), None),
        (
            M::PUT,
            "/v1/notifications",
            "/v1/notifications".into(),
            Some(json!({"billing_contacts": ["billing@intruder.example"], "opted_out": ["over_limit"]})),
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
    let mut tested: Vec<(String, String)> = route_table("key")
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
    for (method, template, path, body) in route_table(&victim.key_id) {
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
    for (method, template, path, body) in route_table(&victim.key_id) {
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
        "/v1/add-ons",
        "/v1/teams",
        "/v1/teams",
        "/v1/allocations",
        "/v1/users",
        "/v1/assignments",
        "/v1/usage",
        "/v1/audit",
        "/v1/api-keys",
        "/v1/notifications",
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
        &["/v1/catalog", "/v1/me"],
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
        "/v1/usage",
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

#[tokio::test]
async fn every_mutation_can_be_a_dry_run_that_writes_nothing() {
    let app = TestApp::new().await;
    let victim = Victim::seed(&app).await;
    let admin = app.token("usr_admin", "org_victim", seatflow_domain::Role::Admin, &[]);
    let licenses_before = app.call(Method::GET, "/v1/licenses", Some(&admin), None).await.2;
    let audit_before = victim.audit_len(&app).await;
    let mut mutations = 0;
    for (method, template, path, body) in route_table(&victim.key_id) {
        if method == Method::GET {
            continue;
        }
        mutations += 1;
        let (status, _, result) = app
            .call(
                method.clone(),
                &format!("{path}?dry_run=true"),
                Some(&admin),
                body,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{method} {template}: {result}");
        assert_eq!(result["dry_run"], true, "{method} {template}");
        assert!(
            result["audit"]["action"].is_string(),
            "{method} {template} shows its audit entry"
        );
    }
    assert_eq!(mutations, 12);
    assert_eq!(
        victim.audit_len(&app).await,
        audit_before,
        "no audit entry written"
    );
    assert_eq!(
        app.call(Method::GET, "/v1/licenses", Some(&admin), None).await.2,
        licenses_before
    );
}

#[tokio::test]
async fn the_purchase_to_assignment_flow_works_through_the_api() {
    let app = TestApp::new().await;
    Victim::seed(&app).await;
    let admin = app.token("usr_admin", "org_victim", seatflow_domain::Role::Admin, &[]);
    let app = &app;
    let call = |m: Method, p: &str, b: Option<Value>| {
        let (p, admin) = (p.to_owned(), admin.clone());
        async move { app.call(m, &p, Some(&admin), b).await }
    };

    let (status, _, team) = call(Method::POST, "/v1/teams", Some(json!({"name": "Green"}))).await;
    assert_eq!(status, StatusCode::CREATED);
    let green = team["result"]["id"].as_str().expect("team id").to_owned();
    assert_eq!(team["audit"]["action"], "team_created");
    let (status, _, got) = call(Method::GET, &format!("/v1/teams/{green}"), None).await;
    assert_eq!((status, got["name"].as_str()), (StatusCode::OK, Some("Green")));

    let (status, _, alloc) = call(
        Method::PUT,
        &format!("/v1/teams/{green}/allocations/professional"),
        Some(json!({"seats": 2})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{alloc}");
    assert_eq!(alloc["result"]["allocated"], 2);

    let (status, _, created) = call(
        Method::POST,
        "/v1/users",
        Some(json!({"name": "Gus", "email": "gus@victim.example", "role": "member", "team": green, "seat": "professional"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let gus = created["result"]["user"]["id"].as_str().expect("id").to_owned();
    assert_eq!(created["result"]["seats"][0]["product"], "professional");

    let (status, _, moved) = call(
        Method::POST,
        "/v1/allocations/moves",
        Some(json!({"product": "professional", "from_team": "team_red", "to_team": green, "seats": 1})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{moved}");
    assert_eq!(moved["result"][1]["allocated"], 3);

    let (status, _, addon) = call(
        Method::POST,
        &format!("/v1/users/{gus}/add-ons"),
        Some(json!({"product": "sso"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{addon}");
    let (status, _, user) = call(Method::GET, &format!("/v1/users/{gus}"), None).await;
    assert_eq!(
        (status, user["seats"].as_array().map(Vec::len)),
        (StatusCode::OK, Some(2))
    );

    let (status, _, transfer) = call(
        Method::POST,
        "/v1/transfers",
        Some(json!({"product": "professional", "from_user": gus, "to_user": "usr_cat"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{transfer}");
    assert_eq!(
        transfer["result"]["removed"].as_array().map(Vec::len),
        Some(2),
        "seat and its add-on"
    );

    let (status, _, removed) = call(Method::DELETE, "/v1/users/usr_ann/add-ons/sso", None).await;
    assert_eq!(
        (status, removed["result"].as_array().map(Vec::len)),
        (StatusCode::OK, Some(1))
    );
    let (status, _, removed) = call(Method::DELETE, "/v1/assignments/professional/usr_ann", None).await;
    assert_eq!(
        (status, removed["result"].as_array().map(Vec::len)),
        (StatusCode::OK, Some(1))
    );
    let (status, _, assigned) = call(
        Method::POST,
        "/v1/assignments",
        Some(json!({"product": "professional", "user": "usr_ann"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{assigned}");

    let (_, _, licenses) = call(Method::GET, "/v1/licenses", None).await;
    let pro = licenses
        .as_array()
        .expect("list")
        .iter()
        .find(|l| l["product"] == "professional")
        .expect("pro")
        .clone();
    let (_, _, rows) = call(Method::GET, "/v1/assignments", None).await;
    let held = rows
        .as_array()
        .expect("rows")
        .iter()
        .filter(|r| r["product"] == "professional")
        .count();
    assert_eq!(
        pro["assigned"].as_u64(),
        Some(held as u64),
        "summary counts match the assignments"
    );

    let (_, _, addons) = call(Method::GET, "/v1/add-ons", None).await;
    assert!(
        addons
            .as_array()
            .expect("list")
            .iter()
            .any(|a| a["product"]["id"] == "sso")
    );
    let (_, _, catalog) = call(Method::GET, "/v1/catalog", None).await;
    assert_eq!(catalog["currency"], "USD");
    let (_, _, allocations) = call(Method::GET, "/v1/allocations", None).await;
    assert!(
        allocations
            .as_array()
            .expect("list")
            .iter()
            .any(|a| a["team"] == green.as_str())
    );
    let (_, _, users) = call(Method::GET, "/v1/users?limit=2", None).await;
    assert_eq!(users["users"].as_array().map(Vec::len), Some(2));
    let after = users["next_after"].as_str().expect("more users");
    let (_, _, page2) = call(Method::GET, &format!("/v1/users?limit=2&after={after}"), None).await;
    assert!(page2["users"][0]["id"].as_str() > Some(after));
    let (_, _, usage) = call(Method::GET, "/v1/usage", None).await;
    assert_eq!(
        usage["organization"]["assigned"].as_u64(),
        Some(rows.as_array().map_or(0, Vec::len) as u64)
    );
}

#[tokio::test]
async fn usage_and_assignments_export_as_csv() {
    let app = TestApp::new().await;
    Victim::seed(&app).await;
    let admin = app.token("usr_admin", "org_victim", seatflow_domain::Role::Admin, &[]);
    let (status, headers, body) = app
        .call_raw(Method::GET, "/v1/usage?format=csv", Some(&admin), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers["content-type"]
            .to_str()
            .expect("ascii")
            .starts_with("text/csv")
    );
    let text = String::from_utf8(body).expect("utf-8");
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("scope,team_id,team_name,product,purchased,allocated,assigned,available")
    );
    assert!(
        text.lines().any(|l| l.starts_with("product,,,professional,10,")),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("team,team_red,Red,professional,,5,1,4")),
        "{text}"
    );
    let (status, _, body) = app
        .call_raw(Method::GET, "/v1/assignments?format=csv", Some(&admin), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let text = String::from_utf8(body).expect("utf-8");
    assert!(
        text.starts_with("user_id,name,email,team_id,product,assigned_at\n"),
        "{text}"
    );
    assert!(
        text.contains("usr_ann,Ann,ann@victim.example,team_red,sso,"),
        "{text}"
    );
    let (status, _, problem) = app
        .call(Method::GET, "/v1/usage?format=xml", Some(&admin), None)
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_query"))
    );
    assert_eq!(problem["errors"][0]["field"], "format");
}

#[tokio::test]
async fn the_audit_log_pages_newest_first_through_the_api() {
    let app = TestApp::new().await;
    Victim::seed(&app).await;
    let admin = app.token("usr_admin", "org_victim", seatflow_domain::Role::Admin, &[]);
    let (status, _, page) = app
        .call(Method::GET, "/v1/audit?limit=2", Some(&admin), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let entries = page["entries"].as_array().expect("entries");
    assert_eq!(entries.len(), 2);
    assert!(entries[0]["at"].as_str() >= entries[1]["at"].as_str());
    let cursor = page["next_cursor"].as_str().expect("more");
    let (_, _, next) = app
        .call(
            Method::GET,
            &format!("/v1/audit?limit=2&cursor={cursor}"),
            Some(&admin),
            None,
        )
        .await;
    assert_ne!(next["entries"][0]["id"], entries[0]["id"]);
    let (status, _, problem) = app
        .call(Method::GET, "/v1/audit?cursor=nope", Some(&admin), None)
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_query"))
    );
    let (status, _, problem) = app
        .call(Method::GET, "/v1/audit?limit=-1", Some(&admin), None)
        .await;
    assert_eq!(
        (status, problem["errors"][0]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("limit"))
    );
}

#[tokio::test]
async fn api_keys_authenticate_machine_clients_until_revoked() {
    let app = TestApp::new().await;
    Victim::seed(&app).await;
    let admin = app.token("usr_admin", "org_victim", seatflow_domain::Role::Admin, &[]);
    let (status, _, created) = app
        .call(
            Method::POST,
            "/v1/api-keys",
            Some(&admin),
            Some(json!({"name": "shop"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let secret = created["result"]["secret"]
        .as_str()
        .expect("secret shown once")
        .to_owned();
    let id = created["result"]["key"]["id"].as_str().expect("id").to_owned();
    assert!(
        created["result"]["key"].get("secret_hash").is_none(),
        "the hash is never shown"
    );
    let (_, _, keys) = app.call(Method::GET, "/v1/api-keys", Some(&admin), None).await;
    assert!(!keys.to_string().contains(&secret), "listing never shows secrets");
    // The machine client acts within its organisation.
    let (status, _, licenses) = app.call(Method::GET, "/v1/licenses", Some(&secret), None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!licenses.as_array().expect("list").is_empty());
    let (status, _, assigned) = app
        .call(
            Method::POST,
            "/v1/assignments",
            Some(&secret),
            Some(json!({"product": "professional", "user": "usr_cat"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{assigned}");
    assert_eq!(assigned["audit"]["actor"]["kind"], "api_key");
    // But manages no keys.
    let (status, _, _) = app.call(Method::GET, "/v1/api-keys", Some(&secret), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, _) = app
        .call(Method::DELETE, &format!("/v1/api-keys/{id}"), Some(&admin), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, problem) = app.call(Method::GET, "/v1/licenses", Some(&secret), None).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("unauthenticated"))
    );
}

/// Token, request, expected status, code and (for field errors) field.
type ProblemCase<'a> = (
    Option<&'a str>,
    (Method, &'a str, Option<Value>),
    StatusCode,
    &'a str,
    Option<&'a str>,
);

/// Each problem code the API documents, provoked for real.
#[tokio::test]
async fn every_problem_code_is_rendered_as_problem_json() {
    let app = TestApp::new().await;
    Victim::seed(&app).await;
    let admin = app.token("usr_admin", "org_victim", seatflow_domain::Role::Admin, &[]);
    let member = app.token("usr_cat", "org_victim", seatflow_domain::Role::Member, &[]);
    let post = |path: &'static str, body: Value| (Method::POST, path, Some(body));
    let cases: Vec<ProblemCase> = vec![
        (
            None,
            (Method::GET, "/v1/licenses", None),
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            None,
        ),
        (
            Some(&member),
            (Method::GET, "/v1/licenses", None),
            StatusCode::FORBIDDEN,
            "forbidden",
            None,
        ),
        (
            Some(&admin),
            (Method::GET, "/v1/users/usr_nobody", None),
            StatusCode::NOT_FOUND,
            "not_found",
            None,
        ),
        (
            Some(&admin),
            (Method::GET, "/v1/users/bad%20id", None),
            StatusCode::NOT_FOUND,
            "not_found",
            None,
        ),
        (
            Some(&admin),
            (Method::GET, "/v1/nowhere", None),
            StatusCode::NOT_FOUND,
            "not_found",
            None,
        ),
        (
            Some(&admin),
            (Method::PATCH, "/v1/teams", None),
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            None,
        ),
        (
            Some(&admin),
            post("/v1/teams", json!({"name": "X", "colour": "red"})),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            Some("colour"),
        ),
        (
            Some(&admin),
            post(
                "/v1/allocations/moves",
                json!({"product": "professional", "from_team": "team_red", "to_team": "team_blue", "seats": "two"}),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            Some("seats"),
        ),
        (
            Some(&admin),
            post(
                "/v1/users",
                json!({"name": "Z", "email": "not-an-email", "role": "member"}),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            Some("email"),
        ),
        (
            Some(&admin),
            post(
                "/v1/users",
                json!({"name": "Z", "email": "z@victim.example", "role": "owner"}),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            Some("role"),
        ),
        (
            Some(&admin),
            post("/v1/users", json!({"name": "Z", "email": "z@victim.example"})),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            Some("body"),
        ),
        (
            Some(&admin),
            post(
                "/v1/users",
                json!({"name": "Ann Again", "email": "ANN@victim.example", "role": "member"}),
            ),
            StatusCode::CONFLICT,
            "email_taken",
            None,
        ),
        (
            Some(&admin),
            post(
                "/v1/users",
                json!({"id": "usr_ann", "name": "Ann Two", "email": "ann2@victim.example", "role": "member"}),
            ),
            StatusCode::CONFLICT,
            "already_exists",
            None,
        ),
        (
            Some(&admin),
            post(
                "/v1/assignments",
                json!({"product": "enterprise", "user": "usr_cat"}),
            ),
            StatusCode::CONFLICT,
            "no_seats_available",
            None,
        ),
        (
            Some(&admin),
            post(
                "/v1/assignments",
                json!({"product": "professional", "user": "usr_ann"}),
            ),
            StatusCode::CONFLICT,
            "already_assigned",
            None,
        ),
        (
            Some(&admin),
            post("/v1/assignments", json!({"product": "sso", "user": "usr_cat"})),
            StatusCode::CONFLICT,
            "base_seat_required",
            None,
        ),
        (
            Some(&admin),
            post(
                "/v1/assignments",
                json!({"product": "platinum", "user": "usr_cat"}),
            ),
            StatusCode::NOT_FOUND,
            "not_found",
            None,
        ),
        (
            Some(&admin),
            (Method::DELETE, "/v1/assignments/professional/usr_cat", None),
            StatusCode::CONFLICT,
            "not_assigned",
            None,
        ),
        (
            Some(&admin),
            (
                Method::PUT,
                "/v1/teams/team_red/allocations/professional",
                Some(json!({"seats": 99})),
            ),
            StatusCode::CONFLICT,
            "allocation_exceeds_pool",
            None,
        ),
        (
            Some(&admin),
            (
                Method::PUT,
                "/v1/teams/team_red/allocations/professional",
                Some(json!({"seats": 0})),
            ),
            StatusCode::CONFLICT,
            "allocation_below_usage",
            None,
        ),
        (
            Some(&admin),
            post("/v1/users/usr_cat/add-ons", json!({"product": "professional"})),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            Some("product"),
        ),
        (
            Some(&admin),
            post("/v1/users/usr_cat/add-ons", json!({"product": "jetpack"})),
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_add_on",
            Some("add_ons"),
        ),
        (
            Some(&admin),
            post(
                "/v1/transfers",
                json!({"product": "professional", "from_user": "usr_ann", "to_user": "usr_ann"}),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            Some("to_user"),
        ),
        (
            Some(&admin),
            (
                Method::POST,
                "/v1/teams?dry_run=maybe",
                Some(json!({"name": "X"})),
            ),
            StatusCode::BAD_REQUEST,
            "invalid_query",
            Some("dry_run"),
        ),
    ];
    for (token, (method, path, body), status, code, field) in cases {
        let (got, headers, problem) = app.call(method.clone(), path, token, body).await;
        assert_eq!(
            (got, problem["code"].as_str()),
            (status, Some(code)),
            "{method} {path}: {problem}"
        );
        assert_eq!(
            headers["content-type"], "application/problem+json",
            "{method} {path}"
        );
        assert_eq!(problem["status"].as_u64(), Some(u64::from(status.as_u16())));
        assert!(problem["detail"].as_str().is_some_and(|d| !d.is_empty()));
        if let Some(field) = field {
            assert_eq!(problem["errors"][0]["field"], field, "{method} {path}: {problem}");
        }
    }
    // Bodies that are not JSON, or not declared as JSON.
    let (status, _, problem) = app
        .call_text(
            Method::POST,
            "/v1/teams",
            &admin,
            "application/json",
            "{\"name\":",
        )
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("malformed_json"))
    );
    let (status, _, problem) = app
        .call_text(Method::POST, "/v1/teams", &admin, "text/plain", "name=x")
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::UNSUPPORTED_MEDIA_TYPE, Some("unsupported_media_type"))
    );
}

#[tokio::test]
async fn a_team_allocation_that_is_used_up_refuses_with_its_own_code() {
    let app = TestApp::new().await;
    Victim::seed(&app).await;
    let admin = app.token("usr_admin", "org_victim", seatflow_domain::Role::Admin, &[]);
    let (status, _, _) = app
        .call(
            Method::PUT,
            "/v1/teams/team_red/allocations/professional",
            Some(&admin),
            Some(json!({"seats": 1})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, problem) = app
        .call(
            Method::POST,
            "/v1/users",
            Some(&admin),
            Some(json!({"name": "Rex", "email": "rex@victim.example", "role": "member", "team": "team_red", "seat": "professional"})),
        )
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::CONFLICT, Some("team_allocation_exhausted"))
    );
    // The refused creation left no user behind.
    let (_, _, users) = app
        .call(Method::GET, "/v1/users?team=team_red", Some(&admin), None)
        .await;
    assert!(!users.to_string().contains("rex@victim.example"));
}

#[tokio::test]
async fn the_entitlement_check_follows_seats_and_subscriptions() {
    use seatflow_domain::{Mode, SubscriptionSnapshot, SubscriptionStatus};
    let app = TestApp::new().await;
    Victim::seed(&app).await;
    let key = app.api_key_for("org_victim").await;
    let (status, body) = {
        let (s, _, b) = app
            .call(Method::GET, "/v1/entitlements?user=usr_ann", Some(&key), None)
            .await;
        (s, b)
    };
    assert_eq!(status, StatusCode::OK, "{body}");
    let products: Vec<&str> = body["products"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|p| p["product"].as_str())
        .collect();
    assert_eq!(products, ["professional", "sso"]);
    assert!(
        body["products"][0]["until"].is_null(),
        "seeded seats have no subscription period"
    );
    // By email, too.
    let (status, _, by_email) = app
        .call(
            Method::GET,
            "/v1/entitlements?user=ANN@victim.example",
            Some(&key),
            None,
        )
        .await;
    assert_eq!(
        (status, by_email["user"].as_str()),
        (StatusCode::OK, Some("usr_ann"))
    );
    let (_, _, by_email) = app
        .call(
            Method::GET,
            "/v1/entitlements?user=ann@victim.example",
            Some(&key),
            None,
        )
        .await;
    assert_eq!(by_email["user"], "usr_ann");

    // A canceled subscription selling Professional turns access off; the seat stays assigned.
    let org = seatflow_domain::OrgId::parse("org_victim").expect("id");
    let admin = seatflow_domain::Actor::system(org.clone(), "test");
    let mut state = SubscriptionSnapshot {
        org,
        id: "sub_victim".parse().expect("id"),
        customer: "cus_v".into(),
        status: SubscriptionStatus::Active,
        items: [("professional".parse().expect("id"), 10)].into_iter().collect(),
        term: None,
        current_period_start: None,
        current_period_end: chrono::DateTime::from_timestamp(1_800_000_000, 0),
        cancel_at_period_end: false,
    };
    let seats = &app.state.seats;
    let at = |s| chrono::DateTime::from_timestamp(s, 0).expect("time");
    seats
        .apply_subscription(&admin, &state, "evt_v1", at(1_790_000_000), Mode::Apply)
        .await
        .expect("applied");
    let (_, _, live) = app
        .call(Method::GET, "/v1/entitlements?user=usr_ann", Some(&key), None)
        .await;
    assert_eq!(live["products"][0]["until"], "2027-01-15T08:00:00Z");
    state.status = SubscriptionStatus::Canceled;
    seats
        .apply_subscription(&admin, &state, "evt_v2", at(1_790_000_100), Mode::Apply)
        .await
        .expect("applied");
    let (_, _, off) = app
        .call(Method::GET, "/v1/entitlements?user=usr_ann", Some(&key), None)
        .await;
    assert_eq!(
        off["products"].as_array().map(Vec::len),
        Some(1),
        "only SSO left: {off}"
    );
    assert_eq!(off["products"][0]["product"], "sso");
    let (_, _, kept) = app.call(Method::GET, "/v1/users/usr_ann", Some(&key), None).await;
    assert_eq!(
        kept["seats"].as_array().map(Vec::len),
        Some(2),
        "assignments kept for a reactivation"
    );

    let (status, problem, _) = {
        let (s, _, b) = app
            .call(Method::GET, "/v1/entitlements?user=usr_nobody", Some(&key), None)
            .await;
        (s, b, ())
    };
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    let (status, _, problem) = app
        .call(Method::GET, "/v1/entitlements?user=not%20valid", Some(&key), None)
        .await;
    assert_eq!(
        (status, problem["errors"][0]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("user"))
    );
    let (status, _, problem) = app.call(Method::GET, "/v1/entitlements", Some(&key), None).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_query"))
    );
}

#[tokio::test]
async fn notification_preferences_are_set_and_read_by_admins_only() {
    let app = TestApp::new().await;
    Victim::seed(&app).await;
    let admin = app.token("usr_admin", "org_victim", seatflow_domain::Role::Admin, &[]);
    let (status, _, defaults) = app
        .call(Method::GET, "/v1/notifications", Some(&admin), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(defaults["billing_contacts"], json!([]));
    assert_eq!(defaults["opted_out"], json!([]));

    let body =
        json!({"billing_contacts": ["Billing@Victim.example"], "opted_out": ["renewal", "over_limit"]});
    let (status, _, set) = app
        .call(Method::PUT, "/v1/notifications", Some(&admin), Some(body))
        .await;
    assert_eq!(status, StatusCode::OK, "{set}");
    assert_eq!(set["audit"]["action"], "notification_preferences_set");
    let (_, _, read) = app
        .call(Method::GET, "/v1/notifications", Some(&admin), None)
        .await;
    assert_eq!(read["billing_contacts"], json!(["billing@victim.example"]));
    assert_eq!(read["opted_out"], json!(["renewal", "over_limit"]));
    assert_eq!(read["version"], 1);

    for (bad, field) in [
        (
            json!({"billing_contacts": ["not an address"]}),
            "billing_contacts[0]",
        ),
        (
            json!({"billing_contacts": ["a@b.example", "A@b.example"]}),
            "billing_contacts",
        ),
        (
            json!({"billing_contacts": [], "opted_out": ["everything"]}),
            "opted_out[0]",
        ),
    ] {
        let (status, _, problem) = app
            .call(Method::PUT, "/v1/notifications", Some(&admin), Some(bad.clone()))
            .await;
        assert_eq!(
            (
                status,
                problem["code"].as_str(),
                problem["errors"][0]["field"].as_str()
            ),
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("validation_failed"),
                Some(field)
            ),
            "{bad}: {problem}"
        );
    }
    let member = app.token("usr_cat", "org_victim", seatflow_domain::Role::Member, &[]);
    let (status, _, _) = app
        .call(Method::GET, "/v1/notifications", Some(&member), None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}
