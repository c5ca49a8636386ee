"""Text features: bag-of-words vectorizers, an optional SVD, or any embedding.

:class:`TextFeatureExtractor` wraps scikit-learn's ``TfidfVectorizer``,
``CountVectorizer`` and ``HashingVectorizer`` (or a user callable that embeds a
list of strings) behind one estimator that takes a column of text cells, checks
every cell, and reports bad cells by sample index like the other extractors.
"""

import numbers

import numpy as np
import scipy.sparse as sp
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import (
    CountVectorizer,
    HashingVectorizer,
    TfidfVectorizer,
)
from sklearn.utils import check_array

from sklearn_mbm._compat import (
    Interval,
    RealNotInt,
    StrOptions,
    _get_container_adapter,
    _get_output_config,
)
from sklearn_mbm._extractors._base import _BaseExtractor, numbered_names, substitute
from sklearn_mbm._io import (
    cell_error_message,
    is_missing,
    missing_cell_error,
    sample_index,
)

__all__ = ["TextFeatureExtractor"]

_METHODS = ("tfidf", "count", "hashing")


def _method_name(method):
    """A readable name of a callable method for error messages."""
    return getattr(method, "__qualname__", None) or type(method).__name__


@substitute("on_error")
class TextFeatureExtractor(_BaseExtractor, auto_wrap_output_keys=None):
    """Turn a column of text cells into numeric features.

    Bag-of-words features (tf-idf, counts or feature hashing) come from
    scikit-learn's vectorizers and are returned sparse; ``n_components`` adds a
    :class:`~sklearn.decomposition.TruncatedSVD` (latent semantic analysis) that
    returns a dense block. ``method`` may also be any callable that embeds a
    list of strings (a sentence-embedding model, for instance).

    Parameters
    ----------
    method : {"tfidf", "count", "hashing"} or callable, default="tfidf"
        How texts become features:

        - ``"tfidf"``: :class:`~sklearn.feature_extraction.text.TfidfVectorizer`.
        - ``"count"``: :class:`~sklearn.feature_extraction.text.CountVectorizer`
          (term counts as float64).
        - ``"hashing"``: :class:`~sklearn.feature_extraction.text.HashingVectorizer`
          (stateless, no vocabulary; ``n_features`` columns).
        - a callable ``f(texts: list[str]) -> array of shape (len(texts), d)``
          (dense, or a scipy sparse matrix), called on the list of texts in
          ``fit`` and in every ``transform``. It must return the same width
          ``d`` every time and finite numbers. To pickle the extractor (joblib,
          ``n_jobs`` in a search, saving a model), pass a module-level function
          or an instance of a module-level class, not a lambda or a closure.

    max_features : int, default=None
        Keep only the ``max_features`` most frequent terms. ``"tfidf"`` and
        ``"count"`` only.

    ngram_range : tuple (min_n, max_n), default=(1, 1)
        Range of n-gram sizes (words or characters, see ``analyzer``). All
        vectorizer methods.

    n_components : int, default=None
        If set, reduce the features to ``n_components`` dense columns with a
        :class:`~sklearn.decomposition.TruncatedSVD` fitted in ``fit``. Applies
        to every method, callables included. Must not exceed the number of
        features before the SVD (the vocabulary size for ``"tfidf"`` and
        ``"count"``).

    analyzer : {"word", "char", "char_wb"} or callable, default="word"
        Word or character n-grams (``"char_wb"``: character n-grams inside word
        boundaries, robust to typos). All vectorizer methods.

    lowercase : bool, default=True
        Lowercase texts before tokenizing. All vectorizer methods.

    strip_accents : {"ascii", "unicode"} or callable, default=None
        Remove accents during preprocessing. All vectorizer methods.

    stop_words : {"english"}, list or None, default=None
        Words to drop (``analyzer="word"`` only). All vectorizer methods.

    token_pattern : str or None, default=r"(?u)\\b\\w\\w+\\b"
        Regular expression of a token (``analyzer="word"`` only). All
        vectorizer methods.

    min_df : float in [0.0, 1.0] or int, default=1
        Drop terms found in fewer documents (a proportion if float).
        ``"tfidf"`` and ``"count"`` only.

    max_df : float in [0.0, 1.0] or int, default=1.0
        Drop terms found in more documents (a proportion if float).
        ``"tfidf"`` and ``"count"`` only.

    binary : bool, default=False
        Use 0/1 term presence instead of counts. All vectorizer methods.

    norm : {"l1", "l2"} or None, default="l2"
        Normalize each row. ``"tfidf"`` and ``"hashing"`` only (counts are
        never normalized).

    use_idf : bool, default=True
        Inverse-document-frequency reweighting. ``"tfidf"`` only.

    smooth_idf : bool, default=True
        Add one to document frequencies. ``"tfidf"`` only.

    sublinear_tf : bool, default=False
        Use ``1 + log(tf)``. ``"tfidf"`` only.

    n_features : int, default=2**20
        Number of hashed columns. ``"hashing"`` only.

    random_state : int, RandomState instance or None, default=None
        Seed of the randomized SVD (``n_components``). Set it for reproducible
        features.

    {on_error}
        A text cell is bad when it is ``None``/NaN or not a ``str``. Bad
        cells are left out of ``fit``. With sparse output the NaN row is
        stored explicitly (``n_features_out_`` stored values per bad row,
        which is large with ``"hashing"``); downstream estimators must handle
        or drop NaN rows.

    Attributes
    ----------
    vectorizer_ : TfidfVectorizer, CountVectorizer, HashingVectorizer or None
        The fitted vectorizer; None when ``method`` is a callable.

    svd_ : TruncatedSVD or None
        The fitted SVD when ``n_components`` is set, else None.

    n_features_out_ : int
        Number of output columns.

    See Also
    --------
    sklearn.feature_extraction.text.TfidfVectorizer : The vectorizer behind
        ``method="tfidf"``.
    sklearn_mbm.FusionTransformer : Fuse text features with other modalities.

    Notes
    -----
    Output type: a CSR sparse matrix (float64) for ``"tfidf"``, ``"count"`` and
    ``"hashing"`` without ``n_components``; a dense ndarray otherwise (float64,
    or float32 when a callable returns float32).

    ``set_output(transform="pandas")`` needs dense output: it raises a
    ``ValueError`` for a sparse result. Set ``n_components`` (or use a callable
    method) to get a DataFrame whose columns are ``svd0, svd1, ...``. A global
    ``sklearn.set_config(transform_output="pandas")`` leaves sparse features
    sparse, as scikit-learn's vectorizers do, so that
    ``make_pipeline(TextFeatureExtractor(), LogisticRegression())`` works
    under it.

    Feature names (:meth:`get_feature_names_out`): the vocabulary terms for
    ``"tfidf"`` and ``"count"``, ``hash0, hash1, ...`` for ``"hashing"``,
    ``emb0, emb1, ...`` for a callable, ``svd0, svd1, ...`` after the SVD.

    Examples
    --------
    >>> from sklearn_mbm import TextFeatureExtractor
    >>> texts = ["um seven", "seven please", "eight", "the number is eight"]
    >>> ext = TextFeatureExtractor().fit(texts)
    >>> ext.get_feature_names_out().tolist()
    ['eight', 'is', 'number', 'please', 'seven', 'the', 'um']
    >>> ext.transform(["seven"]).toarray().round(2)
    array([[0., 0., 0., 0., 1., 0., 0.]])
    >>> TextFeatureExtractor(n_components=2, random_state=0).fit_transform(
    ...     texts
    ... ).shape
    (4, 2)
    """

    _parameter_constraints: dict = {
        **_BaseExtractor._parameter_constraints,
        "method": [StrOptions(set(_METHODS)), callable],
        "max_features": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "ngram_range": [tuple],
        "n_components": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "analyzer": [StrOptions({"word", "char", "char_wb"}), callable],
        "lowercase": ["boolean"],
        "strip_accents": [StrOptions({"ascii", "unicode"}), None, callable],
        "stop_words": [StrOptions({"english"}), list, None],
        "token_pattern": [str, None],
        "min_df": [
            Interval(RealNotInt, 0, 1, closed="both"),
            Interval(numbers.Integral, 0, None, closed="left"),
        ],
        "max_df": [
            Interval(RealNotInt, 0, 1, closed="both"),
            Interval(numbers.Integral, 1, None, closed="left"),
        ],
        "binary": ["boolean"],
        "norm": [StrOptions({"l1", "l2"}), None],
        "use_idf": ["boolean"],
        "smooth_idf": ["boolean"],
        "sublinear_tf": ["boolean"],
        "n_features": [
            Interval(numbers.Integral, 1, np.iinfo(np.int32).max, closed="left")
        ],
        "random_state": ["random_state"],
    }

    # a callable method may hold estimators of its own: let them validate
    _prefer_skip_nested_validation = False

    def __init__(
        self,
        method="tfidf",
        *,
        max_features=None,
        ngram_range=(1, 1),
        n_components=None,
        analyzer="word",
        lowercase=True,
        strip_accents=None,
        stop_words=None,
        token_pattern=r"(?u)\b\w\w+\b",
        min_df=1,
        max_df=1.0,
        binary=False,
        norm="l2",
        use_idf=True,
        smooth_idf=True,
        sublinear_tf=False,
        n_features=2**20,
        random_state=None,
        on_error="raise",
    ):
        self.method = method
        self.max_features = max_features
        self.ngram_range = ngram_range
        self.n_components = n_components
        self.analyzer = analyzer
        self.lowercase = lowercase
        self.strip_accents = strip_accents
        self.stop_words = stop_words
        self.token_pattern = token_pattern
        self.min_df = min_df
        self.max_df = max_df
        self.binary = binary
        self.norm = norm
        self.use_idf = use_idf
        self.smooth_idf = smooth_idf
        self.sublinear_tf = sublinear_tf
        self.n_features = n_features
        self.random_state = random_state
        self.on_error = on_error

    # ----------------------------------------------------------------------
    # cells
    # ----------------------------------------------------------------------

    def _check_cells(self, cells):
        """Return ``(texts, good, n_samples)``: valid texts, their rows, the count.

        Raises on the first bad cell with ``on_error="raise"``; otherwise warns
        once per bad cell and leaves it out of ``good``.
        """
        texts, good = [], []
        for position, cell in enumerate(cells):
            if isinstance(cell, str):
                texts.append(cell)
                good.append(position)
                continue
            index = sample_index(cells, position)
            if is_missing(cell):
                error = missing_cell_error(index)
            else:
                error = TypeError(
                    cell_error_message(
                        index,
                        cell,
                        f"a text cell must be a str, got {type(cell).__name__}.",
                    )
                )
            self._bad_cell(cell, index, error)
        return texts, np.asarray(good, dtype=np.intp), len(cells)

    # ----------------------------------------------------------------------
    # features
    # ----------------------------------------------------------------------

    def _make_vectorizer(self):
        common = {
            "lowercase": self.lowercase,
            "strip_accents": self.strip_accents,
            "stop_words": self.stop_words,
            "token_pattern": self.token_pattern,
            "ngram_range": self.ngram_range,
            "analyzer": self.analyzer,
            "binary": self.binary,
            "dtype": np.float64,
        }
        if self.method == "tfidf":
            return TfidfVectorizer(
                **common,
                max_features=self.max_features,
                min_df=self.min_df,
                max_df=self.max_df,
                norm=self.norm,
                use_idf=self.use_idf,
                smooth_idf=self.smooth_idf,
                sublinear_tf=self.sublinear_tf,
            )
        if self.method == "count":
            return CountVectorizer(
                **common,
                max_features=self.max_features,
                min_df=self.min_df,
                max_df=self.max_df,
            )
        return HashingVectorizer(**common, n_features=self.n_features, norm=self.norm)

    def _embed(self, texts, *, n_expected=None):
        """Call a callable ``method`` and check what it returns."""
        name = _method_name(self.method)
        result = self.method(list(texts))
        try:
            result = check_array(
                result,
                accept_sparse="csr",
                dtype=(np.float64, np.float32),
                ensure_all_finite=True,
                input_name=f"the output of method={name}",
            )
        except (ValueError, TypeError) as exc:
            raise type(exc)(
                f"method={name} must return a finite numeric 2-D array of shape "
                f"(n_texts, n_features): {exc}"
            ) from exc
        if result.shape[0] != len(texts):
            raise ValueError(
                f"method={name} returned {result.shape[0]} rows for "
                f"{len(texts)} texts; it must return one row per text."
            )
        if n_expected is not None and result.shape[1] != n_expected:
            raise ValueError(
                f"method={name} returned {result.shape[1]} features, but "
                f"{n_expected} during fit; it must return the same width."
            )
        return result

    def _fit_features(self, texts):
        """Fit the vectorizer (or call the callable); return the raw features."""
        if callable(self.method):
            self.vectorizer_ = None
            return self._embed(texts)
        self.vectorizer_ = self._make_vectorizer()
        return self.vectorizer_.fit_transform(texts)

    def _features(self, texts, n_expected):
        if callable(self.method):
            return self._embed(texts, n_expected=n_expected)
        return self.vectorizer_.transform(texts)

    def set_output(self, *, transform=None):
        """Set the output container of dense features.

        Sparse features (the vectorizer methods without ``n_components``) stay
        sparse under a global ``sklearn.set_config(transform_output=...)``, as
        scikit-learn's vectorizers do; asking this extractor for ``"pandas"``
        or ``"polars"`` explicitly with sparse features is an error.

        Parameters
        ----------
        transform : {"default", "pandas", "polars"}, default=None
            ``"default"``: an ndarray or sparse matrix; ``"pandas"`` /
            ``"polars"``: a DataFrame of dense features; None: unchanged.

        Returns
        -------
        self : TextFeatureExtractor
            This extractor.
        """
        if transform is not None:
            config = dict(getattr(self, "_sklearn_output_config", {}))
            config["transform"] = transform
            self._sklearn_output_config = config
        return self

    def _output(self, block, X):
        """Wrap dense features as set_output (or the global setting) asks."""
        # fit_transform and transform share the "transform" output setting
        container = _get_output_config("transform", self)["dense"]
        if container == "default":
            return block
        if sp.issparse(block):
            if "transform" not in getattr(self, "_sklearn_output_config", {}):
                return block  # a global setting: stay sparse, as TfidfVectorizer
            raise ValueError(
                f"{container} output (set_output(transform={container!r})) needs "
                f"dense features, but method={self.method!r} without "
                f"n_components gives a sparse matrix of shape {block.shape}. Set "
                "n_components for a dense SVD block, or keep the default output "
                "with set_output(transform='default')."
            )
        adapter = _get_container_adapter("transform", self)
        return adapter.create_container(block, X, columns=self.get_feature_names_out)

    def _with_nan_rows(self, block, good, n_samples):
        """Place ``block``'s rows at ``good`` and NaN rows everywhere else."""
        if len(good) == n_samples:
            return block
        n_bad = n_samples - len(good)
        n_cols = block.shape[1]
        bad = np.setdiff1d(np.arange(n_samples), good)
        if sp.issparse(block):
            # an explicit NaN in every column, so the row reads as NaN when
            # densified and NaN-aware estimators see it as missing
            nan_block = sp.csr_matrix(
                (
                    np.full(n_bad * n_cols, np.nan, dtype=block.dtype),
                    np.tile(np.arange(n_cols), n_bad),
                    np.arange(n_bad + 1) * n_cols,
                ),
                shape=(n_bad, n_cols),
            )
            stacked = sp.vstack([block, nan_block], format="csr")
            order = np.argsort(np.concatenate([good, bad]), kind="stable")
            return stacked[order]
        out = np.full((n_samples, n_cols), np.nan, dtype=block.dtype)
        out[good] = block
        return out

    def _empty_block(self):
        """Features of zero texts, for inputs whose cells are all bad."""
        shape = (0, self.n_features_out_)
        if self._sparse_output:
            return sp.csr_matrix(shape, dtype=self._output_dtype)
        return np.empty(shape, dtype=self._output_dtype)

    # ----------------------------------------------------------------------
    # estimator API
    # ----------------------------------------------------------------------

    def _fit(self, cells):
        """Fit the vectorizer (and the SVD) on the valid texts."""
        self._fit_features_of(cells)

    def _fit_transform(self, cells):
        block, good, n_samples = self._fit_features_of(cells)
        return self._with_nan_rows(block, good, n_samples)

    def _fit_features_of(self, cells):
        texts, good, n_samples = self._check_cells(cells)
        if not texts:
            raise ValueError(
                f"{type(self).__name__} cannot fit: all {n_samples} cells are "
                "missing or not str."
            )
        features = self._fit_features(texts)
        self._n_raw_features = features.shape[1]
        self.svd_ = None
        if self.n_components is not None:
            if self.n_components > features.shape[1]:
                raise ValueError(
                    f"n_components={self.n_components} must be <= the number of "
                    f"text features before the SVD, {features.shape[1]} here (the "
                    "vocabulary size after min_df, max_df and max_features for "
                    "'tfidf' and 'count'). Lower n_components."
                )
            # an internal step: it must return an ndarray whatever the global
            # transform_output setting
            self.svd_ = TruncatedSVD(
                n_components=self.n_components, random_state=self.random_state
            ).set_output(transform="default")
            features = self.svd_.fit_transform(features)
        self.n_features_out_ = features.shape[1]
        # what transform returns, so that an input of only bad cells gets NaN
        # rows of the same type
        self._sparse_output = sp.issparse(features)
        self._output_dtype = features.dtype
        return features, good, n_samples

    def _transform(self, cells):
        texts, good, n_samples = self._check_cells(cells)
        if not texts:
            features = self._empty_block()
        else:
            features = self._features(texts, self._n_raw_features)
            if self.svd_ is not None:
                features = self.svd_.transform(features)
        return self._with_nan_rows(features, good, n_samples)

    def _feature_names(self):
        if self.svd_ is not None:
            prefix = "svd"
        elif callable(self.method):
            prefix = "emb"
        elif self.method == "hashing":
            prefix = "hash"
        else:
            return self.vectorizer_.get_feature_names_out()
        return numbered_names(prefix, self.n_features_out_)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        return tags
