"""The base every pretrained embedder shares: the preset, names, pickling.

A subclass says what it loads from the preset (:meth:`_load_parts`), what it
fixes at fit (:meth:`_configure`), how one cell loads (``_load_cell``) and
how a batch of loaded cells becomes network inputs and rows
(``_prepare_batch``, ``_run_batch``); this base gives the batch hooks the
preset's loaded parts as their ``context``. Input cells, ``on_error``, the
bad-cell rule and the batch loop (cells loaded one batch ahead of the
network, the progress bar) come from
:class:`~sklearn_mbm._extractors._base._BaseExtractor`, which the feature
extractors share.
"""

import numbers
import os
import re

from sklearn_mbm._compat import Interval
from sklearn_mbm._extractors._base import _BaseExtractor, numbered_names
from sklearn_mbm.pretrained._hub import load_preset, preset_fingerprint


class _BaseEmbedder(_BaseExtractor):
    """Shared machinery of TextEmbedder, ImageEmbedder and AudioEmbedder.

    Subclasses set ``_kind`` and ``_unit``, extend ``_parameter_constraints``
    and write ``_load_parts``, ``_configure`` and the batch loop's hooks
    ``_load_cell``, ``_prepare_batch`` and ``_run_batch`` (whose ``context``
    is the preset's loaded parts).
    """

    _kind = None  # "text", "image", "audio": what _load_parts loads

    _parameter_constraints: dict = {
        **_BaseExtractor._parameter_constraints,
        "preset": [str, os.PathLike],
        "batch_size": [Interval(numbers.Integral, 1, None, closed="left")],
        "n_jobs": [numbers.Integral, None],
        "verbose": ["verbose"],
    }

    def _fit(self, cells):
        """Load the preset (once per process) and fix the output width.

        No cell is read: the embeddings are fixed functions of each cell.
        """
        self.preset_fingerprint_ = preset_fingerprint(self.preset)
        parts = self._parts()
        self.backbone_family_ = _family(parts["backbone"])
        self._configure(parts)

    def _parts(self):
        """The preset's loaded parts (backbone, tokenizer, converter, ...)."""
        return load_preset(self.preset, self._kind, type(self)._load_parts)

    def _batch_context(self):
        """The preset's loaded parts, the ``parts`` of the batch hooks."""
        self._check_preset_unchanged()
        return self._parts()

    # ----------------------------------------------------------------------
    # subclass hooks
    # ----------------------------------------------------------------------

    @staticmethod
    def _load_parts(keras_hub, preset):  # pragma: no cover - abstract
        raise NotImplementedError

    def _configure(self, parts):  # pragma: no cover - abstract
        raise NotImplementedError

    # _load_cell(cell, index), _prepare_batch(parts, values) and
    # _run_batch(parts, inputs): the batch loop's hooks (see _BaseExtractor),
    # with the preset's loaded parts as their context

    # ----------------------------------------------------------------------
    # names, tags, pickling
    # ----------------------------------------------------------------------

    def _feature_names(self):
        """``"{backbone_family_}_{i}"`` (``bert_0``, ``clip_5``)."""
        return numbered_names(f"{self.backbone_family_}_", self.n_features_out_)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.one_d_array = True
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags

    def _check_preset_unchanged(self):
        """Refuse to embed with a preset folder that changed since fit."""
        current = preset_fingerprint(self.preset)
        if current != self.preset_fingerprint_:
            raise ValueError(
                f"the preset {os.fspath(self.preset)!r} changed since this "
                f"{type(self).__name__} was fitted (the content of its files "
                "differs), so its embeddings would differ too; fit it again."
            )

    # The pickle holds no weights: a fitted embedder is its parameters plus a
    # few numbers, and reloads its preset (once per process) on first use.
    # Presets weigh hundreds of megabytes to gigabytes; FusionTransformer's
    # cache and joblib / Dask workers would copy them with every fitted
    # estimator. The fingerprint of the preset folder travels instead: the
    # cache key of an unfitted embedder changes with the folder's files, and
    # a fitted one refuses a preset that changed since fit.
    def __getstate__(self):
        state = dict(super().__getstate__())
        if isinstance(self.preset, (str, os.PathLike)):
            state["_preset_fingerprint_at_pickle"] = preset_fingerprint(self.preset)
        return state

    def __setstate__(self, state):
        state = dict(state)
        state.pop("_preset_fingerprint_at_pickle", None)
        super().__setstate__(state)


def _family(backbone):
    """``BertBackbone`` -> ``"bert"``: the feature-name prefix."""
    name = type(backbone).__name__
    name = re.sub(r"Backbone$", "", name) or name
    name = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()
    return re.sub(r"[^a-z0-9]+", "_", name).strip("_") or "model"
