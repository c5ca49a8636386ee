"""Tests of sklearn_mbm.text.TextFeatureExtractor."""

import inspect
import pickle

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from _sklearn_checks import (
    parametrize_data_free_checks,
    parametrize_extractor_checks,
    run_data_free_check,
    run_sklearn_check,
)
from sklearn import config_context, get_config
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.feature_extraction.text import (
    CountVectorizer,
    HashingVectorizer,
    TfidfVectorizer,
)
from sklearn.linear_model import LogisticRegression, RidgeClassifier
from sklearn.model_selection import GridSearchCV, GroupKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.utils._param_validation import InvalidParameterError

from sklearn_mbm._io import CellLoadWarning
from sklearn_mbm.text import TextFeatureExtractor

CORPUS = [
    "um seven please",
    "the number is eight",
    "i heard three",
    "sevne",
    "okay nine thanks",
    "inaudible again",
    "zero",
    "it sounds like two maybe",
    "eight eight",
    "so five",
    "Four right",
    "uh six",
]
NEW_TEXTS = ["seven", "a completely unseen phrase", "", "nine nine nine"]


# --------------------------------------------------------------------------
# callables used as `method`: module level, so they pickle
# --------------------------------------------------------------------------


def letter_stats(texts):
    """A tiny deterministic 'embedding': length, words, vowels, digits-as-words."""
    rows = []
    for text in texts:
        lower = text.lower()
        rows.append(
            [
                len(text),
                len(text.split()),
                sum(lower.count(v) for v in "aeiou"),
                lower.count("e"),
                lower.count("s"),
            ]
        )
    return np.asarray(rows, dtype=np.float32)


class LetterStats:
    """``letter_stats`` as an object with a stable repr: pytest-xdist needs the
    same test ids in every worker, and a function's repr holds its address."""

    def __call__(self, texts):
        return letter_stats(texts)

    def __repr__(self):
        return "LetterStats()"


class CharHistogram:
    """A callable object with a parameter: counts of its letters per text."""

    def __init__(self, letters="aeinorstuv"):
        self.letters = letters

    def __repr__(self):
        return f"CharHistogram(letters={self.letters!r})"

    def __call__(self, texts):
        return np.array([[t.lower().count(c) for c in self.letters] for t in texts])


def wrong_rows(texts):
    return np.zeros((len(texts) + 1, 3))


def with_nan(texts):
    out = np.ones((len(texts), 2))
    out[0, 0] = np.nan
    return out


def width_by_length(texts):
    return np.ones((len(texts), len(texts)))


CONFIGS = {
    "tfidf": TextFeatureExtractor(),
    "count_bigrams": TextFeatureExtractor("count", ngram_range=(1, 2)),
    "hashing": TextFeatureExtractor("hashing", n_features=256),
    "tfidf_char_svd": TextFeatureExtractor(
        analyzer="char_wb", ngram_range=(2, 3), n_components=4, random_state=0
    ),
    "callable": TextFeatureExtractor(LetterStats()),
    "callable_svd": TextFeatureExtractor(
        CharHistogram(), n_components=3, random_state=0
    ),
}
SPARSE_CONFIGS = {"tfidf", "count_bigrams", "hashing"}


def _dense(Z):
    return Z.toarray() if sp.issparse(Z) else np.asarray(Z)


# --------------------------------------------------------------------------
# scikit-learn's checks
# --------------------------------------------------------------------------


# string=True and two_d_array=False, as CountVectorizer
@parametrize_extractor_checks(CONFIGS.values())
def test_sklearn_compatible_text(estimator, check):
    run_sklearn_check(check, estimator)


@parametrize_data_free_checks({c: CONFIGS[c] for c in ("tfidf", "callable_svd")})
def test_data_free_checks(estimator, check):
    run_data_free_check(check, estimator)


def test_tags():
    tags = TextFeatureExtractor().__sklearn_tags__()
    assert tags.input_tags.string is True
    assert tags.input_tags.two_d_array is False
    assert tags.requires_fit is True


# --------------------------------------------------------------------------
# contract on real text cells, for every configuration
# --------------------------------------------------------------------------


