"""Deploy rehearsal: infra/template.yaml through SAM's own transform, then
created as a stack on moto's CloudFormation (AWS_ENDPOINT_URL), then checked
resource by resource: the table and its stream, the queues and their
redrive, the functions' settings and roles, the event sources, the
schedules, the alarms and their topic. What moto cannot model is named, not
hidden. Run by `make deploy-rehearsal` (which starts moto); exits non-zero on
any miswiring.

The functions' code is a placeholder zip in a moto S3 bucket (the rehearsal
checks wiring, not binaries); Secrets Manager dynamic references are left
as text (moto's CloudFormation does not resolve them).
"""

import ast
import io
import json
import os
import sys
import zipfile

import boto3
from samtranslator.public.translator import ManagedPolicyLoader
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

STACK = "seatflow-rehearsal"
BUCKET = "seatflow-rehearsal-code"
PARAMETERS = {
    "TableName": "seatflow-rehearsal",
    "StripeSecretName": "seatflow/stripe",
    "JwtSecretName": "seatflow/jwt",
    "SenderAddress": "billing@rehearsal.example",
    "BillingUrl": "https://rehearsal.example/billing",
    "CheckoutSuccessUrl": "https://rehearsal.example/done?session={CHECKOUT_SESSION_ID}",
    "CheckoutCancelUrl": "https://rehearsal.example/cancelled",
    "AlarmEmail": "oncall@rehearsal.example",
}

failures = []
MOTO_WORKAROUNDS = []


def check(condition, what):
    print(("ok      " if condition else "WRONG   ") + what)
    if not condition:
        failures.append(what)


def client(service):
    return boto3.client(service, endpoint_url=os.environ["AWS_ENDPOINT_URL"], region_name="us-east-1")


def transformed_template():
    with open("infra/template.yaml", encoding="utf-8") as f:
        template = yaml_parse(f.read())
    for name, resource in template["Resources"].items():
        if resource["Type"] == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = f"s3://{BUCKET}/{name}.zip"
    parameters = {k: v for k, v in PARAMETERS.items() if k in template["Parameters"]}
    transformed = transform(template, parameters, ManagedPolicyLoader(client("iam")))
    for name, resource in transformed["Resources"].items():
        properties = resource.get("Properties", {})
        # CloudFormation names a FIFO queue `….fifo` itself; moto does not.
        if resource["Type"] == "AWS::SQS::Queue" and properties.get("FifoQueue") and "QueueName" not in properties:
            properties["QueueName"] = f"{STACK}-{name}.fifo"
            MOTO_WORKAROUNDS.append(f"{name}: named {properties['QueueName']} (CloudFormation adds .fifo itself)")
    # moto's CloudFormation has no CloudFront or WAF: the edge (the
    # distribution, its web ACL and viewer function) is left out of the
    # stack, with the outputs made from it; the probe checks its wiring in
    # the transformed template.
    edge_types = ("AWS::CloudFront::", "AWS::WAFv2::")
    edge = [n for n, r in transformed["Resources"].items() if r["Type"].startswith(edge_types)]
    for name in edge:
        del transformed["Resources"][name]
        MOTO_WORKAROUNDS.append(f"{name}: not created (moto's CloudFormation has no CloudFront or WAF)")
    for name, output in list(transformed.get("Outputs", {}).items()):
        if any(e in json.dumps(output["Value"]) for e in edge):
            del transformed["Outputs"][name]
            MOTO_WORKAROUNDS.append(f"output {name}: left out with the edge")
    transformed.pop("Rules", None)
    return transformed, template


def policy_document(document):
    """A role policy as a dict: moto answers policies CloudFormation made as
    a Python repr of the dict, not JSON."""
    if isinstance(document, dict):
        return document
    try:
        return json.loads(document)
    except json.JSONDecodeError:
        return ast.literal_eval(document)


def placeholder_code(functions):
    s3 = client("s3")
    s3.create_bucket(Bucket=BUCKET)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("bootstrap", "#!/bin/sh\n")
    for name in functions:
        s3.put_object(Bucket=BUCKET, Key=f"{name}.zip", Body=buffer.getvalue())


