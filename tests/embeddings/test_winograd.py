"""Tests of embeddings/winograd.py against direct correlations computed in numpy float64."""

import numpy as np
import pytest
import tensorflow as tf

from embeddings import winograd
from tests.helpers import cpu_session

TILES = [(2, 3), (4, 3), (2, 5), (3, 5)]  # (m, r): the embedding's F(4,3) and F(3,5), and smaller ones


def correlate_1d(d, g):
    return np.array([np.dot(d[i:i + len(g)], g) for i in range(len(d) - len(g) + 1)])


def correlate_2d(x, w):
    """VALID stride-1 NHWC x HWIO correlation in float64 (tf.nn.conv2d's definition)."""
    r = w.shape[0]
    b, h, wd, _ = x.shape
    out = np.zeros((b, h - r + 1, wd - r + 1, w.shape[3]))
    for i in range(r):
        for j in range(r):
            out += np.einsum('bhwc,co->bhwo', x[:, i:i + h - r + 1, j:j + wd - r + 1, :], w[i, j])
    return out


@pytest.mark.parametrize('m, r', TILES)
def test_toom_cook_matrices_compute_the_1d_correlation(m, r):
    """A^T [(G g) * (B^T d)] equals sum_k d_(i+k) g_k for random d, g (float64, to 1e-12)."""
    a_t, g_mat, b_t = winograd.toom_cook_matrices(m, r)
    n = m + r - 1
    assert a_t.shape == (m, n) and g_mat.shape == (n, r) and b_t.shape == (n, n)
    rng = np.random.RandomState(m * 10 + r)
    for _ in range(5):
        d, g = rng.randn(n), rng.randn(r)
        np.testing.assert_allclose(a_t.dot(g_mat.dot(g) * b_t.dot(d)), correlate_1d(d, g), atol=1e-12)


def test_toom_cook_matrices_name_unsupported_tiles():
    with pytest.raises(ValueError, match=r'F\(6, 5\)'):
        winograd.toom_cook_matrices(6, 5)


def test_transform_filters_numpy_and_graph_agree(graph):
    """G g G^T from numpy (float64) and from the graph (float32) are the same array."""
    weights = np.random.RandomState(0).randn(5, 5, 3, 4).astype(np.float32)
    want = winograd.transform_filters(weights, 3)
    got = winograd.transform_filters_tf(tf.constant(weights), 3)
    assert (want.output_tile, want.filter_size) == (got.output_tile, got.filter_size) == (3, 5)
    with cpu_session(graph) as sess:
        np.testing.assert_allclose(sess.run(got.transformed), want.transformed, rtol=1e-5, atol=1e-5)
    assert want.transformed.shape == (49, 3, 4) and want.transformed.dtype == np.float32
    with pytest.raises(ValueError, match='square HWIO'):
        winograd.transform_filters(np.zeros((3, 5, 2, 2)), 2)


@pytest.mark.parametrize('m, r', TILES)
def test_conv2d_is_the_valid_correlation(graph, m, r):
    """Batch 2, a non-square input whose output is not a whole number of tiles (padding and crop), against numpy
    float64 and tf.nn.conv2d: within 2e-5 of the output's range."""
    rng = np.random.RandomState(r * 10 + m)
    x = rng.uniform(-1, 1, (2, 13 + r, 10 + r, 5)).astype(np.float32)
    w = rng.uniform(-1, 1, (r, r, 5, 6)).astype(np.float32)
    want = correlate_2d(x.astype(np.float64), w.astype(np.float64))
    got = winograd.conv2d(tf.constant(x), winograd.transform_filters(w, m))
    direct = tf.nn.conv2d(tf.constant(x), tf.constant(w), [1, 1, 1, 1], 'VALID')
    assert got.get_shape().as_list() == list(want.shape) == [2, 14, 11, 6]
    with cpu_session(graph) as sess:
        got, direct = sess.run([got, direct])
    scale = np.abs(want).max()
    assert np.abs(got - want).max() <= 2e-5 * scale
    assert np.abs(direct - want).max() <= 2e-5 * scale


def test_conv2d_gradients_match_the_direct_convolution(graph):
    """Gradients of a loss with respect to the input and to the (untransformed) filters, through the graph's filter
    transform, equal tf.nn.conv2d's to 1e-4 relative."""
    rng = np.random.RandomState(3)
    x = tf.constant(rng.uniform(-1, 1, (2, 12, 12, 4)).astype(np.float32))
    w = tf.constant(rng.uniform(-1, 1, (3, 3, 4, 5)).astype(np.float32))
    target = tf.constant(rng.uniform(-1, 1, (2, 10, 10, 5)).astype(np.float32))
    losses = [tf.reduce_sum(tf.square(y - target)) for y in (
        tf.nn.conv2d(x, w, [1, 1, 1, 1], 'VALID'), winograd.conv2d(x, winograd.transform_filters_tf(w, 4)))]
    with cpu_session(graph) as sess:
        (dx0, dw0), (dx1, dw1) = sess.run([tf.gradients(loss, [x, w]) for loss in losses])
    for want, got in ((dx0, dx1), (dw0, dw1)):
        assert np.abs(got - want).max() <= 1e-4 * np.abs(want).max()


def test_conv2d_rejects_mismatched_filters_and_small_inputs(graph):
    filters = winograd.transform_filters(np.zeros((3, 3, 4, 2)), 4)
    with pytest.raises(ValueError, match=r'do not fit F\(4, 3\) on 5 input channels'):
        winograd.conv2d(tf.zeros([1, 8, 8, 5]), filters)
    with pytest.raises(ValueError, match='smaller than the 3x3 filter'):
        winograd.conv2d(tf.zeros([1, 2, 8, 4]), filters)
    with pytest.raises(ValueError, match='static shape'):
        winograd.conv2d(tf.placeholder(tf.float32, [None, 8, 8, 4]), filters)
