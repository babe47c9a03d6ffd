"""Reads PyTorch state-dict files (`torch.save(model.state_dict(), f)`) without PyTorch, safely.

Both of PyTorch's formats are read:
  * legacy (torch <= 1.5, and `_use_new_zipfile_serialization=False`): consecutive pickles of the magic number
    0x1950a86a20f9469cfc6c, the protocol version 1001 and a sys_info dict, then the pickled object whose tensors
    reference storages through persistent ids ('storage', storage_type, key, location, numel, view_metadata),
    then a pickled list of storage keys, then for each key an int64 little-endian element count followed by the
    raw little-endian data;
  * zip (torch >= 1.6): `<archive>/data.pkl` (persistent ids ('storage', storage_type, key, location, numel)),
    `<archive>/data/<key>` raw storage bytes and an optional `<archive>/byteorder` ('little' or 'big').
Tensors are rebuilt from (storage, storage_offset, size, stride) as numpy arrays; GPU locations are ignored.

Every pickle goes through a restricted unpickler that admits only the globals a plain state dict needs, each
mapped to this module's own implementation: collections.OrderedDict, torch._utils._rebuild_tensor /
_rebuild_tensor_v2 / _rebuild_parameter, and the torch[.cuda|.storage].*Storage types. Any other global (os.system,
builtins.eval, a model class, ...) raises UnsafePickleError naming it; nothing it names is imported or called.
"""

import collections
import io
import pickle
import struct
import zipfile

import numpy as np

MAGIC_NUMBER = 0x1950a86a20f9469cfc6c
PROTOCOL_VERSION = 1001

# PyTorch storage type -> numpy dtype ('bfloat16' is widened to float32 after reading).
STORAGE_DTYPES = {
    'DoubleStorage': np.float64, 'FloatStorage': np.float32, 'HalfStorage': np.float16, 'BFloat16Storage': 'bfloat16',
    'LongStorage': np.int64, 'IntStorage': np.int32, 'ShortStorage': np.int16, 'CharStorage': np.int8,
    'ByteStorage': np.uint8, 'BoolStorage': np.bool_, 'UntypedStorage': np.uint8, '_UntypedStorage': np.uint8,
}
STORAGE_MODULES = ('torch', 'torch.cuda', 'torch.storage')


class UnsafePickleError(pickle.UnpicklingError):
    """A pickle referenced a global outside the state-dict allow-list (it was not imported or called)."""


class StorageType(object):
    """Stand-in for torch.*Storage classes in persistent ids."""

    def __init__(self, name):
        self.name = name
        self.dtype = STORAGE_DTYPES[name]

    @property
    def itemsize(self):
        return 2 if self.dtype == 'bfloat16' else np.dtype(self.dtype).itemsize


class Storage(object):
    """A storage named in the pickle; its bytes are attached after unpickling."""

    def __init__(self, storage_type, key, numel):
        self.storage_type = storage_type
        self.key = key
        self.numel = numel
        self.array = None

    def attach(self, data, byteorder, source):
        """Sets the storage's elements from raw bytes."""
        expected = self.numel * self.storage_type.itemsize
        if len(data) != expected:
            raise ValueError('%s: storage %s holds %d bytes, expected %d (%d x %s)'
                             % (source, self.key, len(data), expected, self.numel, self.storage_type.name))
        order = '<' if byteorder == 'little' else '>'
        if self.storage_type.dtype == 'bfloat16':
            bits = np.frombuffer(data, dtype=order + 'u2').astype(np.uint32) << 16
            self.array = bits.view(np.float32)
        else:
            dtype = np.dtype(self.storage_type.dtype).newbyteorder(order)
            self.array = np.frombuffer(data, dtype=dtype).astype(np.dtype(self.storage_type.dtype).newbyteorder('='))


