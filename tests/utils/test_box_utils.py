"""Tests of box conversions and IoU."""

import numpy as np
import tensorflow as tf

from tests.helpers import cpu_session
from utils.box_utils import (cxcywh_to_xywh, cxcywh_to_xyxy, iou_cxcywh, iou_xywh, polygon_to_xywh, xywh_to_cxcywh,
                             xyxy_to_cxcywh)


def test_conversions_round_trip():
    boxes = np.array([[10., 20., 30., 40.], [0., 0., 1., 1.]])
    np.testing.assert_allclose(xywh_to_cxcywh(boxes), [[25, 40, 30, 40], [0.5, 0.5, 1, 1]])
    np.testing.assert_allclose(cxcywh_to_xywh(xywh_to_cxcywh(boxes)), boxes)
    np.testing.assert_allclose(cxcywh_to_xyxy(xywh_to_cxcywh(boxes)), [[10, 20, 40, 60], [0, 0, 1, 1]])
    np.testing.assert_allclose(xyxy_to_cxcywh(cxcywh_to_xyxy(boxes)), boxes)


def test_iou_by_hand_and_degenerate_boxes():
    assert iou_xywh(np.array([0., 0., 10., 10.]), np.array([5., 0., 10., 10.])) == 50. / 150.
    assert iou_xywh(np.array([0., 0., 10., 10.]), np.array([20., 20., 5., 5.])) == 0.
    assert iou_xywh(np.array([0., 0., 0., 0.]), np.array([0., 0., 0., 0.])) == 0.
    np.testing.assert_allclose(iou_cxcywh(np.array([[5., 5., 10., 10.]] * 2), np.array([5., 5., 10., 10.])), [1, 1])


def test_tf_matches_numpy(graph):
    rng = np.random.RandomState(0)
    a = np.abs(rng.randn(100, 4).astype(np.float32)) * 20
    b = np.abs(rng.randn(100, 4).astype(np.float32)) * 20
    with cpu_session(graph) as sess:
        got = sess.run(iou_cxcywh(tf.constant(a), tf.constant(b)))
    np.testing.assert_allclose(got, iou_cxcywh(a, b), rtol=1e-5, atol=1e-6)


def test_polygon_bounds():
    rotated = np.array([10., 20., 30., 22., 28., 40., 8., 38.])
    np.testing.assert_allclose(polygon_to_xywh(rotated), [8., 20., 22., 20.])
    np.testing.assert_allclose(polygon_to_xywh(np.stack([rotated, rotated + 1.])), [[8, 20, 22, 20], [9, 21, 22, 20]])
