"""Tests of the OTB-layout parser: frame numbering, several targets, sub-ranges, mismatches, registry."""

import os

import numpy as np
import pytest

from datasets.sources import SOURCES, make_source
from datasets.sources.otb import OTBSource
from utils.box_io import write_otb_boxes


def make_sequence(root, name, numbers, gt_files, digits=4, extension='.jpg'):
    os.makedirs(os.path.join(root, name, 'img'))
    for number in numbers:
        open(os.path.join(root, name, 'img', '%0*d%s' % (digits, number, extension)), 'wb').close()
    for suffix, boxes in gt_files.items():
        write_otb_boxes(os.path.join(root, name, 'groundtruth_rect%s.txt' % suffix), boxes)


def test_frames_boxes_and_numbering(tmp_path):
    root = str(tmp_path)
    make_sequence(root, 'Group', range(303, 306), {}, 6)
    with open(os.path.join(root, 'Group', 'groundtruth_rect.txt'), 'w') as stream:
        stream.write('10,20,30,40\nNaN,NaN,NaN,NaN\n11\t21\t30\t40\n')  # 1-based; commas or tabs
    make_sequence(root, 'Jogging', range(1, 3), {'.1': [[1, 1, 5, 5]] * 2, '.2': [[9, 9, 5, 5]] * 2})
    os.makedirs(os.path.join(root, 'not_a_sequence'))
    source = OTBSource(root, name='mine')
    assert source.video_names() == ['Group', 'Jogging']
    video = source.load_video('Group')
    assert [t.track_id for t in video.tracks] == ['0']
    frames = video.tracks[0].frames
    assert [f.index for f in frames] == [303, 304, 305]
    assert frames[0].image_path.endswith(os.path.join('Group', 'img', '000303.jpg'))
    np.testing.assert_allclose(frames[0].box, [9, 19, 30, 40])  # 1-based file, 0-based in memory
    assert np.isnan(frames[1].box).all() and frames[1].skip is None
    jogging = source.load_video('Jogging')
    assert [t.track_id for t in jogging.tracks] == ['1', '2']
    assert source.describe() == {'name': 'mine', 'is_image_data': False, 'layout': 'otb', 'root': root}


def test_sub_ranges_and_mismatches(tmp_path):
    root = str(tmp_path)
    make_sequence(root, 'David', range(1, 11), {'': [[1, 1, 4, 4]] * 4})
    with pytest.raises(ValueError, match=r'groundtruth_rect.txt: 4 ground-truth rows for 10 images.*frame_ranges'):
        OTBSource(root).load_video('David')
    video = OTBSource(root, frame_ranges={'David': (5, 8)}).load_video('David')
    assert [f.index for f in video.tracks[0].frames] == [5, 6, 7, 8]


def test_registry_and_bad_roots(tmp_path):
    assert SOURCES['otb'] is OTBSource
    with pytest.raises(ValueError, match="unknown dataset layout 'vid'"):
        make_source('vid', str(tmp_path))
    with pytest.raises(ValueError, match='root folder not found'):
        make_source('otb', str(tmp_path / 'missing'))
