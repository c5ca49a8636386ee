"""ZeroShotClassifier: classify images or texts by their similarity to prompts."""

import numbers
import os

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    check_consistent_length,
    check_is_fitted,
    column_or_1d,
)

from sklearn_mbm._compat import Interval, StrOptions, _fit_context
from sklearn_mbm.pretrained._image import ImageEmbedder
from sklearn_mbm.pretrained._text import TextEmbedder

__all__ = ["ZeroShotClassifier"]

# CLIP's own prompt for images (Radford et al. 2021, section 3.1.4): a bare
# class name is often ambiguous, "a photo of a {}." says what is shown.
_DEFAULT_TEMPLATES = {"image": ("a photo of a {}.",), "text": ("{}",)}


class ZeroShotClassifier(ClassifierMixin, BaseEstimator):
    """Classify images or texts by a joint image-text preset, without training.

    Each class becomes one or more prompts (its label put into each prompt
    template: ``"a photo of a {}."`` with the label ``"cat"`` gives
    ``"a photo of a cat."``), embedded by the preset's text tower; a class's
    embedding is the mean of its prompts' unit embeddings, made unit length
    again (CLIP's prompt ensembling). A sample (an image, or a text with
    ``modality="text"``) is embedded by the same preset, and its scores are
    the preset's own logits against each class: the cosine similarity times
    the model's learned ``logit_scale``, plus its ``logit_bias`` (SigLIP).

    **It learns nothing from** ``y`` **beyond the set of classes**: ``fit``
    reads ``y`` only for ``classes_``, embeds the prompts of those classes
    and never looks at the samples ``X`` (nor at which sample has which
    class). Its cross-validated score is therefore the preset's zero-shot
    accuracy on the test folds, a baseline for any model trained on ``y``.

    Parameters
    ----------
    preset : str or os.PathLike
        A joint image-text KerasHub preset (CLIP: ``"clip_vit_base_patch32"``;
        SigLIP: ``"siglip_base_patch16_224"``), an ``hf://`` or ``kaggle://``
        URI, or a local preset directory. A preset without a text tower is an
        error at ``fit``.
    labels : dict or None, default=None
        The words that name each class in the prompts: ``{class: label}`` or
        ``{class: [label, synonym, ...]}`` (several labels are averaged like
        several templates). Every class of ``y`` needs an entry; entries for
        classes not in ``y`` are not candidates. ``None`` names each class by
        ``str(class)``.
    templates : str, list of str or None, default=None
        Prompt templates, each with one ``"{}"`` where the label goes.
        ``None`` means ``["a photo of a {}."]`` for images and ``["{}"]``
        (the label alone) for texts.
    modality : {"image", "text"}, default="image"
        What the samples are: image cells (as :class:`ImageEmbedder` takes)
        or text cells (as :class:`TextEmbedder` takes).
    batch_size : int, default=32
        Samples (and prompts) per network call.
    n_jobs : int or None, default=None
        Threads that load and prepare cells ahead of the network. ``None``
        means 1.
    verbose : bool, default=False
        Show a progress bar while samples are embedded.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The classes of ``y`` at fit (or the keys of ``labels`` when ``y`` is
        None), sorted.
    prompts_ : list of list of str
        The prompts of each class, in the order of ``classes_``.
    class_embeddings_ : ndarray of shape (n_classes, n_dims)
        Unit-length embedding of each class.
    logit_scale_ : float
        The preset's learned temperature, ``exp(logit_scale)`` (100 for a
        trained CLIP; random for a randomly initialised preset).
    logit_bias_ : float
        The preset's learned logit bias (SigLIP), 0.0 for CLIP.
    embedder_ : ImageEmbedder or TextEmbedder
        The fitted embedder of the samples.

    See Also
    --------
    ImageEmbedder : The image rows of a joint preset.
    TextEmbedder : The text rows of a joint preset.

    Notes
    -----
    ``predict_proba`` is the softmax of the logits over the classes, as CLIP
    is trained. SigLIP is trained with a sigmoid per image-text pair: the
    softmax keeps its ranking (the bias cancels out), and
    ``expit(decision_function(X))`` gives its own per-class probabilities.

    Nothing is cached between ``fit`` calls but the loaded preset (once per
    process, shared with the embedders). See :ref:`pretrained`.

    Examples
    --------
    >>> from sklearn_mbm.pretrained import ZeroShotClassifier
    >>> clf = ZeroShotClassifier(
    ...     "clip_vit_base_patch32", labels={0: "cat", 1: "dog"}
    ... )  # doctest: +SKIP
    >>> clf.fit(None).predict(["cat.jpg", "dog.png"])  # doctest: +SKIP
    array([0, 1])
    """

    _parameter_constraints: dict = {
        "preset": [str, os.PathLike],
        "labels": [dict, None],
        "templates": [str, list, tuple, None],
        "modality": [StrOptions({"image", "text"})],
        "batch_size": [Interval(numbers.Integral, 1, None, closed="left")],
        "n_jobs": [numbers.Integral, None],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        preset,
        *,
        labels=None,
        templates=None,
        modality="image",
        batch_size=32,
        n_jobs=None,
        verbose=False,
    ):
        self.preset = preset
        self.labels = labels
        self.templates = templates
        self.modality = modality
        self.batch_size = batch_size
        self.n_jobs = n_jobs
        self.verbose = verbose

    def _embedder(self, modality):
        cls = ImageEmbedder if modality == "image" else TextEmbedder
        return cls(
            self.preset,
            batch_size=self.batch_size,
            n_jobs=self.n_jobs,
            verbose=self.verbose,
        )

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Embed the prompts of the classes; the samples ``X`` are not read.

        Parameters
        ----------
        X : sequence of cells
            The samples (images or texts): only their number is checked
            against ``y``; no cell is loaded.
        y : array-like of shape (n_samples,) or None, default=None
            Class of each sample: only the set of classes is used. None takes
            the classes from the keys of ``labels``.

        Returns
        -------
        self : ZeroShotClassifier
            The fitted classifier.
        """
        if y is None:
            if self.labels is None:
                raise ValueError(
                    "ZeroShotClassifier needs the classes: pass y, or "
                    "labels={class: label, ...} to fit(X) without y."
                )
            self.classes_ = np.unique(np.asarray(list(self.labels)))
        else:
            y = column_or_1d(y, warn=True)
            check_consistent_length(X, y)
            check_classification_targets(y)
            self.classes_ = np.unique(y)
        self.prompts_ = self._prompts()
        if self.modality == "image":  # fit reads no cell
            self.embedder_ = self._check_joint(self._embedder("image").fit(X))
        prompts = [prompt for prompts in self.prompts_ for prompt in prompts]
        text = self._check_joint(self._embedder("text").fit(prompts))
        if self.modality == "text":
            self.embedder_ = text
        self.class_embeddings_ = self._class_embeddings(text)
        backbone = text._parts()["backbone"]
        self.logit_scale_, self.logit_bias_ = logit_scale_and_bias(backbone)
        return self

    def _check_joint(self, embedder):
        """The fitted ``embedder``, or an error for a preset with one tower."""
        if not embedder.joint_:
            raise ValueError(
                "ZeroShotClassifier needs a joint image-text preset (CLIP, "
                f"SigLIP); preset {os.fspath(self.preset)!r} is a "
                f"{embedder.backbone_family_!r} backbone without a shared "
                "image-text space."
            )
        return embedder

    def _prompts(self):
        """The prompts of each class of ``classes_``."""
        templates = self.templates
        if templates is None:
            templates = _DEFAULT_TEMPLATES[self.modality]
        elif isinstance(templates, str):
            templates = [templates]
        for template in templates:
            if not isinstance(template, str) or template.count("{}") != 1:
                raise ValueError(
                    "each prompt template must be a str with one '{}' where "
                    f"the label goes (e.g. 'a photo of a {{}}.'), got {template!r}."
                )
        if not templates:
            raise ValueError("templates is empty: give at least one template.")
        prompts = []
        for label in self._labels():
            names = [label] if isinstance(label, str) else list(label)
            prompts.append([t.format(name) for name in names for t in templates])
        return prompts

    def _labels(self):
        """The label (str or list of str) of each class of ``classes_``."""
        classes = self.classes_.tolist()  # Python scalars: 2, not np.int64(2)
        if self.labels is None:
            return [str(c) for c in classes]
        missing = [c for c in classes if c not in self.labels]
        if missing:
            raise ValueError(
                f"labels has no entry for the class(es) {missing!r} of y; it "
                f"names {list(self.labels)!r}. Give every class a label."
            )
        labels = [self.labels[c] for c in classes]
        for c, label in zip(classes, labels):
            names = [label] if isinstance(label, str) else label
            if (
                not isinstance(names, (list, tuple))
                or not names
                or not all(isinstance(name, str) for name in names)
            ):
                raise ValueError(
                    f"the label of class {c!r} must be a str or a non-empty "
                    f"list of str, got {label!r}."
                )
        return labels

    def _class_embeddings(self, text):
        """Unit mean of each class's unit prompt embeddings."""
        rows = _unit(text.transform([p for ps in self.prompts_ for p in ps]))
        bounds = np.cumsum([0, *map(len, self.prompts_)])
        means = [rows[a:b].mean(axis=0) for a, b in zip(bounds[:-1], bounds[1:])]
        return _unit(np.stack(means))

    def decision_function(self, X):
        """The preset's logits of each sample against each class.

        Parameters
        ----------
        X : sequence of cells
            Images (or texts with ``modality="text"``).

        Returns
        -------
        scores : ndarray of shape (n_samples, n_classes)
            ``logit_scale_ * cosine + logit_bias_``, columns in the order of
            ``classes_``.
        """
        check_is_fitted(self)
        rows = _unit(np.asarray(self.embedder_.transform(X), dtype=np.float64))
        scores = self.logit_scale_ * rows @ self.class_embeddings_.T
        return scores + self.logit_bias_

    def predict_proba(self, X):
        """Softmax of the logits over the classes.

        Parameters
        ----------
        X : sequence of cells
            Images (or texts with ``modality="text"``).

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Rows sum to 1; columns in the order of ``classes_``.
        """
        from scipy.special import softmax

        check_is_fitted(self)
        return softmax(self.decision_function(X), axis=1)

    def predict(self, X):
        """The class with the highest logit.

        Parameters
        ----------
        X : sequence of cells
            Images (or texts with ``modality="text"``).

        Returns
        -------
        y : ndarray of shape (n_samples,)
            One of ``classes_`` per sample.
        """
        check_is_fitted(self)
        return self.classes_[np.argmax(self.decision_function(X), axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # the input cells of the embedder of the samples (one rule, one place)
        modality = self.modality if self.modality in ("image", "text") else "image"
        tags.input_tags = self._embedder(modality).__sklearn_tags__().input_tags
        return tags


def logit_scale_and_bias(backbone):
    """A joint backbone's learned ``exp(logit_scale)`` and ``logit_bias``.

    Read from its head layer (``CLIPHead``, ``SigLIPHead``), the layer that
    turns cosine similarities into the model's logits.
    """
    for layer in backbone.layers:
        if hasattr(layer, "logit_scale"):
            scale = float(np.exp(np.asarray(layer.logit_scale)))
            bias = getattr(layer, "logit_bias", None)
            return scale, 0.0 if bias is None else float(np.asarray(bias))
    raise ValueError(
        f"{type(backbone).__name__} has no head with a logit_scale: it is not "
        "a joint image-text backbone ZeroShotClassifier can score with."
    )


def _unit(rows):
    """Rows scaled to unit length (float64)."""
    rows = np.asarray(rows, dtype=np.float64)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)
