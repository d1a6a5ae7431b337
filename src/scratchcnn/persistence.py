"""Model and checkpoint files: one ``.npz`` archive, no pickle.

A file holds a header entry ``__scratchcnn__`` (UTF-8 JSON stored as a 1-D ``uint8``
array) and one plain numeric array per tensor:

- ``model/<layer>.<key>`` for every entry of ``Sequential.state_dict()``;
- ``optim/<key>`` for every entry of an optimiser's ``state_dict()`` (checkpoints only).

The header holds ``format`` (``"scratchcnn-model"`` or ``"scratchcnn-checkpoint"``),
``version`` (:data:`FORMAT_VERSION`), ``config`` (``Sequential.get_config()``),
``metadata`` and, in checkpoints, ``training_state`` and ``layer_generators`` (the states
of the layers' own random generators, e.g. Dropout's). Files are written atomically
(:func:`scratchcnn.fileio.atomic_write`) and read without ever unpickling anything; a
missing, damaged, foreign or too-new file raises :class:`~scratchcnn.errors.ModelFileError`
naming the file. See ``docs/models.md``.
"""

from __future__ import annotations

import io
import json
import math
import os
import struct
import zipfile
import zlib
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import numpy as np

from scratchcnn import __version__
from scratchcnn.errors import ModelFileError
from scratchcnn.fileio import atomic_write
from scratchcnn.layers import Layer
from scratchcnn.model import Sequential

__all__ = [
    "CHECKPOINT_FORMAT",
    "FORMAT_VERSION",
    "HEADER_KEY",
    "MODEL_FORMAT",
    "Checkpoint",
    "load",
    "load_checkpoint",
    "read_header",
    "save",
    "save_checkpoint",
]

#: Name of the archive entry holding the JSON header.
HEADER_KEY = "__scratchcnn__"
#: ``format`` of a file holding a model only.
MODEL_FORMAT = "scratchcnn-model"
#: ``format`` of a training checkpoint (model, optimiser state, training state).
CHECKPOINT_FORMAT = "scratchcnn-checkpoint"
#: The newest file-format version this code writes and reads.
FORMAT_VERSION = 1

_MODEL_PREFIX = "model/"
_OPTIM_PREFIX = "optim/"
# Array kinds a file may hold: booleans, signed and unsigned integers, floats.
_NUMERIC_KINDS = "biuf"
# What the readers raise on damaged bytes, and nothing more: any other exception from
# these calls is a bug and must keep its traceback instead of reading "damaged file".
# zipfile.ZipFile(file) parsing the central directory: BadZipFile for most damage,
# struct.error from a short extra field, ValueError/OverflowError from seeking to a
# negative or huge offset, UnicodeDecodeError from a name flagged UTF-8 that is not.
_ZIP_DIRECTORY_ERRORS = (zipfile.BadZipFile, struct.error, ValueError, OverflowError)
# ZipFile.read(name): BadZipFile (bad local header, CRC mismatch), zlib.error and EOFError
# (damaged or truncated deflate data), NotImplementedError (an unknown compression
# method), RuntimeError (an encrypted entry), OverflowError/ValueError (bad sizes).
_ZIP_ENTRY_ERRORS = (
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    NotImplementedError,
    RuntimeError,
    OverflowError,
    ValueError,
)
# numpy.lib.format.read_magic / read_array_header_*: ValueError for every malformed header.
_NPY_HEADER_ERRORS = (ValueError,)

PathLike = str | os.PathLike[str]


@dataclass
class Checkpoint:
    """What :func:`load_checkpoint` returns: everything needed to resume training."""

    model: Sequential
    optimizer_state: dict[str, np.ndarray] = field(default_factory=dict)
    training_state: dict[str, Any] = field(default_factory=dict)


# --- writing -------------------------------------------------------------------------
def save(model: Sequential, path: PathLike) -> None:
    """Write ``model`` (architecture, weights, buffers, metadata) to ``path`` atomically.

    The file is an uncompressed ``.npz`` whatever the name of ``path`` (no suffix is
    added). Raises :class:`ModelFileError` when the file cannot be written.
    """
    header = _model_header(model, MODEL_FORMAT)
    _write(path, header, _prefixed(_MODEL_PREFIX, model.state_dict()))


