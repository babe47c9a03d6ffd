"""Tests of the 1-based OTB box files <-> 0-based boxes conversion."""

import numpy as np
import pytest

from utils.box_io import parse_box_string, read_boxes, write_boxes


def test_read_converts_to_zero_based_and_keeps_nan_rows(tmp_path):
    path = tmp_path / 'groundtruth_rect.txt'
    path.write_text('618,329,53,46\n722.50\t308 41,60\n\nNaN,NaN,NaN,NaN\n')
    boxes = read_boxes(str(path))
    np.testing.assert_array_equal(boxes[:2], [[617, 328, 53, 46], [721.5, 307, 41, 60]])
    assert np.isnan(boxes[2]).all() and boxes.shape == (3, 4)


def test_write_then_read_round_trips(tmp_path):
    path = str(tmp_path / 'result.txt')
    boxes = np.array([[0., 0., 10., 20.], [12.25, 3.5, 7.125, 1.]])
    write_boxes(path, boxes)
    assert open(path).read().splitlines() == ['1,1,10,20', '13.25,4.5,7.125,1']
    np.testing.assert_allclose(read_boxes(path), boxes)


def test_bad_rows_and_shapes_are_named(tmp_path):
    path = tmp_path / 'gt.txt'
    path.write_text('1,2,3,4\n1,2,3\n')
    with pytest.raises(ValueError, match='gt.txt line 2'):
        read_boxes(str(path))
    with pytest.raises(ValueError, match='--init-box'):
        parse_box_string('1,2,x,4', what='--init-box')
    with pytest.raises(ValueError, match='shape'):
        write_boxes(str(tmp_path / 'r.txt'), np.zeros((3, 5)))
