"""Tests of the SiamRPN AlexNet embedding: DaSiamRPN's parameter counts and feature shapes."""

import copy

import numpy as np
import pytest
import tensorflow as tf

import configuration
from embeddings.siamrpn_alexnet import (BN_STATISTICS, batch_norm, moving_average_updates, scaled_channels,
                                        siamrpn_alexnet, siamrpn_alexnet_arg_scope)
from siamese_model import SiameseModel

slim = tf.contrib.slim


def _count(variables):
    return int(sum(np.prod(v.get_shape().as_list()) for v in variables))


@pytest.mark.parametrize('arch, expected', [('otb', 22632932), ('big', 90436132)])
def test_parameter_count_equals_dasiamrpn(graph, arch, expected):
    """SiamRPNotb has 22,632,932 parameters and SiamRPNBIG 90,436,132 (BN gamma/beta included, stats not)."""
    model = SiameseModel(configuration.model_config_for(arch), mode='inference', instance_size=271)
    model.build()
    assert _count(tf.trainable_variables()) == expected


def test_channels_scale_with_width():
    assert scaled_channels(1) == (96, 256, 384, 384, 256)
    assert scaled_channels(2) == (192, 512, 768, 768, 512)
    assert scaled_channels(0.25) == (24, 64, 96, 96, 64)
    with pytest.raises(ValueError, match='width_multiplier'):
        scaled_channels(0)


@pytest.mark.parametrize('size, expected', [(127, 6), (255, 22), (271, 24), (287, 26)])
def test_feature_sizes(graph, size, expected):
    config = configuration.MODEL_CONFIG['embed_config']
    with slim.arg_scope(siamrpn_alexnet_arg_scope(config)):
        features, end_points = siamrpn_alexnet(tf.zeros([2, size, size, 3]), 1.0)
    assert features.get_shape().as_list() == [2, expected, expected, 256]
    assert sorted(end_points) == ['conv1', 'conv2', 'conv3', 'conv4', 'conv5']


def test_frozen_layers_are_not_trainable_and_use_moving_stats(graph):
    config = copy.deepcopy(configuration.MODEL_CONFIG['embed_config'])
    with slim.arg_scope(siamrpn_alexnet_arg_scope(config, is_training=True)):
        siamrpn_alexnet(tf.zeros([1, 127, 127, 3]), 0.25, frozen_layers=('conv1', 'conv2'))
    trainable = {v.op.name for v in tf.trainable_variables()}
    assert not any(name.startswith(('siamrpn_alexnet/conv1/', 'siamrpn_alexnet/conv2/')) for name in trainable)
    assert 'siamrpn_alexnet/conv3/conv/weights' in trainable
    updates = {op.name for op in tf.get_collection(tf.GraphKeys.UPDATE_OPS)}
    assert not any('/conv1/' in name or '/conv2/' in name for name in updates)
    assert any('/conv3/' in name for name in updates)
    with pytest.raises(ValueError, match='unknown frozen layers'):
        siamrpn_alexnet(tf.zeros([1, 127, 127, 3]), 0.25, frozen_layers=('conv9',), scope='other')


def test_batch_norm_reproduces_slim_and_defers_updates_on_request(graph):
    """Default mode: the same outputs and moving-average updates as slim.batch_norm. Deferred mode: no update ops,
    recorded statistics whose updates (moving_average_updates) equal numpy's EMA with the Bessel-corrected
    batch variance."""
    rng = np.random.RandomState(0)
    values = rng.normal(3., 2., (4, 9, 9, 5)).astype(np.float32)
    inputs = tf.constant(values)
    ours = batch_norm(inputs, decay=0.9, epsilon=1e-5, scope='ours')
    theirs = slim.batch_norm(inputs, decay=0.9, epsilon=1e-5, center=True, scale=True, is_training=True,
                             scope='theirs')
    updates = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
    assert len(updates) == 4
    deferred = batch_norm(inputs, decay=0.9, epsilon=1e-5, defer_updates=True, scope='deferred')
    assert len(tf.get_collection(tf.GraphKeys.UPDATE_OPS)) == 4
    records = tf.get_collection(BN_STATISTICS)
    assert [r.variable.op.name for r in records] == ['deferred/moving_mean', 'deferred/moving_variance']
    deferred_updates = moving_average_updates(records + records)  # two steps, applied in order
    names = ['gamma', 'beta', 'moving_mean', 'moving_variance']
    assert [v.op.name for v in tf.global_variables()][:4] == ['ours/' + n for n in names]
    assert {v.op.name for v in tf.get_collection(tf.GraphKeys.MODEL_VARIABLES)} >= {'ours/' + n for n in names}
    assert {v.op.name for v in tf.trainable_variables() if v.op.name.startswith('ours/')} == {'ours/gamma', 'ours/beta'}
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        a, b, c = sess.run([ours, theirs, deferred])
        sess.run(updates)
        sess.run(deferred_updates)
        stats = {scope: sess.run(['%s/moving_mean:0' % scope, '%s/moving_variance:0' % scope])
                 for scope in ('ours', 'theirs', 'deferred')}
    assert np.array_equal(a, b) and np.array_equal(a, c)
    assert all(np.array_equal(x, y) for x, y in zip(stats['ours'], stats['theirs']))
    flat = values.reshape(-1, 5).astype(np.float64)
    mean, variance = np.zeros(5), np.ones(5)
    for _ in range(2):
        mean = 0.9 * mean + 0.1 * flat.mean(axis=0)
        variance = 0.9 * variance + 0.1 * flat.var(axis=0, ddof=1)
    np.testing.assert_allclose(stats['deferred'][0], mean, rtol=1e-5)
    np.testing.assert_allclose(stats['deferred'][1], variance, rtol=1e-5)


def test_batch_norm_wants_a_python_bool(graph):
    with pytest.raises(TypeError, match='Python bool'):
        batch_norm(tf.zeros([1, 4, 4, 2]), is_training=tf.constant(True))
