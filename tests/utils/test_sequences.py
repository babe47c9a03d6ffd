"""Tests of the OTB-layout sequence reader."""

import numpy as np
import pytest

from utils.sequences import list_images, load_otb_sequence


def test_reads_images_sorted_and_ground_truth(tmp_path):
    (tmp_path / 'img').mkdir()
    for name in ('000304.jpg', '000303.jpg', 'notes.txt'):
        (tmp_path / 'img' / name).write_bytes(b'')
    (tmp_path / 'groundtruth_rect.txt').write_text('11,21,5,6\n12,22,5,6\n')
    files, boxes = load_otb_sequence(str(tmp_path))
    assert [f.split('/')[-1] for f in files] == ['000303.jpg', '000304.jpg']
    np.testing.assert_array_equal(boxes[0], [10, 20, 5, 6])


def test_missing_parts_are_named(tmp_path):
    with pytest.raises(IOError, match='image folder not found'):
        list_images(str(tmp_path / 'img'))
    (tmp_path / 'img').mkdir()
    (tmp_path / 'img' / '0001.jpg').write_bytes(b'')
    with pytest.raises(IOError, match='no ground truth'):
        load_otb_sequence(str(tmp_path))


def test_reads_shared_otb_dev(otb_dev_dir):
    files, boxes = load_otb_sequence(otb_dev_dir + '/uav_group2_2')
    assert len(files) == len(boxes) == 289 and files[0].endswith('000303.jpg')
    assert np.isnan(boxes).any(axis=1).sum() > 0 and np.isfinite(boxes[0]).all()
