"""The documentation builds without a single warning.

Runs ``sphinx-build -W -b html -D plot_gallery=0`` (the gallery pages are
generated from the examples without running them; ``test_examples.py`` runs
them) on a copy of ``docs/`` and ``examples/``, so that the build leaves no
generated files in the checkout. ``docs/conf.py`` documents the package
copied beside it.
"""

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

# Long-running, but run in CI like every test (see pyproject markers).
pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
DOC_EXTENSIONS = ("sphinx", "numpydoc", "sphinx_gallery", "pydata_sphinx_theme")
GENERATED = ("_build", "generated", "auto_examples", "sg_execution_times.rst")


@pytest.mark.skipif(
    any(importlib.util.find_spec(name) is None for name in DOC_EXTENSIONS),
    reason="the docs extra is not installed (pip install '.[docs]')",
)
def test_docs_build_without_warnings(tmp_path):
    shutil.copytree(
        REPO / "docs", tmp_path / "docs", ignore=shutil.ignore_patterns(*GENERATED)
    )
    shutil.copytree(REPO / "examples", tmp_path / "examples")
    # the user guide includes the data set description from the package
    shutil.copytree(
        REPO / "sklearn_mbm",
        tmp_path / "sklearn_mbm",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    env = dict(os.environ)
    env["MPLBACKEND"] = "Agg"
    out = tmp_path / "html"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "sphinx",
            "-W",
            "--keep-going",
            "-q",
            "-b",
            "html",
            "-D",
            "plot_gallery=0",
            str(tmp_path / "docs"),
            str(out),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, (
        f"sphinx-build failed (exit {proc.returncode}):\n{proc.stderr[-8000:]}"
    )
    for page in (
        "index.html",
        "install.html",
        "api.html",
        "user_guide/fusion.html",
        "auto_examples/index.html",
        "generated/sklearn_mbm.fusion.FusionTransformer.html",
    ):
        assert (out / page).is_file(), f"{page} was not built"


def test_api_reference_lists_every_public_name():
    """docs/api.rst has an autosummary entry for each public name."""
    import sklearn_mbm
    import sklearn_mbm.inspection
    import sklearn_mbm.plotting

    api = (REPO / "docs" / "api.rst").read_text(encoding="utf-8")
    entries = {
        line.strip().rsplit(".", 1)[-1]
        for line in api.splitlines()
        if line.startswith("   ") and "." in line and not line.strip().startswith(":")
    }
    public = {name for name in sklearn_mbm.__all__ if name != "__version__"}
    public |= set(sklearn_mbm.inspection.__all__) | set(sklearn_mbm.plotting.__all__)
    assert public - entries == set(), "missing from docs/api.rst"


# -- the pages' code runs as written ------------------------------------------

PAGES = sorted(
    p
    for p in (REPO / "docs").glob("**/*.rst")
    if not set(p.relative_to(REPO / "docs").parts) & set(GENERATED)
)
MAX_LINE = 79  # wider lines are cut on a 1,300 px screen
_DIRECTIVE = re.compile(r"^(\s*)\.\. code-block::\s*(\S*)\s*$")
# a paragraph ending in "::" (not a directive such as ".. math::")
_LITERAL = re.compile(r"^\s*(?!\.\.\s)\S.*::\s*$|^\s*::\s*$")


def code_blocks(text):
    """``(line, language, code)`` of each code block of a reST page.

    ``.. code-block:: LANG`` blocks have that language; literal blocks
    (a paragraph ending in ``::``) are Python, as Sphinx highlights them.
    """
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        directive = _DIRECTIVE.match(lines[i])
        literal = _LITERAL.match(lines[i])
        if not directive and not literal:
            i += 1
            continue
        indent = len(lines[i]) - len(lines[i].lstrip())
        language = directive.group(2) if directive else "python"
        start = i + 1
        i += 1
        while i < len(lines) and lines[i].strip() and lines[i].lstrip().startswith(":"):
            i += 1  # the directive's options
        body = []
        while i < len(lines) and (
            not lines[i].strip() or len(lines[i]) - len(lines[i].lstrip()) > indent
        ):
            body.append(lines[i])
            i += 1
        code = textwrap.dedent("\n".join(body)).strip("\n")
        if code:
            yield start, language, code


def page_script(page):
    """The page's Python blocks as one script, in order, sharing names.

    Blocks written as an interactive session (``>>>``) are checked with
    doctest, their printed output included.
    """
    parts = [
        "import doctest\n\n"
        "def _doctest(text, globs, name, line):\n"
        "    test = doctest.DocTestParser().get_doctest(\n"
        "        text, globs, name, name, line)\n"
        "    runner = doctest.DocTestRunner(\n"
        "        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)\n"
        "    runner.run(test, clear_globs=False)\n"
        "    if runner.failures:\n"
        "        raise SystemExit(f'{name}:{line}: doctest failed')\n"
    ]
    name = page.relative_to(REPO).as_posix()
    for line, language, code in code_blocks(page.read_text(encoding="utf-8")):
        if language not in ("python", "pycon"):
            continue
        if code.lstrip().startswith(">>>"):
            parts.append(f"_doctest({code!r}, globals(), {name!r}, {line})")
        else:
            parts.append(f"# {name}:{line}\n{code}")
    return "\n\n".join(parts) + "\n"


@pytest.mark.parametrize(
    "page", PAGES, ids=[p.relative_to(REPO / "docs").as_posix() for p in PAGES]
)
def test_page_code_fits_the_page(page):
    long = [
        f"{page.name}:{line + n}: {len(text)} characters"
        for line, _, code in code_blocks(page.read_text(encoding="utf-8"))
        for n, text in enumerate(code.splitlines(), start=1)
        if len(text) > MAX_LINE
    ]
    assert not long, "code lines longer than 79 characters:\n" + "\n".join(long)


PYTHON_PAGES = [
    p
    for p in PAGES
    if any(lang == "python" for _, lang, _ in code_blocks(p.read_text("utf-8")))
]


@pytest.mark.parametrize(
    "page",
    PYTHON_PAGES,
    ids=[p.relative_to(REPO / "docs").as_posix() for p in PYTHON_PAGES],
)
def test_page_snippets_run(page, tmp_path):
    """Each page's Python snippets run in order, as a reader would paste them.

    They run through ``tests/_run_example.py`` (150 of the sample's 600
    records, as the examples in the smoke tests), in an empty folder.
    """
    script = tmp_path / (page.stem + "_snippets.py")
    script.write_text(page_script(page), encoding="utf-8")
    env = dict(os.environ)
    env.update(
        MPLBACKEND="Agg",
        OMP_NUM_THREADS="1",
        OPENBLAS_NUM_THREADS="1",
        TF_CPP_MIN_LOG_LEVEL="3",
        PYTHONPATH=os.pathsep.join(
            [str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])]
        ),
        KERAS_HOME=str(tmp_path / "keras"),
        MPLCONFIGDIR=str(tmp_path / "matplotlib"),
    )
    proc = subprocess.run(
        [sys.executable, str(REPO / "tests" / "_run_example.py"), str(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, (
        f"{page.relative_to(REPO)}: a snippet failed:\n"
        f"{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
    )
