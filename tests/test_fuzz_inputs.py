"""Fuzzing every file the project reads (issue 15): each seeded mutant is read or refused with a clear error.

"Clear error" (tests/fuzzing.py): an exception of the reader's documented classes whose message contains the mutated
file's path (the LMDB folder for data.mdb). Any other exception, a crash, a hang or a MemoryError fails the test.
Mutants that read are counted as unchanged or changed: none of these formats carries a checksum except zip (CRC-32),
so a flipped digit of a box or a flipped byte of a weight reads as a different, valid value. Run with -s to see the
counts per input type.
"""

import json
import os
import shutil

import numpy as np
import pytest

import configuration
from datasets.imdb import frame_key, load_imdb, make_imdb, save_imdb
from datasets.lmdb_store import LmdbStore, build_lmdb, crop_path
from tests import fuzzing
from tests.conftest import DASIAMRPN_REFERENCE_DIR
from tests.fixtures import legacy_torch_files
from utils.image_io import encode_jpeg
from utils.io_utils import write_json

SEED = 15
NANOTRACK_DIR = os.path.join(os.path.dirname(fuzzing.PROJECT_ROOT), 'shared', 'peers', 'nanotrack-v2')


def check(name, verdicts, count):
    """Prints the counts and fails on any verdict that is neither a read nor a clear refusal."""
    counts = fuzzing.summary(name, verdicts)
    bad = fuzzing.failures(verdicts)
    assert not bad, '%s: %d mutants were not read or clearly refused, e.g. %s' % (name, len(bad), bad[:3])
    assert len(verdicts) == count
    return counts


