# Copyright: mevops.infra developers
# Apache License 2.0 (see galaxy.yml)
"""Action mev_engine_trading: the trading state of many engines read or switched at once, from the controller.

Runs in one controller worker (nothing is sent to any host, no connection is opened): one thread
per engine calls its API at the address the management networks reach it at, so stopping 24
engines takes about as long as stopping one. Documentation: plugins/modules/mev_engine_trading.py.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.mevops.infra.plugins.module_utils.mev_engine_api import (
    STATE_ACTIONS,
    EngineApi,
    EngineApiError,
    switch_trading,
)

ARGUMENT_SPEC = {
    "action": {"type": "str", "required": True, "choices": ["status", *STATE_ACTIONS]},
    "targets": {
        "type": "list",
        "elements": "dict",
        "required": True,
        "options": {
            "name": {"type": "str", "required": True},
            "api_url": {"type": "str", "required": True},
            "api_token": {"type": "str", "required": True, "no_log": True},
        },
    },
    "reason": {"type": "str"},
    "request_timeout": {"type": "float", "default": 90},
    "max_workers": {"type": "int", "default": 64},
}


def call(target: dict[str, Any], action: str, reason: str | None, timeout: float, check_mode: bool) -> dict[str, Any]:
    """One engine: {changed, previous, trading} or {failed, msg, error_state, http_status}; never the token."""
    result: dict[str, Any] = {"api_url": target["api_url"]}
    try:
        api = EngineApi(target["api_url"], target["api_token"], timeout=timeout)
        if action == "status":
            status = api.get("/api/v1/status")
            result.update(changed=False, status=status, trading=status.get("trading"))
        else:
            result.update(switch_trading(api, action, reason, check_mode))
    except EngineApiError as exc:
        result.update(failed=True, msg=exc.reason, error_state=exc.state, http_status=exc.status)
    return result


class ActionModule(ActionBase):
    """Call every target engine's API from the controller, concurrently."""

    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        result = super().run(tmp, task_vars)
        _validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        targets = args["targets"]
        names = [t["name"] for t in targets]
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:
            raise AnsibleActionFail(f"targets: name each engine once; named more than once: {', '.join(twice)}")
        if args["max_workers"] < 1:
            raise AnsibleActionFail(f"max_workers must be at least 1, got {args['max_workers']}")
        check_mode = bool(self._task.check_mode)
        results: dict[str, dict[str, Any]] = {}
        if targets:
            with ThreadPoolExecutor(max_workers=min(len(targets), args["max_workers"])) as pool:
                futures = {
                    t["name"]: pool.submit(call, t, args["action"], args["reason"], args["request_timeout"], check_mode)
                    for t in targets
                }
                results = {name: future.result() for name, future in futures.items()}
        unanswered = [name for name in names if results[name].get("failed")]
        result.update(
            changed=any(r.get("changed") for r in results.values()),
            results=results,
            answered=[name for name in names if name not in unanswered],
            unanswered=unanswered,
        )
        if unanswered:
            shown = "; ".join(f"{name}: {results[name]['msg']}" for name in unanswered)
            result.update(failed=True, msg=f"{len(unanswered)} of {len(names)} engine API(s) did not answer: {shown}")
        return result
