"""Reads PyTorch state-dict files (`torch.save(model.state_dict(), f)`) without PyTorch, safely.

Both of PyTorch's formats are read:
  * legacy (torch <= 1.5, and `_use_new_zipfile_serialization=False`; also torch 0.3/0.4 files pickled by Python 2):
    consecutive pickles of the magic number 0x1950a86a20f9469cfc6c, the protocol version 1001 and a sys_info dict,
    then the pickled object whose tensors reference storages through persistent ids ('storage', storage_type, key,
    location, numel, view_metadata), where view_metadata is None or (view_key, offset, numel) for a tensor on a slice
    of the root storage `key`, then a pickled list of the root storage keys, then for each key an int64 element count
    followed by the raw data (byte order of sys_info['little_endian']);
  * zip (torch >= 1.6): `<archive>/data.pkl` (persistent ids ('storage', storage_type, key, location, numel)),
    `<archive>/data/<key>` raw storage bytes and an optional `<archive>/byteorder` ('little' or 'big').
Tensors are rebuilt from (storage, storage_offset, size, stride) as numpy arrays; GPU locations are ignored.

Every pickle goes through a restricted unpickler that admits only the globals a plain state dict needs, each
mapped to this module's own implementation: collections.OrderedDict, torch._utils._rebuild_tensor /
_rebuild_tensor_v2 / _rebuild_parameter, and the torch[.cuda|.storage].*Storage types. Any other global (os.system,
builtins.eval, a model class, ...) raises UnsafePickleError naming it; nothing it names is imported or called.

The objects the unpickler hands out (storage types, storages, tensor records) have no `__dict__` and refuse pickled
state (a BUILD opcode) with UnsafePickleError, and every tensor is checked again where it is materialised: a real
storage with its bytes attached, an allow-listed dtype, offset and strides >= 0, no more elements than the storage,
the last element inside the storage (in Python ints). The file is read into memory first, so no length field can
make the reader allocate more than the file holds. Every error names the file.
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
MAX_NESTING = 64  # containers nested deeper than this are refused (a state dict is 1-3 levels deep)
MAX_DIMS = 32  # numpy's limit on array dimensions
# All materialised tensors together may hold at most this many times the elements of the file's storages (tied
# weights repeat a tensor; a hostile file could otherwise make gigabytes of copies of one storage).
MAX_ELEMENTS_PER_STORED_ELEMENT = 4


class UnsafePickleError(pickle.UnpicklingError):
    """A pickle referenced a global outside the state-dict allow-list, or gave pickled state to one of this reader's
    objects (nothing was imported or called)."""


class TorchFileError(ValueError):
    """A malformed PyTorch file (the message names it)."""


class _StateRefused(Exception):
    """Raised by __setstate__ of the reader's objects; _load_pickle turns it into UnsafePickleError naming the file."""


class _Sealed(object):
    """Base of the objects the unpickler hands out: no __dict__, and pickled state (BUILD) is refused."""
    __slots__ = ()

    def __setstate__(self, state):
        raise _StateRefused(type(self).__name__)


class StorageType(_Sealed):
    """Stand-in for torch.*Storage classes in persistent ids."""
    __slots__ = ('name', 'dtype')

    def __init__(self, name):
        self.name = name
        self.dtype = STORAGE_DTYPES[name]

    @property
    def itemsize(self):
        return 2 if self.dtype == 'bfloat16' else np.dtype(self.dtype).itemsize


