"""Sphinx configuration of the spikelearn documentation.

Build with ``make docs`` (or ``sphinx-build -W --keep-going -b html docs docs/_build/html``).
The gallery (``examples/plot_*.py``) is executed during the build; the CLI reference is
rendered from the typer app by ``_ext/typer_cli.py``; the API reference is generated from the
docstrings (autosummary + numpydoc).
"""

import os
import sys
from pathlib import Path

import spikelearn

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS / "_ext"))

# Gallery and autodoc run without a display and without GPU chatter.
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

project = "spikelearn"
author = "the spikelearn developers"
copyright = "2025, the spikelearn developers"
release = spikelearn.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "optional_pages",
    "typer_cli",
]

exclude_patterns = ["_build", "gen_modules/*.examples"]
templates_path = ["_templates"]
html_static_path = ["_static"]
html_css_files = ["spikelearn.css"]

# -- API reference ----------------------------------------------------------------------------
autosummary_generate = True
autosummary_imported_members = False
autodoc_default_options = {"members": True, "inherited-members": False, "show-inheritance": True}
autodoc_typehints = "none"  # the numpydoc sections carry the types
numpydoc_show_class_members = False
numpydoc_xref_param_type = False
numpydoc_validation_checks = set()

# -- Gallery ----------------------------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    # SPIKELEARN_DOCS_EXAMPLES (a regex) runs only some examples, for quick local builds;
    # the others then appear with their code but without output.
    "filename_pattern": os.environ.get("SPIKELEARN_DOCS_EXAMPLES", r"/plot_"),
    "ignore_pattern": r"__init__\.py",
    "abort_on_example_error": True,
    "only_warn_on_example_error": False,
    "download_all_examples": False,
    "remove_config_comments": True,
    "matplotlib_animations": False,
    "within_subsection_order": "FileNameSortKey",
    "min_reported_time": 1,
    "write_computation_times": False,
    "show_memory": False,
    "image_scrapers": ("matplotlib",),
    "reset_modules": ("matplotlib",),
    "doc_module": ("spikelearn",),
    "backreferences_dir": "gen_modules/backreferences",
}


# -- HTML -------------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"spikelearn {release}"
html_theme_options = {
    "navbar_align": "left",
    "show_toc_level": 2,
    "navigation_with_keys": False,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
# Pages without sub-pages need no section navigation; gallery pages use the width for output.
html_sidebars = {"index": [], "getting_started": [], "cli": [], "api": [],
                 "auto_examples/*": []}
html_show_sourcelink = False
pygments_style = "sphinx"
