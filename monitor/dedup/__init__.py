"""Exact copies: the keys an entry is known by (canonical URL, fingerprints)."""
