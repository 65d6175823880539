"""sshd accepts keys only, from the allowed users, and rejects passwords."""

from __future__ import annotations

testinfra_hosts = ["docker://mevops-security-node"]


def test_effective_sshd_settings(host):
    lines = [line.split(" ", 1) for line in host.check_output("sshd -T").splitlines() if " " in line]
    effective = dict(lines)
    effective["allowusers"] = " ".join(value for key, value in lines if key == "allowusers")
    assert effective["passwordauthentication"] == "no"
    assert effective["kbdinteractiveauthentication"] == "no"
    assert effective["permitrootlogin"] == "without-password"
    assert effective["maxauthtries"] == "3"
    assert effective["logingracetime"] == "30"
    assert effective["allowusers"] == "mevops root"
    assert effective["authenticationmethods"] == "publickey"
    assert effective["x11forwarding"] == "no"


def test_key_login_from_the_probe_works(probe, node_ip):
    cmd = probe.run(
        f"ssh -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null mevops@{node_ip} id -un"
    )
    assert cmd.rc == 0, cmd.stderr
    assert cmd.stdout.strip() == "mevops"


def test_password_login_is_refused(probe, node_ip):
    # The account has the password hunter2: only the server's refusal can stop this login.
    cmd = probe.run(
        "sshpass -p hunter2 ssh -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null "
        f"-o PreferredAuthentications=password,keyboard-interactive -o PubkeyAuthentication=no mevops@{node_ip} true"
    )
    assert cmd.rc != 0
    assert "Permission denied (publickey)" in cmd.stderr


def test_sshd_runs_and_no_rollback_is_pending(host):
    assert host.service("ssh").is_running
    assert host.run("systemctl is-active mevops-ssh-rollback.timer").stdout.strip() != "active"
