"""Times the candidate implementations of SiamRPN's per-pair correlation and prints a table.

  python benchmarks/bench_correlation.py [--batches 1 8 32] [--sizes 20 22] [--channels 256]

Candidates (all compute out[b] = xcorr(features[b], kernels[b]), VALID):
  map_fn      tf.map_fn over tf.nn.conv2d (what embeddings/rpn_head.correlate uses)
  unrolled    a Python loop of tf.nn.conv2d per pair (needs a static batch size)
  depthwise   the batch folded into channels with one depthwise conv, then a channel sum
  patches     tf.extract_image_patches, then one batched matmul
"""

import argparse
import time

import numpy as np
import tensorflow as tf

from embeddings.rpn_head import correlate


def unrolled(x, k):
    return tf.concat([tf.nn.conv2d(x[i:i + 1], k[i], [1, 1, 1, 1], 'VALID')
                      for i in range(x.get_shape()[0].value)], 0)


def depthwise(x, k):
    b, h, w, c = x.get_shape().as_list()
    kh, kw, _, o = k.get_shape().as_list()[1:]
    folded = tf.reshape(tf.transpose(x, [1, 2, 0, 3]), [1, h, w, b * c])
    kernel = tf.reshape(tf.transpose(k, [1, 2, 0, 3, 4]), [kh, kw, b * c, o])
    out = tf.nn.depthwise_conv2d(folded, kernel, [1, 1, 1, 1], 'VALID')
    out = tf.reduce_sum(tf.reshape(out, [h - kh + 1, w - kw + 1, b, c, o]), axis=3)
    return tf.transpose(out, [2, 0, 1, 3])


def patches(x, k):
    _, h, w, c = x.get_shape().as_list()
    kh, kw, _, o = k.get_shape().as_list()[1:]
    cols = tf.extract_image_patches(x, [1, kh, kw, 1], [1, 1, 1, 1], [1, 1, 1, 1], 'VALID')
    cols = tf.reshape(cols, [-1, (h - kh + 1) * (w - kw + 1), kh * kw * c])
    out = tf.matmul(cols, tf.reshape(k, [-1, kh * kw * c, o]))
    return tf.reshape(out, [-1, h - kh + 1, w - kw + 1, o])


CANDIDATES = [('map_fn', correlate), ('unrolled', unrolled), ('depthwise', depthwise), ('patches', patches)]


def median_time(sess, fetch, runs):
    sess.run(fetch)
    times = []
    for _ in range(runs):
        start = time.time()
        sess.run(fetch)
        times.append(time.time() - start)
    return float(np.median(times))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--batches', type=int, nargs='+', default=[1, 8, 32])
    parser.add_argument('--sizes', type=int, nargs='+', default=[20, 22],
                        help='search feature sides after conv_cls2/conv_r2 (20 at 255, 22 at 271)')
    parser.add_argument('--channels', type=int, default=256)
    parser.add_argument('--outputs', type=int, default=30, help='2k + 4k = 30 for k = 5')
    parser.add_argument('--runs', type=int, default=15)
    parser.add_argument('--threads', type=int, default=2)
    args = parser.parse_args()

    config = tf.ConfigProto(intra_op_parallelism_threads=args.threads, inter_op_parallelism_threads=1)
    print('%-6s %-5s %-10s %12s %16s %10s' % ('batch', 'side', 'candidate', 'forward ms', 'fwd+bwd ms', 'max rel err'))
    for batch in args.batches:
        for side in args.sizes:
            with tf.Graph().as_default(), tf.Session(config=config) as sess:
                rng = np.random.RandomState(0)
                x = tf.Variable(rng.randn(batch, side, side, args.channels).astype(np.float32))
                k = tf.Variable(rng.randn(batch, 4, 4, args.channels, args.outputs).astype(np.float32))
                sess.run(tf.global_variables_initializer())
                reference = None
                for name, fn in CANDIDATES:
                    out = fn(x, k)
                    grads = tf.gradients(tf.reduce_sum(out * out), [x, k])
                    value = sess.run(out)
                    reference = value if reference is None else reference
                    error = np.abs(value - reference).max() / np.abs(reference).max()
                    forward = median_time(sess, out, args.runs)
                    backward = median_time(sess, grads, max(3, args.runs // 2))
                    print('%-6d %-5d %-10s %12.1f %16.1f %10.1e' % (batch, side, name, forward * 1e3,
                                                                    backward * 1e3, error))


if __name__ == '__main__':
    main()