class Storage(_Sealed):
    """A storage named in the pickle: a root storage, whose bytes are attached after unpickling, or (legacy
    view_metadata) a view of `numel` elements of a root storage starting at element `view_offset`."""
    __slots__ = ('storage_type', 'key', 'numel', 'array', 'root', 'view_offset')

    def __init__(self, storage_type, key, numel, root=None, view_offset=0):
        self.storage_type, self.key, self.numel = storage_type, key, numel
        self.array = None
        self.root, self.view_offset = root, view_offset

    def attach(self, data, byteorder, source):
        """Sets the storage's elements from raw bytes."""
        expected = self.numel * self.storage_type.itemsize
        if len(data) != expected:
            raise TorchFileError('%s: storage %s holds %d bytes, expected %d (%d x %s)'
                                 % (source, self.key, len(data), expected, self.numel, self.storage_type.name))
        order = '<' if byteorder == 'little' else '>'
        if self.storage_type.dtype == 'bfloat16':
            bits = np.frombuffer(data, dtype=order + 'u2').astype(np.uint32) << 16
            self.array = bits.view(np.float32)
        elif self.storage_type.dtype is np.bool_:
            self.array = np.frombuffer(data, dtype=np.uint8) != 0
        else:
            dtype = np.dtype(self.storage_type.dtype).newbyteorder(order)
            self.array = np.frombuffer(data, dtype=dtype).astype(np.dtype(self.storage_type.dtype).newbyteorder('='))

    def elements(self, source):
        """-> the storage's elements as a 1-D native-order numpy array, after checking what the pickle set up."""
        storage_type = self.storage_type
        if type(storage_type) is not StorageType or STORAGE_DTYPES.get(storage_type.name, None) is not \
                storage_type.dtype:
            raise TorchFileError('%s: storage %s has no allow-listed storage type' % (source, self.key))
        expected_dtype = np.dtype(np.float32 if storage_type.dtype == 'bfloat16' else storage_type.dtype)
        root = self.root
        if root is None:
            array = self.array
            if not (isinstance(array, np.ndarray) and array.ndim == 1 and array.size == self.numel and
                    array.dtype == expected_dtype):
                raise TorchFileError('%s: storage %s has no data attached' % (source, self.key))
            return array
        offset, numel = self.view_offset, self.numel
        if type(root) is not Storage or root.root is not None or root.storage_type is not storage_type or not (
                _is_int(offset) and _is_int(numel) and offset >= 0 and numel >= 0 and offset + numel <= root.numel):
            raise TorchFileError('%s: storage view %s (offset %r, %r elements) does not lie inside a root storage of '
                                 'its type' % (source, self.key, offset, numel))
        return root.elements(source)[offset:offset + numel]


class TensorRecord(_Sealed):
    """A tensor named in the pickle: storage, offset, size and stride; materialised after the storages are read."""
    __slots__ = ('storage', 'offset', 'size', 'stride')

    def __init__(self, storage, offset, size, stride):
        if not isinstance(storage, Storage):
            raise pickle.UnpicklingError('malformed tensor record: its storage is a %s' % type(storage).__name__)
        if not _valid_geometry(offset, size, stride):
            raise pickle.UnpicklingError('malformed tensor record: offset %r, size %r, stride %r'
                                         % (offset, size, stride))
        self.storage, self.offset, self.size, self.stride = storage, offset, size, stride

    def materialise(self, source, name):
        """-> numpy array of the tensor (a copy); every value is checked again here, where it is used."""
        storage, offset, size, stride = self.storage, self.offset, self.size, self.stride
        if type(storage) is not Storage:
            raise TorchFileError('%s: tensor %s: its storage is a %s, not a storage of the file'
                                 % (source, name, type(storage).__name__))
        array = storage.elements(source)
        if not _valid_geometry(offset, size, stride):
            raise TorchFileError('%s: tensor %s: offset %r, size %r, stride %r are not non-negative integers of '
                                 'matching length (at most %d dimensions)' % (source, name, offset, size, stride,
                                                                             MAX_DIMS))
        count = 1
        for extent in size:
            count *= extent
        if count == 0:
            if any(extent >= 2 ** 31 for extent in size):
                raise TorchFileError('%s: tensor %s: empty tensor of size %s' % (source, name, size))
            return np.zeros(size, dtype=array.dtype)
        last = offset + sum((extent - 1) * step for extent, step in zip(size, stride))
        if count > array.size or last >= array.size:
            raise TorchFileError('%s: tensor %s of size %s, stride %s at offset %d overruns storage %s of %d elements'
                                 % (source, name, size, stride, offset, storage.key, array.size))
        view = np.lib.stride_tricks.as_strided(array[offset:], shape=size,
                                               strides=[step * array.itemsize for step in stride], writeable=False)
        return np.array(view)


def _is_int(value):
    return type(value) is int


def _valid_geometry(offset, size, stride):
    return (_is_int(offset) and offset >= 0 and type(size) is tuple and type(stride) is tuple and
            len(size) == len(stride) <= MAX_DIMS and all(_is_int(v) and v >= 0 for v in size + stride))


