"""Edge adapters for orchestrators and versioning tools (never imported by the core)."""
