"""Verify host_tuning with the runbooks' defaults on a container host (mevops-host-tuning)."""

from __future__ import annotations

testinfra_hosts = ["docker://mevops-host-tuning"]

RUNBOOK_SYSCTL = {
    "net.core.rmem_max": "134217728",
    "net.core.wmem_max": "134217728",
    "net.ipv4.tcp_rmem": "4096 87380 134217728",
    "net.ipv4.tcp_wmem": "4096 65536 134217728",
    "net.core.somaxconn": "65535",
    "net.ipv4.tcp_max_syn_backlog": "65535",
    "net.core.netdev_max_backlog": "5000",
    "net.ipv4.tcp_congestion_control": "bbr",
    "net.core.default_qdisc": "fq",
    "net.ipv4.ip_local_port_range": "1024 65535",
    "net.ipv4.tcp_tw_reuse": "1",
    "net.ipv4.tcp_fin_timeout": "15",
    "vm.swappiness": "1",
    "vm.dirty_ratio": "80",
    "vm.dirty_background_ratio": "5",
    "fs.file-max": "2097152",
    "fs.nr_open": "1048576",
}


def test_sysctl_file_holds_exactly_the_runbook_values(host):
    f = host.file("/etc/sysctl.d/60-mevops-host-tuning.conf")
    assert f.user == "root"
    assert f.mode == 0o644
    lines = [line for line in f.content_string.splitlines() if line and not line.startswith("#")]
    parsed = dict(line.split(" = ", 1) for line in lines)
    assert parsed == RUNBOOK_SYSCTL


def test_systemd_sysctl_loads_the_file(host):
    out = host.check_output("systemd-analyze cat-config sysctl.d/60-mevops-host-tuning.conf")
    assert "net.core.somaxconn = 65535" in out


def test_bbr_module_loads_at_boot(host):
    assert host.file("/etc/modules-load.d/60-mevops-host-tuning.conf").content_string.split("\n")[1] == "tcp_bbr"


def test_systemd_gives_services_the_new_limits(host):
    drop_in = host.file("/etc/systemd/system.conf.d/60-mevops-limits.conf").content_string
    assert "[Manager]" in drop_in
    assert "DefaultLimitNOFILE=1048576" in drop_in
    assert "DefaultLimitMEMLOCK=infinity" in drop_in
    # The manager was re-executed: it reports the limits, not just the file.
    assert host.check_output("systemctl show --property=DefaultLimitNOFILE --value") == "1048576"
    assert host.check_output("systemctl show --property=DefaultLimitMEMLOCK --value") == "infinity"


def _pid1_hard_nofile(host) -> int:
    line = next(ln for ln in host.file("/proc/1/limits").content_string.splitlines() if ln.startswith("Max open files"))
    return int(line.split()[4])


def test_a_started_service_gets_the_nofile_limit(host, tuning_settings):
    # systemd hands services the configured limit up to its own hard limit; on these
    # machines a container's PID 1 cannot go past the sandbox's (no CAP_SYS_RESOURCE),
    # and the report must say so rather than claim "applied".
    expected = min(1048576, _pid1_hard_nofile(host))
    out = host.check_output("systemd-run --wait --pipe --quiet sh -c 'ulimit -n'")
    assert int(out.strip()) == expected
    entry = tuning_settings["limits systemd DefaultLimitNOFILE/DefaultLimitMEMLOCK"]
    if expected < 1048576:
        assert entry["status"] == "partially applied"
        assert f"at most {expected} open files" in entry["detail"]
    else:
        assert entry["status"] == "applied"


def test_login_sessions_get_pam_limits(host):
    content = host.file("/etc/security/limits.d/60-mevops.conf").content_string
    for line in ("*    soft  nofile   1048576", "*    hard  nproc    1048576", "*    hard  memlock  unlimited"):
        assert line in content


def test_tmpfiles_persist_the_sysfssettings(host):
    content = host.file("/etc/tmpfiles.d/60-mevops-host-tuning.conf").content_string
    assert "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages - - - - 2048" in content
    assert "/sys/kernel/mm/transparent_hugepage/enabled                      - - - - always" in content
    assert "/sys/devices/system/cpu/cpufreq/policy*/scaling_governor          - - - - performance" in content
    assert "cpuidle" not in content  # no C-state cap by default
    # systemd-tmpfiles itself accepts the file.
    host.check_output("systemd-tmpfiles --cat-config >/dev/null")


def test_udev_rule_persists_the_nvme_scheduler(host):
    rule = host.file("/etc/udev/rules.d/60-mevops-block.rules").content_string
    assert 'KERNEL=="nvme*"' in rule
    assert 'ATTR{queue/scheduler}="none"' in rule
    assert 'ATTR{queue/nr_requests}="256"' in rule


def test_report_says_what_a_container_cannot_do(host, tuning_settings):
    assert tuning_settings["cpu governor"]["status"] == "not supported here"
    assert tuning_settings["block devices nvme*"]["status"] == "not supported here"
    # /proc/sys is read-only in a container and some net.* knobs are not in its network
    # namespace: each sysctl is reported as what it really is here.
    for name, value in RUNBOOK_SYSCTL.items():
        entry = tuning_settings[f"sysctl {name}"]
        knob = host.file("/proc/sys/" + name.replace(".", "/"))
        if entry["status"] == "not supported here":
            assert not knob.exists, name
        elif entry["status"] == "applied":
            assert " ".join(knob.content_string.split()) == value, name
        else:
            assert entry["status"] == "persisted-only", name
            assert " ".join(knob.content_string.split()) != value, name
    assert tuning_settings["sysctl vm.swappiness"]["status"] == "persisted-only"
    assert tuning_settings["transparent_hugepage enabled"]["status"] == "persisted-only"
    for service in ("bluetooth", "cups", "avahi-daemon"):
        assert tuning_settings[f"service {service}"]["status"] == "not present"
    assert tuning_settings["swap"]["status"] == "applied"
