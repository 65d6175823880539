"""The Grafana dashboards of the monitoring role: JSON that loads, PromQL that promtool
parses, and only metrics that the engine contract or the exporters provide."""

from __future__ import annotations

import json
import subprocess

import pytest
import yaml
from monitoring.helpers import ROLE, TOP, known_metrics, metric_names

DASHBOARDS = sorted((ROLE / "files" / "dashboards").glob("*.json"))


def panels(path):
    return json.loads(path.read_text())["panels"]


def test_the_three_dashboards_exist_with_unique_uids():
    assert [p.name for p in DASHBOARDS] == ["hosts.json", "mev-overview.json", "node-health.json"]
    uids = [json.loads(p.read_text())["uid"] for p in DASHBOARDS]
    assert len(set(uids)) == len(uids)


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.stem)
def test_every_panel_queries_the_provisioned_datasource(path):
    for panel in panels(path):
        assert panel["datasource"] == {"type": "prometheus", "uid": "prometheus"}, panel["title"]
        assert panel["targets"], panel["title"]
        assert all(t["expr"].strip() for t in panel["targets"]), panel["title"]


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.stem)
def test_every_panel_expression_parses(promtool, path, tmp_path):
    # promtool parses PromQL offline only inside rule files: one recording rule per expression.
    exprs = [(panel["title"], t["expr"]) for panel in panels(path) for t in panel["targets"]]
    records = [{"record": f"dashboard:expr_{i}", "expr": e} for i, (_title, e) in enumerate(exprs)]
    rules = {"groups": [{"name": "dashboard", "rules": records}]}
    rule_file = tmp_path / "dashboard.yml"
    rule_file.write_text(yaml.safe_dump(rules))
    result = subprocess.run([promtool, "check", "rules", str(rule_file)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(exprs)} rules found" in result.stdout


def test_a_broken_expression_is_caught(promtool, tmp_path):
    rule_file = tmp_path / "broken.yml"
    broken = {"groups": [{"name": "g", "rules": [{"record": "r:x", "expr": "sum(rate(x[5m])"}]}]}
    rule_file.write_text(yaml.safe_dump(broken))
    result = subprocess.run([promtool, "check", "rules", str(rule_file)], capture_output=True, text=True, check=False)
    assert result.returncode != 0


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.stem)
def test_every_metric_a_panel_names_is_known(path):
    known = known_metrics()
    for panel in panels(path):
        for target in panel["targets"]:
            unknown = metric_names(target["expr"]) - known
            assert not unknown, f"{path.name} / {panel['title']} names {sorted(unknown)}, not in files/metrics.yml"


def test_the_dashboards_show_what_the_issue_asks_for():
    exprs = {p.stem: " ".join(t["expr"] for panel in panels(p) for t in panel["targets"]) for p in DASHBOARDS}
    for metric in [
        "mev_opportunities_total",
        'mev_executions_total{status="confirmed"}',
        "mev_profit_eth_total",
        "mev_detection_latency_seconds_bucket",
        "mev_api_request_duration_seconds_bucket",
    ]:
        assert metric in exprs["mev-overview"], metric
    for metric in ["mev_chain_head_age_seconds", "mev_chain_head_block"]:
        assert metric in exprs["node-health"], metric
    for metric in ["node_cpu_seconds_total", "node_memory_MemAvailable_bytes", "node_filesystem_avail_bytes",
                   "node_network_receive_bytes_total"]:  # fmt: skip
        assert metric in exprs["hosts"], metric


def test_metric_extraction_sees_through_promql():
    expr = 'histogram_quantile(0.95, sum by (le, chain) (rate(a_bucket{job="x", le!="+Inf"}[5m]))) / on (chain) b > 0.5'
    assert metric_names(expr) == {"a_bucket", "b"}


def test_every_engine_metric_is_documented_in_the_role_readme():
    readme = (ROLE / "README.md").read_text()
    spec = yaml.safe_load((ROLE / "files" / "metrics.yml").read_text())
    for name, meta in spec["engine"].items():
        assert f"`{name}`" in readme, name
        for label in meta["labels"]:
            assert label in readme


def test_grafana_provisioning_points_at_prometheus_and_the_dashboards(rendered):
    datasources = yaml.safe_load((rendered / "grafana-datasources.yml").read_text())
    assert datasources["datasources"][0]["uid"] == "prometheus"
    assert datasources["datasources"][0]["url"] == "http://127.0.0.1:9090"
    providers = yaml.safe_load((rendered / "grafana-dashboards.yml").read_text())
    assert providers["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards/mevops"
    tasks = (TOP / "roles" / "monitoring" / "tasks" / "grafana.yml").read_text()
    for path in DASHBOARDS:
        assert path.name in tasks, f"tasks/grafana.yml does not copy {path.name}"
