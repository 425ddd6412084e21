"""Tries each finding of the security review (issue 24) against a running
seatflow-local and against infra/template.yaml as SAM transforms it, and
says of each whether it is refused now, or still open.

Run it against a throwaway state directory: it makes users, keys and
webhook endpoints in the demo organisation, and tries to remove its admin.

    SEATFLOW_STATE_DIR=/tmp/probe target/debug/seatflow-local --addr 127.0.0.1:3999 &
    .venv/bin/python scripts/probe.py --url http://127.0.0.1:3999 \\
        --token "$(SEATFLOW_STATE_DIR=/tmp/probe target/debug/seatflow-local token --role admin)" \\
        --stripe-webhook-secret "$(cat /tmp/probe/stripe-webhook-secret)"

It needs the Python of .venv (samtranslator, which scripts/with-moto.sh
installs). Exit status: 0 when every finding is refused except those listed
in KNOWN_OPEN (each naming what is left of it), 1 otherwise: a finding that
opens again, or one listed as open that is now refused (take it off the
list). The local tests run it (local/tests/local/probe.rs).
"""

import argparse
import base64
import hashlib
import hmac
import json
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor

from samtranslator.yaml_helper import yaml_parse

# Findings not yet refused, and what is left of each.
KNOWN_OPEN = {}


class Probe:
    def __init__(self, url, token, webhook_secret):
        self.url = url.rstrip("/")
        self.token = token
        self.webhook_secret = webhook_secret
        self.results = {}

    def call(self, method, path, body=None, token=None, headers=None, raw=None):
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        request = urllib.request.Request(self.url + path, data=data, method=method)
        request.add_header("authorization", f"Bearer {token or self.token}")
        if data is not None:
            request.add_header("content-type", "application/json")
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        opener = urllib.request.build_opener(NoRedirect())
        try:
            with opener.open(request, timeout=10) as response:
                text = response.read().decode()
                return response.status, parse(text)
        except urllib.error.HTTPError as error:
            return error.code, parse(error.read().decode())

    def browse(self, method, path, cookie=None, form=None):
        """A browser's request (no Authorization): status, page, Set-Cookie."""
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        request = urllib.request.Request(self.url + path, data=data, method=method)
        if cookie:
            request.add_header("cookie", cookie)
        if data is not None:
            request.add_header("content-type", "application/x-www-form-urlencoded")
        opener = urllib.request.build_opener(NoRedirect())
        try:
            with opener.open(request, timeout=10) as response:
                return response.status, response.read().decode(), response.headers.get("set-cookie", "")
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(), error.headers.get("set-cookie", "")

    def key(self, scopes):
        status, created = self.call("POST", "/v1/api-keys", {"name": f"probe {' '.join(scopes)}", "scopes": scopes})
        assert status == 201, (status, created)
        return created["result"]["secret"]

    def record(self, finding, refused, detail):
        self.results[finding] = (refused, detail)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def parse(text):
    try:
        return json.loads(text) if text else None
    except json.JSONDecodeError:
        return text


