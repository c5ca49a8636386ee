"""Cache keys for FusionTransformer's per-modality cache.

A key is a digest of a modality's unfitted transformer (its parameters), its
column's values and ``y``. A callable among the parameters (a text ``method``,
an ``analyzer``...) is hashed by what it computes: its code, constants,
defaults, closure and the globals it names, as :class:`joblib.Memory` does for
the function it caches; pickling would hash it by name alone, so editing its
body would serve stale features. Columns of cells are hashed cell by cell (array
bytes, text, paths) instead of pickling the whole object column, which is
several times faster for columns of image or waveform arrays; the token of
an array cell is remembered for the same object as long as its bytes are
unchanged (see :class:`_CellTokens`), so a search that splits the same frame
per candidate and fold hashes each cell once. A column of file paths is hashed
as the paths: file contents changing under the same path do not change the
key.
"""

import functools
import hashlib
import inspect
import io
import marshal
import operator
import types
import weakref
from collections import deque

import joblib
import numpy as np
from joblib.hashing import NumpyHasher

from sklearn_mbm._caching._lru import BoundedLRU

CELL_TOKEN_BYTES = 128 * 2**20
_DTYPE_STR = operator.attrgetter("dtype.str")
_SHAPE = operator.attrgetter("shape")
_DTYPE = operator.attrgetter("dtype")
_C_CONTIGUOUS = operator.attrgetter("flags.c_contiguous")
_UTF8 = operator.methodcaller("encode", "utf-8", "surrogatepass")
_TEXT_PART = b"S%d:%b"  # a text cell's part of a key: its length and bytes


def _update_with_array(digest, array):
    array = np.ascontiguousarray(array)
    digest.update(f"{array.dtype.str}{array.shape}".encode())
    digest.update(array.view(np.uint8).ravel() if array.size else b"")


def _array_token(array):
    """Digest of a C-contiguous array's dtype, shape and bytes."""
    digest = hashlib.sha1(f"{array.dtype.str}{array.shape}|".encode())
    digest.update(array)
    return digest.digest()


class _CellTokens(BoundedLRU):
    """Tokens of array cells (:func:`_array_token`), remembered by identity
    and checked by value.

    A search hashes the same cells once per candidate and fold: each split is
    a new frame, but its cells are the same array objects. A remembered token
    is used only for the same object (held by a weak reference, so that the id
    of a freed cell cannot pass for a new one) whose dtype, shape and bytes
    still equal those it had when it was hashed (a copy of its bytes is kept:
    comparing bytes is about ten times cheaper than hashing them), so a cell
    edited in place is hashed again. The copies are bounded in bytes (least
    recently used dropped first) and dropped with their cell;
    ``max_bytes=0`` remembers nothing.
    """

    def __init__(self, max_bytes):
        # id(cell) -> (weak ref, dtype.str, shape, copy of the bytes, token)
        super().__init__(max_bytes)
        self._dead = deque()  # (id, weak ref) of freed cells, appended by GC

    @staticmethod
    def _entry_bytes(entry):
        return len(entry[3])

    def tokens(self, arrays):
        """Tokens of C-contiguous arrays, in order."""
        ids = list(map(id, arrays))
        with self._lock:
            self._purge()
            found = list(map(self._entries.get, ids))
        if arrays and None not in found:
            out = self._tokens_if_unchanged(arrays, found)
            if out is not None:
                with self._lock:
                    for key in ids:
                        self._touch(key)
                return out
        out, new = [], []
        for array, entry in zip(arrays, found):
            known = entry and self._tokens_if_unchanged([array], [entry])
            if known:
                out.append(known[0])
            else:
                token = _array_token(array)
                out.append(token)
                new.append((array, token))
        with self._lock:
            for key in ids:
                self._touch(key)
            for array, token in new:
                self._remember(array, token)
        return out

    @staticmethod
    def _tokens_if_unchanged(arrays, found):
        """The remembered tokens when every array is unchanged (the same
        object, dtype, shape and bytes as when it was hashed), else None.

        Each check runs over the whole list at C speed: a search asks for
        the same cells again and again.
        """
        refs, dtypes, shapes, copies, tokens = zip(*found)
        if (
            all(map(operator.is_, map(weakref.ref.__call__, refs), arrays))
            and tuple(map(_DTYPE_STR, arrays)) == dtypes
            and tuple(map(_SHAPE, arrays)) == shapes
            and all(map(operator.eq, map(np.ndarray.tobytes, arrays), copies))
        ):
            return list(tokens)
        return None

    def _remember(self, array, token):
        if not self.keeps(array.nbytes):
            return
        key = id(array)
        ref = weakref.ref(array, functools.partial(_cell_freed, self._dead, key))
        self._store(key, (ref, array.dtype.str, array.shape, array.tobytes(), token))

    def _purge(self):
        while self._dead:
            key, ref = self._dead.popleft()
            self._remove(key, when=lambda entry, ref=ref: entry[0] is ref)


