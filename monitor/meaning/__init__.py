"""Matching concepts by meaning: sentence embeddings, the judge that reads them, its cues."""
