"""The monitoring role against the engine it watches: every series a rule or a dashboard
panel selects that no exporter serves (every `mev_*` one, and any other name that is not an
exporter's) must be one the engine exports, and files/metrics.yml's `engine` list must match
the engine's registry (type and labels).

The engine's metrics are read from files/mev_engine/src/mev_engine/metrics.py with `ast`
(its DEFINITIONS table: name -> (kind, help, labels)), so this needs neither the engine's
virtualenv nor its dependencies. Exporter metrics (node_*, pg_*, redis_*, up: the
`exporters` lists of files/metrics.yml) and the scheduled jobs' textfile metrics (mevops_*: its
`textfile` section) are out of this check; test_rules.py and
test_dashboards.py hold them to files/metrics.yml."""

from __future__ import annotations

import ast
import json

import pytest
import yaml
from monitoring.helpers import ROLE, TOP, metric_names, not_engine_metrics

ENGINE_METRICS = TOP / "files" / "mev_engine" / "src" / "mev_engine" / "metrics.py"
DASHBOARDS = sorted((ROLE / "files" / "dashboards").glob("*.json"))

# prometheus_client's series per kind (created series are disabled in the engine).
SUFFIXES = {"counter": ("",), "gauge": ("",), "histogram": ("_bucket", "_sum", "_count")}


def engine_definitions(source: str) -> dict[str, tuple[str, tuple[str, ...]]]:
    """name -> (kind, labels) of the DEFINITIONS table in the engine's metrics module."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.AnnAssign | ast.Assign):
            targets = [node.target] if isinstance(node, ast.AnnAssign) else node.targets
            if any(isinstance(t, ast.Name) and t.id == "DEFINITIONS" for t in targets) and node.value is not None:
                table = ast.literal_eval(node.value)
                return {name: (kind, tuple(labels)) for name, (kind, _help, labels) in table.items()}
    raise AssertionError("no DEFINITIONS table in the engine's metrics module")


def exported_series(definitions: dict[str, tuple[str, tuple[str, ...]]]) -> set[str]:
    """The series names prometheus_client exposes for those definitions.

    The engine names its counters with `_total` already; prometheus_client keeps that name
    for the sample (it strips the suffix only from the family name)."""
    return {name + suffix for name, (kind, _labels) in definitions.items() for suffix in SUFFIXES[kind]}


@pytest.fixture(scope="module")
def engine() -> dict[str, tuple[str, tuple[str, ...]]]:
    return engine_definitions(ENGINE_METRICS.read_text())


def exporter_metrics() -> set[str]:
    """The exporters' metrics and the textfile collector's (the collection's scheduled jobs)."""
    return not_engine_metrics()


def engine_names(expr: str) -> set[str]:
    """The names of an expression the engine must serve: `mev_*`, and whatever no exporter serves."""
    exporters = exporter_metrics()
    return {name for name in metric_names(expr) if name.startswith("mev_") or name not in exporters}


def test_no_exporter_claims_an_engine_name():
    assert not {name for name in exporter_metrics() if name.startswith("mev_")}


def test_the_engine_table_is_read(engine):
    # A parser that silently found nothing would make the checks below pass vacuously.
    assert len(engine) >= 15
    assert engine["mev_executions_total"] == ("counter", ("chain", "strategy", "status"))
    assert engine["mev_api_request_duration_seconds"][0] == "histogram"


def test_every_engine_metric_a_rule_names_is_exported(engine, rules):
    exported = exported_series(engine)
    checked = 0
    for rule in rules:
        names = engine_names(rule["expr"])
        checked += len(names)
        missing = names - exported
        assert not missing, f"{rule['alert']} names {sorted(missing)}, which the engine does not export"
    assert checked, "no rule names an engine metric"


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.stem)
def test_every_engine_metric_a_panel_names_is_exported(engine, path):
    exported = exported_series(engine)
    for panel in json.loads(path.read_text())["panels"]:
        for target in panel["targets"]:
            missing = engine_names(target["expr"]) - exported
            assert not missing, f"{path.name} / {panel['title']} names {sorted(missing)}, not exported by the engine"


def test_metrics_yml_engine_list_matches_the_engine(engine):
    spec = yaml.safe_load((ROLE / "files" / "metrics.yml").read_text())["engine"]
    for name, meta in spec.items():
        assert name in engine, f"files/metrics.yml lists {name}, which the engine does not define"
        kind, labels = engine[name]
        assert meta["type"] == kind, name
        assert tuple(meta["labels"]) == labels, name


def test_the_check_catches_a_metric_the_engine_lacks():
    source = (
        'DEFINITIONS = {"mev_profit_eth_total": ("counter", "p", ("chain",)), "mev_x_seconds": ("histogram", "h", ())}'
    )
    exported = exported_series(engine_definitions(source))
    assert exported == {"mev_profit_eth_total", "mev_x_seconds_bucket", "mev_x_seconds_sum", "mev_x_seconds_count"}
    assert engine_names("sum(increase(mev_profit_usd_total[1h])) < 1000") - exported == {"mev_profit_usd_total"}
    # A name of the old contract without the mev_ prefix is caught too; exporters' names are not.
    assert engine_names("blockchain_sync_status != 1 or node_load1 > 4") - exported == {"blockchain_sync_status"}
    assert engine_names('rate(mev_x_seconds_bucket{le="0.1"}[5m]) and on () up == 1') - exported == set()
