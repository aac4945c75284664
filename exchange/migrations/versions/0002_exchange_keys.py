"""The exchange's own keys: the one the database was created with, and each rotation since.

`serve` compares its key file with the newest row and refuses another key, so a database is never
served, by accident, with a key its clients have not pinned. A rotation (`steward-exchange
rotate-key`) adds a row carrying the statement, signed by the previous key, that names the new one.
A database made before this revision records the key it is next served with.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.create_table(
        "exchange_keys",
        sa.Column("position", sa.Integer, primary_key=True, autoincrement=False),  # 1 = the key at creation
        sa.Column("public_key", sa.Text, nullable=False, unique=True),
        sa.Column("fingerprint", sa.Text, nullable=False),
        sa.Column("recorded_at", sa.Text, nullable=False),
        sa.Column("statement", sa.Text),  # the rotation statement naming this key (JSON); NULL for the first
    )
