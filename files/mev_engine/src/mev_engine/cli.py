"""`mev-engine`: validate-config, preflight, run <component>.

Exit codes: 0 fine; 1 the configuration or a dependency has problems (each named on
stderr) or the component stopped on an error; 2 bad usage.
"""

from __future__ import annotations

import argparse
import faulthandler
import importlib
import logging
import signal
import sys
from pathlib import Path

from mev_engine import __version__
from mev_engine.config import (
    COMPONENT_SECRETS,
    DEFAULT_CONFIG,
    REQUIRED_SECRETS,
    ConfigError,
    EngineConfig,
    load_config,
)
from mev_engine.keystore import KeystoreError
from mev_engine.preflight import report, run_preflight
from mev_engine.runtime import Fatal, Runtime

COMPONENTS = ("detection", "calculation", "execution", "monitoring")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mev-engine", description="The MEV engine's processes and checks.")
    parser.add_argument("--version", action="version", version=f"mev-engine {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help=f"engine YAML (default {DEFAULT_CONFIG})")
    common.add_argument(
        "--env-file",
        type=Path,
        default=None,
        help="read secrets from this systemd EnvironmentFile too (default: the process environment only)",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    validate = sub.add_parser("validate-config", parents=[common], help="list every problem of the configuration")
    validate.add_argument(
        "--no-secrets", action="store_true", help="do not require MEV_API_TOKEN and MEV_KEYSTORE_PASSWORD"
    )
    sub.add_parser("preflight", parents=[common], help="check PostgreSQL, Redis, every chain and the keystore")
    run = sub.add_parser("run", parents=[common], help="run one component in the foreground (systemd)")
    run.add_argument("component", choices=COMPONENTS)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "run":
            required: tuple[str, ...] = COMPONENT_SECRETS[args.component]
        else:
            required = () if getattr(args, "no_secrets", False) else REQUIRED_SECRETS
        config = load_config(args.config, args.env_file, require_secrets=required)
    except ConfigError as exc:
        print(f"mev-engine: {exc}", file=sys.stderr)
        return 1
    if args.command == "validate-config":
        print(f"{args.config}: valid ({len(config.chains)} chain(s): {', '.join(config.chains)})")
        return 0
    if args.command == "preflight":
        return report(run_preflight(config), "mev-engine preflight")
    return _run_component(config, args.component)


def _run_component(config: EngineConfig, component: str) -> int:
    try:
        runtime = Runtime.start(config, component, publish=component != "monitoring")
    except Fatal as exc:
        print(f"mev-engine {component}: {exc}", file=sys.stderr)
        return 1
    runtime.install_signal_handlers()
    faulthandler.register(signal.SIGUSR1)  # `systemctl kill -s USR1 mev-<component>`: thread stacks to the journal
    module = importlib.import_module(f"mev_engine.components.{component}")
    log = logging.getLogger(f"mev_engine.{component}")
    log.info("mev-engine %s %s starting (config %s)", __version__, component, config.source)
    try:
        module.run(runtime)
    except (Fatal, KeystoreError, OSError) as exc:
        log.critical("%s", exc)
        return 1
    except Exception:
        log.critical("stopped on an unexpected error", exc_info=True)
        return 1
    finally:
        runtime.close()
    log.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
