"""Tests of the loss terms against numpy re-computations."""

import numpy as np
import tensorflow as tf

from tests.helpers import cpu_session
from utils import losses


def test_classification_loss_matches_numpy(graph):
    rng = np.random.RandomState(0)
    logits = rng.randn(3, 50, 2).astype(np.float32) * 3
    labels = rng.randint(-1, 2, size=(3, 50)).astype(np.int32)
    labels[2] = -1  # a pair with nothing sampled gives 0
    with cpu_session(graph) as sess:
        got = sess.run(losses.classification_loss(tf.constant(logits), tf.constant(labels)))
    log_softmax = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    for b in range(2):
        sampled = labels[b] >= 0
        expected = -log_softmax[b][sampled, labels[b][sampled]].mean()
        np.testing.assert_allclose(got[b], expected, rtol=1e-5)
    assert got[2] == 0


def test_regression_losses_match_numpy(graph):
    rng = np.random.RandomState(1)
    deltas = rng.randn(2, 40, 4).astype(np.float32)
    targets = rng.randn(2, 40, 4).astype(np.float32) * 0.1
    labels = rng.randint(-1, 2, size=(2, 40)).astype(np.int32)
    labels[1] = 0  # no positives -> 0
    sigma = 3.0
    with cpu_session(graph) as sess:
        smooth, l1 = sess.run([losses.regression_loss(deltas, targets, labels, 'smooth_l1', sigma),
                               losses.regression_loss(deltas, targets, labels, 'l1')])
    diff = np.abs(deltas - targets)[0][labels[0] == 1]
    huber = np.where(diff < 1 / sigma ** 2, 0.5 * sigma ** 2 * diff ** 2, diff - 0.5 / sigma ** 2)
    np.testing.assert_allclose(smooth[0], huber.sum(1).mean(), rtol=1e-5)
    np.testing.assert_allclose(l1[0], diff.sum(1).mean(), rtol=1e-5)
    assert smooth[1] == 0 and l1[1] == 0


def test_pair_weights_and_weighted_mean(graph):
    dt = np.array([0., 50., 100.], np.float32)
    mix = np.array([1., 0.5, 0.25], np.float32)
    with cpu_session(graph) as sess:
        w, m = sess.run([losses.pair_weights(3, dt, mix, time_decay_tau=100.),
                         losses.weighted_mean(tf.constant([1., 2., 3.]), tf.constant([1., 1., 0.]))])
    np.testing.assert_allclose(w, np.exp(-dt / 100.) * mix, rtol=1e-6)
    np.testing.assert_allclose(m, 1.5)