class TensorRecord(object):
    """A tensor named in the pickle: storage, offset, size and stride; materialised after the storages are read."""

    def __init__(self, storage, offset, size, stride):
        if not isinstance(storage, Storage):
            raise pickle.UnpicklingError('malformed tensor record: its storage is a %s' % type(storage).__name__)
        if not (_is_int(offset) and isinstance(size, tuple) and isinstance(stride, tuple) and
                len(size) == len(stride) and all(_is_int(v) and v >= 0 for v in size + stride)):
            raise pickle.UnpicklingError('malformed tensor record: offset %r, size %r, stride %r'
                                         % (offset, size, stride))
        self.storage, self.offset, self.size, self.stride = storage, offset, size, stride

    def materialise(self):
        """-> numpy array of the tensor (a copy)."""
        array = self.storage.array
        if any(s == 0 for s in self.size):
            return np.zeros(self.size, dtype=array.dtype)
        last = self.offset + sum((s - 1) * st for s, st in zip(self.size, self.stride))
        if self.offset < 0 or last >= array.size:
            raise ValueError('tensor of size %s, stride %s at offset %d overruns storage %s of %d elements'
                             % (self.size, self.stride, self.offset, self.storage.key, array.size))
        view = np.lib.stride_tricks.as_strided(array[self.offset:], shape=self.size,
                                               strides=[st * array.itemsize for st in self.stride])
        return np.array(view)


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _rebuild_tensor(storage, storage_offset, size, stride):
    return TensorRecord(storage, storage_offset, tuple(size), tuple(stride))


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False, backward_hooks=None,
                       metadata=None):
    return TensorRecord(storage, storage_offset, tuple(size), tuple(stride))


def _rebuild_parameter(data, requires_grad=False, backward_hooks=None):
    if not isinstance(data, TensorRecord):
        raise pickle.UnpicklingError('malformed parameter record: its data is a %s' % type(data).__name__)
    return data


