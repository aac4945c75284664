"""The workspace's tables as the newest migration must leave them (SQLAlchemy Core): what test_migrations checks."""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, Integer, MetaData, Table, Text, UniqueConstraint

metadata = MetaData()

meta = Table(
    "meta",
    metadata,
    Column("key", Text, primary_key=True),
    Column("value", Text, nullable=False),
)

entries = Table(
    "entries",
    metadata,
    # Integer key for joins and for the search index's rowid; `id` is the stable identity.
    Column("pk", Integer, primary_key=True),
    Column("id", Text, nullable=False, unique=True),
    Column("code", Text, nullable=False, server_default=""),
    Column("name", Text, nullable=False, server_default=""),
    Column("classification", Text, nullable=False, server_default=""),
    Column("provider", Text, nullable=False, server_default=""),
    Column("provider_code", Text, nullable=False, server_default=""),
    Column("abstract", Text, nullable=False, server_default=""),
    Column("format_category", Text),
    Column("format_type", Text, nullable=False, server_default=""),
    Column("sharing_type", Text),
    Column("sharing_conditions", Text, nullable=False, server_default=""),
    Column("sharing_method_category", Text),
    Column("sharing_method_type", Text),
    Column("open_type", Text),
    Column("open_conditions", Text, nullable=False, server_default=""),
    Column("update_frequency", Text),
    Column("published", Text, nullable=False, server_default=""),
    Column("related_codes", Text, nullable=False, server_default="[]"),  # JSON list
    Column("status", Text, nullable=False, server_default="active"),
    Column("version", Integer, nullable=False, server_default="0"),
    Column("revision", Integer, nullable=False, server_default="0"),
    Column("updated_at", Text, nullable=False, server_default=""),
    Column("dirty", Integer, nullable=False, server_default="0"),  # has changes not yet synced
    Column("problem_count", Integer, nullable=False, server_default="0"),
    Column("error_count", Integer, nullable=False, server_default="0"),
    Index("ix_entries_code", "code"),
    Index("ix_entries_name", "name"),
    Index("ix_entries_classification", "classification"),
    Index("ix_entries_sharing_type", "sharing_type"),
    Index("ix_entries_open_type", "open_type"),
    Index("ix_entries_update_frequency", "update_frequency"),
)

items = Table(
    "items",
    metadata,
    Column("pk", Integer, primary_key=True),
    Column("id", Text, nullable=False),
    Column("entry_pk", Integer, ForeignKey("entries.pk", ondelete="CASCADE"), nullable=False),
    Column("position", Integer, nullable=False),
    Column("name", Text, nullable=False, server_default=""),
    Column("data_type", Text),
    Column("length", Integer),
    Column("sharing_type", Text),
    Column("open_type", Text),
    Index("ix_items_entry", "entry_pk", "position"),
    UniqueConstraint("entry_pk", "id"),  # an item id is unique within its entry (0004)
)

operations = Table(
    "operations",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("id", Text, nullable=False, unique=True),
    Column("group_id", Text, nullable=False),
    Column("entry_id", Text, nullable=False),
    Column("item_id", Text),
    Column("kind", Text, nullable=False),
    Column("field", Text),
    Column("old_value", Text),  # JSON
    Column("new_value", Text),  # JSON
    Column("base_version", Integer, nullable=False),
    Column("revision", Integer, nullable=False),
    Column("created_at", Text, nullable=False),
    Column("author", Text, nullable=False, server_default=""),
    Column("reason", Text),
    Column("state", Text, nullable=False, server_default="pending"),
    Column("undoes", Text),  # the group this group reverts, if it is an undo
    Column("origin", Text, nullable=False, server_default="local"),  # local, or remote (from the exchange)
    Column("changeset_id", Text),  # for remote operations: the changeset, its key and department,
    Column("key_id", Text),
    Column("department_code", Text),
    Column("verified", Integer),  # and whether its signature verified
    Column("settled_by", Text),  # merged or superseded: the changeset that settled a local operation (0005)
    Column("settled_value", Text),  # JSON: what the exchange has for it
    Index("ix_operations_entry", "entry_id", "seq"),
    Index("ix_operations_state", "state", "seq"),
    Index("ix_operations_group", "group_id"),
)