@pytest.mark.parametrize("config", list(CONFIGS))
def test_contract(config):
    est = clone(CONFIGS[config])
    assert est.fit(CORPUS) is est
    Z = est.transform(CORPUS)
    assert sp.issparse(Z) == (config in SPARSE_CONFIGS)
    assert Z.ndim == 2 and Z.shape == (len(CORPUS), est.n_features_out_)
    assert _dense(Z).dtype.kind == "f"
    assert np.isfinite(_dense(Z)).all()
    names = est.get_feature_names_out()
    assert names.dtype == object and len(names) == est.n_features_out_
    # fit_transform computes the same as fit then transform
    np.testing.assert_allclose(
        _dense(clone(est).fit_transform(CORPUS)), _dense(Z), atol=1e-10
    )
    # unseen texts, including an empty one
    assert est.transform(NEW_TEXTS).shape == (len(NEW_TEXTS), est.n_features_out_)

    # pickle round trip
    restored = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(
        _dense(restored.transform(NEW_TEXTS)), _dense(est.transform(NEW_TEXTS))
    )
    # clone: same params, unfitted
    copy = clone(est)
    assert copy.get_params().keys() == est.get_params().keys()
    with pytest.raises(NotFittedError):
        copy.transform(CORPUS)
    # idempotent fit
    np.testing.assert_allclose(
        _dense(est.fit(CORPUS).transform(CORPUS)), _dense(Z), atol=1e-10
    )
    # order invariance: permuting the samples permutes the rows
    perm = np.random.RandomState(0).permutation(len(CORPUS))
    shuffled = clone(est).fit([CORPUS[i] for i in perm])
    Zp = _dense(shuffled.transform(CORPUS))
    if est.svd_ is None:
        np.testing.assert_allclose(Zp, _dense(Z), atol=1e-10)
    else:  # an SVD basis is defined up to the sign of each component
        signs = np.sign((Zp * _dense(Z)).sum(axis=0))
        np.testing.assert_allclose(Zp * signs, _dense(Z), atol=1e-6)


@pytest.mark.parametrize(
    "make",
    [
        list,
        pd.Series,
        lambda x: pd.DataFrame({"text": x}),
        lambda x: np.asarray(x, dtype=object),
        lambda x: np.asarray(x, dtype=object).reshape(-1, 1),
        lambda x: pd.Series(x, dtype="string"),
        tuple,
    ],
    ids=["list", "series", "frame", "1d", "2d_one_column", "string_dtype", "tuple"],
)
def test_input_containers(make):
    expected = TextFeatureExtractor().fit_transform(CORPUS).toarray()
    got = TextFeatureExtractor().fit_transform(make(CORPUS)).toarray()
    np.testing.assert_array_equal(got, expected)


def test_bad_containers():
    with pytest.raises(ValueError, match="one column of cells.*2 columns"):
        TextFeatureExtractor().fit(pd.DataFrame({"a": CORPUS, "b": CORPUS}))
    with pytest.raises(TypeError, match="single str; wrap it in a list"):
        TextFeatureExtractor().fit("seven")
    with pytest.raises(ValueError, match="0 samples"):
        TextFeatureExtractor().fit([])


# --------------------------------------------------------------------------
# the same features as scikit-learn's vectorizers, parameters passed through
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params, reference",
    [
        ({}, TfidfVectorizer()),
        (
            {"max_features": 5, "ngram_range": (1, 2), "sublinear_tf": True},
            TfidfVectorizer(max_features=5, ngram_range=(1, 2), sublinear_tf=True),
        ),
        (
            {"analyzer": "char_wb", "ngram_range": (2, 4), "norm": None},
            TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), norm=None),
        ),
        (
            {"stop_words": "english", "use_idf": False, "lowercase": False},
            TfidfVectorizer(stop_words="english", use_idf=False, lowercase=False),
        ),
        (
            {"method": "count", "min_df": 2, "binary": True},
            CountVectorizer(min_df=2, binary=True),
        ),
        (
            {"method": "count", "max_df": 0.1, "token_pattern": r"\b\w+\b"},
            CountVectorizer(max_df=0.1, token_pattern=r"\b\w+\b"),
        ),
        (
            {"method": "hashing", "n_features": 32, "norm": "l1"},
            HashingVectorizer(n_features=32, norm="l1"),
        ),
    ],
    ids=["tfidf", "tfidf_params", "char", "stop", "count", "count_pattern", "hash"],
)
def test_matches_sklearn_vectorizer(params, reference):
    est = TextFeatureExtractor(**params)
    Z = est.fit_transform(CORPUS)
    ref = reference.fit_transform(CORPUS)
    assert Z.shape == ref.shape
    np.testing.assert_allclose(Z.toarray(), ref.toarray())
    np.testing.assert_allclose(
        est.transform(NEW_TEXTS).toarray(), reference.transform(NEW_TEXTS).toarray()
    )
    if hasattr(reference, "get_feature_names_out"):
        assert est.get_feature_names_out().tolist() == (
            reference.get_feature_names_out().tolist()
        )


