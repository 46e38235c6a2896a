"""Gough's lab webhook sink: records every notification it receives (Alertmanager's webhooks, the chat webhook, the
AWX launch request) as one JSON line each, with credentials redacted, so tests can prove delivery.

Start it with ``gough-lab sink serve --listen HOST:PORT --file notifications.jsonl``; read the file with
``gough-lab sink show notifications.jsonl`` (see docs/alerts.md, "The lab's sink").
"""
