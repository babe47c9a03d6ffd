"""Tests of VOT region rows (x,y,w,h or 4-corner polygons) in utils/box_io.py."""

import numpy as np
import pytest

from utils.box_io import parse_region_rows


def test_rectangles_and_polygons_in_one_file():
    rows = parse_region_rows(['1,2,3,4\n', '\n', '10\t20 30,22,28,40,8,38\n'], source='groundtruth.txt')
    assert len(rows) == 2
    np.testing.assert_array_equal(rows[0], [1, 2, 3, 4])
    np.testing.assert_array_equal(rows[1], [10, 20, 30, 22, 28, 40, 8, 38])


def test_bad_rows_name_the_file_and_line():
    with pytest.raises(ValueError, match=r'gt.txt line 2: expected 4 or 8 values .* got 6'):
        parse_region_rows(['1,2,3,4', '1,2,3,4,5,6'], source='gt.txt')
    with pytest.raises(ValueError, match=r'gt.txt line 1: mask regions are not supported'):
        parse_region_rows(['m12,3,0,0,1'], source='gt.txt')
    with pytest.raises(ValueError, match=r'gt.txt line 1: expected numbers'):
        parse_region_rows(['1,2,a,4'], source='gt.txt')
