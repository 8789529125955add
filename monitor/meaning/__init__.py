"""Meaning-matching: sentences embedded by a local model, compared with what concepts mean."""
