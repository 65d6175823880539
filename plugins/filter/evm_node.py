# Copyright: mevops.infra developers
# Apache License 2.0 (see galaxy.yml)
"""Filters for the evm_node role: chain entries to systemd units and client flags,
input problems (unknown client, missing or colliding ports, missing checksums), the
binaries to fetch on the controller, and sync-gate endpoints.

    chains = evm_node_chains | mevops.infra.evm_node_resolve(evm_node_chain_defaults, settings)
    problems = chains | mevops.infra.evm_node_problems(clients, evm_node_binaries)
    units = chains | mevops.infra.evm_node_units(clients, evm_node_binaries, bin_dir)

A client's flags are templates over the resolved chain entry ("--http.port={http_port}",
"--txpool.globalslots={txpool[globalslots]}"). A template naming a field that is null,
empty or missing is left out; `{when: field, args: [...]}` keeps a group of flags only
when the field is set (`--ws` and its options only with a ws_port).
"""

from __future__ import annotations

import posixpath
import re
import string
from collections.abc import Mapping
from typing import Any

from ansible.errors import AnsibleFilterError

from ansible_collections.mevops.infra.plugins.module_utils.evm_fees import OP_STACK, fee_family

# Addresses that listen everywhere; the sync gate reaches them on loopback.
_WILDCARD = {"0.0.0.0", "::", "[::]", ""}  # noqa: S104 - recognised, not bound
_CHAIN_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,30}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_BINARY_SOURCES = ("url", "path", "npm")


def _label(chain: Mapping[str, Any], index: int) -> str:
    name = chain.get("name") if isinstance(chain, Mapping) else None
    return f"chain {name}" if name else f"evm_node_chains[{index}]"


def evm_node_resolve(
    chains: Any, chain_defaults: Mapping[str, Any] | None = None, settings: Mapping[str, Any] | None = None
) -> list[dict[str, Any]]:
    """Fill each chain entry: its own keys, then the defaults for its name (ports, chain id,
    network), then the role-wide settings (addresses, APIs, txpool, maxpeers, data root)."""
    if not isinstance(chains, list):
        raise AnsibleFilterError(f"evm_node_resolve: evm_node_chains must be a list, got {type(chains).__name__}")
    chain_defaults = chain_defaults or {}
    settings = dict(settings or {})
    data_root = settings.pop("data_root", "/data")
    resolved = []
    for chain in chains:
        if not isinstance(chain, Mapping):
            raise AnsibleFilterError(f"evm_node_resolve: each chain must be a dict, got {chain!r}")
        entry: dict[str, Any] = {}
        entry.update(settings)
        entry.update(chain_defaults.get(chain.get("name"), {}) or {})
        entry.update({key: value for key, value in chain.items() if value is not None})
        entry.setdefault("enabled", True)
        entry.setdefault("extra_args", [])
        entry.setdefault("cl_extra_args", [])
        entry.setdefault("static_peers", [])
        if entry.get("name") and not entry.get("data_dir"):
            entry["data_dir"] = posixpath.join(data_root, str(entry["name"]))
        if entry.get("txpool") is not None:
            entry["txpool"] = dict(settings.get("txpool") or {}, **entry["txpool"])
        resolved.append(entry)
    return resolved


