"""Controller dependencies: a missing package is named with how to install it, at use, not at load."""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
from pathlib import Path

import pytest
from ansible.errors import AnsibleError, AnsibleFilterError

from ansible_collections.mevops.infra.plugins.plugin_utils import deps

TOP = Path(__file__).resolve().parents[4]


def test_require_returns_the_module() -> None:
    assert deps.require("eth_utils", "a test").to_checksum_address


def test_require_names_the_package_and_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "eth_utils", None)  # import eth_utils now raises ImportError
    with pytest.raises(AnsibleFilterError) as exc:
        deps.require("eth_utils", "the checksum_address filter")
    message = str(exc.value)
    assert "the checksum_address filter needs the Python package eth-utils eth-hash[pycryptodome]" in message
    assert "-m pip install eth-utils eth-hash[pycryptodome]" in message
    assert "execution environment" in message


def test_require_raises_the_error_class_asked_for(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "eth_utils", None)
    with pytest.raises(AnsibleError) as exc:
        deps.require("eth_utils", "a lookup", error=AnsibleError)
    assert exc.type is AnsibleError


def test_filters_load_without_the_package_and_say_what_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "eth_utils", None)
    module = importlib.reload(importlib.import_module("ansible_collections.mevops.infra.plugins.filter.evm_units"))
    assert module.wei_to_eth(10**18) == "1"  # the filters that need nothing still work
    with pytest.raises(AnsibleFilterError, match="eth-utils"):
        module.checksum_address("0x" + "ab" * 20)


def test_every_package_is_in_the_execution_environment_requirements() -> None:
    def name(requirement: str) -> str:
        return re.split(r"[<>=!~;\s]", requirement.split("#", maxsplit=1)[0].strip(), maxsplit=1)[0].lower()

    required = {name(line) for line in (TOP / "requirements-ee.txt").read_text().splitlines()} - {""}
    named = {name(package) for packages in deps.PACKAGES.values() for package in packages.split()}
    assert named <= required


def test_no_plugin_imports_a_third_party_package_at_load_time() -> None:
    """Load every controller plugin in a Python that blocks the packages of deps.PACKAGES."""
    blocked = sorted(deps.PACKAGES)
    plugins = sorted(
        f"ansible_collections.mevops.infra.plugins.{path.parent.name}.{path.stem}"
        for kind in ("filter", "callback", "lookup", "test", "plugin_utils")
        for path in (TOP / "plugins" / kind).glob("*.py")
    )
    script = (
        "import sys\n"
        f"sys.path.insert(0, {str(TOP / '.collections')!r})\n"
        f"for name in {blocked!r}: sys.modules[name] = None\n"
        "import importlib\n"
        "failed = []\n"
        f"for plugin in {plugins!r}:\n"
        "    try: importlib.import_module(plugin)\n"
        "    except ImportError as exc: failed.append(f'{plugin}: {exc}')\n"
        "print('\\n'.join(failed))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "", f"plugins import a third-party package at load time:\n{out}"
