"""In-graph SiamRPN target assignment (pure TF, no py_func).

For each training pair: the IoU of every anchor with the pair's ground-truth box, candidate positives
(IoU > pos_iou_thresh, plus the best anchor when its IoU exceeds neg_iou_thresh) and negatives
(IoU < neg_iou_thresh), then a random subsample of at most `max_pos` positives and `max_total` anchors in all.
For negative pairs (template and search from different tracks) every anchor is a negative candidate.
"""

import tensorflow as tf

from utils.box_coding import encode
from utils.box_utils import iou_cxcywh

POSITIVE, NEGATIVE, IGNORE = 1, 0, -1


def pairwise_iou(anchors, gt_boxes):
    """IoU of every anchor with each pair's box.

    Args:
      anchors: [N, 4] cx,cy,w,h.
      gt_boxes: [B, 4] cx,cy,w,h in the same frame.
    Returns:
      [B, N] float32.
    """
    anchors = tf.convert_to_tensor(anchors, tf.float32)
    gt_boxes = tf.convert_to_tensor(gt_boxes, tf.float32)
    return iou_cxcywh(anchors[None, :, :], gt_boxes[:, None, :])


def _sample(candidates, max_count, seed):
    """Randomly keeps at most max_count[b] True entries of each row of a [B, N] bool mask."""
    keys = tf.where(candidates, tf.random.uniform(tf.shape(candidates), seed=seed),
                    -tf.ones_like(candidates, tf.float32))
    max_count = tf.convert_to_tensor(max_count, tf.int32)
    limit = tf.reduce_max(max_count) if max_count.shape.ndims else max_count
    limit = tf.maximum(tf.minimum(limit, tf.shape(candidates)[1]), 1)
    top = tf.nn.top_k(keys, k=limit, sorted=True).values  # [B, limit], descending
    max_count = tf.broadcast_to(max_count, tf.shape(candidates)[:1])
    index = tf.clip_by_value(max_count - 1, 0, limit - 1)
    threshold = tf.gather(top, index[:, None], axis=1, batch_dims=1)[:, 0]  # max_count-th largest key per row
    keep = candidates & (keys >= threshold[:, None]) & (max_count[:, None] > 0)
    return keep


def assign_targets(anchors, gt_boxes, is_negative, target_config, seed=None):
    """Labels and regression targets for a batch of pairs.

    Args:
      anchors: [N, 4] cx,cy,w,h anchors (anchor frame).
      gt_boxes: [B, 4] cx,cy,w,h ground truth in the anchor frame.
      is_negative: [B] bool; True for negative pairs (every anchor negative, no regression).
      target_config: TRAIN_CONFIG['target_config'].
      seed: op-level seed of the subsampling.
    Returns:
      dict with
        'iou':            [B, N] float32 IoU with the ground truth;
        'pos_candidates': [B, N] bool, before subsampling;
        'neg_candidates': [B, N] bool, before subsampling;
        'labels':         [B, N] int32, 1 positive, 0 negative, -1 ignored (after subsampling);
        'reg_targets':    [B, N, 4] encoded deltas of the ground truth w.r.t. each anchor.
    """
    anchors = tf.convert_to_tensor(anchors, tf.float32)
    gt_boxes = tf.convert_to_tensor(gt_boxes, tf.float32)
    is_negative = tf.cast(is_negative, tf.bool)
    num_anchors = tf.shape(anchors)[0]

    iou = pairwise_iou(anchors, gt_boxes)
    best = tf.one_hot(tf.argmax(iou, axis=1), num_anchors, on_value=True, off_value=False, dtype=tf.bool)
    best &= tf.reduce_max(iou, axis=1, keepdims=True) > target_config['neg_iou_thresh']
    pos = (iou > target_config['pos_iou_thresh']) | best
    neg = (iou < target_config['neg_iou_thresh']) & ~pos
    pos &= ~is_negative[:, None]
    neg |= is_negative[:, None]

    pos_keep = _sample(pos, target_config['max_pos'], seed)
    num_pos = tf.reduce_sum(tf.cast(pos_keep, tf.int32), axis=1)
    neg_keep = _sample(neg, target_config['max_total'] - num_pos, None if seed is None else seed + 1)

    labels = tf.where(pos_keep, tf.fill(tf.shape(iou), POSITIVE),
                      tf.where(neg_keep, tf.fill(tf.shape(iou), NEGATIVE), tf.fill(tf.shape(iou), IGNORE)))
    safe_gt = tf.where(tf.tile(is_negative[:, None], [1, 4]), tf.ones_like(gt_boxes) * [0., 0., 1., 1.], gt_boxes)
    reg_targets = encode(safe_gt[:, None, :], anchors[None, :, :])
    return {'iou': iou, 'pos_candidates': pos, 'neg_candidates': neg, 'labels': labels,
            'reg_targets': reg_targets}
