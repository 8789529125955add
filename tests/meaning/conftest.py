"""Fixtures: the real model, exported once (tests/model.py)."""

from tests.model import model_dir  # noqa: F401 (a fixture, found by name)
