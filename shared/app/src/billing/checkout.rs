//! Buying seats: a checkout session at the payment provider for a quote,
//! its confirmation once the payment events have provisioned the seats, and
//! the provider's billing portal.

use seatflow_domain::{Actor, Mode, NewCheckout, PurchaseConfirmation, Quote, QuoteRequest, SeatError};
use serde::Serialize;

use super::{Billing, BillingError};

/// A checkout session created for a quote (in a dry run, only the quote).
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreatedSession {
    /// The provider's session id; absent in a dry run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Where to send the buyer's browser; absent in a dry run.
    pub url: Option<String>,
    /// What the buyer will pay.
    pub quote: Quote,
    /// True when nothing was created (`?dry_run=true`).
    pub dry_run: bool,
}

impl Billing {
    /// Starts a checkout (admins): the quote's plan and add-ons as a
    /// subscription of the caller's organisation; the provider sends the
    /// buyer to `success_url` (which may hold the provider's session id
    /// placeholder) or `cancel_url`. A [`Mode::DryRun`] answers the quote
    /// and refusals, and opens nothing at the provider.
    ///
    /// # Errors
    /// The quote's refusals; [`BillingError::AlreadySubscribed`] when the
    /// organisation subscribes to the plan on that term already (more seats
    /// are added to that subscription); the provider's failures.
    pub async fn start_checkout(
        &self,
        caller: &Actor,
        request: &QuoteRequest,
        (success_url, cancel_url): (&str, &str),
        mode: Mode,
    ) -> Result<CreatedSession, BillingError> {
        caller.require_admin("buy seats")?;
        let quote = self.seats.catalog().quote(request)?;
        let running = self
            .seats
            .subscriptions()
            .running_subscription_of(caller, &quote.plan, quote.term)
            .await?;
        if let Some(subscription) = running {
            return Err(BillingError::AlreadySubscribed {
                subscription: subscription.to_string(),
                plan: quote.plan.to_string(),
            });
        }
        if mode == Mode::DryRun {
            return Ok(CreatedSession {
                id: None,
                url: None,
                quote,
                dry_run: true,
            });
        }
        let mut checkout = NewCheckout::of_quote(
            caller.org.clone(),
            &quote,
            success_url.to_owned(),
            cancel_url.to_owned(),
        );
        checkout.customer = Some(self.customer(caller).await?);
        let session = self.payments.create_checkout(&checkout).await?;
        tracing::info!(org = %caller.org, session = %session.id, "checkout session created");
        Ok(CreatedSession {
            id: Some(session.id),
            url: session.url,
            quote,
            dry_run: false,
        })
    }

    /// The provider's customer `caller`'s organisation pays as: the one
    /// its subscriptions name, else the provider's for the organisation
    /// (created on the first purchase). One customer holds every purchase,
    /// so one billing portal shows them all.
    async fn customer(&self, caller: &Actor) -> Result<String, BillingError> {
        match self.seats.subscriptions().billing_customer(caller).await {
            Ok(customer) => Ok(customer),
            Err(SeatError::NotFound { .. }) => Ok(self.payments.customer_for(&caller.org).await?),
            Err(other) => Err(other.into()),
        }
    }

    /// The confirmation of checkout session `id` (admins): pending until
    /// provisioned, then licenses, users created since, billing summary.
    ///
    /// # Errors
    /// [`BillingError::CheckoutNotFound`] for an id the provider would never
    /// issue or does not know, or another organisation's; the provider's
    /// and the store's failures.
    pub async fn purchase_confirmation(
        &self,
        caller: &Actor,
        id: &str,
    ) -> Result<PurchaseConfirmation, BillingError> {
        caller.require_admin("see purchases")?;
        let not_found = || BillingError::CheckoutNotFound(id.to_owned());
        if !is_provider_id(id) {
            return Err(not_found());
        }
        let session = self.payments.checkout_session(id).await?.ok_or_else(not_found)?;
        Ok(self
            .seats
            .subscriptions()
            .purchase_confirmation(caller, &session)
            .await?)
    }

    /// The provider's billing portal for the organisation's customer
    /// (admins), coming back to `return_url`.
    ///
    /// # Errors
    /// Not found when the organisation has bought nothing yet; the
    /// provider's failures.
    pub async fn billing_portal(&self, caller: &Actor, return_url: &str) -> Result<String, BillingError> {
        let customer = self.seats.subscriptions().billing_customer(caller).await?;
        Ok(self.payments.billing_portal(&customer, return_url).await?)
    }
}

/// Ids the provider issues: letters, digits and `_` only, bounded.
fn is_provider_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 255 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}
