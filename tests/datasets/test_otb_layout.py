"""Tests of the OTB layout reader shared by curation and the benchmarks: annotation names, frame numbering, ranges."""

import os

import numpy as np
import pytest

from datasets.otb_layout import (annotation_files, annotation_target, frames_in_range, has_annotations,
                                 numbered_files, numbered_images, otb100_frame_range)
from utils.box_io import read_otb_boxes


def touch(folder, *names):
    os.makedirs(str(folder), exist_ok=True)
    for name in names:
        open(os.path.join(str(folder), name), 'w').close()


def test_annotation_names_in_both_spellings():
    assert annotation_target('groundtruth_rect.txt') == (True, None)
    assert annotation_target('groundtruth_rect.2.txt') == (True, '2')  # OTB100's Jogging, Skating2, Human4
    assert annotation_target('groundtruth_rect2.txt') == (True, '2')  # accepted by the benchmark reader before
    assert annotation_target('groundtruth_rect.left.txt') == (True, 'left')  # accepted by curation before
    for other in ('groundtruth.txt', 'groundtruth_rect.txt.bak', 'groundtruth_rect_2.txt', 'groundtruth_rect.2.csv'):
        assert annotation_target(other) == (False, None), other


def test_annotation_files_are_ordered_and_one_target_is_spelled_once(tmp_path):
    touch(tmp_path, 'groundtruth_rect10.txt', 'groundtruth_rect.2.txt', 'groundtruth_rect.txt', 'notes.txt',
          'groundtruth_rect.b.txt')
    assert [(t, os.path.basename(p)) for t, p in annotation_files(str(tmp_path))] == [
        (None, 'groundtruth_rect.txt'), ('2', 'groundtruth_rect.2.txt'), ('10', 'groundtruth_rect10.txt'),
        ('b', 'groundtruth_rect.b.txt')]
    assert has_annotations(str(tmp_path))
    touch(tmp_path / 'got10k_like', 'groundtruth.txt')
    assert not has_annotations(str(tmp_path / 'got10k_like'))
    touch(tmp_path, 'groundtruth_rect2.txt')
    with pytest.raises(ValueError, match='groundtruth_rect.2.txt and groundtruth_rect2.txt both annotate target 2'):
        annotation_files(str(tmp_path))


def test_a_sequence_folder_numbered_above_one_with_nan_rows(tmp_path):
    touch(tmp_path / 'img', '000305.jpg', '000303.JPG', '000304.png', '._000303.jpg', 'Thumbs.db')
    with open(str(tmp_path / 'groundtruth_rect.txt'), 'w') as stream:
        stream.write('11,21,5,6\nNaN,NaN,NaN,NaN\n13\t23\t5\t6\n')
    frames = numbered_images(str(tmp_path / 'img'), 'Seq')
    assert [(n, os.path.basename(p)) for n, p in frames] == [(303, '000303.JPG'), (304, '000304.png'),
                                                             (305, '000305.jpg')]
    (target, path), = annotation_files(str(tmp_path))
    boxes = read_otb_boxes(path)
    assert target is None and boxes.shape == (3, 4)
    np.testing.assert_array_equal(boxes[[0, 2]], [[10, 20, 5, 6], [12, 22, 5, 6]])  # 1-based file, 0-based boxes
    assert np.isnan(boxes[1]).all()
    assert [n for n, _ in frames_in_range(frames, 304, 305, 'Seq')] == [304, 305]
    with pytest.raises(ValueError, match=r'sequence Seq is incomplete: its frame range is 302-304 .*first missing: '
                                         r'302'):
        frames_in_range(frames, 302, 304, 'Seq')


def test_non_numeric_names_are_numbered_by_position(tmp_path):
    folder = tmp_path / 'img'
    folder.mkdir()
    for name in ('b.png', 'a.png', 'notes.txt'):
        (folder / name).write_bytes(b'')
    assert [(i, os.path.basename(p)) for i, p in numbered_images(str(folder))] == [(1, 'a.png'), (2, 'b.png')]


def test_frame_folders_that_cannot_be_numbered_are_named(tmp_path):
    with pytest.raises(ValueError, match='sequence Seq: image folder .*missing does not exist'):
        numbered_images(str(tmp_path / 'missing'), 'Seq')
    touch(tmp_path / 'empty', 'notes.txt')
    with pytest.raises(ValueError, match=r'no images \(.jpg/.jpeg/.png/.bmp\) in'):
        numbered_images(str(tmp_path / 'empty'))
    touch(tmp_path / 'mixed', '0001.jpg', 'cover.jpg')
    with pytest.raises(ValueError, match='mixes numbered and other image names, e.g. cover.jpg'):
        numbered_images(str(tmp_path / 'mixed'))
    touch(tmp_path / 'twice', '0001.jpg', '1.png')
    with pytest.raises(ValueError, match='sequence Seq: .*twice has two files with frame number 1: 0001.jpg and 1.png'):
        numbered_images(str(tmp_path / 'twice'), 'Seq')


def test_numbered_files(tmp_path):
    for name in ('000003.JPEG', '000001.JPEG', '000002.xml', 'thumb.JPEG', '000004.jpg'):
        (tmp_path / name).write_bytes(b'')
    found = numbered_files(str(tmp_path), ('.JPEG',))
    assert sorted(found) == [1, 3] and found[3].endswith('000003.JPEG')
    assert numbered_files(str(tmp_path / 'missing'), ('.JPEG',)) == {}


def test_numbered_files_match_extensions_in_any_case(tmp_path):
    for name in ('000000.JPEG', '000001.jpg', '000002.Png', '000003.xml'):
        (tmp_path / name).write_bytes(b'')
    assert sorted(numbered_files(str(tmp_path))) == [0, 1, 2]  # utils.image_io.IMAGE_EXTENSIONS
    assert sorted(numbered_files(str(tmp_path), ('.XML',))) == [3]


def test_otb100_frame_ranges_and_clips_named_like_them():
    assert otb100_frame_range('Basketball', list(range(1, 726)), 725) is None
    assert otb100_frame_range('David', list(range(1, 771)), 471) == {'first': 300, 'last': 770, 'gt_first': 300}
    assert otb100_frame_range('Tiger1', list(range(1, 355)), 354) == {'first': 6, 'last': 354, 'gt_first': 1}
    assert otb100_frame_range('David', list(range(1, 137)), 136) is None  # a 136-frame cut: one row per image
    assert otb100_frame_range('David', list(range(1, 137)), 100)['first'] == 300  # not one row per image: refused later
