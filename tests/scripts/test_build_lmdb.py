"""Tests of scripts/build_lmdb.py."""

import pytest

from datasets.imdb import load_imdb
from scripts import build_lmdb


def test_help():
    with pytest.raises(SystemExit) as exit_:
        build_lmdb.main(['--help'])
    assert exit_.value.code == 0


def test_builds_verifies_and_reports_missing_keys(keyed_dataset, tmp_path, capsys):
    imdbs = [keyed_dataset['train_imdb'], keyed_dataset['validation_imdb']]
    path = str(tmp_path / 'lmdb')
    assert build_lmdb.main(['--imdb'] + imdbs + ['--curated-dir', keyed_dataset['curated_dir'], '--lmdb-path', path,
                                                 '--initial-map-size-mb', '1']) == 0
    total = sum(load_imdb(p)['num_frames'] for p in imdbs)
    assert 'verification: %d/%d keys present, 0 missing' % (total, total) in capsys.readouterr().out
    assert build_lmdb.main(['--imdb'] + imdbs + ['--lmdb-path', path, '--verify-only']) == 0
    only_train = str(tmp_path / 'train_only')
    assert build_lmdb.main(['--imdb', imdbs[0], '--curated-dir', keyed_dataset['curated_dir'],
                            '--lmdb-path', only_train]) == 0
    assert build_lmdb.main(['--imdb'] + imdbs + ['--lmdb-path', only_train, '--verify-only']) == 1
    assert 'missing' in capsys.readouterr().out
    assert build_lmdb.main(['--imdb', str(tmp_path / 'none.json'), '--lmdb-path', path]) == 2
