//! `OfflinePaymentGateway`: a payment provider that lives in the process, for
//! running seatflow with no Stripe account. Sessions are paid by calling
//! [`OfflinePaymentGateway::pay`] (the local checkout page's Pay button),
//! which creates the subscription Stripe would create; quantity changes apply
//! at once. Ids look like Stripe's (`cs_offline_…`, `sub_offline_…`).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use chrono::{DateTime, Months, Utc};
use seatflow_domain::{
    Catalog, CheckoutSession, CheckoutStatus, Clock, ItemQuantity, NewCheckout, ORG_METADATA_KEY, OrgId,
    PaymentError, PaymentGateway, ProrationBehavior, ProviderItem, ProviderSubscription, SUBSCRIPTION_PAGE,
    SubscriptionPage, Term,
};

#[derive(Debug, Default)]
struct Ledger {
    sessions: HashMap<String, (CheckoutSession, NewCheckout)>,
    subscriptions: HashMap<String, ProviderSubscription>,
    /// Answers of quantity changes by idempotency key, as Stripe keeps them.
    answered: HashMap<String, ProviderSubscription>,
    /// Invoices, in the order they were issued.
    invoices: Vec<OfflineInvoice>,
    /// Each organisation's customer, as its metadata names it at Stripe.
    customers: HashMap<OrgId, String>,
}

/// An invoice the offline provider issued: what Stripe would charge, with
/// the same arithmetic (each price's volume tier; prorations by the time
/// left in the period).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfflineInvoice {
    /// Its id (`in_offline_…`).
    pub id: String,
    /// The subscription it bills.
    pub subscription: String,
    /// Why it was issued.
    pub reason: InvoiceReason,
    /// Its lines.
    pub lines: Vec<OfflineInvoiceLine>,
    /// The sum of the lines, in minor units.
    pub total: i64,
    /// When it was issued.
    pub created_at: DateTime<Utc>,
}

/// Why an offline invoice was issued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvoiceReason {
    /// The first period of a new subscription (a paid checkout).
    SubscriptionCreate,
    /// A quantity change mid-period, prorated (billed now, or on the next
    /// invoice, per the proration behaviour).
    Proration(ProrationBehavior),
}

/// One line of an offline invoice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfflineInvoiceLine {
    /// The price's lookup key.
    pub lookup_key: String,
    /// What the line is for, as a customer reads it (`Professional, billed annually`).
    pub description: String,
    /// The quantity billed (after the change, for a proration).
    pub quantity: u32,
    /// Price per seat for the period at that quantity.
    pub unit_amount: i64,
    /// What the line charges, in minor units (negative: a credit).
    pub amount: i64,
}

/// Told of every subscription change made through the gateway, as Stripe
/// would announce it with a `customer.subscription.updated` event.
pub type ChangeListener = Arc<dyn Fn(&ProviderSubscription) + Send + Sync>;

/// The offline payment provider.
#[derive(Clone)]
pub struct OfflinePaymentGateway {
    ledger: Arc<Mutex<Ledger>>,
    catalog: Arc<Catalog>,
    clock: Arc<dyn Clock>,
    checkout_page: String,
    on_change: Option<ChangeListener>,
}

impl std::fmt::Debug for OfflinePaymentGateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OfflinePaymentGateway")
            .field("checkout_page", &self.checkout_page)
            .finish_non_exhaustive()
    }
}

fn fresh_id(prefix: &str) -> String {
    format!("{prefix}_offline_{}", uuid::Uuid::new_v4().simple())
}

impl OfflinePaymentGateway {
    /// A provider selling `catalog`, whose checkout page for session `id` is
    /// `checkout_page` followed by the id.
    #[must_use]
    pub fn new(catalog: Arc<Catalog>, clock: Arc<dyn Clock>, checkout_page: impl Into<String>) -> Self {
        Self {
            ledger: Arc::default(),
            catalog,
            clock,
            checkout_page: checkout_page.into(),
            on_change: None,
        }
    }

    /// The same provider, telling `listener` of each quantity change.
    #[must_use]
    pub fn on_change(mut self, listener: ChangeListener) -> Self {
        self.on_change = Some(listener);
        self
    }

    fn ledger(&self) -> std::sync::MutexGuard<'_, Ledger> {
        self.ledger.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sets a subscription's state, as a change made in the provider's own
    /// dashboard would (nobody is told: the provider's events are sent by
    /// whoever drives the gateway).
    pub fn put_subscription(&self, subscription: ProviderSubscription) {
        self.ledger()
            .subscriptions
            .insert(subscription.id.clone(), subscription);
    }

