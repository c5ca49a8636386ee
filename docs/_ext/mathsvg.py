"""Render the math of the docs to SVG at build time, with matplotlib.

The pages read offline: no MathJax from a CDN, no LaTeX installation.
matplotlib's mathtext (Computer Modern glyphs, shipped with matplotlib)
draws each ``:math:`` role and ``.. math::`` block to an SVG file under
``_images/math/``; the ``<img>`` keeps the TeX source as its alt text and
sits on the text's baseline. mathtext knows most of TeX's math, not all:
the few spellings it lacks are rewritten (``_SPELLINGS``), and a formula it
cannot draw is a build warning, so ``sphinx-build -W`` fails on it.
"""

import hashlib
import html
import re
from pathlib import Path

from sphinx.errors import ExtensionError
from sphinx.util import logging

logger = logging.getLogger(__name__)

# TeX spellings that mathtext lacks -> what it draws the same way.
_SPELLINGS = {
    r"\lVert": r"\Vert",
    r"\rVert": r"\Vert",
    r"\big": "",
    r"\Big": "",
    r"\ge": r"\geq",
    r"\le": r"\leq",
}
_SPELLING = re.compile(
    "|".join(re.escape(k) + r"(?![A-Za-z])" for k in sorted(_SPELLINGS, key=len)[::-1])
)
FONT_SIZE = 13.5  # points: about the body text's size
SCALE = 10  # parse at 10x72 dpi, for tenth-of-a-point metrics


def _mathtext(latex, display):
    """``latex`` on one line, in the spellings mathtext knows."""
    latex = " ".join(latex.split())
    if display:  # TeX's display style: full-size fractions
        latex = re.sub(r"\\frac(?![A-Za-z])", r"\\dfrac", latex)
    return _SPELLING.sub(lambda m: _SPELLINGS[m.group(0)], latex)


def _render(app, latex, display):
    """Write ``latex`` as an SVG file; its name, height and depth (pt)."""
    import matplotlib
    from matplotlib.font_manager import FontProperties
    from matplotlib.mathtext import MathTextParser, math_to_image

    text = f"${_mathtext(latex, display)}$"
    digest = hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]
    name = f"{digest}.svg"
    folder = Path(app.builder.outdir) / app.builder.imagedir / "math"
    folder.mkdir(parents=True, exist_ok=True)
    with matplotlib.rc_context({"mathtext.fontset": "cm", "svg.fonttype": "path"}):
        prop = FontProperties(size=FONT_SIZE)  # takes the fontset from rcParams
        _, height, depth, *_ = MathTextParser("path").parse(text, 72 * SCALE, prop)
        if not (folder / name).exists():
            math_to_image(text, folder / name, prop=prop, dpi=72, format="svg")
    return name, height / SCALE, depth / SCALE


def _img(self, node, latex, css_class):
    try:
        name, height, depth = _render(self.builder.app, latex, css_class != "math")
    except Exception as exc:  # mathtext raises ValueError and pyparsing's errors
        logger.warning(
            "mathtext cannot draw %r: %s", latex, str(exc).splitlines()[-1],
            location=node,
        )
        return f'<code class="{css_class}">{html.escape(latex)}</code>'
    src = f"{self.builder.imgpath}/math/{name}"
    return (
        f'<img class="{css_class}" src="{src}" alt="{html.escape(latex)}" '
        f'style="height: {height:.1f}pt; vertical-align: -{depth:.1f}pt"/>'
    )


def html_visit_math(self, node):
    self.body.append(_img(self, node, node.astext(), "math"))
    raise _skip()


def html_visit_displaymath(self, node):
    # Equations separated by a blank line are drawn one under the other.
    parts = [p for p in re.split(r"\n\s*\n", node.astext()) if p.strip()]
    self.body.append(self.starttag(node, "div", CLASS="math-display"))
    for part in parts:
        self.body.append(f"<p>{_img(self, node, part, 'math-block')}</p>")
    self.body.append("</div>\n")
    raise _skip()


def _skip():
    from docutils import nodes

    return nodes.SkipNode


def setup(app):
    try:
        import matplotlib  # noqa: F401
    except ImportError as exc:
        raise ExtensionError("mathsvg needs matplotlib (the docs extra)") from exc
    app.add_html_math_renderer(
        "mathsvg",
        (html_visit_math, None),
        (html_visit_displaymath, None),
    )
    return {"parallel_read_safe": True, "parallel_write_safe": True}
