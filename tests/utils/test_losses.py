"""Tests of the loss terms against numpy re-computations, pysot's select_cross_entropy_loss and weight_l1_loss
transcribed to numpy, and their NaN safety."""

import numpy as np
import pytest
import tensorflow as tf

from tests.helpers import cpu_session
from utils import losses

SIGMA = 3.0


def numpy_xent(logits, labels):
    """[B, N] softmax cross-entropy of labels clipped to {0, 1}."""
    log_softmax = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    return -np.take_along_axis(log_softmax, np.maximum(labels, 0)[..., None], axis=-1)[..., 0]


def pysot_cls_loss(logits, labels):
    """pysot's select_cross_entropy_loss: the batch flattened, 0.5 * mean positive + 0.5 * mean negative xent (an
    empty selection counts 0)."""
    xent, labels = numpy_xent(logits, labels).reshape(-1), labels.reshape(-1)
    halves = [xent[labels == label].mean() if (labels == label).any() else 0. for label in (1, 0)]
    return 0.5 * halves[0] + 0.5 * halves[1]


def pysot_l1_loss(deltas, targets, labels):
    """pysot's weight_l1_loss with AnchorTarget's delta_weight 1 / (pos_num + 1e-6) on each pair's positives:
    sum over the 4 deltas of |diff| times the weight, summed over the batch, divided by the batch size."""
    positive = labels == 1
    weight = positive / (positive.sum(1, keepdims=True) + 1e-6)
    diff = np.where(positive[..., None], np.abs(deltas - targets), 0.)  # pysot's targets are 0 off the positives
    return (diff.sum(-1) * weight).sum() / len(labels)


@pytest.fixture(scope='module')
def batch():
    """Logits, deltas, targets, labels and pair weights of 4 pairs: pair 2 is a negative pair (no positives), pair 3
    has nothing sampled."""
    rng = np.random.RandomState(0)
    logits = rng.randn(4, 60, 2).astype(np.float32) * 3
    deltas = rng.randn(4, 60, 4).astype(np.float32)
    targets = rng.randn(4, 60, 4).astype(np.float32) * 0.1
    labels = rng.choice([-1, -1, 0, 1], size=(4, 60)).astype(np.int32)
    labels[2] = np.where(labels[2] == 1, 0, labels[2])
    labels[3] = -1
    weights = np.array([1., 0.5, 0.8, 0.3], np.float32)
    return logits, deltas, targets, labels, weights


@pytest.fixture(scope='module')
def session():
    with tf.Graph().as_default() as graph, cpu_session(graph) as sess:
        yield sess


def test_mean_classification_loss_matches_numpy(session, batch):
    logits, _, _, labels, weights = batch
    got = session.run([losses.classification_loss(logits, labels, 'mean'),
                       losses.classification_loss(logits, labels, 'mean', weights)])
    xent, sampled = numpy_xent(logits, labels), labels >= 0
    per_pair = np.array([xent[b][sampled[b]].mean() if sampled[b].any() else 0. for b in range(4)])
    np.testing.assert_allclose(got, [per_pair.mean(), (per_pair * weights).sum() / weights.sum()], rtol=1e-5)


def test_pysot_classification_loss_matches_pysot(session, batch):
    logits, _, _, labels, weights = batch
    no_positives = np.where(labels == 1, -1, labels)
    nothing = -np.ones_like(labels)
    got = session.run([losses.classification_loss(logits, labels, 'pysot'),
                       losses.classification_loss(logits, no_positives, 'pysot'),
                       losses.classification_loss(logits, nothing, 'pysot'),
                       losses.classification_loss(logits, labels, 'pysot', weights)])
    np.testing.assert_allclose(got[:3], [pysot_cls_loss(logits, labels), pysot_cls_loss(logits, no_positives), 0.],
                               rtol=1e-5)
    # pair weights weight each anchor within the two batch means
    xent, w = numpy_xent(logits, labels), np.broadcast_to(weights[:, None], labels.shape)
    expected = sum(0.5 * (xent * w)[labels == label].sum() / w[labels == label].sum() for label in (1, 0))
    np.testing.assert_allclose(got[3], expected, rtol=1e-5)
    # positives and negatives count as much: 4 positives against 48 negatives
    assert pysot_cls_loss(logits, labels) != pytest.approx(xent[labels >= 0].mean())


