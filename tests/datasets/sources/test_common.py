"""Tests of the helpers shared by the dataset parsers: lenient box rows and integer labels."""

import numpy as np
import pytest

from datasets.sources.common import read_box_rows, read_integer_labels


def test_box_rows_are_one_based_and_bad_rows_do_not_stop_the_file(tmp_path):
    path = str(tmp_path / 'groundtruth.txt')
    with open(path, 'w') as stream:
        stream.write('11,21,5,6\n1\t2\t3\t4\nNaN,NaN,NaN,NaN\n7,x,1,1\n\n3,3,2\n5 5 5 5\n\n\n')
    boxes, bad = read_box_rows(path)
    assert boxes.shape == (7, 4)  # trailing empty lines dropped, the inner one is a (bad) row
    np.testing.assert_array_equal(boxes[0], [10, 20, 5, 6])  # 1-based file -> 0-based
    np.testing.assert_array_equal(boxes[1], [0, 1, 3, 4])
    assert np.isnan(boxes[2]).all() and 2 not in bad  # NaN rows are valid rows (the core skips them as nan_box)
    assert sorted(bad) == [3, 4, 5]
    assert bad[3] == "%s line 4: expected numbers x,y,w,h, got '7,x,1,1'" % path
    assert bad[5].startswith('%s line 6: expected 4 values' % path)
    np.testing.assert_array_equal(boxes[6], [4, 4, 5, 5])
    assert np.isnan(boxes[[3, 4, 5]]).all()


def test_integer_labels(tmp_path):
    path = str(tmp_path / 'labels')
    for text in ('0\n1\n8\n', '0,1,8\n', '0, 1.0 ,8'):
        with open(path, 'w') as stream:
            stream.write(text)
        assert read_integer_labels(path, 3).tolist() == [0, 1, 8]
    with pytest.raises(ValueError, match='labels has 3 labels for 4 frames'):
        read_integer_labels(path, 4)
    with open(path, 'w') as stream:
        stream.write('0,0.5,1')
    with pytest.raises(ValueError, match="expected integer labels, found '0.5'"):
        read_integer_labels(path)
