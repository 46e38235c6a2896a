"""tools/docsite_guides.py: the Markdown guides become the collection's antsibull-docs extra docs.

The RST it writes is parsed back with docutils (the parser Sphinx uses) where the outcome is a document structure.
"""

import importlib.util
import os

import pytest
from docutils.core import publish_doctree
from docutils import nodes

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
_SPEC = importlib.util.spec_from_file_location("docsite_guides", os.path.join(ROOT, "tools", "docsite_guides.py"))
guides_tool = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(guides_tool)

EXTRA_DOCS = """---
sections:
  - title: Guides
    toctree:
%s
"""


def make_collection(tmp_path, files, refs):
    """A collection root with docs/<path> = text for each file and an extra-docs.yml listing refs."""
    for path, text in files.items():
        target = tmp_path / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    (tmp_path / "docs" / "docsite").mkdir(parents=True, exist_ok=True)
    (tmp_path / "docs" / "docsite" / "extra-docs.yml").write_text(
        EXTRA_DOCS % "\n".join(f"      - {ref}" for ref in refs), encoding="utf-8")
    return tmp_path


def rst(tmp_path, ref):
    return (tmp_path / "docs" / "docsite" / "rst" / f"{ref}.rst").read_text(encoding="utf-8")


def parse(text):
    """docutils' document tree of RST without Sphinx roles; parse problems raise instead of warning."""
    return publish_doctree(text, settings_overrides={"halt_level": 2, "report_level": 5})


def test_guide_missing_from_extra_docs_fails_naming_the_guide(tmp_path, capsys):
    root = make_collection(tmp_path, {"docs/a.md": "# A\n", "docs/sub/b.md": "# B\n"}, ["a"])
    assert guides_tool.main([str(root)]) == 1
    err = capsys.readouterr().err
    assert "docs/sub/b.md is a guide but docs/docsite/extra-docs.yml does not list it" in err
    assert "`- sub/b`" in err
    assert not (root / "docs" / "docsite" / "rst").exists()


def test_extra_docs_naming_a_guide_that_does_not_exist_fails(tmp_path, capsys):
    root = make_collection(tmp_path, {"docs/a.md": "# A\n"}, ["a", "gone"])
    assert guides_tool.main([str(root)]) == 1
    assert "lists 'gone' but docs/gone.md does not exist" in capsys.readouterr().err


def test_front_page_is_not_an_extra_doc_and_renders_without_labels(tmp_path):
    root = make_collection(tmp_path, {"docs/README.md": "# Start\n\nRead [a](a.md).\n", "docs/a.md": "# A\n"}, ["a"])
    front = tmp_path / "index.rst"
    assert guides_tool.main([str(root), "--front-page", str(front)]) == 0
    assert not (root / "docs" / "docsite" / "rst" / "README.rst").exists()
    text = front.read_text(encoding="utf-8")
    assert ".. _" not in text
    assert ":ref:`a <ansible_collections.gough.gough.docsite.a>`" in text
    assert "collections/gough/gough/index" in text


def test_links_become_refs_between_guides_and_paths_to_other_files(tmp_path):
    guide_a = ("# Guide A\n\nSee [the B part](modules/b.md#second-part), [modules/b.md](modules/b.md), "
               "[the README](../README.md) and [site](https://example.org/x).\n")
    root = make_collection(tmp_path, {"docs/a.md": guide_a, "README.md": "# Gough\n",
                                      "docs/modules/b.md": "# B\n\n## Second part\n\ntext\n"},
                           ["a", "modules/b"])
    assert guides_tool.main([str(root)]) == 0
    text = rst(root, "a")
    assert ":ref:`the B part <ansible_collections.gough.gough.docsite.modules.b.second-part>`" in text
    # A link whose text is the file name shows the guide's title in the site.
    assert ":ref:`ansible_collections.gough.gough.docsite.modules.b`" in text
    assert "the README (``README.md``)" in text
    assert "`site <https://example.org/x>`__" in text
    labels = rst(root, "modules/b")
    assert labels.index(".. _ansible_collections.gough.gough.docsite.modules.b:") < labels.index("B\n")
    assert ".. _ansible_collections.gough.gough.docsite.modules.b.second-part:" in labels


def test_link_to_a_heading_that_does_not_exist_fails_naming_guide_and_line(tmp_path, capsys):
    root = make_collection(tmp_path, {"docs/a.md": "# A\n\ntext\n\nsee [b](b.md#nope)\n", "docs/b.md": "# B\n"},
                           ["a", "b"])
    assert guides_tool.main([str(root)]) == 1
    assert "docs/a.md:5: link to b.md#nope: docs/b.md has no heading with anchor #nope" in capsys.readouterr().err


