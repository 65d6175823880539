"""validate_inventory.yml on the running devnet's inventory: sound, nothing to report."""

from __future__ import annotations

import re


def test_validate_inventory_passes_on_the_devnet(devnet):
    run = devnet.playbook("validate_inventory.yml")
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert re.search(r"The inventory is sound: 4 host\(s\), \d+ flow\(s\), every check passed\.", run.stdout)