def evm_node_problems(
    chains: list[Mapping[str, Any]], clients: Mapping[str, Any], binaries: Mapping[str, Any] | None
) -> list[str]:
    """Every problem of resolved chain entries, one line each naming the chain and the field."""
    binaries = binaries or {}
    problems: list[str] = []
    seen_names: set[str] = set()
    used_ports: dict[int, str] = {}
    for index, chain in enumerate(chains):
        label = _label(chain, index)
        problems.extend(f"{label}: {line}" for line in _name_problems(chain.get("name"), seen_names))
        client = chain.get("client")
        if client not in clients:
            problems.append(f"{label}: client {client!r} is unknown; supported: {', '.join(sorted(clients))}")
            continue
        spec = clients[client]
        problems.extend(f"{label}: {line}" for line in _port_problems(chain, spec, used_ports))
        problems.extend(
            f"{label}: {field} is missing (client {client} needs it)"
            for field in spec.get("requires", [])
            if chain.get(field) in (None, "")
        )
        for binary in _client_binaries(spec):
            problems.extend(f"{label}: {line}" for line in _binary_problems(binary, binaries.get(binary)))
        data_dir = str(chain.get("data_dir") or "")
        if not data_dir.startswith("/") or re.search(r"\s", data_dir):
            problems.append(f"{label}: data_dir={data_dir!r} must be an absolute path without spaces")
        problems.extend(
            f"{label}: {field} must be a list"
            for field in ("extra_args", "cl_extra_args", "static_peers")
            if not isinstance(chain.get(field), list)
        )
    return problems


def _name_problems(name: Any, seen: set[str]) -> list[str]:
    if not name:
        return ["name is missing"]
    if not _CHAIN_NAME.match(str(name)):
        return [f"name {name!r} must be lowercase letters, digits and '-' (it names units and folders)"]
    if name in seen:
        return ["name appears more than once in evm_node_chains"]
    seen.add(str(name))
    return []


def _port_problems(chain: Mapping[str, Any], spec: Mapping[str, Any], used: dict[int, str]) -> list[str]:
    """Missing required ports, values that are not ports, and ports another chain already uses."""
    required = list(spec.get("ports", []))
    problems = []
    for field in required + list(spec.get("optional_ports", [])):
        port = chain.get(field)
        if port is None:
            if field in required:
                problems.append(f"{field} is missing (client {chain['client']} needs {', '.join(required)})")
            continue
        try:
            number = int(port)
        except (TypeError, ValueError):
            problems.append(f"{field}={port!r} is not a port number")
            continue
        if not 1 <= number <= 65535:
            problems.append(f"{field}={number} is not a port (1-65535)")
        elif number in used:
            problems.append(f"{field}={number} is already used by {used[number]}")
        else:
            used[number] = f"{chain.get('name')}.{field}"
    return problems


def _client_binaries(spec: Mapping[str, Any]) -> list[str]:
    return [unit["binary"] for unit in spec.get("units", [])]


def _binary_problems(binary: str, source: Any) -> list[str]:
    field = f"evm_node_binaries.{binary}"
    if not isinstance(source, Mapping):
        return [f"{field} is missing: give url, path or npm, and sha256"]
    problems = []
    given = [key for key in _BINARY_SOURCES if source.get(key)]
    if len(given) != 1:
        problems.append(f"{field} needs exactly one of url, path, npm (found: {', '.join(given) or 'none'})")
    checksum = source.get("sha256")
    if not checksum:
        problems.append(f"{field}.sha256 is missing: every binary is checked against a pinned sha256")
    elif not _SHA256.match(str(checksum)):
        problems.append(f"{field}.sha256={checksum!r} is not 64 lowercase hex digits")
    if source.get("npm") and not source.get("member"):
        problems.append(f"{field}.member is missing: the path of the binary inside the npm package")
    archive = source.get("archive_sha256")
    if archive and not _SHA256.match(str(archive)):
        problems.append(f"{field}.archive_sha256={archive!r} is not 64 lowercase hex digits")
    return problems


class _Missing(Exception):
    pass


def _lookup(chain: Mapping[str, Any], field: str) -> Any:
    """Value of a format field ("http_port", "txpool[globalslots]"); _Missing when unset."""
    head, _bracket, rest = field.partition("[")
    value: Any = chain.get(head)
    while rest:
        key, _bracket, rest = rest.partition("]")
        rest = rest.lstrip("[")
        value = value.get(key) if isinstance(value, Mapping) else None
    if value is None or value is False or value in ("", []):
        raise _Missing(field)
    return value


