"""Declared lengths of AIFF/AIFF-C and Sun/NeXT AU files, to refuse cut-off ones.

libsndfile reads an AIFF or AU file that ends before the length its header
declares without complaint, trimming the audio to the bytes present, so a file
cut off mid-copy would silently give a shorter clip (as for WAV, see
:mod:`sklearn_mbm._io._wav`). :func:`truncation_problem` reads only the header
fields that declare the length (for AIFF the COMM chunk's ``numSampleFrames``
and the SSND chunk's size; for AU the ``data_size`` field) and compares them
with what the file holds. Both formats are big-endian (AU also exists
little-endian, magic ``dns.``).
"""

from sklearn_mbm._io._wav import walk_chunks

# Bytes per sample of the AIFF-C compression types whose COMM chunk counts
# sample frames of fixed width; None: ceil(sampleSize / 8). Other types (ima4,
# GSM, ...) count packets, and only the SSND chunk's size is checked.
_AIFC_FIXED_WIDTH = {
    b"NONE": None, b"twos": None, b"sowt": None, b"raw ": None,
    b"in24": 3, b"42ni": 3, b"in32": 4, b"23ni": 4,
    b"fl32": 4, b"FL32": 4, b"fl64": 8, b"FL64": 8,
    b"ulaw": 1, b"ULAW": 1, b"alaw": 1, b"ALAW": 1,
}  # fmt: skip
# Streaming writers leave these as the SSND size; libsndfile then reads to
# the end of the file.
_SSND_PLACEHOLDER_SIZES = (0, 0xFFFFFFFF)
# AU data_size meaning "unknown": the audio runs to the end of the file.
_AU_UNKNOWN_SIZE = 0xFFFFFFFF
# AU encodings of fixed-width samples -> bytes per sample (1: mu-law,
# 2-5: 8- to 32-bit PCM, 6: float, 7: double, 27: A-law)
_AU_SAMPLE_BYTES = {1: 1, 2: 1, 3: 2, 4: 3, 5: 4, 6: 4, 7: 8, 27: 1}


def truncation_problem(file, size):
    """What is wrong with a cut-off AIFF, AIFF-C or AU file, or None.

    Parameters
    ----------
    file : binary file object
        Seekable; its position is left anywhere.
    size : int
        Size of the file in bytes.

    Returns
    -------
    problem : str or None
        A sentence naming both lengths, e.g. ``"truncated AIFF file: its
        header declares 8000 frames but the file holds 5120."``; None when
        the file is neither AIFF nor AU, or holds all it declares.
    """
    file.seek(0)
    head = file.read(24)
    if len(head) >= 12 and head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return _aiff_problem(file, size, aifc=head[8:12] == b"AIFC")
    if head[:4] in (b".snd", b"dns."):
        return _au_problem(head, size)
    return None


def _aiff_problem(file, size, aifc):
    comm = ssnd = None  # COMM body; (body offset, declared size) of SSND
    for chunk_id, body, chunk_size in walk_chunks(file, 12, "big"):
        if chunk_id == b"COMM" and comm is None:
            comm = file.read(min(chunk_size, 22))
        elif chunk_id == b"SSND" and ssnd is None:
            ssnd = body, chunk_size
        if comm is not None and ssnd is not None:
            break
    if ssnd is None:
        return (
            f"truncated AIFF file: it ends after {size} bytes, before its sound "
            "data (SSND) chunk."
        )
    body, ssnd_size = ssnd
    file.seek(body)
    data_offset = int.from_bytes(file.read(4).ljust(4, b"\0"), "big")
    data_start = body + 8 + data_offset  # after the offset and blockSize fields
    present = max(0, size - data_start)
    declared_bytes = None
    if ssnd_size not in _SSND_PLACEHOLDER_SIZES:
        declared_bytes = max(0, ssnd_size - 8 - data_offset)
    frame_bytes = _aiff_frame_bytes(comm, aifc)
    frames = int.from_bytes(comm[2:6], "big") if frame_bytes else 0
    # frames * frame_bytes is 0 when the COMM chunk does not count frames
    if frames * frame_bytes > present:
        return (
            f"truncated AIFF file: its header declares {frames} frames but "
            f"the file holds {present // frame_bytes}."
        )
    if declared_bytes is None:
        return None
    if declared_bytes > present:
        return (
            f"truncated AIFF file: its SSND chunk declares {declared_bytes} bytes "
            f"of sound data but only {present} are present."
        )
    if frames * frame_bytes > declared_bytes:
        return (
            f"damaged AIFF file: its COMM chunk declares {frames} frames but "
            f"its SSND chunk holds {declared_bytes // frame_bytes}."
        )
    return None


def _aiff_frame_bytes(comm, aifc):
    """Bytes per sample frame a COMM chunk declares, or 0 when it counts
    packets of a compressed codec (or is too short to say)."""
    if comm is None or len(comm) < (22 if aifc else 8):
        return 0
    channels = int.from_bytes(comm[:2], "big")
    bits = int.from_bytes(comm[6:8], "big")
    width = None
    if aifc:
        compression = comm[18:22]
        if compression not in _AIFC_FIXED_WIDTH:
            return 0
        width = _AIFC_FIXED_WIDTH[compression]
    return channels * (width or (bits + 7) // 8)


def _au_problem(head, size):
    if len(head) < 24:
        return None  # too short for a header: libsndfile refuses it
    byteorder = "big" if head[:4] == b".snd" else "little"
    data_offset, data_size, encoding, _, channels = (
        int.from_bytes(head[i : i + 4], byteorder) for i in range(4, 24, 4)
    )
    present = max(0, size - data_offset)
    if data_size == _AU_UNKNOWN_SIZE or data_size <= present:
        return None
    frame_bytes = _AU_SAMPLE_BYTES.get(encoding, 0) * channels
    if frame_bytes:
        return (
            f"truncated AU file: its header declares {data_size // frame_bytes} "
            f"frames but the file holds {present // frame_bytes}."
        )
    return (
        f"truncated AU file: its header declares {data_size} bytes of audio "
        f"data but only {present} are present."
    )
