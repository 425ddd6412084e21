//! The settings page's forms: notices, API keys, the directory's seat policy.

use super::*;

/// `POST /settings/notifications`.
pub async fn save_notifications(
    State(state): State<PortalState>,
    Submitted(session, pairs): Submitted<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let value = |key: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == key)
            .map_or("", |(_, v)| v.as_str())
    };
    let contacts: Result<Vec<Email>, _> = value("contacts")
        .split([',', ';', '\n'])
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(Email::parse)
        .collect();
    let contacts = match contacts {
        Ok(contacts) => contacts,
        Err(error) => return refused(&session, &state, "contacts", error.into()).await,
    };
    let sent: BTreeSet<&str> = pairs
        .iter()
        .filter(|(k, _)| k == "send")
        .map(|(_, v)| v.as_str())
        .collect();
    let opted_out = KINDS
        .iter()
        .map(|(kind, _)| *kind)
        .filter(|kind| !sent.contains(kind.as_str()))
        .collect();
    match state
        .app
        .seats
        .directory()
        .set_notification_preferences(&session.actor, contacts, opted_out, Mode::Apply)
        .await
    {
        Ok(_) => Ok(Redirect::to("/settings?saved=notifications").into_response()),
        Err(error) => refused(&session, &state, "contacts", error).await,
    }
}

/// `POST /settings/api-keys`: a new key, its secret shown on the answer.
pub async fn create_key(
    State(state): State<PortalState>,
    Submitted(session, pairs): Submitted<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let value = |key: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == key)
            .map_or("", |(_, v)| v.as_str())
    };
    let scopes: Vec<ApiScope> = pairs
        .iter()
        .filter(|(k, _)| k == "scope")
        .filter_map(|(_, v)| ApiScope::ALL.into_iter().find(|s| s.as_str() == v))
        .collect();
    let secret = ApiKeySecret::generate();
    match state
        .app
        .seats
        .integrations()
        .create_api_key(
            &session.actor,
            value("name"),
            &secret.prefix,
            &secret.hash,
            &scopes,
            Mode::Apply,
        )
        .await
    {
        // Rendered, not redirected: the secret must not sit in a URL.
        Ok(_) => {
            settings_page(
                &session,
                &state,
                None,
                None,
                Some(secret.secret.expose_secret().to_owned()),
                StatusCode::CREATED,
            )
            .await
        }
        Err(error) => refused(&session, &state, "key", error).await,
    }
}

/// `POST /settings/api-keys/{id}/revoke`.
pub async fn revoke_key(
    State(state): State<PortalState>,
    Path(id): Path<String>,
    Submitted(session, _): Submitted<IgnoredAny>,
) -> Result<Response, PageError> {
    let id = ApiKeyId::parse(&id).map_err(|_| PageError::NotFound)?;
    match state
        .app
        .seats
        .integrations()
        .revoke_api_key(&session.actor, &id, Mode::Apply)
        .await
    {
        Ok(_) => Ok(Redirect::to("/settings?saved=revoked").into_response()),
        Err(error) => refused(&session, &state, "keys", error).await,
    }
}

/// The directory sync form.
#[derive(Debug, serde::Deserialize)]
pub struct DirectoryForm {
    #[serde(default)]
    product: String,
}

/// `POST /settings/directory-sync`: the plan directory users get a seat of.
pub async fn save_directory_sync(
    State(state): State<PortalState>,
    Submitted(session, submitted): Submitted<DirectoryForm>,
) -> Result<Response, PageError> {
    let product = if submitted.product.is_empty() {
        None
    } else {
        match ProductId::parse(&submitted.product) {
            Ok(product) => Some(product),
            Err(error) => return refused(&session, &state, "directory", error.into()).await,
        }
    };
    match state
        .app
        .seats
        .directory()
        .set_directory_seat(&session.actor, product.as_ref(), Mode::Apply)
        .await
    {
        Ok(_) => Ok(Redirect::to("/settings?saved=directory").into_response()),
        Err(error) => refused(&session, &state, "directory", error).await,
    }
}

/// The seat buying form (automatic license management).
#[derive(Debug, serde::Deserialize)]
pub struct LicenseForm {
    #[serde(default)]
    mode: String,
    #[serde(default)]
    max: String,
}

/// `POST /settings/license-management`: refuse or buy when a pool is full,
/// and the most seats bought per period. Who is told stays as it was.
pub async fn save_license_management(
    State(state): State<PortalState>,
    Submitted(session, submitted): Submitted<LicenseForm>,
) -> Result<Response, PageError> {
    let invalid =
        |field: &str, text: &str| SeatError::Validation(seatflow_domain::ValidationError::new(field, text));
    let mode = match submitted.mode.as_str() {
        "automatic" => seatflow_domain::LicenseMode::Automatic,
        "manual" => seatflow_domain::LicenseMode::Manual,
        _ => {
            return refused(
                &session,
                &state,
                "license",
                invalid("mode", "choose to refuse or to buy"),
            )
            .await;
        }
    };
    let max = match submitted.max.trim() {
        "" => None,
        text => match text.parse::<u32>() {
            Ok(n) => Some(n),
            Err(_) => {
                let error = invalid(
                    "max_auto_seats_per_period",
                    "write a whole number of seats, or leave it empty for no limit",
                );
                return refused(&session, &state, "license", error).await;
            }
        },
    };
    let subscriptions = state.app.seats.subscriptions();
    let current = match subscriptions.license_management(&session.actor).await {
        Ok(current) => current,
        Err(error) => return refused(&session, &state, "license", error).await,
    };
    let settings = seatflow_domain::LicenseManagement {
        mode,
        max_auto_seats_per_period: max,
        notify: current.notify,
    };
    match subscriptions
        .set_license_management(&session.actor, &settings, Mode::Apply)
        .await
    {
        Ok(_) if mode == seatflow_domain::LicenseMode::Automatic => {
            Ok(Redirect::to("/settings?saved=license-automatic").into_response())
        }
        Ok(_) => Ok(Redirect::to("/settings?saved=license-manual").into_response()),
        Err(error) => refused(&session, &state, "license", error).await,
    }
}
