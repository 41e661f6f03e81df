# The two commands: `make run` serves the demo, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
# What the browser tests inject into pages (axe-core), as tests/browser/package-lock.json pins it.
BROWSER_JS := tests/browser/node_modules
LOCALES := ar fr es
CATALOGS := $(foreach l,$(LOCALES),sidestage/locale/$(l)/LC_MESSAGES/messages.mo)

.PHONY: run test test-stock test-upstream check faults install lint messages clean
# The slow tiers (markers, see pyproject.toml): what `make check` leaves to `make test`.
SLOW_TIERS := browser or media or processes or postgres or faults

# Quiet on purpose: what a person needs is the address, the login and where the data lives.
run: install
	@$(BIN)/sidestage migrate
	@$(BIN)/sidestage demo
	@$(BIN)/sidestage serve

# Every test: what CI runs (after `make lint`). The tests in this process, on both databases,
# run on every core (tests marked with one xdist_group on one of them); those that drive a
# browser, media, processes of their own or faults run one at a time (they measure time,
# or start servers on shared ports and Redis).
ALONE := browser or media or processes or faults
test: install $(BROWSER_JS)
	$(BIN)/pytest -q -n auto --dist loadgroup -m "not ($(ALONE))" --durations=10
	$(BIN)/pytest -q -m "$(ALONE)" --durations=10
	@$(MAKE) --no-print-directory test-stock

# The live rooms, fan-out and stage again with every fast path off (platform/fast_paths.py):
# python-socketio's, engine.io's, aiortc's and SQLAlchemy's own steps must be slower, never
# wrong. Tests of one fast path's own work skip themselves (marker fast_path).
STOCK_TESTS := tests/test_rooms.py tests/test_rooms_smoke.py tests/test_rooms_authz.py \
	tests/test_delivery.py tests/test_delivery_cluster.py tests/test_rooms_scale.py \
	tests/test_room_snapshots.py tests/test_fanout.py tests/test_metrics.py \
	tests/test_long_polling_limits.py tests/test_stopping.py tests/test_fast_paths.py \
	tests/test_stage.py tests/test_media_forwarding.py tests/test_media_relay.py \
	tests/test_media_recording.py tests/test_media_workers.py tests/test_interpretation.py \
	tests/browser/test_room.py tests/browser/test_stage.py tests/browser/test_interpretation.py
test-stock: install $(BROWSER_JS)
	SIDESTAGE_FAST_PATHS=off $(BIN)/pytest -q -n auto --dist loadgroup -m "not ($(ALONE))" $(STOCK_TESTS)
	SIDESTAGE_FAST_PATHS=off $(BIN)/pytest -q -m "$(ALONE)" --durations=5 $(STOCK_TESTS)

# The pinned libraries' newest releases in a scratch environment: which fast paths fell back,
# and whether the tests pass (scripts/test-upstream). Needs PyPI; not part of CI.
test-upstream:
	scripts/test-upstream

# The fast tier, for every change: lint, types, and the tests on SQLite in this process.
check: lint
	$(BIN)/pytest -q -n auto --dist loadgroup -m "not ($(SLOW_TIERS))" --durations=5

# The fault suite alone (part of `make test` too), with each scenario's counts printed.
faults: install
	$(BIN)/pytest -q -s -m faults

install: $(INSTALLED) $(CATALOGS)

# setup.py builds the stage's native sender from its C source: a change there rebuilds it.
# -qq: errors only (the machine's own pip settings may warn about every package).
$(INSTALLED): pyproject.toml setup.py sidestage/realtime/media/accel/_sendout.c
	@echo "installing Sidestage and what it needs into $(VENV) (the first time: a minute or two)"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -qq --upgrade pip
	@$(BIN)/python -m pip install -qq -e '.[test,dev]'
	@touch $@

# Only the tests need Node, so `make run` works without it. The folder's time stamp is what
# make compares with the lock: touch it, whatever npm did to it.
$(BROWSER_JS): tests/browser/package-lock.json
	npm ci --prefix tests/browser --no-audit --no-fund
	touch $@

# Catalogs are compiled at install; the sources (.po) are what the repository keeps.
sidestage/locale/%/LC_MESSAGES/messages.mo: sidestage/locale/%/LC_MESSAGES/messages.po $(INSTALLED)
	@$(BIN)/pybabel --quiet compile -D messages -i $< -o $@ -l $*

# After changing a user-visible string: extract it, then translate the new entries. The calls
# whose message argument is for people are listed once, in sidestage/web/i18n.py.
messages: ERROR_KEYWORDS = $(shell $(BIN)/python -c "from sidestage.web.i18n import ERROR_KEYWORDS as k; print(' '.join(f'-k {n}:2' for n in k))")
messages: $(INSTALLED)
	$(BIN)/pybabel extract -F babel.cfg -k N_ -o sidestage/locale/messages.pot --no-location --sort-output $(ERROR_KEYWORDS) sidestage
	$(foreach l,$(LOCALES),test -f sidestage/locale/$(l)/LC_MESSAGES/messages.po || $(BIN)/pybabel init -D messages -i sidestage/locale/messages.pot -d sidestage/locale -l $(l);)
	$(BIN)/pybabel update -D messages -i sidestage/locale/messages.pot -d sidestage/locale --no-fuzzy-matching

lint: $(INSTALLED)
	$(BIN)/ruff check sidestage tests bench
	$(BIN)/ruff format --check sidestage tests bench
	$(BIN)/mypy sidestage

clean:
	rm -rf $(VENV) var sidestage/locale/*/LC_MESSAGES/*.mo $(BROWSER_JS)
