"""Tests of sklearn_mbm._base_extractor: shared docs and the shared rules."""

import pytest

from sklearn_mbm import (
    AudioEmbedder,
    AudioFeatureExtractor,
    ImageEmbedder,
    ImageFeatureExtractor,
    TextEmbedder,
    TextFeatureExtractor,
)
from sklearn_mbm._base_extractor import _BaseExtractor, numbered_names, substitute

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
