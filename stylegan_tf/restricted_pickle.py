"""Reading pickles without running them: only the globals a reader names, and NumPy arrays of plain numeric dtypes.

Every pickle this project reads (network snapshots, CIFAR/SVHN batches, the LPIPS weights, the TorchScript archive
of the FID Inception network) goes through `RestrictedUnpickler`, built on Python's own pure-Python unpickler so that
the `BUILD` step can be checked too:

- globals resolve only through the reader's `allowed` table (and an optional prefix resolver); anything else is
  refused (`PickleRefused`) before it is called;
- NumPy data is rebuilt only through checked stand-ins for `numpy.dtype`, `_reconstruct`, `_frombuffer` (protocol 5,
  under NumPy 1.x and 2.x module names) and `scalar`: only dtypes of kind bool/int/uint/float/complex with a fixed
  size and no fields, subarrays or object flags are ever constructed, shapes are tuples of non-negative ints, and the
  data must hold exactly `prod(shape) * itemsize` bytes, all checked before an array exists;
- `numpy.ndarray` itself is only usable as the first argument of `_reconstruct` (never instantiated directly);
- a read that asks for more bytes than the file has left is "truncated", not an allocation.

A refused or malformed pickle raises `PickleRefused` (an `pickle.UnpicklingError`) with a one-line reason; callers
turn it into their own typed error.
"""
import io
import math
import os
import pickle
import re

import numpy as np

#: dtype kinds that are ever constructed: bool, signed and unsigned int, float, complex
NUMERIC_KINDS = "biufc"
_TYPE_STRING = re.compile(r"[<>|=]?[biufc]\d{1,2}")
_BYTE_ORDERS = ("<", ">", "|", "=")


class PickleRefused(pickle.UnpicklingError):
    """A pickle that references something not allowed, or whose NumPy data is malformed; the message says what."""


def check_dtype(dtype):
    """Return `dtype` if it is a plain numeric NumPy dtype (kind bool/int/uint/float/complex, no fields, no subarray,
    no object flags), else raise `PickleRefused`."""
    if not isinstance(dtype, np.dtype):
        raise PickleRefused(f"expected a NumPy dtype, found {type(dtype).__name__}")
    if (dtype.kind not in NUMERIC_KINDS or dtype.fields is not None or dtype.subdtype is not None
            or dtype.hasobject or dtype.flags != 0 or dtype.itemsize not in (1, 2, 4, 8, 16)):
        raise PickleRefused(f"refusing the NumPy dtype {dtype.str!r}: only plain bool, int, uint, float and complex "
                            f"dtypes are allowed")
    return dtype


def _check_shape(shape):
    if not isinstance(shape, tuple) or not all(type(d) is int and d >= 0 for d in shape) or len(shape) > 32:
        raise PickleRefused(f"malformed array shape {shape!r}: expected a tuple of non-negative integers")
    return shape


def _data_bytes(data, what):
    """`data` as bytes-like (a latin-1 str from a Python 2 pickle is its bytes)."""
    if isinstance(data, str):
        try:
            return data.encode("latin1")
        except UnicodeEncodeError:
            raise PickleRefused(f"{what}: its data is text, not bytes") from None
    if isinstance(data, (bytes, bytearray)):
        return data
    if isinstance(data, pickle.PickleBuffer):
        return data.raw()
    raise PickleRefused(f"{what}: its data is a {type(data).__name__}, not bytes (object arrays are refused)")


def _check_size(shape, dtype, data, what):
    expected = math.prod(shape) * dtype.itemsize
    if len(data) != expected:
        raise PickleRefused(f"{what}: shape {list(shape)} of {dtype.name} needs {expected} bytes, the pickle holds "
                            f"{len(data)}")


class _NdarrayType:
    """Stands for `numpy.ndarray` in a pickle: only `_reconstruct` may use it."""

    def __new__(cls, *args, **kwargs):
        raise PickleRefused("refusing to instantiate numpy.ndarray directly")


