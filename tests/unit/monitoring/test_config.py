"""prometheus.yml and alertmanager.yml as the monitoring role renders them: targets
derived from the inventory groups, loopback by default, routing and inhibition."""

from __future__ import annotations

import json
import subprocess

import yaml
from monitoring.helpers import HERE


def test_scrape_targets_come_from_the_inventory_groups(rendered):
    targets = {(t["job"], t["host"]): t for t in json.loads((rendered / "targets.json").read_text())}
    got = {key: (t["target"], t["path"], t["labels"]) for key, t in targets.items()}
    assert got == {
        # mon1 runs Prometheus and is an engine: everything on loopback.
        ("prometheus", "mon1"): ("127.0.0.1:9090", "/metrics", {"instance": "mon1"}),
        ("alertmanager", "mon1"): ("127.0.0.1:9093", "/metrics", {"instance": "mon1"}),
        ("node-exporter", "mon1"): ("127.0.0.1:9100", "/metrics", {"instance": "mon1"}),
        ("mev-engine", "mon1"): ("127.0.0.1:8090", "/metrics", {"instance": "mon1"}),
        # Redis runs on the engine hosts: its exporter with it.
        ("redis-exporter", "mon1"): ("127.0.0.1:9121", "/metrics", {"instance": "mon1"}),
        # db1 listens on all interfaces (reached at ansible_host) or on one address (reached there).
        ("node-exporter", "db1"): ("10.0.0.11:9100", "/metrics", {"instance": "db1"}),
        ("postgres-exporter", "db1"): ("10.0.0.11:9187", "/metrics", {"instance": "db1"}),
        # eth1 has no ansible_host: reached by its inventory name.
        ("node-exporter", "eth1"): ("eth1:9100", "/metrics", {"instance": "eth1"}),
        ("evm-node", "eth1"): ("eth1:6060", "/debug/metrics/prometheus", {"instance": "eth1", "chain": "ethereum"}),
    }


def test_prometheus_config_is_valid_and_listens_where_told(promtool, rendered):
    result = subprocess.run(
        [promtool, "check", "config", "--syntax-only", str(rendered / "prometheus.yml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    config = yaml.safe_load((rendered / "prometheus.yml").read_text())
    assert config["global"] == {"scrape_interval": "15s", "evaluation_interval": "15s", "external_labels": {}}
    assert config["rule_files"] == ["/etc/prometheus/rules/mev_alerts.yml"]
    assert config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == ["127.0.0.1:9093"]
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert set(jobs) == {
        "prometheus",
        "alertmanager",
        "node-exporter",
        "postgres-exporter",
        "redis-exporter",
        "mev-engine",
        "evm-node",
    }
    assert jobs["mev-engine"]["scrape_interval"] == "5s"
    evm = jobs["evm-node"]["static_configs"][0]
    assert evm["labels"]["__metrics_path__"] == "/debug/metrics/prometheus"


def test_preflight_refuses_a_remote_exporter_on_loopback(render, tmp_path):
    inventory = yaml.safe_load((HERE / "inventory.yml").read_text())
    del inventory["all"]["children"]["databases"]["hosts"]["db1"]["monitoring_postgres_exporter_listen_address"]
    (tmp_path / "inventory.yml").write_text(yaml.safe_dump(inventory))
    result = render(tmp_path / "out", inventory=tmp_path / "inventory.yml")
    assert result.returncode != 0
    assert "postgres-exporter on db1 (monitoring_postgres_exporter_listen_address=127.0.0.1:9187)" in result.stdout


def test_alertmanager_routes_critical_apart_and_inhibits_warnings(rendered):
    config = yaml.safe_load((rendered / "alertmanager.yml").read_text())
    route = config["route"]
    assert route["receiver"] == "warning"
    assert route["routes"] == [{"receiver": "critical", "matchers": ['severity="critical"'], "repeat_interval": "1h"}]
    assert config["inhibit_rules"] == [
        {
            "source_matchers": ['severity="critical"'],
            "target_matchers": ['severity="warning"'],
            "equal": ["alertname", "instance", "chain", "address", "mountpoint"],
        }
    ]
    # No channel configured by default: two receivers without integrations, no secret anywhere.
    assert config["receivers"] == [{"name": "critical"}, {"name": "warning"}]


def test_alertmanager_secrets_stay_out_of_its_config(render, tmp_path):
    secrets = {
        "monitoring_alertmanager_slack_enabled": True,
        "monitoring_alertmanager_slack_api_url": "https://hooks.slack.example/SECRET-SLACK",
        "monitoring_alertmanager_pagerduty_enabled": True,
        "monitoring_alertmanager_pagerduty_routing_key": "SECRET-PD",
        "monitoring_alertmanager_email_enabled": True,
        "monitoring_alertmanager_email_to": "desk@example.org",
        "monitoring_alertmanager_email_from": "alertmanager@example.org",
        "monitoring_alertmanager_email_smarthost": "smtp.example.org:587",
        "monitoring_alertmanager_email_auth_username": "alertmanager",
        "monitoring_alertmanager_email_auth_password": "SECRET-SMTP",
        "monitoring_alertmanager_critical_webhook_urls": ["http://127.0.0.1:5001/critical"],
    }
    result = render(tmp_path, secrets)
    assert result.returncode == 0, result.stdout + result.stderr
    text = (tmp_path / "alertmanager.yml").read_text()
    assert "SECRET" not in text
    receivers = {r["name"]: r for r in yaml.safe_load(text)["receivers"]}
    critical, warning = receivers["critical"], receivers["warning"]
    assert critical["webhook_configs"] == [{"url": "http://127.0.0.1:5001/critical", "send_resolved": True}]
    assert critical["pagerduty_configs"][0]["routing_key_file"].endswith("/pagerduty_routing_key")
    assert "pagerduty_configs" not in warning  # PagerDuty pages for critical alerts only
    assert warning["slack_configs"][0]["api_url_file"].endswith("/slack_api_url")
    assert warning["email_configs"][0]["auth_password_file"].endswith("/email_auth_password")


def test_enabled_channels_need_their_secret(render, tmp_path):
    result = render(tmp_path, {"monitoring_alertmanager_slack_enabled": True})
    assert result.returncode != 0
    assert "monitoring_alertmanager_slack_enabled needs monitoring_alertmanager_slack_api_url" in result.stdout
