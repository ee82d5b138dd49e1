# The two commands: `make run` (set up and serve the demo) and `make test` (set up and run every test).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
PORT ?= 5000
export PORT

.PHONY: run setup test lint translations clean

run: setup
	@echo "Serving on http://127.0.0.1:$(PORT) and starting a job worker  (Ctrl-C stops both)"
	PURL_BASE_URL="$${PURL_BASE_URL:-http://127.0.0.1:$(PORT)}" \
	PURL_HOME_QUIZZES="$${PURL_HOME_QUIZZES:-all}" PURL_HOME_CONSOLE_LINK="$${PURL_HOME_CONSOLE_LINK:-1}" \
	$(BIN)/honcho start -f Procfile

setup: $(VENV)/.runtime translations/de/LC_MESSAGES/messages.mo
	$(FLASK) db upgrade
	$(FLASK) demo load

test: $(VENV)/.dev translations/de/LC_MESSAGES/messages.mo
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(VENV)/.dev
	$(BIN)/ruff check .

$(VENV)/.runtime: requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

translations/de/LC_MESSAGES/messages.mo: translations/de/LC_MESSAGES/messages.po $(VENV)/.runtime
	$(BIN)/pybabel compile --statistics -d translations

# After changing UI strings: refresh the catalog, then translate the new German entries.
translations: $(VENV)/.runtime
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext --no-location --sort-output -o translations/messages.pot .
	$(BIN)/pybabel update -i translations/messages.pot -d translations

clean:
	rm -rf $(VENV) instance .pytest_cache
