//! Every problem code, rendered as problem+json.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::{TestApp, Victim};

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
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_product",
            None,
        ),
        (
            Some(&admin),
            (Method::DELETE, "/v1/assignments/platinum/usr_cat", None),
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

/// A body over the limit is refused before it is read: by its declared
/// length, or, streamed without one, at the first byte past the limit (the
/// stream's later chunks are never pulled).
#[tokio::test]
async fn an_oversized_body_is_refused_before_it_is_buffered() {
    use axum::body::Body;
    use axum::http::{Request, header};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    let app = TestApp::new().await;
    Victim::seed(&app).await;
    let admin = app.token("usr_admin", "org_victim", seatflow_domain::Role::Admin, &[]);
    let big = format!(r#"{{"name": "{}"}}"#, "x".repeat(70 * 1024));
    let declared = Request::post("/v1/teams")
        .header(header::AUTHORIZATION, format!("Bearer {admin}"))
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CONTENT_LENGTH, big.len())
        .body(Body::from(big))
        .expect("request");
    let (status, _, body) = app.send(declared).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    let problem: Value = serde_json::from_slice(&body).expect("problem+json");
    assert_eq!(problem["code"], "body_too_large");

    // 1 MiB in 16 KiB chunks, no length: reading stops past 64 KiB.
    let pulled = Arc::new(AtomicUsize::new(0));
    let counter = pulled.clone();
    let chunks = futures_util::stream::iter((0..64).map(move |i| {
        counter.fetch_add(1, Ordering::SeqCst);
        let chunk = if i == 0 {
            b"{\"name\": \"".to_vec()
        } else {
            vec![b'x'; 16 * 1024]
        };
        Ok::<_, std::convert::Infallible>(chunk)
    }));
    let streamed = Request::post("/v1/teams")
        .header(header::AUTHORIZATION, format!("Bearer {admin}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from_stream(chunks))
        .expect("request");
    let (status, _, body) = app.send(streamed).await;
    assert_eq!(
        status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        String::from_utf8_lossy(&body)
    );
    assert!(
        pulled.load(Ordering::SeqCst) < 64,
        "stopped reading early: {} of 64 chunks",
        pulled.load(Ordering::SeqCst)
    );
}
