"""Tests of sklearn_mbm._extractors._base: shared docs, the shared rules and the
batch loop, through a fourth modality written as the base asks."""

import numbers
import os
import pickle
import threading
import warnings
import weakref

import numpy as np
import pandas as pd
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
from sklearn_mbm._compat import Interval
from sklearn_mbm._extractors._base import _BaseExtractor, numbered_names, substitute
from sklearn_mbm._io import CellLoadWarning, cell_error_message, thread_count
from sklearn_mbm._io._cells import open_cell_file

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


# --------------------------------------------------------------------------
# a fourth modality: a loader and a batch function, nothing else
# --------------------------------------------------------------------------


@substitute("on_error", "verbose")
class TinyVideoExtractor(_BaseExtractor):
    """Brightness and motion of a clip of grey frames: a fourth modality.

    Written as the base asks a new modality to be: its parameters, a loader
    (``_load_cell``) and a batch function (``_run_batch``). The batch loop,
    the bad-cell rule, ``fit``, the feature names and pickling are the base's.

    Parameters
    ----------
    batch_size : int, default=4
        Clips per batch.
    n_jobs : int or None, default=None
        Threads that load clips.
    {on_error}
    {verbose}
    """

    _parameter_constraints: dict = {
        **_BaseExtractor._parameter_constraints,
        "batch_size": [Interval(numbers.Integral, 1, None, closed="left")],
        "n_jobs": [numbers.Integral, None],
        "verbose": ["verbose"],
    }

    def __init__(self, *, batch_size=4, n_jobs=None, on_error="raise", verbose=False):
        self.batch_size = batch_size
        self.n_jobs = n_jobs
        self.on_error = on_error
        self.verbose = verbose

    def _load_cell(self, cell, index):
        """A ``.npy`` file or an array of frames ``(n_frames, height, width)``."""
        if isinstance(cell, (str, os.PathLike)):
            with open_cell_file(cell, index, "video") as file:
                try:
                    cell = np.load(file)
                except ValueError as exc:
                    raise ValueError(
                        cell_error_message(index, cell, f"not a .npy clip: {exc}")
                    ) from exc
        frames = np.asarray(cell, dtype=np.float64)
        if frames.ndim != 3 or frames.shape[0] < 2:
            raise ValueError(
                cell_error_message(
                    index, cell, f"a clip is 2 or more 2-D frames, got {frames.shape}"
                )
            )
        return frames

    def _run_batch(self, context, clips):
        """Mean brightness and mean absolute change between frames of each
        clip, from the frames of the whole batch at once."""
        frames = np.concatenate(clips)
        level = frames.mean(axis=(1, 2))
        change = np.abs(np.diff(frames, axis=0)).mean(axis=(1, 2))
        bounds = np.cumsum([0, *map(len, clips)])
        return np.array(
            [
                [level[a:b].mean(), change[a : b - 1].mean()]
                for a, b in zip(bounds[:-1], bounds[1:])
            ]
        )


def _video_reference(clip):
    """The tiny extractor's row, computed with plain numpy on one clip."""
    clip = np.asarray(clip, dtype=np.float64)
    level = clip.mean(axis=(1, 2)).mean()
    change = np.abs(np.diff(clip, axis=0)).mean(axis=(1, 2)).mean()
    return np.array([level, change], dtype=np.float32)


_WAVEFORM = np.sin(np.linspace(0, 400, 1600)).astype(np.float32)
_IMAGE = np.arange(64, dtype=np.uint8).reshape(8, 8)


