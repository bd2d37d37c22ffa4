"""Security tests: one file per threat of issue 12 (see README.md)."""
