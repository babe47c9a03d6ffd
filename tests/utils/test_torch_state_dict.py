"""Tests of the torch-free PyTorch state-dict reader: both formats, and hostile pickles that must never run."""

import collections
import os
import pickle
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from tests.conftest import DASIAMRPN_REFERENCE_DIR, PROJECT_ROOT
from tests.fixtures import legacy_torch_files
from utils.torch_state_dict import (MAGIC_NUMBER, Storage, StorageType, TensorRecord, UnsafePickleError,
                                    as_state_dict, load_pytorch_file, load_state_dict)

LEGACY = os.path.join(DASIAMRPN_REFERENCE_DIR, 'tiny_legacy.model')
ZIP = os.path.join(DASIAMRPN_REFERENCE_DIR, 'tiny_zip.model')


class Payload(object):
    """Pickles as a call of `function(argument)`: what a hostile .model file does."""

    def __init__(self, function, argument):
        self.function, self.argument = function, argument

    def __reduce__(self):
        return self.function, (self.argument,)


class ModelClass(object):
    """Stands for a pickled object of some class (e.g. a whole nn.Module)."""


def write_legacy(path, obj, header=None):
    """A legacy-format file around `obj` (no storages)."""
    with open(path, 'wb') as handle:
        for record in (header if header is not None else MAGIC_NUMBER, 1001,
                       {'protocol_version': 1001, 'little_endian': True, 'type_sizes': {'short': 2}}, obj, []):
            pickle.dump(record, handle, protocol=2)


def write_zip(path, obj):
    with zipfile.ZipFile(path, 'w') as archive:
        archive.writestr('archive/data.pkl', pickle.dumps(obj, protocol=2))
        archive.writestr('archive/byteorder', 'little')


def test_both_formats_give_the_same_state_dict():
    legacy, zipped = load_state_dict(LEGACY), load_state_dict(ZIP)
    assert list(legacy) == list(zipped)
    assert len(legacy) == 45 and list(legacy)[:2] == ['featureExtract.0.weight', 'featureExtract.0.bias']
    for key in legacy:
        np.testing.assert_array_equal(legacy[key], zipped[key])
    assert legacy['featureExtract.0.weight'].shape == (6, 3, 11, 11)
    assert legacy['featureExtract.0.weight'].dtype == np.float32
    assert legacy['featureExtract.1.num_batches_tracked'].dtype == np.int64
    reference = np.load(os.path.join(DASIAMRPN_REFERENCE_DIR, 'reference.npz'))
    assert list(legacy) == list(reference['keys'])


def test_payloads_run_under_plain_pickle(tmp_path):
    """The payload used below is live: plain pickle executes it (so its absence below proves the refusal)."""
    marker = tmp_path / 'ran'
    pickle.loads(pickle.dumps(Payload(os.system, 'touch %s' % marker), protocol=2))
    assert marker.exists()


@pytest.mark.parametrize('where', ['object', 'header'])
def test_legacy_file_with_os_system_is_refused_and_nothing_runs(tmp_path, where):
    marker = tmp_path / 'pwned'
    payload = Payload(os.system, 'touch %s' % marker)
    path = str(tmp_path / 'hostile.model')
    if where == 'object':
        write_legacy(path, collections.OrderedDict([('featureExtract.0.weight', payload)]))
    else:
        write_legacy(path, collections.OrderedDict(), header=payload)
    with pytest.raises(UnsafePickleError, match=r'refused to load global (os|posix)\.system') as error:
        load_state_dict(path)
    assert 'hostile.model' in str(error.value)
    assert not marker.exists()


def test_zip_file_with_eval_is_refused_and_nothing_runs(tmp_path):
    marker = tmp_path / 'pwned'
    path = str(tmp_path / 'hostile_zip.model')
    write_zip(path, {'x': Payload(eval, "open(%r, 'w').close()" % str(marker))})
    with pytest.raises(UnsafePickleError, match=r'(__builtin__|builtins)\.eval'):
        load_pytorch_file(path)
    assert not marker.exists()