def save_checkpoint(
    path: PathLike,
    model: Sequential,
    optimizer_state: dict[str, np.ndarray],
    training_state: dict[str, Any],
) -> None:
    """Write a training checkpoint atomically.

    ``optimizer_state`` is an optimiser's ``state_dict()`` (names to arrays);
    ``training_state`` is JSON data (epoch, history, generator states...). Python ints of
    any size, floats (NaN and infinities included), strings, booleans and ``None`` come back
    exactly; tuples and NumPy arrays come back as lists, NumPy scalars as Python numbers.
    The states of the layers' own generators (Dropout masks) are saved too and restored by
    :func:`load_checkpoint`, so training resumes exactly.
    """
    header = _model_header(model, CHECKPOINT_FORMAT)
    header["training_state"] = _json_data(training_state, "training_state")
    header["layer_generators"] = _json_data(_layer_generators(model), "layer_generators")
    arrays = _prefixed(_MODEL_PREFIX, model.state_dict())
    arrays.update(_prefixed(_OPTIM_PREFIX, optimizer_state))
    _write(path, header, arrays)


def _model_header(model: Sequential, file_format: str) -> dict[str, Any]:
    if not isinstance(model, Sequential):
        raise TypeError(f"expected a scratchcnn Sequential model, got {type(model).__name__}")
    return {
        "format": file_format,
        "version": FORMAT_VERSION,
        "scratchcnn_version": __version__,
        "config": _json_data(model.get_config(), "config"),
        "metadata": _json_data(model.metadata, "metadata"),
    }


def _prefixed(prefix: str, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    out = {}
    for key, value in arrays.items():
        array = np.asarray(value)
        if array.dtype.kind not in _NUMERIC_KINDS:
            raise TypeError(f"cannot save {prefix}{key}: dtype {array.dtype} is not numeric")
        out[prefix + key] = np.asarray(array, order="C")
    return out


def _json_data(value: Any, where: str) -> Any:
    """``value`` as plain JSON data; NumPy scalars and arrays become Python numbers and lists."""
    if value is None or isinstance(value, (bool, str, int, float)):
        return value
    if isinstance(value, np.generic):
        return _json_data(value.item(), where)
    if isinstance(value, np.ndarray):
        return _json_data(value.tolist(), where)
    if isinstance(value, (list, tuple)):
        return [_json_data(item, f"{where}[{i}]") for i, item in enumerate(value)]
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"{where}: JSON keys must be strings, got {key!r}")
            out[key] = _json_data(item, f"{where}[{key!r}]")
        return out
    raise TypeError(f"{where}: {type(value).__name__} cannot be stored as JSON")