def _render_arg(template: str, chain: Mapping[str, Any]) -> str | None:
    out = []
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise AnsibleFilterError(f"evm_node flag template {template!r}: {exc}") from exc
    for literal, field, spec, conversion in parsed:
        out.append(literal)
        if field is None:
            continue
        try:
            value = _lookup(chain, field)
        except _Missing:
            return None
        if isinstance(value, list):
            value = ",".join(str(v) for v in value)
        if conversion:
            raise AnsibleFilterError(f"evm_node flag {template!r}: conversions are not supported")
        out.append(format(value, spec) if spec else str(value))
    return "".join(out)


def evm_node_args(templates: list[Any], chain: Mapping[str, Any]) -> list[str]:
    """Render a client's flag templates for one resolved chain (see the module docstring)."""
    args: list[str] = []
    for template in templates or []:
        if isinstance(template, Mapping):
            try:
                _lookup(chain, str(template["when"]))
            except _Missing:
                continue
            args.extend(evm_node_args(template.get("args", []), chain))
            continue
        rendered = _render_arg(str(template), chain)
        if rendered is not None:
            args.append(rendered)
    return args


def _computed(chain: Mapping[str, Any], spec: Mapping[str, Any]) -> dict[str, Any]:
    """Fields derived from the entry that flag templates may use."""
    data_dir = chain["data_dir"]
    values = dict(chain)
    if not chain.get("apis"):
        values["apis"] = spec.get("apis")
    elif spec.get("apis_allowed"):
        values["apis"] = [api for api in chain["apis"] if api in spec["apis_allowed"]]
    values["jwt_file"] = posixpath.join(data_dir, "jwt.hex") if spec.get("jwt") else None
    peers = chain.get("static_peers") or []
    values["static_peers_csv"] = ",".join(peers) or None
    values["static_peers_file"] = _static_peers_file(data_dir, spec) if peers else None
    values["authrpc_url"] = f"http://127.0.0.1:{chain['authrpc_port']}" if chain.get("authrpc_port") else None
    # The node's own RPC as a companion on the same host reaches it (heimdall's bor_rpc_url):
    # loopback when it listens everywhere, else the address it binds.
    local = _local_host(chain.get("http_addr"))
    values["http_url"] = f"http://{local}:{chain['http_port']}" if chain.get("http_port") else None
    # Host names the RPC server accepts in the Host header (geth's --http.vhosts): loopback,
    # and the bound address that the engine hosts use; any when it listens everywhere.
    bound = str(chain.get("http_addr") or "127.0.0.1")
    values["vhosts"] = (
        "*" if bound in _WILDCARD else ",".join(dict.fromkeys(["localhost", "127.0.0.1", bound.strip("[]")]))
    )
    values["cl_api_url"] = f"http://127.0.0.1:{chain['cl_api_port']}" if chain.get("cl_api_port") else None
    # The chain's fee family by its chain id (module_utils/evm_fees.py): the anvil stand-in of an
    # OP-stack chain runs in anvil's OP-stack mode, which charges the L1 data fee.
    values["op_stack"] = chain.get("chain_id") is not None and fee_family(int(chain["chain_id"])) == OP_STACK
    return values


def _local_host(address: Any) -> str:
    """The host part of a URL to a service bound to `address`, from the same host."""
    text = str(address or "127.0.0.1")
    host = "127.0.0.1" if text in _WILDCARD else text
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def _static_peers_file(data_dir: str, spec: Mapping[str, Any]) -> str | None:
    """The config file a client reads its static peers from; None for clients taking them as a flag."""
    if spec.get("static_peers_format") in ("geth_toml", "bor_toml"):
        return posixpath.join(data_dir, "static-nodes.toml")
    return None


def _quote(arg: str) -> str:
    """One ExecStart argument: `%` and `$` escaped for systemd, quoted when it has spaces or quotes."""
    escaped = arg.replace("%", "%%").replace("$", "$$")
    if re.search(r"[\s\"'\\;]", escaped) or escaped == "":
        escaped = '"' + escaped.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return escaped


def evm_node_exec(argv: list[str]) -> str:
    """An ExecStart= value from an argv list, one argument per continued line."""
    if not argv:
        raise AnsibleFilterError("evm_node_exec: empty command")
    return " \\\n    ".join(_quote(str(arg)) for arg in argv)


