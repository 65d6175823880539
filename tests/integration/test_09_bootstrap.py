"""bootstrap.yml on the devnet: the containers got their login at creation through the same
entry point (mevops.infra.ssh deploy_user, molecule/shared/create.yml), so the day-zero playbook
run over SSH on the four hosts finds the deploy user, its one key and its sudo rule exactly as it
would make them, and changes nothing; the account is locked for passwords and sudo is checked."""

from __future__ import annotations

from conftest import DEVNET_HOSTS


def test_bootstrap_matches_the_devnet_login_and_changes_nothing(devnet):
    login = devnet.login(DEVNET_HOSTS[0])
    assert login.key and login.user, login
    run = devnet.playbook(
        "bootstrap.yml",
        "--become",
        extra_vars={"bootstrap_user": login.user, "bootstrap_public_key_file": f"{login.key}.pub"},
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    recap = devnet.recap(run)
    assert sorted(recap) == sorted(DEVNET_HOSTS), recap
    assert {h: c["changed"] for h, c in recap.items()} == dict.fromkeys(DEVNET_HOSTS, 0), run.stdout[-4000:]

    for host in DEVNET_HOSTS:
        # Key only: the password is locked ('L'); the sudo rule is the one file visudo accepts.
        status = devnet.exec(host, "passwd", "--status", login.user).stdout.split()
        assert status[:2] == [login.user, "L"], status
        devnet.exec(host, "visudo", "-cf", f"/etc/sudoers.d/{login.user}")
        keys = devnet.exec(host, "cat", f"/home/{login.user}/.ssh/authorized_keys").stdout.splitlines()
        assert len(keys) == 1, keys
