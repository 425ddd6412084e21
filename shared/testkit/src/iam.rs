//! The functions' roles as deployed, and a small IAM evaluator: recorded AWS
//! calls ([`crate::aws_calls`]) become the authorisation requests AWS makes
//! of them (action, resource ARN, condition keys such as
//! `dynamodb:LeadingKeys` and `dynamodb:EnclosingOperation`), evaluated
//! against each function's role in `infra/template.yaml` after SAM's own
//! transform (`scripts/sam_transform.py`, samtranslator from PyPI), with the
//! template's intrinsic functions resolved. moto enforces no IAM, so this is
//! what would see a deployed function denied.
//!
//! The evaluator covers what the template uses: Allow and Deny statements,
//! `*`/`?` wildcards in actions and resources, and the `String*` condition
//! operators with `ForAnyValue:`/`ForAllValues:` and `…IfExists`. Anything
//! else in a role fails loudly rather than being guessed.
//!
//! DynamoDB transactions are authorised item by item: each `Put`, `Update`,
//! `Delete`, `Get` needs the underlying `PutItem`, … action with
//! `dynamodb:EnclosingOperation` set, and `ConditionCheck` needs
//! `dynamodb:ConditionCheckItem` (AWS, "Using IAM with DynamoDB
//! transactions"). The transaction's own action is required too, which is the
//! cautious reading: a role that grants it is never wrongly refused.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::Command;

use serde_json::{Map, Value};

use crate::aws_calls::AwsCall;

const PARTITION: &str = "aws";
const REGION: &str = "us-east-1";
const ACCOUNT: &str = "123456789012";
const STACK: &str = "seatflow";

/// The repository's root.
fn root() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

/// `infra/template.yaml` as SAM transforms it, intrinsics resolvable.
#[derive(Debug, Clone)]
pub struct Template {
    resources: Map<String, Value>,
    parameters: BTreeMap<String, String>,
    conditions: Map<String, Value>,
}

impl Template {
    /// The repository's template through SAM's transform, run by the Python
    /// of `.venv` (`scripts/with-moto.sh` installs samtranslator there).
    ///
    /// # Panics
    /// Without that Python, or when SAM refuses the template.
    #[must_use]
    pub fn transformed() -> Self {
        static TRANSFORMED: std::sync::OnceLock<Template> = std::sync::OnceLock::new();
        TRANSFORMED.get_or_init(Self::transform).clone()
    }

