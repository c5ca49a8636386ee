"""TextEmbedder: pooled hidden states (or CLIP's projected text embedding)."""

import itertools
import numbers

import numpy as np

from sklearn_mbm._compat import Interval, StrOptions
from sklearn_mbm._extractors._base import substitute
from sklearn_mbm._io import cell_error_message, is_missing, missing_cell_error
from sklearn_mbm.pretrained._base import _BaseEmbedder
from sklearn_mbm.pretrained._hub import predict_function

__all__ = ["TextEmbedder"]


def load_text_cell(cell, index):
    """Return a text cell, or raise the package's error naming the sample."""
    if isinstance(cell, str):
        return cell
    if is_missing(cell):
        raise missing_cell_error(index)
    raise TypeError(
        cell_error_message(
            index, cell, f"a text cell must be a str, got {type(cell).__name__}."
        )
    )


@substitute("on_error", "verbose")
class TextEmbedder(_BaseEmbedder):
    """Embed a column of texts with a pretrained KerasHub text backbone.

    Each text is tokenized by the preset's own tokenizer, framed by its start
    and end tokens, cut to ``max_length`` tokens and passed through the
    backbone; the row is the last hidden states pooled over the text's own
    tokens (padding masked out). For a joint image-text preset (CLIP,
    SigLIP) the row is the projected text embedding instead, in the same
    space as :class:`ImageEmbedder`'s rows for that preset, and texts are
    packed as the family's own KerasHub preprocessor packs them: CLIP
    lower-cases a text and frames it by its start and end tokens; SigLIP
    canonicalises it (lower case, no punctuation), ends it with its end token
    and pads it to the preset's fixed sequence length, as its text tower
    pools the last position.

    Parameters
    ----------
    preset : str or os.PathLike
        A KerasHub preset name (``"bert_tiny_en_uncased"``,
        ``"roberta_base_en"``, ``"clip_vit_base_patch32"``, ...), an
        ``"hf://org/model"`` or ``"kaggle://org/model/keras/variant"`` URI,
        or a local preset directory (what ``save_to_preset`` writes). Loaded
        lazily at ``fit``, once per process.
    pooling : {"mean", "cls", "max"}, default="mean"
        How the hidden states of a text's tokens become one row: their mean
        or element-wise maximum over the text's own tokens, or the first
        (``[CLS]`` / start) token's state. Ignored by joint image-text
        presets, whose text embedding is defined by the model (CLIP pools at
        the end token and projects).
    max_length : int, default=128
        Most tokens per text, start and end tokens included; longer texts
        are cut. Capped by what the preset allows (512 for BERT, 77 for CLIP,
        the preprocessor's sequence length for SigLIP): see ``max_length_``.
    batch_size : int, default=32
        Texts per network call. Batches are padded to their longest text
        (SigLIP: to its fixed sequence length), so memory grows with
        ``batch_size`` and ``max_length``, not with the number of texts.
    n_jobs : int or None, default=None
        Threads that check and tokenize cells while the network runs.
        ``None`` means 1.
    {on_error}
    {verbose}

    Attributes
    ----------
    backbone_family_ : str
        The backbone's family (``"bert"``, ``"clip"``, ``"sig_lip"``), the
        prefix of the feature names.
    max_length_ : int
        ``max_length`` capped by the preset.
    joint_ : bool
        True for a joint image-text preset (projected embeddings).
    preset_fingerprint_ : str
        Digest of the preset folder's files at fit (see Notes).
    n_features_out_ : int
        Width of an embedding.

    See Also
    --------
    sklearn_mbm.TextFeatureExtractor : Bag-of-words text features, no model.
    ImageEmbedder : The image side of a joint preset.

    Notes
    -----
    A fitted embedder pickles without its weights and reloads its preset
    (once per process) on first use. The preset folder is checked by the
    content of its files: a byte-for-byte copy (anywhere, with any file
    times) is accepted, and a folder whose content changed since fit is
    refused. See :ref:`pretrained` for presets, offline use and
    memory.

    Examples
    --------
    >>> from sklearn_mbm.pretrained import TextEmbedder
    >>> embedder = TextEmbedder("bert_tiny_en_uncased")  # doctest: +SKIP
    >>> embedder.fit_transform(["seven", "the digit three"]).shape  # doctest: +SKIP
    (2, 128)
    """

    _kind = "text"
    _unit = "text"

    _parameter_constraints: dict = {
        **_BaseEmbedder._parameter_constraints,
        "pooling": [StrOptions({"mean", "cls", "max"})],
        "max_length": [Interval(numbers.Integral, 3, None, closed="left")],
    }

    def __init__(
        self,
        preset,
        *,
        pooling="mean",
        max_length=128,
        batch_size=32,
        n_jobs=None,
        on_error="raise",
        verbose=False,
    ):
        self.preset = preset
        self.pooling = pooling
        self.max_length = max_length
        self.batch_size = batch_size
        self.n_jobs = n_jobs
        self.on_error = on_error
        self.verbose = verbose

    @staticmethod
    def _load_parts(keras_hub, preset):
        import keras

        backbone = keras_hub.models.Backbone.from_preset(preset)
        tokenizer = keras_hub.tokenizers.Tokenizer.from_preset(preset)
        joint = hasattr(backbone, "get_text_embeddings")
        if joint:  # CLIP / SigLIP: the projected text embedding
            token_ids = keras.Input(shape=(None,), dtype="int32", name="token_ids")
            model = keras.Model(token_ids, backbone.get_text_embeddings(token_ids))
            packing = joint_packing(keras_hub, preset, backbone, tokenizer)
        else:
            outputs = backbone.output
            if isinstance(outputs, dict):
                outputs = outputs["sequence_output"]
            model = keras.Model(backbone.input, outputs)
            packing = {
                "start": tokenizer.start_token_id,
                "end": tokenizer.end_token_id,
                "pad": tokenizer.pad_token_id,
                "limit": getattr(backbone, "max_sequence_length", None),
                "fixed_length": None,
                "canonicalize": None,
            }
        names = sorted(model.input) if isinstance(model.input, dict) else []
        return {
            "backbone": backbone,
            "tokenizer": tokenizer,
            "model": model,
            "predict": predict_function(model),
            "tokenize": batch_tokenizer(tokenizer, packing["canonicalize"]),
            "joint": joint,
            "packing": packing,
            "input_names": names,
        }

    def _configure(self, parts):
        limit = parts["packing"]["limit"]
        self.max_length_ = int(
            self.max_length if limit is None else min(self.max_length, limit)
        )
        self.joint_ = bool(parts["joint"])
        probe = self._embed_batch(parts, ["a"])
        self.n_features_out_ = int(probe.shape[1])

    def _load_cell(self, cell, index):
        return load_text_cell(cell, index)

    def _prepare_batch(self, parts, values):
        packing = parts["packing"]
        pieces, lengths = parts["tokenize"](values)  # the whole batch at once
        token_ids, mask = frame_tokens(
            pieces,
            lengths,
            self.max_length_,
            packing["start"],
            packing["end"],
            packing["pad"],
            width=packing["fixed_length"],
        )
        if parts["joint"]:
            return token_ids, mask
        inputs = {"token_ids": token_ids}
        if "padding_mask" in parts["input_names"]:
            inputs["padding_mask"] = mask
        if "segment_ids" in parts["input_names"]:
            inputs["segment_ids"] = np.zeros_like(token_ids)
        return inputs, mask

    def _run_batch(self, parts, inputs):
        inputs, mask = inputs
        if parts["joint"]:
            return parts["predict"](inputs).astype(np.float32)
        return pool_states(parts["predict"](inputs), mask, self.pooling)