def test_any_other_class_is_refused(tmp_path):
    path = str(tmp_path / 'module.model')
    write_legacy(path, collections.OrderedDict([('net', ModelClass())]))
    with pytest.raises(UnsafePickleError, match='test_torch_state_dict.ModelClass'):
        load_state_dict(path)


def test_malformed_files_get_clear_errors(tmp_path):
    not_torch = tmp_path / 'notes.model'
    not_torch.write_bytes(b'hello world')
    with pytest.raises(ValueError, match='not a PyTorch file'):
        load_state_dict(str(not_torch))
    wrong_magic = str(tmp_path / 'magic.model')
    write_legacy(wrong_magic, collections.OrderedDict(), header=12345)
    with pytest.raises(ValueError, match='magic number'):
        load_state_dict(wrong_magic)
    truncated = tmp_path / 'truncated.model'
    truncated.write_bytes(open(LEGACY, 'rb').read()[:-1000])
    with pytest.raises(ValueError, match='truncated.model'):
        load_state_dict(str(truncated))
    tar = bytearray(1024)
    tar[257:262] = b'ustar'
    (tmp_path / 'old.model').write_bytes(bytes(tar))
    with pytest.raises(ValueError, match='tar-based'):
        load_state_dict(str(tmp_path / 'old.model'))
    empty = str(tmp_path / 'list.model')
    write_legacy(empty, [1, 2])
    with pytest.raises(ValueError, match='does not hold a state dict'):
        load_state_dict(empty)


def test_zip_storage_size_mismatch_is_detected(tmp_path):
    path = str(tmp_path / 'short.model')
    with zipfile.ZipFile(ZIP) as source, zipfile.ZipFile(path, 'w') as target:
        for name in source.namelist():
            data = source.read(name)
            if '/data/' in name and not target.namelist().count('done'):
                data = data[:-4]
                target.writestr('done', b'')
            target.writestr(name, data)
    with pytest.raises(ValueError, match='holds .* bytes, expected'):
        load_state_dict(path)


def test_wrapped_checkpoints_and_data_parallel_prefixes():
    weight = np.zeros((2, 3), np.float32)
    unwrapped = as_state_dict({'epoch': 3, 'state_dict': {'module.conv.weight': weight, 'module.conv.bias': weight}},
                              'ckpt.pth')
    assert list(unwrapped) == ['conv.weight', 'conv.bias']
    assert list(as_state_dict({'module.a': weight, 'b': weight}, 'x')) == ['module.a', 'b']
    with pytest.raises(ValueError, match="x.pth: state dict entries that are not tensors: \\['epoch'\\]"):
        as_state_dict({'epoch': 3, 'w': weight}, 'x.pth')


# ---- issue 15: legacy torch 0.3/0.4 files built byte by byte, and BUILD attacks ----

@pytest.mark.parametrize('style', ['0.3', '0.4'])
def test_hand_built_legacy_file_reads_exactly(tmp_path, style):
    """Python 2 str keys, _rebuild_tensor(_v2), shared storages at offsets, a transposed tensor, view_metadata."""
    tensors, storages = legacy_torch_files.shared_storage_example()
    path = tmp_path / ('dasiamrpn_%s.model' % style)
    path.write_bytes(legacy_torch_files.legacy_file_bytes(tensors, storages, style))
    loaded = load_state_dict(str(path))
    expected = legacy_torch_files.expected_values(tensors, storages)
    assert list(loaded) == list(expected)
    for name in expected:
        assert loaded[name].dtype == expected[name].dtype and loaded[name].shape == expected[name].shape, name
        np.testing.assert_array_equal(loaded[name], expected[name])
    # root elements 3-6 ((x - 5.5)^3): view offset 2 + tensor offset 1
    assert loaded['view.a'].tolist() == [[-15.625, -3.375], [-0.125, 0.125]]
    assert loaded['bn.num_batches_tracked'].shape == () and loaded['bn.num_batches_tracked'] == 7


