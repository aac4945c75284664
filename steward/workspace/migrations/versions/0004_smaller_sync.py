"""Data item ids unique within their entry; the exchange's copy of an entry may be "the entry itself".

Both make a first sync write less.

A unique index on the item id alone (random UUIDs) sent every item insert to a random page of
that index: a first sync of 100,000 entries rewrote most of it after every transaction. Keyed by
(entry, id), the items of a new entry land together at the end of the index. Every lookup of an
item knows its entry.

A server_entries row without a document stands for the entry as stored: an entry pulled from the
exchange and not changed here was stored twice, once as the entry and once as the exchange's copy.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"

COLUMNS = "pk, id, entry_pk, position, name, data_type, length, sharing_type, open_type"


def upgrade() -> None:
    # SQLite cannot drop a table's UNIQUE constraint: the table is rebuilt with the new one.
    op.create_table(
        "items_new",
        sa.Column("pk", sa.Integer, primary_key=True),
        sa.Column("id", sa.Text, nullable=False),
        sa.Column("entry_pk", sa.Integer, sa.ForeignKey("entries.pk", ondelete="CASCADE"), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("name", sa.Text, nullable=False, server_default=""),
        sa.Column("data_type", sa.Text),
        sa.Column("length", sa.Integer),
        sa.Column("sharing_type", sa.Text),
        sa.Column("open_type", sa.Text),
        sa.UniqueConstraint("entry_pk", "id"),
    )
    op.execute(f"INSERT INTO items_new ({COLUMNS}) SELECT {COLUMNS} FROM items")
    op.execute("DROP TABLE items")
    op.execute("ALTER TABLE items_new RENAME TO items")
    op.create_index("ix_items_entry", "items", ["entry_pk", "position"])
    # Likewise for a column that may now be NULL.
    op.create_table(
        "server_entries_new",
        sa.Column("entry_id", sa.Text, primary_key=True),
        sa.Column("department_code", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("document", sa.Text),
    )
    op.execute("INSERT INTO server_entries_new SELECT entry_id, department_code, version, document FROM server_entries")
    op.execute("DROP TABLE server_entries")
    op.execute("ALTER TABLE server_entries_new RENAME TO server_entries")

