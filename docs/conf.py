"""Sphinx configuration for the audiosr documentation.

Build with ``make docs`` (HTML in ``docs/_build/html``). The build is offline:
intersphinx is not enabled and the gallery examples use only shipped data.
"""

import os
import sys
from datetime import date

import matplotlib

matplotlib.use("Agg")

sys.path.insert(0, os.path.abspath(".."))

import audiosr  # noqa: E402

project = "audiosr"
author = "The audiosr developers"
copyright = f"{date.today().year}, {author}"
version = release = audiosr.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "sphinx.ext.mathjax",
]

templates_path = []
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]
root_doc = "index"

# -- autodoc / autosummary / numpydoc -------------------------------------------
autosummary_generate = True
autodoc_default_options = {"inherited-members": False}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False

# -- sphinx-gallery -------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": "/plot_",
    "matplotlib_animations": False,
    "image_scrapers": ("matplotlib",),
    "download_all_examples": False,
    "remove_config_comments": True,
}

# -- HTML -----------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"audiosr {release}"
html_static_path = []
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
}
