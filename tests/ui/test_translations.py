"""The Chinese translation: complete, up to date with the code, and every visible string of ui/ goes through it."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QEvent, QTranslator
from PySide6.QtWidgets import QApplication, QLabel

from steward.catalogue.messages import MESSAGES
from ui.i18n import Retranslating

ROOT = Path(__file__).resolve().parents[2]
UI = ROOT / "ui"
TS = ROOT / "resources" / "translations" / "steward_zh_CN.ts"
# What Qt's own Chinese catalogue lacks, kept by hand (see its header).
QT_SUPPLEMENT = TS.with_name("qtbase_supplement_zh_CN.ts")
CATALOGUES = [TS, QT_SUPPLEMENT]

PLACEHOLDER = re.compile(r"%(?:\d+|n)")

# Qt calls that put text on screen: method name -> positions of its text arguments.
TEXT_METHODS: dict[str, tuple[int, ...]] = {
    "setText": (0,), "setWindowTitle": (0,), "setToolTip": (0,), "setStatusTip": (0,), "setWhatsThis": (0,),
    "setPlaceholderText": (0,), "setAccessibleName": (0,), "setAccessibleDescription": (0,), "setTitle": (0,),
    "setInformativeText": (0,), "setDetailedText": (0,), "setLabelText": (0,), "setCancelButtonText": (0,),
    "setSpecialValueText": (0,), "showMessage": (0,), "addItem": (0,), "setItemText": (1,), "setTabText": (1,),
    "addMenu": (0, 1), "addAction": (0, 1), "setUndoText": (0,), "setRedoText": (0,),
}
# Static dialogs: (class, function) -> positions of the title, text, caption or filter.
STATIC_TEXT: dict[tuple[str, str], tuple[int, ...]] = {
    ("QMessageBox", "question"): (1, 2), ("QMessageBox", "warning"): (1, 2), ("QMessageBox", "information"): (1, 2),
    ("QMessageBox", "critical"): (1, 2), ("QMessageBox", "about"): (1, 2),
    ("QFileDialog", "getExistingDirectory"): (1,), ("QFileDialog", "getOpenFileName"): (1, 3),
    ("QFileDialog", "getSaveFileName"): (1, 3), ("QInputDialog", "getText"): (1, 2),
}
# Widgets and items whose constructor takes their text: every positional string argument is text.
TEXT_CONSTRUCTORS = {
    "QLabel", "QPushButton", "QCheckBox", "QRadioButton", "QGroupBox", "QAction", "QMenu", "QCommandLinkButton",
    "QMessageBox", "QProgressDialog", "QStandardItem", "QListWidgetItem", "QUndoCommand",
}
TRANSLATING = {"tr", "translate", "QT_TR_NOOP", "QT_TRANSLATE_NOOP"}
# Each language is named in its own words in the language menu: those names are never translated.
LANGUAGE_SELF_NAMES = {"中文", "English"}


def _tool(name: str) -> str:
    found = Path(sys.executable).parent / name
    path = str(found) if found.exists() else shutil.which(name)
    if path is None:
        pytest.fail(f"{name} not found (it comes with PySide6; run `make` to install the project)")
    return path


def _messages(path: Path) -> Iterator[tuple[str, ET.Element]]:
    for context in ET.parse(path).getroot().iter("context"):
        name = context.findtext("name") or ""
        for message in context.iter("message"):
            yield name, message


def _pairs(path: Path) -> set[tuple[str, str]]:
    return {(context, message.findtext("source") or "") for context, message in _messages(path)}


def _translations(message: ET.Element) -> list[str]:
    translation = message.find("translation")
    if translation is None:
        return []
    if message.get("numerus") == "yes":
        return [form.text or "" for form in translation.iter("numerusform")]
    return [translation.text or ""]


# The .ts file ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("ts", CATALOGUES, ids=lambda p: p.name)
def test_every_message_is_translated(ts):
    assert ET.parse(ts).getroot().get("language") == "zh_CN"
    problems = []
    count = 0
    for context, message in _messages(ts):
        count += 1
        source = message.findtext("source")
        translation = message.find("translation")
        kind = translation.get("type") if translation is not None else "missing"
        if kind in ("unfinished", "vanished", "obsolete", "missing"):
            problems.append(f"{context}: {source!r} is {kind}")
            continue
        forms = _translations(message)
        if not forms or not all(form.strip() for form in forms):
            problems.append(f"{context}: {source!r} has an empty translation")
    assert count > (100 if ts == TS else 0), "the .ts holds almost nothing: was it regenerated from the wrong files?"
    assert not problems, "\n".join(problems)


def test_ts_is_up_to_date_with_the_code(tmp_path):
    """lupdate over ui/ adds and drops nothing: every tr() string in the code is in the committed .ts."""
    fresh = tmp_path / TS.name
    shutil.copy(TS, fresh)
    sources = sorted(str(p.relative_to(ROOT)) for p in UI.glob("*.py"))
    subprocess.run([_tool("pyside6-lupdate"), "-silent", "-no-obsolete", "-locations", "none", *sources,
                    "-ts", str(fresh)], cwd=ROOT, check=True, capture_output=True, timeout=300)
    committed, current = _pairs(TS), _pairs(fresh)
    missing = sorted(current - committed)
    stale = sorted(committed - current)
    assert not missing and not stale, (
        "resources/translations/steward_zh_CN.ts is out of date; run `make update-translations` and translate:\n"
        + "".join(f"  new, untranslated: {c}: {s!r}\n" for c, s in missing)
        + "".join(f"  no longer in the code: {c}: {s!r}\n" for c, s in stale)
    )
    unfinished = [(c, m.findtext("source")) for c, m in _messages(fresh)
                  if (t := m.find("translation")) is not None and t.get("type") == "unfinished"]
    assert not unfinished, f"lupdate marks these unfinished (their source changed?): {unfinished}"


@pytest.mark.parametrize("ts", CATALOGUES, ids=lambda p: p.name)
def test_placeholders_match_their_source(ts):
    problems = []
    for context, message in _messages(ts):
        source = message.findtext("source") or ""
        wanted = set(PLACEHOLDER.findall(source))
        for form in _translations(message):
            found = set(PLACEHOLDER.findall(form))
            if found != wanted:
                problems.append(f"{context}: {source!r} -> {form!r}: {sorted(found)} instead of {sorted(wanted)}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("ts", CATALOGUES, ids=lambda p: p.name)
def test_mnemonics_are_kept(ts):
    """A source with an &-mnemonic keeps one in Chinese (as 文件(&F)); a source without gets none."""
    problems = []
    for context, message in _messages(ts):
        source = message.findtext("source") or ""
        has = bool(re.search(r"&[^&\s]", source.replace("&&", "")))
        for form in _translations(message):
            if has != bool(re.search(r"&[^&\s]", form.replace("&&", ""))):
                problems.append(f"{context}: {source!r} -> {form!r}")
    assert not problems, "\n".join(problems)


def test_compiled_catalogue_loads_and_translates(qapp, tmp_path):
    qm = tmp_path / "steward_zh_CN.qm"
    subprocess.run([_tool("pyside6-lrelease"), "-silent", str(TS), "-qm", str(qm)], check=True, capture_output=True,
                   timeout=120)
    translator = QTranslator()
    assert translator.load(str(qm))
    assert not translator.isEmpty()
    assert translator.translate("MainWindow", "&Edit") == "编辑(&E)"
    assert translator.translate("CatalogueModel", "Sharing") == "共享类型"
    assert translator.translate("MainWindow", "%n entries", "", 3)


def test_the_supplement_to_qts_catalogue_compiles_and_translates_qts_texts(qapp, tmp_path):
    qm = tmp_path / "qtbase_supplement_zh_CN.qm"
    subprocess.run([_tool("pyside6-lrelease"), "-silent", str(QT_SUPPLEMENT), "-qm", str(qm)], check=True,
                   capture_output=True, timeout=120)
    translator = QTranslator()
    assert translator.load(str(qm))
    assert translator.translate("QFileDialog", "&Look in:") == "查找范围(&L)："
    assert translator.translate("QAbstractFileIconProvider", "Folder", "All other platforms") == "文件夹"


# Full-width punctuation ----------------------------------------------------------------------------------

# Chinese characters and the punctuation written between them (full-width, “”‘’ and …).
CHINESE = re.compile(r"[\u2018-\u201d\u2026\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]")
HALF_WIDTH = re.compile(r"[,:;?!()]|\.(?![A-Za-z0-9])")  # a dot before letters or digits: 模板.xlsx, 1.2
# Half-width where it is read as it is: mnemonics as Qt's Chinese catalogues write them (文件(&F)), a file
# dialog's filters (Excel 工作簿 (*.xlsx);;CSV 文件 (*.csv)), which Qt parses, and addresses a steward types
# (http://用户名:密码@主机:端口).
KEPT_HALF_WIDTH = re.compile(r"\(&[^&\s]\)|\([^()]*\*[^()]*\)|;;|[a-z]+://[^\s,，。；（）]*")
# Placeholders stand for words: the punctuation around them is the sentence's (交换平台 {url}：{reason}).
PLACEHOLDERS = re.compile(r"\{\w+\}|%\d+|%n")


def half_width_by_chinese(text: str) -> list[str]:
    """Half-width ,.:;?!() next to a Chinese character (spaces between count as next to): each with its context.

    Between ASCII, as in codes, numbers, paths and addresses, they stay.
    """
    text = PLACEHOLDERS.sub("", KEPT_HALF_WIDTH.sub("", text))
    found = []
    for mark in HALF_WIDTH.finditer(text):
        before, after = text[:mark.start()].rstrip()[-1:], text[mark.end():].lstrip()[:1]
        if CHINESE.fullmatch(before) or CHINESE.fullmatch(after):
            found.append(text[max(0, mark.start() - 8):mark.end() + 8])
    return found


def test_the_finder_of_half_width_punctuation():
    assert len(half_width_by_chinese("这是演示:条目是示例,交换平台运行在本机(%1)。")) == 4
    assert half_width_by_chinese("什么是演示模式(&W)?") == ["什么是演示模式?"]
    assert half_width_by_chinese("无法连接 {url}:{reason}") == ["无法连接 :"]
    for fine in ("打开(&O)…", "Excel 工作簿 (*.xlsx)", "版本 1.2.3，代码 319002/000901", "例如：https://x.cn:8443",
                 "{field}（{value}）", "共 %1 个条目。", "编目模板.xlsx", "目录 (*.xlsx);;所有文件 (*)",
                 "需要登录时：http://用户名:密码@主机:端口。", "{sheet} {column} 列（{header}）"):
        assert half_width_by_chinese(fine) == [], fine


@pytest.mark.parametrize("ts", CATALOGUES, ids=lambda p: p.name)
def test_chinese_translations_use_full_width_punctuation(ts):
    found = [f"{context}: {form!r}" for context, message in _messages(ts) for form in _translations(message)
             if half_width_by_chinese(form)]
    assert not found, "use ，。：；？！（） between Chinese words:\n" + "\n".join(found)


def test_chinese_core_messages_use_full_width_punctuation():
    found = [f"{code}: {chinese!r}" for code, (chinese, _english) in MESSAGES.items() if half_width_by_chinese(chinese)]
    assert not found, "use ，。：；？！（） between Chinese words:\n" + "\n".join(found)


# Bare strings in ui/ -----------------------------------------------------------------------------------

def _name(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def _bare_texts(node: ast.expr | None) -> list[str]:
    """The literal text an expression shows as it is: string constants and f-string parts outside tr()."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.JoinedStr):
        return ["".join(v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str))]
    if isinstance(node, ast.BinOp):
        return _bare_texts(node.left) + _bare_texts(node.right)
    if isinstance(node, ast.IfExp):
        return _bare_texts(node.body) + _bare_texts(node.orelse)
    if isinstance(node, ast.BoolOp):
        return [text for value in node.values for text in _bare_texts(value)]
    if isinstance(node, ast.Call):
        if _name(node.func) in TRANSLATING:
            return []
        if isinstance(node.func, ast.Attribute) and node.func.attr in ("replace", "format", "strip", "upper"):
            return _bare_texts(node.func.value)  # "Text %1".replace(...) is as bare as "Text %1"
    return []


