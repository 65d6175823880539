"""Logging for systemd: one line per record on stdout, no timestamps (journald adds them)."""

from __future__ import annotations

import logging
import sys


def setup(level: str, component: str) -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter(f"%(levelname)s {component} %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("urllib3", "websockets", "aiohttp.access", "web3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