_ALLOWED = {
    ('collections', 'OrderedDict'): collections.OrderedDict,
    ('torch._utils', '_rebuild_tensor'): _rebuild_tensor,
    ('torch._utils', '_rebuild_tensor_v2'): _rebuild_tensor_v2,
    ('torch._utils', '_rebuild_parameter'): _rebuild_parameter,
}


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickler admitting only the state-dict globals; records the storages that persistent ids name."""

    def __init__(self, file, source, storages=None):
        super(RestrictedUnpickler, self).__init__(file, encoding='latin1')
        self.source = source
        self.storages = {} if storages is None else storages

    def find_class(self, module, name):
        if (module, name) in _ALLOWED:
            return _ALLOWED[(module, name)]
        if module in STORAGE_MODULES and name in STORAGE_DTYPES:
            return StorageType(name)
        raise UnsafePickleError('%s: refused to load global %s.%s; a PyTorch state dict may only reference '
                                'collections.OrderedDict, torch._utils tensor rebuilders and torch storage types, '
                                'so this is not a plain state dict (or it is a hostile file); nothing was executed'
                                % (self.source, module, name))

    def persistent_load(self, pid):
        if not isinstance(pid, tuple) or not pid:
            raise pickle.UnpicklingError('%s: malformed persistent id %r' % (self.source, pid))
        kind = pid[0].decode('ascii') if isinstance(pid[0], bytes) else pid[0]
        if kind == 'module':
            raise pickle.UnpicklingError('%s: the file holds a pickled nn.Module, not a state dict; save '
                                         'model.state_dict() instead' % self.source)
        if kind != 'storage' or len(pid) not in (5, 6):
            raise pickle.UnpicklingError('%s: unknown persistent id %r' % (self.source, pid[:1]))
        storage_type, key, _location, numel = pid[1:5]
        view = pid[5] if len(pid) == 6 else None
        if not isinstance(storage_type, StorageType) or not _is_int(numel) or numel < 0:
            raise pickle.UnpicklingError('%s: malformed storage record %r' % (self.source, pid[1:]))
        key = str(key)
        if key not in self.storages:
            self.storages[key] = Storage(storage_type, key, numel)
        storage = self.storages[key]
        if view is not None:
            raise pickle.UnpicklingError('%s: storage views (legacy view_metadata %r) are not supported'
                                         % (self.source, view))
        return storage


def _load_pickle(handle, source, storages=None):
    return RestrictedUnpickler(handle, source, storages).load()


def _materialise(obj):
    """Replaces TensorRecords by numpy arrays in nested dicts, lists and tuples."""
    if isinstance(obj, TensorRecord):
        return obj.materialise()
    if isinstance(obj, collections.OrderedDict):
        return collections.OrderedDict((k, _materialise(v)) for k, v in obj.items())
    if isinstance(obj, dict):
        return {k: _materialise(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_materialise(v) for v in obj)
    return obj


def _read_legacy(handle, source):
    magic = _load_pickle(handle, source)
    if magic != MAGIC_NUMBER:
        raise ValueError('%s is not a PyTorch file: it starts with %r, not the magic number' % (source, magic))
    protocol = _load_pickle(handle, source)
    if protocol != PROTOCOL_VERSION:
        raise ValueError('%s: unsupported PyTorch protocol version %r (expected %d)'
                         % (source, protocol, PROTOCOL_VERSION))
    sys_info = _load_pickle(handle, source)
    if not isinstance(sys_info, dict):
        raise ValueError('%s: malformed sys_info record %r' % (source, sys_info))
    storages = {}
    result = _load_pickle(handle, source, storages)
    keys = _load_pickle(handle, source)
    if not isinstance(keys, list):
        raise ValueError('%s: malformed storage key list %r' % (source, keys))
    for key in keys:
        key = str(key)
        if key not in storages:
            raise ValueError('%s: storage %s is listed but no tensor uses it' % (source, key))
        header = handle.read(8)
        if len(header) != 8:
            raise ValueError('%s is truncated: storage %s is missing' % (source, key))
        numel, = struct.unpack('<q', header)
        storage = storages[key]
        if numel != storage.numel:
            raise ValueError('%s: storage %s has %d elements, the pickle says %d' % (source, key, numel, storage.numel))
        storage.attach(handle.read(numel * storage.storage_type.itemsize), 'little', source)
    missing = sorted(k for k, s in storages.items() if s.array is None)
    if missing:
        raise ValueError('%s: storages %s are used by tensors but absent from the file' % (source, missing))
    return result


def _read_zip(path, source):
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        pickles = [n for n in names if n == 'data.pkl' or n.endswith('/data.pkl')]
        if len(pickles) != 1:
            raise ValueError('%s: expected one <archive>/data.pkl record in the zip, found %s' % (source, pickles))
        prefix = pickles[0][:-len('data.pkl')]
        if prefix + 'constants.pkl' in names:
            raise ValueError('%s is a TorchScript archive (torch.jit.save), not a state dict' % source)
        byteorder = 'little'
        if prefix + 'byteorder' in names:
            byteorder = archive.read(prefix + 'byteorder').decode('ascii', 'replace').strip()
            if byteorder not in ('little', 'big'):
                raise ValueError('%s: unknown byteorder record %r' % (source, byteorder))
        storages = {}
        result = _load_pickle(io.BytesIO(archive.read(pickles[0])), source, storages)
        for key, storage in storages.items():
            record = prefix + 'data/' + key
            if record not in names:
                raise ValueError('%s: storage record %s is missing' % (source, record))
            storage.attach(archive.read(record), byteorder, source)
    return result


def load_pytorch_file(path):
    """Reads a torch.save file (legacy or zip format) -> the saved object with tensors as numpy arrays.

    Raises UnsafePickleError for any global outside the state-dict allow-list, ValueError for malformed files.
    """
    with open(path, 'rb') as handle:
        head = handle.read(512)
        handle.seek(0)
        if head[:4] == b'PK\x03\x04':
            result = _read_zip(path, path)
        elif head[257:262] == b'ustar':
            raise ValueError('%s uses the tar-based PyTorch format of torch < 0.1.10, which is not supported; '
                             're-save it with a newer torch' % path)
        elif head[:2] != b'\x80\x02' and head[:1] != b'\x80':
            raise ValueError('%s is not a PyTorch file (no pickle or zip header)' % path)
        else:
            result = _read_legacy(handle, path)
    return _materialise(result)


def load_state_dict(path):
    """Reads a PyTorch state dict -> OrderedDict name -> numpy array.

    Accepts a bare state dict or a checkpoint dict holding one under 'state_dict', 'model' or 'net'; a common
    'module.' prefix (nn.DataParallel) is removed.
    """
    return as_state_dict(load_pytorch_file(path), path)


def as_state_dict(obj, path):
    """Unwraps a loaded object into an OrderedDict name -> array (see load_state_dict); errors name `path`."""
    if isinstance(obj, dict):
        for key in ('state_dict', 'model', 'net'):
            if isinstance(obj.get(key), dict) and not isinstance(obj.get(key), np.ndarray):
                obj = obj[key]
                break
    if not isinstance(obj, dict) or not obj:
        raise ValueError('%s does not hold a state dict (got %s)' % (path, type(obj).__name__))
    non_tensors = [k for k, v in obj.items() if not isinstance(v, np.ndarray)]
    if non_tensors:
        raise ValueError('%s: state dict entries that are not tensors: %s' % (path, non_tensors[:10]))
    names = list(obj)
    if all(name.startswith('module.') for name in names):
        names = [name[len('module.'):] for name in names]
    return collections.OrderedDict(zip(names, obj.values()))
