"""Where entries live: the SQLite workspace, its store and migrations, the change journal, reading and search."""
