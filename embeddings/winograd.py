"""Winograd minimal filtering for the embedding's stride-1 VALID convolutions (conv2 5x5, conv3-conv5 3x3).

F(m x m, r x r) computes an m x m block of a 2-D correlation with an r x r filter from an n x n input tile,
n = m + r - 1, with n^2 multiplications per input channel instead of m^2 r^2 (Lavin and Gray, "Fast Algorithms for
Convolutional Neural Networks", CVPR 2016):

  Y = A^T [ (G g G^T) * (B^T d B) ] A      (* elementwise; summed over input channels)

Over channels the elementwise products become n^2 matrix products [tiles, Cin] x [Cin, Cout], so a layer costs
n^2 / (m^2 r^2) of the direct convolution's multiply-adds plus the transforms: F(4x4, 3x3) 36/144 and F(3x3, 5x5)
49/225. The result is the same correlation, exact in exact arithmetic; in float32 it differs from the direct
convolution by float rounding (about 1e-5 of the output's range for the tiles below, tests/embeddings/test_winograd.py).

The matrices come from the Toom-Cook construction on the points in `POINTS` plus the point at infinity
(`toom_cook_matrices`). Filters are transformed once: in numpy at load time for inference graphs
(`transform_filters`), or in the graph for trainable variables (`transform_filters_tf`; gradients flow through it).

Layouts: inputs NHWC [B, H, W, Cin] with static shapes; filters HWIO [r, r, Cin, Cout]; transformed filters
[n * n, Cin, Cout] in the (row, column) order of an n x n tile.
"""

import collections

import numpy as np
import tensorflow as tf

# finite interpolation points per tile size n (n - 1 of them; the last point is infinity)
POINTS = {4: (0.0, 1.0, -1.0), 6: (0.0, 1.0, -1.0, 2.0, -2.0), 7: (0.0, 1.0, -1.0, 2.0, -2.0, 0.5)}
# output tile side m per filter side r used by the embedding: F(4x4, 3x3) and F(3x3, 5x5)
OUTPUT_TILES = {3: 4, 5: 3}
# the embedding uses Winograd for a stride-1 layer with at least this many output channels: measured per layer
# (docs/speed.md), Winograd is 1.1-2.1x faster at widths 0.5-2 (128-768 outputs) and 0.78-0.95x at width 0.25
# (64-96 outputs), where the transforms' fixed cost outweighs the saved multiply-adds
MIN_OUTPUT_CHANNELS = 128

WinogradFilters = collections.namedtuple('WinogradFilters', ['transformed', 'output_tile', 'filter_size'])
WinogradFilters.__doc__ = """Filters ready for `conv2d`: `transformed` [n*n, Cin, Cout] (array or tensor), the output
tile side m and the filter side r (n = m + r - 1)."""


def toom_cook_matrices(output_tile, filter_size):
    """(A^T [m, n], G [n, r], B^T [n, n]) float64 for F(m, r) in one dimension, n = m + r - 1, on POINTS[n] and the
    point at infinity: y = A^T [(G g) * (B^T d)] is the correlation y_i = sum_k d_(i+k) g_k of an n-vector d with an
    r-vector g. B^T is solved from that identity (exactly: the system has a unique solution)."""
    m, r = int(output_tile), int(filter_size)
    n = m + r - 1
    if m < 1 or r < 1 or n not in POINTS:
        raise ValueError('no Winograd points for F(%d, %d): tile side n = m + r - 1 must be one of %s'
                         % (m, r, sorted(POINTS)))
    points = POINTS[n]
    a_t, g = np.zeros((m, n)), np.zeros((n, r))
    for j, p in enumerate(points):
        a_t[:, j] = [p ** i for i in range(m)]
        scale = np.prod([p - q for q in points if q != p])
        g[j] = [p ** k / scale for k in range(r)]
    a_t[m - 1, n - 1] = 1.0
    g[n - 1, r - 1] = 1.0
    # sum_j A^T[i, j] G[j, k] B^T[j, l] = [l == i + k] for all i, k, l: linear in B^T's n*n entries
    system, target = [], []
    for i in range(m):
        for k in range(r):
            for l in range(n):
                row = np.zeros((n, n))
                row[:, l] = a_t[i] * g[:, k]
                system.append(row.ravel())
                target.append(float(l == i + k))
    system, target = np.array(system), np.array(target)
    solution = np.linalg.lstsq(system, target, rcond=None)[0]
    if not np.allclose(system.dot(solution), target, atol=1e-10):
        raise ArithmeticError('no exact B^T for F(%d, %d) on points %s' % (m, r, points))
    return a_t, g, solution.reshape(n, n)


