"""`mev-cli`: the runbooks' operator commands, spoken to the engine's HTTP API.

    mev-cli status [--detailed]      --detailed: plus what is not ready and why, pending count per chain,
                                     every pending transaction; exit 1 when the engine is not ready
    mev-cli preflight check [--config /etc/mev/engine.yml]     `mev-engine preflight`'s checks, no API needed
    mev-cli trading enable | disable [--graceful] [--reason TEXT]
    mev-cli emergency stop [--reason TEXT]
    mev-cli transactions list [--status pending] [--chain C] [--limit N] [--format table|json]
    mev-cli transactions wait [--timeout 300] [--chain C]      until nothing is pending
    mev-cli transactions cancel [--all] [--force] [--chain C]
    mev-cli wallet withdraw [--chain C] [--to ADDRESS] [--emergency]   no --chain: every chain, each reported

The token comes from MEV_API_TOKEN (or --env-file, default /etc/mev/engine.env when
readable); `preflight check` reads the engine's secrets from the same file (else the
process environment) and needs no API. Exit codes: 0 done; 1 the API refused, the
engine is not ready (`status --detailed`) or a preflight check failed (each named on
stderr); 2 bad usage; 3 the API is unreachable; 4 `transactions wait` timed out.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import requests

from mev_engine.config import DEFAULT_CONFIG, DEFAULT_ENV_FILE, ConfigError, read_env_file
from mev_engine.preflight import preflight

EXIT_REFUSED, EXIT_USAGE, EXIT_UNREACHABLE, EXIT_TIMEOUT = 1, 2, 3, 4


class ApiError(Exception):
    def __init__(self, message: str, exit_code: int, data: Any = None) -> None:
        super().__init__(message)
        self.exit_code = exit_code
        self.data = data  # the API's answer, when it gave one


class Api:
    def __init__(self, url: str, token: str, timeout: float = 90.0) -> None:
        self.url = url.rstrip("/")
        self.session = requests.Session()
        self.session.trust_env = False
        self.session.headers["Authorization"] = f"Bearer {token}"
        self.timeout = timeout

    def request(self, method: str, path: str, body: dict[str, Any] | None = None, **query: Any) -> Any:
        try:
            response = self.session.request(
                method,
                f"{self.url}{path}",
                json=body,
                params={k: v for k, v in query.items() if v is not None},
                timeout=self.timeout,
            )
        except requests.RequestException as exc:
            raise ApiError(f"the engine API at {self.url} is unreachable: {exc}", EXIT_UNREACHABLE) from exc
        try:
            data = response.json()
        except ValueError:
            data = {"error": response.text}
        if response.status_code >= 400:
            raise ApiError(
                f"{method} {path}: HTTP {response.status_code}: {data.get('error', data)}", EXIT_REFUSED, data
            )
        return data


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mev-cli", description="Operate the MEV engine through its API.")
    parser.add_argument("--url", default=os.environ.get("MEV_API_URL", "http://127.0.0.1:8090"))
    parser.add_argument(
        "--env-file",
        type=Path,
        default=None,
        help=f"MEV_API_TOKEN, and for preflight check every secret (default {DEFAULT_ENV_FILE})",
    )
    sub = parser.add_subparsers(dest="area", required=True)
    status = sub.add_parser("status")
    status.add_argument(
        "--detailed", action="store_true", help="plus readiness, pending per chain and every pending transaction"
    )
    checks = sub.add_parser("preflight").add_subparsers(dest="action", required=True)
    check = checks.add_parser("check", help="the checks of `mev-engine preflight`")
    check.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help=f"engine YAML (default {DEFAULT_CONFIG})")
    trading = sub.add_parser("trading").add_subparsers(dest="action", required=True)
    for action in ("enable", "disable"):
        p = trading.add_parser(action)
        p.add_argument("--reason", default="")
        if action == "disable":
            p.add_argument("--graceful", action="store_true", help="the default: in-flight transactions continue")
    emergency = sub.add_parser("emergency").add_subparsers(dest="action", required=True)
    emergency.add_parser("stop").add_argument("--reason", default="")
    tx = sub.add_parser("transactions").add_subparsers(dest="action", required=True)
    listing = tx.add_parser("list")
    listing.add_argument("--status", default=None)
    listing.add_argument("--chain", default=None)
    listing.add_argument("--limit", type=int, default=100)
    listing.add_argument("--format", choices=("table", "json"), default="table")
    wait = tx.add_parser("wait")
    wait.add_argument("--timeout", type=float, default=300)
    wait.add_argument("--chain", default=None)
    cancel = tx.add_parser("cancel")
    cancel.add_argument("--all", action="store_true", help="every pending nonce (the only mode)")
    cancel.add_argument("--force", action="store_true", help="accepted for the runbooks; cancels never prompt")
    cancel.add_argument("--chain", default=None)
    wallet = sub.add_parser("wallet").add_subparsers(dest="action", required=True)
    withdraw = wallet.add_parser("withdraw")
    withdraw.add_argument("--chain", default=None, help="default: every configured chain, each reported")
    withdraw.add_argument("--to", default=None, help="must be the configured cold wallet (checked by the engine)")
    withdraw.add_argument("--emergency", action="store_true", help="accepted for the runbooks; same behaviour")
    return parser


def _env_file(env_file: Path | None) -> Path | None:
    """--env-file, else /etc/mev/engine.env when this user may read it, else none (the process environment)."""
    return env_file or (DEFAULT_ENV_FILE if os.access(DEFAULT_ENV_FILE, os.R_OK) else None)


def _token(env_file: Path | None) -> str:
    token = os.environ.get("MEV_API_TOKEN", "")
    path = _env_file(env_file)
    if path is not None:
        try:
            token = read_env_file(path).get("MEV_API_TOKEN", token)
        except (OSError, ConfigError) as exc:
            raise ApiError(f"cannot read {path}: {exc}", EXIT_USAGE) from exc
    if not token:
        raise ApiError("no API token: set MEV_API_TOKEN or pass --env-file", EXIT_USAGE)
    return token


def _print(data: Any) -> None:
    print(json.dumps(data, indent=2, sort_keys=True, default=str))


def _detailed_status(api: Api) -> tuple[dict[str, Any], dict[str, str]]:
    """/api/v1/status with /health/ready's reasons set beside what they concern, and the pending transactions."""
    status: dict[str, Any] = api.request("GET", "/api/v1/status")
    try:
        ready = api.request("GET", "/health/ready")
        failing: dict[str, str] = {}
    except ApiError as exc:
        if not (isinstance(exc.data, dict) and isinstance(exc.data.get("failing"), dict)):
            raise
        ready = exc.data
        failing = exc.data["failing"]  # 503: what is not ready, and why
    degraded: dict[str, str] = ready.get("degraded") or {}  # a backup provider serves the chain
    pending = api.request("GET", "/api/v1/transactions", status="pending", limit=10_000)["transactions"]
    for name, component in status["components"].items():
        component["problem"] = failing.get(f"component:{name}")
    for name, chain in status["chains"].items():
        chain["problem"] = failing.get(f"chain:{name}")
        chain["degraded"] = degraded.get(f"chain:{name}")
        chain["pending_transactions"] = sum(1 for row in pending if row["chain"] == name)
    status["ready"] = not failing
    status["failing"] = failing
    status["pending"] = [
        {key: row.get(key) for key in ("chain", "nonce", "hash", "status", "submitted_at", "created_at")}
        for row in pending
    ]
    return status, failing