def _rebuild_tensor(storage, storage_offset, size, stride):
    return TensorRecord(storage, storage_offset, tuple(size), tuple(stride))


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False, backward_hooks=None,
                       metadata=None):
    return TensorRecord(storage, storage_offset, tuple(size), tuple(stride))


def _rebuild_parameter(data, requires_grad=False, backward_hooks=None):
    if not isinstance(data, TensorRecord):
        raise pickle.UnpicklingError('malformed parameter record: its data is a %s' % type(data).__name__)
    return data


class _Rebuilder(_Sealed):
    """What the unpickler hands out for an allow-listed function: callable, but (unlike a function, whose
    attributes a BUILD opcode could set) sealed."""
    __slots__ = ('function',)

    def __init__(self, function):
        self.function = function

    def __call__(self, *args, **kwargs):
        return self.function(*args, **kwargs)


_ALLOWED = {
    ('collections', 'OrderedDict'): collections.OrderedDict,  # a built-in type: its attributes cannot be set
    ('torch._utils', '_rebuild_tensor'): _Rebuilder(_rebuild_tensor),
    ('torch._utils', '_rebuild_tensor_v2'): _Rebuilder(_rebuild_tensor_v2),
    ('torch._utils', '_rebuild_parameter'): _Rebuilder(_rebuild_parameter),
}


class RestrictedUnpickler(pickle._Unpickler):
    """Unpickler admitting only the state-dict globals; records the storages that persistent ids name.

    It is the pure-Python unpickler: the C one sizes its memo by the largest index a LONG_BINPUT names, so five bytes
    of a hostile file can make it allocate gigabytes; the pure-Python memo is a dict.
    """

    def __init__(self, file, source, storages=None):
        super(RestrictedUnpickler, self).__init__(file, encoding='latin1')
        self.source = source
        self.storages = {} if storages is None else storages
        self.views = {}

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
            raise TorchFileError('%s: malformed persistent id %r' % (self.source, pid))
        kind = pid[0].decode('ascii', 'replace') if isinstance(pid[0], bytes) else pid[0]
        if kind == 'module':
            raise TorchFileError('%s: the file holds a pickled nn.Module, not a state dict; save '
                                 'model.state_dict() instead' % self.source)
        if kind != 'storage' or len(pid) not in (5, 6):
            raise TorchFileError('%s: unknown persistent id %r' % (self.source, pid[:1]))
        storage_type, key, _location, numel = pid[1:5]
        view = pid[5] if len(pid) == 6 else None
        if type(storage_type) is not StorageType or not _is_int(numel) or numel < 0:
            raise TorchFileError('%s: malformed storage record %r' % (self.source, pid[1:]))
        key = _text(key)
        storage = self.storages.get(key)
        if storage is None:
            storage = self.storages[key] = Storage(storage_type, key, numel)
        elif storage.storage_type.name != storage_type.name or storage.numel != numel:
            raise TorchFileError('%s: storage %s is named as %d x %s and as %d x %s' % (
                self.source, key, storage.numel, storage.storage_type.name, numel, storage_type.name))
        if view is None:
            return storage
        if not (type(view) is tuple and len(view) == 3 and _is_int(view[1]) and _is_int(view[2]) and
                view[1] >= 0 and view[2] >= 0 and view[1] + view[2] <= numel):
            raise TorchFileError('%s: malformed storage view %r of storage %s (%d elements); expected (view_key, '
                                 'offset, numel) inside it' % (self.source, view, key, numel))
        view_key = _text(view[0])
        if view_key not in self.views:
            self.views[view_key] = Storage(storage_type, view_key, view[2], root=storage, view_offset=view[1])
        known = self.views[view_key]
        if known.root is not storage or known.view_offset != view[1] or known.numel != view[2]:
            raise TorchFileError('%s: storage view %s is defined twice differently' % (self.source, view_key))
        return known


def _text(value):
    """A storage key from the pickle (Python 2 str arrives as str through latin1, bytes stay bytes) -> str."""
    return value.decode('latin1') if isinstance(value, bytes) else str(value)


