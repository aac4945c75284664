"""The open view: the entries the public may see, kept current as changesets land (exchange/opendata/view.py).

`open_datasets` holds each publishable entry, `open_documents` each version of it as published (its
不予开放 data items left out), `open_pieces` what it is served as in each form, written after the push that
made it; `open_history` the versions changes and removals replaced, for a while, so a harvest that
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
    # Its newest change (the ETags) and a snapshot's count. No index by code or department: every index here is
    # written for each open entry a push touches, and `entries` has those (the view joins to it for them).
    op.create_index("ix_open_datasets_position", "open_datasets", ["position"])
    # Each version's content, written once: a change adds a row here and moves only the small row above to
    # the history (copying documents there doubled what a push wrote).
    op.create_table(
        "open_documents",
        sa.Column("entry_id", sa.Text, primary_key=True),
        sa.Column("position", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("document", sa.Text, nullable=False),  # the entry as published (JSON)
    )
    # What each version is written as, one row per form (ttl, jsonld, rdf, datajson): a page reads only its
    # form's rows, not every form and the document (a page of 1,000 read ~10 MB when they shared one row).
    op.create_table(
        "open_pieces",
        sa.Column("entry_id", sa.Text, primary_key=True),
        sa.Column("position", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("form", sa.Text, primary_key=True),
        sa.Column("rendered_for", sa.Text, nullable=False),  # the serve options it was written for
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("shared", sa.Text, nullable=False),  # the ids of the shared nodes it names, space-separated
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
    op.create_index("ix_open_history_stamp", "open_history", ["superseded_stamp"])  # what to forget
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
