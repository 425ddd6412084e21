//! Secrets read from Secrets Manager (moto, over the wire, through the real
//! SDK client): one read per secret at start, fields of a JSON secret, a
//! rotation picked up after the TTL without a restart, a failed read that
//! keeps what was built.

// Tests: a failed expectation is the failure being reported.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use seatflow_config::secrets::{SecretStore, SecretsManager};
use seatflow_config::{Refreshing, Secrets};
use secrecy::{ExposeSecret as _, SecretString};

/// Secrets Manager, counting its reads.
#[derive(Debug)]
struct Counted {
    inner: SecretsManager,
    reads: AtomicUsize,
}

#[async_trait::async_trait]
impl SecretStore for Counted {
    async fn read(&self, id: &str) -> anyhow::Result<SecretString> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        self.inner.read(id).await
    }
}

async fn moto() -> (aws_sdk_secretsmanager::Client, Arc<Counted>, String) {
    let config = seatflow_testkit::aws::sdk_config().await;
    let client = aws_sdk_secretsmanager::Client::new(&config);
    let prefix = seatflow_testkit::aws::unique("seatflow");
    let store = Arc::new(Counted {
        inner: SecretsManager::new(client.clone()),
        reads: AtomicUsize::new(0),
    });
    (client, store, prefix)
}

async fn create(client: &aws_sdk_secretsmanager::Client, name: &str, value: &str) {
    client
        .create_secret()
        .name(name)
        .secret_string(value)
        .send()
        .await
        .expect("secret created");
}

fn env(pairs: &[(&str, String)]) -> impl Fn(&str) -> Option<String> + Send + Sync + Clone + 'static {
    let map: HashMap<String, String> = pairs.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect();
    move |name: &str| map.get(name).cloned()
}

#[tokio::test]
async fn named_secrets_are_read_once_each_and_fields_come_out_of_json() {
    let (client, store, prefix) = moto().await;
    create(&client, &format!("{prefix}/jwt"), &"j".repeat(48)).await;
    create(
        &client,
        &format!("{prefix}/stripe"),
        r#"{"secret_key":"sk_test_moto","webhook_secret":"whsec_moto"}"#,
    )
    .await;
    let vars = env(&[
        ("SEATFLOW_JWT_SECRET_ID", format!("{prefix}/jwt")),
        ("STRIPE_SECRET_KEY_ID", format!("{prefix}/stripe#secret_key")),
        (
            "STRIPE_WEBHOOK_SECRET_ID",
            format!("{prefix}/stripe#webhook_secret"),
        ),
        // Not named: read from the variable itself, as locally.
        ("SEATFLOW_ENTITLEMENT_KEYS", "{\"keys\":[]}".into()),
    ]);
    let names = [
        "SEATFLOW_JWT_SECRET",
        "STRIPE_SECRET_KEY",
        "STRIPE_WEBHOOK_SECRET",
        "SEATFLOW_ENTITLEMENT_KEYS",
    ];
    let secrets = Secrets::read(&names, vars, Some(store.as_ref())).await.unwrap();
    assert_eq!(
        store.reads.load(Ordering::SeqCst),
        2,
        "one read per secret, not per name"
    );
    let value = |name: &str| secrets.get(name).map(|s| s.expose_secret().to_owned());
    assert_eq!(value("SEATFLOW_JWT_SECRET"), Some("j".repeat(48)));
    assert_eq!(value("STRIPE_SECRET_KEY").as_deref(), Some("sk_test_moto"));
    assert_eq!(value("STRIPE_WEBHOOK_SECRET").as_deref(), Some("whsec_moto"));
    assert_eq!(
        value("SEATFLOW_ENTITLEMENT_KEYS").as_deref(),
        Some("{\"keys\":[]}")
    );
    assert!(
        format!("{secrets:?}").contains("STRIPE_SECRET_KEY") && !format!("{secrets:?}").contains("sk_test")
    );

    // What a function does with them: a Stripe gateway and a webhook secret.
    assert!(seatflow_config::payment_gateway_with(&secrets).is_ok());
    assert_eq!(
        seatflow_config::webhook_secret_with(&secrets)
            .unwrap()
            .expose_secret(),
        "whsec_moto"
    );

    let missing_field = env(&[("STRIPE_SECRET_KEY_ID", format!("{prefix}/stripe#nope"))]);
    let error = Secrets::read(&["STRIPE_SECRET_KEY"], missing_field, Some(store.as_ref()))
        .await
        .expect_err("no such field");
    assert!(format!("{error:#}").contains("\"nope\""), "{error:#}");
    let missing_secret = env(&[("STRIPE_SECRET_KEY_ID", format!("{prefix}/gone"))]);
    let error = Secrets::read(&["STRIPE_SECRET_KEY"], missing_secret, Some(store.as_ref()))
        .await
        .expect_err("no such secret");
    assert!(format!("{error:#}").contains("/gone"), "{error:#}");
    let error = secrets.require("NOT_A_SECRET").expect_err("unset");
    assert!(error.to_string().contains("NOT_A_SECRET_ID"), "{error}");
}

#[tokio::test]
async fn a_rotation_is_picked_up_after_the_ttl_and_a_failed_read_keeps_the_old_value() {
    let (client, store, prefix) = moto().await;
    let id = format!("{prefix}/stripe");
    create(&client, &id, r#"{"secret_key":"sk_test_first"}"#).await;
    let vars = env(&[("STRIPE_SECRET_KEY_ID", format!("{id}#secret_key"))]);
    let builds = Arc::new(AtomicUsize::new(0));
    let counting = builds.clone();
    let reader = store.clone();
    let refreshing = Refreshing::new(
        &["STRIPE_SECRET_KEY"],
        Duration::ZERO,
        move |names: Vec<String>| {
            let (vars, reader) = (vars.clone(), reader.clone());
            Box::pin(async move {
                let names: Vec<&str> = names.iter().map(String::as_str).collect();
                Secrets::read(&names, vars, Some(reader.as_ref() as &dyn SecretStore)).await
            })
        },
        Box::new(move |secrets: Secrets| {
            let builds = counting.clone();
            Box::pin(async move {
                builds.fetch_add(1, Ordering::SeqCst);
                Ok(secrets.require("STRIPE_SECRET_KEY")?.expose_secret().to_owned())
            })
        }),
    )
    .await
    .unwrap();
    assert_eq!(
        store.reads.load(Ordering::SeqCst),
        1,
        "one read at the cold start"
    );
    assert_eq!(*refreshing.get().await, "sk_test_first");
    assert_eq!(
        builds.load(Ordering::SeqCst),
        1,
        "the same values build nothing again"
    );

    client
        .put_secret_value()
        .secret_id(&id)
        .secret_string(r#"{"secret_key":"sk_test_second"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(*refreshing.get().await, "sk_test_second", "rotated, no restart");
    assert_eq!(builds.load(Ordering::SeqCst), 2);

    client
        .delete_secret()
        .secret_id(&id)
        .force_delete_without_recovery(true)
        .send()
        .await
        .unwrap();
    assert_eq!(
        *refreshing.get().await,
        "sk_test_second",
        "a failed read keeps what was built"
    );
}
