# seatflow developer commands. `make help` lists them.
.DEFAULT_GOAL := help
CARGO ?= cargo
FUNCTIONS := seats-api checkout portal stripe-webhook provisioner renewal-reminders reconciler outbound
comma := ,
space := $(subst ,, )
# Each function's `lambda` feature (its Lambda entry point), comma-separated.
FUNCTION_FEATURES := $(subst $(space),$(comma),$(foreach fn,$(FUNCTIONS),seatflow-$(fn)/lambda))
LAMBDA_FEATURES := --features $(FUNCTION_FEATURES),seatflow-local/dynamodb

.PHONY: help fmt lint test run-local bench bench-dynamodb cfn-lint sam-validate checkov deploy-rehearsal api-fuzz build-lambda invoke bench-lambda

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

fmt: ## format the code
	$(CARGO) fmt --all

lint: ## check formatting, and clippy with warnings as errors (default features, and the Lambda set)
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(CARGO) clippy --workspace --all-targets $(LAMBDA_FEATURES) -- -D warnings

test: ## run every test (what CI runs): starts moto server for the AWS tests, installing it on first use
	scripts/browser.sh
	scripts/with-moto.sh $(CARGO) test --workspace $(LAMBDA_FEATURES) --no-fail-fast

run-local: ## run every function locally on in-memory adapters
	$(CARGO) run -p seatflow-local

bench: ## run the benchmarks (figures go to BENCHMARKS.md by hand)
	$(CARGO) bench -p seatflow-memory --bench seats
	$(CARGO) bench -p seatflow-tests --bench webhook
	$(MAKE) bench-dynamodb

# Latency against moto is milliseconds of Python: LTO buys nothing, and costs minutes.
bench-dynamodb: ## latency and capacity per operation on the DynamoDB store, against moto
	CARGO_PROFILE_BENCH_LTO=false CARGO_PROFILE_BENCH_CODEGEN_UNITS=16 \
	  scripts/with-moto.sh $(CARGO) bench -p seatflow-dynamodb --bench capacity

CFN_LINT_VERSION := 1.58.0
cfn-lint: ## lint the SAM template with cfn-lint (installed into .venv on first use)
	@test -x .venv/bin/cfn-lint || { python3 -m venv .venv && .venv/bin/pip install --quiet --disable-pip-version-check "cfn-lint==$(CFN_LINT_VERSION)"; }
	.venv/bin/cfn-lint infra/template.yaml infra/edge-waf.yaml

SAM_CLI_VERSION := 1.170.0
SAM := .venv-sam/bin/sam
# The SAM transform CloudFormation runs at deploy, run here: a template it
# refuses never reaches a deploy. Offline; the credentials are placeholders.
sam-validate: ## run SAM's transform and lint on the template (aws-sam-cli installed into .venv-sam on first use)
	@test -x $(SAM) && $(SAM) --version | grep -q "$(SAM_CLI_VERSION)" || { python3 -m venv .venv-sam && .venv-sam/bin/pip install --quiet --disable-pip-version-check "aws-sam-cli==$(SAM_CLI_VERSION)"; }
	AWS_ACCESS_KEY_ID=placeholder AWS_SECRET_ACCESS_KEY=placeholder AWS_DEFAULT_REGION=us-east-1 SAM_CLI_TELEMETRY=0 \
	  $(SAM) validate --lint --template infra/template.yaml
	AWS_ACCESS_KEY_ID=placeholder AWS_SECRET_ACCESS_KEY=placeholder AWS_DEFAULT_REGION=us-east-1 SAM_CLI_TELEMETRY=0 \
	  $(SAM) validate --template infra/template.yaml

# SAM's transform (aws-sam-cli's samtranslator, as sam-validate installs it),
# then the stack created on moto's CloudFormation and checked resource by
# resource (scripts/deploy_rehearsal.py says what moto cannot model).
deploy-rehearsal: ## create the stack on moto's CloudFormation and check its wiring
	@test -x $(SAM) && $(SAM) --version | grep -q "$(SAM_CLI_VERSION)" || { python3 -m venv .venv-sam && .venv-sam/bin/pip install --quiet --disable-pip-version-check "aws-sam-cli==$(SAM_CLI_VERSION)"; }
	scripts/with-moto.sh .venv-sam/bin/python scripts/deploy_rehearsal.py

