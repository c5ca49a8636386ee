"""The chunk layout of RIFF/WAVE files, and numpy decoding of plain PCM ones.

Most WAV files are a short header and one chunk of interleaved samples.
Decoding them through soundfile costs about 80 microseconds of Python per file
(object setup, format queries, seeks), more than the decoding itself for short
clips. :func:`read_riff_layout` walks the chunk list (which the loader needs
anyway, to refuse files cut short) and :func:`decode_plain_pcm` reads such a
data chunk with one ``read`` and scales it exactly as libsndfile does when it
returns float64: unsigned 8-bit as ``(x - 128) / 128``, signed 16- and 32-bit
as ``x / 2**15`` and ``x / 2**31``, IEEE floats unchanged. Every other layout
(24-bit, big-endian RIFX, compressed codecs, streaming placeholders, a format
chunk after the data) returns ``None`` and is left to libsndfile.
``tests/test_io_wav.py`` checks both paths give identical arrays.
:func:`walk_chunks` is the chunk walk itself, which the AIFF check of
:mod:`sklearn_mbm._io._aiff_au` shares (IFF chunks are RIFF's, big-endian).
"""

import struct
from typing import NamedTuple

import numpy as np

_WAVE_FORMAT_PCM = 0x0001
_WAVE_FORMAT_IEEE_FLOAT = 0x0003
_WAVE_FORMAT_EXTENSIBLE = 0xFFFE
# Streaming encoders write these as the data size before they know it.
_PLACEHOLDER_SIZES = (0, 0xFFFFFFFF)
# KSDATAFORMAT_SUBTYPE_PCM / _IEEE_FLOAT GUIDs after their first two bytes
_SUBFORMAT_GUID_TAIL = bytes.fromhex("000000001000800000aa00389b71")
# (format, bits per sample) -> (dtype of a sample, offset, scale)
_PLAIN_CODECS = {
    (_WAVE_FORMAT_PCM, 8): ("u1", 128.0, 2.0**7),
    (_WAVE_FORMAT_PCM, 16): ("<i2", 0.0, 2.0**15),
    (_WAVE_FORMAT_PCM, 32): ("<i4", 0.0, 2.0**31),
    (_WAVE_FORMAT_IEEE_FLOAT, 32): ("<f4", 0.0, 1.0),
    (_WAVE_FORMAT_IEEE_FLOAT, 64): ("<f8", 0.0, 1.0),
}


class RiffLayout(NamedTuple):
    """Where a RIFF/WAVE file keeps its format and its samples.

    Attributes
    ----------
    little_endian : bool
        ``True`` for RIFF, ``False`` for RIFX.
    fmt : bytes or None
        Body of the ``fmt`` chunk when it comes before the data chunk.
    data_offset : int or None
        Offset of the data chunk's first byte; ``None`` when the file ends
        before a data chunk.
    data_size : int
        Size the data chunk declares (0 when there is none).
    data_present : int
        Bytes of the data chunk actually in the file.
    """

    little_endian: bool
    fmt: bytes | None
    data_offset: int | None
    data_size: int
    data_present: int

    @property
    def truncated(self):
        """Whether the file ends before its data chunk, or inside it."""
        if self.data_offset is None:
            return True
        declared = self.data_size not in _PLACEHOLDER_SIZES
        return declared and self.data_size > self.data_present


def read_riff_layout(file, size):
    """Walk the chunks of a RIFF/WAVE file up to its data chunk.

    Parameters
    ----------
    file : binary file object
        Seekable; its position is left anywhere.
    size : int
        Size of the file in bytes.

    Returns
    -------
    layout : RiffLayout or None
        ``None`` when the file is not RIFF/WAVE.
    """
    file.seek(0)
    head = file.read(12)
    if len(head) < 12 or head[:4] not in (b"RIFF", b"RIFX") or head[8:12] != b"WAVE":
        return None
    little = head[:4] == b"RIFF"
    byteorder = "little" if little else "big"
    fmt = None
    for chunk_id, body, chunk_size in walk_chunks(file, 12, byteorder):
        if chunk_id == b"data":
            return RiffLayout(little, fmt, body, chunk_size, size - body)
        if chunk_id == b"fmt " and fmt is None:
            fmt = file.read(min(chunk_size, 64))
    return RiffLayout(little, fmt, None, 0, 0)


