# Steward's everyday commands. Each target creates .venv and installs the project first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

TS := resources/translations/steward_zh_CN.ts
# The compiled catalogues: ours, and the texts of Qt's dialogs that Qt's own Chinese catalogue lacks.
QM := resources/translations/steward_zh_CN.qm resources/translations/qtbase_supplement_zh_CN.qm
BUNDLE := dist/steward/steward
APP_FILES := $(shell find steward ui resources -type f -not -path '*/__pycache__/*' -not -name '*.ts')

.PHONY: run test bench lint clean translations update-translations screenshots dist deb system-deps

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Steward needs Python 3.11 or newer; set PYTHON=python3.11")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[gui,exchange,test,dist]'
	touch $(STAMP)

# Compiled translations are built, not committed: the .ts files are the sources.
resources/translations/%.qm: resources/translations/%.ts $(STAMP)
	$(BIN)/pyside6-lrelease -silent $< -qm $@

translations: $(QM)

# Re-extract the strings of ui/ into the .ts (then translate the new ones in Qt Linguist or by hand).
update-translations: $(STAMP)
	$(BIN)/pyside6-lupdate -silent -no-obsolete -locations none ui/*.py -ts $(TS)

# The demo: sample data and a local exchange of its own (its data apart from real work; see README).
run: $(STAMP) $(QM)
	$(BIN)/steward gui --demo

test: $(STAMP) $(QM)
	$(BIN)/python -m pytest

# The packaging figures measure dist/ as it is: bring the bundle up to date first.
bench: $(STAMP) $(QM) $(BUNDLE)
	$(BIN)/python -m bench

screenshots: $(STAMP) $(QM)
	$(BIN)/python -m ui.screenshots docs/screenshots

# The installers ("Installing for departments" in README.md). The one-folder build dist/steward/ is
# remade when the app's files or the spec change; the .deb is made from it.
dist: $(BUNDLE)

$(BUNDLE): $(STAMP) $(QM) build.spec packaging/launch.py $(APP_FILES)
	$(BIN)/pyinstaller --noconfirm --log-level WARN --distpath dist --workpath build/pyinstaller build.spec

deb: $(BUNDLE)
	$(BIN)/python packaging/linux/build_deb.py dist/steward --out dist

# Debian packages that make dist, make deb and the packaging tests need beside Python (run as root):
# objdump, dpkg-shlibdeps, lintian, desktop-file-validate, Xvfb, the libraries Qt's xcb platform
# loads (see ../shared/platform-notes.md) and a CJK font; and the browser the console's tests drive
# (chromium, through its chromium-driver).
SYSTEM_DEPS := binutils dpkg-dev lintian desktop-file-utils xvfb fonts-noto-cjk libegl1 libgl1 libfontconfig1 \
	libdbus-1-3 libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 \
	libxcb-render-util0 libxcb-shape0 libxcb-xinerama0 libxcb-xkb1 chromium chromium-driver

system-deps:
	apt-get update
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $(SYSTEM_DEPS)

lint: $(STAMP)
	$(BIN)/ruff check steward ui exchange tests bench packaging

clean:
	rm -rf $(VENV) build dist *.egg-info
