"""Strategies shipped with the engine."""
