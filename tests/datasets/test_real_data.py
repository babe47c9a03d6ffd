"""Tests of the combined build (datasets/real_data.py): several datasets -> one imdb pair + one LMDB -> reader."""

import copy
import os

import numpy as np
import pytest

import configuration
from datasets.dataloader import DataLoader
from datasets.imdb import load_imdb
from datasets.layout_samples import write_benchmark_dataset, write_imagenet_vid
from datasets.lmdb_store import read_build_info
from datasets.real_data import (build_real_dataset, format_build_summary, make_sources, real_data_paths,
                                use_real_data)
from datasets.sampler import PairSampler
from utils.io_utils import read_json

CURATION = configuration.TRAIN_CONFIG['curation_config']
SIZE = (96, 80)


@pytest.fixture(scope='module')
def raw(tmp_path_factory):
    """Small clean datasets: VID 4 snippets (+ one with an empty XML), DET 6 images, LaSOT 1 sequence."""
    root = tmp_path_factory.mktemp('raw')
    write_benchmark_dataset('imagenet_vid', str(root / 'ILSVRC2015'), 4, 3, SIZE, seed=1)
    write_imagenet_vid(str(root / 'ILSVRC2015'), 'val', 'ILSVRC2015_val_00000000',
                       [[{'trackid': 0, 'box': [20, 20, 16, 16]}]] * 3, SIZE, np.random.RandomState(2),
                       defects={1: 'empty_xml'})
    write_benchmark_dataset('imagenet_det', str(root / 'ILSVRC2015'), 2, 3, SIZE, seed=3)
    write_benchmark_dataset('lasot', str(root / 'LaSOT'), 1, 4, SIZE, seed=4)
    return root


def real_config(raw, output_dir, **changes):
    config = copy.deepcopy(configuration.DATA_CONFIG)
    config['output_dir'] = str(output_dir)
    for name in ('det2014', 'vid2015'):
        config['sources'][name]['root'] = str(raw / 'ILSVRC2015')
    config['sources']['lasot']['root'] = str(raw / 'LaSOT')
    config['datasets'] = ['det2014', 'vid2015', 'lasot']
    config['validation_ratio'] = 0.25
    config.update(changes)
    return config


def test_sources_are_made_from_the_config_with_clear_errors(raw, tmp_path):
    config = real_config(raw, tmp_path)
    sources = make_sources(config)
    assert [s.name for s in sources] == ['det2014', 'vid2015', 'lasot'] and sources[0].is_image_data
    with pytest.raises(ValueError, match="unknown dataset 'coco'"):
        make_sources(config, ['coco'])
    with pytest.raises(ValueError, match='dataset got10k: GOT-10k root folder not found'):
        make_sources(config, ['got10k'])
    broken = copy.deepcopy(config)
    broken['sources']['lasot']['options'] = {'subset': 'train'}
    with pytest.raises(ValueError, match=r"sources.lasot.options \{'subset': 'train'\} do not fit the lasot parser"):
        make_sources(broken, ['lasot'])
    broken['sources']['lasot'] = {'layout': 'lasot', 'root': 'x', 'options': {}, 'weight': -1, 'max_frame_dist': None}
    with pytest.raises(ValueError, match='sources.lasot.weight must be a number >= 0'):
        make_sources(broken, ['lasot'])
    broken['sources']['lasot'] = {'layout': 'vot', 'root': 'x'}
    with pytest.raises(ValueError, match=r"sources.lasot: missing keys \['options', 'weight', 'max_frame_dist'\]"):
        make_sources(broken, ['lasot'])
    with pytest.raises(ValueError, match='selected twice'):
        make_sources(config, ['lasot', 'lasot'])


def test_build_splits_every_source_feeds_the_reader_and_resumes(raw, tmp_path):
    config = real_config(raw, tmp_path / 'real')
    paths = build_real_dataset(config, CURATION, processes=2, progress=False, log=None)
    train, validation = load_imdb(paths['train_imdb']), load_imdb(paths['validation_imdb'])
    curation = {s['source']: s for s in paths['summary']['curation']}
    assert curation['vid2015']['skipped'] == {'empty_xml': 1} and curation['vid2015']['tracks'] == 5
    assert curation['det2014']['tracks'] == 6 and curation['lasot']['frames_kept'] == 4
    # Each source is split by video on its own: the one-video LaSOT stays in train, the others are in both.
    assert set(train['sources']) == {'det2014', 'vid2015', 'lasot'} and set(validation['sources']) == {
        'det2014', 'vid2015'}
    assert validation['sources']['vid2015']['num_videos'] == 1 and validation['sources']['det2014']['num_videos'] == 2
    assert train['num_frames'] + validation['num_frames'] == 14 + 6 + 4
    videos = lambda imdb: {(t['source'], t['video']) for t in imdb['tracks']}  # noqa: E731
    assert not videos(train) & videos(validation)
    info = read_build_info(paths['lmdb_path'])
    assert info['complete'] and info['keys_expected'] == 24
    data_config = read_json(paths['data_config_json'])
    assert data_config == paths['data_config']
    assert data_config['train_data_config']['source_weights'] == {'det2014': 1.0, 'vid2015': 1.0, 'lasot': 0.25}
    assert data_config['validation_data_config']['source_weights'] == {'det2014': 1.0, 'vid2015': 1.0}
    train_config = use_real_data(configuration.TRAIN_CONFIG, paths)
    assert configuration.TRAIN_CONFIG['train_data_config']['input_imdb'] is None  # a copy
    rng = np.random.RandomState(0)
    for key in ('train_data_config', 'validation_data_config'):
        reader_config = train_config[key]
        assert reader_config['lmdb_path'] == paths['lmdb_path']
        PairSampler(load_imdb(reader_config['input_imdb']), reader_config)
        loader = DataLoader(reader_config, train_config['augmentation_config'], is_training=key.startswith('train'))
        example = loader.produce_example(rng)
        assert example[0].shape == (127, 127, 3) and example[1].shape == (255, 255, 3)
        loader.close()
    text = format_build_summary(paths)
    assert 'vid2015' in text and 'empty_xml 1' in text and 'disk usage: curated crops' in text
    assert 'LMDB bytes per curated frame' in text
    summary = read_json(paths['summary_json'])
    assert summary['disk_usage_bytes']['lmdb'] > 0 and 'records' not in summary['curation'][0]

    again = build_real_dataset(config, CURATION, processes=1, progress=False, log=None)
    assert [s['videos']['existing'] for s in again['summary']['curation']] == [6, 5, 1]
    assert again['summary']['lmdb']['written'] == 0
    assert load_imdb(again['train_imdb']) == train


def test_partial_builds_and_no_validation(raw, tmp_path):
    config = real_config(raw, tmp_path / 'partial', validation_ratio=0.0)
    paths = build_real_dataset(config, CURATION, names=['vid2015'], processes=1, max_videos=2, progress=False,
                               log=None)
    assert paths['validation_imdb'] is None and not os.path.exists(real_data_paths(config)['validation_imdb'])
    assert load_imdb(paths['train_imdb'])['num_videos'] == 2
    assert paths['data_config']['validation_data_config']['input_imdb'] is None
    assert 'validation imdb: none' in format_build_summary(paths)
    empty = real_config(raw, tmp_path / 'empty')
    empty['sources']['lasot']['options'] = {'split': 'test'}  # no LaSOT test sequence in the fixture
    with pytest.raises(RuntimeError, match='no track was curated'):
        build_real_dataset(empty, CURATION, names=['lasot'], processes=1, progress=False, log=None)
