# khbook: two commands do all the set-up on a fresh machine (Python 3.11, pip, make).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
AS_OF ?= 2026-11-24
LAST_MONTH ?= 2026-10-24

.PHONY: demo test lint bench clean dist kit

# The demo's sample files have errors on purpose: `check`/`refresh` exit 1 ("errors found",
# the output is written) and the batch exits 2 (its corrupt file is listed). Any other status fails.
expect1 = echo '$(1)'; $(1); s=$$?; [ $$s -le 1 ] || { echo "unexpected exit status $$s" >&2; exit $$s; }
expect2 = echo '$(1)'; $(1); s=$$?; [ $$s -le 2 ] || { echo "unexpected exit status $$s" >&2; exit $$s; }

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	mkdir -p out
	$(BIN)/khbook template -o out/客户管理模板.xlsx
	$(BIN)/khbook template --examples 5 --as-of $(AS_OF) -o out/客户管理模板-示例.xlsx
	$(BIN)/khbook template --lang en -o out/customer-template-en.xlsx
	@$(call expect1,$(BIN)/khbook check samples/messy_filled.xlsx --as-of $(AS_OF) --customers > out/messy_filled.check.txt)
	@cat out/messy_filled.check.txt
	@$(call expect1,$(BIN)/khbook check samples/messy_filled.xlsx --as-of $(AS_OF) --format json > out/messy_filled.check.json)
	@$(call expect1,$(BIN)/khbook refresh samples/messy_filled.xlsx -o out/messy_filled.checked.xlsx --as-of $(AS_OF))
	rm -rf out/batch-in out/batch out/batch-last-month && mkdir -p out/batch-in/华东
	cp samples/messy_filled.xlsx out/batch-in/张伟.xlsx
	cp samples/second_rep.xlsx out/batch-in/李娜.xlsx
	cp out/客户管理模板-示例.xlsx out/batch-in/华东/示例团队.xlsx
	cp out/客户管理模板.xlsx out/batch-in/新同事-空白.xlsx
	printf 'not a workbook' > out/batch-in/损坏.xlsx
	$(BIN)/python -c "import sys; sys.path.insert(0, '.'); from tests.corpus.make_corpus import biff_bytes; open('out/batch-in/王磊.xls', 'wb').write(biff_bytes())"
	printf 'lock' > 'out/batch-in/~$$张伟.xlsx'
	@$(call expect2,$(BIN)/khbook batch out/batch-in -o out/batch-last-month --as-of $(LAST_MONTH) > /dev/null 2>&1)
	@$(call expect2,$(BIN)/khbook batch out/batch-in -o out/batch --as-of $(AS_OF) --previous out/batch-last-month)
	@if command -v chromium >/dev/null; then chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
	  --disable-background-networking --disable-component-update --disable-sync --user-data-dir=$$(mktemp -d) \
	  --window-size=1280,9000 --hide-scrollbars --screenshot=$(CURDIR)/out/batch/report.png file://$(CURDIR)/out/batch/report.html 2>/dev/null \
	  && $(BIN)/python samples/trim_png.py out/batch/report.png \
	  || echo "chromium could not take the screenshot of out/batch/report.html"; fi
	@$(MAKE) --no-print-directory kit
	@echo "demo outputs are in out/ (the batch folder deliberately holds a corrupt file, an old .xls and a lock file: each is listed, the run goes on)"

# the wheel (carries templates/ as khbook/_templates) and the sdist, in dist/
dist: $(STAMP)
	rm -rf dist
	@$(BIN)/python -m build --outdir dist . > dist.log 2>&1 || { cat dist.log; rm -f dist.log; exit 1; }
	@rm -f dist.log
	@echo "built: $$(ls dist | tr '\n' ' ')"

# the team kit from that wheel: out/kit/ and out/kit.zip
kit: dist
	mkdir -p out
	$(BIN)/khbook kit -o out/kit --wheel "$$(ls dist/khbook-*.whl)"

test: $(STAMP)
	$(BIN)/ruff check khbook tests bench samples
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check khbook tests bench samples
	$(BIN)/lint-imports

bench: $(STAMP)
	cd bench && ../$(BIN)/python bench_check.py && ../$(BIN)/python bench_refresh.py && ../$(BIN)/python bench_batch.py

clean:
	rm -rf out dist .pytest_cache
