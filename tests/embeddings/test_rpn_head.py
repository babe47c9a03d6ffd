"""Tests of the RPN head: kernel/map shapes, the batched correlation against independent references, the matmul
template convs against slim's conv2d, and the fused search head against the separate one."""

import copy

import numpy as np
import pytest
import tensorflow as tf

import configuration
from embeddings import rpn_head
from embeddings.rpn_head import correlate
from siamese_model import SiameseModel
from tests.helpers import cpu_session

slim = tf.contrib.slim


def numpy_correlation(features, kernels):
    """Independent reference: explicit loop over pairs and output positions."""
    batch, height, width, _ = features.shape
    _, kh, kw, _, out = kernels.shape
    result = np.zeros((batch, height - kh + 1, width - kw + 1, out), np.float64)
    for b in range(batch):
        for i in range(height - kh + 1):
            for j in range(width - kw + 1):
                window = features[b, i:i + kh, j:j + kw, :].astype(np.float64)
                result[b, i, j] = np.tensordot(window, kernels[b].astype(np.float64), axes=([0, 1, 2], [0, 1, 2]))
    return result


@pytest.mark.parametrize('batch', [1, 3, 8])
def test_correlation_matches_conv_loop_and_numpy(graph, batch):
    rng = np.random.RandomState(batch)
    features = rng.randn(batch, 9, 11, 16).astype(np.float32)
    kernels = rng.randn(batch, 4, 4, 16, 10).astype(np.float32)
    x = tf.placeholder(tf.float32, [None, None, None, 16])
    k = tf.placeholder(tf.float32, [None, 4, 4, 16, 10])
    static = correlate(tf.constant(features), tf.constant(kernels))  # static batch (direct conv for batch 1)
    dynamic = correlate(x, k)  # unknown batch size
    loop = tf.concat([tf.nn.conv2d(features[i:i + 1], kernels[i], [1, 1, 1, 1], 'VALID') for i in range(batch)], 0)
    with cpu_session(graph) as sess:
        got_static, got_dynamic, got_loop = sess.run([static, dynamic, loop], {x: features, k: kernels})
    expected = numpy_correlation(features, kernels)
    scale = np.abs(expected).max()
    for got in (got_static, got_dynamic, got_loop):
        assert got.shape == (batch, 6, 8, 10)
        assert np.abs(got - expected).max() / scale < 1e-5


@pytest.mark.parametrize('instance_size, score', [(255, 17), (271, 19), (287, 21)])
def test_template_and_detection_shapes(graph, instance_size, score):
    """Template 127 -> 6x6xC features and 4x4 kernels; search 255 -> 22x22 features, 17x17xk maps."""
    model = SiameseModel(configuration.MODEL_CONFIG, mode='inference', instance_size=instance_size)
    model.build()
    feature = (instance_size - 127) // 8 + 6
    assert model.exemplar_embeds.get_shape().as_list() == [None, 6, 6, 256]
    assert model.instance_embeds.get_shape().as_list() == [None, feature, feature, 256]
    assert model.cls_kernels.get_shape().as_list() == [None, 4, 4, 256, 10]
    assert model.reg_kernels.get_shape().as_list() == [None, 4, 4, 256, 20]
    assert model.cls_logits.get_shape().as_list() == [None, score, score, 10]
    assert model.reg_deltas.get_shape().as_list() == [None, score, score, 20]
    assert model.anchors.shape == (score * score * 5, 4)


def test_output_layout_is_anchor_major_within_each_cell(graph):
    """Flattened anchor n = (y*S + x)*k + a reads cls channel a*2+t and reg channel a*4+j at cell (y, x)."""
    model = SiameseModel(configuration.MODEL_CONFIG, mode='inference', instance_size=255)
    model.build()
    rng = np.random.RandomState(0)
    cls_map = rng.randn(1, 17, 17, 10).astype(np.float32)
    reg_map = rng.randn(1, 17, 17, 20).astype(np.float32)
    with cpu_session(graph) as sess:
        logits, deltas = sess.run([model.anchor_logits, model.anchor_deltas],
                                  {model.cls_logits: cls_map, model.reg_deltas: reg_map})
    y, x, a = 3, 11, 4
    n = (y * 17 + x) * 5 + a
    np.testing.assert_array_equal(logits[0, n], cls_map[0, y, x, a * 2:a * 2 + 2])
    np.testing.assert_array_equal(deltas[0, n], reg_map[0, y, x, a * 4:a * 4 + 4])


def relative_error(got, expected):
    """max |got - expected| / max |expected|."""
    return np.abs(np.asarray(got, np.float64) - expected).max() / np.abs(expected).max()


def small_rpn_config(**overrides):
    config = copy.deepcopy(configuration.MODEL_CONFIG['rpn_config'])
    config['feature_out'] = 16
    config.update(overrides)
    return config


def test_image_patches_match_numpy(graph):
    rng = np.random.RandomState(0)
    images = rng.randn(2, 7, 6, 5).astype(np.float32)
    with cpu_session(graph) as sess:
        patches = sess.run(rpn_head.image_patches(tf.constant(images), 3, 2))
    assert patches.shape == (2, 5, 5, 3 * 2 * 5)
    for i in range(3):
        for j in range(2):
            channel = (i * 2 + j) * 5
            np.testing.assert_array_equal(patches[:, :, :, channel:channel + 5], images[:, i:i + 5, j:j + 5, :])