    /// What session `id` sells, while it is open: its lines and organisation.
    #[must_use]
    pub fn open_checkout(&self, id: &str) -> Option<NewCheckout> {
        self.ledger()
            .sessions
            .get(id)
            .filter(|(session, _)| session.status == CheckoutStatus::Open)
            .map(|(_, checkout)| checkout.clone())
    }

    /// Pays session `id`: completes it and creates its subscription (one
    /// period of the price's term from now), as Stripe does when a buyer pays:
    /// as the session's customer, or `customer` (new) when it names none.
    ///
    /// # Errors
    /// [`PaymentError::Rejected`] for an unknown or no longer open session, or
    /// a price outside the catalog.
    pub fn pay(
        &self,
        id: &str,
        customer: &str,
    ) -> Result<(CheckoutSession, ProviderSubscription), PaymentError> {
        let now = self.clock.now();
        let mut ledger = self.ledger();
        let (session, checkout) = ledger
            .sessions
            .get_mut(id)
            .filter(|(session, _)| session.status == CheckoutStatus::Open)
            .ok_or_else(|| PaymentError::Rejected {
                code: "checkout_session_not_open".into(),
                message: format!("no open checkout session '{id}'"),
            })?;
        let mut items = Vec::new();
        for line in &checkout.lines {
            items.push(ProviderItem {
                id: fresh_id("si"),
                lookup_key: Some(line.lookup_key.clone()),
                quantity: line.quantity,
                current_period_start: Some(now),
                current_period_end: Some(period_end(&self.catalog, &line.lookup_key, now)?),
            });
        }
        let mut lines = Vec::new();
        for line in &checkout.lines {
            let (price, _, _) = self.price(&line.lookup_key)?;
            lines.push(OfflineInvoiceLine {
                description: self.describe(&line.lookup_key),
                lookup_key: line.lookup_key.clone(),
                quantity: line.quantity,
                unit_amount: price.unit_amount_for(line.quantity).minor,
                amount: price
                    .amount_for(line.quantity)
                    .map_err(|e| PaymentError::Rejected {
                        code: "amount_too_large".into(),
                        message: e.to_string(),
                    })?,
            });
        }
        let subscription = ProviderSubscription {
            id: fresh_id("sub"),
            customer: checkout.customer.clone().unwrap_or_else(|| customer.to_owned()),
            status: "active".into(),
            metadata: BTreeMap::from([(ORG_METADATA_KEY.to_owned(), checkout.org.to_string())]),
            cancel_at_period_end: false,
            items,
        };
        session.status = CheckoutStatus::Complete;
        session.subscription = Some(subscription.id.clone());
        session.url = None;
        let session = session.clone();
        ledger
            .subscriptions
            .insert(subscription.id.clone(), subscription.clone());
        ledger.invoices.push(OfflineInvoice {
            id: fresh_id("in"),
            subscription: subscription.id.clone(),
            reason: InvoiceReason::SubscriptionCreate,
            total: lines.iter().map(|l| l.amount).sum(),
            lines,
            created_at: now,
        });
        Ok((session, subscription))
    }

    /// The local page listing a customer's invoices: beside the checkout
    /// page (`…/checkout/` → `…/billing/`).
    fn portal_page(&self) -> String {
        match self.checkout_page.strip_suffix("checkout/") {
            Some(base) => format!("{base}billing/"),
            None => format!("{}billing/", self.checkout_page),
        }
    }

    /// Whether `customer` has a subscription here.
    #[must_use]
    pub fn has_customer(&self, customer: &str) -> bool {
        self.ledger()
            .subscriptions
            .values()
            .any(|s| s.customer == customer)
    }

    /// The invoices of every subscription of `customer`, oldest first.
    #[must_use]
    pub fn customer_invoices(&self, customer: &str) -> Vec<OfflineInvoice> {
        let ledger = self.ledger();
        ledger
            .invoices
            .iter()
            .filter(|i| {
                ledger
                    .subscriptions
                    .get(&i.subscription)
                    .is_some_and(|s| s.customer == customer)
            })
            .cloned()
            .collect()
    }

    /// The invoices issued for `subscription`, oldest first.
    #[must_use]
    pub fn invoices(&self, subscription: &str) -> Vec<OfflineInvoice> {
        self.ledger()
            .invoices
            .iter()
            .filter(|i| i.subscription == subscription)
            .cloned()
            .collect()
    }

