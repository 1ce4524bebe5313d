# Two commands: `make demo` and `make test`. Both need only python3 (with venv) and make.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed

.PHONY: demo test install lint typecheck serve worker clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	@echo "Serving at http://127.0.0.1:8000 (task worker and periodic sweeps alongside). Ctrl-C stops all three."
	@trap 'kill 0' INT TERM EXIT; \
	  $(PY) manage.py db_worker --queue-name '*' & \
	  $(PY) manage.py run_periodic & \
	  $(PY) manage.py runserver 127.0.0.1:8000 --noreload

test: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m mypy xiuhua config
	$(PY) -m pytest

clean:
	rm -rf $(VENV) var/test.sqlite3*
