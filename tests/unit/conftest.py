"""Make `ansible_collections.mevops.infra` importable from the checkout."""

from __future__ import annotations

import sys
from pathlib import Path

_TOP = Path(__file__).resolve().parents[2]
_COLLECTIONS = _TOP / ".collections"
if not (_COLLECTIONS / "ansible_collections" / "mevops" / "infra").exists():
    raise RuntimeError(f"{_COLLECTIONS} is missing: run `make setup` (scripts/link-collection.sh) first")
if str(_COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(_COLLECTIONS))