def smooth_image(shape, seed):
    """A smooth BGR uint8 image (JPEG-friendly)."""
    rng = np.random.RandomState(seed)
    small = rng.randint(0, 256, size=(4, 4, 3)).astype(np.float32)
    return np.clip(np.kron(small, np.ones((shape[0] // 4, shape[1] // 4, 1))), 0, 255).astype(np.uint8)


# ---- PyTorch .model files (subprocess: a native crash must fail the test, not pytest) ----

def test_fuzz_legacy_torch_model(tmp_path):
    tensors, storages = legacy_torch_files.shared_storage_example()
    original = tmp_path / 'dasiamrpn_0.4.model'
    original.write_bytes(legacy_torch_files.legacy_file_bytes(tensors, storages, '0.4'))
    verdicts = fuzzing.fuzz_in_subprocess('torch', str(original), str(tmp_path / 'mutant.model'), 300, SEED)
    counts = check('legacy .model (torch 0.4)', verdicts, 300)
    assert counts['refused'] > 200  # most bytes of a small file are pickle structure


def test_fuzz_zip_torch_model(tmp_path):
    verdicts = fuzzing.fuzz_in_subprocess('torch', os.path.join(DASIAMRPN_REFERENCE_DIR, 'tiny_zip.model'),
                                          str(tmp_path / 'mutant.model'), 300, SEED)
    check('zip .model (torch >= 1.6)', verdicts, 300)


# ---- JSON imdb ----

def test_fuzz_json_imdb(tmp_path):
    tracks = []
    for number, (source, video) in enumerate([('otb', 'Basketball'), ('ytbb', 'abc_1')]):
        keys = [frame_key(source, video, '0', index) for index in (1, 2, 4)]
        tracks.append({'source': source, 'video': video, 'track_id': '0', 'is_image': False, 'frame_keys': keys,
                       'frame_indices': [1, 2, 4], 'times': None if number == 0 else [0.0, 0.2, 0.6],
                       'boxes': [[200.5, 201.0, 110.25, 109.0 + number]] * 3})
    sources = {'otb': {'is_image_data': False, 'layout': 'otb', 'root': 'data/otb'},
               'ytbb': {'is_image_data': False, 'layout': 'ytbb', 'root': 'data/ytbb'}}
    path = str(tmp_path / 'train_imdb.json')
    save_imdb(path, make_imdb(tracks, sources, {'patch_size': 511, 'exemplar_size': 127, 'context_amount': 0.5}))
    verdicts = fuzzing.fuzz_in_process(path, path, lambda: load_imdb(path), (ValueError, OSError), 300, SEED)
    check('JSON imdb', verdicts, 300)


# ---- LMDB of crops (subprocess: LMDB maps the file and trusts it) ----

@pytest.fixture(scope='module')
def crop_lmdb(tmp_path_factory):
    """(LMDB folder, keys, one crop file) of four small JPEG crops."""
    root = tmp_path_factory.mktemp('fuzz_lmdb')
    keys = [frame_key('otb', 'Basketball', '0', index) for index in range(4)]
    for index, key in enumerate(keys):
        path = crop_path(str(root / 'curated'), key)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'wb') as stream:
            stream.write(encode_jpeg(smooth_image((48, 48), index)))
    build_lmdb(keys, str(root / 'curated'), str(root / 'lmdb'), progress=False)
    return str(root / 'lmdb'), keys, crop_path(str(root / 'curated'), keys[0])


def test_fuzz_lmdb_records(tmp_path, crop_lmdb):
    lmdb_path, keys, _ = crop_lmdb
    work = tmp_path / 'lmdb'
    work.mkdir()
    verdicts = fuzzing.fuzz_in_subprocess('lmdb', os.path.join(lmdb_path, 'data.mdb'), str(work / 'data.mdb'), 300,
                                          SEED, timeout=120, keys=keys, named_path=str(work))
    check('LMDB data.mdb', verdicts, 300)


def test_lmdb_cut_at_a_page_boundary_is_refused(tmp_path, crop_lmdb):
    """A whole-page truncation passes the page-multiple check; the meta page's last page number catches it."""
    lmdb_path = crop_lmdb[0]
    shutil.copytree(lmdb_path, str(tmp_path / 'cut'))
    data_file = str(tmp_path / 'cut' / 'data.mdb')
    with open(data_file, 'r+b') as stream:
        stream.truncate(os.path.getsize(data_file) - 4096)
    with pytest.raises(ValueError, match=r'cannot open LMDB .*cut/data\.mdb: it is truncated, .* its meta page says'):
        LmdbStore(str(tmp_path / 'cut'))


# ---- JPEG crops and frames (subprocess: native decoding) ----

def test_fuzz_jpeg_crop(tmp_path, crop_lmdb):
    verdicts = fuzzing.fuzz_in_subprocess('image', crop_lmdb[2], str(tmp_path / 'crop.jpg'), 300, SEED)
    check('JPEG crop', verdicts, 300)


def test_fuzz_jpeg_frame(tmp_path):
    frame = tmp_path / 'original_0001.jpg'
    frame.write_bytes(encode_jpeg(smooth_image((72, 96), 7), quality=85))
    verdicts = fuzzing.fuzz_in_subprocess('image', str(frame), str(tmp_path / '0001.jpg'), 300, SEED)
    check('JPEG frame', verdicts, 300)


# ---- OTB groundtruth_rect.txt ----

def test_fuzz_otb_groundtruth(tmp_path):
    from datasets.benchmark_sequences import load_otb_folder
    folder = tmp_path / 'Fuzzed'
    (folder / 'img').mkdir(parents=True)
    for number in range(1, 9):
        (folder / 'img' / ('%04d.jpg' % number)).write_bytes(b'')  # listed, never decoded
    rows = ['%d,%d,%d,%d' % (10 + i, 20 + 2 * i, 31, 42 - i) for i in range(8)]
    path = str(folder / 'groundtruth_rect.txt')
    with open(path, 'w') as stream:
        stream.write('\n'.join(rows) + '\n')

    def read():
        return [(sequence.name, sequence.gt_boxes, sequence.img_files) for sequence in load_otb_folder(str(folder))]
    verdicts = fuzzing.fuzz_in_process(path, path, read, (ValueError, OSError), 300, SEED)
    check('OTB groundtruth_rect.txt', verdicts, 300)


# ---- model_config.json / train_config.json next to a checkpoint ----

@pytest.mark.parametrize('filename', ['model_config.json', 'train_config.json'])
def test_fuzz_checkpoint_configs(tmp_path, filename):
    from utils.checkpoints import read_configs
    write_json(str(tmp_path / 'model_config.json'), configuration.MODEL_CONFIG)
    write_json(str(tmp_path / 'train_config.json'), configuration.TRAIN_CONFIG)
    path = str(tmp_path / filename)
    verdicts = fuzzing.fuzz_in_process(path, path, lambda: json.dumps(read_configs(str(tmp_path)), sort_keys=True),
                                       (ValueError, OSError), 150, SEED)
    check(filename, verdicts, 150)


# ---- NanoTrack ONNX pair given on the command line (subprocess: OpenCV's ONNX importer) ----
# The batch loads each mutant in-process (probe=False, fast); a mutant that crashes OpenCV there is read again through
# NanoTracker's default path, whose child-process probe must refuse it with an error naming the files.

@pytest.mark.parametrize('mutated', ['backbone', 'head'])
def test_fuzz_nanotrack_onnx(tmp_path, mutated):
    pair = {'backbone': os.path.join(NANOTRACK_DIR, 'nanotrack_backbone_sim.onnx'),
            'head': os.path.join(NANOTRACK_DIR, 'nanotrack_head_sim.onnx')}
    if not all(os.path.isfile(path) for path in pair.values()):
        pytest.skip('shared NanoTrack ONNX files are absent (%s)' % NANOTRACK_DIR)
    verdicts = fuzzing.fuzz_in_subprocess('nanotrack', pair[mutated], str(tmp_path / ('%s.onnx' % mutated)), 150,
                                          SEED, timeout=200, recheck={'probe': True}, pair=pair, mutated=mutated)
    check('NanoTrack %s ONNX' % mutated, verdicts, 150)
