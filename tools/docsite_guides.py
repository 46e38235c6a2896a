"""Turn Gough's Markdown guides (docs/**/*.md) into the collection's antsibull-docs extra docs.

The guides are written once, in Markdown, so that they read well where the repository is browsed. Collections
ship their guides as RST under docs/docsite/rst, listed in docs/docsite/extra-docs.yml; this script writes those
RST files into a laid-out collection (`make tree` runs it on .build/ansible_collections/gough/gough, which
`make build` packs and `make docs` renders). Links between guides become :ref: links; links to other repository
files become their path. docs/README.md is the manual's start page: it becomes the site's front page
(--front-page), not an extra doc.

Usage: docsite_guides.py COLLECTION_ROOT [--front-page INDEX_RST] [--rst-dir DIR]
It fails, naming the file, when a guide is missing from extra-docs.yml, extra-docs.yml names a guide that does
not exist, a relative link points at a file or heading that does not exist, or a guide uses Markdown this
converter cannot render.
"""

import argparse
import os
import posixpath
import re
import sys

import yaml
from markdown_it import MarkdownIt
from markdown_it.tree import SyntaxTreeNode
from pygments.lexers import get_lexer_by_name
from pygments.token import Error

LABEL_PREFIX = "ansible_collections.gough.gough.docsite."
FRONT_PAGE = "docs/README.md"
# Fenced code languages the guides use, mapped to Pygments lexer names Sphinx knows.
LANGUAGES = {"": "text", "text": "text", "console": "console", "sh": "shell", "shell": "shell", "yaml": "yaml",
             "json": "json", "python": "python", "ini": "ini", "jinja": "jinja"}
HEADING_CHARS = {1: "=", 2: "=", 3: "-", 4: "^", 5: '"', 6: "~"}


def highlight_language(language, code):
    """The language to highlight a code block with: its own, or text where Pygments cannot lex it.

    A console transcript whose command goes on over lines without a "> " prompt (docs/awx.md's launch commands,
    which tests/unit/awx reads as written) reads well but trips Pygments; Sphinx would warn, and warnings are fatal.
    """
    if language == "text":
        return language
    lexer = get_lexer_by_name(language)
    if any(token in Error for token, _value in lexer.get_tokens(code)):
        return "text"
    return language


class GuideError(Exception):
    """A guide or extra-docs.yml that cannot become part of the site; the message names the file."""