# Joint families whose text embedding does not depend on the padding after a
# text's end token, so a batch is padded to its longest text only, not to
# the preprocessor's fixed length: CLIP's text tower masks attention
# causally and pools at the end token.
_PADS_TO_LONGEST = ("CLIPBackbone",)


def joint_packing(keras_hub, preset, backbone, tokenizer):
    """How the preset's own preprocessor packs a text for a joint backbone.

    The preprocessor is the KerasHub class made for the backbone's family
    (``CLIPPreprocessor``, ``SigLIPPreprocessor``), loaded from the preset
    (its saved sequence length, or the family's default). It says which of
    the start and end tokens frame a text, how a text is canonicalised
    first (CLIP lower-cases; SigLIP lower-cases, strips punctuation and
    collapses spaces) and the fixed length texts are padded to (SigLIP's text
    tower pools the last position, so its texts need exactly that length).
    """
    family = type(backbone)
    matches = [
        cls
        for cls in vars(keras_hub.models).values()
        if isinstance(cls, type)
        and issubclass(cls, keras_hub.models.Preprocessor)
        and cls.backbone_cls is family
    ]
    if len(matches) != 1:
        raise ValueError(
            f"TextEmbedder cannot tell how preset {preset!r} packs its texts: "
            f"KerasHub has {len(matches)} preprocessor classes for "
            f"{family.__name__} (one is needed)."
        )
    preprocessor = matches[0].from_preset(preset)
    limit = int(backbone.text_encoder.max_sequence_length)
    length = min(int(preprocessor.sequence_length), limit)
    canonicalize = None
    if getattr(preprocessor, "canonicalize_text", False):
        canonicalize = preprocessor.canonicalize_inputs
    elif getattr(preprocessor, "to_lower", False):
        canonicalize = _lower_case
    start = tokenizer.start_token_id if preprocessor.add_start_token else None
    end = tokenizer.end_token_id if preprocessor.add_end_token else None
    return {
        "start": start,
        "end": end,
        "pad": tokenizer.pad_token_id,
        "limit": length,
        "fixed_length": None if family.__name__ in _PADS_TO_LONGEST else length,
        "canonicalize": canonicalize,
    }


