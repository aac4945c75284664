"""Full-text search (trigram + character-pair indexes), stored problems and the unsynced marker.

The indexes start empty: the workspace sees that its index version is missing and rebuilds
them from the entries, so this migration never needs the current tokenizer's code.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    with op.batch_alter_table("entries") as batch:
        batch.add_column(sa.Column("dirty", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("problem_count", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("error_count", sa.Integer, nullable=False, server_default="0"))
    op.create_table(
        "problems",
        sa.Column("entry_pk", sa.Integer, sa.ForeignKey("entries.pk", ondelete="CASCADE"), nullable=False),
        sa.Column("item_id", sa.Text),
        sa.Column("field", sa.Text, nullable=False),
        sa.Column("code", sa.Text, nullable=False),
        sa.Column("severity", sa.Text, nullable=False),
        sa.Column("params", sa.Text, nullable=False, server_default="{}"),
    )
    op.create_index("ix_problems_entry", "problems", ["entry_pk"])
    op.execute("CREATE VIRTUAL TABLE search_tri USING fts5(text, tokenize='trigram')")
    op.execute(
        "CREATE VIRTUAL TABLE search_bi USING fts5(tokens, content='', tokenize='unicode61 remove_diacritics 0')"
    )
    # Entries that existed before are marked unsynced only if the journal says so.
    op.execute("UPDATE entries SET dirty = 1 WHERE id IN (SELECT entry_id FROM operations WHERE state = 'pending')")
    op.execute("DELETE FROM meta WHERE key = 'index_version'")
