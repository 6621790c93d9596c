"""Fixtures for the study tests."""
import importlib
from pathlib import Path

import pytest


@pytest.fixture
def study_toys(monkeypatch):
    """The module ``study_toys``, importable by name here and in spawned worker processes."""
    monkeypatch.syspath_prepend(str(Path(__file__).parent))
    return importlib.import_module("study_toys")
