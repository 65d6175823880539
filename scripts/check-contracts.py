"""Fail when a role or playbook breaks another role's interface (STYLE.md rule 14).

Three contracts, one line per problem:
  - no role or playbook reads or sets another role's private variables: `_<role>_*` (computed
    internals) and `__<role>_*` (registered results) belong to <role> alone;
  - every `include_role`/`import_role` with `tasks_from` names an entry point that has an argument
    spec in the role's meta/argument_specs.yml;
  - no role reaches outside its own folder through `{{ role_path }}/..` (files of the collection
    are found through its plugins: the mevops.infra.collection_file lookup).

Scanned: roles/*/{tasks,handlers,defaults,vars,templates} and playbooks/** (YAML and templates).
Usage: python scripts/check-contracts.py [TOP] (TOP defaults to this checkout).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path

import yaml

INCLUDE_ACTIONS = {
    f"{prefix}{action}"
    for prefix in ("", "ansible.builtin.", "ansible.legacy.")
    for action in ("include_role", "import_role")
}
COLLECTION = "mevops.infra."
ROLE_DIRS = ("tasks", "handlers", "defaults", "vars", "templates")
OUTSIDE_ROLE = re.compile(r"role_path\s*\}\}\s*/\s*\.\.")


class Loader(yaml.SafeLoader):
    """A SafeLoader that reads Ansible's `!vault` and `!unsafe` tags as plain strings."""


Loader.add_constructor("!vault", lambda loader, node: loader.construct_scalar(node))
Loader.add_constructor("!unsafe", lambda loader, node: loader.construct_scalar(node))


def load(text: str) -> object:
    return yaml.load(text, Loader=Loader)  # noqa: S506 - Loader is a SafeLoader with two string tags


def entry_points(role: Path) -> set[str]:
    spec_file = role / "meta" / "argument_specs.yml"
    if not spec_file.is_file():
        return set()
    return set((load(spec_file.read_text()) or {}).get("argument_specs") or {})


def strings(node: object) -> Iterator[tuple[str, bool]]:
    """Every string in a YAML document: (text, True) for mapping keys, (text, False) for values."""
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(key, str):
                yield key, True
            yield from strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from strings(item)
    elif isinstance(node, str):
        yield node, False


def tasks(node: object) -> Iterator[dict]:
    """Every mapping that may be a task (plays, blocks and tasks are all walked)."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from tasks(value)
    elif isinstance(node, list):
        for item in node:
            yield from tasks(item)


class Checker:
    def __init__(self, top: Path) -> None:
        self.top = top
        roles_dir = top / "roles"
        self.roles = {p.name: p for p in sorted(roles_dir.iterdir()) if p.is_dir()} if roles_dir.is_dir() else {}
        self.specs = {name: entry_points(path) for name, path in self.roles.items()}
        # Longest names first, so `_evm_node_x` is evm_node's even if a role `evm` existed.
        names = "|".join(sorted(map(re.escape, self.roles), key=len, reverse=True)) or r"(?!)"
        self.private = re.compile(rf"(?<![A-Za-z0-9_])(__?)({names})_[A-Za-z0-9_]+")

    def files(self) -> Iterator[tuple[Path, str | None]]:
        """(file, the role it belongs to or None for a playbook)."""
        for name, role in self.roles.items():
            for sub in ROLE_DIRS:
                for path in sorted((role / sub).rglob("*")):
                    if path.is_file():
                        yield path, name
        playbooks = self.top / "playbooks"
        if playbooks.is_dir():
            for path in sorted(playbooks.rglob("*")):
                if path.is_file() and path.suffix in (".yml", ".yaml", ".j2"):
                    yield path, None

    def check_private(self, rel: str, owner: str | None, doc: object, text: str) -> list[str]:
        problems = []
        items = strings(doc) if doc is not None else ((line, False) for line in text.splitlines())
        for value, is_key in items:
            for match in self.private.finditer(value):
                if match.group(2) != owner:
                    verb = "sets" if is_key and match.group(0) == value else "reads"
                    problems.append(f"{rel}: {verb} {match.group(0)}, a private variable of role {match.group(2)}")
        return problems

    def check_entry_points(self, rel: str, owner: str | None, doc: object) -> list[str]:
        problems = []
        for task in tasks(doc):
            action = next((key for key in task if key in INCLUDE_ACTIONS), None)
            if action is None or not isinstance(task[action], dict):
                continue
            args = task[action]
            name, tasks_from = str(args.get("name", "")), args.get("tasks_from")
            if tasks_from is None:
                continue
            role = name.removeprefix(COLLECTION)
            if role not in self.roles:
                if name.startswith(COLLECTION) or "." not in name:
                    problems.append(f"{rel}: {action} names role {name}, which is not in roles/")
                continue
            targets = [str(tasks_from)]
            if "{{" in targets[0]:
                loop = task.get("loop", task.get("with_items"))
                loop_var = (task.get("loop_control") or {}).get("loop_var", "item")
                if targets[0].replace(" ", "") == "{{" + str(loop_var) + "}}" and isinstance(loop, list):
                    targets = [str(item) for item in loop]
                else:
                    problems.append(f"{rel}: {action} {name} has a tasks_from this check cannot read: {tasks_from}")
                    continue
            for target in targets:
                entry = re.sub(r"\.ya?ml$", "", target)
                if entry not in self.specs[role]:
                    problems.append(
                        f"{rel}: {action} {name} tasks_from {target}: entry point {entry} has no argument spec"
                        f" in roles/{role}/meta/argument_specs.yml"
                    )
        return problems

    def check_file(self, path: Path, owner: str | None) -> list[str]:
        rel = str(path.relative_to(self.top))
        text = path.read_text(errors="replace")
        doc = None
        if path.suffix in (".yml", ".yaml"):
            try:
                doc = load(text)
            except yaml.YAMLError as error:
                return [f"{rel}: is not YAML this check can read ({str(error).splitlines()[0]})"]
        problems = self.check_private(rel, owner, doc, text)
        if doc is not None and path.parent.name != "templates":
            problems += self.check_entry_points(rel, owner, doc)
        for number, line in enumerate(text.splitlines(), 1):
            if OUTSIDE_ROLE.search(line) and not line.lstrip().startswith("#"):
                problems.append(
                    f"{rel}:{number}: reads a file outside its role through role_path/..;"
                    " use lookup('mevops.infra.collection_file', ...)"
                )
        return list(dict.fromkeys(problems))  # one line per problem, however often a file repeats it

    def run(self) -> tuple[int, list[str]]:
        files = list(self.files())
        return len(files), [p for path, owner in files for p in self.check_file(path, owner)]


def main(argv: list[str]) -> int:
    top = Path(argv[1]).resolve() if len(argv) > 1 else Path(__file__).resolve().parents[1]
    count, problems = Checker(top).run()
    for line in problems:
        print(line)
    print(f"contracts: {count} files checked, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
