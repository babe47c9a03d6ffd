"""Tests of the SiamRPN AlexNet embedding: DaSiamRPN's parameter counts and feature shapes."""

import copy

import numpy as np
import pytest
import tensorflow as tf

import configuration
from embeddings.siamrpn_alexnet import (BN_STATISTICS, LAYERS, batch_norm, fold_batch_norm_arrays,
                                        folded_conv_constants, moving_average_updates, scaled_channels,
                                        siamrpn_alexnet, siamrpn_alexnet_arg_scope, winograd_layers)
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


def _random_embedding_values(rng, width, scope='siamrpn_alexnet'):
    """Random conv weights and non-trivial BN parameters and statistics for every layer."""
    values, channels = {}, 3
    for name, out, kernel in zip(LAYERS, scaled_channels(width), (11, 5, 3, 3, 3)):
        prefix = '%s/%s/' % (scope, name)
        values[prefix + 'conv/weights'] = rng.randn(kernel, kernel, channels, out) * np.sqrt(2. / (kernel ** 2 *
                                                                                                 channels))
        values[prefix + 'conv/biases'] = rng.randn(out) * 0.1
        values[prefix + 'BatchNorm/gamma'] = rng.uniform(0.5, 1.5, out)
        values[prefix + 'BatchNorm/beta'] = rng.randn(out) * 0.2
        values[prefix + 'BatchNorm/moving_mean'] = rng.randn(out) * 0.5
        values[prefix + 'BatchNorm/moving_variance'] = rng.uniform(0.5, 4., out)
        channels = out
    return {key: value.astype(np.float32) for key, value in values.items()}


def test_fold_batch_norm_arrays_is_the_bn_formula():
    """w' = w * gamma / sqrt(var + eps), b' = (b - mean) * gamma / sqrt(var + eps) + beta, per output channel, with
    fused BN's epsilon floor."""
    values = _random_embedding_values(np.random.RandomState(0), 0.25)
    folded = fold_batch_norm_arrays(values, 0.25, 1e-7)
    prefix = 'siamrpn_alexnet/conv3/'
    w, b = values[prefix + 'conv/weights'].astype(np.float64), values[prefix + 'conv/biases']
    gamma, beta = values[prefix + 'BatchNorm/gamma'], values[prefix + 'BatchNorm/beta']
    mean, var = values[prefix + 'BatchNorm/moving_mean'], values[prefix + 'BatchNorm/moving_variance']
    channel = 5
    scale = gamma[channel] / np.sqrt(var[channel] + 1.001e-5)  # 1e-7 is raised to fused BN's 1.001e-5
    np.testing.assert_allclose(folded['conv3'][0][..., channel], w[..., channel] * scale, rtol=1e-6)
    np.testing.assert_allclose(folded['conv3'][1][channel], (b[channel] - mean[channel]) * scale + beta[channel],
                               rtol=1e-6)
    assert sorted(folded) == sorted(LAYERS) and folded['conv1'][0].dtype == np.float32


def test_fold_batch_norm_arrays_names_missing_and_misshapen_values():
    values = _random_embedding_values(np.random.RandomState(1), 0.25)
    missing = dict(values)
    del missing['siamrpn_alexnet/conv2/BatchNorm/moving_variance']
    with pytest.raises(ValueError, match='no value for siamrpn_alexnet/conv2/BatchNorm/moving_variance'):
        fold_batch_norm_arrays(missing, 0.25, 1e-3)
    with pytest.raises(ValueError, match=r'conv1/conv/weights has shape \(11, 11, 3, 24\), expected \(11, 11, 3, 48\)'):
        fold_batch_norm_arrays(values, 0.5, 1e-3)


@pytest.mark.parametrize('conv_algorithm, width', [('direct', 0.25), ('winograd', 0.5)])
def test_folded_embedding_equals_conv_bn_embedding(graph, conv_algorithm, width):
    """The embedding with BN folded into constant convs (ReLU before the pools; stride-1 convs direct, or Winograd at
    width 0.5, where conv2-conv5 have >= 128 outputs) gives the conv + BN + pool + ReLU embedding's features to 1e-4
    relative, on 127 and 143 images; it creates no variables."""
    values = _random_embedding_values(np.random.RandomState(2), width)
    config = dict(configuration.MODEL_CONFIG['embed_config'])
    images = {size: tf.constant(np.random.RandomState(size).uniform(0, 255, (2, size, size, 3)), tf.float32)
              for size in (127, 143)}
    with slim.arg_scope(siamrpn_alexnet_arg_scope(config, is_training=False)):
        reference = {size: siamrpn_alexnet(image, width, reuse=size != 127)[0] for size, image in images.items()}
    variables = tf.global_variables()
    constants = folded_conv_constants(fold_batch_norm_arrays(values, width, config['bn_epsilon']),
                                      conv_algorithm=conv_algorithm)
    with slim.arg_scope(siamrpn_alexnet_arg_scope(config, is_training=False)):
        with slim.arg_scope([siamrpn_alexnet], folded_convs=constants):
            folded = {size: siamrpn_alexnet(image, width, scope='folded_copy')[0] for size, image in images.items()}
    assert tf.global_variables() == variables  # the folded embedding made no variables
    with tf.Session() as sess:
        for variable in variables:
            variable.load(values[variable.op.name], sess)
        want, got = sess.run([reference, folded])
    for size in images:
        assert got[size].shape == want[size].shape
        assert np.abs(got[size] - want[size]).max() <= 1e-4 * np.abs(want[size]).max()