problems = Table(
    "problems",
    metadata,
    Column("entry_pk", Integer, ForeignKey("entries.pk", ondelete="CASCADE"), nullable=False),
    Column("item_id", Text),
    Column("field", Text, nullable=False),
    Column("code", Text, nullable=False),
    Column("severity", Text, nullable=False),
    Column("params", Text, nullable=False, server_default="{}"),  # JSON
    Index("ix_problems_entry", "entry_pk"),
)

# Full-text tables are FTS5 virtual tables, created by the migrations in SQL:
#   search_tri(text)   trigram tokenizer: substrings of 3+ characters
#   search_bi(tokens)  contentless; the text's single characters and character pairs
FTS_TABLES = ("search_tri", "search_bi")

server_entries = Table(
    "server_entries",
    metadata,
    Column("entry_id", Text, primary_key=True),
    Column("department_code", Text, nullable=False),
    Column("version", Integer, nullable=False),
    Column("document", Text),  # JSON, as changeset.entry_document; NULL: the same as the entry (0004)
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", Text, primary_key=True),
    Column("seq", Integer, nullable=False),
    Column("body", Text, nullable=False),  # the signed changeset, canonical JSON
    Column("entry_ids", Text, nullable=False),  # JSON list
    Column("op_seq", Integer, nullable=False),
    Column("state", Text, nullable=False),
    Column("created_at", Text, nullable=False),
    Column("receipt", Text),
    Column("error", Text),
    Index("ix_outbox_state", "state", "seq"),
)

conflicts = Table(
    "conflicts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("entry_id", Text, nullable=False),
    Column("field", Text, nullable=False),
    Column("item_id", Text),
    Column("base", Text),
    Column("mine", Text),
    Column("theirs", Text),
    Column("changeset_id", Text),
    Column("created_at", Text, nullable=False),
    Column("resolved_at", Text),
    Index("ix_conflicts_entry", "entry_id", "resolved_at"),
)

refusals = Table(
    "refusals",
    metadata,
    Column("entry_id", Text, primary_key=True),
    Column("changeset_id", Text, nullable=False),
    Column("op_seq", Integer, nullable=False),  # the journal position the refused changeset reached
    Column("reason", Text, nullable=False),  # the exchange's words
    Column("refused_at", Text, nullable=False),
)

sharing_requests = Table(
    "sharing_requests",
    metadata,
    Column("request_id", Text, primary_key=True),
    Column("party", Integer, nullable=False),  # 1: this department receives its steps whole (0006)
    Column("requester", Text, nullable=False),
    Column("provider", Text),
    Column("entry_id", Text),
    Column("entry_code", Text),
    Column("items", Text),  # JSON list
    Column("until", Text),
    Column("conditional", Integer),
    Column("status", Text),
    Column("purpose", Text),
    Column("scenario", Text),
    Column("seq", Integer, nullable=False),
    Column("head", Text, nullable=False),
    Column("due", Text),
    Column("created_at", Text, nullable=False),
    Column("updated_at", Text, nullable=False),
    Index("ix_sharing_requests_provider", "provider", "due"),
    Index("ix_sharing_requests_requester", "requester", "due"),
)

sharing_steps = Table(
    "sharing_steps",
    metadata,
    Column("request_id", Text, ForeignKey("sharing_requests.request_id"), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("position", Integer, nullable=False),
    Column("kind", Text, nullable=False),
    Column("key_id", Text, nullable=False),
    Column("department", Text),
    Column("document", Text, nullable=False),  # as the feed served it: whole, or redacted
    Column("digest", Text, nullable=False),
    Column("due", Text),
    Column("accepted_at", Text, nullable=False),
)

sharing_outbox = Table(
    "sharing_outbox",
    metadata,
    Column("digest", Text, primary_key=True),
    Column("request_id", Text, nullable=False),
    Column("seq", Integer, nullable=False),
    Column("document", Text, nullable=False),
    Column("state", Text, nullable=False),
    Column("error", Text),
    Column("created_at", Text, nullable=False),
    Column("settled_at", Text),
    Index("ix_sharing_outbox_state", "state", "created_at"),
)

departments = Table(
    "departments",
    metadata,
    Column("code", Text, primary_key=True),
    Column("name", Text, nullable=False),  # as the exchange signed it (0007)
    Column("updated_at", Text, nullable=False),
)