def github_slug(text, seen):
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to hyphens, -N when repeated."""
    slug = re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")
    base, count = slug, seen.get(slug, 0)
    if count:
        slug = f"{base}-{count}"
    seen[base] = count + 1
    return slug


def plain_text(node):
    """The text of an inline node and its children, without markup (for titles and anchors)."""
    if node.type in ("text", "code_inline", "html_inline"):
        return node.content
    if node.type in ("softbreak", "hardbreak"):
        return " "
    return "".join(plain_text(child) for child in node.children)


def escape(text):
    """Escape the characters RST would read as inline markup."""
    text = text.replace("\\", "\\\\")
    text = re.sub(r"([`*|])", r"\\\1", text)
    # `name_` is a reference and `_name` may start a target: escape an underscore at either edge of a word.
    text = re.sub(r"_(?=\W|$)|(?<=\W)_|^_", r"\\_", text)
    return text


class Guide:
    """One Markdown guide: its repository path, its extra-docs name and its parsed tree."""

    def __init__(self, root, path, ref):
        self.path = path
        self.ref = ref
        with open(os.path.join(root, path), encoding="utf-8") as handle:
            source = handle.read()
        parser = MarkdownIt("commonmark").enable("table")
        self.tree = SyntaxTreeNode(parser.parse(source))
        self.anchors = {}
        seen = {}
        for node in self.tree.walk():
            if node.type == "heading":
                self.anchors[github_slug(plain_text(node.children[0]), seen)] = node

    @property
    def label(self):
        return LABEL_PREFIX + self.ref.replace("/", ".")

    def anchor_label(self, anchor):
        """The RST label of a heading, given its GitHub anchor."""
        return f"{self.label}.{anchor}"


class Renderer:
    """Render one guide's Markdown tree as RST."""

    def __init__(self, root, guide, guides, with_labels=True):
        self.root = root
        self.guide = guide
        self.guides = guides
        self.with_labels = with_labels
        self.heading_labels = {id(node): anchor for anchor, node in guide.anchors.items()}
        self.first_heading = True
        self.line = 1

    def fail(self, node, message):
        # Inline nodes carry no line: name the line of the block they are in.
        line = node.map[0] + 1 if node.map else self.line
        raise GuideError(f"{self.guide.path}:{line}: {message}")

    # Inline content -------------------------------------------------------------------------------------------
    def inline(self, node):
        out = []
        for child in node.children:
            out.append(self.inline_node(child))
        text = "".join(out)
        # Inline markup needs whitespace or punctuation around it; "\ " is an invisible separator, dropped again
        # where a space or the line's edge already does the job.
        text = re.sub(r"(^|\s)\\ ", r"\1", text)
        text = re.sub(r"\\ (?=\s|$|[.,;:!?)\]}'\"/-])", "", text)
        text = re.sub(r"(?<=[(\[{'\"/-])\\ (?=[`*:])", "", text)
        return text.strip()

    def inline_node(self, node):
        kind = node.type
        if kind == "text":
            return escape(node.content)
        if kind in ("softbreak", "hardbreak"):
            return " "
        if kind == "code_inline":
            if "``" in node.content or node.content != node.content.strip() or not node.content:
                self.fail(node, f"inline code {node.content!r} cannot be written as an RST literal")
            return f"\\ ``{node.content}``\\ "
        if kind == "em":
            return f"\\ *{escape(plain_text(node))}*\\ "
        if kind == "strong":
            return f"\\ **{escape(plain_text(node))}**\\ "
        if kind == "link":
            return self.link(node)
        if kind == "html_inline":
            return escape(node.content)
        if kind == "image":
            return self.image(node)
        self.fail(node, f"inline Markdown {kind!r} has no RST rendering here")
        return ""

    def link(self, node):
        href = node.attrs.get("href", "")
        text = plain_text(node).strip()
        ref_text = re.sub(r"([`<>\\])", r"\\\1", text)
        if re.match(r"^[a-z][a-z0-9+.-]*:", href):
            if node.markup == "autolink" or text == href:
                return f"\\ {href}\\ "
            return f"\\ `{ref_text} <{href}>`__\\ "
        path, _hash, anchor = href.partition("#")
        if path:
            target = posixpath.normpath(posixpath.join(posixpath.dirname(self.guide.path), path))
        else:
            target = self.guide.path
        guide = self.guides.get(target)
        if guide is None and not os.path.exists(os.path.join(self.root, target)):
            self.fail(node, f"link to {href}: {target} does not exist")
        if guide is None or (target == FRONT_PAGE):
            # A repository file that is not a page of the site: name it.
            if text.strip("`") == target or text == path:
                return f"\\ ``{target}``\\ "
            return f"{escape(text)} (\\ ``{target}``\\ )"
        if anchor:
            if anchor not in guide.anchors:
                self.fail(node, f"link to {href}: {guide.path} has no heading with anchor #{anchor}")
            label = guide.anchor_label(anchor)
        else:
            label = guide.label
        if not anchor and text in (path, f"`{path}`"):
            # The link names the file: in the site, the guide's own title reads better.
            return f"\\ :ref:`{label}`\\ "
        return f"\\ :ref:`{ref_text} <{label}>`\\ "

    def image(self, node):
        """A picture in the repository's Markdown (a screenshot) is named by its alt text and path in the site,
        which carries the guides' text only; the file must exist."""
        src = node.attrs.get("src", "")
        if re.match(r"^[a-z][a-z0-9+.-]*:", src):
            self.fail(node, f"image {src}: only pictures in the repository can be shown")
        target = posixpath.normpath(posixpath.join(posixpath.dirname(self.guide.path), src))
        if not os.path.exists(os.path.join(self.root, target)):
            self.fail(node, f"image {src}: {target} does not exist")
        return f"{escape(plain_text(node).strip() or 'picture')} (\\ ``{target}``\\ )"

    # Blocks ---------------------------------------------------------------------------------------------------
    def blocks(self, node, indent=""):
        parts = []
        for child in node.children:
            rendered = self.block(child, indent)
            if rendered:
                parts.append(rendered)
        return "\n\n".join(parts)

    def block(self, node, indent):
        kind = node.type
        if node.map:
            self.line = node.map[0] + 1
        if kind == "heading":
            return self.heading(node, indent)
        if kind == "paragraph":
            text = self.inline(node.children[0])
            # A paragraph must not open like an RST list, field list, option list, comment or directive (markup
            # the renderer wrote itself, such as **strong**, stays as it is).
            first = node.children[0].children[0] if node.children[0].children else None
            if first is not None and first.type == "text" and \
                    re.match(r"^([-+•:>.#]|\d+[.)]\s|[a-zA-Z][.)]\s|\(\w+\)\s)", first.content):
                text = "\\" + text
            if text.endswith("::"):
                text = text[:-2] + "\\:\\:"
            return indent + text
        if kind in ("bullet_list", "ordered_list"):
            return self.list_(node, indent)
        if kind in ("fence", "code_block"):
            info = node.info.strip().split()[0] if node.info.strip() else ""
            if info not in LANGUAGES:
                self.fail(node, f"code language {info!r} is not one of {sorted(LANGUAGES)}")
            body = "\n".join((indent + "   " + line).rstrip() for line in node.content.rstrip("\n").split("\n"))
            return f"{indent}.. code-block:: {highlight_language(LANGUAGES[info], node.content)}\n\n{body}"
        if kind == "table":
            return self.table(node, indent)
        if kind == "blockquote":
            return self.blocks(node, indent + "   ")
        if kind == "hr":
            return f"{indent}----"
        if kind == "html_block" and node.content.lstrip().startswith("<!--"):
            return ""
        self.fail(node, f"Markdown block {kind!r} has no RST rendering here")
        return ""

    def heading(self, node, indent):
        if indent:
            self.fail(node, "a heading inside a list or quote cannot become an RST section")
        title = self.inline(node.children[0])
        level = int(node.tag[1])
        line = HEADING_CHARS[level] * (len(title) + 2)
        text = f"{title}\n{line}"
        if level == 1:
            text = f"{line}\n{text}"
        if not self.with_labels:
            return text
        labels = []
        if self.first_heading:
            labels.append(self.guide.label)
        self.first_heading = False
        labels.append(self.guide.anchor_label(self.heading_labels[id(node)]))
        return "\n".join(f".. _{label}:" for label in labels) + "\n\n" + text

    def list_(self, node, indent):
        items = []
        number = int(node.attrs.get("start", 1)) if node.type == "ordered_list" else None
        for item in node.children:
            marker = f"{number}. " if number is not None else "- "
            inner = indent + " " * len(marker)
            body = self.blocks(item, inner) if item.children else inner
            items.append(indent + marker + body[len(inner):])
            if number is not None:
                number += 1
        return "\n\n".join(items)

    def table(self, node, indent):
        rows = []
        header_rows = 0
        for section in node.children:
            for row in section.children:
                for cell in row.children:
                    if any(child.type == "text" and "`" in child.content for child in cell.walk()):
                        self.fail(row, "a table cell has an unmatched backtick: a | inside `code` in a table ends "
                                  "the cell (on GitHub too); write it \\|")
                rows.append([self.inline(cell.children[0]) if cell.children else "" for cell in row.children])
                if section.type == "thead":
                    header_rows += 1
        width = max(len(row) for row in rows)
        out = [f"{indent}.. list-table::", f"{indent}   :header-rows: {header_rows}", ""]
        for row in rows:
            row = row + [""] * (width - len(row))
            for position, cell in enumerate(row):
                lead = "* - " if position == 0 else "  - "
                out.append(f"{indent}   {lead}{cell}".rstrip())
        return "\n".join(out)

    def document(self):
        header = f".. Generated by tools/docsite_guides.py from {self.guide.path}: edit the Markdown instead.\n\n"
        return header + self.blocks(self.guide.tree) + "\n"