def test_regression_losses_match_numpy_and_pysot_normalisation(session, batch):
    _, deltas, targets, labels, weights = batch
    got = session.run([losses.regression_loss(deltas, targets, labels, 'l1'),
                       losses.regression_loss(deltas, targets, labels, 'smooth_l1', SIGMA),
                       losses.regression_loss(deltas, targets, labels, 'l1', weights=weights)])
    np.testing.assert_allclose(got[0], pysot_l1_loss(deltas, targets, labels), rtol=1e-5)
    diff = np.abs(deltas - targets)
    huber = np.where(diff < 1 / SIGMA ** 2, 0.5 * SIGMA ** 2 * diff ** 2, diff - 0.5 / SIGMA ** 2)
    per_pair = [(huber[b][labels[b] == 1].sum(1).mean() if (labels[b] == 1).any() else 0.) for b in range(4)]
    np.testing.assert_allclose(got[1], np.mean(per_pair), rtol=1e-5)
    l1_pairs = [(diff[b][labels[b] == 1].sum(1).mean() if (labels[b] == 1).any() else 0.) for b in range(4)]
    np.testing.assert_allclose(got[2], (np.array(l1_pairs) * weights).sum() / weights.sum(), rtol=1e-5)


@pytest.mark.parametrize('balance', losses.CLS_BALANCES)
def test_non_finite_values_outside_the_masks_change_neither_loss_nor_gradient(session, batch, balance):
    logits, deltas, targets, labels, _ = batch
    bad_logits, bad_deltas, bad_targets = logits.copy(), deltas.copy(), targets.copy()
    bad_logits[labels < 0] = np.nan
    bad_deltas[labels != 1] = np.nan
    bad_targets[labels != 1] = np.inf
    bad_targets[0, np.flatnonzero(labels[0] != 1)[0]] = -np.inf
    logits_t, deltas_t = tf.constant(bad_logits), tf.constant(bad_deltas)
    cls = losses.classification_loss(logits_t, labels, balance)
    reg = [losses.regression_loss(deltas_t, bad_targets, labels, kind, SIGMA) for kind in losses.REG_LOSSES]
    values = session.run([cls] + reg + tf.gradients(cls, logits_t) + tf.gradients(reg[0] + reg[1], deltas_t))
    expected = session.run([losses.classification_loss(logits, labels, balance)] +
                           [losses.regression_loss(deltas, targets, labels, kind, SIGMA) for kind in losses.REG_LOSSES])
    np.testing.assert_allclose(values[:3], expected, rtol=1e-6)
    if balance == 'pysot':
        np.testing.assert_allclose(values[0], pysot_cls_loss(logits, labels), rtol=1e-5)
    np.testing.assert_allclose(values[1 + losses.REG_LOSSES.index('l1')], pysot_l1_loss(deltas, targets, labels),
                               rtol=1e-5)
    assert all(np.isfinite(v).all() for v in values)
    assert (values[3][labels < 0] == 0).all() and (values[4][labels != 1] == 0).all()


def test_unknown_loss_settings_are_named():
    with pytest.raises(ValueError, match=r"loss_config\.cls_balance must be one of 'mean', 'pysot', got 'sum'"):
        losses.check_loss_config({'cls_balance': 'sum', 'reg_loss': 'l1'})
    with pytest.raises(ValueError, match=r"loss_config\.reg_loss must be one of 'smooth_l1', 'l1', got 'l2'"):
        losses.check_loss_config({'cls_balance': 'mean', 'reg_loss': 'l2'})
    with pytest.raises(ValueError, match=r"cls_balance\) must be one of 'mean', 'pysot', got 'sum'"):
        losses.classification_loss(tf.zeros([1, 2, 2]), tf.zeros([1, 2], tf.int32), 'sum')


def test_pair_weights_and_weighted_mean(session):
    dt = np.array([0., 50., 100.], np.float32)
    mix = np.array([1., 0.5, 0.25], np.float32)
    w, m = session.run([losses.pair_weights(3, dt, mix, time_decay_tau=100.),
                        losses.weighted_mean(tf.constant([1., 2., 3.]), tf.constant([1., 1., 0.]))])
    np.testing.assert_allclose(w, np.exp(-dt / 100.) * mix, rtol=1e-6)
    np.testing.assert_allclose(m, 1.5)