def _shown(text: str) -> bool:
    return any(ch.isalpha() for ch in text) and text not in LANGUAGE_SELF_NAMES


def bare_strings(source: str, filename: str = "<ui>") -> list[str]:
    """Places in `source` where a literal with letters reaches the screen without tr()."""
    found: list[str] = []

    def check(node: ast.expr | None, where: ast.AST, what: str) -> None:
        for text in _bare_texts(node):
            if _shown(text):
                found.append(f"{filename}:{where.lineno}: {what}({text!r})")

    tree = ast.parse(source, filename)
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name == "headerData":
            for inner in ast.walk(node):
                if isinstance(inner, ast.Return):
                    values = inner.value.elts if isinstance(inner.value, ast.Tuple | ast.List) else [inner.value]
                    if isinstance(inner.value, ast.Subscript) and isinstance(inner.value.value, ast.Tuple | ast.List):
                        values = inner.value.value.elts
                    for value in values:
                        check(value, inner, "headerData")
        if not isinstance(node, ast.Call):
            continue
        func, name = node.func, _name(node.func)
        positions: tuple[int, ...] = ()
        if isinstance(func, ast.Attribute) and (_name(func.value), name) in STATIC_TEXT:
            positions = STATIC_TEXT[(_name(func.value), name)]
        elif isinstance(func, ast.Attribute) and name in TEXT_METHODS:
            positions = TEXT_METHODS[name]
        elif isinstance(func, ast.Name) and name in TEXT_CONSTRUCTORS:
            positions = tuple(range(len(node.args)))
        for position in positions:
            if position < len(node.args):
                check(node.args[position], node, name)
        if name in TEXT_METHODS or name in TEXT_CONSTRUCTORS:
            for keyword in node.keywords:
                if keyword.arg in ("text", "title"):
                    check(keyword.value, node, name)
    return found