def test_count_output_is_float():
    Z = TextFeatureExtractor("count").fit_transform(CORPUS)
    assert Z.dtype == np.float64
    assert Z.sum() == CountVectorizer().fit_transform(CORPUS).sum()


def test_feature_names():
    ext = TextFeatureExtractor().fit(["seven please", "the number is eight"])
    assert ext.get_feature_names_out().tolist() == [
        "eight",
        "is",
        "number",
        "please",
        "seven",
        "the",
    ]
    hashing = TextFeatureExtractor("hashing", n_features=4).fit(CORPUS)
    assert hashing.get_feature_names_out().tolist() == [f"hash{i}" for i in range(4)]
    emb = TextFeatureExtractor(letter_stats).fit(CORPUS)
    assert emb.get_feature_names_out().tolist() == [f"emb{i}" for i in range(5)]
    svd = TextFeatureExtractor(n_components=3, random_state=0).fit(CORPUS)
    assert svd.get_feature_names_out().tolist() == ["svd0", "svd1", "svd2"]
    with pytest.raises(NotFittedError):
        TextFeatureExtractor().get_feature_names_out()


def test_svd_is_a_dense_block_and_reproducible():
    a = TextFeatureExtractor(n_components=3, random_state=0).fit_transform(CORPUS)
    b = TextFeatureExtractor(n_components=3, random_state=0).fit_transform(CORPUS)
    # dense: an ndarray, or a DataFrame where the global setting asks for one
    pandas = get_config()["transform_output"] == "pandas"
    assert isinstance(a, pd.DataFrame if pandas else np.ndarray)
    assert a.shape == (len(CORPUS), 3)
    np.testing.assert_array_equal(a, b)


def test_n_components_larger_than_vocabulary():
    n_terms = len(TfidfVectorizer().fit(CORPUS).vocabulary_)
    with pytest.raises(
        ValueError, match=rf"n_components=50 must be <= .* {n_terms} here"
    ):
        TextFeatureExtractor(n_components=50).fit(CORPUS)
    # it counts the vocabulary left after max_features
    with pytest.raises(ValueError, match=r"n_components=5 must be <= .* 4 here"):
        TextFeatureExtractor(n_components=5, max_features=4).fit(CORPUS)


@pytest.mark.parametrize(
    "params",
    [
        {"method": "bert"},
        {"n_components": 0},
        {"max_features": 0},
        {"on_error": "ignore"},
        {"analyzer": "sentence"},
        {"ngram_range": [1, 2]},
        {"norm": "max"},
    ],
)
def test_invalid_parameters(params):
    with pytest.raises(InvalidParameterError):
        TextFeatureExtractor(**params).fit(CORPUS)


# --------------------------------------------------------------------------
# bad cells
# --------------------------------------------------------------------------


@pytest.mark.parametrize("missing", [None, np.nan, pd.NA])
def test_missing_cell_raises_with_index(missing):
    cells = [*CORPUS[:2], missing, *CORPUS[2:]]
    with pytest.raises(ValueError, match="sample 2 is missing"):
        TextFeatureExtractor().fit(cells)
    fitted = TextFeatureExtractor().fit(CORPUS)
    with pytest.raises(ValueError, match="sample 2 is missing"):
        fitted.transform(cells)


