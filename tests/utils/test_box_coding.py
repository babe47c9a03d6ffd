"""Tests of anchor-relative box encoding/decoding in numpy and TF."""

import numpy as np
import tensorflow as tf

from tests.helpers import cpu_session
from utils.box_coding import decode, encode


def _random_boxes(rng, n):
    return np.stack([rng.uniform(-100, 100, n), rng.uniform(-100, 100, n),
                     rng.uniform(5, 200, n), rng.uniform(5, 200, n)], axis=1).astype(np.float32)


def test_formula_by_hand():
    deltas = encode(np.array([10., 20., 64., 16.]), np.array([0., 0., 32., 32.]))
    np.testing.assert_allclose(deltas, [10 / 32., 20 / 32., np.log(2.), np.log(0.5)], rtol=1e-6)


def test_round_trip_numpy_and_tf_agree(graph):
    rng = np.random.RandomState(0)
    boxes, anchors = _random_boxes(rng, 500), _random_boxes(rng, 500)
    deltas_np = encode(boxes, anchors)
    np.testing.assert_allclose(decode(deltas_np, anchors), boxes, rtol=1e-5, atol=1e-5)
    deltas_tf = encode(tf.constant(boxes), tf.constant(anchors))
    round_tf = decode(deltas_tf, tf.constant(anchors))
    with cpu_session(graph) as sess:
        got_deltas, got_round = sess.run([deltas_tf, round_tf])
    np.testing.assert_allclose(got_round, boxes, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(got_deltas, deltas_np, rtol=1e-5, atol=1e-6)


def test_broadcasts_one_box_over_many_anchors():
    anchors = _random_boxes(np.random.RandomState(1), 7)
    box = np.array([1., 2., 30., 40.], np.float32)
    deltas = encode(box[None, :], anchors)
    assert deltas.shape == (7, 4)
    np.testing.assert_allclose(decode(deltas, anchors), np.tile(box, (7, 1)), rtol=1e-5)
