# The two commands: `make run` serves the demo, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
LOCALES := ar fr es
CATALOGS := $(foreach l,$(LOCALES),sidestage/locale/$(l)/LC_MESSAGES/messages.mo)

.PHONY: run test install lint messages clean

run: install
	$(BIN)/sidestage migrate
	$(BIN)/sidestage demo
	$(BIN)/sidestage serve

test: install
	$(BIN)/pytest -q

install: $(INSTALLED) $(CATALOGS)

$(INSTALLED): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test,dev]'
	touch $@

# Catalogs are compiled at install; the sources (.po) are what the repository keeps.
sidestage/locale/%/LC_MESSAGES/messages.mo: sidestage/locale/%/LC_MESSAGES/messages.po $(INSTALLED)
	$(BIN)/pybabel compile -D messages -i $< -o $@ -l $*

# After changing a user-visible string: extract it, then translate the new entries.
messages: $(INSTALLED)
	$(BIN)/pybabel extract -F babel.cfg -k N_ -o sidestage/locale/messages.pot --no-location --sort-output $(foreach k,SidestageError InvalidInput Unauthenticated Forbidden NotFound Conflict PayloadTooLarge RateLimited,-k $(k):2) sidestage
	$(foreach l,$(LOCALES),test -f sidestage/locale/$(l)/LC_MESSAGES/messages.po || $(BIN)/pybabel init -D messages -i sidestage/locale/messages.pot -d sidestage/locale -l $(l);)
	$(BIN)/pybabel update -D messages -i sidestage/locale/messages.pot -d sidestage/locale --no-fuzzy-matching

lint: $(INSTALLED)
	$(BIN)/ruff check sidestage tests
	$(BIN)/mypy sidestage
	$(BIN)/ruff format --check sidestage tests

clean:
	rm -rf $(VENV) var sidestage/locale/*/LC_MESSAGES/*.mo
