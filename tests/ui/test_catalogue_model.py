"""The catalogue table model: pks from SQL, rows fetched by page, sorting and filtering in SQL."""

from __future__ import annotations

from PySide6.QtCore import Qt

from steward.workspace import journal, query
from steward.workspace.journal import SetField
from steward.workspace.query import EntryFilter
from ui.catalogue_model import PAGE, CatalogueModel, EntryIdRole
from ui.classification_tree import ClassificationTree


def loaded(qtbot, model: CatalogueModel) -> CatalogueModel:
    with qtbot.waitSignal(model.loaded, timeout=10000):
        model.reload()
    return model


def test_model_passes_qt_model_tester(qtbot, qtmodeltester, session):
    model = loaded(qtbot, CatalogueModel(session))
    assert model.rowCount() == 60
    qtmodeltester.check(model)


def test_rows_match_the_workspace_in_code_order(qtbot, session):
    model = loaded(qtbot, CatalogueModel(session))
    with session.workspace.reading() as conn:
        expected = [r.code for r in query.rows(conn, query.entry_pks(conn, EntryFilter()))]
    shown = [model.index(row, CatalogueModel.CODE).data() for row in range(model.rowCount())]
    assert shown == expected
    assert shown == sorted(shown)


def test_sorting_by_a_column_reorders_in_sql(qtbot, session):
    model = loaded(qtbot, CatalogueModel(session))
    with qtbot.waitSignal(model.loaded, timeout=10000):
        model.sort(CatalogueModel.NAME, Qt.SortOrder.DescendingOrder)
    names = [model.index(row, CatalogueModel.NAME).data() for row in range(model.rowCount())]
    assert names == sorted(names, reverse=True)


def test_filter_and_search_restrict_rows(qtbot, session):
    model = loaded(qtbot, CatalogueModel(session))
    with qtbot.waitSignal(model.loaded, timeout=10000):
        model.set_filter(EntryFilter(sharing_types=frozenset({"not_shared"})))
    assert 0 < model.rowCount() < 60
    session.language = "zh"
    assert {model.index(r, CatalogueModel.SHARING).data() for r in range(model.rowCount())} == {"不予共享"}
    with qtbot.waitSignal(model.loaded, timeout=10000):
        model.set_filter(EntryFilter(text="公民身份号码"))
    with session.workspace.reading() as conn:
        assert model.rowCount() == query.count(conn, EntryFilter(text="公民身份号码")) > 0


def test_rows_are_fetched_a_page_at_a_time(qtbot, session):
    # Grow the catalogue past two pages, then check only the touched page is cached.
    from steward import sample

    department = sample.department_for(session.workspace.department_code, session.workspace.department_name)
    extra = list(sample.generate(department, PAGE * 2, seed=9, first_sequence=5000))
    journal.apply(session.workspace, [journal.CreateEntry(e) for e in extra])
    model = loaded(qtbot, CatalogueModel(session))
    assert model.rowCount() == 60 + PAGE * 2
    assert len(model._pages) == 0
    model.index(PAGE + 3, 0).data()
    assert list(model._pages) == [1]


def test_an_edit_refreshes_the_cached_row(qtbot, session):
    model = loaded(qtbot, CatalogueModel(session))
    entry_id = model.index(0, 0).data(EntryIdRole)
    with qtbot.waitSignal(model.dataChanged, timeout=5000):
        session.apply([SetField(entry_id, "name", "新名称测试")], "rename")
    assert model.index(0, CatalogueModel.NAME).data() == "新名称测试"


def test_classification_tree_counts_and_chooses_prefix(qtbot, session):
    tree = ClassificationTree(session)
    qtbot.addWidget(tree)
    qtbot.waitUntil(lambda: tree.tree_model.rowCount() == 1 and tree.tree_model.item(0).rowCount() == 3)
    root = tree.tree_model.item(0)
    assert "60" in root.text()
    with qtbot.waitSignal(tree.prefix_chosen) as chosen:
        tree.setCurrentIndex(root.child(1).index())
    assert chosen.args == ["2"]