@pytest.mark.parametrize(
    "cell, type_name",
    [(7, "int"), (b"seven", "bytes"), (np.array(["seven"]), "ndarray"), (3.5, "float")],
)
def test_non_str_cell_raises_type_error(cell, type_name):
    with pytest.raises(TypeError, match=rf"sample 1 \(.*\): .* got {type_name}"):
        TextFeatureExtractor().fit(["seven", cell, "eight"])


@pytest.mark.parametrize("config", ["tfidf", "tfidf_char_svd", "callable"])
def test_on_error_warn_gives_nan_rows(config):
    est = clone(CONFIGS[config]).set_params(on_error="warn")
    cells = [*CORPUS[:3], None, *CORPUS[3:6], 42, *CORPUS[6:]]
    with pytest.warns(CellLoadWarning) as record:
        Z = est.fit_transform(cells)
    messages = [str(w.message) for w in record if w.category is CellLoadWarning]
    assert any("sample 3 is missing" in m for m in messages)
    assert any("sample 7" in m and "int" in m for m in messages)
    assert sp.issparse(Z) == (config in SPARSE_CONFIGS)
    Z = _dense(Z)
    assert Z.shape == (len(cells), est.n_features_out_)
    assert np.isnan(Z[[3, 7]]).all()
    good = np.setdiff1d(np.arange(len(cells)), [3, 7])
    # bad cells are left out of fit: the good rows are the clean fit's rows
    clean = clone(CONFIGS[config]).fit_transform(CORPUS)
    np.testing.assert_allclose(Z[good], _dense(clean), atol=1e-10)
    # transform: same rows, and NaN only in bad rows
    with pytest.warns(CellLoadWarning):
        Zt = _dense(est.transform([None, "seven", b"x"]))
    assert np.isnan(Zt[[0, 2]]).all() and np.isfinite(Zt[1]).all()
    with pytest.warns(CellLoadWarning):
        all_bad = est.transform([None, 1.0])
    assert sp.issparse(all_bad) == (config in SPARSE_CONFIGS)
    assert _dense(all_bad).dtype == Z.dtype
    all_bad = _dense(all_bad)
    assert all_bad.shape == (2, est.n_features_out_) and np.isnan(all_bad).all()


def test_fit_on_only_bad_cells_raises():
    with pytest.warns(CellLoadWarning):
        with pytest.raises(ValueError, match="all 2 cells are missing or not str"):
            TextFeatureExtractor(on_error="warn").fit([None, 3])


# --------------------------------------------------------------------------
# set_output
# --------------------------------------------------------------------------


def test_set_output_pandas_with_dense_output():
    est = TextFeatureExtractor(n_components=3, random_state=0)
    frame = est.set_output(transform="pandas").fit_transform(pd.Series(CORPUS))
    assert isinstance(frame, pd.DataFrame)
    assert frame.columns.tolist() == ["svd0", "svd1", "svd2"]
    emb = TextFeatureExtractor(letter_stats).set_output(transform="pandas")
    assert emb.fit(CORPUS).transform(NEW_TEXTS).columns.tolist() == [
        f"emb{i}" for i in range(5)
    ]


def test_set_output_pandas_with_sparse_output_raises_clearly():
    est = TextFeatureExtractor().set_output(transform="pandas")
    with pytest.raises(ValueError, match="needs dense features.*Set n_components"):
        est.fit_transform(CORPUS)
    # the default output is unaffected
    assert sp.issparse(TextFeatureExtractor().fit(CORPUS).transform(CORPUS))


def test_global_pandas_output_keeps_sparse_features_sparse():
    # as TfidfVectorizer: a global setting does not make a bag of words dense
    # nor an error, so a plain pipeline works under it (issue 14)
    y = np.arange(len(CORPUS)) % 2
    with config_context(transform_output="pandas"):
        fitted = TextFeatureExtractor().fit(CORPUS)
        assert sp.issparse(fitted.transform(CORPUS))
        assert sp.issparse(TextFeatureExtractor().fit_transform(CORPUS))
        pipe = make_pipeline(TextFeatureExtractor(), LogisticRegression())
        pipe.fit(CORPUS, y)
        assert pipe.predict(CORPUS).shape == (len(CORPUS),)
        # dense features follow the setting; the internal SVD does not break
        frame = TextFeatureExtractor(n_components=3, random_state=0).fit_transform(
            pd.Series(CORPUS)
        )
        assert isinstance(frame, pd.DataFrame)
        assert frame.columns.tolist() == ["svd0", "svd1", "svd2"]