def b64json(part):
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def probe_local(p):
    admin = p.call("GET", "/v1/me")[1]["user"]["id"]

    # Webhook endpoints at the deployment's own network.
    internal = [
        "https://169.254.169.254/latest/meta-data/",
        "https://[fe80::1]/hook",
        "https://10.0.0.7:8443/hook",
        "https://192.168.1.1/hook",
        "https://[::ffff:169.254.169.254]/hook",
    ]
    answers = [p.call("POST", "/v1/webhook-endpoints", {"url": u, "event_types": ["seat.assigned"]})[0] for u in internal]
    p.record("endpoint-internal-address", all(s == 422 for s in answers), f"{dict(zip(internal, answers))}")

    # Keys that manage users cannot make admins.
    users_write = p.key(["users:write", "users:read"])
    made = p.call(
        "POST", "/v1/users",
        {"name": "Mallory", "email": f"mallory{int(time.time())}@probe.example", "role": "admin"},
        token=users_write,
    )
    members = [u for u in p.call("GET", "/v1/users", token=users_write)[1]["users"] if u["role"] == "member"]
    promoted = p.call("PATCH", f"/v1/users/{members[0]['id']}", {"role": "admin"}, token=users_write)
    p.record(
        "key-makes-admin",
        made[0] == 403 and promoted[0] == 403,
        f"create admin {made[0]} {code(made[1])}, promote {promoted[0]} {code(promoted[1])}",
    )

    # The last admin stays, even for a key that may unmake admins.
    admins_write = p.key(["users:write", "users:read", "admins:write"])
    removed = p.call("DELETE", f"/v1/users/{admin}", token=admins_write)
    demoted = p.call("PATCH", f"/v1/users/{admin}", {"role": "member"}, token=admins_write)
    p.record(
        "last-admin-removed",
        removed[0] == 409 and code(removed[1]) == "last_admin" and demoted[0] == 409,
        f"remove {removed[0]} {code(removed[1])}, demote {demoted[0]} {code(demoted[1])}",
    )

    # seats:read reads counts, not people.
    seats_read = p.key(["seats:read"])
    export = p.call("GET", "/v1/assignments", token=seats_read)
    p.record("seats-read-exposes-people", export[0] == 403, f"GET /v1/assignments {export[0]} {code(export[1])}")

    # The endpoint cap holds under concurrency.
    existing = len(p.call("GET", "/v1/webhook-endpoints")[1])
    def create(i):
        return p.call("POST", "/v1/webhook-endpoints",
                      {"url": f"https://hooks{i}.probe.example/seatflow", "event_types": ["seat.assigned"]})[0]
    with ThreadPoolExecutor(max_workers=12) as pool:
        list(pool.map(create, range(24)))
    after = len(p.call("GET", "/v1/webhook-endpoints")[1])
    p.record("endpoint-cap-raced", after <= 16, f"{existing} endpoints, then 24 created at once: {after}")

    # Offline entitlement tokens name their audience and type.
    answer = p.call("GET", f"/v1/entitlements/token?user={admin}")
    if answer[0] == 200:
        header_part, payload_part, _ = answer[1]["token"].split(".")
        header, payload = b64json(header_part), b64json(payload_part)
        p.record(
            "entitlement-token-audience",
            bool(payload.get("aud")) and bool(header.get("typ")) and payload.get("org") and payload.get("sub"),
            f"typ {header.get('typ')!r}, aud {payload.get('aud')!r}, sub {payload.get('sub')!r}",
        )
    else:
        p.record("entitlement-token-audience", False, f"no token: {answer}")

    # Stripe events signed with a future timestamp.
    event = json.dumps({"id": "evt_probe_future", "object": "event", "type": "customer.created",
                        "created": int(time.time()), "data": {"object": {"id": "cus_probe"}}}).encode()
    future = int(time.time()) + 600
    signature = hmac.new(p.webhook_secret.encode(), f"{future}.".encode() + event, hashlib.sha256).hexdigest()
    sent = p.call("POST", "/v1/stripe/webhook", raw=event, headers={"stripe-signature": f"t={future},v1={signature}"})
    now = int(time.time())
    signature = hmac.new(p.webhook_secret.encode(), f"{now}.".encode() + event, hashlib.sha256).hexdigest()
    control = p.call("POST", "/v1/stripe/webhook", raw=event, headers={"stripe-signature": f"t={now},v1={signature}"})
    p.record(
        "stripe-future-timestamp",
        sent[0] == 400 and control[0] == 200,
        f"signed 10 minutes ahead: {sent[0]}; the same event signed now: {control[0]}",
    )

    # The portal's hand-off: a dedicated, single-use code, refused as an API
    # credential; an API token in its place signs nobody in.
    status, _, cookie = p.browse("GET", f"/portal/session?token={p.token}")
    as_code = p.browse("GET", f"/portal/session?code={p.token}")
    made, handed = p.call("POST", "/v1/portal/hand-offs")
    url = handed.get("url", "") if isinstance(handed, dict) else ""
    link_code = url.split("code=", 1)[-1]
    first = p.browse("GET", "/portal/session?code=" + link_code) if link_code else (0, "", "")
    again = p.browse("GET", "/portal/session?code=" + link_code) if link_code else (0, "", "")
    as_api = p.call("GET", "/v1/me", token=link_code)
    p.record(
        "portal-handoff-any-token",
        status == 401 and not cookie and as_code[0] == 401 and made == 201 and first[0] == 200
        and "seatflow_session=sfs_" in first[2] and again[0] == 401 and not again[2] and as_api[0] == 401,
        f"a token as the link: {status}, as the code: {as_code[0]}; a hand-off ({made}) used: {first[0]}, "
        f"again: {again[0]}; the code as an API credential: {as_api[0]}",
    )

    # Signing out ends the session itself: its cookie, sent again, is nobody.
    session = first[2].split(";", 1)[0]
    home = p.browse("GET", "/", cookie=session)
    proof = home[1].split('name="csrf" value="', 1)[-1].split('"', 1)[0] if 'name="csrf"' in home[1] else ""
    out = p.browse("POST", "/portal/sign-out", cookie=session, form={"csrf": proof})
    after = p.browse("GET", "/", cookie=session)
    p.record(
        "portal-sign-out-revokes",
        home[0] == 200 and out[0] == 303 and after[0] == 401,
        f"signed in: {home[0]}; sign-out: {out[0]}; the same cookie after: {after[0]}",
    )

    # Local development routes want a person who is an admin.
    dev = p.call("GET", "/dev/outbox", token=admins_write)
    p.record("dev-routes-any-key", dev[0] == 403, f"/dev/outbox with a key: {dev[0]}")


