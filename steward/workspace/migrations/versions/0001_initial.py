"""Entries, data items, the change journal and workspace facts.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "meta",
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "entries",
        sa.Column("pk", sa.Integer, primary_key=True),
        sa.Column("id", sa.Text, nullable=False, unique=True),
        sa.Column("code", sa.Text, nullable=False, server_default=""),
        sa.Column("name", sa.Text, nullable=False, server_default=""),
        sa.Column("classification", sa.Text, nullable=False, server_default=""),
        sa.Column("provider", sa.Text, nullable=False, server_default=""),
        sa.Column("provider_code", sa.Text, nullable=False, server_default=""),
        sa.Column("abstract", sa.Text, nullable=False, server_default=""),
        sa.Column("format_category", sa.Text),
        sa.Column("format_type", sa.Text, nullable=False, server_default=""),
        sa.Column("sharing_type", sa.Text),
        sa.Column("sharing_conditions", sa.Text, nullable=False, server_default=""),
        sa.Column("sharing_method_category", sa.Text),
        sa.Column("sharing_method_type", sa.Text),
        sa.Column("open_type", sa.Text),
        sa.Column("open_conditions", sa.Text, nullable=False, server_default=""),
        sa.Column("update_frequency", sa.Text),
        sa.Column("published", sa.Text, nullable=False, server_default=""),
        sa.Column("related_codes", sa.Text, nullable=False, server_default="[]"),
        sa.Column("status", sa.Text, nullable=False, server_default="active"),
        sa.Column("version", sa.Integer, nullable=False, server_default="0"),
        sa.Column("revision", sa.Integer, nullable=False, server_default="0"),
        sa.Column("updated_at", sa.Text, nullable=False, server_default=""),
    )
    for column in ("code", "name", "classification", "sharing_type", "open_type", "update_frequency"):
        op.create_index(f"ix_entries_{column}", "entries", [column])
    op.create_table(
        "items",
        sa.Column("pk", sa.Integer, primary_key=True),
        sa.Column("id", sa.Text, nullable=False, unique=True),
        sa.Column("entry_pk", sa.Integer, sa.ForeignKey("entries.pk", ondelete="CASCADE"), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("name", sa.Text, nullable=False, server_default=""),
        sa.Column("data_type", sa.Text),
        sa.Column("length", sa.Integer),
        sa.Column("sharing_type", sa.Text),
        sa.Column("open_type", sa.Text),
    )
    op.create_index("ix_items_entry", "items", ["entry_pk", "position"])
    op.create_table(
        "operations",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("id", sa.Text, nullable=False, unique=True),
        sa.Column("group_id", sa.Text, nullable=False),
        sa.Column("entry_id", sa.Text, nullable=False),
        sa.Column("item_id", sa.Text),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("field", sa.Text),
        sa.Column("old_value", sa.Text),
        sa.Column("new_value", sa.Text),
        sa.Column("base_version", sa.Integer, nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("created_at", sa.Text, nullable=False),
        sa.Column("author", sa.Text, nullable=False, server_default=""),
        sa.Column("reason", sa.Text),
        sa.Column("state", sa.Text, nullable=False, server_default="pending"),
        sa.Column("undoes", sa.Text),
    )
    op.create_index("ix_operations_entry", "operations", ["entry_id", "seq"])
    op.create_index("ix_operations_state", "operations", ["state", "seq"])
    op.create_index("ix_operations_group", "operations", ["group_id"])
