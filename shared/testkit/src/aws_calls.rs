//! Every AWS call a function makes, as sent: an SDK interceptor on the
//! function's clients keeps the operation and its request body, tagged with
//! the function (its logical id in `infra/template.yaml`), for [`crate::iam`]
//! to evaluate against that function's role. It sees what the SDK puts on
//! the wire, so no call escapes it, whichever code path made it.

use std::sync::{Arc, Mutex};

use aws_config::SdkConfig;
use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use serde_json::Value;

/// One request as a function sent it.
#[derive(Debug, Clone)]
pub struct AwsCall {
    /// The function's logical id in the template, e.g. `SeatsApiFunction`.
    pub function: String,
    /// The service, lower case: `dynamodb`, `sqs`, `sesv2`.
    pub service: String,
    /// The API operation, e.g. `TransactWriteItems`.
    pub operation: String,
    /// The request body as JSON (every service used here speaks JSON).
    pub body: Value,
}

/// The calls recorded so far, shared by every client it tags.
#[derive(Debug, Clone, Default)]
pub struct CallLog {
    calls: Arc<Mutex<Vec<AwsCall>>>,
}

impl CallLog {
    /// An empty log.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// An interceptor that records into this log as `function`.
    #[must_use]
    pub fn recorder(&self, function: &str) -> Recorder {
        Recorder {
            function: function.to_owned(),
            log: self.clone(),
        }
    }

    /// Everything recorded, in order.
    #[must_use]
    pub fn calls(&self) -> Vec<AwsCall> {
        self.calls.lock().expect("call log").clone()
    }

    /// A DynamoDB client on `config` whose calls are recorded as `function`'s.
    #[must_use]
    pub fn dynamodb(&self, config: &SdkConfig, function: &str) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::from_conf(
            aws_sdk_dynamodb::config::Builder::from(config)
                .interceptor(self.recorder(function))
                .build(),
        )
    }

    /// An SQS client on `config` whose calls are recorded as `function`'s.
    #[must_use]
    pub fn sqs(&self, config: &SdkConfig, function: &str) -> aws_sdk_sqs::Client {
        aws_sdk_sqs::Client::from_conf(
            aws_sdk_sqs::config::Builder::from(config)
                .interceptor(self.recorder(function))
                .build(),
        )
    }

    /// An SES client on `config` whose calls are recorded as `function`'s.
    #[must_use]
    pub fn sesv2(&self, config: &SdkConfig, function: &str) -> aws_sdk_sesv2::Client {
        aws_sdk_sesv2::Client::from_conf(
            aws_sdk_sesv2::config::Builder::from(config)
                .interceptor(self.recorder(function))
                .build(),
        )
    }
}

/// The SDK interceptor of a [`CallLog`], for one function.
#[derive(Debug, Clone)]
pub struct Recorder {
    function: String,
    log: CallLog,
}

impl Intercept for Recorder {
    fn name(&self) -> &'static str {
        "seatflow-testkit AWS call recorder"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let metadata = cfg.load::<Metadata>().ok_or("an operation without metadata")?;
        let body = context
            .request()
            .body()
            .bytes()
            .and_then(|bytes| serde_json::from_slice(bytes).ok())
            .unwrap_or(Value::Null);
        self.log.calls.lock().expect("call log").push(AwsCall {
            function: self.function.clone(),
            service: metadata.service().to_ascii_lowercase(),
            operation: metadata.name().to_owned(),
            body,
        });
        Ok(())
    }
}
