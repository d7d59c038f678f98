# Two commands do all set-up: `make report` and `make test`. Both create .venv and install what they need.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
UV     := $(VENV)/bin/uv
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
ARGS   ?=

.PHONY: venv report test lab bench-engine bench-library clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	test -x $(UV) || $(PY) -m pip install --quiet uv
	$(UV) pip install --quiet --python $(PY) --compile-bytecode -e '.[test]'
	rm -f $(VENV)/.installed-* && touch $@

venv: $(STAMP)

report: $(STAMP)
	$(PY) run_report.py $(ARGS)

# pytest on every core (pytest-xdist), one test file per worker at a time (--dist loadfile) so that a file's
# module-wide fixtures (a category's records, the broken-engine runs, the wheel's smoke run) run once.
# A serial run for debugging: `make test ARGS="-n 0 --pdb -k ..."`.
test: $(STAMP)
	$(VENV)/bin/ruff check .
	$(PY) -m pytest -n auto --dist loadfile $(ARGS)

lab: $(STAMP)
	$(UV) pip install --quiet --python $(PY) --compile-bytecode -e '.[lab,test]'
	$(VENV)/bin/jupyter lab notebooks/   # a link to auralis_perf/notebook/notebooks, the packaged copy

bench-engine: $(STAMP)
	$(PY) -m auralis_perf.bench engine $(ARGS)

bench-library: $(STAMP)
	$(PY) -m auralis_perf.bench library $(ARGS)

clean:
	rm -rf $(VENV) reports/*/
