//! The SES mailer against moto server's SES v2, read back from moto.

// Tests and benchmarks: a failed expectation is the failure being reported.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use aws_sdk_sesv2::config::{Credentials, Region};
use seatflow_domain::{Email, MailError, Mailer as _, OutgoingEmail};
use seatflow_ses::SesMailer;
use seatflow_testkit::{aws, moto};

async fn client() -> aws_sdk_sesv2::Client {
    aws_sdk_sesv2::Client::new(&aws::sdk_config().await)
}

fn email(to: &[&str]) -> OutgoingEmail {
    OutgoingEmail {
        org: seatflow_domain::OrgId::parse("org_mail").expect("org"),
        to: to.iter().map(|a| Email::parse(a).expect("address")).collect(),
        subject: "Your subscription renews in 7 days".into(),
        text: "Plain text".into(),
        html: "<p>Renews &amp; more</p>".into(),
    }
}

#[tokio::test]
async fn a_message_reaches_every_recipient_from_the_verified_sender() {
    let client = client().await;
    let from = aws::fresh_sender(&aws::sdk_config().await).await;
    let mailer = SesMailer::new(client, &from);
    mailer
        .send(&email(&["billing@acme.example", "cfo@acme.example"]))
        .await
        .expect("sent");
    let sent = moto::sent_mail(&from).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["subject"], "Your subscription renews in 7 days");
    assert_eq!(sent[0]["body"], "<p>Renews &amp; more</p>");
    assert_eq!(
        sent[0]["destinations"]["ToAddresses"],
        serde_json::json!(["billing@acme.example", "cfo@acme.example"])
    );
}

#[tokio::test]
async fn an_unverified_sender_is_a_rejection_and_nothing_is_sent() {
    let from = format!("unverified-{}@seatflow.example", uuid::Uuid::new_v4().simple());
    let mailer = SesMailer::new(client().await, &from);
    let refused = mailer.send(&email(&["billing@acme.example"])).await;
    assert!(
        matches!(refused, Err(MailError::Rejected(ref why)) if why.contains("MessageRejected")),
        "{refused:?}"
    );
    assert!(moto::sent_mail(&from).await.is_empty());
}

#[tokio::test]
async fn an_unreachable_service_is_unavailable() {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "moto"))
        .endpoint_url("http://127.0.0.1:9")
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .load()
        .await;
    let mailer = SesMailer::new(aws_sdk_sesv2::Client::new(&config), "from@seatflow.example");
    let failed = mailer.send(&email(&["billing@acme.example"])).await;
    assert!(matches!(failed, Err(MailError::Unavailable(_))), "{failed:?}");
}