# --------------------------------------------------------------------------
# callable methods
# --------------------------------------------------------------------------


def test_callable_embedding():
    est = TextFeatureExtractor(letter_stats)
    Z = est.fit_transform(CORPUS)
    assert est.vectorizer_ is None
    np.testing.assert_array_equal(Z, letter_stats(CORPUS))
    assert _dense(Z).dtype == np.float32  # kept as the model returns it
    # an integer embedding becomes float64
    ints = TextFeatureExtractor(CharHistogram()).fit_transform(CORPUS)
    assert _dense(ints).dtype == np.float64
    # the callable object's own parameter is preserved by clone and pickle
    est = TextFeatureExtractor(CharHistogram("xyz")).fit(CORPUS)
    assert clone(est).method.letters == "xyz"
    restored = pickle.loads(pickle.dumps(est))
    assert _dense(restored.transform(["zzz"])).tolist() == [[0, 0, 3]]


def test_callable_must_be_module_level_to_pickle():
    est = TextFeatureExtractor(lambda texts: np.ones((len(texts), 2))).fit(CORPUS)
    assert est.transform(CORPUS).shape == (len(CORPUS), 2)
    with pytest.raises((pickle.PicklingError, AttributeError)):
        pickle.dumps(est)


def test_callable_output_is_checked():
    with pytest.raises(ValueError, match="wrong_rows returned 13 rows for 12 texts"):
        TextFeatureExtractor(wrong_rows).fit(CORPUS)
    with pytest.raises(ValueError, match="method=with_nan must return a finite"):
        TextFeatureExtractor(with_nan).fit(CORPUS)
    est = TextFeatureExtractor(width_by_length).fit(CORPUS)
    with pytest.raises(ValueError, match="returned 2 features, but 12 during fit"):
        est.transform(["a", "b"])


# --------------------------------------------------------------------------
# in a model, on the bundled transcripts
# --------------------------------------------------------------------------


def test_pipeline_and_search_on_sample_transcripts():
    from sklearn_mbm.datasets import load_av_digits

    X, y = load_av_digits(return_X_y=True)
    model = make_pipeline(TextFeatureExtractor(), RidgeClassifier())
    grid = {
        "textfeatureextractor__analyzer": ["word", "char_wb"],
        "textfeatureextractor__ngram_range": [(1, 1), (2, 3)],
    }
    search = GridSearchCV(model, grid, cv=GroupKFold(3))
    search.fit(X["text"], y, groups=X["speaker"])
    # the transcripts name the true digit about 70% of the time, often with a
    # typo: informative but far from perfect (chance is 0.1), and character
    # n-grams, robust to typos, win
    assert 0.5 < search.best_score_ < 0.9
    assert search.best_params_["textfeatureextractor__analyzer"] == "char_wb"
    scores = cross_val_score(
        search.best_estimator_, X["text"], y, groups=X["speaker"], cv=GroupKFold(3)
    )
    assert scores.mean() == pytest.approx(search.best_score_)


@pytest.mark.parametrize("frame", [False, True])
def test_bad_cell_messages_name_the_index_label(frame):
    # X.loc[label] must find the row a message names (issue 14, point 8)
    cells = pd.Series([*CORPUS[:2], None, 7], index=["a", "b", "c", "d"])
    X = cells.to_frame("text") if frame else cells
    with pytest.raises(ValueError, match=r"sample 'c' \(position 2\) is missing"):
        TextFeatureExtractor().fit(X)
    with pytest.warns(CellLoadWarning, match=r"sample 'd' \(position 3\)"):
        TextFeatureExtractor(on_error="warn").fit(X)
    # a RangeIndex keeps the plain position
    with pytest.raises(ValueError, match=r"sample 2 is missing"):
        TextFeatureExtractor().fit(cells.reset_index(drop=True))


def test_parameters_after_the_first_are_keyword_only():
    first, *rest = inspect.signature(TextFeatureExtractor).parameters.values()
    assert first.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in rest)
