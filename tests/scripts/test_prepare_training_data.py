"""Tests of scripts/prepare_training_data.py: the combined build of all five datasets from their original layouts."""

import os
import re

import numpy as np
import pytest

from datasets.imdb import load_imdb
from datasets.layout_samples import write_benchmark_dataset, write_got10k
from datasets.lmdb_store import read_build_info
from scripts import prepare_training_data
from utils.io_utils import read_json

SIZE = (96, 80)
ROOTS = {'det2014': 'ILSVRC2015', 'vid2015': 'ILSVRC2015', 'got10k': 'GOT-10k', 'lasot': 'LaSOT',
         'youtube_bb': 'youtube-bb'}


@pytest.fixture(scope='module')
def raw(tmp_path_factory):
    root = tmp_path_factory.mktemp('downloads')
    for number, (layout, folder) in enumerate((('imagenet_det', 'ILSVRC2015'), ('imagenet_vid', 'ILSVRC2015'),
                                               ('got10k', 'GOT-10k'), ('lasot', 'LaSOT'),
                                               ('youtube_bb', 'youtube-bb'))):
        write_benchmark_dataset(layout, str(root / folder), 3, 3, SIZE, seed=number)
    write_got10k(str(root / 'GOT-10k'), 'train', 'GOT-10k_Train_000009', [[10, 10, 20, 20]] * 3, SIZE,
                 np.random.RandomState(9), absence=[0, 1, 0], image_defects={2: 'corrupt_jpeg'})
    return root


def arguments(raw, output_dir, *extra):
    args = ['--datasets'] + sorted(ROOTS) + ['--output-dir', str(output_dir), '--no-progress']
    for name, folder in sorted(ROOTS.items()):
        args += ['--root', '%s=%s' % (name, raw / folder)]
    return args + list(extra)


def test_help_and_list(capsys):
    with pytest.raises(SystemExit) as exit_:
        prepare_training_data.main(['--help'])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    assert '--datasets' in text and '--max-videos' in text and 'README.md' in text
    assert prepare_training_data.main(['--list', '--root', 'lasot=/data/LaSOT', '--weight', 'lasot=0.5']) == 0
    listing = capsys.readouterr().out
    assert 'lasot       layout lasot        root /data/LaSOT' in listing and 'weight 0.5' in listing
    assert 'youtube_bb' in listing and 'max_frame_dist 90' in listing


def test_combined_build_of_all_datasets_then_resume(raw, tmp_path, capsys):
    output = tmp_path / 'real'
    args = arguments(raw, output, '--processes', '2', '--validation-ratio', '0.34', '--option',
                     'got10k.min_cover=0', '--weight', 'youtube_bb=2')
    assert prepare_training_data.main(args) == 0
    out = capsys.readouterr().out
    for name in ROOTS:
        assert name in out
    assert re.search(r'\ngot10k +4 +0 +4 +10 +12  absent 1, unreadable_image 1\n', out)  # videos .. skips
    assert 'disk usage: curated crops' in out and 'reader settings' in out
    train, validation = load_imdb(str(output / 'train_imdb.json')), load_imdb(str(output / 'validation_imdb.json'))
    assert set(train['sources']) == set(ROOTS) == set(validation['sources'])
    assert train['num_frames'] + validation['num_frames'] == 9 * 5 + 1
    assert read_build_info(str(output / 'lmdb'))['complete']
    settings = read_json(str(output / 'data_config.json'))['train_data_config']
    assert settings['source_weights']['youtube_bb'] == 2 and settings['source_max_frame_dist'] == {'youtube_bb': 90}
    assert settings['input_imdb'] == str(output / 'train_imdb.json')
    summary = read_json(str(output / 'summary.json'))
    got = [s for s in summary['curation'] if s['source'] == 'got10k'][0]
    assert got['description']['min_cover'] == 0 and any('00000003.jpg' in m for m in got['unreadable_images'])

    assert prepare_training_data.main(args) == 0  # resumed: nothing left to do
    out = capsys.readouterr().out
    assert out.count('(0 curated now') == 5 and '0 written now' in out


def test_partial_build_and_errors(raw, tmp_path, capsys):
    output = tmp_path / 'partial'
    assert prepare_training_data.main(arguments(raw, output, '--max-videos', '1', '--processes', '1')) == 0
    assert 'source det2014: 1 videos (1 curated now' in capsys.readouterr().out
    assert prepare_training_data.main(arguments(raw, output, '--option', 'got10k.min_cover=42')) == 2
    assert 'min_cover must be a cover.label level in 0..8' in capsys.readouterr().err
    assert prepare_training_data.main(['--datasets', 'coco', '--output-dir', str(output)]) == 2
    assert "unknown dataset 'coco'" in capsys.readouterr().err
    for bad in (['--root', 'lasot'], ['--root', 'coco=/x'], ['--option', 'lasot=1'], ['--max-videos', '0']):
        with pytest.raises(SystemExit):
            prepare_training_data.main(bad)
    assert not os.path.exists(str(tmp_path / 'never'))
