//! SCIM 2.0 as Okta and Entra ID speak it (the request shapes their
//! documentation gives for user create, lookup, deactivate, group push and
//! membership), ending in the expected users, teams and seats; bad requests
//! answered with SCIM error bodies and their scimType; another
//! organisation's key sees nothing.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use seatflow_domain::{ApiScope, Mode, OrgId, ProductId, Role, TeamId, UserId};
use serde_json::{Value, json};

use crate::harness::{TestApp, Victim};

const PATCH: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// A bad request: method, path, body, and the status and scimType it gets.
type BadRequest = (Method, &'static str, Option<Value>, u16, Option<&'static str>);

/// A SCIM request as identity providers send it (`application/scim+json`).
async fn scim(
    app: &TestApp,
    key: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header(header::AUTHORIZATION, format!("Bearer {key}"));
    if body.is_some() {
        request = request.header(header::CONTENT_TYPE, "application/scim+json; charset=utf-8");
    }
    let request = request
        .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
        .expect("request");
    let (status, headers, bytes) = app.send(request).await;
    if bytes.is_empty() {
        return (status, Value::Null);
    }
    assert_eq!(
        headers[header::CONTENT_TYPE].to_str().ok(),
        Some("application/scim+json"),
        "{status}"
    );
    (status, serde_json::from_slice(&bytes).expect("JSON"))
}

