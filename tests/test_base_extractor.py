"""Tests of sklearn_mbm._base_extractor: shared docs and the shared rules."""

import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.pipeline import make_pipeline

from sklearn_mbm import (
    AudioEmbedder,
    AudioFeatureExtractor,
    ImageEmbedder,
    ImageFeatureExtractor,
    TextEmbedder,
    TextFeatureExtractor,
)
from sklearn_mbm._base_extractor import _BaseExtractor, numbered_names, substitute
from sklearn_mbm._io import CellLoadWarning

EXTRACTORS = [
    AudioEmbedder,
    AudioFeatureExtractor,
    ImageEmbedder,
    ImageFeatureExtractor,
    TextEmbedder,
    TextFeatureExtractor,
]


def test_substitute_fills_only_the_named_placeholders():
    @substitute("verbose")
    class Documented:
        """Keep {"a", "b"} and {other}.

        {verbose}
        """

    assert '{"a", "b"} and {other}' in Documented.__doc__
    assert "verbose : bool, default=False" in Documented.__doc__
    assert "{verbose}" not in Documented.__doc__


def test_substitute_refuses_a_docstring_without_the_placeholder():
    with pytest.raises(ValueError, match=r"Undocumented's docstring has no \{on_error"):

        @substitute("on_error")
        class Undocumented:
            """No placeholder here."""


@pytest.mark.parametrize("cls", EXTRACTORS, ids=lambda cls: cls.__name__)
def test_every_extractor_shares_the_base(cls):
    assert issubclass(cls, _BaseExtractor)
    assert (
        cls._parameter_constraints["on_error"]
        is _BaseExtractor._parameter_constraints["on_error"]
    )
    assert 'on_error : {"raise", "warn"}, default="raise"' in cls.__doc__
    assert "{on_error}" not in cls.__doc__ and "{verbose}" not in cls.__doc__


def test_numbered_names():
    assert numbered_names("emb", 3) == ["emb0", "emb1", "emb2"]
    assert numbered_names("pixel_", 0) == []


_WAVEFORM = np.sin(np.linspace(0, 400, 1600)).astype(np.float32)
_IMAGE = np.arange(64, dtype=np.uint8).reshape(8, 8)


@pytest.mark.parametrize(
    ("extractor", "good"),
    [
        (ImageFeatureExtractor("pixels", on_error="warn"), _IMAGE),
        (TextFeatureExtractor(on_error="warn"), "seven eight"),
        (AudioFeatureExtractor(input_sr=16000, on_error="warn"), _WAVEFORM),
    ],
    ids=lambda p: type(p).__name__,
)
def test_bad_cell_warning_points_at_the_callers_line(extractor, good):
    # one rule for every extractor: the warning names the user's line, through
    # fit_transform, transform and a Pipeline alike (the embedders' version,
    # with their tiny presets, is in test_pretrained.py)
    cells = [good, None, good]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        extractor.fit_transform(cells)
        extractor.transform(cells)
        make_pipeline(clone(extractor)).fit_transform(cells)
    found = [w for w in caught if w.category is CellLoadWarning]
    assert len(found) == 3
    assert {w.filename for w in found} == {__file__}
    assert all(str(w.message).endswith(" Its row of features is NaN.") for w in found)
