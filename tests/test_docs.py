"""Checks of the documentation's sources that a page at 1280 px once got wrong (no Sphinx build here).

The build itself runs in ``make docs`` (warnings are errors); these tests keep the
layout fixes from regressing: equations that fit the text column, diagrams whose
text stays legible at that width, a gallery thumbnail for every example, and a
section navigation on user-guide pages.
"""

from __future__ import annotations

import ast
import importlib.util
import re
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
EXAMPLES = DOCS.parent / "examples"
# The pydata theme's text column at a 1280-px window, with both sidebars: about 620 px.
COLUMN_PX = 640


def _display_math(rst):
    """The TeX of every ``.. math::`` block of an rST file, one string per block."""
    blocks, lines = [], rst.read_text().splitlines()
    for i, line in enumerate(lines):
        if line.strip() == ".. math::":
            indent = len(line) - len(line.lstrip())
            body = []
            for follow in lines[i + 1 :]:
                if follow.strip() and len(follow) - len(follow.lstrip()) <= indent:
                    break
                body.append(follow.strip())
            blocks.append(" ".join(b for b in body if b))
    return blocks


def _visible_length(tex):
    """Rough count of rendered characters: commands, braces and spacing give none."""
    tex = re.sub(r"\\(left|right|big|Big|mathrm|text|quad|qquad|;|,|!)", "", tex)
    tex = re.sub(r"\\[a-zA-Z]+", "x", tex)  # \sum, \sqrt, \ln ... one glyph each
    tex = re.sub(r"[_^]\{[^}]*\}", "", tex)  # sub- and superscripts are small
    return len(re.sub(r"[{}\s_^]", "", tex))


@pytest.mark.parametrize("page", sorted((DOCS / "user_guide").glob("*.rst")), ids=lambda p: p.name)
def test_display_equations_fit_the_text_column(page):
    # The default LSD and the Kuleshov formula were cut off at 1280 px: 43 and 44 by
    # this count; the widest that fit (SNR, tfnet2018, the split ones) count 28 to 34.
    for tex in _display_math(page):
        assert _visible_length(tex) <= 36, f"{page.name}: split this equation: {tex}"


def test_wide_display_equations_scroll_instead_of_being_cut():
    conf = (DOCS / "conf.py").read_text()
    assert '"audiosr.css"' in conf and '"_static"' in conf
    css = (DOCS / "_static" / "audiosr.css").read_text()
    assert 'mjx-container[display="true"]' in css and "overflow-x: auto" in css


@pytest.fixture(scope="module")
def figures():
    spec = importlib.util.spec_from_file_location("docs_figures", DOCS / "_figures.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", ["dualbranch.png", "audiounet.png", "spectraldnn.png"])
def test_model_diagrams_are_legible_in_the_text_column(figures, name, tmp_path, monkeypatch):
    # DualBranchSR's diagram was 1,045 px wide with 8-pt text: shrunk to the column,
    # its text was about 7 px high. Now each fits the column at its drawn size.
    from PIL import Image

    sizes = []
    original = figures._Diagram.__init__

    def record(self, *args, **kwargs):
        original(self, *args, **kwargs)
        sizes.append(self.fontsize)

    monkeypatch.setattr(figures._Diagram, "__init__", record)
    figures.DIAGRAMS[name](tmp_path / name)
    width, _ = Image.open(tmp_path / name).size
    assert width <= COLUMN_PX, f"{name} is {width} px wide: it would be shrunk in a {COLUMN_PX}-px column"
    assert sizes == [11]  # points at 100 dpi: about 15 px


def _makes_a_figure(path):
    tree = ast.parse(path.read_text())
    calls = {
        getattr(node.func, "attr", getattr(node.func, "id", None))
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
    }
    # plotting.plot_spectrograms and plt.subplots/figure both end in a matplotlib figure.
    return bool(calls & {"subplots", "figure", "plot_spectrograms"}) or "sphinx_gallery_thumbnail_path" in path.read_text()


@pytest.mark.parametrize("example", sorted(EXAMPLES.glob("plot_*.py")), ids=lambda p: p.name)
def test_every_gallery_example_has_a_thumbnail(example):
    # "One result, three LSD conventions" printed numbers only: its card showed the placeholder.
    assert _makes_a_figure(example), f"{example.name} makes no figure: its gallery card has no thumbnail"


def test_user_guide_pages_share_a_section():
    # With every user-guide page at the top of the site's toctree, the theme's
    # "Section Navigation" was empty on them; they are now one section.
    index = (DOCS / "user_guide" / "index.rst").read_text()
    listed = set(re.findall(r"^   (\w+)$", index, flags=re.M))
    pages = {p.stem for p in (DOCS / "user_guide").glob("*.rst")} - {"index"}
    assert listed == pages
    root = (DOCS / "index.rst").read_text()
    assert "user_guide/index" in root and not re.search(r"user_guide/(?!index)\w+$", root, flags=re.M)
    conf = (DOCS / "conf.py").read_text()
    assert "html_sidebars" in conf  # single pages drop the empty sidebar