def _dtype(type_string, align=False, copy=True):
    """`numpy.dtype(...)` for plain numeric type strings only ('f4', '<i8', 'b1' ...)."""
    if not (isinstance(type_string, str) and _TYPE_STRING.fullmatch(type_string)) or not isinstance(align, bool):
        raise PickleRefused(f"refusing the NumPy dtype {type_string!r}: only plain bool, int, uint, float and "
                            f"complex dtypes are allowed")
    try:  # a copy (as NumPy's own pickles ask): BUILD sets its byte order, never that of NumPy's shared dtypes
        return check_dtype(np.dtype(type_string, False, True))
    except TypeError:
        raise PickleRefused(f"refusing the NumPy dtype {type_string!r}: not a valid type") from None


def _reconstruct(subtype, shape, typecode):
    """NumPy's array reconstructor, as NumPy pickles call it: an empty placeholder filled by the BUILD step."""
    if subtype is not _NdarrayType or shape != (0,) or typecode not in (b"b", "b"):
        raise PickleRefused("malformed NumPy array reconstruction (only plain numpy.ndarray is allowed)")
    return np.empty(0, np.int8)


def _frombuffer(buffer, dtype, shape, order):
    """NumPy's protocol-5 array reconstructor, with the dtype, shape and size checked first."""
    dtype, shape = check_dtype(dtype), _check_shape(shape)
    if order not in ("C", "F"):
        raise PickleRefused(f"malformed array order {order!r}")
    data = _data_bytes(buffer, "array")
    _check_size(shape, dtype, data, "array")
    return np.frombuffer(data, dtype).reshape(shape, order=order)


def _scalar(dtype, data):
    """NumPy's scalar reconstructor (`numpy.float32(0.5)` in a pickle), for plain numeric dtypes."""
    dtype = check_dtype(dtype)
    data = _data_bytes(data, "scalar")
    _check_size((), dtype, data, "scalar")
    return np.frombuffer(data, dtype)[0]


