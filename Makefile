# Two entry points: `make demo` and `make test`. Both build .venv on first use.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DEMO_DB := demo.db
# The sample's outcomes run to 2026-11-22: its month.
DEMO_MONTH := 2026-11

.PHONY: demo test lint clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# torch first, pinned: the CPU build on disk; a bare "torch" would pull CUDA wheels.
	$(BIN)/pip install -qq torch==2.13.0
	$(BIN)/pip install -qq -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	rm -rf $(DEMO_DB) $(DEMO_DB)-wal $(DEMO_DB)-shm $(DEMO_DB).index reports
	$(BIN)/cxy --db $(DEMO_DB) import all data/sample
	@echo
	$(BIN)/cxy --db $(DEMO_DB) status
	@echo
	$(BIN)/cxy model install
	$(BIN)/cxy --db $(DEMO_DB) index build
	@echo
	@echo "== 匹配清单: the teams worth calling for sample enterprise E101 (two open needs) =="
	$(BIN)/cxy --db $(DEMO_DB) match enterprise E101 --top 5 --why T102
	@echo
	@echo "== 学习排序: learn from the (synthetic) outcomes, judged on the last three months =="
	$(BIN)/cxy --db $(DEMO_DB) train
	@echo
	@echo "== 月报: the sample month's capacity-aware proposals for every key enterprise, as a workbook and a page =="
	$(BIN)/cxy --db $(DEMO_DB) report monthly --month $(DEMO_MONTH) --out reports
	@echo
	@echo "Next: start the HTTP service (docs at http://127.0.0.1:8000/docs) with an API key:"
	@echo "  $(BIN)/cxy --db $(DEMO_DB) key create --role bureau --name demo"
	@echo "  $(BIN)/cxy --db $(DEMO_DB) serve"

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) $(DEMO_DB) $(DEMO_DB)-wal $(DEMO_DB)-shm $(DEMO_DB).index reports
