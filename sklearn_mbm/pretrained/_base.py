"""The base every pretrained embedder shares: parameters, batches, bad cells.

A subclass says how one cell loads (:meth:`_BaseEmbedder._load_cell`), what
it loads from the preset (:meth:`_load_parts`) and how a batch of loaded
cells becomes network inputs and rows (``_prepare_batch``,
``_run_batch``); the base owns the rest: input
cells, ``on_error`` and the bad-cell warning, batches loaded one ahead of
the network, the progress bar and pickling. Input cells, ``on_error`` and
the bad-cell rule come from :class:`~sklearn_mbm._base_extractor._BaseExtractor`,
which the feature extractors share.
"""

import numbers
import os
import re
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from sklearn_mbm._base_extractor import _BaseExtractor, numbered_names, try_load
from sklearn_mbm._compat import Interval
from sklearn_mbm._io import sample_index, thread_count
from sklearn_mbm.pretrained._hub import load_preset, preset_fingerprint


class _BaseEmbedder(_BaseExtractor):
    """Shared machinery of TextEmbedder, ImageEmbedder and AudioEmbedder.

    Subclasses set ``_kind`` and ``_unit``, extend ``_parameter_constraints``
    and write ``_load_parts``, ``_configure``, ``_load_cell``,
    ``_prepare_batch`` and ``_run_batch``.
    """

    _kind = None  # "text", "image", "audio": what _load_parts loads
    _unit = "cell"  # progress bar unit

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

    def _transform(self, cells):
        from tqdm.auto import tqdm

        self._check_preset_unchanged()
        parts = self._parts()
        n_samples = len(cells)
        out = np.full((n_samples, self.n_features_out_), np.nan, dtype=np.float32)
        starts = range(0, n_samples, self.batch_size)
        pool = ThreadPoolExecutor(max_workers=thread_count(self.n_jobs))
        # One more thread prepares batch k + 1 (waits for its cells, then
        # tokenizes or converts them) while the network runs on batch k.
        preparer = ThreadPoolExecutor(max_workers=1)
        progress = tqdm(
            total=n_samples,
            disable=not self.verbose,
            desc=type(self).__name__,
            unit=self._unit,
        )

        def prepare(futures):
            loaded = [future.result() for future in futures]
            values = [value for value, error in loaded if error is None]
            return loaded, (self._prepare_batch(parts, values) if values else None)

        def submit(start):
            indices = range(start, min(start + self.batch_size, n_samples))
            futures = [
                pool.submit(try_load, self._load_cell, cells[i], sample_index(cells, i))
                for i in indices
            ]
            return indices, futures, preparer.submit(prepare, futures)

        pending = submit(0)
        try:
            for batch, _ in enumerate(starts):
                indices, _, prepared = pending
                loaded, inputs = prepared.result()
                nxt = batch + 1
                pending = submit(starts[nxt]) if nxt < len(starts) else None
                # bad cells raise or warn here, in sample order
                rows, _ = self._good_cells(cells, indices, loaded)
                if rows:
                    out[rows] = self._run_batch(parts, inputs)
                progress.update(len(indices))
        finally:  # on an error, this also cancels the cells not yet loaded
            pool.shutdown(wait=True, cancel_futures=True)
            preparer.shutdown(wait=True, cancel_futures=True)
            progress.close()
        return out

    def _good_cells(self, cells, indices, loaded):
        """Rows and values of the good cells; the bad-cell rule for the others."""
        rows, values = [], []
        for index, (value, error) in zip(indices, loaded):
            if error is None:
                rows.append(index)
                values.append(value)
            else:
                self._bad_cell(cells[index], sample_index(cells, index), error)
        return rows, values

    # ----------------------------------------------------------------------
    # subclass hooks
    # ----------------------------------------------------------------------

    @staticmethod
    def _load_parts(keras_hub, preset):  # pragma: no cover - abstract
        raise NotImplementedError

    def _configure(self, parts):  # pragma: no cover - abstract
        raise NotImplementedError

    def _load_cell(self, cell, index):  # pragma: no cover - abstract
        raise NotImplementedError

    def _prepare_batch(self, parts, values):  # pragma: no cover - abstract
        """Network inputs of a batch of loaded cells (runs in a thread)."""
        raise NotImplementedError

    def _run_batch(self, parts, inputs):  # pragma: no cover - abstract
        """Rows of a prepared batch."""
        raise NotImplementedError

    def _embed_batch(self, parts, values):
        """Rows of a batch of loaded cells: prepare, then run."""
        return self._run_batch(parts, self._prepare_batch(parts, values))

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
