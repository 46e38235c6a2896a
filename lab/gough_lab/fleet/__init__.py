"""Gough's lab Fleet emulator: the Fleet REST API v1 and the osquery TLS API, over TLS, with persistent state.

Start it with ``gough-lab fleet serve --listen HOST:PORT --state DIR`` (see docs/lab.md, "Fleet emulator").
"""
