"""Tests of in-graph target assignment against numpy thresholds and the sampling limits."""

import numpy as np
import pytest
import tensorflow as tf

import configuration
from tests.helpers import cpu_session
from utils.anchors import generate_anchors
from utils.box_coding import encode
from utils.target_assignment import assign_targets

CONFIG = configuration.TRAIN_CONFIG['target_config']
ANCHORS = generate_anchors(8, [0.33, 0.5, 1, 2, 3], [8], 17)


def numpy_iou(anchor, box):
    """Independent scalar IoU of two cx,cy,w,h boxes."""
    ax1, ay1, ax2, ay2 = anchor[0] - anchor[2] / 2, anchor[1] - anchor[3] / 2, anchor[0] + anchor[2] / 2, \
        anchor[1] + anchor[3] / 2
    bx1, by1, bx2, by2 = box[0] - box[2] / 2, box[1] - box[3] / 2, box[0] + box[2] / 2, box[1] + box[3] / 2
    inter = max(0., min(ax2, bx2) - max(ax1, bx1)) * max(0., min(ay2, by2) - max(ay1, by1))
    return inter / (anchor[2] * anchor[3] + box[2] * box[3] - inter)


def _random_gt(rng, n):
    return np.stack([rng.uniform(-60, 60, n), rng.uniform(-60, 60, n), rng.uniform(15, 160, n),
                     rng.uniform(15, 160, n)], axis=1).astype(np.float32)


def _run(graph, gt, negative, seed=0):
    targets = assign_targets(ANCHORS, tf.constant(gt), tf.constant(negative), CONFIG, seed=seed)
    with cpu_session(graph) as sess:
        return sess.run(targets)


def test_iou_and_candidates_match_numpy(graph):
    rng = np.random.RandomState(0)
    gt = _random_gt(rng, 12)
    out = _run(graph, gt, np.zeros(12, bool))
    iou = np.array([[numpy_iou(a, g) for a in ANCHORS] for g in gt])
    np.testing.assert_allclose(out['iou'], iou, atol=1e-5)
    best = iou.argmax(axis=1)
    expected_pos = iou > CONFIG['pos_iou_thresh']
    for b in range(len(gt)):
        if iou[b, best[b]] > CONFIG['neg_iou_thresh']:
            expected_pos[b, best[b]] = True
    expected_neg = (iou < CONFIG['neg_iou_thresh']) & ~expected_pos
    np.testing.assert_array_equal(out['pos_candidates'], expected_pos)
    np.testing.assert_array_equal(out['neg_candidates'], expected_neg)
    np.testing.assert_allclose(out['reg_targets'], encode(gt[:, None, :], ANCHORS[None]), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize('seed', [0, 1, 2])
def test_sampling_limits(graph, seed):
    rng = np.random.RandomState(seed)
    gt = _random_gt(rng, 32)
    gt[:4, 2:] = [64, 64]  # boxes equal to anchors: many positives
    negative = np.zeros(32, bool)
    negative[-3:] = True
    out = _run(graph, gt, negative, seed=seed)
    labels = out['labels']
    num_pos, num_neg = (labels == 1).sum(axis=1), (labels == 0).sum(axis=1)
    assert (num_pos <= CONFIG['max_pos']).all()
    assert (num_pos + num_neg <= CONFIG['max_total']).all()
    # Sampled anchors are candidates, and nothing is dropped below the limits.
    assert not ((labels == 1) & ~out['pos_candidates']).any()
    assert not ((labels == 0) & ~out['neg_candidates']).any()
    np.testing.assert_array_equal(num_pos, np.minimum(out['pos_candidates'].sum(1), CONFIG['max_pos']))
    np.testing.assert_array_equal(num_pos + num_neg, np.minimum(
        num_pos + out['neg_candidates'].sum(1), CONFIG['max_total']))
    # Negative pairs: no positives, all anchors negative candidates, 64 negatives sampled.
    assert (num_pos[-3:] == 0).all() and (num_neg[-3:] == CONFIG['max_total']).all()
    assert out['neg_candidates'][-3:].all()


def test_best_anchor_is_positive_when_above_negative_threshold(graph):
    rng = np.random.RandomState(3)
    gt = _random_gt(rng, 64)
    gt[:8, 2:] = rng.uniform(5, 12, (8, 2))  # tiny boxes: best IoU often between 0.3 and 0.6, or below 0.3
    out = _run(graph, gt, np.zeros(64, bool))
    for b in range(64):
        best = out['iou'][b].argmax()
        if out['iou'][b, best] > CONFIG['neg_iou_thresh']:
            assert out['pos_candidates'][b, best]
            if out['pos_candidates'][b].sum() <= CONFIG['max_pos']:
                assert out['labels'][b, best] == 1
        else:
            assert not out['pos_candidates'][b].any()


def test_sampling_is_random_across_steps(graph):
    gt = np.array([[0., 0., 64., 64.]], np.float32)
    targets = assign_targets(ANCHORS, tf.constant(gt), tf.constant([False]), CONFIG)
    with cpu_session(graph) as sess:
        draws = [sess.run(targets['labels']) for _ in range(3)]
    assert not all((d == draws[0]).all() for d in draws[1:])
