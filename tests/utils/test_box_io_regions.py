"""Tests of VOT region rows (x,y,w,h or 4-corner polygons) in utils/box_io.py and their conversion to boxes."""

import numpy as np
import pytest

from utils.box_io import axis_aligned_box, parse_region_rows


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


def test_axis_aligned_box_keeps_centre_and_area():
    np.testing.assert_array_equal(axis_aligned_box([3.5, 4, 10, 6]), [3.5, 4, 10, 6])
    np.testing.assert_allclose(axis_aligned_box([2, 3, 11, 3, 11, 8, 2, 8]), [2, 3, 10, 6])  # corners x..x+w-1
    # A square of side r*sqrt(2) turned 45 degrees around (50, 40): bounds 2r x 2r, s = sqrt(2 r^2 / 4 r^2), so
    # w = h = 2 r s + 1 = r sqrt(2) + 1, centred on (50, 40).
    r = 10.
    box = axis_aligned_box([50 - r, 40, 50, 40 - r, 50 + r, 40, 50, 40 + r])
    side = r * np.sqrt(2.) + 1.
    np.testing.assert_allclose(box, [50 - (side - 1) / 2, 40 - (side - 1) / 2, side, side])