    /// A price's product and cadence, as a customer reads them.
    fn describe(&self, lookup_key: &str) -> String {
        self.catalog.by_lookup_key(lookup_key).map_or_else(
            || lookup_key.to_owned(),
            |(product, term)| format!("{}, {}", product.name, term.cadence()),
        )
    }

    fn price(
        &self,
        lookup_key: &str,
    ) -> Result<(seatflow_domain::Price, Term, seatflow_domain::ProductId), PaymentError> {
        let (product, term) = self
            .catalog
            .by_lookup_key(lookup_key)
            .ok_or_else(|| PaymentError::MissingPrice(lookup_key.to_owned()))?;
        Ok((product.price(term).clone(), term, product.id.clone()))
    }
}

fn period_end(
    catalog: &Catalog,
    lookup_key: &str,
    from: DateTime<Utc>,
) -> Result<DateTime<Utc>, PaymentError> {
    let (_, term) = catalog
        .by_lookup_key(lookup_key)
        .ok_or_else(|| PaymentError::MissingPrice(lookup_key.to_owned()))?;
    let months = match term {
        Term::Monthly => Months::new(1),
        Term::Annual => Months::new(12),
    };
    Ok(from.checked_add_months(months).unwrap_or(from))
}

#[async_trait]
impl PaymentGateway for OfflinePaymentGateway {
    async fn create_checkout(&self, checkout: &NewCheckout) -> Result<CheckoutSession, PaymentError> {
        let now = self.clock.now();
        for line in &checkout.lines {
            period_end(&self.catalog, &line.lookup_key, now)?;
        }
        let id = fresh_id("cs");
        let session = CheckoutSession {
            url: Some(format!("{}{id}", self.checkout_page)),
            id: id.clone(),
            org: Some(checkout.org.to_string()),
            status: CheckoutStatus::Open,
            subscription: None,
            created_at: now,
        };
        self.ledger()
            .sessions
            .insert(id, (session.clone(), checkout.clone()));
        Ok(session)
    }

    async fn checkout_session(&self, id: &str) -> Result<Option<CheckoutSession>, PaymentError> {
        Ok(self.ledger().sessions.get(id).map(|(session, _)| session.clone()))
    }

    async fn subscription(&self, id: &str) -> Result<Option<ProviderSubscription>, PaymentError> {
        Ok(self.ledger().subscriptions.get(id).cloned())
    }

    async fn customer_for(&self, org: &OrgId) -> Result<String, PaymentError> {
        Ok(self
            .ledger()
            .customers
            .entry(org.clone())
            .or_insert_with(|| fresh_id("cus"))
            .clone())
    }

    async fn billing_portal(&self, customer: &str, _return_url: &str) -> Result<String, PaymentError> {
        let known = self
            .ledger()
            .subscriptions
            .values()
            .any(|s| s.customer == customer);
        if !known {
            return Err(PaymentError::Rejected {
                code: "resource_missing".into(),
                message: format!("no such customer: '{customer}'"),
            });
        }
        Ok(format!("{}{customer}", self.portal_page()))
    }

    async fn subscriptions_page(
        &self,
        starting_after: Option<&str>,
    ) -> Result<SubscriptionPage, PaymentError> {
        let ledger = self.ledger();
        let mut all: Vec<&ProviderSubscription> = ledger
            .subscriptions
            .values()
            .filter(|s| starting_after.is_none_or(|after| s.id.as_str() > after))
            .collect();
        all.sort_by(|a, b| a.id.cmp(&b.id));
        let page = usize::from(SUBSCRIPTION_PAGE);
        Ok(SubscriptionPage {
            has_more: all.len() > page,
            subscriptions: all.into_iter().take(page).cloned().collect(),
        })
    }

    async fn preview_quantity_change(
        &self,
        subscription: &str,
        change: &ItemQuantity,
        proration: ProrationBehavior,
        at: DateTime<Utc>,
    ) -> Result<i64, PaymentError> {
        let sub = self
            .subscription(subscription)
            .await?
            .ok_or_else(|| PaymentError::Rejected {
                code: "resource_missing".into(),
                message: format!("no such subscription: '{subscription}'"),
            })?;
        let current = change
            .item
            .as_ref()
            .and_then(|id| sub.items.iter().find(|item| &item.id == id));
        let first = current.or_else(|| sub.items.first());
        let period = first.map_or((None, None), |i| (i.current_period_start, i.current_period_end));
        let before = current.map_or(0, |i| i.quantity);
        Ok(self
            .proration(change, before, period, proration, at)?
            .map_or(0, |(_, amount)| amount))
    }

