"""site.yml --check --diff on the converged devnet: nothing would change (check mode tells the
truth on a provisioned system, which is how an operator previews a run)."""

from __future__ import annotations


def test_site_check_on_the_converged_devnet_changes_nothing(devnet_ready):
    run = devnet_ready.playbook("site.yml", check=True)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    counts = devnet_ready.recap(run)
    assert set(counts) == set(devnet_ready.units), counts  # every devnet host
    changed = {host: c["changed"] for host, c in counts.items() if c["changed"]}
    assert not changed, (
        f"--check would change {changed}:\n"
        + "\n".join(line for line in run.stdout.splitlines() if line.startswith(("changed:", "TASK")))[-4000:]
    )