def _cell_freed(dead, key, ref):
    # a weak reference's callback, run by the garbage collector at any point:
    # it only appends (atomic), the entry goes at the next look-up
    dead.append((key, ref))


CELL_TOKENS = _CellTokens(CELL_TOKEN_BYTES).process_wide()


def _update_with_cells(digest, cells):
    cells = cells.tolist() if isinstance(cells, np.ndarray) else list(cells)
    tokens = array_cell_tokens(cells)
    if tokens is not None:  # the loop below, at C speed
        digest.update(b"A" + b"A".join(tokens))
    elif cells and set(map(type, cells)) == {str}:  # the same, for text
        data = list(map(_UTF8, cells))
        digest.update(b"".join(map(_TEXT_PART.__mod__, zip(map(len, data), data))))
    else:
        digest.update(_cell_parts(cells))


def _cell_parts(cells):
    """The bytes that stand for a column of cells in its key.

    Each cell becomes one tagged part: an array its token (remembered, see
    :class:`_CellTokens`), text and bytes their length and data, anything else
    joblib's hash. Tags and lengths let the parts split one way only.
    """
    parts, arrays, where = [], [], []
    for cell in cells:
        if (
            type(cell) is np.ndarray
            and cell.dtype.kind in "biufc"
            and cell.flags.c_contiguous
        ):
            where.append(len(parts))
            parts.append(b"A")  # its token, below
            arrays.append(cell)
        elif isinstance(cell, np.ndarray) and cell.dtype != object:
            # a copy, new at every call: not worth remembering
            parts.append(b"A" + _array_token(np.ascontiguousarray(cell)))
        elif isinstance(cell, str):
            data = _UTF8(cell)
            parts.append(_TEXT_PART % (len(data), data))
        elif isinstance(cell, (bytes, bytearray)):
            parts.append(b"B%d:%b" % (len(cell), cell))
        else:  # PIL images, tuples, None, NaN, paths...: joblib's hash
            parts.append(b"O" + joblib.hash(cell).encode())
    for i, token in zip(where, CELL_TOKENS.tokens(arrays)):
        parts[i] = b"A" + token
    return b"".join(parts)


def array_cell_tokens(cells):
    """Tokens of a list of cells that are all C-contiguous numeric arrays
    (remembered, see :class:`_CellTokens`); None for any other list, or an
    empty one.

    The checks run over the whole list at C speed: a search keys the same
    columns again and again.
    """
    if not cells or set(map(type, cells)) != {np.ndarray}:
        return None
    if not all(map(_C_CONTIGUOUS, cells)) or not all(
        dtype.kind in "biufc" for dtype in set(map(_DTYPE, cells))
    ):
        return None
    return CELL_TOKENS.tokens(cells)


def _update_with_data(digest, data):
    if data is None:
        digest.update(b"none")
        return
    if hasattr(data, "to_numpy"):  # Series / DataFrame: values, not the index
        data = data.to_numpy()
    data = np.asarray(data) if not isinstance(data, np.ndarray) else data
    if data.dtype == object:
        digest.update(f"object{data.shape}".encode())
        _update_with_cells(digest, data.ravel())
    else:
        _update_with_array(digest, data)


def _code_names(code):
    """Global names a code object and the code objects nested in it use."""
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _code_names(const)
    return names


def _update_with_value(digest, value, seen):
    """Hash a value a callable depends on; functions by their code."""
    if isinstance(value, types.ModuleType):
        digest.update(b"M" + value.__name__.encode())
    elif callable(value) and not hasattr(value, "get_params"):
        _update_with_callable(digest, value, seen)
    else:
        try:
            digest.update(b"V" + _CodeHasher(hash_name="md5").hash(value).encode())
        except Exception as exc:  # unpicklable: the key cannot be trusted
            raise TypeError(
                f"Cannot build a cache key for {value!r} of type "
                f"{type(value).__name__}, which a callable parameter depends on "
                f"({exc}). Use memory=None, or make it picklable."
            ) from exc