    fn transform() -> Self {
        let python = root().join(".venv/bin/python");
        let output = Command::new(&python)
            .arg("scripts/sam_transform.py")
            .current_dir(root())
            .output()
            .unwrap_or_else(|e| {
                panic!(
                    "running {} ({e}); scripts/with-moto.sh installs it",
                    python.display()
                )
            });
        assert!(
            output.status.success(),
            "SAM's transform failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        Self::from_json(&serde_json::from_slice(&output.stdout).expect("the transform prints JSON"))
    }

    /// A transformed template, its parameters at their defaults.
    ///
    /// # Panics
    /// A template without resources.
    #[must_use]
    pub fn from_json(template: &Value) -> Self {
        let parameters = template["Parameters"]
            .as_object()
            .map(|parameters| {
                parameters
                    .iter()
                    .map(|(name, p)| {
                        let default = match &p["Default"] {
                            Value::String(s) => s.clone(),
                            Value::Null => String::new(),
                            other => other.to_string(),
                        };
                        (name.clone(), default)
                    })
                    .collect()
            })
            .unwrap_or_default();
        Self {
            resources: template["Resources"].as_object().expect("resources").clone(),
            parameters,
            conditions: template["Conditions"].as_object().cloned().unwrap_or_default(),
        }
    }

    /// The same template with parameter `name` set to `value`.
    #[must_use]
    pub fn with_parameter(mut self, name: &str, value: &str) -> Self {
        self.parameters.insert(name.to_owned(), value.to_owned());
        self
    }

    /// The role of `function` (a logical id): its inline policies, resolved.
    ///
    /// # Panics
    /// No such function, or a role the evaluator cannot read.
    #[must_use]
    pub fn role_of(&self, function: &str) -> Role {
        let role_name = self.resources[function]["Properties"]["Role"]["Fn::GetAtt"][0]
            .as_str()
            .unwrap_or_else(|| panic!("{function} has no role of the template's own"));
        let role = &self.resources[role_name]["Properties"];
        let mut statements = Vec::new();
        for policy in role["Policies"].as_array().into_iter().flatten() {
            let name = policy["PolicyName"].as_str().unwrap_or("policy");
            let document = self.resolve(&policy["PolicyDocument"]);
            let listed = match &document["Statement"] {
                Value::Array(list) => list.clone(),
                single => vec![single.clone()],
            };
            for (index, statement) in listed.iter().enumerate() {
                let sid = statement["Sid"]
                    .as_str()
                    .map_or_else(|| format!("{name}[{index}]"), str::to_owned);
                statements.push(Statement::from_json(&sid, statement));
            }
        }
        Role {
            function: function.to_owned(),
            statements,
        }
    }

    /// The secrets `function` reads at cold start, as the calls it makes:
    /// seatflow-config reads each variable `NAME_ID` of its environment as
    /// the Secrets Manager secret it names (`id` or `id#field`).
    #[must_use]
    pub fn secret_reads(&self, function: &str) -> Vec<AwsCall> {
        let environment = self.resolve(&self.resources[function]["Properties"]["Environment"]["Variables"]);
        environment
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(name, value)| name.ends_with("_ID") && value.as_str().is_some_and(|v| !v.is_empty()))
            .map(|(_, value)| {
                let id = string(value).split('#').next().unwrap_or_default().to_owned();
                AwsCall {
                    function: function.to_owned(),
                    service: "secrets manager".to_owned(),
                    operation: "GetSecretValue".to_owned(),
                    body: serde_json::json!({ "SecretId": id }),
                }
            })
            .collect()
    }

    /// The ARN of the template's DynamoDB table.
    fn table_arn(&self) -> String {
        let (name, _) = self
            .resources
            .iter()
            .find(|(_, r)| r["Type"] == "AWS::DynamoDB::Table")
            .expect("a table");
        self.get_att(name, "Arn")
    }

    /// The ARN of queue `logical`.
    fn queue_arn(&self, logical: &str) -> String {
        self.get_att(logical, "Arn")
    }

    fn queue_name(&self, logical: &str) -> String {
        let properties = &self.resources[logical]["Properties"];
        match properties.get("QueueName") {
            Some(name) => string(&self.resolve(name)),
            None if properties["FifoQueue"] == Value::Bool(true) => format!("{STACK}-{logical}.fifo"),
            None => format!("{STACK}-{logical}"),
        }
    }

    fn get_att(&self, logical: &str, attribute: &str) -> String {
        let resource = self
            .resources
            .get(logical)
            .unwrap_or_else(|| panic!("no resource {logical}"));
        let kind = resource["Type"].as_str().unwrap_or_default();
        match (kind, attribute) {
            ("AWS::DynamoDB::Table", "Arn") => {
                let name = string(&self.resolve(&resource["Properties"]["TableName"]));
                format!("arn:{PARTITION}:dynamodb:{REGION}:{ACCOUNT}:table/{name}")
            }
            ("AWS::DynamoDB::Table", "StreamArn") => format!("{}/stream/*", self.get_att(logical, "Arn")),
            ("AWS::SQS::Queue", "Arn") => {
                format!(
                    "arn:{PARTITION}:sqs:{REGION}:{ACCOUNT}:{}",
                    self.queue_name(logical)
                )
            }
            ("AWS::SQS::Queue", "QueueName") => self.queue_name(logical),
            (_, "Arn") => format!("arn:{PARTITION}:{STACK}:{REGION}:{ACCOUNT}:{logical}"),
            (_, other) => format!("{logical}.{other}"),
        }
    }

