"""Measures training steps (the real loop of train_siamese_model.py: reader, towers, guarded train op) and prints a
table of data-wait and compute seconds per step and examples per second.

  python benchmarks/bench_train.py [--widths 1.0 0.25] [--batches 8 32] [--towers 1] [--steps 6]
      [--root data/synthetic]

Data: the synthetic dataset under --root (built there when missing). Each cell trains a fresh model in a temporary
directory for --warmup + --steps steps (no validation; a checkpoint only at step 0 and the end) and averages the
timed steps, which exclude the first --warmup steps (graph warm-up). RPN channels follow the width: C = 256 * width
(at least 8). Timings on a shared machine are contended: run it on a quiet one to compare numbers.
"""

import argparse
import copy
import logging
import os
import shutil
import sys
import tempfile

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

tf.compat.v1.logging.set_verbosity(tf.compat.v1.logging.ERROR)

import configuration  # noqa: E402
from datasets.synthetic import build_synthetic_dataset, use_synthetic_data  # noqa: E402
from train_siamese_model import train  # noqa: E402


def measure(paths, width, batch_size, towers, steps, warmup):
    """Trains warmup + steps steps -> (data wait s, compute s, examples/s) averaged over the timed steps."""
    model_config = copy.deepcopy(configuration.MODEL_CONFIG)
    model_config['embed_config']['width_multiplier'] = width
    model_config['rpn_config']['feature_out'] = max(8, int(round(256 * width)))
    train_config = use_synthetic_data(configuration.TRAIN_CONFIG, paths)
    total = warmup + steps
    train_config['train_data_config'].update(batch_size=batch_size, epoch=1,
                                             num_examples_per_epoch=total * batch_size,
                                             prefetch_capacity=max(4 * batch_size, 32))
    train_config['lr_config'].update(warmup=None, policy='cosine', initial_lr=1e-3, end_lr=1e-4)
    train_config['tower_config']['devices'] = ['/cpu:%d' % i for i in range(towers)]
    train_config.update(log_every_n_steps=1, summary_every_n_steps=10 ** 9, save_model_every_n_steps=10 ** 9,
                        validation_batches=0)
    directory = tempfile.mkdtemp(prefix='bench_train.')
    try:
        train_config['train_dir'] = directory
        rows = train(model_config, train_config, configuration.TRACK_CONFIG)['history']['train'][warmup:]
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    wait = float(np.mean([r['data_wait_seconds'] for r in rows]))
    compute = float(np.mean([r['compute_seconds'] for r in rows]))
    return wait, compute, batch_size / (wait + compute)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--widths', type=float, nargs='+', default=[1.0, 0.25], help='width multipliers')
    parser.add_argument('--batches', type=int, nargs='+', default=[8, 32], help='batch sizes (pairs per step)')
    parser.add_argument('--towers', type=int, nargs='+', default=[1], help='numbers of CPU towers')
    parser.add_argument('--steps', type=int, default=6, help='timed steps per cell')
    parser.add_argument('--warmup', type=int, default=2, help='untimed steps per cell')
    parser.add_argument('--root', default=configuration.TRAIN_CONFIG['synthetic_data_config']['root_dir'],
                        help='synthetic dataset folder (built when missing)')
    args = parser.parse_args(argv)
    synthetic = copy.deepcopy(configuration.TRAIN_CONFIG['synthetic_data_config'])
    synthetic['root_dir'] = args.root
    paths = build_synthetic_dataset(synthetic, configuration.TRAIN_CONFIG['curation_config'], progress=False,
                                    log=None)
    logging.getLogger('train_siamese_model').setLevel(logging.WARNING)
    print('%-6s %-4s %-6s %-6s %12s %12s %12s' % ('width', 'C', 'batch', 'towers', 'wait s/step', 'compute s',
                                                  'examples/s'))
    for width in args.widths:
        for batch_size in args.batches:
            for towers in args.towers:
                wait, compute, rate = measure(paths, width, batch_size, towers, args.steps, args.warmup)
                print('%-6g %-4d %-6d %-6d %12.3f %12.3f %12.1f' % (
                    width, max(8, int(round(256 * width))), batch_size, towers, wait, compute, rate))
                sys.stdout.flush()
    return 0


if __name__ == '__main__':
    sys.exit(main())
