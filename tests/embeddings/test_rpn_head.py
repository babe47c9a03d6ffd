"""Tests of the RPN head: kernel/map shapes and the batched correlation against independent references."""

import numpy as np
import pytest
import tensorflow as tf

import configuration
from embeddings.rpn_head import correlate
from siamese_model import SiameseModel
from tests.helpers import cpu_session


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