    fn reference(&self, name: &str) -> Option<Value> {
        match name {
            "AWS::Partition" => Some(PARTITION.into()),
            "AWS::Region" => Some(REGION.into()),
            "AWS::AccountId" => Some(ACCOUNT.into()),
            "AWS::StackName" => Some(STACK.into()),
            "AWS::URLSuffix" => Some("amazonaws.com".into()),
            "AWS::NoValue" => None,
            parameter if self.parameters.contains_key(parameter) => {
                Some(self.parameters[parameter].clone().into())
            }
            // A secret the stack makes: its ARN (CloudFormation's Ref), ending
            // in the six characters AWS adds.
            secret
                if self
                    .resources
                    .get(secret)
                    .is_some_and(|r| r["Type"] == "AWS::SecretsManager::Secret") =>
            {
                Some(
                    format!(
                        "arn:{PARTITION}:secretsmanager:{REGION}:{ACCOUNT}:secret:{STACK}-{secret}-Ab12Cd"
                    )
                    .into(),
                )
            }
            resource
                if self
                    .resources
                    .get(resource)
                    .is_some_and(|r| r["Type"] == "AWS::SQS::Queue") =>
            {
                Some(
                    format!(
                        "https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{}",
                        self.queue_name(resource)
                    )
                    .into(),
                )
            }
            other => Some(other.into()),
        }
    }

    fn condition(&self, name: &str) -> bool {
        let definition = self
            .conditions
            .get(name)
            .unwrap_or_else(|| panic!("no condition {name}"));
        self.truth(definition)
    }

    fn truth(&self, value: &Value) -> bool {
        let Some((function, arguments)) = value.as_object().and_then(|o| o.iter().next()) else {
            return value
                .as_bool()
                .unwrap_or_else(|| panic!("not a condition: {value}"));
        };
        match function.as_str() {
            "Fn::Equals" => self.resolve(&arguments[0]) == self.resolve(&arguments[1]),
            "Fn::Not" => !self.truth(&arguments[0]),
            "Fn::And" => arguments.as_array().expect("list").iter().all(|a| self.truth(a)),
            "Fn::Or" => arguments.as_array().expect("list").iter().any(|a| self.truth(a)),
            "Condition" => self.condition(arguments.as_str().expect("a name")),
            other => panic!("the evaluator does not know condition function {other}"),
        }
    }

    /// `value` with every intrinsic function replaced by its value;
    /// `AWS::NoValue` removes the element.
    fn resolve(&self, value: &Value) -> Value {
        self.resolved(value).unwrap_or(Value::Null)
    }

    fn resolved(&self, value: &Value) -> Option<Value> {
        match value {
            Value::Array(items) => Some(Value::Array(
                items.iter().filter_map(|v| self.resolved(v)).collect(),
            )),
            Value::Object(object) if object.len() == 1 => {
                let (key, argument) = object.iter().next().expect("one key");
                match key.as_str() {
                    "Ref" => self.reference(argument.as_str().expect("a name")),
                    "Fn::GetAtt" => {
                        let parts: Vec<String> = match argument {
                            Value::String(dotted) => dotted.splitn(2, '.').map(str::to_owned).collect(),
                            list => list.as_array().expect("a pair").iter().map(string).collect(),
                        };
                        Some(self.get_att(&parts[0], &parts[1]).into())
                    }
                    "Fn::Sub" => Some(self.substitute(argument).into()),
                    "Fn::If" => {
                        let branch = if self.condition(argument[0].as_str().expect("a condition")) {
                            1
                        } else {
                            2
                        };
                        self.resolved(&argument[branch])
                    }
                    "Fn::Join" => {
                        let parts = self.resolve(&argument[1]);
                        let parts: Vec<String> =
                            parts.as_array().expect("a list").iter().map(string).collect();
                        Some(parts.join(argument[0].as_str().unwrap_or_default()).into())
                    }
                    _ => Some(Value::Object(
                        object
                            .iter()
                            .filter_map(|(k, v)| self.resolved(v).map(|v| (k.clone(), v)))
                            .collect(),
                    )),
                }
            }
            Value::Object(object) => Some(Value::Object(
                object
                    .iter()
                    .filter_map(|(k, v)| self.resolved(v).map(|v| (k.clone(), v)))
                    .collect(),
            )),
            other => Some(other.clone()),
        }
    }

