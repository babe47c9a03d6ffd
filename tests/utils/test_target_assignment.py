"""Tests of in-graph target assignment against numpy thresholds and the sampling limits: the 'legacy' rule, and the
'pysot' rule against a numpy transcription of pysot's AnchorTarget."""

import numpy as np
import pytest
import tensorflow as tf

import configuration
from tests.helpers import cpu_session
from utils.anchors import generate_anchors
from utils.box_coding import encode
from utils.target_assignment import assign_targets, check_target_config

CONFIG = dict(configuration.TRAIN_CONFIG['target_config'], rule='legacy')  # the legacy rule's tests; PYSOT below
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


# ---- The 'pysot' rule against a numpy transcription of pysot's AnchorTarget (pysot/datasets/anchor_target.py) ----

PYSOT = dict(CONFIG, **configuration.TRAINING_RULE_PRESETS['pysot']['target_config'])
SIZE, STRIDE, SEARCH_SIZE, K = 17, 8, 255, 5  # the training score map of the 255 search crop (score_size(255, 127, 8))
# Negative pairs: box centres (anchor frame) inside the map, at cell boundaries (4 / 8 + 0.5 = 1 exactly) and near
# or beyond the border, where pysot clips the 7x7 window ((80, 80): one corner cell, 5 anchors; +-100 px: the window
# lies fully outside, nothing is sampled).
NEGATIVE_CENTRES = [(0., 0.), (4., -4.), (4.01, -3.99), (-64., 60.), (64., -64.), (-100., 0.), (30., 100.),
                    (-13.7, 51.2), (80., 80.)]


def pysot_reference(box, negative, config=PYSOT):
    """One pair by pysot's AnchorTarget, transcribed to numpy: (positive [N] bool, negative [N] bool) candidates and
    the numbers pysot keeps of each (select(): all when there are fewer)."""
    if negative:
        # pysot works in search-image pixels, where the centre cell looks at SEARCH_SIZE // 2, as ours at offset 0.
        tcx, tcy = box[0] + SEARCH_SIZE // 2, box[1] + SEARCH_SIZE // 2
        cx = SIZE // 2 + int(np.ceil((tcx - SEARCH_SIZE // 2) / STRIDE + 0.5))
        cy = SIZE // 2 + int(np.ceil((tcy - SEARCH_SIZE // 2) / STRIDE + 0.5))
        left, right, up, down = max(0, cx - 3), min(SIZE, cx + 4), max(0, cy - 3), min(SIZE, cy + 4)
        cls = -np.ones((SIZE, SIZE, K), int)  # this port's order: (y, x, anchor)
        cls[up:down, left:right] = 0
        neg = cls.reshape(-1) == 0
        return np.zeros_like(neg), neg, 0, min(neg.sum(), config['neg_num'])
    iou = np.array([numpy_iou(a, box) for a in ANCHORS])
    pos, neg = iou > config['pos_iou_thresh'], iou < config['neg_iou_thresh']
    return pos, neg, min(pos.sum(), config['max_pos']), min(neg.sum(), config['max_total'] - config['max_pos'])


def _pysot_batch():
    rng = np.random.RandomState(5)
    gt = _random_gt(rng, 24)
    gt[:4] = [[0, 0, 64, 64], [8, -16, 64, 64], [40, 24, 70, 60], [-24, 32, 60, 66]]  # 9 positive candidates
    gt[4:6, 2:] = [9, 10]  # tiny boxes: best IoU below 0.6, so no positives under 'pysot'
    negatives = np.array([[x, y, 60., 40.] for x, y in NEGATIVE_CENTRES], np.float32)
    is_negative = np.r_[np.zeros(len(gt), bool), np.ones(len(negatives), bool)]
    return np.concatenate([gt, negatives]), is_negative


# pysot's counts at smaller limits, so that the positive pairs have more candidates than the limits
CAPPED = dict(PYSOT, max_pos=4, max_total=12, neg_num=5)


@pytest.fixture(scope='module')
def pysot_run():
    """The 'pysot' targets of one batch: with seed 0 (twice: the first draws of two graphs), seed 1 and at the
    CAPPED limits, and a second draw of seed 0's op."""
    gt, is_negative = _pysot_batch()
    draws = []
    for _ in range(2):
        with tf.Graph().as_default() as graph:
            targets = [assign_targets(ANCHORS, tf.constant(gt), tf.constant(is_negative), config, seed=seed,
                                      stride=STRIDE) for config, seed in ((PYSOT, 0), (PYSOT, 1), (CAPPED, 2))]
            with cpu_session(graph) as sess:
                draws.append(sess.run(targets))
                if len(draws) == 1:
                    draws.append(sess.run(targets[0]))
    first, next_draw, rebuilt = draws
    return gt, is_negative, first, (next_draw, rebuilt[0])


