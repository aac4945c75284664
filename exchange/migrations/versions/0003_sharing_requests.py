"""Sharing requests (共享申请) and their signed steps, which take their places in the hash-chained log.

A step's record has a position in the same sequence as the changesets' (the `head` row counts both),
so the log is the changesets and the steps together, in position order. `sharing_requests` holds each
request's state as the state machine left it (steward/sync/requests/state.py), so a new step is
checked without replaying its request; `verify-log` replays the steps and compares.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    op.create_table(
        "sharing_requests",
        sa.Column("request_id", sa.Text, primary_key=True),
        sa.Column("requester", sa.Text, nullable=False),  # the using department
        sa.Column("provider", sa.Text, nullable=False),  # the entry's department when the request was made
        sa.Column("entry_id", sa.Text, nullable=False),
        sa.Column("entry_code", sa.Text, nullable=False),  # for the reviewer's list
        sa.Column("items", sa.Text, nullable=False),  # JSON list of data item ids
        sa.Column("until", sa.Text, nullable=False),  # YYYY-MM-DD
        sa.Column("conditional", sa.Boolean, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False),  # its last step's
        sa.Column("head", sa.Text, nullable=False),  # its last step's digest
        sa.Column("due", sa.Text),  # when the answer it waits for is due (China's date); NULL when none is awaited
        sa.Column("created_at", sa.Text, nullable=False),
        sa.Column("updated_at", sa.Text, nullable=False),
    )
    op.create_index("ix_sharing_requests_status", "sharing_requests", ["status", "due"])
    op.create_table(
        "sharing_steps",
        sa.Column("position", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("request_id", sa.Text, sa.ForeignKey("sharing_requests.request_id"), nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("key_id", sa.Text, nullable=False),
        sa.Column("department_code", sa.Text),  # NULL for a review or an outcome, which the exchange signs
        sa.Column("document", sa.Text, nullable=False),  # the whole step, canonical JSON
        sa.Column("sealed", sa.Text, nullable=False),  # its redacted form, for departments not party to it
        sa.Column("digest", sa.Text, nullable=False, unique=True),
        sa.Column("due", sa.Text),
        sa.Column("prev_hash", sa.Text, nullable=False),
        sa.Column("hash", sa.Text, nullable=False),
        sa.Column("accepted_at", sa.Text, nullable=False),
        sa.UniqueConstraint("request_id", "seq", name="uq_sharing_steps_request_seq"),
    )
