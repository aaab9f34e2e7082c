# The two commands: `make run` and `make test`. Everything else here serves them.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PYTEST_WORKERS ?= auto

.PHONY: run test test-steps setup lint typecheck pytest browser-deps bench-deps bench-reveal bench-filings bench-people bench-verify bench-scale messages stop-db bench clean infra-check trust-long security-check tour site-screenshots

run: setup messages
	$(PY) infra/dev/run.py

# The steps run under infra/dev/own_db.py, which stops the embedded PostgreSQL afterwards if
# they started it (a server already running, e.g. for `make run`, is left alone).
test: setup
	$(PY) infra/dev/own_db.py $(MAKE) --no-print-directory test-steps

test-steps: messages browser-deps lint typecheck pytest infra-check

# A second run only checks the stamp: the virtualenv is rebuilt when pyproject.toml changes.
setup: $(STAMP)

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is required ($(PYTHON) not found)"; exit 1; }
	[ -x $(PY) ] || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	# Two source roots (platform/ and the repository root): a .pth file puts both on sys.path
	# for every entry point (manage.py, celery, pytest, mypy) without PYTHONPATH.
	$(PY) infra/dev/write_pth.py
	touch $(STAMP)

# Compile the .po catalogues with polib (pure Python), so no gettext is needed.
messages: setup
	$(PY) infra/dev/compile_messages.py

# Playwright cannot download a browser here: use Debian's Chromium, a Japanese font, and the
# Noto fonts of the person's other scripts (Burmese, Devanagari, Korean, Vietnamese; issue 18).
browser-deps:
	@bash infra/dev/ensure_debian_packages.sh chromium fonts-noto-cjk fonts-noto-core

bench-deps:
	@bash infra/dev/ensure_debian_packages.sh wrk

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: setup
	$(VENV)/bin/mypy platform tenants billing infra bench

pytest: setup
	$(VENV)/bin/pytest -n $(PYTEST_WORKERS) --dist loadfile

stop-db: setup
	$(PY) -c 'from config.embedded_db import stop; stop()'

bench: setup messages
	$(PY) bench/provisioning.py

# The custody core's figures (issue 3): reveal latency and throughput, loaded with wrk.
bench-reveal: setup messages bench-deps
	$(PY) bench/reveal.py

# Filings (issue 17): a 10,000-row 375 file and a 10,000-row 統一CSV, upload to filled
# download, against the goals (under 3 s each, under 200 MB, at most one KMS call).
bench-filings: setup messages
	$(PY) bench/filings.py

# The people list (search and filters) and a bulk request of 1,000, at 10,000 people (issue
# 20): under 200 ms of server time, under 10 s with the log entries.
bench-people: setup messages
	$(PY) bench/people.py

# The nightly incremental verification over 10,000 firms and a full verification's
# throughput (docs/benchmarks.md); BENCH_VERIFY_ARGS="--firms 1000" for a shorter run.
bench-verify: setup messages
	$(PY) bench/audit_verify.py $(BENCH_VERIFY_ARGS)

# One node at scale (issue 21), on the database `bench/provisioning.py --firms 20000 --keep`
# left: a backend's memory across firms with and without recycling, the nightly fan-outs, and
# the catalogue's and the database's size per firm.
bench-scale: setup messages
	$(PY) bench/backend_memory.py --firms 20000 --every 2000 --recycle-after 200
	$(PY) bench/fanouts.py
	$(PY) bench/catalogue.py

# The product tour: every journey of every kind of user in Chromium, each page photographed at
# desktop and phone sizes and audited with axe-core; open test-artifacts/tour/index.html.
tour: setup messages browser-deps
	$(VENV)/bin/pytest -p no:xdist tests/browser/tour
	$(PY) tests/browser/tour/index.py

# The public site's pictures of the real product (frontend/static/img/site/), taken from the
# demo world in each language; commit what it writes. Not part of `make test`.
site-screenshots: setup messages browser-deps
	$(VENV)/bin/pytest -p no:xdist tests/browser/site_screenshots.py

# The trust suite's long runs (bigger hypothesis and schemathesis budgets), excluded from
# `make test` by the `-m 'not slow'` in pyproject.toml's addopts.
trust-long: setup messages
	$(VENV)/bin/pytest -p no:xdist -m slow tests/trust

# bandit and pip-audit, in a throwaway virtualenv (needs the network; not part of make test).
# bandit fails only on findings not in the reviewed baseline; every baselined finding is
# justified in docs/security-checks.md.
security-check: setup
	[ -x /tmp/sec-venv/bin/python ] || $(PYTHON) -m venv /tmp/sec-venv
	/tmp/sec-venv/bin/pip install --quiet bandit pip-audit
	/tmp/sec-venv/bin/bandit -r platform tenants billing infra -ll -b infra/security/bandit-baseline.json
	$(VENV)/bin/pip freeze --exclude-editable > /tmp/sec-requirements.txt
	/tmp/sec-venv/bin/pip-audit --strict -r /tmp/sec-requirements.txt

# checkov + python-hcl2 on infra/ (Terraform, Kubernetes, Dockerfile), offline, in a venv of
# their own (.venv-infra: checkov's pins would fight the app's). Part of make test, so CI
# checks infra/ too: about 4 minutes to install the first time, 20 seconds after.
infra-check:
	INFRA_VENV=$(CURDIR)/.venv-infra bash infra/check.sh