def code(body):
    return body.get("code") if isinstance(body, dict) else None


def probe_template(p):
    template = json.loads(subprocess.run(
        [sys.executable, "scripts/sam_transform.py"], check=True, capture_output=True, text=True).stdout)
    resources = template["Resources"]

    mappings = [r for r in resources.values() if r["Type"] == "AWS::Lambda::EventSourceMapping"
                and r["Properties"].get("FunctionName", {}).get("Ref") == "WebhookDeliveryFunction"]
    capped = bool(mappings) and all("MaximumConcurrency" in m["Properties"].get("ScalingConfig", {}) for m in mappings)
    p.record("delivery-concurrency", capped, "the delivery queue's event source has ScalingConfig.MaximumConcurrency")

    parameters = template["Parameters"]
    variables = resources["WebhookDeliveryFunction"]["Properties"]["Environment"]["Variables"]
    per_org = variables.get("SEATFLOW_DELIVERIES_PER_ORG", {}).get("Ref")
    p.record(
        "deliveries-in-flight-per-org",
        per_org is not None
        and int(parameters[per_org]["Default"]) < int(parameters["WebhookDeliveryConcurrency"]["Default"]),
        f"an organisation's attempts in flight: {per_org} "
        f"(default {parameters.get(per_org, {}).get('Default')}) of WebhookDeliveryConcurrency "
        f"(default {parameters['WebhookDeliveryConcurrency']['Default']})",
    )

    sealing = [
        f for f in ("SeatsApiFunction", "PortalFunction", "WebhookDeliveryFunction")
        if resources[f]["Properties"]["Environment"]["Variables"].get("SEATFLOW_ENDPOINT_SECRETS_KEY_ID")
        == {"Ref": "EndpointSecretsKey"}
    ]
    p.record(
        "endpoint-secrets-at-rest",
        resources.get("EndpointSecretsKey", {}).get("Type") == "AWS::SecretsManager::Secret" and len(sealing) == 3,
        f"a sealing key the stack makes, given to {sealing} (the DynamoDB tests check the table holds no secret)",
    )

    reserved = all("ReservedConcurrentExecutions" in resources[f]["Properties"]
                   for f in ("SeatsApiFunction", "StripeWebhookFunction"))
    p.record("reserved-concurrency", reserved, "the API and the Stripe webhook may reserve their concurrency")

    stages = [r for r in resources.values() if r["Type"] == "AWS::ApiGatewayV2::Stage"]
    routes = {k for s in stages for k in s["Properties"].get("RouteSettings", {})}
    separate = {"POST /v1/stripe/webhook", "GET /v1/entitlements"} <= routes
    p.record("shared-throttle", separate, f"routes with throttles of their own: {sorted(routes)}")

    p.record("edge-per-ip-rate-limit", *edge_limits(resources, template.get("Conditions", {})))

    narrow = True
    for function in ("OutboxRelayFunction", "WebhookDeliveryFunction"):
        role = resources[resources[function]["Properties"]["Role"]["Fn::GetAtt"][0]]["Properties"]
        for policy in role.get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                if any(a.startswith("dynamodb:") for a in actions):
                    keys = statement.get("Condition", {}).get("ForAllValues:StringLike", {}).get("dynamodb:LeadingKeys")
                    narrow = narrow and keys == ["ORG#*"]
    p.record("relay-delivery-any-item", narrow, "their DynamoDB statements reach only ORG#… items")


