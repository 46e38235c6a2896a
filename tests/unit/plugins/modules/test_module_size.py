# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Every module keeps to at most 150 logic lines: code lines, not counting DOCUMENTATION, EXAMPLES, RETURN,
docstrings, comments and blank lines. Logic shared by modules belongs in module_utils, on the GoughModule
framework (docs/architecture.md)."""

import ast
import glob
import io
import os
import tokenize

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
MODULES = sorted(glob.glob(os.path.join(ROOT, "plugins", "modules", "*.py")))
LIMIT = 150
DOC_STRINGS = ("DOCUMENTATION", "EXAMPLES", "RETURN")
SKIPPED_TOKENS = (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT,
                  tokenize.ENCODING, tokenize.ENDMARKER)


def _documentation_lines(tree):
    """Line numbers of the documentation strings and of every docstring."""
    lines = set()
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) in DOC_STRINGS for t in node.targets):
            lines.update(range(node.lineno, node.end_lineno + 1))
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and \
                    isinstance(first.value.value, str):
                lines.update(range(first.lineno, first.end_lineno + 1))
    return lines


def logic_lines(source):
    """The number of lines of ``source`` that hold code, documentation strings and comments left out."""
    code = set()
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type not in SKIPPED_TOKENS:
            code.update(range(token.start[0], token.end[0] + 1))
    return len(code - _documentation_lines(ast.parse(source)))


def test_the_count_leaves_out_documentation_docstrings_comments_and_blanks():
    source = ('DOCUMENTATION = r"""\nname: x\n"""\n\n# a comment\n\ndef main():\n    """Doc."""\n'
              '    value = {\n        "a": 1,\n    }  # trailing\n    return value\n')
    assert logic_lines(source) == 5  # def, value = {, "a": 1, }, return


@pytest.mark.parametrize("path", MODULES, ids=[os.path.basename(path) for path in MODULES])
def test_each_module_keeps_to_150_logic_lines(path):
    with open(path, encoding="utf-8") as handle:
        count = logic_lines(handle.read())
    assert count <= LIMIT, "%s has %d logic lines (at most %d)" % (os.path.basename(path), count, LIMIT)