def test_winograd_embedding_has_the_direct_variables_outputs_and_gradients(graph):
    """conv_algorithm='winograd' creates the same variables (names, shapes, regularisers, update ops) as 'direct', and
    on the same values gives the same features and gradients to 1e-4 relative (training mode, 135 images; the conv
    biases are left out: batch statistics cancel them, so their gradients are float rounding around 0)."""
    width = 0.5  # conv2-conv5 have >= 128 outputs, so all four run as Winograd convolutions
    assert winograd_layers(width) == ('conv2', 'conv3', 'conv4', 'conv5')
    config = dict(configuration.MODEL_CONFIG['embed_config'], weight_decay=5e-4)
    images = tf.constant(np.random.RandomState(4).uniform(0, 255, (2, 135, 135, 3)), tf.float32)
    outputs = {}
    for algorithm in ('direct', 'winograd'):
        with slim.arg_scope(siamrpn_alexnet_arg_scope(config, is_training=True)):
            outputs[algorithm] = siamrpn_alexnet(images, width, scope=algorithm, conv_algorithm=algorithm,
                                                 frozen_layers=('conv1',))[0]

    def names(collection, algorithm):
        return sorted(v.op.name[len(algorithm):] for v in tf.get_collection(collection)
                      if v.op.name.startswith(algorithm + '/'))
    for collection in (tf.GraphKeys.GLOBAL_VARIABLES, tf.GraphKeys.TRAINABLE_VARIABLES, tf.GraphKeys.MODEL_VARIABLES):
        assert names(collection, 'direct') == names(collection, 'winograd')
    losses = {a: tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES, scope=a) for a in outputs}
    assert len(losses['direct']) == len(losses['winograd']) == 4  # conv2-conv5 (conv1 is frozen)
    updates = {a: len(tf.get_collection(tf.GraphKeys.UPDATE_OPS, scope=a)) for a in outputs}
    assert updates['direct'] == updates['winograd'] == 8
    with pytest.raises(ValueError, match='conv_algorithm'):
        siamrpn_alexnet(images, width, scope='other', conv_algorithm='fft')
    variables = {a: {v.op.name[len(a) + 1:]: v for v in tf.global_variables() if v.op.name.startswith(a + '/')}
                 for a in outputs}
    trainable = {a: sorted((v for v in tf.trainable_variables()
                            if v.op.name.startswith(a + '/') and not v.op.name.endswith('conv/biases')),
                           key=lambda v: v.op.name) for a in outputs}
    projection = tf.constant(np.random.RandomState(6).randn(*outputs['direct'].get_shape().as_list()), tf.float32)
    gradients = {a: tf.gradients(tf.reduce_sum(outputs[a] * projection), trainable[a]) for a in outputs}
    values = _random_embedding_values(np.random.RandomState(5), width, scope='direct')
    with tf.Session() as sess:
        for algorithm in outputs:
            for name, variable in variables[algorithm].items():
                variable.load(values['direct/' + name], sess)
        got = sess.run({'features': outputs, 'gradients': gradients})
    want = got['features']['direct']
    assert np.abs(got['features']['winograd'] - want).max() <= 1e-4 * np.abs(want).max()
    for want, value in zip(got['gradients']['direct'], got['gradients']['winograd']):
        assert np.abs(value - want).max() <= 1e-4 * np.abs(want).max()


def test_winograd_layers_are_the_stride_1_layers_with_128_outputs_or_more():
    """Winograd pays from 128 output channels on (docs/speed.md): none of the width-0.25 demo models' layers."""
    assert winograd_layers(1.0) == winograd_layers(2.0) == ('conv2', 'conv3', 'conv4', 'conv5')
    assert winograd_layers(0.25) == ()
    assert winograd_layers(0.4) == ('conv3', 'conv4')  # outputs 102, 154, 154, 102
