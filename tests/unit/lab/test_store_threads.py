"""The emulators' sqlite store is shared by threads: request handlers and background schedules (the Fleet
emulator's failing-policies automation reads its settings every 0.2 s). Unserialised, two statements at once on
one sqlite3 connection fail with "bad parameter or other API misuse", which surfaced as a Fleet 500 on GET /hosts
in CI."""

import threading

from gough_lab.common.store import SqliteStore


def test_statements_from_many_threads_do_not_race(tmp_path):
    store = SqliteStore(str(tmp_path / "state.db"))
    errors = []

    def work(worker):
        try:
            for n in range(1500):
                store.set_meta("k%d" % (n % 5), {"worker": worker, "n": n})
                value = store.get_meta("k%d" % (n % 7), {})
                assert isinstance(value, dict)
        except Exception as exc:  # pylint: disable=broad-except
            errors.append(repr(exc))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    store.close()
    assert errors == []


def test_rows_read_like_a_cursor(tmp_path):
    store = SqliteStore(str(tmp_path / "state.db"))
    store.set_meta("a", 1)
    rows = store.db.execute("SELECT key, value FROM meta WHERE key = ?", ("a",))
    assert rows.fetchone() == ("a", "1")
    assert store.db.execute("SELECT key FROM meta WHERE key = ?", ("missing",)).fetchone() is None
    inserted = store.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", ("b", "2"))
    assert inserted.rowcount == 1
    with store.db:
        store.db.execute("BEGIN")
        store.db.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", [("c", "3"), ("d", "4")])
    assert [row[0] for row in store.db.execute("SELECT key FROM meta ORDER BY key")] == ["a", "b", "c", "d"]
    store.close()