def extra_docs_refs(root):
    """Every toctree ref that docs/docsite/extra-docs.yml lists, in order."""
    path = os.path.join(root, "docs", "docsite", "extra-docs.yml")
    with open(path, encoding="utf-8") as handle:
        index = yaml.safe_load(handle) or {}
    refs = []
    for section in index.get("sections") or []:
        for entry in section.get("toctree") or []:
            refs.append(entry["ref"] if isinstance(entry, dict) else entry)
    return refs


def markdown_guides(root):
    """Repository paths of the Markdown guides: docs/**/*.md but the generated site and the front page."""
    found = []
    docs = os.path.join(root, "docs")
    for dirname, dirs, files in os.walk(docs):
        rel_dir = os.path.relpath(dirname, root)
        dirs[:] = sorted(d for d in dirs if posixpath.join(rel_dir, d) not in ("docs/build", "docs/docsite"))
        for name in sorted(files):
            if name.endswith(".md"):
                found.append(posixpath.join(rel_dir.replace(os.sep, "/"), name))
    return [path for path in found if path != FRONT_PAGE]


def load_guides(root):
    """Check that extra-docs.yml and docs/**/*.md list the same guides; parse them all (and the front page)."""
    refs = extra_docs_refs(root)
    paths = markdown_guides(root)
    problems = []
    for path in paths:
        ref = path[len("docs/"):-len(".md")]
        if ref not in refs:
            problems.append(f"{path} is a guide but docs/docsite/extra-docs.yml does not list it: add `- {ref}` to "
                            "a section's toctree")
    for ref in refs:
        if f"docs/{ref}.md" not in paths:
            problems.append(f"docs/docsite/extra-docs.yml lists {ref!r} but docs/{ref}.md does not exist")
    duplicated = sorted({ref for ref in refs if refs.count(ref) > 1})
    problems.extend(f"docs/docsite/extra-docs.yml lists {ref!r} more than once" for ref in duplicated)
    if problems:
        raise GuideError("\n".join(problems))
    guides = {path: Guide(root, path, path[len("docs/"):-len(".md")]) for path in paths}
    if os.path.isfile(os.path.join(root, FRONT_PAGE)):
        guides[FRONT_PAGE] = Guide(root, FRONT_PAGE, "index")
    return guides


