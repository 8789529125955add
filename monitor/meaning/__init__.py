"""Matching concepts by meaning: a local sentence-embedding model (encoder), the judge
that compares article sentences with what concepts mean, and its cues."""
