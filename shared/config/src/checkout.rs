//! Checkout configuration, read once at cold start.

use anyhow::Context as _;
use seatflow_domain::ProrationBehavior;

/// Where the provider sends buyers back to, and how seat increases are billed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckoutConfig {
    /// After paying; `{CHECKOUT_SESSION_ID}` is replaced by the provider with
    /// the session id, so the page can ask for the confirmation.
    pub success_url: String,
    /// After giving up.
    pub cancel_url: String,
    /// Default billing of mid-term seat increases.
    pub proration: ProrationBehavior,
}

impl CheckoutConfig {
    /// Checks the URLs (absolute http(s)).
    ///
    /// # Errors
    /// A URL that is not absolute http(s).
    pub fn new(success_url: &str, cancel_url: &str, proration: ProrationBehavior) -> anyhow::Result<Self> {
        for (name, url) in [("success", success_url), ("cancel", cancel_url)] {
            anyhow::ensure!(
                url.starts_with("https://") || url.starts_with("http://"),
                "the checkout {name} URL must be an absolute http(s) URL, got {url:?}"
            );
        }
        Ok(Self {
            success_url: success_url.to_owned(),
            cancel_url: cancel_url.to_owned(),
            proration,
        })
    }

    /// From `CHECKOUT_SUCCESS_URL`, `CHECKOUT_CANCEL_URL` (both required) and
    /// `PRORATION_BEHAVIOR` (`create_prorations` unless set).
    ///
    /// # Errors
    /// A missing or invalid setting.
    pub fn from_env() -> anyhow::Result<Self> {
        let var = |name: &str| crate::env::var(name).with_context(|| format!("{name} is not set"));
        Self::new(
            &var("CHECKOUT_SUCCESS_URL")?,
            &var("CHECKOUT_CANCEL_URL")?,
            proration_behavior()?,
        )
    }
}

/// How seats added to a running subscription are billed unless a request
/// says otherwise: `PRORATION_BEHAVIOR` (`create_prorations`,
/// `always_invoice`, `none`), else `create_prorations`.
///
/// # Errors
/// A value that names no behaviour.
pub fn proration_behavior() -> anyhow::Result<ProrationBehavior> {
    match crate::env::var("PRORATION_BEHAVIOR") {
        Some(text) => text
            .parse()
            .with_context(|| format!("PRORATION_BEHAVIOR={text:?}")),
        None => Ok(ProrationBehavior::default()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_must_be_absolute() {
        assert!(CheckoutConfig::new("https://a/ok", "https://a/no", ProrationBehavior::None).is_ok());
        let err = CheckoutConfig::new("/ok", "https://a/no", ProrationBehavior::None).expect_err("relative");
        assert!(err.to_string().contains("success URL"), "{err}");
    }
}