def _load_pickle(handle, source, what, storages=None):
    """Unpickles one record; any failure becomes UnsafePickleError or TorchFileError naming `source` and `what`."""
    try:
        return RestrictedUnpickler(handle, source, storages).load()
    except (UnsafePickleError, TorchFileError):
        raise
    except _StateRefused as error:
        raise UnsafePickleError('%s: refused pickled state (a BUILD opcode) for a %s in the %s; PyTorch never '
                                'writes one, so this is a hostile or corrupt file' % (source, error, what))
    except MemoryError:
        raise
    except Exception as error:  # the unpickler fails in many ways on corrupt data: EOFError, TypeError, ...
        raise TorchFileError('%s: malformed %s pickle (%s: %s)' % (source, what, type(error).__name__, error))


def _materialise(obj, source):
    """Replaces TensorRecords by numpy arrays in nested dicts, lists and tuples (each object once, so shared
    references cost nothing; cycles and deep nesting are refused)."""
    done, active = {}, set()
    budget = [MAX_ELEMENTS_PER_STORED_ELEMENT * _stored_elements(obj)]

    def convert(value, name, depth):
        if id(value) in done:
            return done[id(value)]
        if isinstance(value, TensorRecord):
            array = value.materialise(source, name)
            budget[0] -= array.size
            if budget[0] < 0:
                raise TorchFileError('%s: the tensors hold more than %d times the elements stored in the file; '
                                     'refused (a state dict repeats a tensor at most for tied weights)'
                                     % (source, MAX_ELEMENTS_PER_STORED_ELEMENT))
        elif isinstance(value, (dict, list, tuple)):
            if depth > MAX_NESTING or id(value) in active:
                raise TorchFileError('%s: %s is nested deeper than %d levels or contains itself'
                                     % (source, name, MAX_NESTING))
            active.add(id(value))
            if isinstance(value, dict):
                items = [(k, convert(v, '%s[%r]' % (name, k), depth + 1)) for k, v in value.items()]
                array = collections.OrderedDict(items) if isinstance(value, collections.OrderedDict) else dict(items)
            else:
                array = type(value)(convert(v, '%s[%d]' % (name, i), depth + 1) for i, v in enumerate(value))
            active.discard(id(value))
        else:
            return value
        done[id(value)] = array
        return array

    return convert(obj, 'object', 0)


def _stored_elements(obj):
    """Total elements of the root storages reachable from `obj` (its tensors' storages)."""
    roots, seen, stack = {}, set(), [obj]
    while stack:
        value = stack.pop()
        if id(value) in seen:
            continue
        seen.add(id(value))
        if isinstance(value, TensorRecord):
            storage = value.storage
            root = storage.root if type(storage) is Storage and storage.root is not None else storage
            if type(root) is Storage and _is_int(root.numel):
                roots[id(root)] = root.numel
        elif isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, (list, tuple)):
            stack.extend(value)
    return sum(roots.values())


def _read_legacy(handle, source, size):
    magic = _load_pickle(handle, source, 'magic number')
    if magic != MAGIC_NUMBER:
        raise TorchFileError('%s is not a PyTorch file: it starts with %r, not the magic number' % (source, magic))
    protocol = _load_pickle(handle, source, 'protocol version')
    if protocol != PROTOCOL_VERSION:
        raise TorchFileError('%s: unsupported PyTorch protocol version %r (expected %d)'
                             % (source, protocol, PROTOCOL_VERSION))
    sys_info = _load_pickle(handle, source, 'sys_info')
    if not isinstance(sys_info, dict) or sys_info.get('little_endian', True) not in (True, False):
        raise TorchFileError('%s: malformed sys_info record %r' % (source, sys_info))
    byteorder = 'little' if sys_info.get('little_endian', True) else 'big'
    storages = {}
    result = _load_pickle(handle, source, 'object', storages)
    keys = _load_pickle(handle, source, 'storage key list')
    if not isinstance(keys, list):
        raise TorchFileError('%s: malformed storage key list %r' % (source, keys))
    for key in keys:
        key = _text(key)
        if key not in storages:
            raise TorchFileError('%s: storage %s is listed but no tensor uses it' % (source, key))
        storage = storages[key]
        if storage.array is not None:
            raise TorchFileError('%s: storage %s is listed twice' % (source, key))
        header = handle.read(8)
        if len(header) != 8:
            raise TorchFileError('%s is truncated: storage %s is missing' % (source, key))
        numel, = struct.unpack('<q' if byteorder == 'little' else '>q', header)
        if numel != storage.numel:
            raise TorchFileError('%s: storage %s has %d elements, the pickle says %d'
                                 % (source, key, numel, storage.numel))
        if numel * storage.storage_type.itemsize > size - handle.tell():
            raise TorchFileError('%s is truncated: storage %s needs %d bytes, %d are left'
                                 % (source, key, numel * storage.storage_type.itemsize, size - handle.tell()))
        storage.attach(handle.read(numel * storage.storage_type.itemsize), byteorder, source)
    missing = sorted(k for k, s in storages.items() if s.array is None)
    if missing:
        raise TorchFileError('%s: storages %s are used by tensors but absent from the file' % (source, missing))
    return result


