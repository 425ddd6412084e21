#!/usr/bin/env python3
"""Cold start of each function's release binary, against a local Lambda Runtime API.

Usage: scripts/with-moto.sh scripts/cold-start.py [RUNS]
       (after `cargo build --release ... --bins`; `make bench-lambda` does both)

For each binary: serves the Runtime API's `GET /2018-06-01/runtime/invocation/next`
on a loopback port, starts the binary with the environment Lambda gives it
(plus each function's own configuration: the secrets the template names by `*_ID` variables for
that function, read from moto's Secrets Manager at start, where this script
stores them first), and times process start until its first `next` request:
the init phase, secrets read, the binary ready for its first event. Prints
the binary sizes (x86_64, and arm64 when `make build-lambda` built it), the
secrets read, p50/p99 of RUNS, and p50/p99 of the same function given its
secrets' values in the environment instead (what reading them costs).
"""
import http.server
import json
import os
import socket
import subprocess
import sys
import threading
import time

RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 30
TARGET = os.path.join(os.path.dirname(__file__), "..", "target", "release")

COMMON = {
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
    "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
    "AWS_REGION": "eu-west-1",
    "AWS_ACCESS_KEY_ID": "test",
    "AWS_SECRET_ACCESS_KEY": "test",
    "AWS_EC2_METADATA_DISABLED": "true",
    "TABLE_NAME": "seatflow-entitlements",
    "SEATFLOW_LOG_FORMAT": "json",
    "RUST_LOG": "warn",
}
TEMPLATE = os.path.join(os.path.dirname(__file__), "..", "infra", "template.yaml")
# Each function's own configuration besides its secrets (which come from the
# template, below).
FUNCTIONS = {
    "seatflow-seats-api": {
        "WEBHOOK_QUEUE_URL": "https://sqs.eu-west-1.amazonaws.com/123456789012/hooks.fifo",
    },
    "seatflow-portal": {},
    "seatflow-checkout": {
        "CHECKOUT_SUCCESS_URL": "https://shop.example/done?session={CHECKOUT_SESSION_ID}",
        "CHECKOUT_CANCEL_URL": "https://shop.example/cancelled",
    },
    "seatflow-stripe-webhook": {
        "QUEUE_URL": "https://sqs.eu-west-1.amazonaws.com/123456789012/seatflow.fifo",
    },
    "seatflow-provisioner": {"QUEUE_URL": "https://sqs.eu-west-1.amazonaws.com/123456789012/seatflow.fifo"},
    "seatflow-reconciler": {},
    "seatflow-outbox-relay": {
        "WEBHOOK_QUEUE_URL": "https://sqs.eu-west-1.amazonaws.com/123456789012/hooks.fifo",
        "QUEUE_URL": "https://sqs.eu-west-1.amazonaws.com/123456789012/seatflow.fifo",
    },
    "seatflow-webhook-delivery": {
        "WEBHOOK_QUEUE_URL": "https://sqs.eu-west-1.amazonaws.com/123456789012/hooks.fifo",
        "SENDER_ADDRESS": "noreply@seatflow.example",
    },
    "seatflow-renewal-reminders": {
        "SENDER_ADDRESS": "noreply@seatflow.example",
        "BILLING_URL": "https://shop.example/billing",
    },
}


def entitlement_keys():
    """A key set as `seatflow-admin signing-key new` makes it: one P-256 key, PKCS#8 DER in base64."""
    import base64

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    der = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return '{"keys":[{"kid":"cold-start","private_key":"%s"}]}' % base64.b64encode(der).decode()


# A value for each secret a template variable names (`NAME_ID` holds NAME);
# Stripe's two are fields of one JSON secret, as in the template.
STRIPE = '{"secret_key":"sk_test_cold_start","webhook_secret":"whsec_' + "c" * 32 + '"}'
SECRET_VALUES = {
    "SEATFLOW_JWT_SECRET": ("seatflow/jwt", "j" * 48),
    "SEATFLOW_ORIGIN_SECRET": ("seatflow/origin", "o" * 48),
    "SEATFLOW_ENDPOINT_SECRETS_KEY": ("seatflow/endpoint-secrets-key", "e" * 48),
    "SEATFLOW_ENTITLEMENT_KEYS": ("seatflow/entitlement-keys", None),
    "STRIPE_SECRET_KEY": ("seatflow/stripe#secret_key", STRIPE),
    "STRIPE_WEBHOOK_SECRET": ("seatflow/stripe#webhook_secret", STRIPE),
}


# What was stored, by secret name.
STORED = {}


