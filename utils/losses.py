"""Per-pair SiamRPN loss terms (pure TF).

Both terms are returned per pair so that the model can weight pairs (time decay, mixup) before averaging.
"""

import tensorflow as tf

from utils.target_assignment import NEGATIVE, POSITIVE


def classification_loss(logits, labels):
    """Softmax cross-entropy averaged over each pair's sampled anchors.

    Args:
      logits: [B, N, 2] background/foreground logits.
      labels: [B, N] int32, 1 positive, 0 negative, -1 ignored.
    Returns:
      [B] float32.
    """
    sampled = tf.cast(labels >= NEGATIVE, tf.float32)
    xent = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=tf.maximum(labels, 0), logits=logits)
    return tf.reduce_sum(xent * sampled, axis=1) / tf.maximum(tf.reduce_sum(sampled, axis=1), 1.)


def regression_loss(deltas, targets, labels, kind='smooth_l1', sigma=3.0):
    """Box regression loss on the positives: sum over the 4 coordinates, mean over each pair's positives.

    Args:
      deltas: [B, N, 4] predicted deltas.
      targets: [B, N, 4] encoded ground truth.
      labels: [B, N] int32 (only label 1 counts).
      kind: 'smooth_l1' (quadratic below 1 / sigma^2) or 'l1'.
    Returns:
      [B] float32; 0 for pairs without positives.
    """
    positive = tf.cast(tf.equal(labels, POSITIVE), tf.float32)
    diff = tf.abs(deltas - targets)
    if kind == 'smooth_l1':
        beta = 1. / (sigma * sigma)
        per_coord = tf.where(diff < beta, 0.5 * diff * diff / beta, diff - 0.5 * beta)
    elif kind == 'l1':
        per_coord = diff
    else:
        raise ValueError("unknown reg_loss %r: expected 'smooth_l1' or 'l1'" % (kind,))
    per_anchor = tf.reduce_sum(per_coord, axis=2) * positive
    return tf.reduce_sum(per_anchor, axis=1) / tf.maximum(tf.reduce_sum(positive, axis=1), 1.)


def pair_weights(batch_size, delta_t=None, mixup_weight=None, time_decay_tau=None):
    """Per-pair loss weights [B]: exp(-dt / tau) when tau is set, times the mixup weight when given."""
    weights = tf.ones([batch_size], tf.float32)
    if time_decay_tau and delta_t is not None:
        weights *= tf.exp(-tf.cast(delta_t, tf.float32) / float(time_decay_tau))
    if mixup_weight is not None:
        weights *= tf.cast(mixup_weight, tf.float32)
    return weights


def weighted_mean(values, weights):
    """sum(w * v) / sum(w) over the batch; 0 when all weights are 0."""
    return tf.reduce_sum(values * weights) / tf.maximum(tf.reduce_sum(weights), 1e-12)