def main():
    template, source = transformed_template()
    functions = [n for n, r in source["Resources"].items() if r["Type"] == "AWS::Serverless::Function"]
    placeholder_code(functions)
    cfn = client("cloudformation")
    parameters = [
        {"ParameterKey": k, "ParameterValue": v}
        for k, v in PARAMETERS.items()
        if k in template.get("Parameters", {})
    ]
    cfn.create_stack(
        StackName=STACK,
        TemplateBody=json.dumps(template),
        Parameters=parameters,
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"],
    )
    status = cfn.describe_stacks(StackName=STACK)["Stacks"][0]["StackStatus"]
    check(status == "CREATE_COMPLETE", f"stack created ({status})")

    resources = cfn.list_stack_resources(StackName=STACK)["StackResourceSummaries"]
    physical = {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in resources}
    wanted = {name: r["Type"] for name, r in template["Resources"].items()}
    missing = sorted(f"{name} ({kind})" for name, kind in wanted.items() if name not in physical)
    print(f"{len(physical)} of {len(wanted)} resources created on moto")
    for name in missing:
        print(f"  not modelled by moto: {name}")
    for workaround in MOTO_WORKAROUNDS:
        print(f"  changed for moto: {workaround}")

    # The table, its stream and its index.
    table = client("dynamodb").describe_table(TableName=physical["EntitlementTable"])["Table"]
    check(table["KeySchema"][0]["AttributeName"] == "PK", "table keyed by PK/SK")
    check(table.get("StreamSpecification", {}).get("StreamViewType") == "NEW_IMAGE", "table stream (new images) for the outbox relay")
    check([i["IndexName"] for i in table.get("GlobalSecondaryIndexes", [])] == ["GSI1", "GSI2"], "table indexes GSI1 and GSI2")

    # Queues and their redrive.
    sqs = client("sqs")
    for queue, dlq, receives in [
        ("ProvisioningQueue", "ProvisioningDeadLetterQueue", 5),
        ("WebhookDeliveryQueue", "WebhookDeliveryDeadLetterQueue", 100),
    ]:
        attributes = sqs.get_queue_attributes(QueueUrl=physical[queue], AttributeNames=["All"])["Attributes"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=physical[dlq], AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        redrive = json.loads(attributes.get("RedrivePolicy", "{}"))
        check(attributes.get("FifoQueue") == "true", f"{queue} is FIFO")
        check(
            redrive.get("deadLetterTargetArn") == dlq_arn and int(redrive.get("maxReceiveCount", 0)) == receives,
            f"{queue} sends to {dlq} after {receives} receives",
        )

    # Functions: settings, the queue and table they are told of, their roles.
    lam = client("lambda")
    iam = client("iam")
    queue_url = physical["WebhookDeliveryQueue"]
    for name in functions:
        config = lam.get_function_configuration(FunctionName=physical[name])
        env = config.get("Environment", {}).get("Variables", {})
        check(env.get("TABLE_NAME") == physical["EntitlementTable"], f"{name} is told the table")
        check(config["Runtime"] == "provided.al2023" and config["Handler"] == "bootstrap", f"{name} runs provided.al2023")
        # moto's CloudFormation drops Architectures (it answers x86_64): checked in the template instead.
        check(
            template["Resources"][name]["Properties"].get("Architectures") == ["arm64"],
            f"{name} is arm64 (in the transformed template; moto does not keep it)",
        )
        role = config["Role"].rsplit("/", 1)[-1]
        check(iam.get_role(RoleName=role)["Role"]["Arn"] == config["Role"], f"{name} has its role")
    for name in ["SeatsApiFunction", "OutboxRelayFunction", "WebhookDeliveryFunction"]:
        env = lam.get_function_configuration(FunctionName=physical[name])["Environment"]["Variables"]
        check(env.get("WEBHOOK_QUEUE_URL") == queue_url, f"{name} is told the webhook delivery queue")
    # The webhook queues payment events; the outbox relay queues quantity
    # syncs; the provisioner holds a sync back on its own queue.
    for name in ["StripeWebhookFunction", "OutboxRelayFunction", "ProvisionerFunction"]:
        env = lam.get_function_configuration(FunctionName=physical[name])["Environment"]["Variables"]
        check(env.get("QUEUE_URL") == physical["ProvisioningQueue"], f"{name} is told the provisioning queue")

    # No secret in any function's configuration: only the names of secrets,
    # which each function's role may read.
    secret_names = {"SEATFLOW_JWT_SECRET", "STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "SEATFLOW_ENTITLEMENT_KEYS"}
    for name in functions:
        config = lam.get_function_configuration(FunctionName=physical[name])
        env = config.get("Environment", {}).get("Variables", {})
        held = sorted(secret_names & env.keys())
        check(not held and not any("resolve:secretsmanager" in str(v) for v in env.values()), f"{name} holds no secret ({held or 'none'})")
        named = sorted(k for k in env if k.endswith("_ID") and k[:-3] in secret_names and str(env[k]))
        if named:
            role = config["Role"].rsplit("/", 1)[-1]
            statements = [
                st
                for p in iam.list_role_policies(RoleName=role)["PolicyNames"]
                for st in policy_document(iam.get_role_policy(RoleName=role, PolicyName=p)["PolicyDocument"])["Statement"]
            ]
            readable = [st for st in statements if st.get("Action") == "secretsmanager:GetSecretValue"]
            check(bool(readable), f"{name} may read the secrets it names ({', '.join(named)})")

    # The reminders may write notice-ledger items only.
    role = lam.get_function_configuration(FunctionName=physical["RenewalRemindersFunction"])["Role"].rsplit("/", 1)[-1]
    documents = [
        policy_document(iam.get_role_policy(RoleName=role, PolicyName=p)["PolicyDocument"])
        for p in iam.list_role_policies(RoleName=role)["PolicyNames"]
    ]
    writes = [s for d in documents for s in d["Statement"] if "dynamodb:PutItem" in s.get("Action", [])]
    check(
        bool(writes)
        and all(s.get("Condition", {}).get("ForAllValues:StringLike", {}).get("dynamodb:LeadingKeys") == ["NOTICE#*"] for s in writes),
        "RenewalRemindersFunction writes notice-ledger items only (LeadingKeys NOTICE#*)",
    )

    # Event sources: queues and the stream.
    mappings = lam.list_event_source_mappings()["EventSourceMappings"]
    by_function = {}
    for m in mappings:
        by_function.setdefault(m["FunctionArn"].rsplit(":", 1)[-1], []).append(m)

    def sources(name):
        arn = lam.get_function_configuration(FunctionName=physical[name])["FunctionArn"]
        return [m["EventSourceArn"] for m in mappings if m["FunctionArn"] == arn]

    def queue_arn(name):
        return sqs.get_queue_attributes(QueueUrl=physical[name], AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]

    check(sources("ProvisionerFunction") == [queue_arn("ProvisioningQueue")], "the provisioner reads the provisioning queue")
    check(sources("WebhookDeliveryFunction") == [queue_arn("WebhookDeliveryQueue")], "webhook delivery reads the delivery queue")
    check(sources("OutboxRelayFunction") == [table.get("LatestStreamArn")], "the outbox relay reads the table's stream")
    # moto's event source mappings drop ScalingConfig: checked in the transformed template.
    delivery = template["Resources"]["WebhookDeliveryFunctionDeliveries"]["Properties"]
    check(
        delivery.get("ScalingConfig", {}).get("MaximumConcurrency") == {"Ref": "WebhookDeliveryConcurrency"}
        and template["Parameters"]["WebhookDeliveryConcurrency"]["Default"] <= 10,
        "webhook deliveries hold at most WebhookDeliveryConcurrency Lambdas (ScalingConfig, default at most 10)",
    )
    stage = next(r["Properties"] for r in template["Resources"].values() if r["Type"] == "AWS::ApiGatewayV2::Stage")
    routes = stage.get("RouteSettings", {})
    check(
        routes.get("POST /v1/stripe/webhook", {}).get("ThrottlingRateLimit") == {"Ref": "StripeWebhookThrottlingRate"}
        and routes.get("GET /v1/entitlements", {}).get("ThrottlingRateLimit") == {"Ref": "EntitlementCheckThrottlingRate"},
        "Stripe's webhook and the entitlement check have throttles of their own",
    )
    route_keys = {
        f'{e["Properties"]["Method"]} {e["Properties"]["Path"]}'
        for r in source["Resources"].values()
        if r["Type"] == "AWS::Serverless::Function"
        for e in r["Properties"].get("Events", {}).values()
        if e["Type"] == "HttpApi"
    }
    check(
        {"POST /v1/stripe/webhook", "GET /v1/entitlements"} <= route_keys,
        "the throttled routes exist as routes (a setting for a missing route throttles nothing)",
    )
    for name, parameter in [("SeatsApiFunction", "SeatsApiReservedConcurrency"), ("StripeWebhookFunction", "StripeWebhookReservedConcurrency")]:
        reserved = template["Resources"][name]["Properties"].get("ReservedConcurrentExecutions", {})
        check(parameter in json.dumps(reserved), f"{name} can have concurrency reserved ({parameter})")

    # Schedules.
    events = client("events")
    rules = events.list_rules()["Rules"]
    schedules = {r["ScheduleExpression"] for r in rules if "ScheduleExpression" in r}
    check({"cron(0 8 * * ? *)", "cron(30 3 * * ? *)"} <= schedules, "daily reminders (08:00) and reconciliation (03:30) scheduled")
    for rule in rules:
        targets = events.list_targets_by_rule(Rule=rule["Name"])["Targets"]
        check(len(targets) == 1 and ":function:" in targets[0]["Arn"], f"schedule {rule['Name']} invokes a function")

    # Alarms reach the topic; the topic is on its own key.
    # moto's CloudFormation does not create alarms: they are checked in the
    # transformed template, and on moto too should it ever create them.
    alarms = {n: r["Properties"] for n, r in template["Resources"].items() if r["Type"] == "AWS::CloudWatch::Alarm"}
    check(len(alarms) >= 14, f"{len(alarms)} alarms in the template")
    check(
        all(a.get("AlarmActions") == [{"Ref": "AlarmTopic"}] for a in alarms.values()),
        "every alarm notifies the alarm topic",
    )
    topic = physical["AlarmTopic"]
    created = client("cloudwatch").describe_alarms()["MetricAlarms"]
    check(all(a.get("AlarmActions") == [topic] for a in created), f"{len(created)} alarms created on moto notify the topic")
    attributes = client("sns").get_topic_attributes(TopicArn=topic)["Attributes"]
    check(bool(attributes.get("KmsMasterKeyId")), "the alarm topic is encrypted with its own key")

    if failures:
        print(f"\n{len(failures)} miswired:", *failures, sep="\n  ")
        sys.exit(1)
    print("\nrehearsal passed" + (f"; moto did not model {len(missing)} resources (listed above)" if missing else ""))


if __name__ == "__main__":
    main()
