"""Base of the emulators' sqlite stores: one private database (0600) in WAL mode with a meta table."""

import json
import os
import sqlite3
import threading

META_SCHEMA = "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);\n"


class StatementRows(list):
    """The rows of one statement, read while the connection was held; stands in for the sqlite3 cursor."""

    def __init__(self, rows, lastrowid, rowcount):
        super().__init__(rows)
        self.lastrowid = lastrowid
        self.rowcount = rowcount

    def fetchone(self):
        """The first row, or None."""
        return self[0] if self else None

    def fetchall(self):
        """Every row."""
        return list(self)


class SerialConnection:
    """One sqlite3 connection shared by threads (request handlers, the emulators' background schedules).

    A sqlite3 connection is not safe to use from two threads at once: a statement racing another fails with
    "bad parameter or other API misuse". Each statement here runs, and its rows are read, under one reentrant
    lock; ``with conn:`` holds the lock for the whole transaction.
    """

    def __init__(self, conn):
        self._conn = conn
        self.lock = threading.RLock()

    def execute(self, sql, params=()):
        """Run one statement; returns its rows."""
        with self.lock:
            cursor = self._conn.execute(sql, params)
            return StatementRows(cursor.fetchall(), cursor.lastrowid, cursor.rowcount)

    def executemany(self, sql, seq):
        """Run one statement for each parameter set."""
        with self.lock:
            cursor = self._conn.executemany(sql, seq)
            return StatementRows([], cursor.lastrowid, cursor.rowcount)

    def executescript(self, script):
        """Run a script of statements."""
        with self.lock:
            self._conn.executescript(script)

    def close(self):
        """Close the connection."""
        with self.lock:
            self._conn.close()

    def __enter__(self):
        self.lock.acquire()  # pylint: disable=consider-using-with
        try:
            return self._conn.__enter__()
        except BaseException:
            self.lock.release()
            raise

    def __exit__(self, *exc_info):
        try:
            return self._conn.__exit__(*exc_info)
        finally:
            self.lock.release()


class SqliteStore:
    """A thin, synchronous wrapper around an emulator's sqlite database; subclasses set TABLES (SQL run at open)."""

    TABLES = ""

    def __init__(self, path):
        """Open (creating if needed) the database at ``path``, readable by the owner only."""
        self.path = path
        # Tokens live here: create the database (and its -wal/-shm files, which sqlite gives the same mode)
        # readable by the owner only.
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        os.close(fd)
        os.chmod(path, 0o600)
        self.db = SerialConnection(sqlite3.connect(path, check_same_thread=False, isolation_level=None))
        self.db.execute("PRAGMA journal_mode=WAL")
        # NORMAL is durable against process crashes (kill -9) in WAL mode; only power loss could drop the tail.
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(META_SCHEMA + self.TABLES)

    def close(self):
        """Checkpoint and close the database."""
        self.db.close()

    def get_meta(self, key, default=None):
        """Return a stored setting, or ``default``."""
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else default

    def set_meta(self, key, value):
        """Store a setting."""
        self.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, json.dumps(value)))