def walk_chunks(file, position, byteorder):
    """Yield the chunks of an IFF-style file (RIFF, RIFX, AIFF) from ``position``.

    Each chunk is a 4-byte id, a 4-byte size in ``byteorder`` ("little" for
    RIFF, "big" for RIFX and IFF) and a body padded to an even length.

    Yields
    ------
    chunk : tuple of (bytes, int, int)
        The chunk id, the offset of its body and the size it declares. The
        file is positioned at the body; the walk ends at the first chunk
        header the file does not hold whole.
    """
    while True:
        file.seek(position)
        chunk_header = file.read(8)
        if len(chunk_header) < 8:
            return
        chunk_size = int.from_bytes(chunk_header[4:], byteorder)
        yield chunk_header[:4], position + 8, chunk_size
        position += 8 + chunk_size + (chunk_size & 1)  # chunks are word aligned


def _plain_codec(layout):
    """``(dtype, offset, scale, n_channels, rate)`` of a plain PCM layout, or None."""
    fmt = layout.fmt
    if not layout.little_endian or fmt is None or len(fmt) < 16:
        return None
    if layout.truncated or layout.data_size in _PLACEHOLDER_SIZES:
        return None
    tag, n_channels, rate, _, block_align, bits = struct.unpack_from("<HHIIHH", fmt)
    if tag == _WAVE_FORMAT_EXTENSIBLE:
        # WAVEFORMATEXTENSIBLE: cbSize (2), valid bits (2), channel mask (4),
        # then the sub-format GUID, whose first two bytes are the format tag.
        if len(fmt) < 40 or fmt[26:40] != _SUBFORMAT_GUID_TAIL:
            return None
        if int.from_bytes(fmt[18:20], "little") != bits:
            return None  # fewer valid bits than stored: leave it to libsndfile
        tag = int.from_bytes(fmt[24:26], "little")
    codec = _PLAIN_CODECS.get((tag, bits))
    if codec is None or n_channels < 1 or rate < 1:
        return None
    if block_align != n_channels * bits // 8:
        return None
    return (*codec, n_channels, rate)


def decode_plain_pcm(file, layout):
    """Samples and rate of a plain PCM WAV, as libsndfile reads them in float64.

    Parameters
    ----------
    file : binary file object
        The file ``layout`` was read from.
    layout : RiffLayout
        From :func:`read_riff_layout`.

    Returns
    -------
    decoded : tuple of (ndarray of shape (n_frames, n_channels), int, bool) or None
        float64 samples, the sample rate, and whether the samples are
        integer PCM (then finite and within [-1, 1] by construction);
        ``None`` for any layout this function does not decode (the caller
        then uses libsndfile). A trailing partial frame is dropped, as
        libsndfile does.
    """
    codec = _plain_codec(layout)
    if codec is None:
        return None
    dtype, offset, scale, n_channels, rate = codec
    dtype = np.dtype(dtype)
    n_frames = layout.data_size // (dtype.itemsize * n_channels)
    file.seek(layout.data_offset)
    raw = file.read(n_frames * n_channels * dtype.itemsize)
    samples = np.frombuffer(raw, dtype=dtype)
    if offset:
        samples = np.subtract(samples, offset, dtype=np.float64)
        samples *= 1.0 / scale
    else:  # scales are powers of two: x * (1 / scale) == x / scale exactly
        samples = np.multiply(samples, 1.0 / scale, dtype=np.float64)
    return samples.reshape(n_frames, n_channels), rate, dtype.kind in "iu"
