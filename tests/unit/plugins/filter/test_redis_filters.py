"""Redis size parsing behind the redis role's preflight."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.mevops.infra.plugins.filter.redis import redis_size_bytes


@pytest.mark.parametrize(
    ("value", "expected"),
    [("4gb", 4 * 1024**3), ("4GB", 4 * 1024**3), ("4g", 4 * 10**9), ("512mb", 512 * 1024**2), ("100", 100), (0, 0)],
)
def test_sizes(value, expected):
    assert redis_size_bytes(value) == expected


@pytest.mark.parametrize("value", ["-1gb", "4 tb", "lots", "1.5gb", True])
def test_rejects_non_sizes(value):
    with pytest.raises(AnsibleFilterError, match="not"):
        redis_size_bytes(value)
