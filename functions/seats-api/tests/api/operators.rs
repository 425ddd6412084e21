//! The vendor's operators: find and look into organisations, open one with
//! its first admin, grant and end seats; and nobody else may, nor may an
//! operator key act as an organisation's credential.

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::access::route_table;
use crate::harness::{OPERATOR_KEY, TestApp, Victim};

const OPS: Option<&str> = Some(OPERATOR_KEY);

#[tokio::test]
async fn an_operator_finds_organisations_by_part_of_id_or_name_and_pages_through_them() {
    let app = TestApp::new().await;
    let (status, _, page) = app
        .call(Method::GET, "/v1/operator/organizations", OPS, None)
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let ids: Vec<&str> = page["organizations"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|o| o["id"].as_str())
        .collect();
    assert_eq!(ids, ["org_other", "org_victim"]);
    assert!(page["next_after"].is_null());

    let (_, _, page) = app
        .call(Method::GET, "/v1/operator/organizations?q=VICT", OPS, None)
        .await;
    assert_eq!(page["organizations"][0]["id"], "org_victim");
    assert_eq!(page["organizations"].as_array().map(Vec::len), Some(1));
    let (_, _, page) = app
        .call(Method::GET, "/v1/operator/organizations?q=other", OPS, None)
        .await;
    assert_eq!(page["organizations"][0]["name"], "Other");

    let (_, _, first) = app
        .call(Method::GET, "/v1/operator/organizations?limit=1", OPS, None)
        .await;
    assert_eq!(first["organizations"][0]["id"], "org_other");
    assert_eq!(first["next_after"], "org_other");
    let (_, _, second) = app
        .call(
            Method::GET,
            "/v1/operator/organizations?limit=1&after=org_other",
            OPS,
            None,
        )
        .await;
    assert_eq!(second["organizations"][0]["id"], "org_victim");

    let (status, _, problem) = app
        .call(
            Method::GET,
            "/v1/operator/organizations?after=not%20an%20id",
            OPS,
            None,
        )
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_query"))
    );
}

#[tokio::test]
async fn an_operator_sees_one_organisation_whole_for_triage() {
    let app = TestApp::new().await;
    Victim::seed(&app).await;
    let (status, _, view) = app
        .call(Method::GET, "/v1/operator/organizations/org_victim", OPS, None)
        .await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["organization"]["id"], "org_victim");
    let professional = view["licenses"]
        .as_array()
        .expect("licenses")
        .iter()
        .find(|l| l["product"] == "professional")
        .expect("professional pool");
    assert_eq!(professional["purchased"], 10);
    assert_eq!(professional["assigned"], 2);
    assert!(view["grants"].as_array().is_some_and(|g| !g.is_empty()));
    assert!(
        view["admins"]
            .as_array()
            .expect("admins")
            .iter()
            .any(|a| a["id"] == "usr_admin")
    );
    assert!(
        view["recent_audit"]["entries"]
            .as_array()
            .is_some_and(|e| !e.is_empty())
    );

    let (status, _, problem) = app
        .call(Method::GET, "/v1/operator/organizations/org_nobody", OPS, None)
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
}

#[tokio::test]
async fn an_operator_opens_an_organisation_whose_first_admin_then_signs_in() {
    let app = TestApp::new().await;
    let body = json!({
        "id": "org_globex", "name": "Globex",
        "admin": {"id": "usr_hank", "name": "Hank Scorpio", "email": "hank@globex.example"}
    });
    let (status, _, opened) = app
        .call(
            Method::POST,
            "/v1/operator/organizations",
            OPS,
            Some(body.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{opened}");
    assert_eq!(opened["admin"]["role"], "admin");

    let hank = app.token("usr_hank", "org_globex", seatflow_domain::Role::Admin, &[]);
    let (status, _, me) = app.call(Method::GET, "/v1/me", Some(&hank), None).await;
    assert_eq!(
        (status, me["user"]["email"].as_str()),
        (StatusCode::OK, Some("hank@globex.example"))
    );
    let (_, _, audit) = app.call(Method::GET, "/v1/audit", Some(&hank), None).await;
    assert_eq!(audit["entries"][0]["action"], "organization_created");
    assert_eq!(audit["entries"][0]["actor"]["kind"], "operator");
    assert_eq!(audit["entries"][0]["actor"]["id"], "ops-olga");

    let (status, _, problem) = app
        .call(Method::POST, "/v1/operator/organizations", OPS, Some(body))
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::CONFLICT, Some("already_exists"))
    );
    let (status, _, problem) = app
        .call(
            Method::POST,
            "/v1/operator/organizations",
            OPS,
            Some(json!({"id": "org_initech", "name": "Initech", "admin": {"name": "Bill", "email": "not-an-email"}})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
}

#[tokio::test]
async fn an_operator_grants_and_ends_seats_under_their_own_name() {
    let app = TestApp::new().await;
    Victim::seed(&app).await;
    let admin = app.token("usr_admin", "org_victim", seatflow_domain::Role::Admin, &[]);
    let (status, _, granted) = app
        .call(
            Method::POST,
            "/v1/operator/organizations/org_victim/grants",
            OPS,
            Some(json!({"product": "professional", "quantity": 5, "reference": "ticket 4711: pilot"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{granted}");
    assert_eq!(granted["audit"]["actor"]["id"], "ops-olga");
    let grant = granted["result"]["id"].as_str().expect("grant id").to_owned();
    let purchased = |licenses: &serde_json::Value| {
        licenses
            .as_array()
            .and_then(|l| l.iter().find(|p| p["product"] == "professional"))
            .map(|p| p["purchased"].clone())
    };
    let (_, _, licenses) = app.call(Method::GET, "/v1/licenses", Some(&admin), None).await;
    assert_eq!(purchased(&licenses), Some(json!(15)));

    let (status, _, ended) = app
        .call(
            Method::DELETE,
            &format!("/v1/operator/organizations/org_victim/grants/{grant}"),
            OPS,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{ended}");
    assert!(ended["ended_at"].is_string());
    let (_, _, licenses) = app.call(Method::GET, "/v1/licenses", Some(&admin), None).await;
    assert_eq!(purchased(&licenses), Some(json!(10)));

    let (status, _, problem) = app
        .call(
            Method::POST,
            "/v1/operator/organizations/org_victim/grants",
            OPS,
            Some(json!({"product": "professional", "quantity": 0, "reference": "nothing"})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    // The organisation's own admin may not give itself seats.
    let (status, _, problem) = app
        .call(
            Method::POST,
            "/v1/operator/organizations/org_victim/grants",
            Some(&admin),
            Some(json!({"product": "professional", "quantity": 5, "reference": "free"})),
        )
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("operator_only"))
    );
}

#[tokio::test]
async fn an_operator_key_is_no_organisation_credential_and_an_unknown_one_is_nothing() {
    let app = TestApp::new().await;
    let victim = Victim::seed(&app).await;
    for (method, template, path, body) in route_table(&victim.key_id, &victim.endpoint_id) {
        let (status, _, problem) = app.call(method.clone(), &path, OPS, body.clone()).await;
        if template.starts_with("/v1/operator/") {
            assert!(
                status.is_success() || status == StatusCode::NOT_FOUND,
                "{method} {template}: {status} {problem}"
            );
            continue;
        }
        assert_eq!(
            (status, problem["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("operator_key_not_accepted")),
            "{method} {template}"
        );
        let (status, _, _) = app.call(method.clone(), &path, Some("sfo_unknown"), body).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {template}");
    }
    let (status, _, _) = app
        .call(
            Method::GET,
            "/v1/operator/organizations",
            Some("sfo_unknown"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}
