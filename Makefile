# seatflow developer commands. `make help` lists them.
.DEFAULT_GOAL := help
CARGO ?= cargo
LAMBDA_FEATURES := --features seatflow-seats-api/lambda,seatflow-stripe-webhook/lambda,seatflow-checkout/lambda,seatflow-provisioner/lambda,seatflow-local/dynamodb,seatflow-renewal-reminders/lambda

.PHONY: help fmt lint test run-local bench bench-dynamodb cfn-lint

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

fmt: ## format the code
	$(CARGO) fmt --all

lint: ## check formatting, and clippy with warnings as errors
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets $(LAMBDA_FEATURES) -- -D warnings

test: ## run every test (what CI runs): starts moto server for the AWS tests, installing it on first use
	scripts/with-moto.sh $(CARGO) test --workspace $(LAMBDA_FEATURES) --no-fail-fast

run-local: ## run every function locally on in-memory adapters
	$(CARGO) run -p seatflow-local

bench: ## run the benchmarks (figures go to BENCHMARKS.md by hand)
	$(CARGO) bench -p seatflow-memory --bench seats
	$(CARGO) bench -p seatflow-stripe-webhook --bench webhook
	$(MAKE) bench-dynamodb

# Latency against moto is milliseconds of Python: LTO buys nothing, and costs minutes.
bench-dynamodb: ## latency and capacity per operation on the DynamoDB store, against moto
	CARGO_PROFILE_BENCH_LTO=false CARGO_PROFILE_BENCH_CODEGEN_UNITS=16 \
	  scripts/with-moto.sh $(CARGO) bench -p seatflow-dynamodb --bench capacity

CFN_LINT_VERSION := 1.58.0
cfn-lint: ## lint the SAM template with cfn-lint (installed into .venv on first use)
	@test -x .venv/bin/cfn-lint || { python3 -m venv .venv && .venv/bin/pip install --quiet --disable-pip-version-check "cfn-lint==$(CFN_LINT_VERSION)"; }
	.venv/bin/cfn-lint infra/template.yaml
