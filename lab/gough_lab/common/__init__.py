"""Pieces the lab's emulators (MAAS, Fleet, AWX) share: CLI helpers, config, sqlite store, HTTP, test launcher."""
