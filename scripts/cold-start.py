#!/usr/bin/env python3
"""Cold start of each function's release binary, against a local Lambda Runtime API.

Usage: scripts/with-moto.sh scripts/cold-start.py [RUNS]
       (after `cargo build --release ... --bins`; `make bench-lambda` does both)

For each binary: serves the Runtime API's `GET /2018-06-01/runtime/invocation/next`
on a loopback port, starts the binary with the environment Lambda gives it
(plus each function's own configuration, as the template sets it: secrets
named by `*_ID` variables, read from moto's Secrets Manager at start, where
this script stores them first), and times process start until its first
`next` request: the init phase, secrets read, the binary ready for its first
event. Prints the binary size and p50/p99 of RUNS.
"""
import http.server
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
SECRETS = {
    "seatflow/jwt": "x" * 48,
    "seatflow/stripe": '{"secret_key":"sk_test_cold_start","webhook_secret":"whsec_cold_start"}',
}
FUNCTIONS = {
    "seatflow-seats-api": {"SEATFLOW_JWT_SECRET_ID": "seatflow/jwt"},
    "seatflow-portal": {
        "SEATFLOW_JWT_SECRET_ID": "seatflow/jwt",
        "STRIPE_SECRET_KEY_ID": "seatflow/stripe#secret_key",
    },
    "seatflow-checkout": {
        "SEATFLOW_JWT_SECRET_ID": "seatflow/jwt",
        "STRIPE_SECRET_KEY_ID": "seatflow/stripe#secret_key",
        "CHECKOUT_SUCCESS_URL": "https://shop.example/done?session={CHECKOUT_SESSION_ID}",
        "CHECKOUT_CANCEL_URL": "https://shop.example/cancelled",
    },
    "seatflow-stripe-webhook": {
        "STRIPE_WEBHOOK_SECRET_ID": "seatflow/stripe#webhook_secret",
        "QUEUE_URL": "https://sqs.eu-west-1.amazonaws.com/123456789012/seatflow.fifo",
    },
    "seatflow-provisioner": {"STRIPE_SECRET_KEY_ID": "seatflow/stripe#secret_key"},
    "seatflow-reconciler": {"STRIPE_SECRET_KEY_ID": "seatflow/stripe#secret_key"},
    "seatflow-outbox-relay": {"WEBHOOK_QUEUE_URL": "https://sqs.eu-west-1.amazonaws.com/123456789012/hooks.fifo"},
    "seatflow-webhook-delivery": {
        "WEBHOOK_QUEUE_URL": "https://sqs.eu-west-1.amazonaws.com/123456789012/hooks.fifo",
        "SENDER_ADDRESS": "noreply@seatflow.example",
    },
    "seatflow-renewal-reminders": {
        "SENDER_ADDRESS": "noreply@seatflow.example",
        "BILLING_URL": "https://shop.example/billing",
    },
}


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
    for name, value in SECRETS.items():
        client.create_secret(Name=name, SecretString=value)


def main():
    store_secrets()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), RuntimeApi)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    api = f"127.0.0.1:{server.server_address[1]}"
    print(f"{RUNS} cold starts per function, Runtime API stand-in at {api}")
    print("| function | binary (MiB) | init p50 ms | init p99 ms |")
    print("| --- | ---: | ---: | ---: |")
    for name, env in FUNCTIONS.items():
        binary = os.path.join(TARGET, name)
        size = os.path.getsize(binary) / (1024 * 1024)
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
        print(f"| {name} | {size:.2f} | {percentile(samples, 50):.1f} | {percentile(samples, 99):.1f} |")
    server.shutdown()


if __name__ == "__main__":
    main()
