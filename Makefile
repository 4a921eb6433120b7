# khbook: two commands do all the set-up on a fresh machine (Python 3.11, pip, make).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
AS_OF ?= 2026-11-24

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	mkdir -p out
	$(BIN)/khbook template -o out/客户管理模板.xlsx
	$(BIN)/khbook template --examples 5 -o out/客户管理模板-示例.xlsx
	$(BIN)/khbook template --lang en -o out/customer-template-en.xlsx
	$(BIN)/python samples/make_samples.py samples
	-$(BIN)/khbook check samples/messy_filled.xlsx --as-of $(AS_OF)
	@echo "demo outputs are in out/"

test: $(STAMP)
	$(BIN)/ruff check khbook tests bench samples
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check khbook tests bench samples

bench: $(STAMP)
	$(BIN)/python bench/bench_check.py

clean:
	rm -rf out .pytest_cache