def evm_node_units(
    chains: list[Mapping[str, Any]],
    clients: Mapping[str, Any],
    binaries: Mapping[str, Any],
    bin_dir: str,
    sandbox: Mapping[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """The systemd units of resolved, checked chains: one per client unit (two for paired clients)."""
    units = []
    for chain in chains:
        spec = clients[chain["client"]]
        values = _computed(chain, spec)
        for position, unit in enumerate(spec["units"]):
            binary = unit["binary"]
            name = f"{chain['name']}-{unit.get('suffix', binary)}"
            extra = chain.get("extra_args" if position == 0 else "cl_extra_args") or []
            argv = [posixpath.join(bin_dir, binary), *evm_node_args(unit.get("args", []), values), *extra]
            after = [f"{chain['name']}-{spec['units'][0].get('suffix', spec['units'][0]['binary'])}.service"]
            units.append(
                {
                    "name": name,
                    "chain": chain["name"],
                    "client": chain["client"],
                    "binary": binary,
                    "sha256": (binaries.get(binary) or {}).get("sha256"),
                    "description": f"{chain['name']} {binary} node"
                    + (f" (chain id {chain['chain_id']})" if chain.get("chain_id") is not None else ""),
                    "exec": evm_node_exec(argv),
                    "argv": argv,
                    "after": after if position > 0 else [],
                    "working_dir": chain["data_dir"],
                    "data_dir": chain["data_dir"],
                    "enabled": bool(chain.get("enabled", True)),
                    "sandbox": dict(sandbox or {}, **(spec.get("sandbox") or {})),
                }
            )
    return units


def evm_node_static_peers(chains: list[Mapping[str, Any]], clients: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Static peer files to write: {chain, path, format, peers} for chains with peers and a file format."""
    files = []
    for chain in chains:
        spec = clients[chain["client"]]
        peers = chain.get("static_peers") or []
        path = _static_peers_file(chain["data_dir"], spec)
        if peers and path:
            files.append({"chain": chain["name"], "path": path, "format": spec["static_peers_format"], "peers": peers})
    return files


def evm_node_subdirs(chains: list[Mapping[str, Any]], clients: Mapping[str, Any]) -> list[str]:
    """Companion data folders to create inside each chain's data_dir (op-node, heimdall)."""
    return [
        posixpath.join(chain["data_dir"], sub) for chain in chains for sub in clients[chain["client"]].get("dirs", [])
    ]


def evm_node_endpoints(chains: list[Mapping[str, Any]], clients: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Endpoints of the enabled chains for mevops.infra.evm_sync_wait: {name, url, chain_id}."""
    endpoints = []
    for chain in chains:
        if not chain.get("enabled", True):
            continue
        spec = clients[chain["client"]]
        endpoint = {
            "name": chain["name"],
            "url": f"http://{_local_host(chain.get('http_addr'))}:{chain['http_port']}{spec.get('rpc_path', '')}",
        }
        if chain.get("chain_id") is not None:
            endpoint["chain_id"] = int(chain["chain_id"])
        endpoints.append(endpoint)
    return endpoints


def evm_node_sync_rows(
    endpoints: list[Mapping[str, Any]],
    markers: list[Mapping[str, Any]],
    infos: list[Mapping[str, Any]],
    max_head_age: Any,
) -> list[dict[str, Any]]:
    """One row per enabled chain for the initial-sync report and cold start's refusal:
    {name, url, state, synced, first_sync_done, head_number, sync_current, sync_highest,
    percent, head_age_seconds, words}. `markers` are stat results of each chain's first-sync
    marker, `infos` evm_node_info results, both in the order of `endpoints`. Synced: the node
    answers, is not syncing and its head is at most `max_head_age` seconds old."""
    rows = []
    limit = float(max_head_age)
    for endpoint, marker, info in zip(endpoints, markers, infos, strict=True):
        state = info.get("state")
        age = info.get("head_age_seconds")
        synced = state == "ok" and not info.get("syncing") and age is not None and float(age) <= limit
        current, highest = info.get("sync_current"), info.get("sync_highest")
        percent = round(100.0 * int(current) / int(highest), 1) if current is not None and highest else None
        if state != "ok":
            words = f"does not answer ({info.get('reason') or state})"
        elif info.get("syncing"):
            words = f"syncing: block {current} of {highest}" + (f" ({percent} %)" if percent is not None else "")
        elif not synced:
            words = f"not syncing but its head is {age} s old (over {max_head_age} s): no peers, or still starting"
        else:
            words = f"synced at block {info.get('head_number')}"
        rows.append(
            {
                "name": endpoint.get("name"),
                "url": endpoint.get("url"),
                "state": state,
                "synced": synced,
                "first_sync_done": bool((marker.get("stat") or {}).get("exists")) or synced,
                "head_number": info.get("head_number"),
                "sync_current": current,
                "sync_highest": highest,
                "percent": percent,
                "head_age_seconds": age,
                "words": words,
            }
        )
    return rows


def _npm_tarball(spec: str) -> str:
    """File name `npm pack` gives a package spec: @foundry-rs/anvil-linux-amd64@1.7.1 ->
    foundry-rs-anvil-linux-amd64-1.7.1.tgz."""
    name, sep, version = spec.rpartition("@")
    if not sep or not name or not version or version.startswith("^") or version.startswith("~"):
        raise AnsibleFilterError(f"npm package {spec!r} must be pinned as name@version")
    return f"{name.lstrip('@').replace('/', '-')}-{version}.tgz"


def evm_node_artifacts(units: list[Any], binaries: Mapping[str, Any], cache_dir: str) -> list[dict[str, Any]]:
    """What the controller fetches, once per (binary, sha256), for the given units.

    `units` may be a list of unit lists (one per play host). Each artifact says where it
    comes from (url, path or npm), where the download lands (`fetched`), whether it is
    an archive to extract `member` from, and the binary's path on the controller (`binary_path`).
    """
    flat: list[Mapping[str, Any]] = []
    for item in units or []:
        flat.extend(item if isinstance(item, list) else [item])
    artifacts: dict[tuple[str, str], dict[str, Any]] = {}
    for unit in flat:
        binary = unit["binary"]
        source = binaries.get(binary) or {}
        sha256 = unit.get("sha256") or source.get("sha256")
        if (binary, sha256) in artifacts:
            continue
        directory = posixpath.join(cache_dir, binary, str(sha256))
        member = source.get("member")
        artifact: dict[str, Any] = {
            "binary": binary,
            "sha256": sha256,
            "dir": directory,
            "member": member,
            "archive_sha256": source.get("archive_sha256"),
        }
        if source.get("npm"):
            tarball = posixpath.join(directory, _npm_tarball(source["npm"]))
            artifact.update(kind="npm", npm=source["npm"], fetched=tarball)
        elif source.get("url"):
            base = posixpath.basename(str(source["url"]).split("?", 1)[0]) or binary
            artifact.update(
                kind="url", url=source["url"], fetched=posixpath.join(directory, base if member else binary)
            )
        else:
            artifact.update(kind="path", path=source.get("path"), fetched=source.get("path"))
        artifact["binary_path"] = posixpath.join(directory, member) if member else artifact["fetched"]
        artifacts[(binary, sha256)] = artifact
    return list(artifacts.values())


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "evm_node_args": evm_node_args,
            "evm_node_artifacts": evm_node_artifacts,
            "evm_node_endpoints": evm_node_endpoints,
            "evm_node_exec": evm_node_exec,
            "evm_node_problems": evm_node_problems,
            "evm_node_resolve": evm_node_resolve,
            "evm_node_static_peers": evm_node_static_peers,
            "evm_node_subdirs": evm_node_subdirs,
            "evm_node_sync_rows": evm_node_sync_rows,
            "evm_node_units": evm_node_units,
        }
