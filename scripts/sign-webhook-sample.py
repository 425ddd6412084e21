#!/usr/bin/env python3
"""Signs events/stripe-webhook/*.json samples the way Stripe does.

Usage: sign-webhook-sample.py SAMPLE [TIMESTAMP] > signed.json

Sets the `stripe-signature` header of an API Gateway v2 sample to
`t=TIMESTAMP,v1=HMAC-SHA256(secret, "TIMESTAMP.body")`, with the documented
sample secret (STRIPE_WEBHOOK_SECRET overrides it). TIMESTAMP defaults to now,
so a freshly signed sample passes the 300-second tolerance.
"""
import hashlib
import hmac
import json
import os
import sys
import time

SAMPLE_SECRET = "whsec_seatflow_sample_events_only_not_a_secret"

path = sys.argv[1]
t = int(sys.argv[2]) if len(sys.argv) > 2 else int(time.time())
secret = os.environ.get("STRIPE_WEBHOOK_SECRET", SAMPLE_SECRET)
with open(path) as f:
    event = json.load(f)
payload = f"{t}.{event['body']}".encode()
signature = hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()
event["headers"]["stripe-signature"] = f"t={t},v1={signature}"
json.dump(event, sys.stdout, indent=2)
sys.stdout.write("\n")