    fn substitute(&self, argument: &Value) -> String {
        let (text, variables) = match argument {
            Value::String(text) => (text.as_str(), Map::new()),
            pair => (
                pair[0].as_str().expect("a string"),
                pair[1].as_object().cloned().unwrap_or_default(),
            ),
        };
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let end = rest[start..].find('}').expect("a closed ${…}") + start;
            let name = &rest[start + 2..end];
            let value = if let Some(variable) = variables.get(name) {
                string(&self.resolve(variable))
            } else if let Some((logical, attribute)) = name.split_once('.') {
                self.get_att(logical, attribute)
            } else {
                self.reference(name).map(|v| string(&v)).unwrap_or_default()
            };
            out.push_str(&value);
            rest = &rest[end + 1..];
        }
        out.push_str(rest);
        out
    }
}

fn string(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn strings(value: &Value) -> Vec<String> {
    match value {
        Value::Null => Vec::new(),
        Value::Array(items) => items.iter().map(string).collect(),
        single => vec![string(single)],
    }
}

/// One function's role: its statements, resolved.
#[derive(Debug, Clone)]
pub struct Role {
    /// The function's logical id.
    pub function: String,
    /// Every statement of its inline policies.
    pub statements: Vec<Statement>,
}

/// One policy statement.
#[derive(Debug, Clone)]
pub struct Statement {
    /// Its `Sid`, else the policy's name and position.
    pub sid: String,
    allow: bool,
    actions: Vec<String>,
    resources: Vec<String>,
    conditions: Vec<Condition>,
}

#[derive(Debug, Clone)]
struct Condition {
    operator: String,
    key: String,
    values: Vec<String>,
}

impl Statement {
    fn from_json(sid: &str, statement: &Value) -> Self {
        for unsupported in ["NotAction", "NotResource", "Principal", "NotPrincipal"] {
            assert!(
                statement.get(unsupported).is_none(),
                "{sid}: the evaluator does not read {unsupported}"
            );
        }
        let mut conditions = Vec::new();
        for (operator, keys) in statement["Condition"].as_object().into_iter().flatten() {
            for (key, values) in keys.as_object().expect("condition keys") {
                conditions.push(Condition {
                    operator: operator.clone(),
                    key: key.clone(),
                    values: strings(values),
                });
            }
        }
        Self {
            sid: sid.to_owned(),
            allow: match statement["Effect"].as_str() {
                Some("Allow") => true,
                Some("Deny") => false,
                other => panic!("{sid}: effect {other:?}"),
            },
            actions: strings(&statement["Action"]),
            resources: strings(&statement["Resource"]),
            conditions,
        }
    }

    /// The granted action pattern of this statement that `request` matches.
    fn matching_action(&self, request: &Request) -> Option<&str> {
        let action = self.actions.iter().find(|pattern| {
            wildcard(
                &pattern.to_ascii_lowercase(),
                &request.action.to_ascii_lowercase(),
            )
        })?;
        let resource = self
            .resources
            .iter()
            .any(|pattern| wildcard(pattern, &request.resource));
        (resource && self.conditions.iter().all(|c| c.holds(&request.context))).then_some(action.as_str())
    }
}

impl Condition {
    fn holds(&self, context: &BTreeMap<String, Vec<String>>) -> bool {
        let (set, operator) = match self.operator.split_once(':') {
            Some((set, operator)) => (Some(set), operator),
            None => (None, self.operator.as_str()),
        };
        let (operator, if_exists) = operator
            .strip_suffix("IfExists")
            .map_or((operator, false), |o| (o, true));
        let matches = |value: &str| -> bool {
            match operator {
                "StringEquals" => self.values.iter().any(|v| v == value),
                "StringNotEquals" => self.values.iter().all(|v| v != value),
                "StringLike" => self.values.iter().any(|v| wildcard(v, value)),
                "StringNotLike" => self.values.iter().all(|v| !wildcard(v, value)),
                other => panic!("the evaluator does not know condition operator {other}"),
            }
        };
        let present = context.get(&self.key).filter(|values| !values.is_empty());
        match (set, present) {
            (Some("ForAllValues"), None) => true,
            (Some("ForAllValues"), Some(values)) => values.iter().all(|v| matches(v)),
            (Some("ForAnyValue"), None) => false,
            (Some("ForAnyValue"), Some(values)) => values.iter().any(|v| matches(v)),
            (Some(other), _) => panic!("the evaluator does not know set operator {other}"),
            (None, None) => if_exists,
            (None, Some(values)) => values.iter().any(|v| matches(v)),
        }
    }
}

/// IAM's wildcards: `*` any run of characters, `?` exactly one.
fn wildcard(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// One authorisation AWS makes of a call.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Request {
    /// e.g. `dynamodb:PutItem`.
    pub action: String,
    /// The ARN acted on.
    pub resource: String,
    /// Condition keys and their values, e.g. `dynamodb:LeadingKeys`.
    pub context: BTreeMap<String, Vec<String>>,
}

impl std::fmt::Display for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} on {}", self.action, self.resource)?;
        for (key, values) in &self.context {
            write!(f, " {key}={values:?}")?;
        }
        Ok(())
    }
}

