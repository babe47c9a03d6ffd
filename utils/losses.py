"""SiamRPN loss terms (pure TF), each reduced over the batch with per-pair weights (time decay, mixup).

Masks are applied with tf.where on the inputs, never by multiplying, so a NaN or Inf logit, delta or target at an
anchor outside the mask changes neither the loss nor its gradient (0 * NaN is NaN).
"""

import tensorflow as tf

from utils.target_assignment import NEGATIVE, POSITIVE

CLS_BALANCES = ('mean', 'pysot')  # values of loss_config['cls_balance']
REG_LOSSES = ('smooth_l1', 'l1')  # values of loss_config['reg_loss']


def check_loss_config(loss_config):
    """Raises ValueError naming a bad loss_config field (cls_balance, reg_loss)."""
    for key, allowed in (('cls_balance', CLS_BALANCES), ('reg_loss', REG_LOSSES)):
        if loss_config[key] not in allowed:
            raise ValueError('train_config.loss_config.%s must be one of %s, got %r' % (
                key, ', '.join(map(repr, allowed)), loss_config[key]))


def _masked(values, mask):
    """values where mask (broadcast to values' shape), else 0."""
    return tf.where(tf.broadcast_to(mask, tf.shape(values)), values, tf.zeros_like(values))


def _pair_weights_or_ones(weights, labels):
    return tf.ones(tf.shape(labels)[:1], tf.float32) if weights is None else tf.cast(weights, tf.float32)


def _weighted_set_mean(values, mask, weights):
    """Mean of [B, N] values over a [B, N] bool mask, each entry weighted by its pair's weight [B]; 0 when the set
    is empty (pysot's get_cls_loss returns 0 for an empty selection)."""
    entry_weights = _masked(tf.broadcast_to(weights[:, None], tf.shape(values)), mask)
    return tf.math.divide_no_nan(tf.reduce_sum(_masked(values, mask) * entry_weights), tf.reduce_sum(entry_weights))


def classification_loss(logits, labels, balance='mean', weights=None):
    """Softmax cross-entropy of the sampled anchors, reduced to one value for the batch.

    balance:
      'mean': each pair's mean over its sampled anchors (positives and negatives alike), then the weighted mean
        over the pairs (0 for a pair with nothing sampled).
      'pysot': 0.5 * mean over all positives of the batch + 0.5 * mean over all negatives of the batch (pysot's
        select_cross_entropy_loss, which flattens the batch), each anchor weighted by its pair's weight; a half with
        no anchors in the batch is 0. (pysot's get_cls_loss returns 0 only when its squeezed index tensor is 0-d,
        i.e. for exactly one anchor, and F.nll_loss of an empty selection averages 0/0; this keeps the intent: an empty
        half is 0, a single anchor counts.)
    Args:
      logits: [B, N, 2] background/foreground logits.
      labels: [B, N] int32, 1 positive, 0 negative, -1 ignored.
      balance: one of CLS_BALANCES.
      weights: [B] per-pair weights (None: all 1).
    Returns:
      scalar float32.
    """
    if balance not in CLS_BALANCES:
        raise ValueError('classification balance (train_config.loss_config.cls_balance) must be one of %s, got %r'
                         % (', '.join(map(repr, CLS_BALANCES)), balance))
    weights = _pair_weights_or_ones(weights, labels)
    sampled = labels >= NEGATIVE
    safe_logits = _masked(logits, sampled[:, :, None])
    xent = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=tf.maximum(labels, 0), logits=safe_logits)
    if balance == 'pysot':
        return (0.5 * _weighted_set_mean(xent, tf.equal(labels, POSITIVE), weights) +
                0.5 * _weighted_set_mean(xent, tf.equal(labels, NEGATIVE), weights))
    per_pair = tf.reduce_sum(_masked(xent, sampled), axis=1) / tf.maximum(
        tf.reduce_sum(tf.cast(sampled, tf.float32), axis=1), 1.)
    return weighted_mean(per_pair, weights)


def regression_loss(deltas, targets, labels, kind='smooth_l1', sigma=3.0, weights=None):
    """Box regression loss on the positives, reduced to one value for the batch.

    Per pair: the loss summed over the 4 coordinates, averaged over the pair's positives (pysot's delta_weight
    1 / num_pos), 0 for a pair without positives. Then the weighted mean over all pairs, negative pairs included:
    with unit weights this is pysot's weight_l1_loss (sum over the batch divided by the batch size) for 'l1', up to
    pysot's 1e-6 in 1 / (pos_num + 1e-6). With pair weights (mixup, time decay) the divisor is their sum.

    Args:
      deltas: [B, N, 4] predicted deltas.
      targets: [B, N, 4] encoded ground truth.
      labels: [B, N] int32 (only label 1 counts).
      kind: 'smooth_l1' (quadratic below 1 / sigma^2) or 'l1'.
      weights: [B] per-pair weights (None: all 1).
    Returns:
      scalar float32.
    """
    if kind not in REG_LOSSES:
        raise ValueError('reg_loss (train_config.loss_config.reg_loss) must be one of %s, got %r' % (
            ', '.join(map(repr, REG_LOSSES)), kind))
    positive = tf.equal(labels, POSITIVE)
    diff = tf.abs(_masked(deltas - targets, positive[:, :, None]))
    if kind == 'smooth_l1':
        beta = 1. / (sigma * sigma)
        per_coord = tf.where(diff < beta, 0.5 * diff * diff / beta, diff - 0.5 * beta)
    else:
        per_coord = diff
    per_anchor = _masked(tf.reduce_sum(per_coord, axis=2), positive)
    per_pair = tf.reduce_sum(per_anchor, axis=1) / tf.maximum(tf.reduce_sum(tf.cast(positive, tf.float32), axis=1), 1.)
    return weighted_mean(per_pair, _pair_weights_or_ones(weights, labels))


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
