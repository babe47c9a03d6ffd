"""Measures the synchronous-step overhead of distributed training: one process vs local clusters of 1 ps and
--workers workers (scripts/launch_local_cluster.py), same per-worker batch, and prints a table.

  python benchmarks/bench_distributed.py [--widths 0.0625 0.25] [--batch 8] [--workers 1 2] [--steps 20]
      [--warmup 5] [--root data/bench_distributed] [--videos 8]

1 ps + 1 worker does the same work per step as one process, so its overhead is the distributed runtime's own
(variables and gradients through gRPC, the accumulators and the token queue); with 2 workers a step also waits for
the slower worker and trains on twice the pairs.

Each cell runs the real experiment script (experiments/SiamRPN-AlexNet.py with Sacred overrides; no validation,
summaries or periodic checkpoints) in a temporary directory, as one process or through the launcher, and reads the
times of the "step N/T" log lines of the process (of the chief in the cluster): s/step is the wall-clock time from
step --warmup to the last step divided by the steps between them, so process start-up, graph building and the first
steps are excluded. examples/s = pairs per global step / s/step, where a synchronous step averages one batch from
every worker. overhead = s/step of the cluster / s/step of one process. Data: a small synthetic dataset under --root
(--videos training videos, built when missing). The load average (os.getloadavg) before and after each cell is
printed: on a shared machine the numbers are contended, so compare them only against each other.
"""

import argparse
import copy
import datetime
import os
import re
import shutil
import subprocess
import sys
import tempfile

import configuration
from datasets.synthetic import build_synthetic_dataset

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXPERIMENT = os.path.join(PROJECT_ROOT, 'experiments', 'SiamRPN-AlexNet.py')
LAUNCHER = os.path.join(PROJECT_ROOT, 'scripts', 'launch_local_cluster.py')
STEP_LINE = re.compile(r'^(?:\[worker 0\] )?(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) INFO training\.report: step '
                       r'(\d+)/(\d+) ', re.MULTILINE)


def overrides(paths, width, batch_size, examples):
    """Sacred `with` assignments: the dataset, the model width, `examples` pairs, no validation/summaries/saves."""
    assignments = ['train_config.%s.input_imdb=%s' % (reader, paths[imdb]) for reader, imdb in
                   (('train_data_config', 'train_imdb'), ('validation_data_config', 'validation_imdb'))]
    assignments += ['train_config.%s.lmdb_path=%s' % (reader, paths['lmdb_path'])
                    for reader in ('train_data_config', 'validation_data_config')]
    assignments += [
        'model_config.embed_config.width_multiplier=%r' % width,
        'model_config.rpn_config.feature_out=%d' % channels(width),
        'train_config.train_data_config.batch_size=%d' % batch_size,
        'train_config.train_data_config.prefetch_capacity=%d' % max(4 * batch_size, 32),
        'train_config.train_data_config.epoch=1',
        'train_config.train_data_config.num_examples_per_epoch=%d' % examples,
        'train_config.optimizer_config.optimizer=ADAM', 'train_config.lr_config.warmup=None',
        'train_config.lr_config.policy=piecewise_constant', 'train_config.lr_config.lr_boundaries=[]',
        'train_config.lr_config.lr_values=[0.0005]', 'train_config.validation_batches=0',
        'train_config.log_every_n_steps=1', 'train_config.summary_every_n_steps=1000000000',
        'train_config.save_model_every_n_steps=1000000000']
    return assignments


def channels(width):
    """RPN channels C for a width: 256 * width, at least 8 (bench_train's rule)."""
    return max(8, int(round(256 * width)))


def step_times(output):
    """{global step: datetime} of the log's step lines (the chief's in a cluster)."""
    return {int(step): datetime.datetime.strptime(stamp, '%Y-%m-%d %H:%M:%S,%f')
            for stamp, step, _ in STEP_LINE.findall(output)}


def run_cell(paths, width, batch_size, workers, steps, warmup):
    """Trains warmup + steps global steps as one process (workers 0) or a cluster -> (s/step, examples/s)."""
    per_step = batch_size * max(workers, 1)
    command = [EXPERIMENT, 'with'] + overrides(paths, width, batch_size, (warmup + steps) * per_step)
    if workers:
        command = [sys.executable, LAUNCHER, '--ps', '1', '--workers', str(workers), '--grace-secs', '5'] + command
    else:
        command = [sys.executable] + command
    directory = tempfile.mkdtemp(prefix='bench_distributed.')
    try:
        result = subprocess.run(command, cwd=directory, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2'))
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    output = result.stdout.decode('utf-8', 'replace')
    if result.returncode != 0:
        raise RuntimeError('the run failed (exit code %d):\n%s' % (result.returncode, output[-4000:]))
    times = step_times(output)
    last = warmup + steps
    if warmup not in times or last not in times:
        raise RuntimeError('steps %d and %d are not both in the log:\n%s' % (warmup, last, output[-4000:]))
    seconds = (times[last] - times[warmup]).total_seconds() / steps
    return seconds, per_step / seconds


def load():
    return '%.1f' % os.getloadavg()[0]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--widths', type=float, nargs='+', default=[0.0625, 0.25], help='width multipliers')
    parser.add_argument('--batch', type=int, default=8, help='pairs per batch of each worker (and of one process)')
    parser.add_argument('--workers', type=int, nargs='+', default=[1, 2],
                        help='workers of the synchronous clusters (1 ps each)')
    parser.add_argument('--steps', type=int, default=20, help='timed global steps per cell')
    parser.add_argument('--warmup', type=int, default=5, help='untimed global steps per cell')
    parser.add_argument('--root', default='data/bench_distributed', help='synthetic dataset folder (built when '
                                                                         'missing)')
    parser.add_argument('--videos', type=int, default=8, help='training videos of the synthetic dataset')
    args = parser.parse_args(argv)
    synthetic = copy.deepcopy(configuration.TRAIN_CONFIG['synthetic_data_config'])
    synthetic.update(root_dir=args.root, num_train_videos=args.videos, num_test_videos=1, validation_ratio=0.25)
    paths = build_synthetic_dataset(synthetic, configuration.TRAIN_CONFIG['curation_config'], progress=False,
                                    log=None)
    print('%d CPUs; load average (1 min) before / after each cell' % os.cpu_count())
    header = ('width', 'C', 'batch', 'setup', 's/step', 'examples/s', 'overhead', 'load')
    print('%-7s %-4s %-6s %-22s %8s %11s %9s %11s' % header)
    for width in args.widths:
        single = None
        for workers in [0] + args.workers:
            before = load()
            seconds, rate = run_cell(paths, width, args.batch, workers, args.steps, args.warmup)
            setup = 'one process' if not workers else '1 ps + %d worker%s sync' % (workers, 's' if workers > 1 else '')
            single = single or seconds
            print('%-7g %-4d %-6d %-22s %8.3f %11.1f %8.2fx %11s' % (
                width, channels(width), args.batch, setup, seconds, rate, seconds / single,
                '%s / %s' % (before, load())))
            sys.stdout.flush()
    return 0


if __name__ == '__main__':
    sys.exit(main())
