"""Per layer: the embedding's stride-1 convs as direct tf.nn.conv2d against Winograd (embeddings/winograd.py).

  python benchmarks/bench_winograd.py [--widths 0.25 0.5 1] [--size 271] [--batch 1] [--runs 15] [--warmup 3]

For each width and layer (conv2 5x5, conv3-conv5 3x3) at the search size's feature sides, both forms run on the
same random input and filters: constant filters (as the tracker's BN-folded graph holds them, Winograd's
transformed at build time), conv + ReLU, one session per width. Rounds are interleaved by benchmarks/harness.py
(every timed call after an untimed one, the order rotating), so the ratio direct / Winograd is the column to read
on a shared machine. It is how winograd.MIN_OUTPUT_CHANNELS was chosen: a layer pays when the ratio is above 1.
"""

import argparse
import os
import sys

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

import numpy as np  # noqa: E402

from benchmarks import harness  # noqa: E402


def layer_shapes(width, size):
    """[(layer, input side, Cin, kernel, Cout)] of conv2-conv5 for a search image side."""
    from embeddings.siamrpn_alexnet import LAYERS, _KERNELS, _POOL_AFTER, _STRIDES, scaled_channels
    shapes, side, cin = [], size, 3
    for name, out, kernel, stride, pool in zip(LAYERS, scaled_channels(width), _KERNELS, _STRIDES, _POOL_AFTER):
        if stride == 1:
            shapes.append((name, side, cin, kernel, out))
        side = (side - kernel) // stride + 1
        side = (side - 3) // 2 + 1 if pool else side
        cin = out
    return shapes


def width_cases(width, size, batch, session_config):
    """{'<layer> direct' / '<layer> winograd': timed case} and the session holding them."""
    import tensorflow as tf
    from embeddings import winograd
    graph, fetches = tf.Graph(), {}
    rng = np.random.RandomState(0)
    with graph.as_default():
        for name, side, cin, kernel, out in layer_shapes(width, size):
            inputs = tf.Variable(rng.rand(batch, side, side, cin).astype(np.float32))
            weights = (rng.rand(kernel, kernel, cin, out).astype(np.float32) - 0.5) / np.sqrt(kernel * kernel * cin)
            direct = tf.nn.conv2d(inputs, tf.constant(weights), [1, 1, 1, 1], 'VALID')
            filters = winograd.transform_filters(weights, winograd.OUTPUT_TILES[kernel])
            fast = winograd.conv2d(inputs, filters._replace(transformed=tf.constant(filters.transformed)))
            fetches[name + ' direct'] = tf.reduce_sum(tf.nn.relu(direct)).op
            fetches[name + ' winograd'] = tf.reduce_sum(tf.nn.relu(fast)).op
        init = tf.global_variables_initializer()
    session = tf.Session(graph=graph, config=session_config)
    session.run(init)
    return {name: harness.timed(lambda op=op: session.run(op)) for name, op in fetches.items()}, session


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--widths', type=float, nargs='+', default=[0.25, 0.5, 1.0])
    parser.add_argument('--size', type=int, default=271, help='search image side')
    parser.add_argument('--batch', type=int, default=1)
    parser.add_argument('--runs', type=int, default=15, help='timed rounds (medians over them)')
    parser.add_argument('--warmup', type=int, default=3, help='untimed rounds first')
    args = parser.parse_args(argv)
    import tensorflow as tf
    tf.compat.v1.logging.set_verbosity(tf.compat.v1.logging.ERROR)
    from embeddings import winograd
    from utils import runtime
    config = runtime.session_config()
    print('\n'.join(harness.machine_lines(config)))
    print('# search %d, batch %d, %d rounds after %d warm-up; Winograd tiles %s; used from %d outputs on'
          % (args.size, args.batch, args.runs, args.warmup,
             ', '.join('F(%d, %d)' % (m, r) for r, m in sorted(winograd.OUTPUT_TILES.items())),
             winograd.MIN_OUTPUT_CHANNELS))
    rows = []
    for width in args.widths:
        cases, session = width_cases(width, args.size, args.batch, config)
        times = harness.run_rounds(cases, args.runs, args.warmup)
        session.close()
        for name, side, cin, kernel, out in layer_shapes(width, args.size):
            direct, fast = (float(np.median(times['%s %s' % (name, form)])) for form in ('direct', 'winograd'))
            rows.append([width, name, '%dx%d, %d -> %d' % (kernel, kernel, cin, out), side, '%.2f' % direct,
                         '%.2f' % fast, '%.2f' % (direct / fast), 'winograd' if out >= winograd.MIN_OUTPUT_CHANNELS
                         else 'direct'])
    print('# load average after: %s' % harness.load_average())
    print(harness.markdown_table(['width', 'layer', 'conv', 'input side', 'direct ms', 'winograd ms',
                                  'direct / winograd', 'the graphs use'], rows))
    return 0


if __name__ == '__main__':
    sys.exit(main())