def test_markdown_structure_survives_as_the_same_rst_structure(tmp_path):
    guide = ("# Title\n\n"
             "1. first with `code`, **strong** and *em*\n"
             "2. second\n\n"
             "   - nested item\n\n"
             "- option-like: --check sends nothing\n\n"
             "| Key | Value_ |\n|---|---|\n| `a_b` | x *y* |\n\n"
             "```yaml\nkey: value\n```\n\n"
             "A paragraph with name_ and *stars and `ticks`, ending::\n")
    root = make_collection(tmp_path, {"docs/a.md": guide}, ["a"])
    assert guides_tool.main([str(root)]) == 0
    body = rst(root, "a").split("\n", 2)[2].replace(".. _ansible_collections.gough.gough.docsite.a:\n", "")
    body = body.replace(".. _ansible_collections.gough.gough.docsite.a.title:\n", "")
    tree = parse(body.replace(".. code-block:: yaml", ".. code:: yaml"))
    assert tree.next_node(nodes.title).astext() == "Title"
    enumerated = tree.next_node(nodes.enumerated_list)
    assert len(enumerated.children) == 2
    assert enumerated.next_node(nodes.literal).astext() == "code"
    assert enumerated.next_node(nodes.strong).astext() == "strong"
    assert enumerated.next_node(nodes.bullet_list).astext() == "nested item"
    bullets = list(tree.findall(nodes.bullet_list))
    assert bullets[-1].astext() == "option-like: --check sends nothing"
    table = tree.next_node(nodes.table)
    assert [entry.astext() for entry in table.findall(nodes.entry)] == ["Key", "Value_", "a_b", "x y"]
    assert tree.next_node(nodes.literal_block).astext() == "key: value"
    last = list(tree.findall(nodes.paragraph))[-1]
    assert last.astext() == "A paragraph with name_ and *stars and ticks, ending::"


def test_code_block_pygments_cannot_lex_is_highlighted_as_text(tmp_path):
    guide = ("# A\n\n```console\n$ ansible localhost -a '{\"a\": 1,\n    \"b\": 2}'\n```\n\n"
             "```console\n$ make docs\n```\n")
    root = make_collection(tmp_path, {"docs/a.md": guide}, ["a"])
    assert guides_tool.main([str(root)]) == 0
    text = rst(root, "a")
    assert text.index(".. code-block:: text") < text.index(".. code-block:: console")


def test_link_to_a_file_that_does_not_exist_fails(tmp_path, capsys):
    root = make_collection(tmp_path, {"docs/a.md": "# A\n\nsee [x](../roles/gone/README.md)\n"}, ["a"])
    assert guides_tool.main([str(root)]) == 1
    assert "docs/a.md:3: link to ../roles/gone/README.md: roles/gone/README.md does not exist" in \
        capsys.readouterr().err


def test_a_picture_is_named_by_its_alt_text_and_path_and_must_exist(tmp_path, capsys):
    root = make_collection(tmp_path, {"docs/a.md": "# A\n\n![The report](shot.png)\n", "docs/shot.png": "png"},
                           ["a"])
    assert guides_tool.main([str(root)]) == 0
    assert "The report (``docs/shot.png``)" in rst(root, "a")
    parse(rst(root, "a"))
    (root / "docs" / "shot.png").unlink()
    assert guides_tool.main([str(root)]) == 1
    assert "docs/a.md:3: image shot.png: docs/shot.png does not exist" in capsys.readouterr().err


def test_pipe_inside_code_in_a_table_must_be_escaped(tmp_path, capsys):
    """GFM ends a table cell at a | even inside `code`, unless written \\|; GitHub then shows a stray backtick."""
    broken = "# A\n\n| a | b |\n|---|---|\n| x | `m|f d` |\n"
    root = make_collection(tmp_path, {"docs/a.md": broken}, ["a"])
    assert guides_tool.main([str(root)]) == 1
    assert "docs/a.md:5: a table cell has an unmatched backtick" in capsys.readouterr().err
    root = make_collection(tmp_path, {"docs/a.md": broken.replace("m|f", "m\\|f")}, ["a"])
    assert guides_tool.main([str(root)]) == 0
    assert "``m|f d``" in rst(root, "a")


def test_unknown_code_language_fails_naming_guide_and_line(tmp_path, capsys):
    root = make_collection(tmp_path, {"docs/a.md": "# A\n\n```cobol\nX\n```\n"}, ["a"])
    assert guides_tool.main([str(root)]) == 1
    assert "docs/a.md:3: code language 'cobol'" in capsys.readouterr().err


def test_repository_guides_all_convert_and_every_guide_is_listed(tmp_path):
    """Gough's own guides: every one listed, every relative link and anchor resolving, all of it convertible."""
    front = tmp_path / "index.rst"
    out = tmp_path / "rst"
    assert guides_tool.main([ROOT, "--front-page", str(front), "--rst-dir", str(out)]) == 0
    written = sorted(os.path.relpath(os.path.join(d, f), out) for d, _dirs, files in os.walk(out) for f in files)
    assert written == sorted(ref + ".rst" for ref in guides_tool.extra_docs_refs(ROOT))
    assert "Gough" in front.read_text(encoding="utf-8").split("\n")[3]


@pytest.mark.parametrize("text", ["Intro", "Intro — dash"])
def test_heading_underline_is_at_least_as_long_as_the_title(tmp_path, text):
    root = make_collection(tmp_path, {"docs/a.md": f"# A\n\n## {text}\n"}, ["a"])
    assert guides_tool.main([str(root)]) == 0
    lines = rst(root, "a").split("\n")
    title = lines.index(text)
    assert len(lines[title + 1]) >= len(text) and set(lines[title + 1]) == {"="}
