"""Matching: watchlist rules run over articles; the scoring and its explanation."""
