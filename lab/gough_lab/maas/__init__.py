"""MAAS 2.0 REST API emulator.

The emulator serves the subset of the MAAS region API that Gough, the MAAS CLI and python-libmaas use,
with MAAS's authentication, error codes and bodies, node statuses and transitions. State lives in sqlite so a
restart (even ``kill -9``) keeps machines, keys and in-flight operations. See ``docs/lab.md``.
"""