def _read_record(archive, name, size, source):
    """Bytes of one zip member, refusing members that claim to be larger than the whole file (zip bombs)."""
    info = archive.getinfo(name)
    if info.file_size > size:
        raise TorchFileError('%s: zip record %s claims %d bytes, more than the whole file' % (source, name,
                                                                                             info.file_size))
    return archive.read(info)


def _read_zip(data, source):
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = archive.namelist()
        pickles = [n for n in names if n == 'data.pkl' or n.endswith('/data.pkl')]
        if len(pickles) != 1:
            raise TorchFileError('%s: expected one <archive>/data.pkl record in the zip, found %s' % (source, pickles))
        prefix = pickles[0][:-len('data.pkl')]
        if prefix + 'constants.pkl' in names:
            raise TorchFileError('%s is a TorchScript archive (torch.jit.save), not a state dict' % source)
        byteorder = 'little'
        if prefix + 'byteorder' in names:
            byteorder = _read_record(archive, prefix + 'byteorder', len(data), source).decode('ascii', 'replace')
            byteorder = byteorder.strip()
            if byteorder not in ('little', 'big'):
                raise TorchFileError('%s: unknown byteorder record %r' % (source, byteorder))
        storages = {}
        pickled = _read_record(archive, pickles[0], len(data), source)
        result = _load_pickle(io.BytesIO(pickled), source, 'data.pkl', storages)
        for key, storage in storages.items():
            record = prefix + 'data/' + key
            if record not in names:
                raise TorchFileError('%s: storage record %s is missing' % (source, record))
            storage.attach(_read_record(archive, record, len(data), source), byteorder, source)
    return result


def load_pytorch_file(path):
    """Reads a torch.save file (legacy or zip format) -> the saved object with tensors as numpy arrays.

    Raises UnsafePickleError for any global outside the state-dict allow-list or pickled state given to the
    reader's objects, TorchFileError (a ValueError) for malformed files; both name `path`.
    """
    with open(path, 'rb') as handle:
        data = handle.read()
    try:
        if data[:4] == b'PK\x03\x04':
            result = _read_zip(data, path)
        elif data[257:262] == b'ustar':
            raise TorchFileError('%s uses the tar-based PyTorch format of torch < 0.1.10, which is not supported; '
                                 're-save it with a newer torch' % path)
        elif data[:1] != b'\x80':
            raise TorchFileError('%s is not a PyTorch file (no pickle or zip header)' % path)
        else:
            result = _read_legacy(io.BytesIO(data), path, len(data))
        return _materialise(result, path)
    except (UnsafePickleError, TorchFileError, MemoryError):
        raise
    except Exception as error:  # zipfile and zlib fail in many ways on corrupt archives
        raise TorchFileError('%s: malformed PyTorch file (%s: %s)' % (path, type(error).__name__, error))


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
            if isinstance(obj.get(key), dict):
                obj = obj[key]
                break
    if not isinstance(obj, dict) or not obj:
        raise TorchFileError('%s does not hold a state dict (got %s)' % (path, type(obj).__name__))
    bad_names = [k for k in obj if not isinstance(k, str)]
    if bad_names:
        raise TorchFileError('%s: state dict names that are not strings: %r' % (path, bad_names[:10]))
    non_tensors = [k for k, v in obj.items() if not isinstance(v, np.ndarray)]
    if non_tensors:
        raise TorchFileError('%s: state dict entries that are not tensors: %s' % (path, non_tensors[:10]))
    names = list(obj)
    if all(name.startswith('module.') for name in names):
        names = [name[len('module.'):] for name in names]
    return collections.OrderedDict(zip(names, obj.values()))
