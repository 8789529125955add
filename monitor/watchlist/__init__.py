"""Watchlists: YAML files read, validated and compiled into the matcher."""
