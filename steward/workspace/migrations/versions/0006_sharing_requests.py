"""Sharing requests (共享申请): the requests the log has brought, their signed steps, and the steps to send.

`sharing_requests` holds each request as the state machine left it after the steps pulled so far: for a
request of which this department is a party (it asked, or it provides) everything, from whole steps;
for any other request only what its redacted steps show (its chain: `seq` and `head`), enough to check
the next one. `sharing_steps` keeps every step as the feed served it (whole or redacted) with the
exchange's stamp and due date: the request's signed trail. `sharing_outbox` keeps the steps signed here,
stored before they are sent and settled by the exchange's answer, like the changesets' outbox.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    op.create_table(
        "sharing_requests",
        sa.Column("request_id", sa.Text, primary_key=True),
        sa.Column("party", sa.Integer, nullable=False),  # whether this department receives its steps whole
        sa.Column("requester", sa.Text, nullable=False),  # the department that signed the request
        sa.Column("provider", sa.Text),  # NULL where only redacted steps were received
        sa.Column("entry_id", sa.Text),
        sa.Column("entry_code", sa.Text),
        sa.Column("items", sa.Text),  # JSON list of data item ids
        sa.Column("until", sa.Text),  # YYYY-MM-DD
        sa.Column("conditional", sa.Integer),
        sa.Column("status", sa.Text),
        sa.Column("purpose", sa.Text),
        sa.Column("scenario", sa.Text),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("head", sa.Text, nullable=False),  # the last step's digest
        sa.Column("due", sa.Text),  # when the answer it waits for is due (China's date), from the exchange's stamp
        sa.Column("created_at", sa.Text, nullable=False),  # the exchange's stamp of the request
        sa.Column("updated_at", sa.Text, nullable=False),  # … and of its last step
    )
    op.create_index("ix_sharing_requests_provider", "sharing_requests", ["provider", "due"])
    op.create_index("ix_sharing_requests_requester", "sharing_requests", ["requester", "due"])
    op.create_table(
        "sharing_steps",
        sa.Column("request_id", sa.Text, sa.ForeignKey("sharing_requests.request_id"), primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True),
        sa.Column("position", sa.Integer, nullable=False),  # its place in the exchange's log
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("key_id", sa.Text, nullable=False),
        sa.Column("department", sa.Text),  # NULL: signed by the exchange (the data authority)
        sa.Column("document", sa.Text, nullable=False),  # the step as served: whole, or redacted
        sa.Column("digest", sa.Text, nullable=False),
        sa.Column("due", sa.Text),
        sa.Column("accepted_at", sa.Text, nullable=False),
    )
    op.create_table(
        "sharing_outbox",
        sa.Column("digest", sa.Text, primary_key=True),
        sa.Column("request_id", sa.Text, nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("document", sa.Text, nullable=False),  # the whole signed step
        sa.Column("state", sa.Text, nullable=False),  # ready (answer unknown), accepted, refused
        sa.Column("error", sa.Text),  # the exchange's refusal (JSON), for a refused step
        sa.Column("created_at", sa.Text, nullable=False),
        sa.Column("settled_at", sa.Text),
    )
    op.create_index("ix_sharing_outbox_state", "sharing_outbox", ["state", "created_at"])
