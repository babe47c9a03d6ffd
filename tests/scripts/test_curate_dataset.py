"""Tests of scripts/curate_dataset.py."""

import os

import pytest

import configuration
from datasets.imdb import load_imdb
from datasets.synthetic import generate_split
from scripts import curate_dataset
from tests.datasets.data_helpers import small_generator_config
from utils.io_utils import write_json


def test_help(capsys):
    with pytest.raises(SystemExit) as exit_:
        curate_dataset.main(['--help'])
    assert exit_.value.code == 0
    assert 'LAYOUT ROOT [NAME]' in capsys.readouterr().out


@pytest.fixture(scope='module')
def raw(tmp_path_factory):
    folder = str(tmp_path_factory.mktemp('raw'))
    generate_split(os.path.join(folder, 'a'), 'train', 3, 1, small_generator_config(num_frames=[5, 6]),
                   processes=1, progress=False)
    generate_split(os.path.join(folder, 'b'), 'train', 2, 2, small_generator_config(num_frames=[5, 6]),
                   processes=1, progress=False)
    return folder


def test_curates_two_sources_into_split_imdbs(raw, tmp_path, capsys):
    train, validation = str(tmp_path / 'train.json'), str(tmp_path / 'val.json')
    args = ['--source', 'otb', os.path.join(raw, 'a'), 'first', '--source', 'otb', os.path.join(raw, 'b'), 'second',
            '--output-dir', str(tmp_path / 'curated'), '--imdb', train, '--validation-imdb', validation,
            '--validation-ratio', '0.2', '--processes', '2']
    assert curate_dataset.main(args) == 0
    train_imdb, validation_imdb = load_imdb(train), load_imdb(validation)
    assert train_imdb['num_videos'] + validation_imdb['num_videos'] == 5 and validation_imdb['num_videos'] == 1
    assert set(train_imdb['sources']) | set(validation_imdb['sources']) == {'first', 'second'}
    out = capsys.readouterr().out
    assert 'source first: 3 videos (3 curated now' in out and 'source second: 2 videos' in out
    assert curate_dataset.main(args) == 0  # resumed: nothing to do
    assert '0 curated now, 3 already done' in capsys.readouterr().out


def test_options_reach_the_curation(raw, tmp_path):
    imdb_path = str(tmp_path / 'imdb.json')
    ranges = str(tmp_path / 'ranges.json')
    write_json(ranges, {'train_0001': [2, 4]})
    args = ['--source', 'otb', os.path.join(raw, 'a'), '--output-dir', str(tmp_path / 'curated'), '--imdb', imdb_path,
            '--max-videos', '1', '--patch-size', '255', '--frame-ranges', ranges, '--processes', '1']
    # A sub-range of 3 images for 5-6 ground-truth rows: the video fails, and with it the whole (single-video) run.
    assert curate_dataset.main(args) == 1
    assert curate_dataset.main(args[:-4] + ['--processes', '1']) == 0
    imdb = load_imdb(imdb_path)
    assert imdb['num_videos'] == 1 and imdb['patch_size'] == 255 and imdb['sources']['otb']['layout'] == 'otb'
    assert configuration.TRAIN_CONFIG['curation_config']['patch_size'] == 511


def test_source_arguments_are_checked(tmp_path):
    with pytest.raises(SystemExit):
        curate_dataset.main(['--source', 'otb', '--output-dir', 'x', '--imdb', 'y'])
    with pytest.raises(SystemExit):
        curate_dataset.main(['--source', 'vot', str(tmp_path), '--output-dir', 'x', '--imdb', 'y'])