def _encode_latin1(text, encoding="latin1"):
    """`_codecs.encode(text, 'latin1')`: how protocol-2 pickles written by Python 3 carry bytes."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise PickleRefused(f"refusing _codecs.encode with encoding {encoding!r}")
    return text.encode("latin1")


#: the NumPy globals every reader may use, under the names NumPy 1.x and 2.x write (and protocol 2's bytes)
NUMPY_GLOBALS = {("numpy", "ndarray"): _NdarrayType, ("numpy", "dtype"): _dtype, ("_codecs", "encode"): _encode_latin1}
for _module in ("numpy.core", "numpy._core"):
    NUMPY_GLOBALS[(f"{_module}.multiarray", "_reconstruct")] = _reconstruct
    NUMPY_GLOBALS[(f"{_module}.multiarray", "scalar")] = _scalar
    NUMPY_GLOBALS[(f"{_module}.numeric", "_frombuffer")] = _frombuffer


def _check_dtype_state(state):
    """The BUILD state of a plain dtype: `(3 or 4, byte order, None, None, None, -1, -1, 0[, metadata None])`."""
    ok = (isinstance(state, tuple) and len(state) in (8, 9) and state[0] in (3, 4) and state[1] in _BYTE_ORDERS
          and state[2:5] == (None, None, None) and state[5:8] == (-1, -1, 0) and (len(state) == 8 or state[8] is None))
    if not ok:
        raise PickleRefused("refusing a NumPy dtype with fields, a subarray or flags (only plain numeric dtypes)")


def _check_array_state(state):
    """The BUILD state of an array: `(1, shape, dtype, is_fortran, data)`."""
    if not (isinstance(state, tuple) and len(state) == 5 and state[0] == 1 and isinstance(state[3], bool)):
        raise PickleRefused("malformed NumPy array state")
    _, shape, dtype, _, data = state
    _check_shape(shape)
    check_dtype(dtype)
    _check_size(shape, dtype, _data_bytes(data, "array"), "array")


class _BoundedReader:
    """A binary file whose `read(n)` fails ('truncated') instead of allocating when fewer than n bytes are left."""

    def __init__(self, file):
        self._file = file
        try:
            self._left = os.fstat(file.fileno()).st_size - file.tell()
        except (AttributeError, OSError, io.UnsupportedOperation):
            try:
                here = file.tell()
                self._left = file.seek(0, io.SEEK_END) - here
                file.seek(here)
            except (AttributeError, OSError, io.UnsupportedOperation):
                self._left = None  # an unseekable stream: reads are bounded by what arrives

    def read(self, n=-1):
        if self._left is not None and n is not None and n > self._left:
            raise PickleRefused("the pickle data is truncated")
        data = self._file.read(n)
        if self._left is not None:
            self._left -= len(data)
        return data

    def readinto(self, buffer):
        data = self.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)

    def readline(self):
        line = self._file.readline()
        if self._left is not None:
            self._left -= len(line)
        return line

    def peek(self, n=1):
        return self._file.peek(n) if hasattr(self._file, "peek") else b""


class RestrictedUnpickler(pickle._Unpickler):  # the pure-Python unpickler: its BUILD step can be checked
    """Unpickle with only the globals of `allowed` (`{(module, name): object}`), the checked NumPy reconstructors
    of `NUMPY_GLOBALS` (unless `numpy_arrays=False`), and globals whose module starts with one of `allowed_prefixes`
    through `resolve_prefixed(module, name)`. `persistent_load`: optional handler of persistent ids (TorchScript
    storages). `encoding`: how Python 2 strings are decoded ('latin1' for NumPy data written by Python 2).
    Anything else raises `PickleRefused` naming it."""

    dispatch = dict(pickle._Unpickler.dispatch)

    def __init__(self, file, allowed=None, allowed_prefixes=(), resolve_prefixed=None, persistent_load=None,
                 encoding="ASCII", numpy_arrays=True):
        super().__init__(_BoundedReader(file), encoding=encoding)
        self._allowed = {**(NUMPY_GLOBALS if numpy_arrays else {}), **(allowed or {})}
        self._prefixes = tuple(allowed_prefixes)
        self._resolve_prefixed = resolve_prefixed
        if persistent_load is not None:
            self.persistent_load = persistent_load

    def find_class(self, module, name):
        if (module, name) in self._allowed:
            return self._allowed[(module, name)]
        if self._prefixes and isinstance(module, str) and module.startswith(self._prefixes):
            return self._resolve_prefixed(module, name)
        raise PickleRefused(f"refusing to load: the pickle references '{module}.{name}', which this file does "
                            f"not need")

    def load_build(self):
        state, inst = self.stack[-1], self.stack[-2]
        if isinstance(inst, np.dtype):
            _check_dtype_state(state)
        elif isinstance(inst, np.ndarray):
            _check_array_state(state)
        super().load_build()

    dispatch[pickle.BUILD[0]] = load_build

    def load(self):
        try:
            return super().load()
        except PickleRefused:
            raise
        except RecursionError:
            raise PickleRefused("the pickle is nested too deeply") from None
        except MemoryError:
            raise PickleRefused("the pickle asks for more memory than is available") from None
        except EOFError:
            raise PickleRefused("the pickle data is truncated") from None
        except (pickle.UnpicklingError, ValueError, TypeError, AttributeError, IndexError, KeyError, OverflowError,
                UnicodeDecodeError) as error:
            raise PickleRefused(f"malformed pickle ({type(error).__name__}: {error})") from None


def load(file, **kwargs):
    """Unpickle the binary file object `file` with `RestrictedUnpickler(file, **kwargs)`."""
    return RestrictedUnpickler(file, **kwargs).load()
