//! SES v2 adapter: [`SesMailer`] sends the system's notices from one verified
//! sender identity, with a text and an HTML part.

use async_trait::async_trait;
use aws_sdk_sesv2::Client;
use aws_sdk_sesv2::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};
use seatflow_domain::{MailError, Mailer, OutgoingEmail};

/// Error codes of SES v2 that mean "this message will not go as it is":
/// retrying the same request cannot help, the configuration or data must
/// change.
const REJECTIONS: &[&str] = &[
    "BadRequestException",
    "MessageRejected",
    "MailFromDomainNotVerifiedException",
    "NotFoundException",
    "AccountSuspendedException",
    "SendingPausedException",
];

/// Sends email through SES v2.
#[derive(Debug, Clone)]
pub struct SesMailer {
    client: Client,
    from: String,
    configuration_set: Option<String>,
}

/// Why the mailer could not be configured.
#[derive(Debug, thiserror::Error)]
pub enum MailerConfigError {
    /// `SENDER_ADDRESS` is not set.
    #[error("SENDER_ADDRESS is not set: the SES identity reminders are sent from")]
    MissingSender,
}

impl SesMailer {
    /// A mailer sending from `from` (an SES-verified identity).
    #[must_use]
    pub fn new(client: Client, from: impl Into<String>) -> Self {
        Self {
            client,
            from: from.into(),
            configuration_set: None,
        }
    }

    /// Sends through an SES configuration set (event publishing, suppression).
    #[must_use]
    pub fn with_configuration_set(mut self, name: impl Into<String>) -> Self {
        self.configuration_set = Some(name.into());
        self
    }

    /// From its settings (`var`; `seatflow-config` reads the environment):
    /// `SENDER_ADDRESS` and, optionally, `SES_CONFIGURATION_SET`; the
    /// SDK's endpoint and credentials from the environment as usual.
    ///
    /// # Errors
    /// [`MailerConfigError::MissingSender`].
    pub async fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, MailerConfigError> {
        let from = var("SENDER_ADDRESS")
            .filter(|s| !s.trim().is_empty())
            .ok_or(MailerConfigError::MissingSender)?;
        let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        let mailer = Self::new(Client::new(&config), from);
        Ok(match var("SES_CONFIGURATION_SET") {
            Some(set) if !set.trim().is_empty() => mailer.with_configuration_set(set),
            _ => mailer,
        })
    }
}

fn utf8(data: &str) -> Result<Content, MailError> {
    Content::builder()
        .data(data)
        .charset("UTF-8")
        .build()
        .map_err(|e| MailError::Rejected(e.to_string()))
}

fn classify<E, R>(error: SdkError<E, R>) -> MailError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let rejected = error
        .as_service_error()
        .and_then(|e| e.code())
        .is_some_and(|code| REJECTIONS.contains(&code));
    let text = DisplayErrorContext(&error).to_string();
    if rejected {
        MailError::Rejected(text)
    } else {
        MailError::Unavailable(text)
    }
}

#[async_trait]
impl Mailer for SesMailer {
    async fn send(&self, email: &OutgoingEmail) -> Result<(), MailError> {
        let destination = Destination::builder()
            .set_to_addresses(Some(email.to.iter().map(|e| e.as_str().to_owned()).collect()))
            .build();
        let message = Message::builder()
            .subject(utf8(&email.subject)?)
            .body(
                Body::builder()
                    .text(utf8(&email.text)?)
                    .html(utf8(&email.html)?)
                    .build(),
            )
            .build();
        self.client
            .send_email()
            .from_email_address(&self.from)
            .destination(destination)
            .content(EmailContent::builder().simple(message).build())
            .set_configuration_set_name(self.configuration_set.clone())
            .send()
            .await
            .map(|_| ())
            .map_err(classify)
    }
}
