"""Tests of OTB box file reading/writing and the 1-based <-> 0-based conversion."""

import numpy as np
import pytest

from utils.box_io import read_otb_boxes, write_otb_boxes


def test_reads_any_separator_and_converts_to_zero_based(tmp_path):
    path = tmp_path / 'groundtruth_rect.txt'
    path.write_text('1,1,10,20\n5\t6\t7\t8\n  3 4 5.5 6\nNaN,NaN,NaN,NaN\n\n')
    boxes = read_otb_boxes(str(path))
    np.testing.assert_array_equal(boxes[:3], [[0, 0, 10, 20], [4, 5, 7, 8], [2, 3, 5.5, 6]])
    assert np.isnan(boxes[3]).all()


def test_round_trip_is_exact(tmp_path):
    boxes = np.array([[0., 0., 10., 20.], [12.25, 3.5, 7., 8.125], [np.nan] * 4])
    path = str(tmp_path / 'out' / 'seq.txt')
    write_otb_boxes(path, boxes)
    assert open(path).read().splitlines()[0] == '1,1,10,20'
    np.testing.assert_array_equal(read_otb_boxes(path), boxes)


def test_bad_row_names_file_and_line(tmp_path):
    path = tmp_path / 'gt.txt'
    path.write_text('1,2,3,4\n1,2,3\n')
    with pytest.raises(ValueError, match=r'gt.txt line 2: expected 4 values'):
        read_otb_boxes(str(path))
    path.write_text('1,2,x,4\n')
    with pytest.raises(ValueError, match=r'gt.txt line 1: expected numbers'):
        read_otb_boxes(str(path))
