"""Sync: the exchange's copy of each entry, the outbox of signed changesets, conflicts, and where operations came from.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    # The entry as the exchange last had it: the base of every local change and of three-way merges.
    op.create_table(
        "server_entries",
        sa.Column("entry_id", sa.Text, primary_key=True),
        sa.Column("department_code", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("document", sa.Text, nullable=False),
    )
    # Signed changesets, kept from before they are sent until the exchange's receipt arrives.
    op.create_table(
        "outbox",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("entry_ids", sa.Text, nullable=False),
        sa.Column("op_seq", sa.Integer, nullable=False),  # the journal's last operation it carries
        sa.Column("state", sa.Text, nullable=False),  # ready, accepted, refused
        sa.Column("created_at", sa.Text, nullable=False),
        sa.Column("receipt", sa.Text),
        sa.Column("error", sa.Text),
    )
    op.create_index("ix_outbox_state", "outbox", ["state", "seq"])
    op.create_table(
        "conflicts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("entry_id", sa.Text, nullable=False),
        sa.Column("field", sa.Text, nullable=False),
        sa.Column("item_id", sa.Text),
        sa.Column("base", sa.Text),
        sa.Column("mine", sa.Text),
        sa.Column("theirs", sa.Text),
        sa.Column("changeset_id", sa.Text),
        sa.Column("created_at", sa.Text, nullable=False),
        sa.Column("resolved_at", sa.Text),
    )
    op.create_index("ix_conflicts_entry", "conflicts", ["entry_id", "resolved_at"])
    with op.batch_alter_table("operations") as batch:
        batch.add_column(sa.Column("origin", sa.Text, nullable=False, server_default="local"))
        batch.add_column(sa.Column("changeset_id", sa.Text))
        batch.add_column(sa.Column("key_id", sa.Text))
        batch.add_column(sa.Column("department_code", sa.Text))
        batch.add_column(sa.Column("verified", sa.Integer))