def edge_limits(resources, conditions):
    """Per-IP and per-key limits at the edge: the stack's web ACL (or, outside
    us-east-1, the same rules from infra/edge-waf.yaml) limits each client IP
    (Stripe's webhook aside) and each Authorization header; CloudFront takes
    it and sends the API a secret header; every function behind an HTTP API
    route is given that secret (and refuses requests without it, a Rust
    test of `seatflow_http::edge`)."""
    acl = resources.get("EdgeWebAcl", {})
    rules = {r["Name"]: r["Statement"].get("RateBasedStatement", {}) for r in acl.get("Properties", {}).get("Rules", [])}
    per_ip = [r for r in rules.values() if r.get("AggregateKeyType") == "IP"
              and "/v1/stripe/webhook" in json.dumps(r.get("ScopeDownStatement", {}).get("NotStatement"))]
    per_key = [r for r in rules.values() if r.get("AggregateKeyType") == "CUSTOM_KEYS"
               and [k.get("Header", {}).get("Name", "").lower() for k in r.get("CustomKeys", [])] == ["authorization"]]
    with open("infra/edge-waf.yaml", encoding="utf-8") as f:
        elsewhere = yaml_parse(f.read())["Resources"]["EdgeWebAcl"]["Properties"]
    same_elsewhere = elsewhere == acl.get("Properties")
    config = resources.get("EdgeDistribution", {}).get("Properties", {}).get("DistributionConfig", {})
    takes_acl = config.get("WebACLId") == {"Fn::If": ["MakesEdgeWebAcl", {"Fn::GetAtt": ["EdgeWebAcl", "Arn"]},
                                                      {"Ref": "EdgeWebAclArn"}]}
    origins = config.get("Origins", [])
    secret_header = len(origins) == 1 and "${HttpApi}" in json.dumps(origins[0]["DomainName"]) and [
        (h["HeaderName"], json.dumps(h["HeaderValue"])) for h in origins[0].get("OriginCustomHeaders", [])
    ] == [("x-seatflow-origin", json.dumps({"Fn::Sub": "{{resolve:secretsmanager:${EdgeOriginSecret}}}"}))]
    http_functions = sorted({name for r in resources.values() if r["Type"] == "AWS::Lambda::Permission"
                             and r["Properties"].get("Principal") == "apigateway.amazonaws.com"
                             for name in [r["Properties"]["FunctionName"]["Ref"]]})
    unguarded = [f for f in http_functions if resources[f]["Properties"]["Environment"]["Variables"]
                 .get("SEATFLOW_ORIGIN_SECRET_ID") != {"Ref": "EdgeOriginSecret"}]
    forwards_host = viewer_function_forwards_host(resources)
    refused = bool(per_ip and per_key and same_elsewhere and takes_acl and secret_header and http_functions
                   and not unguarded and "MakesEdgeWebAcl" in conditions and forwards_host)
    return refused, (
        f"web ACL rules per IP {len(per_ip)}, per credential {len(per_key)}, same in edge-waf.yaml {same_elsewhere}; "
        f"CloudFront takes it {takes_acl}, sends the origin secret {secret_header}; "
        f"HTTP functions {http_functions}, without the secret {unguarded}; "
        f"the viewer function passes the host on {forwards_host}"
    )


def viewer_function_forwards_host(resources):
    """Runs the distribution's viewer-request function (CloudFront
    Functions are JavaScript) on a request as CloudFront hands it over,
    with node: the host people used must come out as X-Forwarded-Host."""
    code = resources.get("EdgeForwardedHost", {}).get("Properties", {}).get("FunctionCode")
    if not code:
        return False
    event = {"version": "1.0", "context": {"eventType": "viewer-request"}, "viewer": {"ip": "192.0.2.1"},
             "request": {"method": "GET", "uri": "/users", "querystring": {}, "cookies": {},
                         "headers": {"host": {"value": "licenses.vendor.example"}}}}
    script = code + "\nprocess.stdout.write(JSON.stringify(handler(" + json.dumps(event) + ")));"
    run = subprocess.run(["node", "-e", script], capture_output=True, text=True, timeout=30)
    if run.returncode != 0:
        return False
    headers = json.loads(run.stdout).get("headers", {})
    return headers.get("x-forwarded-host") == {"value": "licenses.vendor.example"} and "host" in headers


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--token", required=True, help="a token of the demo organisation's admin")
    parser.add_argument("--stripe-webhook-secret", required=True)
    args = parser.parse_args()
    p = Probe(args.url, args.token, args.stripe_webhook_secret)
    probe_local(p)
    probe_template(p)
    wrong = []
    for finding, (refused, detail) in sorted(p.results.items()):
        known = finding in KNOWN_OPEN
        state = "refused" if refused else "OPEN   "
        print(f"{state} {finding:<28} {detail}" + (f"  [known: {KNOWN_OPEN[finding]}]" if known else ""))
        if refused == known:
            wrong.append(finding)
    for finding in wrong:
        print(f"UNEXPECTED: {finding} is {'refused; take it off KNOWN_OPEN' if p.results[finding][0] else 'open'}")
    sys.exit(1 if wrong else 0)


if __name__ == "__main__":
    main()
