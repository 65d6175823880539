"""Reference MEV engine for mevops.infra."""

__version__ = "0.5.1"
