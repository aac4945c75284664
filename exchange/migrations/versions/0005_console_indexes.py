"""Indexes that hold what the console's overview and catalogue search read, so they never read the rows.

An `entries` row holds the entry's document (~3 kB: overflow pages) before the columns 0004 added, and a
`changesets` row its whole body before `accepted_at`: a query reading those columns from the rows walks
every document. On 100,000 entries the overview took ~400 ms and a search ~130 ms; with these
indexes, ~30 ms and ~20 ms (bench/console.py).

Revision ID: 0005
Revises: 0004
"""

from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    # The overview's counts by sharing and open type, and its overdue count by frequency and last change.
    op.create_index("ix_entries_figures", "entries",
                    ["status", "department_code", "sharing_type", "open_type", "update_frequency", "updated_at"])
    # Each department's last push.
    op.create_index("ix_changesets_department", "changesets", ["department_code", "accepted_at"])
    # The search: matched on name and code, paged in code order, joined to its department.
    op.create_index("ix_entries_search", "entries", ["code", "id", "name", "department_code"])
