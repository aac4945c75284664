"""The departments' names, as the exchange vouches for them: the lists say who asked whom by name, not by code.

`departments` holds each registered department's code and name from the exchange's signed list
(`GET /v1/departments`, refreshed at each sync); a code not in it is shown as it is.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"


def upgrade() -> None:
    op.create_table(
        "departments",
        sa.Column("code", sa.Text, primary_key=True),  # 统一社会信用代码
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("updated_at", sa.Text, nullable=False),  # the sync that last brought it
    )