def test_hand_built_zip_file_reads_exactly(tmp_path):
    tensors, storages = legacy_torch_files.shared_storage_example()
    tensors = [(name, tensor) for name, tensor in tensors if tensor.view is None]
    path = tmp_path / 'new.model'
    path.write_bytes(legacy_torch_files.zip_file_bytes(tensors, storages))
    loaded = load_state_dict(str(path))
    expected = legacy_torch_files.expected_values(tensors, storages)
    assert list(loaded) == list(expected)
    for name in expected:
        np.testing.assert_array_equal(loaded[name], expected[name])


BUILD_ATTACKS = {
    'huge negative stride': {b'stride': (-1000000000,)},  # used to segfault
    'negative stride': {b'stride': (-1,)},  # used to read the memory before the storage
    'huge offset': {b'offset': 10 ** 12},  # used to be refused without the file name
    'storage replaced by a str': {b'storage': b'not a storage'},  # used to raise AttributeError
}


def _attack_file(tmp_path, where, state, fmt='legacy'):
    tensors, storages = legacy_torch_files.shared_storage_example()
    path = tmp_path / ('attack_%s.model' % fmt)
    if fmt == 'zip':
        tensors = [(name, tensor) for name, tensor in tensors if tensor.view is None]
        path.write_bytes(legacy_torch_files.zip_file_bytes(tensors, storages, build={'conv.bias': state}))
    else:
        path.write_bytes(legacy_torch_files.legacy_file_bytes(tensors, storages, build={'conv.bias': state} if
                                                              where == 'tensor' else None,
                                                              storage_build={'conv.bias': state}
                                                              if where == 'storage' else None))
    return str(path)


