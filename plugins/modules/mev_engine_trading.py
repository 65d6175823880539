# Copyright: mevops.infra developers
# Apache License 2.0 (see galaxy.yml)
"""Documentation of the action mev_engine_trading (plugins/action/mev_engine_trading.py): it runs
on the controller only, so there is no module code to send to a host."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: mev_engine_trading
short_description: Read or switch the trading state of many MEV engines at once, from the controller
version_added: "0.2.0"
description:
  - Calls the bearer-token API (C(/api/v1/status), C(/api/v1/trading/enable), C(/api/v1/trading/disable),
    C(/api/v1/emergency/stop)) of every engine in O(targets) at once, one thread per engine, from the
    controller - at the address the management networks reach each API at (derived by the filter
    C(mevops.infra.topology_engine_api_url)). Nothing runs on the engine hosts and no connection to them
    is opened, so one task stops a whole fleet in about the time one engine takes (the emergency
    playbook's stop_trading step).
  - The same state change as M(mevops.infra.mev_engine_control) makes on the engine host (one
    implementation in module_utils), with the same honest C(changed), check mode and errors by kind
    (C(error_state)), per engine in RV(results).
  - The task fails when an engine's API did not answer (connection refused, timeout, no route, 401, 5xx),
    naming each; RV(unanswered) lists them for the caller's fallback (the emergency role then calls the
    API on each of those hosts over SSH, and stops mev-execution where it does not answer there either).
  - Run it once for the group (C(run_once), or a play on the controller); each call is to another host.
author:
  - mevops.infra developers (@mevops)
extends_documentation_fragment:
  - mevops.infra.attributes
  - mevops.infra.attributes.no_diff
options:
  action:
    description:
      - C(status) reads each engine's status; C(enable) enables trading; C(disable) disables it
        gracefully (no new orders, in-flight transactions continue); C(emergency_stop) stops at once
        and discards queued orders.
    type: str
    required: true
    choices: [status, enable, disable, emergency_stop]
  targets:
    description: The engines, each with the URL the controller reaches its API at and its token.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: The engine's name (its inventory host), the key of its result.
        type: str
        required: true
      api_url:
        description: Base URL of the engine's API as the controller reaches it (C(http://host:port)).
        type: str
        required: true
      api_token:
        description: Bearer token of the engine's API (C(MEV_API_TOKEN)); never logged or returned.
        type: str
        required: true
  reason:
    description: Why the state changes (recorded by each engine) for C(enable), C(disable) and C(emergency_stop).
    type: str
  request_timeout:
    description: Seconds one API request may take; an action reads the state, then switches it (two requests).
    type: float
    default: 90
  max_workers:
    description: Engines called at the same time at most.
    type: int
    default: 64
attributes:
  check_mode:
    support: full
    details:
      - Reads each engine's trading state and reports what would change without calling a mutating endpoint.
  action:
    description: Runs on the controller as an action plugin.
    support: full
  async:
    description: Supports being used with the C(async) keyword.
    support: none
notes:
  - The management networks must reach each API (it binds the host's private address in the shipped
    inventories, and the firewall role admits C(firewall_management_networks) to it);
    C(mevops.infra.validate_inventory) checks both.
"""

EXAMPLES = r"""
- name: Stop trading on every engine of the play at once, from the controller
  mevops.infra.mev_engine_trading:
    action: emergency_stop
    targets: >-
      {%- set out = [] -%}
      {%- for host in ansible_play_hosts_all -%}
      {%-   set _ = out.append({'name': host, 'api_token': hostvars[host].mev_engine_api_token,
                                'api_url': hostvars | mevops.infra.topology_engine_api_url(groups, host)}) -%}
      {%- endfor -%}
      {{ out }}
    reason: losses on base since 14:02
    request_timeout: 5
  run_once: true
  register: stop
  failed_when: false

- name: Read the trading state of two engines
  mevops.infra.mev_engine_trading:
    action: status
    targets:
      - {name: mev-engine-01, api_url: "http://10.0.3.11:8090", api_token: "{{ vault_api_token_01 }}"}
      - {name: mev-engine-02, api_url: "http://10.0.3.12:8090", api_token: "{{ vault_api_token_02 }}"}
  run_once: true
"""

RETURN = r"""
results:
  description:
    - Per engine name - C(api_url), and either C(changed), C(previous) (for enable, disable, emergency_stop),
      C(trading) (state, enabled, reason, updated_at, cold_start) and C(status) (for status), or C(failed),
      C(msg), C(error_state) (unreachable, timeout, unauthorized, refused, unavailable, server_error,
      http_error, bad_response) and C(http_status).
  returned: always
  type: dict
answered:
  description: The engines whose API answered, in the order of O(targets).
  returned: always
  type: list
  elements: str
unanswered:
  description: The engines whose API did not answer, in the order of O(targets).
  returned: always
  type: list
  elements: str
"""
