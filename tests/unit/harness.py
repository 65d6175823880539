"""Run an Ansible module's main() in-process and capture what it returns.

    result = run_module(sysfs_attribute, {"path": "/x", "value": "1"}, check_mode=True)
    assert result["changed"]

`run_module` returns the exit_json payload; a module that calls fail_json raises
`ModuleFailed` carrying the payload in `.result`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest
from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args


class ModuleExited(Exception):
    def __init__(self, result: dict[str, Any]) -> None:
        super().__init__(json.dumps(result, default=str))
        self.result = result


class ModuleFailed(Exception):
    def __init__(self, result: dict[str, Any]) -> None:
        super().__init__(result.get("msg", "module failed"))
        self.result = result


def _exit_json(self: basic.AnsibleModule, **kwargs: Any) -> None:
    kwargs.setdefault("changed", False)
    raise ModuleExited(kwargs)


def _fail_json(self: basic.AnsibleModule, msg: str = "", **kwargs: Any) -> None:
    kwargs["failed"] = True
    kwargs["msg"] = msg
    raise ModuleFailed(kwargs)


def make_runner(monkeypatch: pytest.MonkeyPatch) -> Callable[..., dict[str, Any]]:
    """Return run(module, args, check_mode=False, diff=False) -> exit_json payload."""
    monkeypatch.setattr(basic.AnsibleModule, "exit_json", _exit_json)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", _fail_json)

    def _run(
        module: ModuleType, args: dict[str, Any], *, check_mode: bool = False, diff: bool = False
    ) -> dict[str, Any]:
        full = dict(args)
        full["_ansible_check_mode"] = check_mode
        full["_ansible_diff"] = diff
        with patch_module_args(full), pytest.raises(ModuleExited) as exc:
            module.main()
        return exc.value.result

    return _run
