"""Sidestage: the virtual day of an international conference."""

__version__ = "0.1.0"