def test_the_scanner_finds_bare_strings():
    source = '''
label.setText("Hello")
label.setToolTip(f"{count} entries")
self.setWindowTitle("Steward — %1".replace("%1", name))
menu = bar.addMenu("&File")
button = QPushButton("&OK", self)
QMessageBox.warning(self, "Oops", message)
combo.setItemText(1, "Deutsch")
def headerData(self, section, orientation, role):
    return ("Code", self.tr("Name"))[section]
'''
    assert len(bare_strings(source)) == 8
    fine = '''
label.setText(self.tr("Hello"))
label.setText(f"{text} *" if required else text)
label.setText(" › ".join(names))
combo.setItemText(1, "中文")
combo.addItem("", key)
box.setObjectName("main_toolbar")
QLabel(message, self)
QMessageBox.warning(self, QCoreApplication.translate("app", "Oops"), message)
'''
    assert bare_strings(fine) == []


def test_no_bare_user_visible_strings_in_ui():
    found = [hit for path in sorted(UI.glob("*.py"))
             for hit in bare_strings(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))]
    assert not found, "wrap these in self.tr() or QCoreApplication.translate():\n" + "\n".join(found)


def test_a_retranslating_widget_retranslates_on_language_change_only(qtbot):
    class Label(Retranslating, QLabel):
        def retranslate(self) -> None:
            self.setText(f"{self.text()}+")

    label = Label()
    qtbot.addWidget(label)
    QApplication.sendEvent(label, QEvent(QEvent.Type.FontChange))
    assert label.text() == ""
    QApplication.sendEvent(label, QEvent(QEvent.Type.LanguageChange))
    assert label.text() == "+"
