"""Tests of the synthetic dataset: determinism, boxes vs target pixels, OTB layout on disk, resume, end-to-end build."""

import copy
import os
import shutil

import cv2
import numpy as np
import pytest

import configuration
from datasets.imdb import load_imdb
from datasets.lmdb_store import read_build_info
from datasets.synthetic import (build_synthetic_dataset, generate_split, render_video, synthetic_paths,
                                use_synthetic_data, video_name)
from tests.datasets.data_helpers import (assert_inside, key_pixels, keyed_generator_config, pixel_box,
                                         small_generator_config, synthetic_config)
from utils.box_io import read_otb_boxes
from utils.box_utils import iou_xywh

CURATION = configuration.TRAIN_CONFIG['curation_config']


def tree_bytes(folder):
    """{relative path: bytes} of every file under `folder`."""
    files = {}
    for parent, _, names in os.walk(folder):
        for name in names:
            path = os.path.join(parent, name)
            with open(path, 'rb') as stream:
                files[os.path.relpath(path, folder)] = stream.read()
    return files


def test_render_is_deterministic_and_seeds_differ():
    config = small_generator_config()
    first, again = render_video(7, 3, config), render_video(7, 3, config)
    assert len(first['frames']) == len(again['frames'])
    assert all(np.array_equal(a, b) for a, b in zip(first['frames'], again['frames']))
    np.testing.assert_array_equal(first['boxes'], again['boxes'])
    other = render_video(8, 3, config)
    assert first['frame_size'] != other['frame_size'] or not np.array_equal(first['frames'][0], other['frames'][0])


@pytest.mark.parametrize('index', [0, 1, 2])
def test_boxes_are_the_tight_boxes_of_the_target_pixels(index):
    rendered = render_video(11, index, small_generator_config(num_frames=[30, 30]), with_masks=True)
    width, height = rendered['frame_size']
    boxes = rendered['boxes']
    assert boxes.shape == (30, 4) and np.all(boxes[:, 2:] > 0)
    for mask, box in zip(rendered['masks'], boxes):
        assert mask.shape == (height, width)
        np.testing.assert_array_equal(pixel_box(mask), box)  # encloses every target pixel and touches all sides
    # The target moves and changes size: a box that stays put does not track it.
    centres = boxes[:, :2] + boxes[:, 2:] / 2
    assert np.linalg.norm(centres[-1] - centres[0]) > 0 or np.ptp(boxes[:, 2]) > 0


def test_scale_and_aspect_stay_in_their_ranges():
    config = small_generator_config(num_frames=[200, 200], scale_speed=0.05)
    rendered = render_video(5, 0, config)
    boxes = rendered['boxes']
    sizes = np.sqrt(boxes[:, 2] * boxes[:, 3])
    # Tight pixel boxes of a polygon may differ from the nominal size by a pixel or two.
    assert sizes.max() / sizes[0] <= 1.6 / 0.6 * 1.1
    assert sizes.max() / sizes.min() > 1.2  # the scale does change


def test_generate_split_writes_deterministic_otb_layout_with_enclosing_boxes(tmp_path):
    config = keyed_generator_config()
    summary = generate_split(str(tmp_path / 'a'), 'test', 3, 5, config, processes=2, progress=False)
    generate_split(str(tmp_path / 'b'), 'test', 3, 5, config, processes=1, progress=False)
    assert summary['generated'] == 3 and summary['videos'] == 3
    files_a, files_b = tree_bytes(str(tmp_path / 'a')), tree_bytes(str(tmp_path / 'b'))
    assert files_a == files_b  # identical bytes whatever the process count
    for index in range(3):
        folder = tmp_path / 'a' / video_name('test', index)
        images = sorted(os.listdir(str(folder / 'img')))
        assert images[0] == '0001.jpg'
        boxes = read_otb_boxes(str(folder / 'groundtruth_rect.txt'))  # 1-based file -> 0-based boxes
        assert len(boxes) == len(images)
        np.testing.assert_allclose(boxes, render_video(5, index, config)['boxes'])
        for name, box in zip(images, boxes):
            frame = cv2.imread(str(folder / 'img' / name))
            target = key_pixels(frame)
            assert target.any()
            assert_inside(target, box, 1.0, '%s/%s' % (folder.name, name))
            # Tight, not just enclosing (thin anti-aliased tips, e.g. of stars, are not key-coloured).
            assert iou_xywh(pixel_box(target), box) > 0.6


def test_generate_split_resumes_and_refuses_other_settings(tmp_path):
    config = small_generator_config()
    folder = str(tmp_path / 'train')
    generate_split(folder, 'train', 3, 1, config, processes=1, progress=False)
    before = tree_bytes(folder)
    shutil.rmtree(os.path.join(folder, video_name('train', 1)))
    os.makedirs(os.path.join(folder, '.partial-' + video_name('train', 2), 'img'))  # debris of a killed run
    summary = generate_split(folder, 'train', 3, 1, config, processes=1, progress=False)
    assert (summary['generated'], summary['existing']) == (1, 2)
    assert tree_bytes(folder) == before
    with pytest.raises(ValueError, match='other parameters'):
        generate_split(folder, 'train', 3, 2, config, processes=1, progress=False)
    with pytest.raises(ValueError, match='not one of its 2 videos'):
        generate_split(folder, 'train', 2, 1, config, processes=1, progress=False)


def test_build_synthetic_dataset_end_to_end_and_idempotent(keyed_dataset):
    paths = keyed_dataset
    train, validation = load_imdb(paths['train_imdb']), load_imdb(paths['validation_imdb'])
    assert train['num_videos'] == 4 and validation['num_videos'] == 1  # 5 videos, validation ratio 0.2
    assert not {t['video'] for t in train['tracks']} & {t['video'] for t in validation['tracks']}
    assert all(t['source'] == 'synthetic' and not t['is_image'] for t in train['tracks'])
    info = read_build_info(paths['lmdb_path'])
    assert info['complete'] and info['keys_expected'] == train['num_frames'] + validation['num_frames']
    assert sorted(os.listdir(paths['test_dir'])) == ['synthetic.json', video_name('test', 0)]

    config = synthetic_config(paths['root_dir'], keyed_generator_config())
    again = build_synthetic_dataset(config, CURATION, processes=1, progress=False, log=None)
    summary = again['summary']
    assert summary['generate_train']['generated'] == 0 and summary['curate']['videos']['curated'] == 0
    assert summary['lmdb']['written'] == 0

    train_config = use_synthetic_data(configuration.TRAIN_CONFIG, synthetic_paths(config))
    assert train_config['train_data_config']['input_imdb'] == paths['train_imdb']
    assert train_config['validation_data_config']['lmdb_path'] == paths['lmdb_path']
    assert configuration.TRAIN_CONFIG['train_data_config']['input_imdb'] is None  # the defaults are untouched


def test_train_and_test_seeds_must_differ(tmp_path):
    config = synthetic_config(tmp_path, small_generator_config())
    config['test_seed'] = config['train_seed']
    with pytest.raises(ValueError, match='must differ'):
        build_synthetic_dataset(config, CURATION, progress=False, log=None)


def test_default_config_is_self_consistent():
    config = copy.deepcopy(configuration.TRAIN_CONFIG['synthetic_data_config'])
    assert config['train_seed'] != config['test_seed']
    assert config['generator_config']['scale_range'] == [0.6, 1.6]
    assert config['generator_config']['num_distractors'] == [1, 3]
    paths = synthetic_paths(config)
    assert paths['test_dir'] == os.path.join('data', 'synthetic', 'raw', 'test')