def template_conv_values(template_conv, weights, exemplar_features, upstream):
    """(cls_kernels, reg_kernels, gradients w.r.t. the features and every head variable) of template_kernels with
    the given variable values, in a fresh graph."""
    config = small_rpn_config(template_conv=template_conv)
    with tf.Graph().as_default() as graph:
        features = tf.constant(exemplar_features)
        with slim.arg_scope(rpn_head.rpn_head_arg_scope(config)):
            cls_kernels, reg_kernels = rpn_head.template_kernels(features, config)
        variables = sorted(tf.trainable_variables(), key=lambda v: v.op.name)
        assert [v.op.name for v in variables] == sorted(weights)
        loss = tf.reduce_sum(cls_kernels * upstream[0]) + tf.reduce_sum(tf.square(reg_kernels) * upstream[1])
        regularization = tf.losses.get_regularization_loss()
        grads = tf.gradients(loss, [features] + variables)
        with cpu_session(graph) as sess:
            for variable in variables:
                variable.load(weights[variable.op.name], sess)
            return sess.run([cls_kernels, reg_kernels, regularization] + grads)


def test_matmul_template_convs_equal_conv2d_forward_and_backward():
    """conv2d_as_matmul has slim.conv2d's variables and gives its outputs and gradients to 1e-5 relative."""
    rng = np.random.RandomState(1)
    cin, c, k = 24, 16, 5
    weights = {'rpn_head/conv_cls1/weights': rng.randn(3, 3, cin, 2 * k * c), 'rpn_head/conv_cls1/biases':
               rng.randn(2 * k * c), 'rpn_head/conv_r1/weights': rng.randn(3, 3, cin, 4 * k * c),
               'rpn_head/conv_r1/biases': rng.randn(4 * k * c)}
    weights = {name: value.astype(np.float32) for name, value in weights.items()}
    features = rng.randn(3, 6, 6, cin).astype(np.float32)
    upstream = (rng.randn(3, 4, 4, c, 2 * k).astype(np.float32), rng.randn(3, 4, 4, c, 4 * k).astype(np.float32))
    expected = template_conv_values('conv2d', weights, features, upstream)
    got = template_conv_values('matmul', weights, features, upstream)
    assert len(got) == 3 + 1 + 4
    for got_value, expected_value in zip(got, expected):
        assert np.shape(got_value) == np.shape(expected_value)
        assert relative_error(got_value, expected_value) < 1e-5
    # and both equal an explicit numpy convolution
    reference = np.zeros((3, 4, 4, 2 * k * c))
    w = weights['rpn_head/conv_cls1/weights'].astype(np.float64)
    for y in range(4):
        for x in range(4):
            reference[:, y, x] = np.tensordot(features[:, y:y + 3, x:x + 3].astype(np.float64), w, 3)
    reference += weights['rpn_head/conv_cls1/biases']
    assert relative_error(got[0], reference.reshape(3, 4, 4, c, 2 * k)) < 1e-5


def test_unknown_template_conv_is_rejected(graph):
    config = small_rpn_config(template_conv='winograd')
    with pytest.raises(ValueError, match="template_conv.*winograd"):
        rpn_head.template_kernels(tf.zeros([1, 6, 6, 8]), config)


@pytest.mark.parametrize('batch', [1, 2])
def test_fused_search_head_equals_separate_head(graph, batch):
    """The fused 6x6 conv (kernel and bias from the template step) gives the separate head's maps to 1e-4."""
    config = small_rpn_config()
    rng = np.random.RandomState(batch)
    cin = 24
    exemplar_features = tf.constant(rng.randn(batch, 6, 6, cin).astype(np.float32))
    search_features = tf.constant(rng.randn(batch, 24, 24, cin).astype(np.float32))
    with slim.arg_scope(rpn_head.rpn_head_arg_scope(config)):
        cls_kernels, reg_kernels = rpn_head.template_kernels(exemplar_features, config)
        cls_features, reg_features = rpn_head.search_features(search_features, config)
        separate = rpn_head.rpn_outputs(cls_features, reg_features, cls_kernels, reg_kernels)
        fused_head = rpn_head.fuse_search_head(cls_kernels, reg_kernels, cin, config, reuse=True)
    fused = rpn_head.fused_outputs(search_features, fused_head.kernel, fused_head.bias, config)
    assert fused_head.kernel.get_shape().as_list() == [batch, 6, 6, cin, 30]
    assert fused_head.bias.get_shape().as_list() == [batch, 30]
    with cpu_session(graph) as sess:
        sess.run(tf.global_variables_initializer())
        for variable in tf.trainable_variables():  # non-zero biases, so the folded bias is tested too
            if variable.op.name.endswith('biases'):
                variable.load(rng.randn(*variable.get_shape().as_list()).astype(np.float32), sess)
        expected, got = sess.run([separate, fused])
    for got_map, expected_map, channels in zip(got, expected, (10, 20)):
        assert got_map.shape == expected_map.shape == (batch, 19, 19, channels)
        assert relative_error(got_map, expected_map) < 1e-4


def test_inference_model_uses_the_fused_head_by_default(graph):
    model = SiameseModel(configuration.MODEL_CONFIG, mode='inference', instance_size=271)
    model.build()
    assert list(model.template) == ['fused_kernel', 'fused_bias']
    assert model.template['fused_kernel'].get_shape().as_list() == [None, 6, 6, 256, 30]
    names = {v.op.name for v in tf.global_variables()}
    assert {'rpn_head/conv_cls2/weights', 'rpn_head/conv_r2/biases', 'rpn_head/regress_adjust/weights'} <= names
    with pytest.raises(ValueError, match='set_template needs'):
        model.set_template({'cls_kernels': model.cls_kernels, 'reg_kernels': model.reg_kernels})
