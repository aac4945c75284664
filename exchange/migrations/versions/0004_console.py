"""The console: accounts, their login throttle and sessions, the administration log, enrollment requests,
and the catalogue's figures as columns.

`entries` gains the columns the console counts and searches by (name, sharing type, open type, update
frequency), filled from each entry's document, so that the overview and the search run in SQL
instead of parsing every document.

Revision ID: 0004
Revises: 0003
"""

import json

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"

FIGURES = ("name", "sharing_type", "open_type", "update_frequency")


def upgrade() -> None:
    op.create_table(
        "console_accounts",
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("role", sa.Text, nullable=False),  # admin or reviewer
        sa.Column("password_hash", sa.Text, nullable=False),  # Argon2id, in argon2's encoded form
        sa.Column("totp_secret", sa.Text),  # base32; NULL while the second factor is off
        sa.Column("created_at", sa.Text, nullable=False),
        sa.Column("disabled_at", sa.Text),
        sa.Column("failures", sa.Integer, nullable=False, server_default="0"),  # wrong passwords in a row
        sa.Column("locked_until", sa.Text),
    )
    op.create_table(
        "console_address_failures",
        sa.Column("address", sa.Text, primary_key=True),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("window_start", sa.Text, nullable=False),
        sa.Column("locked_until", sa.Text),
    )
    op.create_table(
        "console_sessions",
        sa.Column("token_sha256", sa.Text, primary_key=True),  # the cookie's token is never stored
        sa.Column("account", sa.Text, sa.ForeignKey("console_accounts.name"), nullable=False),
        sa.Column("csrf", sa.Text, nullable=False),
        sa.Column("created_at", sa.Text, nullable=False),
        sa.Column("last_seen", sa.Text, nullable=False),
    )
    op.create_table(
        "admin_records",
        sa.Column("position", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("account", sa.Text, nullable=False),
        sa.Column("details", sa.Text, nullable=False),  # canonical JSON
        sa.Column("recorded_at", sa.Text, nullable=False),
        sa.Column("prev_hash", sa.Text, nullable=False),
        sa.Column("hash", sa.Text, nullable=False),
        sa.Column("signature", sa.Text, nullable=False),
    )
    op.create_table(
        "enrollment_requests",
        sa.Column("key_id", sa.Text, primary_key=True),
        sa.Column("department_code", sa.Text, sa.ForeignKey("departments.code"), nullable=False),
        sa.Column("public_key", sa.Text, nullable=False),
        sa.Column("steward", sa.Text, nullable=False),
        sa.Column("document", sa.Text, nullable=False),  # the signed request as received
        sa.Column("requested_at", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),  # pending, approved or declined
        sa.Column("decided_at", sa.Text),
        sa.Column("decided_by", sa.Text),
    )
    op.create_index("ix_enrollment_requests_department", "enrollment_requests", ["department_code", "status"])
    with op.batch_alter_table("entries") as batch:
        for column in FIGURES:
            batch.add_column(sa.Column(column, sa.Text, nullable=False, server_default=""))
    op.create_index("ix_entries_name", "entries", ["name"])
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT id, document FROM entries")).all()
    updates = []
    for entry_id, document in rows:
        values = json.loads(document)
        updates.append({"id": entry_id, **{c: values.get(c) or "" for c in FIGURES}})
    if updates:
        bind.execute(sa.text("UPDATE entries SET name = :name, sharing_type = :sharing_type, open_type = :open_type, "
                             "update_frequency = :update_frequency WHERE id = :id"), updates)
