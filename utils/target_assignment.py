"""In-graph SiamRPN target assignment (pure TF, no py_func).

For each training pair: the IoU of every anchor with the pair's ground-truth box, candidate positives and
negatives by one of two rules (TRAIN_CONFIG['target_config']['rule']), then a random subsample of each set.

  'legacy': positives IoU > pos_iou_thresh, plus the best anchor when its IoU exceeds neg_iou_thresh; negatives
      IoU < neg_iou_thresh; at most `max_pos` positives and `max_total` anchors in all. Every anchor of a negative
      pair (template and search from different tracks) is a negative candidate.
  'pysot': pysot's AnchorTarget for SiamRPN. Positives IoU > pos_iou_thresh only (at most `max_pos`); negatives
      IoU < neg_iou_thresh, at most `max_total - max_pos` whatever the number of positives. A negative pair has no
      positives and at most `neg_num` negatives, drawn from the anchors of the 7x7 cells around the score-map cell
      of its (distractor) box's centre, clipped at the map border: the network learns to reject that object.
      Not reproduced: pysot slices its label map with numpy, so a window ending 13 or more cells left of (above) the
      map wraps to the other side; here such a window is empty. Search shifts of 64 px (pysot's) never reach it.
"""

import tensorflow as tf

from utils.box_coding import encode
from utils.box_utils import iou_cxcywh

POSITIVE, NEGATIVE, IGNORE = 1, 0, -1
RULES = ('legacy', 'pysot')  # values of target_config['rule']
NEG_WINDOW_RADIUS = 3  # 'pysot': a negative pair's negatives lie within 3 cells of its box's cell (7x7 cells)


def check_target_config(target_config):
    """Raises ValueError naming a bad target_config field (the rule, the 'pysot' counts)."""
    rule = target_config['rule']
    if rule not in RULES:
        raise ValueError('train_config.target_config.rule must be one of %s, got %r' % (', '.join(map(repr, RULES)),
                                                                                      rule))
    for key in ('max_pos', 'max_total', 'neg_num'):
        if not (isinstance(target_config[key], int) and target_config[key] >= 0):
            raise ValueError('train_config.target_config.%s must be an integer >= 0, got %r' % (key,
                                                                                              target_config[key]))
    if rule == 'pysot' and target_config['max_total'] < target_config['max_pos']:
        raise ValueError("train_config.target_config.max_total (%d) must be >= max_pos (%d) for the 'pysot' rule, "
                         "which samples up to max_total - max_pos negatives" % (target_config['max_total'],
                                                                                target_config['max_pos']))


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


def box_cells(gt_boxes, stride):
    """pysot's score-map cell of each box centre for the window of a negative pair, relative to the centre cell
    S // 2: ceil(c / stride + 0.5) per coordinate, c the centre in the anchor frame (pysot's `tcx - SEARCH_SIZE // 2`:
    its centre cell looks at pixel SEARCH_SIZE // 2 as ours looks at the anchor-frame origin). This is one cell
    right of / below the nearest cell (0 -> 1), as in pysot.

    Args:
      gt_boxes: [B, 4] cx,cy,w,h in the anchor frame.
      stride: the embedding's total stride in pixels.
    Returns:
      [B, 2] float32 integral (x, y) cell offsets.
    """
    return tf.math.ceil(gt_boxes[:, :2] / float(stride) + 0.5)


def in_negative_window(anchors, gt_boxes, stride):
    """[B, N] bool: the anchor's cell lies within NEG_WINDOW_RADIUS cells (in x and in y) of the box's cell
    (`box_cells`). Cells beyond the map have no anchors, so the window is clipped at the border, as in pysot.

    Args:
      anchors: [N, 4] cx,cy,w,h anchors (anchor frame), centred on the cells: ((x - S // 2) * stride, ...).
      gt_boxes: [B, 4] cx,cy,w,h in the anchor frame.
      stride: the embedding's total stride in pixels.
    """
    anchor_cells = tf.round(anchors[:, :2] / float(stride))  # [N, 2] offsets from the centre cell
    distance = tf.abs(anchor_cells[None, :, :] - box_cells(gt_boxes, stride)[:, None, :])
    return tf.reduce_all(distance <= NEG_WINDOW_RADIUS, axis=2)


