"""Alias kept because the documentation's custom-observer example imports
``from sacred.observer import RunObserver``."""

from sacred.observers.base import RunObserver

__all__ = ["RunObserver"]
