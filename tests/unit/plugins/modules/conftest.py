"""Fixtures for module unit tests: see tests/unit/harness.py."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from harness import make_runner


@pytest.fixture
def run_module(monkeypatch: pytest.MonkeyPatch) -> Callable[..., dict[str, Any]]:
    return make_runner(monkeypatch)
