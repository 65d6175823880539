"""Every filter has its documentation file (plugins/filter/<name>.yml, as ansible-doc and the docsite
read it), and each file says what the code does: the same options in the same order as the
function's parameters, required exactly when the parameter has no default, and examples that are
YAML variables. An example preceded by a comment `# => <JSON>` is evaluated and must give that value."""

from __future__ import annotations

import importlib
import inspect
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from jinja2 import Environment, StrictUndefined

FILTER_DIR = Path(__file__).resolve().parents[4] / "plugins" / "filter"
# "# => <JSON>", the JSON possibly continued on comment lines indented to it, then the variable it is for.
_CHECKED = re.compile(r"^# => (?P<expected>.+(?:\n#    .+)*)\n(?P<key>\w+):", re.MULTILINE)
_TEMPLATE = re.compile(r"^\{\{ (?P<expression>.*) \}\}$", re.DOTALL)


def _filters() -> dict[str, Any]:
    found: dict[str, Any] = {}
    for path in sorted(FILTER_DIR.glob("*.py")):
        module = importlib.import_module(f"ansible_collections.mevops.infra.plugins.filter.{path.stem}")
        found.update(module.FilterModule().filters())
    return found


FILTERS = _filters()
DOCS = sorted(FILTER_DIR.glob("*.yml"))


def _doc(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text())


def test_every_filter_has_a_doc_file_and_every_doc_file_a_filter():
    assert sorted(path.stem for path in DOCS) == sorted(FILTERS)


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.stem)
def test_options_follow_the_signature(path):
    documentation = _doc(path)["DOCUMENTATION"]
    assert documentation["name"] == path.stem
    parameters = list(inspect.signature(FILTERS[path.stem]).parameters.values())
    options = documentation["options"]
    assert list(options) == ["_input", *(p.name for p in parameters[1:])]
    for name, parameter in zip(options, parameters, strict=True):
        required = parameter.default is inspect.Parameter.empty
        assert bool(options[name].get("required")) == required, f"{name}: required must be {required}"
        if not required and "default" in options[name]:
            assert options[name]["default"] == parameter.default, f"{name}: the code's default is {parameter.default!r}"
    positional = [p.strip() for p in str(documentation.get("positional", "")).split(",") if p.strip()]
    assert positional == list(options)[: len(positional)], "positional must list the leading options in order"


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.stem)
def test_examples_are_yaml_and_give_what_they_say(path):
    """EXAMPLES read as play variables, in order: a literal is defined for the keys after it; a
    `"{{ expression }}"` after a `# => <JSON>` comment is evaluated (filters and the variables
    above it only) and must equal that JSON; other expressions (hostvars, facts) are not run."""
    text = _doc(path)["EXAMPLES"]
    examples = yaml.safe_load(text)
    assert isinstance(examples, dict) and examples, "EXAMPLES must be a YAML mapping of variables"
    expected = {m["key"]: json.loads(m["expected"].replace("\n#    ", " ")) for m in _CHECKED.finditer(text)}
    assert expected, "at least one example must say what it gives (# => <JSON>)"
    env = Environment(undefined=StrictUndefined)
    env.filters.update({f"mevops.infra.{name}": function for name, function in FILTERS.items()})
    context: dict[str, Any] = {}
    for key, value in examples.items():
        template = _TEMPLATE.match(value.strip()) if isinstance(value, str) else None
        if template is None:
            context[key] = value
        elif key in expected:
            context[key] = env.compile_expression(template["expression"])(**context)
            assert context[key] == expected.pop(key), f"{key}: {value}"
    assert not expected, f"no such example variable: {sorted(expected)}"
