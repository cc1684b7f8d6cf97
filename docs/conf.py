"""Sphinx configuration for the audiosr documentation.

Build with ``make docs`` (HTML in ``docs/_build/html``). The build is offline:
intersphinx is not enabled, the gallery examples use only shipped data, the
model diagrams are drawn with matplotlib (``_figures.py``), and MathJax is served
from the built site (``sphinx-mathjax-offline``), not from a CDN.

Two folders are generated here at every build (both ignored by git):

* ``_diagrams/``: the data-flow figures of the neural models;
* ``benchmarks/``: a copy of the Markdown reports in ``../benchmarks/results``
  (and the images they show) that exist at build time, read by ``myst_parser``;
  ``benchmarks.rst`` lists them through the generated ``benchmarks/toctree.inc``.
"""

import filecmp
import shutil
import sys
from datetime import date
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from _figures import draw_all  # noqa: E402

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
    "sphinx-mathjax-offline",
    "myst_parser",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]
root_doc = "index"
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}

# -- autodoc / autosummary / numpydoc -------------------------------------------
# Class pages come from _templates/autosummary/class.rst, which lists the methods
# (the estimator's own and the scikit-learn API it inherits) and documents each
# one; numpydoc's own member tables are off so that nothing is listed twice.
autosummary_generate = True
autodoc_default_options = {"inherited-members": False}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
# Properties of the dataclasses (their fields are not class attributes; see class.rst).
autosummary_context = {
    "dataclass_properties": {"audiosr.Bandwidth": ["full_band"], "audiosr.planning.Plan": [], "audiosr.batch.FileResult": []},
}

# -- Markdown (the benchmark reports) -------------------------------------------
myst_enable_extensions = []
myst_heading_anchors = 2

# -- sphinx-gallery -------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": "/plot_",
    "matplotlib_animations": False,
    "image_scrapers": ("matplotlib",),
    "download_all_examples": False,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
}

# -- HTML -----------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"audiosr {release}"
html_static_path = ["_static"]
html_css_files = ["audiosr.css"]
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
}
# The left sidebar shows the pages of the current section (the user guide's, the
# gallery's, the API's); single pages have none, so it is left out there instead
# of showing an empty "Section Navigation".
html_sidebars = {page: [] for page in ("index", "install", "quickstart", "search", "genindex")}

# -- generated sources ----------------------------------------------------------

draw_all(HERE / "_diagrams")

#: Benchmark reports in the order the Benchmarks page lists them; reports not
#: named here follow in alphabetical order.
BENCHMARK_ORDER = ["quality", "speed", "neural_sizes", "dualbranch_quickcheck"]


def _sync_benchmarks(results=HERE.parent / "benchmarks" / "results", dest=HERE / "benchmarks"):
    """Copy the existing benchmark reports (and their images) and write the toctree that lists them.

    Files are copied only when they changed, so an unchanged report is not
    re-read; copies of reports that no longer exist are removed.
    """
    dest.mkdir(exist_ok=True)
    wanted = {}
    if results.is_dir():
        for path in results.iterdir():
            if path.is_file() and path.suffix.lower() in (".md", ".png", ".svg", ".jpg"):
                wanted[path.name] = path
    for old in dest.iterdir():
        if old.is_file() and old.name not in wanted and old.name != "toctree.inc":
            old.unlink()
    for name, src in wanted.items():
        target = dest / name
        if not target.exists() or not filecmp.cmp(src, target, shallow=False):
            shutil.copyfile(src, target)

    def order(stem):
        return (BENCHMARK_ORDER.index(stem) if stem in BENCHMARK_ORDER else len(BENCHMARK_ORDER), stem)

    reports = sorted((Path(n).stem for n in wanted if n.endswith(".md")), key=order)
    if reports:
        lines = [".. toctree::", "   :maxdepth: 1", ""] + [f"   benchmarks/{r}" for r in reports]
    else:
        lines = ["No benchmark report has been written yet."]
    text = "\n".join(lines) + "\n"
    toc = dest / "toctree.inc"
    if not toc.exists() or toc.read_text() != text:
        toc.write_text(text)


_sync_benchmarks()