def run(args: argparse.Namespace, api: Api) -> int:
    if args.area == "status" and args.detailed:
        status, failing = _detailed_status(api)
        _print(status)
        if failing:
            reasons = "; ".join(f"{name}: {why}" for name, why in failing.items())
            print(f"mev-cli: the engine is not ready: {reasons}", file=sys.stderr)
            return EXIT_REFUSED
    elif args.area == "status":
        _print(api.request("GET", "/api/v1/status"))
    elif args.area == "trading":
        _print(api.request("POST", f"/api/v1/trading/{args.action}", {"reason": args.reason}))
    elif args.area == "emergency":
        _print(api.request("POST", "/api/v1/emergency/stop", {"reason": args.reason}))
    elif args.area == "transactions" and args.action == "list":
        rows = api.request("GET", "/api/v1/transactions", status=args.status, chain=args.chain, limit=args.limit)
        if args.format == "json":
            print(json.dumps(rows["transactions"], default=str))
        else:
            for row in rows["transactions"]:
                print(f"{row['chain']:<10} {row['nonce']:>6} {row['status']:<10} {row['hash']}")
    elif args.area == "transactions" and args.action == "wait":
        deadline = time.monotonic() + args.timeout
        while True:
            pending = api.request("GET", "/api/v1/transactions", status="pending", chain=args.chain)["count"]
            if pending == 0:
                print("no transaction in flight")
                return 0
            if time.monotonic() >= deadline:
                print(f"mev-cli: {pending} transaction(s) still in flight after {args.timeout:g}s", file=sys.stderr)
                return EXIT_TIMEOUT
            time.sleep(1)
    elif args.area == "transactions" and args.action == "cancel":
        _print(api.request("POST", "/api/v1/transactions/cancel", {"chain": args.chain}))
    elif args.area == "wallet":
        try:
            _print(api.request("POST", "/api/v1/wallet/withdraw", {"chain": args.chain, "to": args.to}))
        except ApiError as exc:
            if isinstance(exc.data, dict) and "chains" in exc.data:
                _print(exc.data)  # what every chain did, the failed ones included
            raise
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.area == "preflight":  # no API: the engine's own checks, from its configuration and secrets
        return preflight(args.config, _env_file(args.env_file), "mev-cli preflight check")
    try:
        return run(args, Api(args.url, _token(args.env_file)))
    except ApiError as exc:
        print(f"mev-cli: {exc}", file=sys.stderr)
        return exc.exit_code


if __name__ == "__main__":
    sys.exit(main())
