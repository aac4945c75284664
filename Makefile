# Steward's everyday commands. Each target creates .venv and installs the project first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

TS := resources/translations/steward_zh_CN.ts
QM := resources/translations/steward_zh_CN.qm

.PHONY: run test bench lint clean translations update-translations screenshots

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Steward needs Python 3.11 or newer; set PYTHON=python3.11")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[gui,exchange,test,dist]'
	touch $(STAMP)

# Compiled translations are built, not committed: the .ts file is the source.
$(QM): $(TS) $(STAMP)
	$(BIN)/pyside6-lrelease -silent $(TS) -qm $(QM)

translations: $(QM)

# Re-extract the strings of ui/ into the .ts (then translate the new ones in Qt Linguist or by hand).
update-translations: $(STAMP)
	$(BIN)/pyside6-lupdate -silent -no-obsolete -locations none ui/*.py -ts $(TS)

run: $(STAMP) $(QM)
	$(BIN)/steward

test: $(STAMP) $(QM)
	$(BIN)/python -m pytest

bench: $(STAMP) $(QM)
	$(BIN)/python -m bench

screenshots: $(STAMP) $(QM)
	$(BIN)/python -m ui.screenshots docs/screenshots

lint: $(STAMP)
	$(BIN)/ruff check steward ui exchange tests bench

clean:
	rm -rf $(VENV) build dist *.egg-info