@pytest.mark.parametrize('attack', sorted(BUILD_ATTACKS))
def test_build_attacks_on_tensor_records_are_refused_naming_the_file(tmp_path, attack):
    """Run in a subprocess: if a regression let one through, a segfault must fail this test, not kill pytest."""
    path = _attack_file(tmp_path, 'tensor', BUILD_ATTACKS[attack])
    result = subprocess.run([sys.executable, '-c', 'import sys\nfrom utils.torch_state_dict import load_state_dict\n'
                             'try:\n    load_state_dict(sys.argv[1])\nexcept Exception as e:\n'
                             '    print(type(e).__name__, e)\nelse:\n    print("loaded")', path],
                            cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout.decode().strip() == (
        'UnsafePickleError %s: refused pickled state (a BUILD opcode) for a TensorRecord in the object; PyTorch never '
        'writes one, so this is a hostile or corrupt file' % path)


@pytest.mark.parametrize('fmt', ['legacy', 'zip'])
def test_build_attacks_in_process_and_on_storages_and_storage_types(tmp_path, fmt):
    with pytest.raises(UnsafePickleError, match=r'attack_%s\.model: refused pickled state .* TensorRecord' % fmt):
        load_state_dict(_attack_file(tmp_path, 'tensor', BUILD_ATTACKS['negative stride'], fmt))
    if fmt == 'legacy':
        with pytest.raises(UnsafePickleError, match=r'attack_legacy\.model: refused pickled state .* Storage in'):
            load_state_dict(_attack_file(tmp_path, 'storage', {b'numel': 10 ** 9}))
        storage_type = legacy_torch_files.Build(legacy_torch_files.Global('torch', 'FloatStorage'),
                                                {b'dtype': b'object'})
        tree = {b'x': legacy_torch_files.Reduce(legacy_torch_files.Global('torch._utils', '_rebuild_tensor'), (
            legacy_torch_files.PersistentId((b'storage', storage_type, b'1', b'cpu', 1, None)), 0, (1,), (1,)))}
        path = tmp_path / 'type.model'
        path.write_bytes(legacy_torch_files.legacy_file_bytes([], {}, object_tree=tree))
        with pytest.raises(UnsafePickleError, match=r'type\.model: refused pickled state .* StorageType'):
            load_state_dict(str(path))
        rebuilder = legacy_torch_files.Build(legacy_torch_files.Global('torch._utils', '_rebuild_tensor'),
                                             {b'__defaults__': (1,)})
        path.write_bytes(legacy_torch_files.legacy_file_bytes([], {}, object_tree=[rebuilder]))
        with pytest.raises(UnsafePickleError, match=r'type\.model: refused pickled state .* _Rebuilder'):
            load_state_dict(str(path))


def test_records_are_validated_again_where_they_are_used(tmp_path):
    """Even values that bypass unpickling (set on the objects directly) are checked at materialisation."""
    storage_type = StorageType('FloatStorage')
    storage = Storage(storage_type, 'k', 4)
    storage.attach(np.arange(4, dtype='<f4').tobytes(), 'little', 'f.model')
    record = TensorRecord(storage, 0, (2,), (1,))
    np.testing.assert_array_equal(record.materialise('f.model', 'w'), [0., 1.])
    for field, value, message in [('stride', (-1,), 'not non-negative'), ('offset', -1, 'not non-negative'),
                                  ('offset', 3, 'overruns storage k of 4'), ('size', (5,), 'overruns'),
                                  ('stride', (10 ** 20,), 'overruns'), ('size', (2, 2, 2), 'matching length'),
                                  ('storage', 'abc', 'its storage is a str'), ('offset', True, 'not non-negative')]:
        tampered = TensorRecord(storage, 0, (2,), (1,))
        setattr(tampered, field, value)
        with pytest.raises(ValueError, match=r'^f\.model: tensor w.*' + message):
            tampered.materialise('f.model', 'w')
    detached = TensorRecord(Storage(storage_type, 'd', 4), 0, (2,), (1,))
    with pytest.raises(ValueError, match='f.model: storage d has no data attached'):
        detached.materialise('f.model', 'w')
    with pytest.raises(AttributeError):
        record.extra = 1  # no __dict__


def test_views_outside_their_root_and_amplification_are_refused(tmp_path):
    tensors, storages = legacy_torch_files.shared_storage_example()
    tensors[3] = ('view.a', tensors[3][1]._replace(view=('140230975600000', 10, 6)))  # 10 + 6 > 12 elements
    path = tmp_path / 'view.model'
    path.write_bytes(legacy_torch_files.legacy_file_bytes(tensors, storages))
    with pytest.raises(ValueError, match=r'view\.model: malformed storage view .* inside it'):
        load_state_dict(str(path))
    tensor = legacy_torch_files.Tensor('1', 0, (100,), (1,), None)
    many = [('w%d' % i, tensor) for i in range(5)]  # five distinct records of the whole storage: 5 x the data
    path.write_bytes(legacy_torch_files.legacy_file_bytes(many, {'1': np.zeros(100, np.float32)}))
    with pytest.raises(ValueError, match=r'view\.model: the tensors hold more than 4 times'):
        load_state_dict(str(path))
    path.write_bytes(legacy_torch_files.legacy_file_bytes(many[:2], {'1': np.zeros(100, np.float32)}))
    assert list(load_state_dict(str(path))) == ['w0', 'w1']  # tied weights are fine


def test_deep_and_self_referencing_containers_are_refused(tmp_path):
    path = tmp_path / 'deep.model'
    tree = []
    for _ in range(200):
        tree = [tree]
    path.write_bytes(legacy_torch_files.legacy_file_bytes([], {}, object_tree=tree))
    with pytest.raises(ValueError, match=r'deep\.model: object\[0\].* nested deeper than 64'):
        load_pytorch_file(str(path))
    # a list appending itself: EMPTY_LIST BINPUT 0 BINGET 0 APPEND
    data = legacy_torch_files.legacy_file_bytes([], {}, object_tree=[])
    data = data.replace(b'\x80\x02]q\x00.', b'\x80\x02]q\x00h\x00a.', 1)
    path.write_bytes(data)
    with pytest.raises(ValueError, match='contains itself'):
        load_pytorch_file(str(path))
