"""Tests of scripts/generate_synthetic_dataset.py."""

import os

import pytest

from scripts import generate_synthetic_dataset
from utils.io_utils import read_json


def test_help(capsys):
    with pytest.raises(SystemExit) as exit_:
        generate_synthetic_dataset.main(['--help'])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    assert '--num-distractors MIN MAX' in text and 'per-frame probability that a partial occlusion starts' in text


def test_generates_a_split_with_overrides_and_refuses_changes(tmp_path, capsys):
    folder = str(tmp_path / 'test')
    args = ['--split', 'test', '--output-dir', folder, '--num-videos', '2', '--seed', '9', '--processes', '1',
            '--num-frames', '5', '6', '--frame-width', '160', '200', '--num-distractors', '2', '2',
            '--occlusion-rate', '0.5']
    assert generate_synthetic_dataset.main(args) == 0
    assert sorted(os.listdir(folder)) == ['synthetic.json', 'test_0001', 'test_0002']
    manifest = read_json(os.path.join(folder, 'synthetic.json'))
    assert manifest['seed'] == 9 and manifest['generator_config']['num_distractors'] == [2, 2]
    assert manifest['generator_config']['occlusion_rate'] == 0.5
    assert '2 videos (2 generated now' in capsys.readouterr().out
    assert generate_synthetic_dataset.main(args[:-1] + ['0.1']) == 2
    assert 'other parameters' in capsys.readouterr().err
