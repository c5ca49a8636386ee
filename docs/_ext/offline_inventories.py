"""Link scikit-learn, NumPy, pandas and joblib names without a network.

intersphinx links names to another project's pages through that project's
inventory (``objects.inv``), which it downloads. This extension writes the
inventories instead, at build time, from the packages installed beside the
docs: every public class and function (and every public method of those
classes) that a package's public modules export, with the address its
project's API pages give it (``modules/generated/<name>.html`` for
scikit-learn, ...). Only names are read from the packages; nothing is
fetched. A reference these inventories lack stays as code, as before.

The addresses follow each project's page layout for its API reference
(stable docs); names a project documents elsewhere (NumPy's scalar types,
say) are left out rather than guessed.
"""

import importlib
import inspect
import pkgutil
import zlib
from pathlib import Path

from sphinx.util import logging

logger = logging.getLogger(__name__)

# project -> (documentation root, page of a name: str.format(name=...),
#             modules whose public names are listed, walk their submodules)
PROJECTS = {
    "sklearn": (
        "https://scikit-learn.org/stable/",
        "modules/generated/{name}.html",
        ("sklearn",),
        True,
    ),
    "numpy": (
        "https://numpy.org/doc/stable/",
        "reference/generated/{name}.html",
        ("numpy",),
        False,
    ),
    "pandas": (
        "https://pandas.pydata.org/docs/",
        "reference/api/{name}.html",
        ("pandas",),
        False,
    ),
    "joblib": (
        "https://joblib.readthedocs.io/en/stable/",
        "generated/{name}.html",
        ("joblib",),
        False,
    ),
}
_SKIP_PARTS = {"tests", "externals", "experimental", "conftest"}
# imported first: they add public names (scikit-learn's experimental ones)
_ENABLE = {
    "sklearn": (
        "sklearn.experimental.enable_halving_search_cv",
        "sklearn.experimental.enable_iterative_imputer",
    )
}


def _modules(root, walk):
    for name in _ENABLE.get(root, ()):
        importlib.import_module(name)
    module = importlib.import_module(root)
    yield module
    if not walk:
        return
    for info in pkgutil.walk_packages(module.__path__, prefix=f"{root}."):
        parts = info.name.split(".")
        if any(p.startswith("_") or p in _SKIP_PARTS for p in parts):
            continue
        try:
            yield importlib.import_module(info.name)
        except Exception:  # an optional dependency missing: skip the module
            continue


def _public(module):
    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n in dir(module) if not n.startswith("_")]
    for name in names:
        try:
            obj = getattr(module, name, None)
        except Exception:  # e.g. an experimental name not enabled
            continue
        if inspect.isclass(obj) or inspect.isfunction(obj) or inspect.isbuiltin(obj):
            yield name, obj


def entries(project):
    """``(name, role, page#anchor)`` of the project's public classes,
    functions and methods."""
    _, page, roots, walk = PROJECTS[project]
    seen = set()
    for root in roots:
        for module in _modules(root, walk):
            for name, obj in _public(module):
                home = getattr(obj, "__module__", "") or ""
                if home.split(".")[0] != project:
                    continue  # re-exported from elsewhere
                full = f"{module.__name__}.{name}"
                if full in seen:
                    continue
                seen.add(full)
                uri = page.format(name=full)
                if inspect.isclass(obj):
                    yield full, "py:class", uri
                    for attr, value in vars(obj).items():
                        if not attr.startswith("_") and callable(value):
                            yield f"{full}.{attr}", "py:method", f"{uri}#{full}.{attr}"
                else:
                    yield full, "py:function", uri


def write_inventory(project, path):
    version = getattr(importlib.import_module(project), "__version__", "")
    lines = [f"{n} {role} 1 {uri} -" for n, role, uri in entries(project)]
    header = (
        "# Sphinx inventory version 2\n"
        f"# Project: {project}\n# Version: {version}\n"
        "# The remainder of this file is compressed using zlib.\n"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    body = zlib.compress(("\n".join(lines) + "\n").encode("utf-8"))
    path.write_bytes(header.encode("utf-8") + body)
    return len(lines)


def _write_inventories(app, config):
    folder = Path(app.doctreedir) / "offline_inventories"
    mapping = dict(config.intersphinx_mapping or {})
    for project, (root, *_) in PROJECTS.items():
        try:
            importlib.import_module(project)
        except ImportError:
            continue
        path = folder / f"{project}.inv"
        count = write_inventory(project, path)
        logger.info("offline inventory of %s: %d names", project, count)
        mapping[project] = (root, str(path))
    config.intersphinx_mapping = mapping


def setup(app):
    app.setup_extension("sphinx.ext.intersphinx")
    # before intersphinx reads its mapping (priority 800 there)
    app.connect("config-inited", _write_inventories, priority=100)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
