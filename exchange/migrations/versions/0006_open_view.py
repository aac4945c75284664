"""The open view: the entries the public may see, kept current as changesets land (exchange/opendata/view.py).

`open_datasets` holds each publishable entry, `open_documents` each version of it as published (its
不予开放 data items left out) with the pieces its formats are served from, rendered after the push that
wrote it; `open_history` the versions changes and removals replaced, for a while, so a harvest that
follows its pages reads one snapshot; `open_removed` one tombstone per entry that left the open
catalogue. The view is filled here from the entries already on the exchange.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"


def _dataset_columns() -> list[sa.Column]:
    return [
        sa.Column("department_code", sa.Text, nullable=False),
        sa.Column("code", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("open_type", sa.Text, nullable=False),
        sa.Column("modified", sa.Text, nullable=False),  # when the push that last changed it was accepted
    ]


def upgrade() -> None:
    op.create_table(
        "open_datasets",
        sa.Column("entry_id", sa.Text, primary_key=True),
        sa.Column("position", sa.BigInteger, nullable=False),  # the log position that last changed it
        *_dataset_columns(),
    )
    op.create_index("ix_open_datasets_position", "open_datasets", ["position"])
    op.create_index("ix_open_datasets_department", "open_datasets", ["department_code", "entry_id"])
    op.create_index("ix_open_datasets_code", "open_datasets", ["code"])
    # Each version's content, written once: a change adds a row here and moves only the small row above to
    # the history (copying documents there doubled what a push wrote).
    op.create_table(
        "open_documents",
        sa.Column("entry_id", sa.Text, primary_key=True),
        sa.Column("position", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("document", sa.Text, nullable=False),  # the entry as published (JSON)
        # Pieces rendered from it (NULL until rendered, or rendered for other serve options than `rendered_for`).
        sa.Column("rendered_for", sa.Text),
        sa.Column("ttl", sa.Text),  # its own nodes (dataset, distribution) in Turtle
        sa.Column("jsonld", sa.Text),  # the same as JSON-LD node objects, comma-separated
        sa.Column("rdfxml", sa.Text),  # the same as RDF/XML elements
        sa.Column("datajson", sa.Text),  # its data.json dataset object
        sa.Column("shared", sa.Text),  # JSON list of the ids of the shared nodes it refers to (concepts, agents)
    )
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        # lz4 compresses a document in half the time of PostgreSQL's default (pglz): a push of thousands of open
        # entries writes as many documents here. Where the server lacks lz4, the default stays.
        try:
            with bind.begin_nested():
                bind.exec_driver_sql("ALTER TABLE open_documents ALTER COLUMN document SET COMPRESSION lz4")
        except sa.exc.DBAPIError:
            pass
    op.create_table(
        "open_history",
        sa.Column("entry_id", sa.Text, primary_key=True),
        sa.Column("position", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("superseded_at", sa.BigInteger, nullable=False),  # the position that changed or removed it
        sa.Column("superseded_stamp", sa.Text, nullable=False),
        *_dataset_columns(),
    )
    op.create_index("ix_open_history_superseded", "open_history", ["superseded_at"])
    op.create_index("ix_open_history_stamp", "open_history", ["superseded_stamp"])
    op.create_table(
        "open_removed",
        sa.Column("entry_id", sa.Text, primary_key=True),
        sa.Column("department_code", sa.Text, nullable=False),
        sa.Column("code", sa.Text, nullable=False),
        sa.Column("removed_at", sa.BigInteger, nullable=False),
        sa.Column("removed_stamp", sa.Text, nullable=False),
    )
    op.create_index("ix_open_removed_position", "open_removed", ["removed_at"])
    from exchange.opendata import view  # the one place that decides what the view holds

    view.fill(bind)
