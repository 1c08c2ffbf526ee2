"""Fast checks of the documentation sources; the full build is ``make docs``."""

from __future__ import annotations

import ast
import inspect
import re
import sys
from pathlib import Path

import pytest

import spikelearn

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
EXAMPLES = ROOT / "examples"
GENERATED = ("_build", "auto_examples", "gen_modules", "_templates")
GALLERY_SCRIPTS = sorted(EXAMPLES.glob("plot_*.py"))


def _extension(name):
    pytest.importorskip("sphinx")
    sys.path.insert(0, str(DOCS / "_ext"))
    try:
        return __import__(name)
    finally:
        sys.path.remove(str(DOCS / "_ext"))


def _rst_documents():
    """Document names (path without .rst, relative to docs/) of the hand-written pages."""
    return {str(path.relative_to(DOCS).with_suffix("")) for path in DOCS.rglob("*.rst")
            if not any(part in GENERATED for part in path.relative_to(DOCS).parts)}


def _toctree_entries(document):
    """Targets listed in the toctrees of ``document``, as document names, optional ones resolved."""
    optional_pages = _extension("optional_pages")
    path = DOCS / f"{document}.rst"
    source = optional_pages.resolve(path.read_text(encoding="utf-8"), path.parent, DOCS)
    entries, inside = [], False
    for line in source.splitlines():
        if line.startswith(".. toctree::"):
            inside = True
        elif inside and line and not line[0].isspace():
            inside = False
        elif inside and line.strip() and not line.strip().startswith(":"):
            target = line.strip()
            base = Path(document).parent
            entries.append(target.lstrip("/") if target.startswith("/")
                           else str(base / target) if str(base) != "." else target)
    return entries


def test_gallery_has_the_four_examples():
    names = {path.stem for path in GALLERY_SCRIPTS}
    assert {"plot_edge_learning_kws", "plot_keras_to_engine", "plot_learning_parameters",
            "plot_sparsity_and_cost"} <= names
    assert (EXAMPLES / "GALLERY_HEADER.rst").is_file()


@pytest.mark.parametrize("script", GALLERY_SCRIPTS, ids=lambda path: path.name)
def test_gallery_script_compiles_and_has_a_titled_docstring(script):
    source = script.read_text(encoding="utf-8")
    tree = ast.parse(source, filename=str(script))
    compile(tree, str(script), "exec")
    docstring = ast.get_docstring(tree)
    assert docstring, f"{script.name} needs a module docstring (the gallery page's intro)"
    title, underline = docstring.strip().splitlines()[:2]
    assert set(underline) == {"="} and len(underline) >= len(title), \
        f"{script.name}: the docstring must start with a '=' underlined title"
    assert "numpy.random.seed" not in source and "np.random.seed" not in source, \
        f"{script.name}: use seeded generators (numpy.random.default_rng)"


@pytest.mark.parametrize("name", [n for n in spikelearn.__all__ if n != "__version__"])
def test_every_public_name_has_a_docstring(name):
    obj = getattr(spikelearn, name)
    assert inspect.getdoc(obj), f"spikelearn.{name} has no docstring"


def test_public_model_methods_have_docstrings():
    missing = [name for name, member in inspect.getmembers(spikelearn.Model)
               if not name.startswith("_") and callable(member) and not inspect.getdoc(member)]
    assert not missing, f"spikelearn.Model methods without a docstring: {missing}"


def test_api_reference_lists_every_public_name():
    api = (DOCS / "api.rst").read_text(encoding="utf-8")
    listed = set(re.findall(r"^   ([\w.]+)$", api, flags=re.MULTILINE))
    missing = [n for n in spikelearn.__all__ if n != "__version__" and n not in listed]
    assert not missing, f"docs/api.rst does not list: {missing}"


def test_every_page_is_in_a_toctree():
    documents = _rst_documents()
    listed = set()
    for document in documents:
        listed.update(_toctree_entries(document))
    generated = {"auto_examples/index"}
    assert not (listed - documents - generated), \
        f"toctree entries without a page: {sorted(listed - documents - generated)}"
    assert not (documents - listed - {"index"}), \
        f"pages in no toctree: {sorted(documents - listed - {'index'})}"


def test_optional_toctree_entries_resolve_against_existing_files(tmp_path):
    optional_pages = _extension("optional_pages")
    (tmp_path / "present.rst").write_text("Present\n=======\n")
    source = ".. toctree::\n\n   first\n   optional: present\n   optional: /absent\n"
    assert optional_pages.resolve(source, tmp_path, tmp_path) == \
        ".. toctree::\n\n   first\n   present\n\n"


def test_cli_reference_covers_every_command():
    typer_cli = _extension("typer_cli")
    from spikelearn.cli import app

    paths = [path for path, _ in typer_cli.command_paths(app)]
    assert () in paths and ("convert",) in paths and ("demo",) in paths
    text = typer_cli.render_help(app, ("convert",), "spikelearn")
    assert "Usage: spikelearn convert" in text
    assert all(line == line.rstrip() for line in text.splitlines())