/// Where the tests' own resources stand in the template: each test table
/// is the template's table, each test queue one of its queues.
#[derive(Debug, Clone)]
pub struct Stack {
    template: Template,
    tables: BTreeSet<String>,
    queues: BTreeMap<String, String>,
}

/// A key's partition-key value (`PK`), which `dynamodb:LeadingKeys` holds.
fn partition_value(key: &Value) -> Option<String> {
    key["PK"]["S"].as_str().map(str::to_owned)
}

impl Stack {
    /// The template, no test resources bound yet.
    #[must_use]
    pub fn new(template: Template) -> Self {
        Self {
            template,
            tables: BTreeSet::new(),
            queues: BTreeMap::new(),
        }
    }

    /// The same, with the test table `name` standing for the template's table.
    #[must_use]
    pub fn with_table(mut self, name: &str) -> Self {
        self.tables.insert(name.to_owned());
        self
    }

    /// The same, with the test queue at `url` standing for queue `logical`.
    #[must_use]
    pub fn with_queue(mut self, url: &str, logical: &str) -> Self {
        self.queues.insert(url.to_owned(), logical.to_owned());
        self
    }

    /// The template.
    #[must_use]
    pub fn template(&self) -> &Template {
        &self.template
    }

    fn table_arn(&self, name: &str) -> String {
        if self.tables.contains(name) {
            self.template.table_arn()
        } else {
            format!("arn:{PARTITION}:dynamodb:{REGION}:{ACCOUNT}:table/{name}")
        }
    }

