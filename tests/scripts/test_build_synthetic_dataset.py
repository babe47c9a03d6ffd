"""Tests of scripts/build_synthetic_dataset.py."""

import pytest

from datasets.imdb import load_imdb
from datasets.lmdb_store import read_build_info
from scripts import build_synthetic_dataset


def test_help():
    with pytest.raises(SystemExit) as exit_:
        build_synthetic_dataset.main(['--help'])
    assert exit_.value.code == 0


def test_builds_everything_and_reruns_cheaply(tmp_path, capsys):
    root = str(tmp_path / 'synthetic')
    args = ['--root-dir', root, '--num-train-videos', '3', '--num-test-videos', '1', '--processes', '2',
            '--num-frames', '6', '8', '--frame-width', '160', '200', '--validation-ratio', '0.34']
    assert build_synthetic_dataset.main(args) == 0
    out = capsys.readouterr().out
    assert 'synthetic dataset ready' in out and root in out
    assert load_imdb(root + '/train_imdb.json')['num_videos'] == 2
    assert load_imdb(root + '/validation_imdb.json')['num_videos'] == 1
    assert read_build_info(root + '/lmdb')['complete']
    assert build_synthetic_dataset.main(args) == 0
    assert '0 generated now' in capsys.readouterr().out
    assert build_synthetic_dataset.main(args + ['--test-seed', '1']) == 2  # equal to the train seed
    assert 'must differ' in capsys.readouterr().err