FRONT_PAGE_TOCTREES = """

.. toctree::
   :maxdepth: 2
   :caption: The collection: guides and reference

   collections/gough/gough/index

.. toctree::
   :maxdepth: 1
   :caption: Indexes
   :glob:

   collections/index_*
   collections/environment_variables
"""


def main(argv=None):
    """Write docs/docsite/rst/<guide>.rst for every guide into COLLECTION_ROOT (and the front page if asked)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("root", help="collection root holding docs/ (the laid-out tree)")
    parser.add_argument("--front-page", help="also write docs/README.md as a Sphinx front page (index.rst) here")
    parser.add_argument("--rst-dir", help="write the extra docs here instead of ROOT/docs/docsite/rst")
    args = parser.parse_args(argv)
    try:
        rst_dir = args.rst_dir or os.path.join(args.root, "docs", "docsite", "rst")
        guides = load_guides(args.root)
        outputs = {}
        for path, guide in guides.items():
            if path == FRONT_PAGE:
                continue
            outputs[os.path.join(rst_dir, guide.ref + ".rst")] = \
                Renderer(args.root, guide, guides).document()
        if args.front_page:
            if FRONT_PAGE not in guides:
                raise GuideError(f"{FRONT_PAGE}, the front page, does not exist")
            front = Renderer(args.root, guides[FRONT_PAGE], guides, with_labels=False)
            outputs[args.front_page] = front.document().rstrip("\n") + FRONT_PAGE_TOCTREES
    except GuideError as exc:
        print(f"docsite_guides: {exc}", file=sys.stderr)
        return 1
    if os.path.isdir(rst_dir):
        # Only generated files live there: drop those whose guide is gone.
        for dirname, _dirs, files in os.walk(rst_dir):
            for name in files:
                if os.path.join(dirname, name) not in outputs:
                    os.remove(os.path.join(dirname, name))
    for target, text in outputs.items():
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "w", encoding="utf-8") as handle:
            handle.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
