//! The API's flows: dry runs, purchase to assignment, exports, the audit
//! log, API keys.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::access::route_table;
use crate::harness::{TestApp, Victim};

#[tokio::test]
async fn every_mutation_can_be_a_dry_run_that_writes_nothing() {
    let app = TestApp::new().await;
    let victim = Victim::seed(&app).await;
    let admin = app.token("usr_admin", "org_victim", seatflow_domain::Role::Admin, &[]);
    let licenses_before = app.call(Method::GET, "/v1/licenses", Some(&admin), None).await.2;
    let audit_before = victim.audit_len(&app).await;
    let mut mutations = 0;
    for (method, template, path, body) in route_table(&victim.key_id, &victim.endpoint_id) {
        // The operators' routes are the vendor's, not the organisation
        // admin's; a redelivery changes nothing of the organisation's (it
        // queues a delivery of an event already sent).
        if method == Method::GET || template.starts_with("/v1/operator/") || template.ends_with("/redeliver")
        {
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
        if template == "/v1/portal/hand-offs" {
            // No change to the organisation, so no audit entry: a dry run
            // shows when the link would expire, and gives none.
            assert!(result["url"].is_null(), "{result}");
            continue;
        }
        // An import reports per row; each row is its own audited change.
        assert!(
            template == "/v1/users/import" || result["audit"]["action"].is_string(),
            "{method} {template} shows its audit entry"
        );
    }
    assert_eq!(mutations, 24);
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

/// Names and emails that a spreadsheet would run as formulas are exported
/// as text (OWASP: a leading `'` before `=`, `+`, `-`, `@`, tab, CR), in the
/// assignment and the usage exports; JSON keeps them as they are.
#[tokio::test]
async fn exports_neutralise_cells_a_spreadsheet_would_run() {
    let app = TestApp::new().await;
    Victim::seed(&app).await;
    app.fixture.buy("professional", 30).await;
    let admin = app.token("usr_admin", "org_victim", seatflow_domain::Role::Admin, &[]);
    let hostile = [
        ("=HYPERLINK(\"http://evil.example\")", "=1+1@evil.example"),
        ("+SUM(A1)", "+plus@evil.example"),
        ("-2+3", "-minus@evil.example"),
        ("@cmd", "at@evil.example"),
        ("\tTabbed", "tab@evil.example"),
    ];
    for (i, (name, email)) in hostile.iter().enumerate() {
        let (status, _, created) = app
            .call(
                Method::POST,
                "/v1/users",
                Some(&admin),
                Some(
                    json!({"id": format!("usr_hostile{i}"), "name": name, "email": email,
                    "role": "member", "seat": "professional"}),
                ),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
    }
    let (status, _, team) = app
        .call(
            Method::POST,
            "/v1/teams",
            Some(&admin),
            Some(json!({"name": "=cmd|' /C calc'!A0"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{team}");
    let team_id = team["result"]["id"].as_str().expect("team id").to_owned();
    let (status, _, allocated) = app
        .call(
            Method::PUT,
            &format!("/v1/teams/{team_id}/allocations/professional"),
            Some(&admin),
            Some(json!({"seats": 1})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{allocated}");
    let (_, _, body) = app
        .call_raw(Method::GET, "/v1/assignments?format=csv", Some(&admin), None)
        .await;
    let mut reader = csv::Reader::from_reader(body.as_slice());
    let cells: Vec<Vec<String>> = reader
        .records()
        .map(|r| r.expect("a CSV record").iter().map(str::to_owned).collect())
        .collect();
    let spreadsheet_safe = |text: &str| {
        if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
            format!("'{text}")
        } else {
            text.to_owned()
        }
    };
    for (name, email) in hostile {
        // Names are stored trimmed (the tab goes); the rest stays as given.
        let stored = name.trim();
        let row = cells
            .iter()
            .find(|r| r[1].ends_with(stored.trim_start_matches(['=', '+', '-', '@'])))
            .unwrap_or_else(|| panic!("{name} exported: {cells:?}"));
        assert_eq!(row[1], spreadsheet_safe(stored));
        assert_eq!(row[2], spreadsheet_safe(email));
    }
    for row in &cells {
        for cell in row {
            assert!(
                !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "a cell a spreadsheet would run: {cell:?}"
            );
        }
    }
    let (_, _, usage) = app
        .call_raw(Method::GET, "/v1/usage?format=csv", Some(&admin), None)
        .await;
    let usage = String::from_utf8(usage).expect("utf-8");
    assert!(usage.contains("'=cmd|"), "the team's name, neutralised: {usage}");
    let mut reader = csv::Reader::from_reader(usage.as_bytes());
    for record in reader.records() {
        for cell in record.expect("a CSV record").iter() {
            assert!(!cell.starts_with(['=', '+', '-', '@', '\t', '\r']), "{cell:?}");
        }
    }
    let (_, _, json) = app.call(Method::GET, "/v1/assignments", Some(&admin), None).await;
    assert!(
        json.as_array()
            .expect("rows")
            .iter()
            .any(|r| r["name"] == "=HYPERLINK(\"http://evil.example\")"),
        "JSON keeps names as they are"
    );
}

/// The export pages by holders: `limit` holders a page, a `Link` to the
/// next page while more follow, and every seat exactly once across pages.
#[tokio::test]
async fn the_assignment_export_pages_with_next_links() {
    let app = TestApp::new().await;
    Victim::seed(&app).await;
    let f = &app.fixture;
    let pro = seatflow_testkit::product("professional");
    f.buy("professional", 30).await;
    for i in 0..5 {
        let user = f.user(&format!("Pager {i}"), None).await;
        f.seats
            .allocations()
            .assign(&f.admin, &pro, &user.id, seatflow_domain::Mode::Apply)
            .await
            .expect("seat");
    }
    let admin = app.token("usr_admin", "org_victim", seatflow_domain::Role::Admin, &[]);
    let (_, _, whole) = app
        .call_raw(Method::GET, "/v1/assignments?format=csv", Some(&admin), None)
        .await;
    let whole = String::from_utf8(whole).expect("utf-8");
    let mut uri = "/v1/assignments?format=csv&limit=2".to_owned();
    let (mut rows, mut pages) = (Vec::new(), 0);
    loop {
        let (status, headers, body) = app.call_raw(Method::GET, &uri, Some(&admin), None).await;
        assert_eq!(status, StatusCode::OK);
        pages += 1;
        let text = String::from_utf8(body).expect("utf-8");
        rows.extend(text.lines().skip(1).map(str::to_owned));
        let Some(link) = headers.get("link") else { break };
        let link = link.to_str().expect("ascii");
        assert!(link.ends_with(r#">; rel="next""#), "{link}");
        uri = link
            .trim_start_matches('<')
            .split_once('>')
            .expect("a target")
            .0
            .to_owned();
        assert!(uri.contains("limit=2") && uri.contains("after="), "{uri}");
    }
    let mut expected: Vec<String> = whole.lines().skip(1).map(str::to_owned).collect();
    expected.sort();
    rows.sort();
    assert_eq!(rows, expected, "every seat once across the pages");
    assert!(pages >= 3, "{pages} pages of 2 holders");
    for bad in ["limit=0", "limit=10001", "limit=many", "after=not%20an%20id"] {
        let (status, _, problem) = app
            .call(Method::GET, &format!("/v1/assignments?{bad}"), Some(&admin), None)
            .await;
        assert_eq!(
            (status, problem["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_query")),
            "{bad}"
        );
    }
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
async fn api_keys_authenticate_machine_clients_within_their_scopes_until_revoked() {
    let app = TestApp::new().await;
    Victim::seed(&app).await;
    let admin = app.token("usr_admin", "org_victim", seatflow_domain::Role::Admin, &[]);
    let create = |body: Value| {
        let (app, admin) = (&app, admin.clone());
        async move {
            let (status, _, created) = app
                .call(Method::POST, "/v1/api-keys", Some(&admin), Some(body))
                .await;
            assert_eq!(status, StatusCode::CREATED, "{created}");
            created
        }
    };
    // A new key gets the narrowest useful scope: checking entitlements.
    let narrow = create(json!({"name": "app"})).await;
    assert_eq!(narrow["result"]["key"]["scopes"], json!(["entitlements:read"]));
    let narrow = narrow["result"]["secret"].as_str().expect("secret").to_owned();
    let (status, _, _) = app
        .call(Method::GET, "/v1/entitlements?user=usr_ann", Some(&narrow), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, problem) = app.call(Method::GET, "/v1/licenses", Some(&narrow), None).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("insufficient_scope"))
    );
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.contains("seats:read")),
        "{problem}"
    );

    let created = create(json!({"name": "shop", "scopes": ["seats:read", "seats:write"]})).await;
    let secret = created["result"]["secret"]
        .as_str()
        .expect("secret shown once")
        .to_owned();
    let id = created["result"]["key"]["id"].as_str().expect("id").to_owned();
    assert!(
        created["result"]["key"].get("secret_hash").is_none(),
        "the hash is never shown"
    );
    let (status, _, problem) = app
        .call(
            Method::POST,
            "/v1/api-keys",
            Some(&admin),
            Some(json!({"name": "x", "scopes": ["root"]})),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "an unknown scope: {problem}"
    );
    // The machine client acts within its organisation and its scopes.
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
    let (status, _, problem) = app
        .call(
            Method::POST,
            "/v1/users",
            Some(&secret),
            Some(json!({"name": "Bot Made", "email": "bot@victim.example", "role": "member"})),
        )
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("insufficient_scope"))
    );
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.contains("users:write")),
        "{problem}"
    );
    // The key list shows scopes and last use, never secrets.
    let (_, _, keys) = app.call(Method::GET, "/v1/api-keys", Some(&admin), None).await;
    assert!(!keys.to_string().contains(&secret), "listing never shows secrets");
    let listed = keys
        .as_array()
        .and_then(|k| k.iter().find(|k| k["id"] == id.as_str()))
        .cloned()
        .unwrap_or_default();
    assert_eq!(listed["scopes"], json!(["seats:read", "seats:write"]));
    assert!(listed["last_used_at"].is_string(), "{listed}");
    // But manages no keys, whatever its scopes.
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

/// Every documented operation says what an API key needs to call it.
#[test]
fn every_documented_operation_has_a_key_scope() {
    let doc = serde_json::to_value(seatflow_seats_api::openapi()).expect("document");
    for (template, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("operations").keys() {
            let method: axum::http::Method = method.to_uppercase().parse().expect("method");
            // Operators' routes take operator keys, never API keys.
            let open = matches!(template.as_str(), "/v1/openapi.json" | "/healthz")
                || template.starts_with("/v1/operator/");
            assert!(
                open || seatflow_http::scopes::required(&method, template).is_some(),
                "no API key scope for {method} {template}"
            );
        }
    }
}

/// An allocation may go below a team's use: its members keep their seats,
/// usage shows the team over its limit, and a new member's seat is refused.
#[tokio::test]
async fn an_allocation_below_use_leaves_the_team_over_its_limit() {
    let app = TestApp::new().await;
    Victim::seed(&app).await;
    let admin = app.token("usr_admin", "org_victim", seatflow_domain::Role::Admin, &[]);
    let (status, _, set) = app
        .call(
            Method::PUT,
            "/v1/teams/team_red/allocations/professional",
            Some(&admin),
            Some(json!({"seats": 0})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{set}");
    assert_eq!(
        (
            set["result"]["allocated"].as_u64(),
            set["result"]["assigned"].as_u64()
        ),
        (Some(0), Some(1))
    );
    let (_, _, usage) = app.call(Method::GET, "/v1/usage", Some(&admin), None).await;
    let red = usage["teams"]
        .as_array()
        .and_then(|teams| {
            teams
                .iter()
                .find(|t| t["team"] == "team_red" && t["product"] == "professional")
        })
        .cloned()
        .unwrap_or_default();
    assert_eq!(red["over_limit"], true, "{usage}");
    let (status, _, ann) = app
        .call(Method::GET, "/v1/users/usr_ann", Some(&admin), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        ann["seats"]
            .as_array()
            .is_some_and(|s| s.iter().any(|a| a["product"] == "professional"))
    );
    let (status, _, _) = app
        .call(
            Method::POST,
            "/v1/users",
            Some(&admin),
            Some(json!({"name": "Newbie", "email": "newbie@victim.example", "role": "member", "team": "team_red", "seat": "professional"})),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "a new member of the team gets no seat"
    );
}

/// Users arrive in bulk from CSV or JSON: every row validated and applied on
/// its own, with a report per row; the same import again creates nobody
/// twice; a dry run writes nothing.
#[tokio::test]
async fn users_import_in_bulk_with_a_report_per_row_and_idempotent_on_email() {
    let app = TestApp::new().await;
    let victim = Victim::seed(&app).await;
    let admin = app.token("usr_admin", "org_victim", seatflow_domain::Role::Admin, &[]);
    let csv = "name,email,role,team,seat\n\
        Dora Explorer,dora@victim.example,member,team_blue,professional\n\
        Ann Again,ann@victim.example,member,,\n\
        Broken,not-an-email,member,,\n\
        Dora Twice,dora@victim.example,member,,\n\
        Lost,lost@victim.example,member,team_nowhere,\n\
        Eli Manager,eli@victim.example,team_manager,team_red,\n";
    let import = |query: &'static str, body: &'static str| {
        let (app, admin) = (&app, admin.clone());
        async move {
            app.call_text(
                Method::POST,
                &format!("/v1/users/import{query}"),
                &admin,
                "text/csv",
                body,
            )
            .await
        }
    };
    let audit_before = victim.audit_len(&app).await;
    let (status, _, dry) = import("?dry_run=true", csv).await;
    assert_eq!(status, StatusCode::OK, "{dry}");
    assert_eq!(
        (dry["dry_run"].as_bool(), dry["created"].as_u64()),
        (Some(true), Some(2)),
        "{dry}"
    );
    assert_eq!(
        victim.audit_len(&app).await,
        audit_before,
        "a dry run writes nothing"
    );

    let (status, _, report) = import("", csv).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    let statuses: Vec<(&str, Option<&str>)> = report["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| (r["status"].as_str().unwrap_or_default(), r["code"].as_str()))
        .collect();
    assert_eq!(
        statuses,
        [
            ("created", None),
            ("exists", None),
            ("failed", Some("validation_failed")),
            ("failed", Some("validation_failed")),
            ("failed", Some("not_found")),
            ("created", None),
        ],
        "{report}"
    );
    assert_eq!(
        (
            report["created"].as_u64(),
            report["existing"].as_u64(),
            report["failed"].as_u64()
        ),
        (Some(2), Some(1), Some(3))
    );
    assert_eq!(report["rows"][2]["row"], 3);
    assert!(
        report["rows"][2]["detail"]
            .as_str()
            .is_some_and(|d| d.contains("email"))
    );
    let (_, _, dora) = app
        .call(
            Method::GET,
            &format!("/v1/users/{}", report["rows"][0]["user"].as_str().expect("id")),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(dora["seats"][0]["product"], "professional", "{dora}");
    assert_eq!(
        victim.audit_len(&app).await,
        audit_before + 2,
        "one entry per created user"
    );

    // The same import again creates nobody.
    let (_, _, again) = import("", csv).await;
    assert_eq!(
        (again["created"].as_u64(), again["existing"].as_u64()),
        (Some(0), Some(3)),
        "{again}"
    );

    // JSON too.
    let (status, _, json_report) = app
        .call(
            Method::POST,
            "/v1/users/import",
            Some(&admin),
            Some(json!({"users": [{"name": "Finn", "email": "finn@victim.example"}]})),
        )
        .await;
    assert_eq!(
        (status, json_report["created"].as_u64()),
        (StatusCode::OK, Some(1)),
        "{json_report}"
    );

    // Refusals that concern the whole import.
    let rows: Vec<Value> = (0..1_001)
        .map(|i| json!({"name": format!("N {i}"), "email": format!("n{i}@victim.example")}))
        .collect();
    let (status, _, too_many) = app
        .call(
            Method::POST,
            "/v1/users/import",
            Some(&admin),
            Some(json!({"users": rows})),
        )
        .await;
    assert_eq!(
        (status, too_many["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("validation_failed"))
    );
    let (status, _, _) = app
        .call_text(
            Method::POST,
            "/v1/users/import",
            &admin,
            "application/xml",
            "<users/>",
        )
        .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let (status, _, bad_csv) = app
        .call_text(
            Method::POST,
            "/v1/users/import",
            &admin,
            "text/csv",
            "name,email,shoe_size\nA,a@x.example,42\n",
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad_csv}");
    let member = app.token("usr_cat", "org_victim", seatflow_domain::Role::Member, &[]);
    let (status, _, _) = app
        .call_text(Method::POST, "/v1/users/import", &member, "text/csv", csv)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn automatic_license_management_buys_a_seat_past_a_full_pool_through_the_api() {
    use seatflow_domain::{
        Clock as _, Mode, ProductId, SubscriptionId, SubscriptionSnapshot, SubscriptionStatus, Term,
    };
    let app = TestApp::new().await;
    let admin = app.token("usr_admin", "org_victim", seatflow_domain::Role::Admin, &[]);
    let f = &app.fixture;
    let now = f.clock.now();
    let subscription = SubscriptionSnapshot {
        org: f.admin.org.clone(),
        id: SubscriptionId::parse("sub_api_auto").expect("id"),
        customer: "cus_api_auto".into(),
        status: SubscriptionStatus::Active,
        items: [(ProductId::parse("professional").expect("id"), 1)].into(),
        term: Some(Term::Annual),
        current_period_start: Some(now),
        current_period_end: Some(now + chrono::Duration::days(365)),
        cancel_at_period_end: false,
    };
    app.state
        .seats
        .subscriptions()
        .apply_subscription(&f.admin, &subscription, "evt_api_auto", now, Mode::Apply)
        .await
        .expect("subscribed");
    let (status, _, settings) = app
        .call(Method::GET, "/v1/license-management", Some(&admin), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{settings}");
    assert_eq!(
        settings,
        json!({"mode": "manual", "max_auto_seats_per_period": null, "notify": true})
    );
    for (body, code) in [
        (json!({"mode": "sometimes"}), "validation_failed"),
        (json!({"mode": "automatic", "budget": 3}), "validation_failed"),
        (
            json!({"mode": "automatic", "max_auto_seats_per_period": 2_000_000}),
            "validation_failed",
        ),
    ] {
        let (status, _, problem) = app
            .call(
                Method::PUT,
                "/v1/license-management",
                Some(&admin),
                Some(body.clone()),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {problem}");
        assert_eq!(problem["code"], code, "{problem}");
    }
    let user = |name: &str| json!({"name": name, "email": format!("{name}@auto.example"), "role": "member"});
    let (status, _, first) = app
        .call(Method::POST, "/v1/users", Some(&admin), Some(user("first")))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let (_, _, second) = app
        .call(Method::POST, "/v1/users", Some(&admin), Some(user("second")))
        .await;
    let assign = |user: &Value| json!({"product": "professional", "user": user["result"]["user"]["id"]});
    let (status, _, answer) = app
        .call(
            Method::POST,
            "/v1/assignments",
            Some(&admin),
            Some(assign(&first)),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let (status, _, refused) = app
        .call(
            Method::POST,
            "/v1/assignments",
            Some(&admin),
            Some(assign(&second)),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    assert_eq!(refused["code"], "no_seats_available");

    let (status, _, set) = app
        .call(
            Method::PUT,
            "/v1/license-management",
            Some(&admin),
            Some(json!({"mode": "automatic", "max_auto_seats_per_period": 1})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{set}");
    assert_eq!(set["result"]["mode"], "automatic");
    assert_eq!(set["audit"]["action"], "license_management_set");
    let (status, _, bought) = app
        .call(
            Method::POST,
            "/v1/assignments",
            Some(&admin),
            Some(assign(&second)),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "bought and assigned: {bought}");
    let (_, _, audit) = app
        .call(Method::GET, "/v1/audit?limit=10", Some(&admin), None)
        .await;
    let purchase = audit["entries"]
        .as_array()
        .and_then(|e| e.iter().find(|e| e["action"] == "seats_auto_purchased"))
        .unwrap_or_else(|| panic!("the purchase is audited: {audit}"));
    assert_eq!(purchase["after"]["quantity_after"], 2);
    assert_eq!(purchase["after"]["unit_price"]["currency"], "USD");
    let (_, _, third) = app
        .call(Method::POST, "/v1/users", Some(&admin), Some(user("third")))
        .await;
    let (status, _, over) = app
        .call(
            Method::POST,
            "/v1/assignments",
            Some(&admin),
            Some(assign(&third)),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{over}");
    assert_eq!(over["code"], "auto_seat_budget_exhausted");
    assert!(
        over["detail"]
            .as_str()
            .is_some_and(|d| d.contains("max_auto_seats_per_period")),
        "the refusal says what to do: {over}"
    );
}

#[tokio::test]
async fn a_users_seats_show_when_each_was_last_used() {
    use seatflow_domain::Clock as _;
    let app = TestApp::new().await;
    Victim::seed(&app).await;
    let admin = app.token("usr_admin", "org_victim", seatflow_domain::Role::Admin, &[]);
    let (_, _, before) = app
        .call(Method::GET, "/v1/users/usr_ann", Some(&admin), None)
        .await;
    let seats = before["seats"].as_array().expect("seats");
    assert!(
        !seats.is_empty() && seats.iter().all(|s| s.get("last_active_at").is_none()),
        "{before}"
    );
    let (status, _, _) = app
        .call(Method::GET, "/v1/entitlements?user=usr_ann", Some(&admin), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let today = app.fixture.clock.now().date_naive().to_string();
    let (_, _, after) = app
        .call(Method::GET, "/v1/users/usr_ann", Some(&admin), None)
        .await;
    for seat in after["seats"].as_array().expect("seats") {
        assert_eq!(seat["last_active_at"], today.as_str(), "{after}");
    }
    // The organisation's seats by activity: Ann's two active, Ben's never used.
    let (status, _, activity) = app
        .call(Method::GET, "/v1/usage/activity?idle_days=7", Some(&admin), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{activity}");
    assert_eq!(activity["idle_days"], 7);
    assert_eq!(activity["as_of"], today.as_str());
    let pro = activity["products"]
        .as_array()
        .and_then(|p| p.iter().find(|p| p["product"] == "professional"))
        .unwrap_or_else(|| panic!("{activity}"));
    assert_eq!(
        (pro["active"].as_u64(), pro["never_used"].as_u64()),
        (Some(1), Some(1)),
        "{activity}"
    );
    for (bad, status_wanted, code) in [
        (
            "idle_days=0",
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            "idle_days=366",
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        ("idle_days=soon", StatusCode::BAD_REQUEST, "invalid_query"),
        ("days=3", StatusCode::BAD_REQUEST, "invalid_query"),
    ] {
        let (status, _, problem) = app
            .call(
                Method::GET,
                &format!("/v1/usage/activity?{bad}"),
                Some(&admin),
                None,
            )
            .await;
        assert_eq!(
            (status, problem["code"].as_str()),
            (status_wanted, Some(code)),
            "{bad}: {problem}"
        );
    }
}
