"""Verify host_tuning with non-default variables on a container host (mevops-host-tuning-alt)."""

from __future__ import annotations

testinfra_hosts = ["docker://mevops-host-tuning-alt"]


def _sysctl_file(host) -> dict[str, str]:
    content = host.file("/etc/sysctl.d/60-mevops-host-tuning.conf").content_string
    return dict(line.split(" = ", 1) for line in content.splitlines() if line and not line.startswith("#"))


def test_extra_sysctls_are_added_and_null_removes(host):
    values = _sysctl_file(host)
    assert values["net.ipv4.tcp_fastopen"] == "3"
    assert values["net.core.busy_poll"] == "50"
    assert values["net.core.busy_read"] == "50"
    assert "vm.dirty_ratio" not in values
    assert values["vm.swappiness"] == "1"


def test_unknown_knob_is_persisted_but_reported_not_supported(host, tuning_settings):
    assert _sysctl_file(host)["kernel.no_such_knob"] == "1"
    assert tuning_settings["sysctl kernel.no_such_knob"]["status"] == "not supported here"


def test_unit_drop_in_and_manager_limits(host):
    drop_in = host.file("/etc/systemd/system/mev-execution.service.d/60-mevops-limits.conf").content_string
    assert "[Service]\nLimitNOFILE=524288\nLimitMEMLOCK=1073741824" in drop_in
    assert host.check_output("systemctl show --property=DefaultLimitNOFILE --value") == "524288"
    assert host.check_output("systemctl show --property=DefaultLimitMEMLOCK --value") == "1073741824"


def test_explicit_hugepage_count_thp_and_cstate_cap_are_persisted(host):
    content = host.file("/etc/tmpfiles.d/60-mevops-host-tuning.conf").content_string
    assert "hugepages-2048kB/nr_hugepages - - - - 512" in content
    assert "transparent_hugepage/enabled                      - - - - madvise" in content
    assert "transparent_hugepage/defrag                       - - - - defer+madvise" in content
    assert "scaling_governor          - - - - schedutil" in content
    assert "cpuidle/state1/disable" not in content
    assert "/sys/devices/system/cpu/cpu*/cpuidle/state2/disable      - - - - 1" in content
    assert "cpuidle/state9/disable" in content


def test_cstate_cap_reaches_existing_idle_states(host, tuning_settings):
    idle = {k: v for k, v in tuning_settings.items() if k.startswith("cpu idle state disabled")}
    # The container sees the host's cpuidle states read-only: each deeper state is
    # persisted, none applied, and state0/state1 are not touched.
    for name, entry in idle.items():
        assert entry["status"] == "persisted-only", name
        assert "/state0/" not in name and "/state1/" not in name


def test_noop_alias_becomes_none_on_existing_devices(host, tuning_settings):
    rule = host.file("/etc/udev/rules.d/60-mevops-block.rules").content_string
    assert 'KERNEL=="vd*"' in rule
    assert 'ATTR{queue/scheduler}="none"' in rule
    assert "nr_requests" not in rule
    scheduler = {k: v for k, v in tuning_settings.items() if k.startswith("block scheduler")}
    assert any(k.endswith("/sys/block/vda/queue/scheduler") for k in scheduler), scheduler
    assert {v["status"] for v in scheduler.values()} <= {"persisted-only", "applied"}


def test_swap_file_is_created_formatted_and_in_fstab(host, tuning_settings):
    f = host.file("/var/swapfile")
    assert f.exists
    assert f.mode == 0o600
    assert f.size == 64 * 1024 * 1024
    assert "swap" in host.check_output("blkid -o value -s TYPE /var/swapfile || file -b /var/swapfile")
    fstab = host.file("/etc/fstab").content_string
    assert any(line.split()[:3] == ["/var/swapfile", "none", "swap"] for line in fstab.splitlines() if line.strip())
    # swapon is not permitted in a container: the report says so instead of failing.
    assert tuning_settings["swap"]["status"] == "persisted-only"


def test_present_service_is_stopped_and_disabled(host, tuning_settings):
    avahi = host.service("avahi-daemon")
    assert not avahi.is_running
    assert not avahi.is_enabled
    assert tuning_settings["service avahi-daemon"]["status"] == "applied"
    assert tuning_settings["service cups"]["status"] == "not present"


def test_kernel_cmdline_is_written_and_reboot_reported(host, tuning_settings, tuning_report):
    cfg = host.file("/etc/default/grub.d/60-mevops-host-tuning.cfg").content_string
    assert "hugepagesz=2M hugepages=512 default_hugepagesz=2M transparent_hugepage=madvise" in cfg
    assert "processor.max_cstate=1 intel_idle.max_cstate=1" in cfg
    assert tuning_report["reboot_required"] is True
    cmdline = tuning_settings["kernel cmdline"]
    assert cmdline["status"] == "persisted-only"
    assert "no update-grub here" in cmdline["detail"]