def pysot_candidates(anchors, gt_boxes, iou, is_negative, target_config, stride):
    """'pysot' candidate sets [B, N] bool (pos, neg): IoU > pos_iou_thresh and IoU < neg_iou_thresh for positive
    pairs; no positives and the 7x7-cell window (`in_negative_window`) for negative pairs."""
    negative_pair = is_negative[:, None]
    pos = (iou > target_config['pos_iou_thresh']) & ~negative_pair
    neg = tf.where(tf.broadcast_to(negative_pair, tf.shape(iou)), in_negative_window(anchors, gt_boxes, stride),
                   iou < target_config['neg_iou_thresh'])
    return pos, neg


def assign_targets(anchors, gt_boxes, is_negative, target_config, seed=None, stride=None):
    """Labels and regression targets for a batch of pairs, by target_config['rule'] (module docstring).

    Args:
      anchors: [N, 4] cx,cy,w,h anchors (anchor frame).
      gt_boxes: [B, 4] cx,cy,w,h ground truth in the anchor frame (for a negative pair: the box of the search
        image's own, distractor, object).
      is_negative: [B] bool; True for negative pairs (no positives, no regression).
      target_config: TRAIN_CONFIG['target_config'].
      seed: op-level seed of the subsampling.
      stride: the embedding's total stride in pixels; needed by the 'pysot' rule (the negative pairs' window).
    Returns:
      dict with
        'iou':            [B, N] float32 IoU with the ground truth;
        'pos_candidates': [B, N] bool, before subsampling;
        'neg_candidates': [B, N] bool, before subsampling;
        'labels':         [B, N] int32, 1 positive, 0 negative, -1 ignored (after subsampling);
        'reg_targets':    [B, N, 4] encoded deltas of the ground truth w.r.t. each anchor.
    """
    check_target_config(target_config)
    if target_config['rule'] == 'pysot' and stride is None:
        raise ValueError("the 'pysot' target rule needs the stride (model_config.embed_config.stride)")
    anchors = tf.convert_to_tensor(anchors, tf.float32)
    gt_boxes = tf.convert_to_tensor(gt_boxes, tf.float32)
    is_negative = tf.cast(is_negative, tf.bool)
    num_anchors = tf.shape(anchors)[0]

    iou = pairwise_iou(anchors, gt_boxes)
    if target_config['rule'] == 'pysot':
        pos, neg = pysot_candidates(anchors, gt_boxes, iou, is_negative, target_config, stride)
        pos_keep = _sample(pos, target_config['max_pos'], seed)
        neg_limit = tf.where(is_negative, tf.fill(tf.shape(is_negative), target_config['neg_num']),
                             tf.fill(tf.shape(is_negative), target_config['max_total'] - target_config['max_pos']))
        neg_keep = _sample(neg, neg_limit, None if seed is None else seed + 1)
        return _targets(anchors, gt_boxes, is_negative, iou, pos, neg, pos_keep, neg_keep)
    # 'legacy': the ops and their order are those of the original rule, so a seeded run draws the same samples.
    best = tf.one_hot(tf.argmax(iou, axis=1), num_anchors, on_value=True, off_value=False, dtype=tf.bool)
    best &= tf.reduce_max(iou, axis=1, keepdims=True) > target_config['neg_iou_thresh']
    pos = (iou > target_config['pos_iou_thresh']) | best
    neg = (iou < target_config['neg_iou_thresh']) & ~pos
    pos &= ~is_negative[:, None]
    neg |= is_negative[:, None]

    pos_keep = _sample(pos, target_config['max_pos'], seed)
    num_pos = tf.reduce_sum(tf.cast(pos_keep, tf.int32), axis=1)
    neg_keep = _sample(neg, target_config['max_total'] - num_pos, None if seed is None else seed + 1)
    return _targets(anchors, gt_boxes, is_negative, iou, pos, neg, pos_keep, neg_keep)


def _targets(anchors, gt_boxes, is_negative, iou, pos, neg, pos_keep, neg_keep):
    """assign_targets' result dict from the candidate and sampled sets ([B, N] bool)."""
    labels = tf.where(pos_keep, tf.fill(tf.shape(iou), POSITIVE),
                      tf.where(neg_keep, tf.fill(tf.shape(iou), NEGATIVE), tf.fill(tf.shape(iou), IGNORE)))
    safe_gt = tf.where(tf.tile(is_negative[:, None], [1, 4]), tf.ones_like(gt_boxes) * [0., 0., 1., 1.], gt_boxes)
    reg_targets = encode(safe_gt[:, None, :], anchors[None, :, :])
    return {'iou': iou, 'pos_candidates': pos, 'neg_candidates': neg, 'labels': labels,
            'reg_targets': reg_targets}
