"""Entries in and out: the catalogue template, spreadsheet import and export, DCAT-AP and data.json."""
