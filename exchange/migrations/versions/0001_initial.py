"""Departments, enrolled keys, the catalogue, the changeset log with its hash chain, and the head.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "exchange_meta",
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "departments",
        sa.Column("code", sa.Text, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("created_at", sa.Text, nullable=False),
    )
    op.create_table(
        "steward_keys",
        sa.Column("key_id", sa.Text, primary_key=True),
        sa.Column("department_code", sa.Text, sa.ForeignKey("departments.code"), nullable=False),
        sa.Column("public_key", sa.Text, nullable=False),
        sa.Column("steward", sa.Text, nullable=False, server_default=""),
        sa.Column("enrolled_at", sa.Text, nullable=False),
        sa.Column("revoked_at", sa.Text),
        sa.Column("last_seq", sa.BigInteger, nullable=False, server_default="0"),
    )
    op.create_table(
        "entries",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("department_code", sa.Text, nullable=False),
        sa.Column("code", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("document", sa.Text, nullable=False),
        sa.Column("position", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.Text, nullable=False),
    )
    op.create_index("ix_entries_code", "entries", ["code"])
    op.create_index("ix_entries_department", "entries", ["department_code"])
    op.create_table(
        "changesets",
        sa.Column("position", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("id", sa.Text, nullable=False, unique=True),
        sa.Column("key_id", sa.Text, sa.ForeignKey("steward_keys.key_id"), nullable=False),
        sa.Column("department_code", sa.Text, nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("sha256", sa.Text, nullable=False),
        sa.Column("versions", sa.Text, nullable=False),
        sa.Column("prev_hash", sa.Text, nullable=False),
        sa.Column("hash", sa.Text, nullable=False),
        sa.Column("accepted_at", sa.Text, nullable=False),
        sa.Column("receipt", sa.Text, nullable=False),
        sa.UniqueConstraint("key_id", "seq", name="uq_changesets_key_seq"),
    )
    op.create_table(
        "head",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("position", sa.BigInteger, nullable=False),
        sa.Column("hash", sa.Text, nullable=False),
    )
    op.execute("INSERT INTO head(id, position, hash) VALUES (1, 0, '" + "0" * 64 + "')")