def transform_filters(weights, output_tile):
    """HWIO filters [r, r, Cin, Cout] (numpy) -> WinogradFilters with G g G^T as float32 [n*n, Cin, Cout],
    computed in float64."""
    weights = np.asarray(weights, np.float64)
    if weights.ndim != 4 or weights.shape[0] != weights.shape[1]:
        raise ValueError('Winograd filters must be square HWIO [r, r, Cin, Cout], got shape %s' % (weights.shape,))
    r = weights.shape[0]
    _, g, _ = toom_cook_matrices(output_tile, r)
    n = g.shape[0]
    transformed = np.einsum('ik,klab,jl->ijab', g, weights, g).reshape(n * n, weights.shape[2], weights.shape[3])
    return WinogradFilters(transformed.astype(np.float32), int(output_tile), r)


def transform_filters_tf(weights, output_tile):
    """HWIO filter tensor [r, r, Cin, Cout] -> WinogradFilters with a [n*n, Cin, Cout] tensor (in the graph, so a
    trainable variable's gradient flows through it)."""
    shape = weights.get_shape().as_list()
    if len(shape) != 4 or shape[0] != shape[1] or None in shape:
        raise ValueError('Winograd filters must be square HWIO [r, r, Cin, Cout] with a static shape, got %s' % shape)
    r, cin, cout = shape[0], shape[2], shape[3]
    _, g, _ = toom_cook_matrices(output_tile, r)
    n = g.shape[0]
    g = tf.constant(g.astype(np.float32))
    rows = tf.tensordot(g, weights, [[1], [0]])  # [n(i), r(l), Cin, Cout]
    both = tf.tensordot(g, rows, [[1], [1]])  # [n(j), n(i), Cin, Cout]
    transformed = tf.reshape(tf.transpose(both, [1, 0, 2, 3]), [n * n, cin, cout])
    return WinogradFilters(transformed, int(output_tile), r)


def output_side(input_side, filter_size):
    """VALID stride-1 output side."""
    return input_side - filter_size + 1


def conv2d(inputs, filters, name=None):
    """VALID, stride-1 correlation of NHWC `inputs` [B, H, W, Cin] (static shape) with WinogradFilters ->
    [B, H - r + 1, W - r + 1, Cout], as tf.nn.conv2d(inputs, weights, [1, 1, 1, 1], 'VALID') computes it.

    The input is padded at the bottom and right to whole output tiles, split into overlapping n x n tiles with
    stride m (extract_image_patches), transformed (B^T d B as one [n*n, n*n] product), multiplied per tile position
    with the filters ([n*n] batched [tiles, Cin] x [Cin, Cout]), transformed back (A^T . A) and cropped."""
    with tf.name_scope(name, 'winograd_conv2d', [inputs]):
        inputs = tf.convert_to_tensor(inputs)
        shape = inputs.get_shape().as_list()
        if len(shape) != 4 or None in shape:
            raise ValueError('Winograd conv2d needs NHWC inputs with a static shape, got %s' % shape)
        batch, height, width, cin = shape
        m, r = filters.output_tile, filters.filter_size
        transformed = tf.convert_to_tensor(filters.transformed, dtype=tf.float32)
        n = m + r - 1
        if transformed.get_shape().as_list()[:2] != [n * n, cin]:
            raise ValueError('Winograd filters of shape %s do not fit F(%d, %d) on %d input channels: expected '
                             '[%d, %d, Cout]' % (transformed.get_shape().as_list(), m, r, cin, n * n, cin))
        cout = transformed.get_shape().as_list()[2]
        out_h, out_w = output_side(height, r), output_side(width, r)
        if out_h < 1 or out_w < 1:
            raise ValueError('input %dx%d is smaller than the %dx%d filter' % (height, width, r, r))
        tiles_h, tiles_w = -(-out_h // m), -(-out_w // m)
        pad_h, pad_w = tiles_h * m + r - 1 - height, tiles_w * m + r - 1 - width
        if pad_h or pad_w:
            inputs = tf.pad(inputs, [[0, 0], [0, pad_h], [0, pad_w], [0, 0]])
        a_t, _, b_t = toom_cook_matrices(m, r)
        tiles = batch * tiles_h * tiles_w
        patches = tf.image.extract_image_patches(inputs, [1, n, n, 1], [1, m, m, 1], [1, 1, 1, 1], 'VALID')
        data = tf.transpose(tf.reshape(patches, [tiles, n * n, cin]), [1, 0, 2])  # [n*n, tiles, Cin]
        data = tf.matmul(tf.constant(np.kron(b_t, b_t).astype(np.float32)), tf.reshape(data, [n * n, tiles * cin]))
        products = tf.matmul(tf.reshape(data, [n * n, tiles, cin]), transformed)  # [n*n, tiles, Cout]
        outputs = tf.matmul(tf.constant(np.kron(a_t, a_t).astype(np.float32)),
                            tf.reshape(products, [n * n, tiles * cout]))  # [m*m, tiles * Cout]
        outputs = tf.reshape(outputs, [m, m, batch, tiles_h, tiles_w, cout])
        outputs = tf.reshape(tf.transpose(outputs, [2, 3, 0, 4, 1, 5]), [batch, tiles_h * m, tiles_w * m, cout])
        if tiles_h * m != out_h or tiles_w * m != out_w:
            outputs = outputs[:, :out_h, :out_w, :]
        return outputs
