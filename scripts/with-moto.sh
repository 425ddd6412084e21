#!/usr/bin/env bash
# Runs a command with a single-threaded moto server (DynamoDB, SQS, SES
# emulation) on a free loopback port, with the AWS SDK pointed at it.
# Installs moto (and PyJWT, which the tests verify tokens with, and
# standardwebhooks, which they verify webhook deliveries with, and SAM's
# transform, which the permission tests read the roles through) into .venv on
# first use; and scim2-cli, a SCIM compliance suite, into .venv-scim.
# Usage: scripts/with-moto.sh CMD [ARGS...]
set -euo pipefail
cd "$(dirname "$0")/.."

MOTO_VERSION=5.2.5
VENV=.venv
if ! "$VENV/bin/python" -c "import moto, sys; sys.exit(moto.__version__ != '$MOTO_VERSION')" 2>/dev/null; then
    echo "installing moto[server]==$MOTO_VERSION into $VENV" >&2
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION"
fi

# PyJWT: the independent verifier of the offline entitlement tokens in the
# tests (cryptography, which it needs for ES256, comes with moto).
PYJWT_VERSION=2.10.1
if ! "$VENV/bin/python" -c "import jwt, sys; sys.exit(jwt.__version__ != '$PYJWT_VERSION')" 2>/dev/null; then
    echo "installing pyjwt==$PYJWT_VERSION into $VENV" >&2
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "pyjwt==$PYJWT_VERSION"
fi

# standardwebhooks: the specification's own library, which verifies what
# seatflow's webhook deliveries send (the README's receiver uses it).
STANDARDWEBHOOKS_VERSION=1.3.0
if ! "$VENV/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('standardwebhooks') != '$STANDARDWEBHOOKS_VERSION')" 2>/dev/null; then
    echo "installing standardwebhooks==$STANDARDWEBHOOKS_VERSION into $VENV" >&2
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "standardwebhooks==$STANDARDWEBHOOKS_VERSION"
fi

# aws-sam-translator: SAM's own transform, which turns infra/template.yaml
# into the roles CloudFormation deploys; the permission tests evaluate every
# AWS call a function makes against its role (scripts/sam_transform.py).
SAM_TRANSLATOR_VERSION=1.115.0
if ! "$VENV/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('aws-sam-translator') != '$SAM_TRANSLATOR_VERSION')" 2>/dev/null; then
    echo "installing aws-sam-translator==$SAM_TRANSLATOR_VERSION into $VENV" >&2
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "aws-sam-translator==$SAM_TRANSLATOR_VERSION"
fi

# scim2-tester (through scim2-cli): a public SCIM compliance suite that
# checks seatflow's /scim/v2 against RFC 7643 and 7644. Its own virtualenv:
# it pins pydantic and httpx versions of its own.
SCIM_VENV=.venv-scim
SCIM2_CLI_VERSION=0.6.0
SCIM2_TESTER_VERSION=0.5.2
if ! "$SCIM_VENV/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('scim2-tester') != '$SCIM2_TESTER_VERSION' or m.version('scim2-cli') != '$SCIM2_CLI_VERSION')" 2>/dev/null; then
    echo "installing scim2-cli==$SCIM2_CLI_VERSION scim2-tester==$SCIM2_TESTER_VERSION into $SCIM_VENV" >&2
    python3 -m venv "$SCIM_VENV"
    "$SCIM_VENV/bin/pip" install --quiet --disable-pip-version-check \
        "scim2-cli==$SCIM2_CLI_VERSION" "scim2-tester==$SCIM2_TESTER_VERSION" "scim2-models==0.12.3" "scim2-client==0.13.2"
fi

PORT=$("$VENV/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
LOG=$(mktemp -t moto.XXXXXX.log)
"$VENV/bin/python" scripts/moto_server.py "$PORT" >"$LOG" 2>&1 &
MOTO_PID=$!
stop_moto() {
    kill "$MOTO_PID" 2>/dev/null || true
    # moto may be deep in a request; give it a moment, then make sure.
    for _ in $(seq 1 30); do
        kill -0 "$MOTO_PID" 2>/dev/null || break
        sleep 0.1
    done
    kill -9 "$MOTO_PID" 2>/dev/null || true
    wait "$MOTO_PID" 2>/dev/null || true
    rm -f "$LOG"
}
trap stop_moto EXIT

for _ in $(seq 1 100); do
    if curl -fsS "http://127.0.0.1:$PORT/moto-api/" >/dev/null 2>&1; then break; fi
    if ! kill -0 "$MOTO_PID" 2>/dev/null; then echo "moto failed to start:" >&2; cat "$LOG" >&2; exit 1; fi
    sleep 0.1
done

export AWS_ENDPOINT_URL="http://127.0.0.1:$PORT"
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_SESSION_TOKEN=test
export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true
echo "moto on $AWS_ENDPOINT_URL" >&2
"$@"