    async fn change_prices(
        &self,
        subscription: &str,
        changes: &[ItemQuantity],
        proration: ProrationBehavior,
        idempotency_key: Option<&str>,
    ) -> Result<ProviderSubscription, PaymentError> {
        self.change_once(idempotency_key, |now| {
            self.reprice(subscription, changes, proration, now)
        })
    }

    async fn set_cancel_at_period_end(
        &self,
        subscription: &str,
        cancel: bool,
        idempotency_key: Option<&str>,
    ) -> Result<ProviderSubscription, PaymentError> {
        self.change_once(idempotency_key, |_| {
            let mut ledger = self.ledger();
            let sub = ledger
                .subscriptions
                .get_mut(subscription)
                .ok_or_else(|| PaymentError::Rejected {
                    code: "resource_missing".into(),
                    message: format!("no such subscription: '{subscription}'"),
                })?;
            sub.cancel_at_period_end = cancel;
            Ok(sub.clone())
        })
    }

    async fn set_quantity(
        &self,
        subscription: &str,
        change: &ItemQuantity,
        proration: ProrationBehavior,
        idempotency_key: Option<&str>,
    ) -> Result<ProviderSubscription, PaymentError> {
        self.change_once(idempotency_key, |now| {
            self.change_quantity(subscription, change, proration, now)
        })
    }
}

impl OfflinePaymentGateway {
    /// Carries out a change of a subscription once per idempotency key (a
    /// retry gets the first answer, as from Stripe), then tells the listener
    /// (the local webhook) about it.
    fn change_once(
        &self,
        idempotency_key: Option<&str>,
        change: impl FnOnce(DateTime<Utc>) -> Result<ProviderSubscription, PaymentError>,
    ) -> Result<ProviderSubscription, PaymentError> {
        if let Some(answer) = idempotency_key.and_then(|key| self.ledger().answered.get(key).cloned()) {
            return Ok(answer);
        }
        let changed = change(self.clock.now())?;
        if let Some(key) = idempotency_key {
            self.ledger().answered.insert(key.to_owned(), changed.clone());
        }
        if let Some(listener) = &self.on_change {
            listener(&changed);
        }
        Ok(changed)
    }

    /// Gives items new prices as Stripe does: within the term, the new price
    /// for the rest of the period less the old one's unused time (unless not
    /// prorated); a new term starts a new period now, billed whole, less the
    /// old price's unused time (unless not prorated). One invoice for all.
    fn reprice(
        &self,
        subscription: &str,
        changes: &[ItemQuantity],
        proration: ProrationBehavior,
        now: DateTime<Utc>,
    ) -> Result<ProviderSubscription, PaymentError> {
        let too_large = |e: seatflow_domain::ValidationError| PaymentError::Rejected {
            code: "amount_too_large".into(),
            message: e.to_string(),
        };
        let mut ledger = self.ledger();
        let sub = ledger
            .subscriptions
            .get_mut(subscription)
            .ok_or_else(|| PaymentError::Rejected {
                code: "resource_missing".into(),
                message: format!("no such subscription: '{subscription}'"),
            })?;
        let mut lines = Vec::new();
        for change in changes {
            let item = sub
                .items
                .iter_mut()
                .find(|item| change.item.as_ref() == Some(&item.id))
                .ok_or_else(|| PaymentError::Rejected {
                    code: "resource_missing".into(),
                    message: format!("no such subscription item: {:?}", change.item),
                })?;
            let old_key = item.lookup_key.clone().unwrap_or_default();
            let (old_price, old_term, _) = self.price(&old_key)?;
            let (new_price, new_term, _) = self.price(&change.lookup_key)?;
            let (Some(start), Some(end)) = (item.current_period_start, item.current_period_end) else {
                return Err(PaymentError::Rejected {
                    code: "subscription_without_period".into(),
                    message: "the item has no current period".into(),
                });
            };
            let remaining = (end - now).num_seconds().max(0);
            let period = (end - start).num_seconds().max(1);
            let unused = seatflow_domain::mul_div_round(
                old_price.amount_for(item.quantity).map_err(too_large)?,
                remaining,
                period,
            );
            let new_amount = new_price.amount_for(change.quantity).map_err(too_large)?;
            let charge = if new_term == old_term {
                (proration != ProrationBehavior::None)
                    .then(|| seatflow_domain::mul_div_round(new_amount, remaining, period))
            } else {
                item.current_period_start = Some(now);
                item.current_period_end = Some(period_end(&self.catalog, &change.lookup_key, now)?);
                Some(new_amount)
            };
            if let Some(charge) = charge {
                lines.push(OfflineInvoiceLine {
                    description: self.describe(&change.lookup_key),
                    lookup_key: change.lookup_key.clone(),
                    quantity: change.quantity,
                    unit_amount: new_price.unit_amount_for(change.quantity).minor,
                    amount: charge,
                });
            }
            if proration != ProrationBehavior::None {
                lines.push(OfflineInvoiceLine {
                    description: format!("Unused time on {}", self.describe(&old_key)),
                    lookup_key: old_key.clone(),
                    quantity: item.quantity,
                    unit_amount: old_price.unit_amount_for(item.quantity).minor,
                    amount: -unused,
                });
            }
            item.lookup_key = Some(change.lookup_key.clone());
            item.quantity = change.quantity;
        }
        let changed = sub.clone();
        if !lines.is_empty() {
            ledger.invoices.push(OfflineInvoice {
                id: fresh_id("in"),
                subscription: subscription.to_owned(),
                reason: InvoiceReason::Proration(proration),
                total: lines.iter().map(|l| l.amount).sum(),
                lines,
                created_at: now,
            });
        }
        Ok(changed)
    }

