"""Gough's lab: emulators and nodes that stand in for MAAS, Fleet and real servers."""

__version__ = "0.1.0"