def _write(path: PathLike, header: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
    text = json.dumps(header, ensure_ascii=False, separators=(",", ":"))
    entries = {HEADER_KEY: np.frombuffer(text.encode("utf-8"), dtype=np.uint8), **arrays}
    try:
        with atomic_write(path) as handle:
            np.savez(handle, **entries)
    except OSError as exc:
        raise ModelFileError(f"{path}: cannot write: {exc.strerror or exc}") from None


# --- reading -------------------------------------------------------------------------
def read_header(path: PathLike) -> dict[str, Any]:
    """The checked JSON header of a model or checkpoint file, without reading its arrays."""
    with _open_archive(path) as archive:
        return _read_header(path, archive)


def load(path: PathLike) -> Sequential:
    """Rebuild the model saved in ``path`` (a model file or a checkpoint)."""
    with _open_archive(path) as archive:
        header = _read_header(path, archive)
        arrays = _read_arrays(path, archive, header)
    return _build_model(path, header, arrays)


def load_checkpoint(path: PathLike) -> Checkpoint:
    """Read a checkpoint written by :func:`save_checkpoint`."""
    with _open_archive(path) as archive:
        header = _read_header(path, archive)
        if header["format"] != CHECKPOINT_FORMAT:
            raise ModelFileError(message_key="error.model.not_checkpoint", path=path)
        arrays = _read_arrays(path, archive, header)
    model = _build_model(path, header, arrays)
    _restore_layer_generators(path, model, header.get("layer_generators", []))
    optimizer_state = {
        key[len(_OPTIM_PREFIX) :]: value
        for key, value in arrays.items()
        if key.startswith(_OPTIM_PREFIX)
    }
    return Checkpoint(model, optimizer_state, header["training_state"])


def _layer_generators(model: Sequential) -> list[dict[str, Any]]:
    """``[{"layers": [indices], "state": bit generator state}]``, one entry per generator
    object (layers sharing a generator are listed together)."""
    groups: dict[int, dict[str, Any]] = {}
    for i, layer in enumerate(model.layers):
        rng = getattr(layer, "rng", None)
        if isinstance(rng, np.random.Generator):
            entry = groups.setdefault(id(rng), {"layers": [], "state": rng.bit_generator.state})
            entry["layers"].append(i)
    return list(groups.values())


def _restore_layer_generators(path: PathLike, model: Sequential, groups: Any) -> None:
    """Give the layers listed in ``groups`` generators in the saved states."""
    bad = ModelFileError(f"{path}: damaged header: bad 'layer_generators'")
    if not isinstance(groups, list):
        raise bad
    for entry in groups:
        try:
            state = entry["state"]
            kind = getattr(np.random, state["bit_generator"])
            if not (isinstance(kind, type) and issubclass(kind, np.random.BitGenerator)):
                raise bad
            bit_generator = kind()
            bit_generator.state = state
            layers = [model.layers[i] for i in entry["layers"]]
        except (KeyError, TypeError, ValueError, AttributeError, IndexError):
            raise bad from None
        if not all(hasattr(layer, "rng") for layer in layers):
            raise bad
        generator = np.random.Generator(bit_generator)
        for layer in layers:
            layer.rng = generator


class _Archive:
    """An open zip archive and its file handle, closed together."""

    def __init__(self, handle: BinaryIO, zipped: zipfile.ZipFile) -> None:
        self.handle = handle
        self.zip = zipped

    def __enter__(self) -> zipfile.ZipFile:
        return self.zip

    def __exit__(self, *exc: object) -> None:
        self.zip.close()
        self.handle.close()


def _open_archive(path: PathLike) -> _Archive:
    if os.path.isdir(path):
        raise ModelFileError(message_key="error.model.folder", path=path)
    try:
        handle = open(path, "rb")
    except FileNotFoundError:
        raise ModelFileError(
            message_key="error.no_such_file", hint_key="error.model.missing.hint", path=path
        ) from None
    except OSError as exc:
        raise ModelFileError(
            message_key="error.cannot_open", path=path, reason=exc.strerror or exc
        ) from None
    start = b""
    try:
        start = handle.read(8)
        handle.seek(0)
        zipped = zipfile.ZipFile(handle)
    except (OSError, *_ZIP_DIRECTORY_ERRORS) as exc:
        handle.close()
        raise _not_zip_error(path, start, exc) from None
    return _Archive(handle, zipped)


def _not_zip_error(path: PathLike, start: bytes, exc: BaseException) -> ModelFileError:
    if isinstance(exc, OSError) and not isinstance(exc, zipfile.BadZipFile):
        return ModelFileError(
            message_key="error.cannot_read", path=path, reason=exc.strerror or exc
        )
    if not start:
        return ModelFileError(message_key="error.model.empty", path=path)
    if start.startswith(b"PK"):
        return ModelFileError(message_key="error.model.truncated", path=path, reason=exc)
    kinds = {
        b"\x89PNG": "png",
        b"\xff\xd8\xff": "jpeg",
        b"\x93NUMPY": "npy",
        b"\x89HDF": "hdf5",
        b"\x80": "pickle",
        b"\x1f\x8b": "gzip",
    }
    for magic, kind in kinds.items():
        if start.startswith(magic):
            return ModelFileError(message_key=f"error.model.is_{kind}", path=path)
    return ModelFileError(message_key="error.model.not_npz", path=path)


def _entry_bytes(path: PathLike, archive: zipfile.ZipFile, name: str) -> bytes:
    try:
        return archive.read(name)
    except _ZIP_ENTRY_ERRORS as exc:
        raise ModelFileError(f"{path}: damaged file: entry {name!r}: {exc}") from None
    except OSError as exc:
        raise ModelFileError(
            f"{path}: damaged file or read error: entry {name!r}: {exc.strerror or exc}"
        ) from None


def _decode_npy(path: PathLike, name: str, data: bytes) -> np.ndarray:
    """Parse one ``.npy`` entry without pickle; only plain numeric arrays are accepted."""
    stream = io.BytesIO(data)
    try:
        version = np.lib.format.read_magic(stream)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(stream)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(stream)
        else:
            raise ValueError(f"unsupported .npy version {version}")
    except _NPY_HEADER_ERRORS as exc:
        raise ModelFileError(f"{path}: damaged file: entry {name!r}: {exc}") from None
    if dtype.hasobject:
        raise ModelFileError(
            f"{path}: entry {name!r} is a pickled object array; scratchcnn never loads pickles"
        )
    if dtype.kind not in _NUMERIC_KINDS or dtype.fields is not None or dtype.subdtype:
        raise ModelFileError(f"{path}: entry {name!r} has unsupported dtype {dtype}")
    count = math.prod(shape)
    offset = stream.tell()
    if len(data) - offset != count * dtype.itemsize:
        raise ModelFileError(
            f"{path}: damaged file: entry {name!r} holds {len(data) - offset} bytes of data, "
            f"its shape {shape} needs {count * dtype.itemsize}"
        )
    array = np.frombuffer(data, dtype=dtype, count=count, offset=offset)
    array = array.reshape(shape, order="F" if fortran else "C")
    return np.array(array, dtype=dtype.newbyteorder("="), order="C")


def _read_header(path: PathLike, archive: zipfile.ZipFile) -> dict[str, Any]:
    names = archive.namelist()
    entry = HEADER_KEY + ".npy"
    if entry not in names:
        if any(name.endswith("data.pkl") for name in names):
            raise ModelFileError(message_key="error.model.is_pytorch", path=path)
        if names and all(name.endswith(".npy") for name in names):
            raise ModelFileError(message_key="error.model.foreign_npz", path=path)
        raise ModelFileError(message_key="error.model.other_zip", path=path)
    raw = _decode_npy(path, entry, _entry_bytes(path, archive, entry))
    if raw.dtype != np.uint8 or raw.ndim != 1:
        raise ModelFileError(f"{path}: damaged header: expected UTF-8 bytes, got {raw.dtype}")
    try:
        header = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ModelFileError(f"{path}: damaged header: {exc}") from None
    if not isinstance(header, dict):
        raise ModelFileError(f"{path}: damaged header: not a JSON object")
    file_format = header.get("format")
    if file_format not in (MODEL_FORMAT, CHECKPOINT_FORMAT):
        raise ModelFileError(
            message_key="error.model.other_format", path=path, format=repr(file_format)
        )
    version = header.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ModelFileError(f"{path}: damaged header: bad version {version!r}")
    if version > FORMAT_VERSION:
        writer = header.get("scratchcnn_version")
        by = f"scratchcnn {writer}" if isinstance(writer, str) else "a newer scratchcnn"
        raise ModelFileError(
            message_key="error.model.newer",
            hint_key="error.model.newer.hint",
            path=path,
            writer=by,
            version=version,
            current=__version__,
            supported=FORMAT_VERSION,
        )
    for key, kind in (("config", dict), ("metadata", dict)):
        if not isinstance(header.get(key), kind):
            raise ModelFileError(f"{path}: damaged header: {key!r} is missing or not an object")
    if file_format == CHECKPOINT_FORMAT and not isinstance(header.get("training_state"), dict):
        raise ModelFileError(f"{path}: damaged header: checkpoint without 'training_state'")
    return header


def _read_arrays(
    path: PathLike, archive: zipfile.ZipFile, header: dict[str, Any]
) -> dict[str, np.ndarray]:
    prefixes = (
        (_MODEL_PREFIX, _OPTIM_PREFIX)
        if header["format"] == CHECKPOINT_FORMAT
        else (_MODEL_PREFIX,)
    )
    arrays = {}
    for name in archive.namelist():
        if name == HEADER_KEY + ".npy":
            continue
        key = name.removesuffix(".npy")
        if key == name or not key.startswith(prefixes):
            raise ModelFileError(f"{path}: unexpected entry {name!r} (a damaged or foreign file)")
        arrays[key] = _decode_npy(path, name, _entry_bytes(path, archive, name))
    return arrays


def _build_model(
    path: PathLike, header: dict[str, Any], arrays: dict[str, np.ndarray]
) -> Sequential:
    config = header["config"]
    layers = config.get("layers")
    if not isinstance(layers, list) or not layers:
        raise ModelFileError(f"{path}: damaged header: the architecture lists no layers")
    for i, spec in enumerate(layers):
        kind = spec.get("type") if isinstance(spec, dict) else None
        if not isinstance(kind, str):
            raise ModelFileError(f"{path}: damaged header: layer {i} has no type")
        if kind not in Layer.registry:
            known = ", ".join(sorted(Layer.registry))
            raise ModelFileError(
                f"{path}: layer {i} has type {kind!r}, which this scratchcnn does not know "
                f"(known: {known})",
                hint="upgrade scratchcnn, or import the module defining that layer",
            )
    try:
        model = Sequential.from_config(config)
    except (TypeError, ValueError, KeyError) as exc:
        raise ModelFileError(f"{path}: the architecture cannot be rebuilt: {exc}") from None
    state = {
        key[len(_MODEL_PREFIX) :]: value
        for key, value in arrays.items()
        if key.startswith(_MODEL_PREFIX)
    }
    for key, target in model.state_dict().items():
        name = _MODEL_PREFIX + key
        if key not in state:
            raise ModelFileError(f"{path}: the array {name!r} is missing")
        value = state.pop(key)
        if value.shape != target.shape:
            raise ModelFileError(
                f"{path}: the array {name!r} has shape {value.shape}, "
                f"the architecture needs {target.shape}"
            )
        if value.dtype != target.dtype:
            raise ModelFileError(
                f"{path}: the array {name!r} has dtype {value.dtype}, the model is {target.dtype}"
            )
        target[...] = value
    if state:
        extra = ", ".join(repr(_MODEL_PREFIX + key) for key in sorted(state))
        raise ModelFileError(f"{path}: arrays {extra} do not belong to the architecture")
    model.metadata = header["metadata"]
    return model
