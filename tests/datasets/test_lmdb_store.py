"""Tests of the crop LMDB: round trip, resume after interruption, growing map, verification, read-side errors."""

import os

import lmdb
import numpy as np
import pytest

import datasets.lmdb_store
from datasets.lmdb_store import LmdbStore, build_lmdb, crop_path, read_build_info, verify_lmdb
from utils.image_io import encode_jpeg


@pytest.fixture
def crops(tmp_path):
    """A curated folder with 40 random JPEG crops -> (folder, keys)."""
    rng = np.random.RandomState(0)
    folder = str(tmp_path / 'curated')
    keys = ['src/video%d/0/%06d' % (v, i) for v in range(4) for i in range(1, 11)]
    for key in keys:
        path = crop_path(folder, key)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'wb') as stream:
            stream.write(encode_jpeg(rng.randint(0, 255, (64, 64, 3)).astype(np.uint8)))
    return folder, keys


def contents(path):
    """{key: bytes} of a whole LMDB."""
    with lmdb.open(path, readonly=True, lock=False) as env, env.begin() as txn:
        return {k.decode(): bytes(v) for k, v in txn.cursor()}


def test_round_trip(crops, tmp_path):
    folder, keys = crops
    path = str(tmp_path / 'lmdb')
    summary = build_lmdb(keys, folder, path, progress=False)
    assert (summary['written'], summary['existing'], summary['bad']) == (40, 0, {})
    store = LmdbStore(path)
    for key in keys:
        with open(crop_path(folder, key), 'rb') as stream:
            assert store.get(key) == stream.read()
    assert store.get('src/absent/0/000001') is None and len(store) == 40
    store.close()
    info = read_build_info(path)
    assert info['complete'] and info['keys_present'] == 40 and info['entries'] == 40


def test_resume_after_interruption_gives_the_same_lmdb(crops, tmp_path, monkeypatch):
    folder, keys = crops
    reference = str(tmp_path / 'reference')
    build_lmdb(keys, folder, reference, commit_every=8, progress=False)

    resumed = str(tmp_path / 'resumed')
    real_commit = datasets.lmdb_store._commit
    commits = []

    def killed_commit(env, batch):
        commits.append(len(batch))
        if len(commits) == 3:
            raise KeyboardInterrupt('killed')  # the process dies between two commits
        real_commit(env, batch)

    monkeypatch.setattr(datasets.lmdb_store, '_commit', killed_commit)
    with pytest.raises(KeyboardInterrupt):
        build_lmdb(keys, folder, resumed, commit_every=8, progress=False)
    partial = contents(resumed)
    assert len(partial) == 16  # the two committed batches survive
    assert read_build_info(resumed) is None  # never verified
    monkeypatch.setattr(datasets.lmdb_store, '_commit', real_commit)
    summary = build_lmdb(keys, folder, resumed, commit_every=8, progress=False)
    assert summary['existing'] == len(partial) and summary['written'] == 40 - len(partial)
    assert contents(resumed) == contents(reference)
    assert read_build_info(resumed)['complete']


def test_map_grows_when_full(crops, tmp_path):
    folder, keys = crops
    path = str(tmp_path / 'lmdb')
    summary = build_lmdb(keys, folder, path, initial_map_size=64 << 10, commit_every=4, progress=False)
    assert summary['map_size'] > 64 << 10
    assert summary['verification']['present'] == 40


def test_missing_and_corrupt_crops_are_reported(crops, tmp_path):
    folder, keys = crops
    os.remove(crop_path(folder, keys[3]))
    with open(crop_path(folder, keys[5]), 'r+b') as stream:
        data = stream.read()
        stream.seek(0)
        stream.truncate()
        stream.write(data[:len(data) // 2])
    path = str(tmp_path / 'lmdb')
    summary = build_lmdb(keys, folder, path, progress=False)
    assert sorted(summary['bad']) == [keys[3], keys[5]]
    assert 'truncated' in summary['bad'][keys[5]]
    check = summary['verification']
    assert (check['present'], check['num_missing']) == (38, 2)
    assert not read_build_info(path)['complete']


def test_verification_finds_corrupt_records(crops, tmp_path):
    folder, keys = crops
    path = str(tmp_path / 'lmdb')
    build_lmdb(keys, folder, path, progress=False)
    with lmdb.open(path) as env, env.begin(write=True) as txn:
        txn.put(keys[0].encode(), b'garbage')
    check = verify_lmdb(keys, path, progress=False)
    assert check['num_corrupt'] == 1 and keys[0] in check['corrupt']


def test_read_side_errors_are_clear(tmp_path):
    with pytest.raises(FileNotFoundError, match='LMDB not found: .*nowhere'):
        LmdbStore(str(tmp_path / 'nowhere'))
    broken = tmp_path / 'broken'
    broken.mkdir()
    (broken / 'data.mdb').write_bytes(b'\0garbage' * 100)
    with pytest.raises(ValueError, match='cannot open LMDB .*broken'):
        LmdbStore(str(broken))