    /// The authorisations AWS makes of `call`.
    ///
    /// # Panics
    /// An operation the evaluator does not know how AWS authorises.
    #[must_use]
    pub fn requests(&self, call: &AwsCall) -> Vec<Request> {
        let body = &call.body;
        match (call.service.as_str(), call.operation.as_str()) {
            ("dynamodb", "GetItem" | "PutItem" | "UpdateItem" | "DeleteItem") => {
                let key = if call.operation == "PutItem" {
                    &body["Item"]
                } else {
                    &body["Key"]
                };
                vec![dynamodb(
                    &call.operation,
                    self.table_arn(body["TableName"].as_str().unwrap_or_default()),
                    partition_value(key),
                    None,
                )]
            }
            ("dynamodb", "Query") => {
                let table = self.table_arn(body["TableName"].as_str().unwrap_or_default());
                let (resource, hash) = match body["IndexName"].as_str() {
                    Some(index) => (format!("{table}/index/{index}"), format!("{index}PK")),
                    None => (table, "PK".to_owned()),
                };
                vec![dynamodb("Query", resource, query_partition(body, &hash), None)]
            }
            ("dynamodb", "Scan") => {
                vec![dynamodb(
                    "Scan",
                    self.table_arn(body["TableName"].as_str().unwrap_or_default()),
                    None,
                    None,
                )]
            }
            ("dynamodb", "TransactGetItems") => {
                let mut requests = Vec::new();
                for item in body["TransactItems"].as_array().into_iter().flatten() {
                    let get = &item["Get"];
                    let table = self.table_arn(get["TableName"].as_str().unwrap_or_default());
                    requests.push(dynamodb("TransactGetItems", table.clone(), None, None));
                    requests.push(dynamodb(
                        "GetItem",
                        table,
                        partition_value(&get["Key"]),
                        Some("TransactGetItems"),
                    ));
                }
                requests
            }
            ("dynamodb", "TransactWriteItems") => {
                let mut requests = Vec::new();
                for item in body["TransactItems"].as_array().into_iter().flatten() {
                    let (kind, detail) = item.as_object().and_then(|o| o.iter().next()).expect("an item");
                    let (action, key) = match kind.as_str() {
                        "Put" => ("PutItem", &detail["Item"]),
                        "Update" => ("UpdateItem", &detail["Key"]),
                        "Delete" => ("DeleteItem", &detail["Key"]),
                        "ConditionCheck" => ("ConditionCheckItem", &detail["Key"]),
                        other => panic!("a transaction item {other}"),
                    };
                    let table = self.table_arn(detail["TableName"].as_str().unwrap_or_default());
                    requests.push(dynamodb("TransactWriteItems", table.clone(), None, None));
                    requests.push(dynamodb(
                        action,
                        table,
                        partition_value(key),
                        Some("TransactWriteItems"),
                    ));
                }
                requests
            }
            ("sqs", operation) => {
                let url = body["QueueUrl"].as_str().unwrap_or_default();
                let resource = self.queues.get(url).map_or_else(
                    || format!("arn:{PARTITION}:sqs:{REGION}:{ACCOUNT}:unknown-queue:{url}"),
                    |logical| self.template.queue_arn(logical),
                );
                // A batch is authorised as its single-message action.
                let action = operation.strip_suffix("Batch").unwrap_or(operation);
                vec![Request {
                    action: format!("sqs:{action}"),
                    resource,
                    context: BTreeMap::new(),
                }]
            }
            ("secrets manager", "GetSecretValue") => {
                // A secret named by ARN is that ARN; by name, its ARN ends in
                // `-` and six characters of AWS's choosing.
                let id = body["SecretId"].as_str().unwrap_or_default();
                let resource = if id.starts_with("arn:") {
                    id.to_owned()
                } else {
                    format!("arn:{PARTITION}:secretsmanager:{REGION}:{ACCOUNT}:secret:{id}-Ab12Cd")
                };
                vec![Request {
                    action: "secretsmanager:GetSecretValue".to_owned(),
                    resource,
                    context: BTreeMap::new(),
                }]
            }
            ("sesv2", "SendEmail") => {
                let from = body["FromEmailAddress"].as_str().unwrap_or_default().to_owned();
                let domain = from.rsplit('@').next().unwrap_or_default().to_owned();
                let mut context = BTreeMap::new();
                context.insert("ses:FromAddress".to_owned(), vec![from]);
                vec![Request {
                    action: "ses:SendEmail".to_owned(),
                    resource: format!("arn:{PARTITION}:ses:{REGION}:{ACCOUNT}:identity/{domain}"),
                    context,
                }]
            }
            (service, operation) => {
                panic!("the evaluator does not know how AWS authorises {service}:{operation}")
            }
        }
    }
}