    /// What an increase from `before` to `change.quantity` is billed at
    /// `now` inside `period`, per `proration`: the price at the new
    /// quantity's tier and the prorated amount, as Stripe computes them.
    /// `None` when nothing is billed (no proration, a decrease, outside the period).
    fn proration(
        &self,
        change: &ItemQuantity,
        before: u32,
        period: (Option<DateTime<Utc>>, Option<DateTime<Utc>>),
        proration: ProrationBehavior,
        now: DateTime<Utc>,
    ) -> Result<Option<(i64, i64)>, PaymentError> {
        let (Some(start), Some(end)) = period else {
            return Ok(None);
        };
        if proration == ProrationBehavior::None || change.quantity <= before || !(start <= now && now < end) {
            return Ok(None);
        }
        let (price, term, product) = self.price(&change.lookup_key)?;
        let preview = self
            .catalog
            .prorate(
                &product,
                term,
                before,
                i64::from(change.quantity - before),
                start,
                end,
                now,
            )
            .map_err(|e| PaymentError::Rejected {
                code: e.code().into(),
                message: e.to_string(),
            })?;
        Ok(Some((
            price.unit_amount_for(change.quantity).minor,
            preview.amount_due.minor,
        )))
    }

    fn change_quantity(
        &self,
        subscription: &str,
        change: &ItemQuantity,
        proration: ProrationBehavior,
        now: DateTime<Utc>,
    ) -> Result<ProviderSubscription, PaymentError> {
        let mut ledger = self.ledger();
        let sub = ledger
            .subscriptions
            .get_mut(subscription)
            .ok_or_else(|| PaymentError::Rejected {
                code: "resource_missing".into(),
                message: format!("no such subscription: '{subscription}'"),
            })?;
        let before;
        let period;
        match change
            .item
            .as_ref()
            .and_then(|id| sub.items.iter_mut().find(|item| &item.id == id))
        {
            Some(item) => {
                before = item.quantity;
                item.quantity = change.quantity;
                period = (item.current_period_start, item.current_period_end);
            }
            None => {
                // A new item joins the subscription's current period.
                let (start, end) = sub.items.first().map_or((Some(now), None), |first| {
                    (first.current_period_start, first.current_period_end)
                });
                before = 0;
                period = (start, end);
                sub.items.push(ProviderItem {
                    id: fresh_id("si"),
                    lookup_key: Some(change.lookup_key.clone()),
                    quantity: change.quantity,
                    current_period_start: start,
                    current_period_end: end,
                });
            }
        }
        let changed = sub.clone();
        if let Some((unit_amount, amount)) = self.proration(change, before, period, proration, now)? {
            ledger.invoices.push(OfflineInvoice {
                id: fresh_id("in"),
                subscription: subscription.to_owned(),
                reason: InvoiceReason::Proration(proration),
                lines: vec![OfflineInvoiceLine {
                    description: self.describe(&change.lookup_key),
                    lookup_key: change.lookup_key.clone(),
                    quantity: change.quantity,
                    unit_amount,
                    amount,
                }],
                total: amount,
                created_at: now,
            });
        }
        Ok(changed)
    }
}
