"""Platform-wide settings kept in the database (e.g. whether the demo data is loaded)."""
