"""The exchange's web console for the data authority (served at /console)."""
