"""The minimum-versions constraints file stays in step with pyproject.toml.

CI (``.ci/run``) installs ``min-constraints.txt`` to test the oldest versions
that pyproject.toml declares; ``.ci/min_constraints.py`` generates it. These
tests fail as soon as a bound changes without the file being regenerated, and
pin down how the generator reads requirements.
"""

import importlib.util
from pathlib import Path

import pytest
import tomllib
from packaging.requirements import Requirement  # pytest's own dependency

ROOT = Path(__file__).resolve().parent.parent


def _load_generator():
    spec = importlib.util.spec_from_file_location(
        "min_constraints", ROOT / ".ci" / "min_constraints.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


gen = _load_generator()


def _pyproject():
    with (ROOT / "pyproject.toml").open("rb") as f:
        return tomllib.load(f)


def _pins(text):
    return dict(
        line.split(" ;")[0].split("==")
        for line in text.splitlines()
        if line and not line.startswith("#")
    )


def test_committed_file_matches_pyproject():
    expected = gen.render_constraints(_pyproject())
    committed = (ROOT / "min-constraints.txt").read_text()
    assert committed == expected, (
        "min-constraints.txt is stale: run `python .ci/min_constraints.py --write`"
    )


def test_every_dependency_and_test_requirement_is_pinned_to_its_lower_bound():
    project = _pyproject()["project"]
    pins = _pins(gen.render_constraints(_pyproject()))
    # the dependencies and the test extra, read here with packaging, which
    # implements PEP 508 in full (the generator uses a stdlib parser)
    own = gen.canonical_name(project["name"])
    texts = list(project["dependencies"])
    extras, seen = ["test"], set()
    while extras:
        extra = extras.pop()
        seen.add(extra)
        for text in project["optional-dependencies"][extra]:
            req = Requirement(text)
            if gen.canonical_name(req.name) == own:
                extras.extend(set(req.extras) - seen)
            else:
                texts.append(text)
    for text in texts:
        req = Requirement(text)
        floors = [s.version for s in req.specifier if s.operator in (">=", "==", "~=")]
        assert floors, f"{text!r} has no lower bound"
        pinned = pins[gen.canonical_name(req.name)]
        assert req.specifier.contains(pinned), (text, pinned)
        assert max(floors, key=gen._version_key) == pinned, (text, pinned)
    assert set(pins) == {gen.canonical_name(Requirement(t).name) for t in texts}


def _project(dependencies, **extras):
    return {
        "project": {
            "name": "sklearn-mbm",
            "dependencies": dependencies,
            "optional-dependencies": {"test": [], **extras},
        }
    }


def test_generator_reads_extras_markers_self_references_and_duplicates():
    pyproject = _project(
        [
            "numpy>=1.24,<3",
            "Scikit_Learn >= 1.6",
            "tomli>=2.0; python_version < '3.11'",
        ],
        test=[
            "sklearn-mbm[hub]",
            "dask[distributed]>=2024.1",
            "pytest>=7.4",
            "numpy>=1.26",
        ],
        hub=["keras-hub>=0.18", "sklearn-mbm[test]"],
    )
    pins = gen.render_constraints(pyproject).splitlines()
    assert [line for line in pins if not line.startswith("#")] == [
        "dask==2024.1",  # extras dropped: a constraints file cannot carry them
        "keras-hub==0.18",  # reached through the self-reference, cycle ignored
        "numpy==1.26",  # named twice: the higher floor satisfies both
        "pytest==7.4",
        "scikit-learn==1.6",  # PEP 503 name
        "tomli==2.0 ; python_version < '3.11'",
    ]


@pytest.mark.parametrize(
    "requirement, message",
    [
        ("numpy", "declares no lower bound"),
        ("numpy<3", "declares no lower bound"),
        ("numpy>=1.24rc1", "not a plain release number"),
        ("numpy @ https://example.invalid/numpy.whl", "cannot parse"),
        ("numpy>=>1", "cannot parse the version specifier"),
    ],
)
def test_generator_refuses_what_it_cannot_pin(requirement, message):
    with pytest.raises(ValueError, match=message):
        gen.render_constraints(_project([requirement]))


def test_generator_refuses_an_unknown_extra():
    with pytest.raises(ValueError, match="no optional-dependencies extra 'hub'"):
        gen.render_constraints(_project([], test=["sklearn-mbm[hub]"]))
