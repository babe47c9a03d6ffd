"""Tests of the torch-free PyTorch state-dict reader: both formats, and hostile pickles that must never run."""

import collections
import os
import pickle
import zipfile

import numpy as np
import pytest

from tests.conftest import DASIAMRPN_REFERENCE_DIR
from utils.torch_state_dict import (MAGIC_NUMBER, UnsafePickleError, as_state_dict, load_pytorch_file,
                                    load_state_dict)

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