SCHEMATHESIS_VERSION := 4.32.5
# After `make test`, which built target/debug/seatflow-local.
api-fuzz: ## schemathesis (--checks all, stateful) against seatflow-local: the seats API, its operator routes, checkout
	@test -x .venv-schemathesis/bin/schemathesis && .venv-schemathesis/bin/schemathesis --version | grep -q "$(SCHEMATHESIS_VERSION)" || { python3 -m venv .venv-schemathesis && .venv-schemathesis/bin/pip install --quiet --disable-pip-version-check "schemathesis==$(SCHEMATHESIS_VERSION)"; }
	@test -x target/debug/seatflow-local || $(CARGO) build -p seatflow-local
	scripts/api-fuzz.sh

CHECKOV_VERSION := 3.3.30
# The checks skipped by design, each explained at the top of the template.
CHECKOV_SKIP := $(shell sed -n 's/^\#   \(CKV_[A-Z0-9_]*\) .*/\1/p' infra/template.yaml | paste -sd, -)
checkov: ## Checkov's security checks on the template (installed into .venv-checkov on first use)
	@test -x .venv-checkov/bin/checkov && .venv-checkov/bin/checkov --version | grep -qx "$(CHECKOV_VERSION)" || { python3 -m venv .venv-checkov && .venv-checkov/bin/pip install --quiet --disable-pip-version-check "checkov==$(CHECKOV_VERSION)"; }
	.venv-checkov/bin/checkov --file infra/template.yaml --file infra/edge-waf.yaml --framework cloudformation --compact --quiet --skip-download --skip-check "$(CHECKOV_SKIP)"

CARGO_LAMBDA_VERSION := 1.9.2
ZIG_VERSION := 0.13.0
CARGO_LAMBDA := .venv/bin/cargo-lambda
# cargo-lambda cross-compiles with the zig from the same .venv.
LAMBDA_PATH := PATH="$(CURDIR)/.venv/bin:$$PATH"

LAMBDA_TOOLS := .venv/.cargo-lambda-$(CARGO_LAMBDA_VERSION)-zig-$(ZIG_VERSION)

$(LAMBDA_TOOLS):
	@test -x .venv/bin/python || python3 -m venv .venv
	.venv/bin/pip install --quiet --disable-pip-version-check "cargo-lambda==$(CARGO_LAMBDA_VERSION)" "ziglang==$(ZIG_VERSION)"
	touch $@

build-lambda: $(LAMBDA_TOOLS) ## release build of every function for Lambda (arm64) into target/lambda/<fn>/bootstrap
	rustup target add aarch64-unknown-linux-gnu
	for fn in $(FUNCTIONS); do \
	  $(LAMBDA_PATH) $(CARGO_LAMBDA) lambda build --release --arm64 --features lambda -p seatflow-$$fn || exit 1; \
	done

bench-lambda: build-lambda ## arm64 size, and size and cold start (init) of every function's x86_64 release binary, as in BENCHMARKS.md
	$(CARGO) build --release --bins $(foreach fn,$(FUNCTIONS),-p seatflow-$(fn)) --features $(FUNCTION_FEATURES)
	scripts/with-moto.sh .venv/bin/python scripts/cold-start.py 30

# make invoke FN=renewal-reminders EVENT=events/renewal-reminders/scheduled.json
# Serves FN with `cargo lambda watch` (environment from the caller: TABLE_NAME,
# AWS_ENDPOINT_URL, ...) and invokes it once with EVENT. Stripe samples are
# signed again with the current time first (scripts/sign-webhook-sample.py).
invoke: $(LAMBDA_TOOLS) ## run one sample event through a function locally: make invoke FN=seats-api EVENT=events/seats-api/get-catalog.json
	@test -n "$(FN)" -a -n "$(EVENT)" || { echo "usage: make invoke FN=<$(FUNCTIONS)> EVENT=events/..."; exit 2; }
	@event="$(EVENT)"; case "$(FN)" in stripe-webhook) event=$$(mktemp); scripts/sign-webhook-sample.py "$(EVENT)" > "$$event";; esac; \
	$(LAMBDA_PATH) $(CARGO_LAMBDA) lambda watch -P 9000 --features lambda -p seatflow-$(FN) & watch=$$!; \
	trap 'kill $$watch 2>/dev/null' EXIT; \
	for _ in $$(seq 600); do curl -s -o /dev/null http://127.0.0.1:9000/ && break; sleep 1; done; \
	$(CARGO_LAMBDA) lambda invoke --invoke-address 127.0.0.1 --invoke-port 9000 seatflow-$(FN) --data-file "$$event"
