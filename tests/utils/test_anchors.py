"""Tests of anchor generation against hand-computed values and DaSiamRPN's anchor-major generation order."""

import numpy as np
import pytest

from utils.anchors import anchor_shapes, anchor_to_image_frame, generate_anchors, image_to_anchor_frame, score_size

RATIOS, SCALES, STRIDE = [0.33, 0.5, 1, 2, 3], [8], 8


def test_score_sizes():
    assert score_size(255, 127, 8) == 17
    assert score_size(271, 127, 8) == 19
    assert score_size(287, 127, 8) == 21
    with pytest.raises(ValueError, match='multiple of the stride'):
        score_size(260, 127, 8)


def test_anchor_shapes_by_hand():
    # ws = int(sqrt(64 / r)), hs = int(ws * r), times 8.
    # r=0.33: ws=int(13.93)=13, hs=int(4.29)=4; r=0.5: 11, int(5.5)=5; r=1: 8, 8; r=2: 5, 10; r=3: int(4.62)=4, 12.
    expected = [[104, 32], [88, 40], [64, 64], [40, 80], [32, 96]]
    np.testing.assert_array_equal(anchor_shapes(STRIDE, RATIOS, SCALES), expected)


def test_cells_by_hand():
    anchors = generate_anchors(STRIDE, RATIOS, SCALES, 17).reshape(17, 17, 5, 4)
    np.testing.assert_array_equal(anchors[0, 0, 0], [-64, -64, 104, 32])  # top-left cell, ratio 0.33
    np.testing.assert_array_equal(anchors[8, 8, 2], [0, 0, 64, 64])  # centre cell, ratio 1
    np.testing.assert_array_equal(anchors[16, 3, 4], [(3 - 8) * 8, 64, 32, 96])  # bottom row, x=3, ratio 3
    anchors19 = generate_anchors(STRIDE, RATIOS, SCALES, 19).reshape(19, 19, 5, 4)
    np.testing.assert_array_equal(anchors19[0, 18, 1], [72, -72, 88, 40])


def test_same_set_as_dasiamrpn_anchor_major_order():
    """DaSiamRPN orders anchors (a, y, x); this port orders them (y, x, a). Same anchors, permuted."""
    size = 19
    shapes = anchor_shapes(STRIDE, RATIOS, SCALES)
    reference = []
    for w, h in shapes:  # independent re-statement of the anchor-major construction
        for y in range(size):
            for x in range(size):
                reference.append([(x - size // 2) * STRIDE, (y - size // 2) * STRIDE, w, h])
    reference = np.array(reference, np.float32).reshape(5, size, size, 4).transpose(1, 2, 0, 3).reshape(-1, 4)
    np.testing.assert_array_equal(generate_anchors(STRIDE, RATIOS, SCALES, size), reference)


def test_frame_conversion_round_trip():
    boxes = np.array([[127.5, 127.5, 30, 40], [10, 250, 5, 6]], np.float32)
    shifted = image_to_anchor_frame(boxes, 255)
    np.testing.assert_allclose(shifted[0], [0, 0, 30, 40])
    np.testing.assert_allclose(anchor_to_image_frame(shifted, 255), boxes)