fn dynamodb(action: &str, resource: String, partition: Option<String>, enclosing: Option<&str>) -> Request {
    let mut context = BTreeMap::new();
    if let Some(partition) = partition {
        context.insert("dynamodb:LeadingKeys".to_owned(), vec![partition]);
    }
    if let Some(enclosing) = enclosing {
        context.insert(
            "dynamodb:EnclosingOperation".to_owned(),
            vec![enclosing.to_owned()],
        );
    }
    Request {
        action: format!("dynamodb:{action}"),
        resource,
        context,
    }
}

/// The partition-key value a query's key condition names (`#pk = :pk`).
fn query_partition(body: &Value, hash: &str) -> Option<String> {
    let expression = body["KeyConditionExpression"].as_str()?;
    let names = &body["ExpressionAttributeNames"];
    expression.split(" AND ").find_map(|clause| {
        let (name, value) = clause.split_once('=')?;
        let name = name.trim();
        let attribute = names[name].as_str().unwrap_or(name);
        (attribute == hash).then(|| {
            body["ExpressionAttributeValues"][value.trim()]["S"]
                .as_str()
                .map(str::to_owned)
        })?
    })
}

/// What a set of recorded calls met in their functions' roles.
#[derive(Debug, Default)]
pub struct Evaluation {
    /// Each call a role would deny: function, request.
    pub denied: BTreeSet<(String, String)>,
    /// Each (function, statement, action pattern) some call was allowed by.
    used: BTreeSet<(String, String, String)>,
    /// The functions whose calls were evaluated.
    functions: BTreeSet<String>,
}

impl Evaluation {
    /// Evaluates `calls` against their functions' roles in `stack`.
    #[must_use]
    pub fn of(stack: &Stack, calls: &[AwsCall]) -> Self {
        let mut evaluation = Self::default();
        let mut roles: BTreeMap<String, Role> = BTreeMap::new();
        for call in calls {
            let role = roles
                .entry(call.function.clone())
                .or_insert_with(|| stack.template.role_of(&call.function));
            evaluation.functions.insert(call.function.clone());
            for request in stack.requests(call) {
                let denied = role
                    .statements
                    .iter()
                    .any(|s| !s.allow && s.matching_action(&request).is_some());
                let allowed: Vec<(String, String)> = role
                    .statements
                    .iter()
                    .filter(|s| s.allow)
                    .filter_map(|s| s.matching_action(&request).map(|a| (s.sid.clone(), a.to_owned())))
                    .collect();
                if denied || allowed.is_empty() {
                    evaluation
                        .denied
                        .insert((call.function.clone(), request.to_string()));
                }
                for (sid, action) in allowed {
                    evaluation.used.insert((call.function.clone(), sid, action));
                }
            }
        }
        evaluation
    }

    /// Panics naming every call a role would deny.
    ///
    /// # Panics
    /// When a role would deny a call.
    pub fn assert_allowed(&self) {
        assert!(
            self.denied.is_empty(),
            "the roles would deny:\n{}",
            self.denied
                .iter()
                .map(|(function, request)| format!("{function}: {request}"))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }

    /// Panics unless the grants no call used are exactly `expected`, each
    /// listed with why it stays (in the order [`Self::unused_grants`] gives).
    ///
    /// # Panics
    /// When they differ.
    pub fn assert_unused_are(&self, stack: &Stack, expected: &[(&str, &str)]) {
        let expected: Vec<&str> = expected.iter().map(|(grant, _)| *grant).collect();
        assert_eq!(self.unused_grants(stack), expected, "grants no call used");
    }

    /// Grants of the evaluated functions' roles that no call used, as
    /// `Function/Sid/action`: candidates for removal, unless something the
    /// tests cannot reach needs them.
    #[must_use]
    pub fn unused_grants(&self, stack: &Stack) -> Vec<String> {
        let mut unused = Vec::new();
        for function in &self.functions {
            for statement in stack.template.role_of(function).statements {
                if !statement.allow {
                    continue;
                }
                for action in &statement.actions {
                    let key = (function.clone(), statement.sid.clone(), action.clone());
                    if !self.used.contains(&key) {
                        unused.push(format!("{function}/{}/{action}", statement.sid));
                    }
                }
            }
        }
        unused
    }
}