def template_secrets():
    """For each function (by binary), the `*_ID` variables the template always sets."""
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    # Intrinsics (!Ref, !Sub, !If) kept as their tag: a variable set with
    # !If is a deployment's option, left out here as by default.
    Loader.add_multi_constructor("!", lambda loader, tag, node: {"tag": tag})
    with open(TEMPLATE, encoding="utf-8") as f:
        resources = yaml.load(f, Loader=Loader)["Resources"]
    found = {}
    for resource in resources.values():
        binary = ((resource.get("Metadata") or {}).get("BuildProperties") or {}).get("Binary")
        if resource.get("Type") != "AWS::Serverless::Function" or not binary:
            continue
        variables = ((resource["Properties"].get("Environment") or {}).get("Variables")) or {}
        found[binary] = sorted(
            name[: -len("_ID")]
            for name, value in variables.items()
            if name.endswith("_ID") and not (isinstance(value, dict) and value.get("tag") == "If")
            and name[: -len("_ID")] in SECRET_VALUES
        )
    missing = sorted(set(found) ^ set(FUNCTIONS))
    if missing:
        sys.exit(f"the template's functions and this script's differ: {missing}")
    return found


class RuntimeApi(http.server.BaseHTTPRequestHandler):
    ready = threading.Event()

    def do_GET(self):
        if self.path.endswith("/runtime/invocation/next"):
            RuntimeApi.ready.set()
            # Hold the request: the measurement ends here, the process is killed.
            time.sleep(2)
        self.send_response(404)
        self.end_headers()

    def log_message(self, *args):
        pass


def percentile(samples, p):
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def store_secrets():
    """The template's secrets, in moto's Secrets Manager (AWS_ENDPOINT_URL)."""
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    if not endpoint:
        sys.exit("AWS_ENDPOINT_URL is not set: run with scripts/with-moto.sh (the functions read their secrets at start)")
    COMMON["AWS_ENDPOINT_URL"] = endpoint
    COMMON["AWS_REGION"] = os.environ.get("AWS_REGION", "us-east-1")
    import boto3

    client = boto3.client("secretsmanager", endpoint_url=endpoint, region_name=COMMON["AWS_REGION"])
    for reference, value in SECRET_VALUES.values():
        name = reference.split("#")[0]
        if name not in STORED:
            STORED[name] = value or entitlement_keys()
            client.create_secret(Name=name, SecretString=STORED[name])


def arm64_size(name):
    """MiB of the arm64 build (`make build-lambda`: target/lambda/<fn>/bootstrap), if there is one."""
    path = os.path.join(TARGET, "..", "lambda", name, "bootstrap")
    try:
        with open(path, "rb") as f:
            header = f.read(20)
    except OSError:
        return None
    # ELF e_machine 183: AArch64 (an x86_64 build there is not counted).
    if header[:4] != b"\x7fELF" or int.from_bytes(header[18:20], "little") != 183:
        return None
    return os.path.getsize(path) / (1024 * 1024)


def secret_value(secret):
    """The value a function gets for `secret` (the field, for a field reference)."""
    reference, value = SECRET_VALUES[secret]
    if "#" in reference:
        return json.loads(value)[reference.split("#")[1]]
    return value or STORED[reference]


def starts(name, env, api):
    """RUNS cold starts of `name` with `env`: milliseconds to its first `next`."""
    binary = os.path.join(TARGET, name)
    samples = []
    for _ in range(RUNS):
        RuntimeApi.ready.clear()
        full = dict(COMMON, **env, AWS_LAMBDA_FUNCTION_NAME=name, AWS_LAMBDA_RUNTIME_API=api,
                    PATH=os.environ.get("PATH", ""))
        start = time.perf_counter()
        process = subprocess.Popen([binary], env=full, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if not RuntimeApi.ready.wait(10):
            process.kill()
            err = process.stderr.read().decode(errors="replace")
            sys.exit(f"{name} never asked for an event:\n{err}")
        samples.append((time.perf_counter() - start) * 1000)
        process.kill()
        process.wait()
    return samples


def main():
    secrets = template_secrets()
    store_secrets()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), RuntimeApi)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    api = f"127.0.0.1:{server.server_address[1]}"
    print(f"{RUNS} cold starts per function, Runtime API stand-in at {api}")
    print("| function | x86_64 MiB | arm64 MiB | init p50 ms | init p99 ms | secrets read at init "
          "| p50 / p99 ms with them in the environment |")
    print("| --- | ---: | ---: | ---: | ---: | --- | ---: |")
    for name, own in FUNCTIONS.items():
        size = os.path.getsize(os.path.join(TARGET, name)) / (1024 * 1024)
        arm = arm64_size(name)
        named = starts(name, dict(own, **{f"{s}_ID": SECRET_VALUES[s][0] for s in secrets[name]}), api)
        # The same function given the values themselves: what reading them costs.
        given = starts(name, dict(own, **{s: secret_value(s) for s in secrets[name]}), api)
        read = len({SECRET_VALUES[secret][0].split("#")[0] for secret in secrets[name]})
        print(f"| {name} | {size:.2f} | {'-' if arm is None else f'{arm:.2f}'} "
              f"| {percentile(named, 50):.1f} | {percentile(named, 99):.1f} "
              f"| {read} ({', '.join(s.lower() for s in secrets[name]) or 'none'}) "
              f"| {percentile(given, 50):.1f} / {percentile(given, 99):.1f} |")
    server.shutdown()


if __name__ == "__main__":
    main()
