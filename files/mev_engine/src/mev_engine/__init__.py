"""Reference MEV engine for mevops.infra."""

__version__ = "0.4.0"
