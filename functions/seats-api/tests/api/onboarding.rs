//! A new customer starts by themselves: an admin's first token for an
//! organisation seatflow does not know founds it, with that admin.

use axum::http::{Method, StatusCode};
use seatflow_domain::{Actor, Email, OrgId, Principal, Role, UserId};

use crate::harness::TestApp;

fn founder_token(app: &TestApp, org: &str) -> String {
    app.state
        .auth
        .mint_founder(
            &UserId::parse("usr_founder").expect("id"),
            &OrgId::parse(org).expect("id"),
            "founder@newco.example",
            Some("NewCo Ltd"),
            600,
        )
        .expect("token")
}

#[tokio::test]
async fn an_admins_first_token_founds_the_organisation_with_them_as_admin() {
    let app = TestApp::new().await;
    let token = founder_token(&app, "org_newco");
    let (status, _, me) = app.call(Method::GET, "/v1/me", Some(&token), None).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["user"]["role"], "admin");
    assert_eq!(me["user"]["email"], "founder@newco.example");
    let (status, _, licenses) = app.call(Method::GET, "/v1/licenses", Some(&token), None).await;
    assert_eq!((status, licenses), (StatusCode::OK, serde_json::json!([])));
    let (_, _, audit) = app.call(Method::GET, "/v1/audit", Some(&token), None).await;
    let founded: Vec<_> = audit["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter(|e| e["action"] == "organization_created")
        .collect();
    assert_eq!(founded.len(), 1, "{audit}");
    assert_eq!(founded[0]["after"]["organization"]["name"], "NewCo Ltd");
    assert_eq!(founded[0]["after"]["first_admin"]["id"], "usr_founder");
    // The founder's organisation is theirs alone: the victim's stays apart.
    let (status, _, _) = app
        .call(Method::GET, "/v1/users/usr_ann", Some(&token), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn concurrent_first_sign_ins_found_the_organisation_once() {
    let app = TestApp::new().await;
    let token = founder_token(&app, "org_race_founded");
    let calls: Vec<_> = (0..8)
        .map(|_| app.call(Method::GET, "/v1/licenses", Some(&token), None))
        .collect();
    for (status, _, body) in futures_util::future::join_all(calls).await {
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let (_, _, audit) = app.call(Method::GET, "/v1/audit", Some(&token), None).await;
    let founded = audit["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter(|e| e["action"] == "organization_created")
        .count();
    assert_eq!(founded, 1, "{audit}");
}

#[tokio::test]
async fn only_an_admin_founds_an_organisation() {
    let app = TestApp::new().await;
    let member = Actor {
        org: OrgId::parse("org_not_yet").expect("id"),
        principal: Principal::User(UserId::parse("usr_member").expect("id")),
        role: Role::Member,
        teams: Vec::new(),
        grants_admin: true,
    };
    let email = Email::parse("member@notyet.example").expect("email");
    let refused = app
        .state
        .seats
        .organizations()
        .found_organization(&member, &email, None)
        .await
        .expect_err("a member cannot found it");
    assert_eq!(refused.code(), "forbidden");
    assert!(refused.to_string().contains("does not exist yet"), "{refused}");
    let machine = Actor {
        principal: Principal::ApiKey(seatflow_domain::ApiKeyId::generate()),
        role: Role::Admin,
        ..member
    };
    assert_eq!(
        app.state
            .seats
            .organizations()
            .found_organization(&machine, &email, None)
            .await
            .expect_err("nor a machine client")
            .code(),
        "forbidden"
    );
}