def _update_with_callable(digest, func, seen):
    """Hash what a callable computes: code, constants, defaults, closure and
    the globals it names (recursively for functions), not just its name."""
    if id(func) in seen:
        digest.update(b"R")
        return
    seen.add(id(func))
    if isinstance(func, functools.partial):
        digest.update(b"P")
        _update_with_callable(digest, func.func, seen)
        _update_with_value(digest, (func.args, sorted(func.keywords.items())), seen)
        return
    if inspect.ismethod(func):
        _update_with_value(digest, func.__self__, seen)
        func = func.__func__
    code = getattr(func, "__code__", None)
    if code is None:
        if isinstance(func, type) or inspect.isroutine(func):
            digest.update(b"C" + joblib.hash(func).encode())  # compiled code
        else:  # an instance with __call__: its state and its class's code
            digest.update(b"I" + joblib.hash(func).encode())
            _update_with_callable(digest, type(func).__call__, seen)
        return
    # marshal covers the bytecode, constants and names (and line numbers: a
    # moved function is a miss, which is safe)
    digest.update(b"F" + hashlib.sha1(marshal.dumps(code)).digest())
    _update_with_value(digest, (func.__defaults__, func.__kwdefaults__), seen)
    for cell in func.__closure__ or ():
        try:
            contents = cell.cell_contents
        except ValueError:  # an empty cell
            digest.update(b"E")
            continue
        _update_with_value(digest, contents, seen)
    namespace = getattr(func, "__globals__", {})
    for name in sorted(_code_names(code)):
        if name not in namespace:
            continue
        value = namespace[name]
        digest.update(b"G" + name.encode())
        if isinstance(value, types.FunctionType) and (
            value.__module__ != func.__module__
        ):
            # another module's function (a library's): by name, as pickle does
            digest.update(b"N" + joblib.hash(value).encode())
        else:
            _update_with_value(digest, value, seen)


def _callable_params(value, found):
    """Callables (not estimators) among an estimator's parameters, deep."""
    if hasattr(value, "get_params") and not isinstance(value, type):
        try:
            params = value.get_params(deep=True)
        except TypeError:  # an estimator class given where an instance goes
            return found
        for _, param in sorted(params.items()):
            _callable_params(param, found)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _callable_params(item, found)
    elif isinstance(value, dict):
        for item in value.values():
            _callable_params(item, found)
    elif callable(value) and not isinstance(value, type):
        found.append(value)
    return found


def callables_token(estimator):
    """Hex digest of the code of the callables among an estimator's
    parameters (an empty digest when it has none)."""
    digest = hashlib.sha1()
    seen = set()
    for func in _callable_params(estimator, []):
        _update_with_callable(digest, func, seen)
    return digest.hexdigest()


class _CodeHasher(NumpyHasher):
    """joblib's hasher, but a function is hashed by its code (pickle would
    save its name alone, and fail for a closure or a lambda)."""

    dispatch = NumpyHasher.dispatch.copy()

    def _save_function(self, func):
        digest = hashlib.sha1()
        _update_with_callable(digest, func, set())
        self.save(("function", func.__qualname__, digest.hexdigest()))

    dispatch[types.FunctionType] = _save_function

    def _save_bytes(self, data):
        # A pickled Keras model is a .keras zip (sklearn_mbm._keras.keras_state)
        # whose metadata.json holds the time it was saved and whose weights
        # entry the zip dates: hash its other entries' contents, so that the
        # token of a fitted Keras estimator does not change by the second.
        if data[:4] == b"PK\x03\x04":
            import zipfile

            try:
                with zipfile.ZipFile(io.BytesIO(data)) as archive:
                    names = sorted(archive.namelist())
                    if "metadata.json" in names and "config.json" in names:
                        digest = hashlib.sha1()
                        for name in names:
                            if name != "metadata.json":
                                digest.update(name.encode() + b"\0")
                                digest.update(archive.read(name))
                        self.save(("keras-archive", digest.hexdigest()))
                        return
            except zipfile.BadZipFile:
                pass
        NumpyHasher.save_bytes(self, data)

    dispatch[bytes] = _save_bytes


def estimator_token(estimator):
    """Hex digest of an estimator, fitted or not (as :func:`joblib.hash`: its
    parameters and fitted state), its functions hashed by their code."""
    return _CodeHasher(hash_name="md5").hash(estimator)


def fingerprint(estimator, *data):
    """Hex digest of an estimator's parameters and of data columns.

    Parameters
    ----------
    estimator : estimator, str or None
        Hashed with :func:`joblib.hash` (an unfitted estimator hashes its
        parameters, a fitted one its state too), callable parameters by their
        code; a string (an earlier fingerprint) is taken as is.
    *data : array-like, Series, DataFrame or None
        Columns of cells or numeric blocks, hashed by value and order.

    Returns
    -------
    key : str
    """
    digest = hashlib.sha1()
    digest.update(
        estimator.encode()
        if isinstance(estimator, str)
        else estimator_token(estimator).encode()
    )
    for part in data:
        digest.update(b"|")
        _update_with_data(digest, part)
    return digest.hexdigest()