def pool_states(states, mask, pooling):
    """Pool ``(n, length, dim)`` hidden states over the unmasked positions."""
    if pooling == "cls":
        return states[:, 0].astype(np.float32)
    if pooling == "max":
        keep = mask[:, :, np.newaxis]
        return np.where(keep, states, -np.inf).max(axis=1).astype(np.float32)
    weights = mask.astype(states.dtype)
    total = np.einsum("nld,nl->nd", states, weights)
    return (total / weights.sum(axis=1, keepdims=True)).astype(np.float32)


def _lower_case(texts):
    """CLIPPreprocessor's ``to_lower``: ``tf.strings.lower`` (ASCII letters)."""
    from sklearn_mbm._keras import import_tensorflow

    return import_tensorflow().strings.lower(texts)


def batch_tokenizer(tokenizer, canonicalize=None):
    """``f(texts) -> (pieces, lengths)``: a batch's token ids, flat, and the
    number of ids of each text.

    ``canonicalize`` (a TensorFlow function of a string tensor, from the
    preset's preprocessor) runs on the texts first. With TensorFlow Text
    installed (keras-hub's own dependency) the tokenizer runs its compiled
    TensorFlow path, traced once; without it, KerasHub's pure-Python path
    (the same ids, several times slower).
    """
    from sklearn_mbm._keras import import_tensorflow

    try:
        import tensorflow_text  # noqa: F401
    except ImportError:
        return _python_tokenizer(tokenizer, canonicalize)
    tf = import_tensorflow()

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def tokenize(texts):
        if canonicalize is not None:
            texts = canonicalize(texts)
        pieces = tokenizer(texts)
        return pieces.flat_values, pieces.row_lengths()

    def run(texts):
        pieces, lengths = tokenize(tf.constant(texts, tf.string))
        return pieces.numpy(), lengths.numpy()

    return run


def _python_tokenizer(tokenizer, canonicalize=None):
    def run(texts):
        if canonicalize is not None:
            texts = [text.decode() for text in canonicalize(texts).numpy()]
        pieces = tokenizer(texts)
        if hasattr(pieces, "to_list"):  # a ragged tensor on older keras-hub
            pieces = pieces.to_list()
        lengths = np.fromiter(map(len, pieces), np.int64, len(pieces))
        flat = itertools.chain.from_iterable(pieces)
        return np.fromiter(flat, np.int32, int(lengths.sum())), lengths

    return run


def frame_tokens(pieces, lengths, max_length, start_id, end_id, pad_id, width=None):
    """Token ids ``(n, width)`` and padding mask of a batch's flat pieces.

    ``pieces`` holds the texts' ids one after another, ``lengths`` how many
    each has. Each text is cut to ``max_length`` ids with its start and end
    tokens (either may be ``None``: not added), as KerasHub's
    ``StartEndPacker`` cuts it, and framed by them; rows are padded with
    ``pad_id`` to the longest, or to ``width`` when given. Array operations
    only, no Python loop per text or token.
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    first = int(start_id is not None)
    special = first + int(end_id is not None)
    kept = np.minimum(lengths, max_length - special)
    if width is None:
        width = int(kept.max()) + special
    positions = np.arange(width)
    inner = (positions >= first) & (positions < first + kept[:, np.newaxis])
    # where each kept id sits in ``pieces``: its text's offset + its position
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    take = (np.nonzero(inner)[1] - first) + np.repeat(offsets, kept)
    token_ids = np.full((len(lengths), width), pad_id, dtype="int32")
    token_ids[inner] = np.asarray(pieces)[take]
    if start_id is not None:
        token_ids[:, 0] = start_id
    if end_id is not None:
        token_ids[np.arange(len(lengths)), first + kept] = end_id
    return token_ids, positions < (kept[:, np.newaxis] + special)