@pytest.mark.parametrize('config, index', [(PYSOT, 0), (CAPPED, 2)])
def test_pysot_candidates_and_counts_match_the_numpy_transcription(pysot_run, config, index):
    gt, is_negative, outs, _ = pysot_run
    out = outs[index]
    labels = out['labels']
    for b in range(len(gt)):
        pos, neg, num_pos, num_neg = pysot_reference(gt[b], is_negative[b], config)
        np.testing.assert_array_equal(out['pos_candidates'][b], pos, err_msg='pair %d' % b)
        np.testing.assert_array_equal(out['neg_candidates'][b], neg, err_msg='pair %d' % b)
        assert (labels[b] == 1).sum() == num_pos and (labels[b] == 0).sum() == num_neg, b
        assert not ((labels[b] == 1) & ~pos).any() and not ((labels[b] == 0) & ~neg).any()
    # the limits: max_pos positives, max_total - max_pos negatives whatever the positives, neg_num for negative pairs
    positive_pairs = labels[~is_negative]
    most = out['pos_candidates'].sum(1).max()
    assert (positive_pairs == 1).sum(1).max() == min(config['max_pos'], most) and most > CAPPED['max_pos']
    assert ((positive_pairs == 0).sum(1) == config['max_total'] - config['max_pos']).all()
    assert (labels[is_negative] == 1).sum() == 0 and (labels[is_negative] == 0).sum(1).max() == config['neg_num']
    assert (labels[4:6] == 1).sum() == 0  # no best-anchor positive below pos_iou_thresh


def test_pysot_labels_respect_the_iou_bounds(pysot_run):
    gt, is_negative, (out, _, _), _ = pysot_run
    positive_pairs = ~is_negative
    iou, labels = out['iou'][positive_pairs], out['labels'][positive_pairs]
    assert (iou[labels == 1] > 0.6).all() and (iou[labels == 0] < 0.3).all()
    np.testing.assert_allclose(iou, [[numpy_iou(a, g) for a in ANCHORS] for g in gt[positive_pairs]], atol=1e-5)


def test_pysot_negative_pairs_sample_inside_the_window_of_their_box(pysot_run):
    gt, is_negative, (out, _, _), _ = pysot_run
    cell_x, cell_y = np.meshgrid(np.arange(SIZE), np.arange(SIZE))
    cells = np.stack([cell_x, cell_y], axis=-1)[:, :, None, :].repeat(K, axis=2).reshape(-1, 2)  # [N, 2] (x, y)
    for b in np.flatnonzero(is_negative):
        centre = [SIZE // 2 + int(np.ceil(c / STRIDE + 0.5)) for c in gt[b, :2]]
        sampled = out['labels'][b] == 0
        assert (np.abs(cells[sampled] - centre) <= 3).all(), gt[b]
        window = (np.abs(cells - centre) <= 3).all(axis=1)
        assert sampled.sum() == min(window.sum(), 16), gt[b]
    counts = (out['labels'][is_negative] == 0).sum(1)
    np.testing.assert_array_equal(counts, [16, 16, 16, 16, 16, 0, 0, 16, 5])


def test_pysot_sampling_is_seeded_and_random(pysot_run):
    _, _, (first, other_seed, _), (next_draw, rebuilt) = pysot_run
    np.testing.assert_array_equal(first['labels'], rebuilt['labels'])  # the same seed in a new graph: the same draw
    assert not (first['labels'] == next_draw['labels']).all()  # the next step draws other anchors
    assert not (first['labels'] == other_seed['labels']).all()  # and so does another seed
    np.testing.assert_array_equal((first['labels'] == 0).sum(1), (next_draw['labels'] == 0).sum(1))
    np.testing.assert_array_equal(first['pos_candidates'], other_seed['pos_candidates'])
    np.testing.assert_array_equal(first['neg_candidates'], other_seed['neg_candidates'])


def test_pysot_regression_targets_and_negative_pairs(pysot_run):
    gt, is_negative, (out, _, _), _ = pysot_run
    np.testing.assert_allclose(out['reg_targets'][~is_negative], encode(gt[~is_negative, None, :], ANCHORS[None]),
                               rtol=1e-4, atol=1e-5)
    assert np.isfinite(out['reg_targets']).all()


def test_bad_target_config_is_named():
    for key, value, match in (('rule', 'pysott', r"target_config\.rule must be one of 'legacy', 'pysot', got "
                                                 r"'pysott'"),
                              ('neg_num', -1, r'target_config\.neg_num must be an integer >= 0, got -1')):
        with pytest.raises(ValueError, match=match):
            check_target_config(dict(PYSOT, **{key: value}))
    with pytest.raises(ValueError, match='needs the stride'):
        assign_targets(ANCHORS, np.zeros((1, 4), np.float32), [False], PYSOT)
