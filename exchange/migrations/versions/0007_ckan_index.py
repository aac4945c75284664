"""The CKAN channel's search index over the open view (exchange/opendata/ckan_index.py).

`ckan_packages` holds one narrow row per open dataset with the columns `package_search` filters and sorts
on, each indexed; `ckan_tags` its tags. Filled here from the open view as it stands.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
import sqlalchemy.dialects.postgresql
from alembic import op

revision = "0007"
down_revision = "0006"


def upgrade() -> None:
    op.create_table(
        "ckan_packages",
        # A number for the row, its key: SQLite's rowid (INTEGER PRIMARY KEY), so that the tags' and the text index's
        # lookups land on rows by rowid. Integer, not BigInteger, for that: a new number per indexed version.
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("entry_id", sa.Text, nullable=False),
        sa.Column("position", sa.BigInteger, nullable=False),  # the view's version of it that is indexed
        sa.Column("department_code", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),  # the CKAN name, from the resource code
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("res_format", sa.Text, nullable=False),
        sa.Column("modified", sa.Text, nullable=False),  # the view's stamp: metadata_modified
        sa.Column("created", sa.Text, nullable=False),  # when the index first saw it published: metadata_created
        sa.Column("search", sa.Text, nullable=False),  # casefolded text a free-text query looks in
    )
    op.create_index("ix_ckan_packages_entry", "ckan_packages", ["entry_id"], unique=True)
    bind = op.get_bind()
    # The pairs of neighbouring characters of `search`, by which free text is looked up (ckan_index.grams).
    if bind.dialect.name == "postgresql":
        op.add_column("ckan_packages", sa.Column("grams", sa.dialects.postgresql.ARRAY(sa.Text), nullable=False))
        op.execute("CREATE INDEX ix_ckan_packages_grams ON ckan_packages USING gin (grams)")
    else:
        op.execute("CREATE VIRTUAL TABLE ckan_grams USING fts5(g, content='', tokenize='ascii')")
    # One index per sort, each ending in entry_id, the tie-breaker that keeps start/rows paging stable.
    op.create_index("ix_ckan_packages_name", "ckan_packages", ["name", "entry_id"])
    op.create_index("ix_ckan_packages_modified", "ckan_packages", ["modified", "entry_id"])
    op.create_index("ix_ckan_packages_created", "ckan_packages", ["created", "entry_id"])
    op.create_index("ix_ckan_packages_title", "ckan_packages", ["title", "entry_id"])
    op.create_index("ix_ckan_packages_department", "ckan_packages", ["department_code", "modified", "entry_id"])
    op.create_index("ix_ckan_packages_format", "ckan_packages", ["res_format", "modified", "entry_id"])
    op.create_table(
        "ckan_tags",
        sa.Column("tag", sa.Text, primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),  # ckan_packages.seq
    )
    op.create_index("ix_ckan_tags_seq", "ckan_tags", ["seq"])
    # Each row's package dict as JSON, written for the serve options `options` names (ckan_index.Options.key),
    # after the row: a page of 1,000 is then put together, not built (~0.4 ms a package).
    op.create_table(
        "ckan_documents",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),  # ckan_packages.seq
        sa.Column("options", sa.Text, nullable=False),
        sa.Column("package", sa.Text, nullable=False),
    )
    from exchange.opendata import ckan_index  # the one place that decides what the index holds

    ckan_index.fill(bind)
