"""Sphinx configuration of the sklearn-mbm documentation.

Build it with::

    sphinx-build -n -W -b html docs docs/_build/html  # runs the gallery
    sphinx-build -n -W -b html -D plot_gallery=0 docs docs/_build/html  # does not

The build needs no network: math is rendered to SVG at build time
(``_ext/mathsvg.py``), and the inventories that link scikit-learn, NumPy,
pandas and joblib names to their projects' pages are written at build time
from the installed packages (``_ext/offline_inventories.py``), not fetched.

The build is nitpicky: a reference to one of the package's own names
(``sklearn_mbm...`` or a public short name) that does not resolve is a
warning, so ``-W`` fails on it. A reference to another project's name that
its inventory lacks (Python's, Keras's, a private one) stays as code.
"""

import importlib
import re
import sys
from pathlib import Path

# Document the checkout this file belongs to, whether or not it is installed.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
# Local extensions (math drawn at build time).
sys.path.insert(0, str(Path(__file__).resolve().parent / "_ext"))

import sklearn_mbm  # noqa: E402

project = "sklearn-mbm"
author = "The sklearn-mbm developers"
copyright = "The sklearn-mbm developers"  # noqa: A001 - the Sphinx option's name
version = release = sklearn_mbm.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "mathsvg",
    "offline_inventories",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

templates_path = ["_templates"]
exclude_patterns = [
    "_build",
    "_includes",
    "Thumbs.db",
    ".DS_Store",
    "**/*.ipynb",
    "**/*.py",
]
# ``code`` in reST (single back-quotes) is the Python object of that name.
default_role = "literal"
# Signatures and titles say ``FusionTransformer``, not the dotted path.
add_module_names = False
toc_object_entries_show_parents = "hide"

# -- autodoc / autosummary / numpydoc ---------------------------------------
autosummary_generate = True
autodoc_default_options = {"members": True}
autodoc_typehints = "none"
# numpydoc documents the methods from the class docstring's own sections; a
# second table of members would duplicate autosummary's and warn.
numpydoc_show_class_members = False
numpydoc_show_inherited_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = False
numpydoc_xref_param_type = False

# -- sphinx-gallery ---------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "within_subsection_order": "FileNameSortKey",
    # The gallery runs the examples on the bundled sample, as a user would.
    "plot_gallery": "True",
    "download_all_examples": False,
    "remove_config_comments": True,
    "matplotlib_animations": False,
    "reset_modules": ("matplotlib",),
    # No links to other projects' docs: the build must work offline.
    "reference_url": {},
    "backreferences_dir": None,
}
# -- HTML -------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"sklearn-mbm {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
}
html_show_sourcelink = False
html_static_path = ["_static"]
html_css_files = ["custom.css"]
html_math_renderer = "mathsvg"


# -- the package's own names resolve; other projects' stay as code -----------

# Every public name and where users import it from: the top-level names
# (``sklearn_mbm.FusionTransformer``) and the public submodules' names
# (``sklearn_mbm.inspection.modality_importance``).
_PUBLIC_MODULES = ("inspection", "plotting", "exceptions", "distributed")
_IMPORT_NAMES = dict.fromkeys(sklearn_mbm.__all__, "sklearn_mbm")
for _module in _PUBLIC_MODULES:
    for _name in importlib.import_module(f"sklearn_mbm.{_module}").__all__:
        _IMPORT_NAMES.setdefault(_name, f"sklearn_mbm.{_module}")
_IMPORT_NAMES.pop("__version__")

nitpicky = True
# Ignore every Python reference that is not one of ours: another project's
# name that the offline inventories lack stays as code.
_OWN = "|".join(sorted(_IMPORT_NAMES, key=len, reverse=True))
nitpick_ignore_regex = [
    (r"py:.*", rf"(?!~?\.?(sklearn_mbm|{_OWN})(\.|$)).*"),
]


def _import_name(target):
    """``target`` spelled with the name users import, or None.

    ``sklearn_mbm.fusion.FusionTransformer.fit``, ``FusionTransformer.fit``
    -> ``sklearn_mbm.FusionTransformer.fit``.
    """
    parts = target.lstrip("~.").split(".")
    for i, part in enumerate(parts):
        module = _IMPORT_NAMES.get(part)
        if module is None:
            continue
        prefix = ".".join(parts[:i])
        if prefix and prefix != module:
            try:
                same = getattr(importlib.import_module(prefix), part, None)
            except ImportError:
                return None
            if same is not getattr(importlib.import_module(module), part):
                return None
        return ".".join([module, *parts[i:]])
    return None


def _resolve_own_name(app, env, node, contnode):
    # A reference to a public object by its defining module's path or by
    # its short name resolves to the page of its import name.
    if node.get("refdomain") != "py":
        return None
    target = _import_name(node["reftarget"])
    if target is None or target == node["reftarget"]:
        return None
    return env.domains["py"].resolve_xref(
        env, node["refdoc"], app.builder, node["reftype"], target, node, contnode
    )


# Docstrings inherited from scikit-learn (set_output, get_params, ...) refer
# to its glossary and pages, which have no inventory offline: keep the text.
_FOREIGN_ROLE = re.compile(r":(?:term|ref|doc):`(?:([^`<]*?)\s*<[^`>]*>|([^`]*))`")


def _plain_foreign_roles(app, what, name, obj, options, lines):
    module = getattr(obj, "__module__", None) or ""
    if module.split(".")[0] in ("sklearn_mbm", ""):
        return
    lines[:] = [
        _FOREIGN_ROLE.sub(lambda m: m.group(1) or m.group(2), line) for line in lines
    ]


# -- members skipped at build time ---------------------------------------------


def _skip_metadata_requests(app, what, name, obj, skip, options):
    # set_fit_request & co. are generated by scikit-learn's metadata routing;
    # their docstrings link to scikit-learn's own docs.
    if name.startswith("set_") and name.endswith("_request"):
        return True
    return None


def setup(app):
    app.connect("autodoc-skip-member", _skip_metadata_requests)
    app.connect("autodoc-process-docstring", _plain_foreign_roles)
    app.connect("missing-reference", _resolve_own_name)
