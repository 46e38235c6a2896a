# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Check osquery SQL before it reaches Fleet: it must compile in SQLite (osquery's SQL is SQLite's) against
osquery's Linux tables (``osquery_schema``), so a syntax error, an unknown table or an unknown column is caught on
the controller with SQLite's own message (``no such table: foo``), the message osquery would answer every host with.

Fleet itself does not check a policy's SQL (only that it is not empty and has no ATTACH); a bad query would be sent
to every host and fail there. Runs inside modules: standard library and ansible.module_utils only. Some Pythons
are built without sqlite3; then ``HAS_SQLITE3`` is False and callers skip the check with a warning.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

try:
    import sqlite3
    HAS_SQLITE3 = True
except ImportError:  # a Python built without the sqlite3 module
    sqlite3 = None
    HAS_SQLITE3 = False

from ansible_collections.gough.gough.plugins.module_utils.osquery_schema import ALIASES, OSQUERY_VERSION, TABLES

# SQL functions osquery adds to SQLite's (osquery/sql/sqlite_*.cpp); they only need to exist to compile.
OSQUERY_FUNCTIONS = (
    "split", "regex_split", "regex_match", "inet_aton", "in_cidr_block", "concat", "concat_ws", "version_compare",
    "community_id_v1", "to_base64", "from_base64", "conditional_to_base64", "md5", "sha1", "sha256", "sqrt", "log",
    "log10", "ln", "exp", "power", "ceil", "floor", "sin", "cos", "tan", "asin", "acos", "atan", "cot", "degrees",
    "radians", "pi",
)

__all__ = ["HAS_SQLITE3", "OSQUERY_VERSION", "query_error"]


def _quote(name):
    return '"%s"' % name.replace('"', '""')


def _schema_database():
    """An in-memory SQLite database with osquery's tables (empty), its aliases and its functions."""
    db = sqlite3.connect(":memory:")
    for table, columns in TABLES.items():
        db.execute("CREATE TABLE %s (%s)" % (_quote(table), ", ".join(_quote(name) for name, _kind in columns)))
    for alias, table in ALIASES.items():
        db.execute("CREATE VIEW %s AS SELECT * FROM %s" % (_quote(alias), _quote(table)))
    for name in OSQUERY_FUNCTIONS:
        db.create_function(name, -1, lambda *args: None)
    return db


def query_error(sql):
    """None when ``sql`` is one statement that compiles against osquery's Linux tables, else SQLite's message.

    The statement is compiled (``EXPLAIN``), never run, on empty tables. Raises RuntimeError when this Python has
    no sqlite3 module (see ``HAS_SQLITE3``).
    """
    if not HAS_SQLITE3:
        raise RuntimeError("this Python has no sqlite3 module")
    db = _schema_database()
    try:
        db.execute("EXPLAIN " + sql)
    except sqlite3.Warning as exc:  # more than one statement
        return str(exc)
    except sqlite3.Error as exc:
        return str(exc)
    finally:
        db.close()
    return None
