"""Tests of bench_train.py's re-creation of the earlier port's numpy target assignment: the same rules as the
in-graph assignment (utils/target_assignment.py)."""

import numpy as np
import tensorflow as tf

import configuration
from benchmarks.bench_train import numpy_targets
from tests.helpers import cpu_session
from utils.anchors import generate_anchors
from utils.target_assignment import assign_targets


def test_numpy_targets_follow_the_in_graph_rules(graph):
    config = configuration.TRAIN_CONFIG['target_config']
    anchors = generate_anchors(8, [0.33, 0.5, 1, 2, 3], [8], 17).astype(np.float32)
    gt = np.array([[10., -6., 70., 50.], [-40., 30., 20., 90.], [0., 0., 30., 30.]], np.float32)
    negative = np.array([False, False, True])
    targets = assign_targets(anchors, gt, negative, config, seed=1)
    with cpu_session(graph) as sess:
        expected = sess.run(targets)
    rng = np.random.RandomState(0)
    for b in range(3):
        labels, deltas = numpy_targets(anchors, gt[b], negative[b], config, rng)
        assert labels.dtype == np.int32 and deltas.shape == (len(anchors), 4) and deltas.dtype == np.float32
        positives, negatives = labels == 1, labels == 0
        # subsamples of the same candidate sets, of the same sizes
        assert not (positives & ~expected['pos_candidates'][b]).any()
        assert not (negatives & ~expected['neg_candidates'][b]).any()
        assert positives.sum() == (expected['labels'][b] == 1).sum() <= config['max_pos']
        assert negatives.sum() == (expected['labels'][b] == 0).sum()
        assert positives.sum() + negatives.sum() <= config['max_total']
        if not negative[b]:
            np.testing.assert_allclose(deltas, expected['reg_targets'][b], rtol=1e-5, atol=1e-5)