@pytest.mark.parametrize(
    ("extractor", "good"),
    [
        (ImageFeatureExtractor("pixels", on_error="warn"), _IMAGE),
        (TextFeatureExtractor(on_error="warn"), "seven eight"),
        (AudioFeatureExtractor(input_sr=16000, on_error="warn"), _WAVEFORM),
        (TinyVideoExtractor(on_error="warn"), np.stack([_IMAGE, _IMAGE.T])),
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


# --------------------------------------------------------------------------
# the batch loop, through the tiny extractor
# --------------------------------------------------------------------------


@pytest.fixture
def video_clips():
    rng = np.random.default_rng(0)
    return [
        rng.integers(0, 256, (n_frames, 4, 5), dtype=np.uint8)
        for n_frames in (2, 5, 3, 4, 2, 6, 3)
    ]


@pytest.fixture
def video_files(video_clips, tmp_path):
    paths = []
    for i, clip in enumerate(video_clips):
        path = tmp_path / f"clip{i}.npy"
        np.save(path, clip)
        paths.append(str(path))
    return paths


def test_a_new_modality_is_a_loader_and_a_batch_function(video_clips, video_files):
    # what the class body writes (set_output's subclass hook adds its keys)
    written = set(vars(TinyVideoExtractor)) - {"_sklearn_auto_wrap_output_keys"}
    written = {name for name in written if not name.startswith("__")}
    assert written == {"_parameter_constraints", "_load_cell", "_run_batch"}
    expected = np.array([_video_reference(clip) for clip in video_clips])
    extractor = TinyVideoExtractor()
    features = np.asarray(extractor.fit_transform(video_files))
    assert features.dtype == np.float32
    np.testing.assert_array_equal(features, expected)
    # fit fixed the width from the first clip; the names are numbered
    assert extractor.n_features_out_ == 2
    assert extractor.get_feature_names_out().tolist() == [
        "tinyvideoextractor0",
        "tinyvideoextractor1",
    ]
    # files and arrays are the same clips
    np.testing.assert_array_equal(extractor.transform(video_clips), expected)
    # a pandas output through set_output, as every extractor
    frame = clone(extractor).set_output(transform="pandas").fit_transform(video_files)
    assert list(frame.columns) == ["tinyvideoextractor0", "tinyvideoextractor1"]


@pytest.mark.parametrize("batch_size", [1, 3, 50])
@pytest.mark.parametrize("n_jobs", [None, 2, -1])
def test_the_loop_keeps_sample_order_over_batches_and_threads(
    video_clips, video_files, batch_size, n_jobs
):
    extractor = TinyVideoExtractor(batch_size=batch_size, n_jobs=n_jobs).fit(
        video_files
    )
    seen, loaders = [], set()
    real_load, real_run = extractor._load_cell, extractor._run_batch

    def recording_load(cell, index):
        loaders.add(threading.get_ident())
        return real_load(cell, index)

    def recording_run(context, clips):
        seen.append(len(clips))
        return real_run(context, clips)

    extractor._load_cell, extractor._run_batch = recording_load, recording_run
    features = extractor.transform(video_files)
    np.testing.assert_array_equal(
        features, np.array([_video_reference(clip) for clip in video_clips])
    )
    n = len(video_files)
    assert seen == [min(batch_size, n - start) for start in range(0, n, batch_size)]
    # loaded in n_jobs threads, never in the calling one
    assert threading.get_ident() not in loaders
    assert 1 <= len(loaders) <= thread_count(n_jobs)


def test_the_next_batch_loads_while_a_batch_runs(video_files):
    extractor = TinyVideoExtractor(batch_size=2).fit(video_files)
    next_batch_loading = threading.Event()
    real_load, real_run = extractor._load_cell, extractor._run_batch
    seen_during_first_batch = []

    def recording_load(cell, index):
        if index >= 2:
            next_batch_loading.set()
        return real_load(cell, index)

    def slow_run(context, clips):
        if not seen_during_first_batch:  # batch 0 runs: batch 1 must be loading
            seen_during_first_batch.append(next_batch_loading.wait(timeout=30))
        return real_run(context, clips)

    extractor._load_cell, extractor._run_batch = recording_load, slow_run
    extractor.transform(video_files)
    assert seen_during_first_batch == [True]


def test_memory_holds_at_most_three_batches_of_loaded_cells(video_clips):
    extractor = TinyVideoExtractor(batch_size=2, n_jobs=2).fit(video_clips)
    live, peak = [0], [0]
    lock = threading.Lock()
    real_load = extractor._load_cell

    def counted_load(cell, index):
        frames = real_load(cell, index)

        def released():
            with lock:
                live[0] -= 1

        with lock:
            live[0] += 1
            peak[0] = max(peak[0], live[0])
        weakref.finalize(frames, released)
        return frames

    extractor._load_cell = counted_load
    cells = video_clips * 10  # 70 clips, 35 batches of 2
    extractor.transform(cells)
    assert live[0] == 0
    assert 2 <= peak[0] <= 3 * 2, peak[0]


def test_bad_cells_raise_in_sample_order_naming_index_and_path(
    video_clips, video_files, tmp_path
):
    gone = str(tmp_path / "gone.npy")
    junk = tmp_path / "junk.npy"
    junk.write_bytes(b"not numpy")
    extractor = TinyVideoExtractor(batch_size=2, n_jobs=2).fit(video_files)
    with pytest.raises(FileNotFoundError, match=r"sample 1 \(path '.*gone\.npy'\)"):
        extractor.transform([video_files[0], gone, None])
    with pytest.raises(ValueError, match=r"sample 2 is missing \(None or NaN\)"):
        extractor.transform([video_files[0], video_files[1], None, gone])
    with pytest.raises(ValueError, match=r"sample 0 \(path '.*junk\.npy'\): not a"):
        extractor.transform([str(junk)])
    with pytest.raises(ValueError, match=r"sample 'c' \(position 2\) .* got \(4, 5\)"):
        extractor.transform(
            pd.Series([video_clips[0], video_clips[1], video_clips[2][0]], list("abc"))
        )
    # the first bad cell raises even when a later one fails first
    real_load = extractor._load_cell
    first_failed = threading.Event()

    def late_first(cell, index):
        if index == 0:
            first_failed.wait(timeout=30)
        elif index == 1:
            try:
                return real_load(cell, index)
            finally:
                first_failed.set()
        return real_load(cell, index)

    extractor._load_cell = late_first
    with pytest.raises(FileNotFoundError, match="sample 0 .*gone"):
        extractor.transform([gone, str(junk), video_files[0]])


def test_warn_gives_nan_rows_and_warnings_in_sample_order(video_clips, video_files):
    cells = list(video_files)
    cells[1], cells[3], cells[6] = None, "nowhere.npy", video_clips[0][0]
    extractor = TinyVideoExtractor(batch_size=3, n_jobs=2, on_error="warn")
    with pytest.warns(CellLoadWarning) as caught:
        features = np.asarray(extractor.fit_transform(cells))
    messages = [str(w.message) for w in caught if w.category is CellLoadWarning]
    assert [m.split(" ", 2)[1] for m in messages] == ["1", "3", "6"]
    assert messages[0] == (
        "sample 1 is missing (None or NaN). Its row of features is NaN."
    )
    assert "nowhere.npy" in messages[1]
    assert all(m.endswith(" Its row of features is NaN.") for m in messages)
    bad = [1, 3, 6]
    assert np.isnan(features[bad]).all()
    good = [i for i in range(len(cells)) if i not in bad]
    np.testing.assert_array_equal(
        features[good], np.array([_video_reference(video_clips[i]) for i in good])
    )


def test_default_fit_needs_one_good_cell(video_files, tmp_path):
    gone = str(tmp_path / "gone.npy")
    with pytest.raises(
        ValueError,
        match="TinyVideoExtractor needs at least one valid cell in fit to fix its "
        "output width; none of the 2 cells could be loaded",
    ):
        TinyVideoExtractor(on_error="warn").fit([None, gone])
    with pytest.raises(FileNotFoundError, match="sample 0"):
        TinyVideoExtractor().fit([gone, video_files[0]])
    # a missing cell is left to transform (the bad-cell rule reports it there)
    assert TinyVideoExtractor().fit([None, video_files[0]]).n_features_out_ == 2


def test_progress_bar_runs_over_the_cells(video_files, capsys):
    TinyVideoExtractor(batch_size=3, verbose=True).fit_transform(video_files)
    err = capsys.readouterr().err
    assert "TinyVideoExtractor" in err and "7/7" in err and "cell" in err
    TinyVideoExtractor(batch_size=3).fit_transform(video_files)
    assert capsys.readouterr().err == ""


def test_the_tiny_extractor_pickles_and_clones(video_files):
    fitted = TinyVideoExtractor(batch_size=2).fit(video_files)
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(
        restored.transform(video_files), fitted.transform(video_files)
    )
    assert clone(fitted).get_params() == fitted.get_params()
    assert not hasattr(clone(fitted), "n_features_out_")


def test_a_batch_function_of_the_wrong_shape_is_refused(video_files):
    class Broken(TinyVideoExtractor):
        def _run_batch(self, context, clips):
            return super()._run_batch(context, clips)[:1]

    extractor = Broken(batch_size=2).fit(video_files)
    with pytest.raises(
        ValueError,
        match=r"Broken\._run_batch returned an array of shape \(1, 2\) for a "
        r"batch of 2 cell\(s\); expected \(2, 2\)",
    ):
        extractor.transform(video_files)

    class Flat(TinyVideoExtractor):
        def _run_batch(self, context, clips):
            return super()._run_batch(context, clips).ravel()

    with pytest.raises(
        ValueError,
        match=r"Flat\._run_batch returned an array of shape \(2,\) for a batch of "
        r"1 cell\(s\); expected \(1, n_features\)",
    ):
        Flat().fit(video_files)
