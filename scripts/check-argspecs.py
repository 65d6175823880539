"""Fail when a role's meta/argument_specs.yml and defaults/main.yml disagree.

Every key in defaults/main.yml must be an option of the role's `main` entry point, or of another
entry point that reads it (ansible-core applies no argument-spec default: an entry point's optional
options take their values from defaults/main.yml too); every option of `main` that is not `required`
must have a default there (STYLE.md rule 3); an entry point's option that states a default states the
one in defaults/main.yml. Prints one line per problem.
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

TOP = Path(__file__).resolve().parents[1]


def check_role(role: Path) -> list[str]:
    name = role.name
    spec_file = role / "meta" / "argument_specs.yml"
    defaults_file = role / "defaults" / "main.yml"
    if not spec_file.is_file():
        return [f"{name}: meta/argument_specs.yml is missing"]
    specs = (yaml.safe_load(spec_file.read_text()) or {}).get("argument_specs", {})
    spec_options = (specs.get("main") or {}).get("options") or {}
    options = set(spec_options)
    required = {key for key, spec in spec_options.items() if (spec or {}).get("required")}
    default_values = (yaml.safe_load(defaults_file.read_text()) or {}) if defaults_file.is_file() else {}
    defaults = set(default_values)
    entry_options = {
        (entry, key): spec or {}
        for entry, entry_spec in specs.items()
        if entry != "main"
        for key, spec in ((entry_spec or {}).get("options") or {}).items()
    }
    problems = [
        f"{name}: {key} is in defaults/main.yml but not in argument_specs"
        for key in sorted(defaults - options - {key for _entry, key in entry_options})
    ]
    problems += [
        f"{name}: entry point {entry} states {key} default {spec['default']!r}, defaults/main.yml has "
        f"{default_values.get(key)!r}"
        for (entry, key), spec in sorted(entry_options.items())
        # A templated default is stated in words in the spec.
        if "default" in spec
        and key in defaults
        and spec["default"] != default_values[key]
        and "{{" not in str(default_values[key])
    ]
    problems += [
        f"{name}: entry point {entry} states a default for {key}, which defaults/main.yml does not set"
        for (entry, key), spec in sorted(entry_options.items())
        if "default" in spec and key not in defaults
    ]
    problems += [
        f"{name}: {key} is in argument_specs but has no default" for key in sorted(options - defaults - required)
    ]
    problems += [
        f"{name}: {key} does not start with the role's prefix {name}_"
        for key in sorted(defaults | options | {key for _entry, key in entry_options})
        if not key.startswith(f"{name}_")
    ]
    return problems


def main() -> int:
    roles = sorted(p for p in (TOP / "roles").iterdir() if p.is_dir()) if (TOP / "roles").is_dir() else []
    problems = [p for role in roles for p in check_role(role)]
    for line in problems:
        print(line)
    print(f"argument specs: {len(roles)} roles checked, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