async fn with_policy(app: &TestApp, product: &str) {
    let admin = app.token("usr_admin", "org_victim", Role::Admin, &[]);
    let (status, _, body) = app
        .call(
            Method::PUT,
            "/v1/directory-sync",
            Some(&admin),
            Some(json!({ "default_product": product })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, _, read) = app
        .call(Method::GET, "/v1/directory-sync", Some(&admin), None)
        .await;
    assert_eq!(read["default_product"], product);
}

fn scim_error(body: &Value, status: u16, scim_type: Option<&str>) {
    assert_eq!(
        body["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:Error",
        "{body}"
    );
    assert_eq!(body["status"], status.to_string(), "{body}");
    assert_eq!(body["scimType"].as_str(), scim_type, "{body}");
    assert!(body["detail"].as_str().is_some_and(|d| !d.is_empty()), "{body}");
}

async fn assigned(app: &TestApp, product: &str) -> u32 {
    app.fixture
        .pool(&ProductId::parse(product).expect("id"))
        .await
        .assigned
}

#[tokio::test]
async fn okta_creates_finds_pushes_groups_deactivates_and_deletes_a_user() {
    let app = TestApp::new().await;
    Victim::seed(&app).await;
    with_policy(&app, "professional").await;
    let key = app.api_key_for("org_victim").await;
    let before = assigned(&app, "professional").await;

    // Okta looks the user up first, then creates them.
    let (status, found) = scim(
        &app,
        &key,
        Method::GET,
        "/scim/v2/Users?filter=userName%20eq%20%22test.user%40okta.local%22&startIndex=1&count=100",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (
            found["totalResults"].as_u64(),
            found["Resources"].as_array().map(Vec::len)
        ),
        (Some(0), Some(0))
    );
    let okta_user = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "test.user@okta.local",
        "name": { "givenName": "Test", "familyName": "User" },
        "emails": [{ "primary": true, "value": "test.user@okta.local", "type": "work" }],
        "displayName": "Test User",
        "locale": "en-US",
        "externalId": "00ujl29u0le5T6Aj10h7",
        "groups": [],
        "password": "1mz050nq",
        "active": true
    });
    let (status, created) = scim(
        &app,
        &key,
        Method::POST,
        "/scim/v2/Users",
        Some(okta_user.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().expect("id").to_owned();
    assert_eq!(created["userName"], "test.user@okta.local");
    assert_eq!(created["displayName"], "Test User");
    assert_eq!(created["active"], true);
    let seats = &created["urn:seatflow:params:scim:schemas:extension:seats:2.0:User"];
    assert_eq!(seats["seats"], json!(["professional"]), "the policy's seat");
    assert_eq!(seats["seatPending"], false);
    // The directory's change emits the outbound events of any other.
    let emitted: Vec<(String, String)> = app
        .memory
        .take_outbox()
        .iter()
        .filter(|e| e.ordering_key == format!("user:{id}"))
        .map(|e| {
            (
                e.kind.as_str().to_owned(),
                e.data["object"]["user"]["email"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
        })
        .collect();
    assert_eq!(
        emitted,
        [
            ("user.created".to_owned(), "test.user@okta.local".to_owned()),
            ("seat.assigned".to_owned(), "test.user@okta.local".to_owned())
        ]
    );
    assert_eq!(assigned(&app, "professional").await, before + 1);
    let (status, again) = scim(&app, &key, Method::POST, "/scim/v2/Users", Some(okta_user)).await;
    assert_eq!(status, StatusCode::CONFLICT);
    scim_error(&again, 409, Some("uniqueness"));
    let (_, found) = scim(
        &app,
        &key,
        Method::GET,
        "/scim/v2/Users?filter=userName%20eq%20%22TEST.USER%40okta.local%22",
        None,
    )
    .await;
    assert_eq!(
        found["Resources"][0]["id"],
        id.as_str(),
        "found by email, any case"
    );
    // By the directory's own id: exactly, through its index.
    for (filter, total) in [("00ujl29u0le5T6Aj10h7", 1), ("00UJL29U0LE5T6AJ10H7", 0)] {
        let (status, found) = scim(
            &app,
            &key,
            Method::GET,
            &format!("/scim/v2/Users?filter=externalId%20eq%20%22{filter}%22"),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{found}");
        assert_eq!(found["totalResults"], total, "{filter}: {found}");
        if total == 1 {
            assert_eq!(found["Resources"][0]["id"], id.as_str());
            assert_eq!(found["Resources"][0]["externalId"], "00ujl29u0le5T6Aj10h7");
        }
    }

    // Group push: a team, the user added, then removed.
    let (status, group) = scim(
        &app,
        &key,
        Method::POST,
        "/scim/v2/Groups",
        Some(json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "Test SCIMv2",
            "members": []
        })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{group}");
    let group_id = group["id"].as_str().expect("id").to_owned();
    let (status, group) = scim(
        &app,
        &key,
        Method::PATCH,
        &format!("/scim/v2/Groups/{group_id}"),
        Some(json!({
            "schemas": [PATCH],
            "Operations": [{ "op": "add", "path": "members", "value": [{ "value": id, "display": "test.user@okta.local" }] }]
        })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{group}");
    assert_eq!(group["members"][0]["value"], id.as_str());
    let team = TeamId::parse(&group_id).expect("team id");
    let user = UserId::parse(&id).expect("user id");
    let moved = app
        .state
        .seats
        .directory()
        .user(&app.fixture.admin, &user)
        .await
        .expect("user");
    assert_eq!(moved.user.team.as_ref(), Some(&team));
    assert_eq!(
        moved.seats[0].team.as_ref(),
        Some(&team),
        "the seat moved with them"
    );
    // The same name changes nothing; another renames the team.
    let (status, _) = scim(
        &app,
        &key,
        Method::PATCH,
        &format!("/scim/v2/Groups/{group_id}"),
        Some(json!({ "schemas": [PATCH], "Operations": [{ "op": "replace", "value": { "id": group_id, "displayName": "Test SCIMv2" } }] })),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, refused) = scim(
        &app,
        &key,
        Method::PATCH,
        &format!("/scim/v2/Groups/{group_id}"),
        Some(json!({ "schemas": [PATCH], "Operations": [{ "op": "replace", "value": { "id": group_id, "displayName": "Renamed" } }] })),
    )
    .await;
    assert_eq!(
        (status, refused["displayName"].as_str()),
        (StatusCode::OK, Some("Renamed")),
        "{refused}"
    );
    assert_eq!(
        app.state
            .seats
            .directory()
            .team(&app.fixture.admin, &team)
            .await
            .expect("team")
            .name
            .as_str(),
        "Renamed"
    );
    let (status, group) = scim(
        &app,
        &key,
        Method::PATCH,
        &format!("/scim/v2/Groups/{group_id}"),
        Some(json!({ "schemas": [PATCH], "Operations": [{ "op": "remove", "path": format!("members[value eq \"{id}\"]") }] })),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(group["members"], json!([]));

    // Deactivated: every seat back, the account kept; reactivated: the seat again.
    let (status, off) = scim(
        &app,
        &key,
        Method::PATCH,
        &format!("/scim/v2/Users/{id}"),
        Some(
            json!({ "schemas": [PATCH], "Operations": [{ "op": "replace", "value": { "active": false } }] }),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{off}");
    assert_eq!(off["active"], false);
    assert_eq!(
        off["urn:seatflow:params:scim:schemas:extension:seats:2.0:User"]["seats"],
        json!([])
    );
    assert_eq!(assigned(&app, "professional").await, before);
    let (_, on) = scim(
        &app,
        &key,
        Method::PATCH,
        &format!("/scim/v2/Users/{id}"),
        Some(json!({ "schemas": [PATCH], "Operations": [{ "op": "replace", "value": { "active": true } }] })),
    )
    .await;
    assert_eq!(on["active"], true);
    assert_eq!(assigned(&app, "professional").await, before + 1);

    // A full replace changes the name; DELETE removes the user.
    let (status, replaced) = scim(
        &app,
        &key,
        Method::PUT,
        &format!("/scim/v2/Users/{id}"),
        Some(json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "id": id, "userName": "test.user@okta.local",
            "name": { "givenName": "Tess", "familyName": "User" }, "active": true
        })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{replaced}");
    // Answered as the directory said it: a name without a displayName.
    assert_eq!(replaced["name"]["givenName"], "Tess");
    assert!(replaced.get("displayName").is_none(), "{replaced}");
    let (status, _) = scim(&app, &key, Method::DELETE, &format!("/scim/v2/Users/{id}"), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(assigned(&app, "professional").await, before);
    let (status, gone) = scim(&app, &key, Method::GET, &format!("/scim/v2/Users/{id}"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    scim_error(&gone, 404, None);

    // Audited, with the directory's key as the actor.
    let (_, _, audit) = app
        .call(Method::GET, "/v1/audit?limit=100", Some(&key), None)
        .await;
    let actions: Vec<&str> = audit["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter(|e| e["actor"]["kind"] == "api_key")
        .filter_map(|e| e["action"].as_str())
        .collect();
    for action in [
        "user_created",
        "user_deactivated",
        "user_reactivated",
        "user_removed",
    ] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }
}

#[tokio::test]
async fn entra_creates_users_until_no_seat_is_free_then_flags_them_and_moves_groups() {
    let app = TestApp::new().await;
    Victim::seed(&app).await;
    with_policy(&app, "professional").await;
    let key = app.api_key_for("org_victim").await;
    // 10 Professional seats: Red's allocation sets 5 aside, Ben holds one
    // outside it, so 4 are free for users in no team.
    let mut ids = Vec::new();
    for n in 1..=5 {
        let (status, created) = scim(
            &app,
            &key,
            Method::POST,
            "/scim/v2/Users",
            Some(json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
                "externalId": format!("0a21f0f2-8d2a-4f8e-bf98-7363c4aed4e{n}"),
                "userName": format!("user{n}@contoso.com"),
                "active": true,
                "emails": [{ "primary": true, "type": "work", "value": format!("user{n}@contoso.com") }],
                "meta": { "resourceType": "User" },
                "name": { "formatted": format!("Given{n} Family"), "familyName": "Family", "givenName": format!("Given{n}") },
                "roles": []
            })),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        ids.push(created["id"].as_str().expect("id").to_owned());
        let extension = &created["urn:seatflow:params:scim:schemas:extension:seats:2.0:User"];
        if n <= 4 {
            assert_eq!(extension["seats"], json!(["professional"]), "user {n}");
        } else {
            assert_eq!(
                (extension["seats"].clone(), extension["seatPending"].clone()),
                (json!([]), json!(true)),
                "no seat was free: created without one, flagged"
            );
        }
    }

    // Entra's lookup, update and deactivation shapes.
    let (_, found) = scim(
        &app,
        &key,
        Method::GET,
        "/scim/v2/Users?filter=userName+eq+%22user1%40contoso.com%22",
        None,
    )
    .await;
    assert_eq!(found["totalResults"], 1);
    let first = &ids[0];
    let (status, updated) = scim(
        &app,
        &key,
        Method::PATCH,
        &format!("/scim/v2/Users/{first}"),
        Some(json!({
            "schemas": [PATCH],
            "Operations": [
                { "op": "Replace", "path": "emails[type eq \"work\"].value", "value": "renamed@contoso.com" },
                { "op": "Replace", "path": "name.familyName", "value": "Newfamily" }
            ]
        })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    // Entra's userName is the sign-in name; the work email is the email.
    assert_eq!(updated["emails"][0]["value"], "renamed@contoso.com");
    let (status, _, by_email) = app
        .call(
            Method::GET,
            "/v1/entitlements?user=renamed@contoso.com",
            Some(&key),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{by_email}");
    assert_eq!(by_email["user"], updated["id"], "{by_email}");
    assert_eq!(updated["name"]["familyName"], "Newfamily");
    let (status, _, user) = app
        .call(Method::GET, &format!("/v1/users/{first}"), Some(&key), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{user}");
    assert_eq!(user["user"]["name"], "Given1 Newfamily", "{user}");
    let (status, off) = scim(
        &app,
        &key,
        Method::PATCH,
        &format!("/scim/v2/Users/{first}"),
        Some(json!({ "schemas": [PATCH], "Operations": [{ "op": "Replace", "path": "active", "value": "False" }] })),
    )
    .await;
    assert_eq!((status, off["active"].clone()), (StatusCode::OK, json!(false)));
    // Its seat came free: the flagged user can now be given one.
    let flagged = UserId::parse(&ids[4]).expect("id");
    app.state
        .seats
        .allocations()
        .assign(
            &app.fixture.admin,
            &ProductId::parse("professional").expect("id"),
            &flagged,
            Mode::Apply,
        )
        .await
        .expect("the freed seat");

    // Groups: created with an externalId, found by name, members added and removed.
    let (status, group) = scim(
        &app,
        &key,
        Method::POST,
        "/scim/v2/Groups",
        Some(json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group", "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
            "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
            "displayName": "Designers",
            "meta": { "resourceType": "Group" }
        })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{group}");
    let group_id = group["id"].as_str().expect("id").to_owned();
    let (_, listed) = scim(
        &app,
        &key,
        Method::GET,
        "/scim/v2/Groups?excludedAttributes=members&filter=displayName+eq+%22Designers%22",
        None,
    )
    .await;
    assert_eq!(listed["Resources"][0]["id"], group_id.as_str());
    let second = &ids[1];
    let (status, group) = scim(
        &app,
        &key,
        Method::PATCH,
        &format!("/scim/v2/Groups/{group_id}"),
        Some(json!({ "schemas": [PATCH], "Operations": [{ "op": "Add", "path": "members", "value": [{ "$ref": null, "value": second }] }] })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{group}");
    assert_eq!(group["members"][0]["value"], second.as_str());
    let (_, group) = scim(
        &app,
        &key,
        Method::PATCH,
        &format!("/scim/v2/Groups/{group_id}"),
        Some(json!({ "schemas": [PATCH], "Operations": [{ "op": "Remove", "path": "members", "value": [{ "$ref": null, "value": second }] }] })),
    )
    .await;
    assert_eq!(group["members"], json!([]));
    // Into Red, whose allocation (5, Ann holds one) has room for four
    // seated users; then it is full, and a fifth is refused and stays put.
    let (status, red) = scim(
        &app,
        &key,
        Method::PATCH,
        "/scim/v2/Groups/team_red",
        Some(json!({ "schemas": [PATCH], "Operations": [{ "op": "add", "path": "members", "value": ids.iter().skip(1).map(|id| json!({ "value": id })).collect::<Vec<_>>() }] })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{red}");
    assert_eq!(red["members"].as_array().map(Vec::len), Some(5));
    // Entra checks one membership without reading the group's members.
    for (member, expected) in [
        (ids[1].as_str(), 1),
        ("usr_ben", 0),
        ("usr_nobody", 0),
        ("not-an-id", 0),
    ] {
        let (status, found) = scim(
            &app,
            &key,
            Method::GET,
            &format!(
                "/scim/v2/Groups?excludedAttributes=members&filter=id%20eq%20%22team_red%22%20and%20members%5Bvalue%20eq%20%22{member}%22%5D"
            ),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{found}");
        assert_eq!(found["totalResults"], expected, "{member}: {found}");
    }
    let (_, found) = scim(
        &app,
        &key,
        Method::GET,
        &format!(
            "/scim/v2/Groups?filter=members%5Bvalue%20eq%20%22{}%22%5D",
            ids[1]
        ),
        None,
    )
    .await;
    assert_eq!(found["Resources"][0]["id"], "team_red", "{found}");
    let (status, refused) = scim(
        &app,
        &key,
        Method::PATCH,
        "/scim/v2/Groups/team_red",
        Some(json!({ "schemas": [PATCH], "Operations": [{ "op": "add", "path": "members", "value": [{ "value": "usr_ben" }] }] })),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    scim_error(&refused, 409, None);
    let ben = app
        .state
        .seats
        .directory()
        .user(&app.fixture.admin, &UserId::parse("usr_ben").expect("id"))
        .await
        .expect("Ben");
    assert_eq!(ben.user.team, Some(TeamId::parse("team_blue").expect("id")));
}

#[tokio::test]
async fn bad_scim_requests_get_scim_errors_and_other_organisations_see_nothing() {
    let app = TestApp::new().await;
    Victim::seed(&app).await;
    let key = app.api_key_for("org_victim").await;
    let cases: [BadRequest; 9] = [
        (
            Method::GET,
            "/scim/v2/Users?filter=userName%20co%20%22ann%22",
            None,
            400,
            Some("invalidFilter"),
        ),
        (
            Method::GET,
            "/scim/v2/Users?startIndex=first",
            None,
            400,
            Some("invalidValue"),
        ),
        (
            Method::POST,
            "/scim/v2/Users",
            Some(json!({ "displayName": "No Name" })),
            400,
            Some("invalidValue"),
        ),
        (
            Method::POST,
            "/scim/v2/Users",
            Some(json!({ "displayName": "No userName" })),
            400,
            Some("invalidValue"),
        ),
        (
            Method::POST,
            "/scim/v2/Users",
            Some(json!({ "userName": "ann.lee", "emails": [{ "value": "not an address" }] })),
            400,
            Some("invalidValue"),
        ),
        (
            Method::PATCH,
            "/scim/v2/Users/usr_ann",
            Some(json!({ "Operations": [{ "op": "replace", "path": "active", "value": false }] })),
            400,
            Some("invalidSyntax"),
        ),
        (
            Method::PATCH,
            "/scim/v2/Users/usr_ann",
            Some(
                json!({ "schemas": [PATCH], "Operations": [{ "op": "replace", "path": "active", "value": "maybe" }] }),
            ),
            400,
            Some("invalidValue"),
        ),
        (
            Method::PATCH,
            "/scim/v2/Groups/team_red",
            Some(
                json!({ "schemas": [PATCH], "Operations": [{ "op": "replace", "path": "owner", "value": "x" }] }),
            ),
            400,
            Some("invalidPath"),
        ),
        (Method::GET, "/scim/v2/Users/usr_nobody", None, 404, None),
    ];
    for (method, path, body, status, scim_type) in cases {
        let (got, answer) = scim(&app, &key, method.clone(), path, body).await;
        assert_eq!(got.as_u16(), status, "{method} {path}: {answer}");
        scim_error(&answer, status, scim_type);
    }
    // Not JSON at all.
    let request = Request::builder()
        .method(Method::POST)
        .uri("/scim/v2/Users")
        .header(header::AUTHORIZATION, format!("Bearer {key}"))
        .header(header::CONTENT_TYPE, "application/scim+json")
        .body(Body::from("{not json"))
        .expect("request");
    let (status, _, bytes) = app.send(request).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    scim_error(
        &serde_json::from_slice(&bytes).expect("JSON"),
        400,
        Some("invalidSyntax"),
    );

    // Too large to read: refused before it is buffered.
    let huge = json!({ "userName": "big@victim.example", "displayName": "x".repeat(100 * 1024) });
    let (status, answer) = scim(&app, &key, Method::POST, "/scim/v2/Users", Some(huge)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    scim_error(&answer, 413, None);

    // Without a key, with a key lacking the scope, with a person's token.
    let (status, answer) = scim(&app, "", Method::GET, "/scim/v2/Users", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    scim_error(&answer, 401, None);
    let narrow = seatflow_http::auth::ApiKeySecret::generate();
    app.state
        .seats
        .integrations()
        .create_api_key(
            &app.fixture.admin,
            "entitlements only",
            &narrow.prefix,
            &narrow.hash,
            &[ApiScope::EntitlementsRead],
            Mode::Apply,
        )
        .await
        .expect("key");
    let narrow = secrecy::ExposeSecret::expose_secret(&narrow.secret).to_owned();
    let (status, answer) = scim(&app, &narrow, Method::GET, "/scim/v2/Users", None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    scim_error(&answer, 403, None);
    let admin = app.token("usr_admin", "org_victim", Role::Admin, &[]);
    let (status, _) = scim(&app, &admin, Method::GET, "/scim/v2/Users", None).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "people use the API, directories SCIM"
    );

    // Another organisation's key sees and changes nothing of this one.
    let other = app.api_key_for("org_other").await;
    let (_, listed) = scim(&app, &other, Method::GET, "/scim/v2/Users", None).await;
    let emails: Vec<&str> = listed["Resources"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|r| r["userName"].as_str())
        .collect();
    assert!(!emails.iter().any(|e| e.contains("victim")), "{emails:?}");
    for (method, path) in [
        (Method::GET, "/scim/v2/Users/usr_ann"),
        (Method::DELETE, "/scim/v2/Users/usr_ann"),
        (Method::GET, "/scim/v2/Groups/team_red"),
    ] {
        let (status, _) = scim(&app, &other, method, path, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
    }
    let (_, found) = scim(
        &app,
        &other,
        Method::GET,
        "/scim/v2/Users?filter=userName%20eq%20%22ann%40victim.example%22",
        None,
    )
    .await;
    assert_eq!(found["totalResults"], 0);
    let (_, groups) = scim(&app, &other, Method::GET, "/scim/v2/Groups", None).await;
    assert_eq!(groups["totalResults"], 0);
    assert!(
        app.state
            .seats
            .directory()
            .user(&app.fixture.admin, &UserId::parse("usr_ann").expect("id"))
            .await
            .is_ok(),
        "Ann is still there"
    );
    let _ = OrgId::parse("org_other");
}

#[tokio::test]
async fn discovery_says_what_is_supported() {
    let app = TestApp::new().await;
    let key = app.api_key_for("org_victim").await;
    let (status, config) = scim(&app, &key, Method::GET, "/scim/v2/ServiceProviderConfig", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(config["patch"]["supported"], true);
    assert_eq!(config["bulk"]["supported"], false);
    assert_eq!(config["filter"]["supported"], true);
    let (_, types) = scim(&app, &key, Method::GET, "/scim/v2/ResourceTypes", None).await;
    let names: Vec<&str> = types["Resources"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert_eq!(names, ["User", "Group"]);
    let (_, schemas) = scim(&app, &key, Method::GET, "/scim/v2/Schemas", None).await;
    assert_eq!(schemas["totalResults"], 3);
}

#[tokio::test]
async fn a_deleted_group_or_team_returns_its_allocation_and_its_members_keep_their_seats() {
    let app = TestApp::new().await;
    Victim::seed(&app).await;
    let key = app.api_key_for("org_victim").await;
    let admin = app.token("usr_admin", "org_victim", Role::Admin, &[]);
    // The directory's id for a group is kept, found, and cleared.
    let patch = |op: &str, value: Value| json!({ "schemas": [PATCH], "Operations": [{ "op": op, "path": "externalId", "value": value }] });
    let (status, linked) = scim(
        &app,
        &key,
        Method::PATCH,
        "/scim/v2/Groups/team_red",
        Some(patch("add", json!("okta-00g1"))),
    )
    .await;
    assert_eq!(
        (status, &linked["externalId"]),
        (StatusCode::OK, &json!("okta-00g1")),
        "{linked}"
    );
    let (_, found) = scim(
        &app,
        &key,
        Method::GET,
        "/scim/v2/Groups?filter=externalId%20eq%20%22okta-00g1%22",
        None,
    )
    .await;
    assert_eq!(found["totalResults"], 1, "{found}");
    let (_, unlinked) = scim(
        &app,
        &key,
        Method::PATCH,
        "/scim/v2/Groups/team_blue",
        Some(patch("remove", Value::Null)),
    )
    .await;
    assert!(unlinked.get("externalId").is_none(), "{unlinked}");
    // Red holds 5 Professional seats aside; Ann, in it, holds one.
    let (status, _, preview) = app
        .call(
            Method::DELETE,
            "/v1/teams/team_red?dry_run=true",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{preview}");
    assert_eq!(preview["dry_run"], true);
    assert_eq!(preview["result"]["members"], 1, "{preview}");
    assert_eq!(preview["result"]["allocations"][0]["allocated"], 5, "{preview}");
    let (status, _) = scim(&app, &key, Method::GET, "/scim/v2/Groups/team_red", None).await;
    assert_eq!(status, StatusCode::OK, "a dry run removes nothing");

    let (status, gone) = scim(&app, &key, Method::DELETE, "/scim/v2/Groups/team_red", None).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{gone}");
    let (status, missing) = scim(&app, &key, Method::GET, "/scim/v2/Groups/team_red", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    scim_error(&missing, 404, None);
    let (_, ann) = scim(&app, &key, Method::GET, "/scim/v2/Users/usr_ann", None).await;
    assert!(ann.get("groups").is_none(), "{ann}");
    assert_eq!(
        ann["urn:seatflow:params:scim:schemas:extension:seats:2.0:User"]["seats"],
        json!(["professional", "sso"]),
        "Ann keeps her seats"
    );
    let (_, _, allocations) = app.call(Method::GET, "/v1/allocations", Some(&admin), None).await;
    assert!(
        allocations
            .as_array()
            .is_some_and(|all| all.iter().all(|t| t["team"] != "team_red")),
        "{allocations}"
    );
    // The REST route removes Blue (Ben keeps his seat); a second time is 404.
    let (status, _, removed) = app
        .call(Method::DELETE, "/v1/teams/team_blue", Some(&admin), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{removed}");
    assert_eq!(removed["audit"]["action"], "team_removed");
    let (status, _, again) = app
        .call(Method::DELETE, "/v1/teams/team_blue", Some(&admin), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{again}");
    assert_eq!(assigned(&app, "professional").await, 2);
}

/// SCIM has no dry run: a change sent with `?dry_run=true` (the API's flag)
/// is refused with a SCIM error before anything is written, on every
/// mutating route, rather than made.
#[tokio::test]
async fn a_scim_change_asking_for_a_dry_run_is_refused_and_writes_nothing() {
    let app = TestApp::new().await;
    let victim = Victim::seed(&app).await;
    let key = app.api_key_for("org_victim").await;
    let user = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "new@victim.example",
        "name": {"givenName": "New", "familyName": "Person"},
        "emails": [{"value": "new@victim.example", "primary": true}],
        "active": true,
    });
    let group = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Greens"});
    let rename = json!({"schemas": [PATCH], "Operations": [{"op": "replace", "path": "displayName", "value": "Reds"}]});
    let deactivate =
        json!({"schemas": [PATCH], "Operations": [{"op": "replace", "path": "active", "value": false}]});
    let (_, users_before) = scim(&app, &key, Method::GET, "/scim/v2/Users", None).await;
    let (_, groups_before) = scim(&app, &key, Method::GET, "/scim/v2/Groups", None).await;
    let audit_before = victim.audit_len(&app).await;
    let changes = [
        (Method::POST, "/scim/v2/Users?dry_run=true", Some(user.clone())),
        (Method::PUT, "/scim/v2/Users/usr_ann?dry_run=true", Some(user)),
        (
            Method::PATCH,
            "/scim/v2/Users/usr_ann?dry_run=true",
            Some(deactivate),
        ),
        (Method::DELETE, "/scim/v2/Users/usr_ann?dry_run=false", None),
        (Method::POST, "/scim/v2/Groups?dry_run=true", Some(group.clone())),
        (Method::PUT, "/scim/v2/Groups/team_red?dry_run=true", Some(group)),
        (
            Method::PATCH,
            "/scim/v2/Groups/team_red?dry_run=true",
            Some(rename),
        ),
        (Method::DELETE, "/scim/v2/Groups/team_red?dry_run=true", None),
    ];
    for (method, path, body) in changes {
        let (status, error) = scim(&app, &key, method.clone(), path, body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{method} {path}: {error}");
        scim_error(&error, 400, Some("invalidValue"));
        assert!(
            error["detail"].as_str().is_some_and(|d| d.contains("no dry run")),
            "{error}"
        );
    }
    assert_eq!(victim.audit_len(&app).await, audit_before, "no audit entry");
    assert_eq!(
        scim(&app, &key, Method::GET, "/scim/v2/Users", None).await.1,
        users_before
    );
    assert_eq!(
        scim(&app, &key, Method::GET, "/scim/v2/Groups", None).await.1,
        groups_before
    );
    // Reads take no such flag to heart: a search is no change.
    let (status, _) = scim(
        &app,
        &key,
        Method::POST,
        "/scim/v2/Users/.search?dry_run=true",
        Some(json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"]})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

/// Okta's import reads the directory page after page
/// (`startIndex=1&count=…`, then the next index): every user once, in a
/// stable order, with the total on every page, however the pages are cut.
#[tokio::test]
async fn users_read_page_after_page_by_start_index_come_once_each_with_the_total() {
    let app = TestApp::new().await;
    Victim::seed(&app).await;
    let key = app.api_key_for("org_victim").await;
    for i in 0..7 {
        let (status, body) = scim(
            &app,
            &key,
            Method::POST,
            "/scim/v2/Users",
            Some(json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": format!("paged.{i}@okta.local"),
                "active": true
            })),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let (_, whole) = scim(&app, &key, Method::GET, "/scim/v2/Users?count=200", None).await;
    let total = whole["totalResults"].as_u64().expect("total");
    let everyone: Vec<Value> = whole["Resources"].as_array().expect("resources").clone();
    assert_eq!(everyone.len() as u64, total);
    assert!(total >= 7, "{whole}");

    for count in [1, 3, 4] {
        let mut seen = Vec::new();
        let mut start = 1;
        loop {
            let (status, page) = scim(
                &app,
                &key,
                Method::GET,
                &format!("/scim/v2/Users?startIndex={start}&count={count}"),
                None,
            )
            .await;
            assert_eq!(status, StatusCode::OK, "{page}");
            assert_eq!(page["totalResults"].as_u64(), Some(total), "{page}");
            assert_eq!(page["startIndex"].as_u64(), Some(start), "{page}");
            let resources = page["Resources"].as_array().cloned().unwrap_or_default();
            assert_eq!(
                page["itemsPerPage"].as_u64(),
                Some(resources.len() as u64),
                "{page}"
            );
            if resources.is_empty() {
                break;
            }
            assert!(resources.len() <= count as usize);
            start += resources.len() as u64;
            seen.extend(resources);
        }
        assert_eq!(seen, everyone, "pages of {count}");
    }

    // A page begun anywhere is the users from there.
    let (_, page) = scim(
        &app,
        &key,
        Method::GET,
        "/scim/v2/Users?startIndex=3&count=2",
        None,
    )
    .await;
    assert_eq!(page["Resources"].as_array().expect("page")[..], everyone[2..4]);
    let (_, none) = scim(&app, &key, Method::GET, "/scim/v2/Users?count=0", None).await;
    assert_eq!(none["totalResults"].as_u64(), Some(total), "{none}");
    assert_eq!(none["itemsPerPage"].as_u64(), Some(0), "{none}");
}

/// A group too large for one answer is refused with `tooMany` (saying how
/// to ask instead), asked alone or in a list; without its members it is
/// answered, and one membership is checked without reading the others.
#[tokio::test]
async fn a_group_too_large_for_one_answer_says_how_to_ask_instead() {
    let app = TestApp::new().await;
    Victim::seed(&app).await;
    let key = app.api_key_for("org_victim").await;
    let crowd = 20_001;
    let rows: Vec<seatflow_domain::ImportRow> = (0..crowd)
        .map(|i| seatflow_domain::ImportRow {
            name: format!("Crowd {i:05}"),
            email: format!("crowd{i:05}@victim.example"),
            team: Some("team_blue".into()),
            ..seatflow_domain::ImportRow::default()
        })
        .collect();
    let admin = &app.fixture.admin;
    for chunk in rows.chunks(seatflow_domain::MAX_IMPORT_ROWS) {
        let report = app
            .state
            .seats
            .directory()
            .import_users(admin, chunk, Mode::Apply)
            .await
            .expect("imported");
        assert_eq!(report.created, chunk.len());
    }
    for path in ["/scim/v2/Groups/team_blue", "/scim/v2/Groups?count=10"] {
        let (status, refused) = scim(&app, &key, Method::GET, path, None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}");
        scim_error(&refused, 400, Some("tooMany"));
        let detail = refused["detail"].as_str().unwrap_or_default();
        assert!(detail.contains("excludedAttributes=members"), "{detail}");
    }
    let (status, blue) = scim(
        &app,
        &key,
        Method::GET,
        "/scim/v2/Groups/team_blue?excludedAttributes=members",
        None,
    )
    .await;
    assert_eq!(
        (status, blue["displayName"].as_str()),
        (StatusCode::OK, Some("Blue"))
    );
    // Red, small, still lists its members.
    let (status, red) = scim(&app, &key, Method::GET, "/scim/v2/Groups/team_red", None).await;
    assert_eq!(status, StatusCode::OK, "{red}");
    assert!(red["members"].as_array().is_some_and(|m| !m.is_empty()), "{red}");
}
