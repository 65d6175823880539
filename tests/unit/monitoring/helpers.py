"""Helpers shared by the monitoring role's unit tests: paths, the metric contract, and
a small PromQL metric-name extractor."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

TOP = Path(__file__).resolve().parents[3]
HERE = Path(__file__).resolve().parent
ROLE = TOP / "roles" / "monitoring"

# PromQL words that are not metric names.
_PROMQL_WORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset",
    "and", "or", "unless", "inf", "nan",
    "sum", "min", "max", "avg", "count", "stddev", "stdvar", "topk", "bottomk", "quantile",
    "count_values", "group",
}  # fmt: skip


def metric_names(expr: str) -> set[str]:
    """Metric names an expression selects (functions, keywords, labels and strings removed)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # string literals
    text = re.sub(r"\{[^}]*\}", "", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", "", text)  # range and subquery windows
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", text)
    names = set()
    for match in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", text):
        word = match.group(0)
        rest = text[match.end() :].lstrip()
        if word.lower() in _PROMQL_WORDS or rest.startswith("("):
            continue
        if re.fullmatch(r"[0-9.]+(ms|s|m|h|d|w|y)", word) or re.fullmatch(r"[eE][0-9]*", word):
            continue
        names.add(word)
    return names


def metrics_spec() -> dict:
    """files/metrics.yml: `engine` and `textfile` (name -> type, labels, help), `exporters` (lists)."""
    return yaml.safe_load((ROLE / "files" / "metrics.yml").read_text())


def not_engine_metrics() -> set[str]:
    """Metrics served by something else than the engine: the exporters' and the textfile
    collector's (the collection's scheduled jobs, through node_exporter)."""
    spec = metrics_spec()
    names = set(spec["textfile"])
    for metrics in spec["exporters"].values():
        names |= set(metrics)
    return names


def known_metrics() -> set[str]:
    """Metrics of files/metrics.yml, with the _bucket/_sum/_count series of histograms."""
    spec = metrics_spec()
    names = not_engine_metrics()
    for name, meta in spec["engine"].items():
        names.add(name)
        if meta["type"] == "histogram":
            names |= {f"{name}_bucket", f"{name}_sum", f"{name}_count"}
    return names
