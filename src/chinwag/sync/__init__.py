"""A persistent Sync engine: documents, lists and maps with per-object event logs."""
