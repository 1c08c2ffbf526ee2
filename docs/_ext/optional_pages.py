"""Toctree entries for pages that other contributors may not have written yet.

A toctree line ``optional: name`` becomes ``name`` when ``name.rst`` exists next to the
document that holds the toctree (``optional: /name``: in the source root), and is dropped
otherwise: a missing toctree target, or a page
left out of every toctree, would be a warning, and the build treats warnings as errors.
"""

import re
from pathlib import Path

PATTERN = re.compile(r"^(?P<indent>[ \t]+)optional:[ \t]*(?P<target>\S+)[ \t]*$", re.MULTILINE)


def resolve(source, folder, root):
    """``source`` with each ``optional:`` line resolved against ``folder`` (or ``root``)."""

    def replace(match):
        target = match["target"]
        base = Path(root) if target.startswith("/") else Path(folder)
        exists = (base / f"{target.lstrip('/')}.rst").is_file()
        return f"{match['indent']}{target}" if exists else ""

    return PATTERN.sub(replace, source)


def _source_read(app, docname, source):
    folder = (Path(app.srcdir) / docname).parent
    source[0] = resolve(source[0], folder, app.srcdir)


def _always_reread(app, env, added, changed, removed):
    # Whether an optional page exists is not a dependency Sphinx can track: re-read the
    # documents that hold optional entries on every build.
    return [docname for docname in env.found_docs
            if PATTERN.search(Path(env.doc2path(docname)).read_text(encoding="utf-8"))]


def setup(app):
    app.connect("source-read", _source_read)
    app.connect("env-get-outdated", _always_reread)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
