"""sqlite persistence for the MAAS emulator.

Everything lives in one database in the state directory, in WAL mode, so a ``kill -9`` loses at most the
request being handled. Objects are stored as JSON documents keyed by kind and id; machines and events get
their own tables because they are the big ones. Callers serialise access (the Region holds a lock).
"""

import json

from gough_lab.common.store import SqliteStore

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (username TEXT PRIMARY KEY, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tokens (
    token_key TEXT PRIMARY KEY, consumer_key TEXT NOT NULL, token_secret TEXT NOT NULL,
    username TEXT NOT NULL, name TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS objects (kind TEXT NOT NULL, id INTEGER NOT NULL, doc TEXT NOT NULL, PRIMARY KEY (kind, id));
CREATE TABLE IF NOT EXISTS machines (id INTEGER PRIMARY KEY, system_id TEXT NOT NULL UNIQUE, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT, system_id TEXT NOT NULL, hostname TEXT NOT NULL, username TEXT,
    level INTEGER NOT NULL, created REAL NOT NULL, type TEXT NOT NULL, description TEXT NOT NULL,
    action TEXT NOT NULL DEFAULT '');
CREATE INDEX IF NOT EXISTS events_by_node ON events (system_id, id);
"""


class Store(SqliteStore):
    """A thin, synchronous wrapper around the emulator's sqlite database (owner-only, WAL)."""

    TABLES = SCHEMA

    # users and tokens ---------------------------------------------------------------------------------------
    def load_users(self):
        """Return every user document by username."""
        return {name: json.loads(doc) for name, doc in self.db.execute("SELECT username, doc FROM users")}

    def save_user(self, user):
        """Insert or replace a user document."""
        self.db.execute("INSERT OR REPLACE INTO users (username, doc) VALUES (?, ?)", (user["username"], json.dumps(user)))

    def load_tokens(self):
        """Return every API token as dicts keyed by token_key."""
        rows = self.db.execute("SELECT token_key, consumer_key, token_secret, username, name FROM tokens")
        return {
            row[0]: {"token_key": row[0], "consumer_key": row[1], "token_secret": row[2], "username": row[3], "name": row[4]}
            for row in rows
        }

    def save_token(self, token):
        """Insert or replace an API token."""
        self.db.execute(
            "INSERT OR REPLACE INTO tokens (token_key, consumer_key, token_secret, username, name) VALUES (?, ?, ?, ?, ?)",
            (token["token_key"], token["consumer_key"], token["token_secret"], token["username"], token["name"]),
        )

    def delete_token(self, token_key):
        """Remove an API token."""
        self.db.execute("DELETE FROM tokens WHERE token_key = ?", (token_key,))

    # generic objects ----------------------------------------------------------------------------------------
    def load_objects(self, kind):
        """Return every stored object of a kind, by id."""
        rows = self.db.execute("SELECT id, doc FROM objects WHERE kind = ?", (kind,))
        return {row[0]: json.loads(row[1]) for row in rows}

    def save_object(self, kind, obj):
        """Insert or replace one object (it must have an integer ``id``)."""
        self.db.execute("INSERT OR REPLACE INTO objects (kind, id, doc) VALUES (?, ?, ?)", (kind, obj["id"], json.dumps(obj)))

    def delete_object(self, kind, obj_id):
        """Remove one object."""
        self.db.execute("DELETE FROM objects WHERE kind = ? AND id = ?", (kind, obj_id))

    # machines -----------------------------------------------------------------------------------------------
    def load_machines(self):
        """Return every machine document, ordered by id."""
        return [json.loads(doc) for (doc,) in self.db.execute("SELECT doc FROM machines ORDER BY id")]

    def save_machine(self, machine):
        """Insert or replace one machine document."""
        self.db.execute(
            "INSERT OR REPLACE INTO machines (id, system_id, doc) VALUES (?, ?, ?)",
            (machine["id"], machine["system_id"], json.dumps(machine)),
        )

    def save_machines_bulk(self, machines):
        """Insert many machine documents in one transaction (seeding)."""
        with self.db:
            self.db.execute("BEGIN")
            self.db.executemany(
                "INSERT OR REPLACE INTO machines (id, system_id, doc) VALUES (?, ?, ?)",
                ((m["id"], m["system_id"], json.dumps(m)) for m in machines),
            )

    def delete_machine(self, machine_id):
        """Remove one machine document."""
        self.db.execute("DELETE FROM machines WHERE id = ?", (machine_id,))

    # events -------------------------------------------------------------------------------------------------
    def add_event(self, event):
        """Append an event and return its id."""
        cur = self.db.execute(
            "INSERT INTO events (system_id, hostname, username, level, created, type, description, action)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (event["system_id"], event["hostname"], event["username"], event["level"], event["created"],
             event["type"], event["description"], event["action"]),
        )
        return cur.lastrowid

    def add_events_bulk(self, events):
        """Append many events in one transaction (seeding)."""
        with self.db:
            self.db.execute("BEGIN")
            self.db.executemany(
                "INSERT INTO events (system_id, hostname, username, level, created, type, description, action)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                ((e["system_id"], e["hostname"], e["username"], e["level"], e["created"], e["type"], e["description"],
                  e["action"]) for e in events),
            )

    def query_events(self, *, system_ids=None, min_level=0, before=None, after=None, limit=100):
        """Return events newest first, filtered by node, minimum level and id window."""
        clauses, args = ["level >= ?"], [min_level]
        if system_ids is not None:
            if not system_ids:
                return []
            clauses.append("system_id IN (%s)" % ",".join("?" * len(system_ids)))
            args.extend(system_ids)
        if before is not None:
            clauses.append("id < ?")
            args.append(before)
        if after is not None:
            clauses.append("id > ?")
            args.append(after)
        # With `after`, MAAS returns the events just after the marker, still listed newest first.
        order = "ASC" if after is not None and before is None else "DESC"
        sql = "SELECT id, system_id, hostname, username, level, created, type, description, action FROM events WHERE %s ORDER BY id %s LIMIT ?" % (
            " AND ".join(clauses), order)
        rows = self.db.execute(sql, args + [limit]).fetchall()
        rows.sort(key=lambda r: r[0], reverse=True)
        keys = ("id", "system_id", "hostname", "username", "level", "created", "type", "description", "action")
        return [dict(zip(keys, row)) for row in rows]

    def delete_events_for(self, system_id):
        """Forget a deleted machine's events."""
        self.db.execute("DELETE FROM events WHERE system_id = ?", (system_id,))
