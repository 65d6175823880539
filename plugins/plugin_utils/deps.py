# Copyright: mevops.infra developers
# Apache License 2.0 (see galaxy.yml)
"""Third-party Python packages that controller-side plugins (filters, lookups, callbacks) need.

A plugin that imports such a package at load time is skipped by Ansible with only a warning, and
the playbook then fails with "no filter named ...", which does not say what to install. Plugins
therefore import these packages when a function needs them, through `require()`, which names the
missing package and how to get it. The packages are listed in requirements-ee.txt (the execution
environment's Python requirements); keep the two in step.

This is controller code (it raises Ansible's errors), hence plugin_utils and not module_utils,
which ships to managed hosts.
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType

from ansible.errors import AnsibleError, AnsibleFilterError

# import name -> what to pip install (eth-utils needs a Keccak-256 backend it does not pull in itself)
PACKAGES = {
    "eth_utils": "eth-utils eth-hash[pycryptodome]",
}


def require(module: str, purpose: str, error: type[AnsibleError] = AnsibleFilterError) -> ModuleType:
    """Import `module` (a key of PACKAGES), or raise `error` naming the package and how to install it.

    `purpose` names what needs it ("the checksum_address filter"), for the message.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        package = PACKAGES.get(module, module)
        raise error(
            f"{purpose} needs the Python package {package} on the controller, and {exc}. Install it into "
            f"the Python that runs Ansible ({sys.executable} -m pip install {package}), or run from the "
            "collection's execution environment (execution-environment.yml), which has it."
        ) from None
