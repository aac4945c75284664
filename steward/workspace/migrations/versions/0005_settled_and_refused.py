"""Local operations the exchange settled without our changeset, and entries it refused.

Another steward's changeset may settle a local operation: it brought the same value (merged)
or its value won (superseded). `settled_by` names that changeset and `settled_value` holds
(as JSON) what the exchange has, so the history says what became of the change.

`refusals` keeps, per entry, the exchange's reason for refusing it and the journal position the
refused changeset reached: the entry is held back, and the rest is sent, until it is edited again.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    with op.batch_alter_table("operations") as batch:
        batch.add_column(sa.Column("settled_by", sa.Text))
        batch.add_column(sa.Column("settled_value", sa.Text))
    op.create_table(
        "refusals",
        sa.Column("entry_id", sa.Text, primary_key=True),
        sa.Column("changeset_id", sa.Text, nullable=False),
        sa.Column("op_seq", sa.Integer, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("refused_at", sa.Text, nullable=False),
    )
