"""What every component process shares: config loading, logging, signals, Redis, metrics."""

from __future__ import annotations

import logging
import signal
import threading
from dataclasses import dataclass
from typing import Any

import redis

from mev_engine import log as engine_log
from mev_engine import streams
from mev_engine.config import EngineConfig
from mev_engine.metrics import ErrorCounter, Metrics, Publisher
from mev_engine.state import honour_stop_file

logger = logging.getLogger(__name__)


class Fatal(Exception):
    """A condition the component cannot run under; the message tells the operator what to fix."""


@dataclass
class Runtime:
    config: EngineConfig
    component: str
    metrics: Metrics
    redis: Any
    stop: threading.Event
    publisher: Publisher | None = None

    @classmethod
    def start(cls, config: EngineConfig, component: str, publish: bool = True) -> Runtime:
        engine_log.setup(config.log_level, component)
        metrics = Metrics(component)
        logging.getLogger().addHandler(ErrorCounter(metrics))
        client = connect_redis(config)
        streams.ensure_groups(client)
        honour_stop_file(client, config.stop_file)  # before anything can trade
        stop = threading.Event()
        runtime = cls(config, component, metrics, client, stop)
        if publish:
            runtime.publisher = Publisher(metrics, client)
        return runtime

    def ready(self) -> None:
        """The component finished starting: publish its metrics (mev_component_up 1) from now on."""
        if self.publisher is not None:
            self.publisher.start()
            self.publisher.publish_once()

    def install_signal_handlers(self) -> None:
        """SIGTERM/SIGINT: finish the current step, then exit 0 (systemd stop)."""

        def handler(signum: int, _frame: Any) -> None:
            logger.info("received %s: stopping", signal.Signals(signum).name)
            self.stop.set()

        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)

    def close(self) -> None:
        if self.publisher is not None:
            self.publisher.stop()
        self.redis.close()


def connect_redis(config: EngineConfig, decode: bool = False) -> Any:
    client = redis.Redis.from_url(
        config.redis_url_with_password(), socket_connect_timeout=5, socket_timeout=30, decode_responses=decode
    )
    try:
        client.ping()
    except redis.RedisError as exc:
        raise Fatal(f"Redis at {config.redis_url} is not usable: {exc}") from exc
    return client
