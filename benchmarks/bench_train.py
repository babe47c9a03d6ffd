"""Training throughput: this project's training step against the earlier TF port's approach, and the reader's margin.

  python benchmarks/bench_train.py [--batches 8 32] [--runs 30] [--warmup 3] [--width 1.0] [--root data/synthetic]
      [--tf-python .venv-stock/bin/python]

Each variant is the real training step of training/stage_graph.py (`build_train_step`: towers, gradients, learning
rate, momentum optimizer, guarded train op) on the synthetic dataset under --root (built there when missing), in
its own graph and session, all in this process; every round runs one step of each variant in turn, so load from
other processes spreads evenly over them (medians over --runs rounds after --warmup). Variants per batch size:
  constant   compute only: a fixed batch (one batch of the reader, held in local variables so Grappler cannot fold
             anything that depends on it) -> one session.run of the step
  reader     the real queue reader (datasets/dataloader.py, OpenCV augmentation in its threads, mixup in the graph):
             dequeue, then feed the step, exactly as the training loop does (data wait + compute)
  conv2d     `constant` with rpn_config.template_conv 'conv2d' (slim conv2d for conv_cls1/conv_r1): the default
             before the matmul template convs
  direct / winograd   `constant` with train_config.conv_algorithm 'direct' / 'winograd' (conv2-conv5 as Winograd
             convolutions from 128 outputs, embeddings/winograd.py); TRAIN_CONFIG's 'auto' is 'winograd' on these CPU
             towers, so `constant` is the winograd one and `direct` is run by default
  earlier    a re-creation of the earlier TF port's (Jiangfeng-Xiong/SiamRPN-TF) training graph on the same network
             and train op: conv2d template convs, a tf.map_fn per-pair correlation (as here), and targets assigned in
             numpy by tf.py_func per pair inside tf.map_fn (its `get_rpn_label` approach; `numpy_targets` below is
             a re-implementation with this project's thresholds and sampling sizes)
  <build>    with --tf-python: `constant` under another environment's TF build (e.g. `make TF=stock venv`'s
             .venv-stock), in a worker process that the rounds interleave with the others
             (benchmarks/peer_networks.py's protocol)
Then the reader alone: after the queue is drained, --reader-batches batches are dequeued with nothing else running;
its pairs/s over the compute-only examples/s is the reader's margin. Timings on a shared machine are contended
(the load average is printed): compare columns of the same run, not numbers across runs.
"""

import argparse
import collections
import copy
import os
import shutil
import sys
import tempfile
import time

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

tf.compat.v1.logging.set_verbosity(tf.compat.v1.logging.ERROR)

import configuration  # noqa: E402
from datasets.dataloader import DataLoader  # noqa: E402
from datasets.synthetic import build_synthetic_dataset, use_synthetic_data  # noqa: E402
from siamese_model import SiameseModel  # noqa: E402
from training.stage_graph import build_train_step  # noqa: E402
from utils import runtime  # noqa: E402
from utils.box_coding import encode  # noqa: E402
from utils.box_utils import iou_cxcywh  # noqa: E402
from utils.target_assignment import IGNORE, NEGATIVE, POSITIVE  # noqa: E402

VARIANTS = ('constant', 'reader', 'conv2d', 'earlier', 'direct', 'winograd')


def numpy_targets(anchors, gt_box, is_negative, target_config, rng):
    """One pair's targets in numpy, the earlier port's way: [N] int32 labels (1, 0, -1) and [N, 4] float32 deltas.

    Positives: IoU > pos_iou_thresh, plus the best anchor when its IoU exceeds neg_iou_thresh; negatives: IoU <
    neg_iou_thresh (every anchor of a negative pair); at most max_pos positives and max_total anchors, sampled
    uniformly (the same rules as utils/target_assignment.py, which does it in the graph).
    """
    labels = np.full(len(anchors), IGNORE, np.int32)
    if is_negative:
        positive, negative = np.zeros(len(anchors), bool), np.ones(len(anchors), bool)
        gt_box = np.array([0., 0., 1., 1.], np.float32)
    else:
        iou = iou_cxcywh(anchors, gt_box[None, :])
        positive = iou > target_config['pos_iou_thresh']
        best = int(np.argmax(iou))
        positive[best] |= iou[best] > target_config['neg_iou_thresh']
        negative = (iou < target_config['neg_iou_thresh']) & ~positive
    positives = np.flatnonzero(positive)
    if len(positives) > target_config['max_pos']:
        positives = rng.choice(positives, target_config['max_pos'], replace=False)
    negatives = np.flatnonzero(negative)
    budget = target_config['max_total'] - len(positives)
    if len(negatives) > budget:
        negatives = rng.choice(negatives, budget, replace=False)
    labels[positives], labels[negatives] = POSITIVE, NEGATIVE
    return labels, encode(gt_box[None, :].astype(np.float32), anchors).astype(np.float32)


class EarlierPortModel(SiameseModel):
    """SiameseModel with the earlier TF port's target assignment: numpy through tf.py_func, per pair in tf.map_fn."""

    def build_targets(self, gt_boxes):
        config, anchors, count = self.train_config['target_config'], self.anchors.astype(np.float32), len(self.anchors)
        rng = np.random.RandomState(self.seed)

        def one_pair(pair):
            labels, deltas = tf.py_func(lambda gt, negative: numpy_targets(anchors, gt, negative, config, rng),
                                        [pair[0], pair[1]], [tf.int32, tf.float32], name='numpy_targets')
            labels.set_shape([count])
            deltas.set_shape([count, 4])
            return labels, deltas

        labels, deltas = tf.map_fn(one_pair, (gt_boxes, self.is_negative), dtype=(tf.int32, tf.float32))
        return {'labels': labels, 'reg_targets': deltas}


class Variant(object):
    """One variant's graph, session and step function."""

    def __init__(self, name, model_config, train_config, fixed_batch=None):
        self.name = name
        stage = train_config['stages'][0]
        self.graph = tf.Graph()
        with self.graph.as_default():
            tf.set_random_seed(train_config['seed'])
            global_step = tf.train.get_or_create_global_step()
            self.loader = None
            if fixed_batch is None:
                self.loader = DataLoader(train_config['train_data_config'], train_config['augmentation_config'],
                                         is_training=True, exemplar_size=model_config['z_image_size'],
                                         instance_size=model_config['x_image_size'])
                self.loader.build()
                batch = self.loader.get_one_batch()
            else:  # local variables, so nothing depending on the batch is constant-folded
                feeds = {key: tf.placeholder(tf.as_dtype(value.dtype), value.shape)
                         for key, value in fixed_batch.items()}
                batch = {key: tf.Variable(feed, trainable=False, collections=[tf.GraphKeys.LOCAL_VARIABLES],
                                          name='fixed_' + key) for key, feed in feeds.items()}
            model_class = EarlierPortModel if name == 'earlier' else SiameseModel
            step = build_train_step(model_config, train_config, batch, stage, ['/cpu:0'], '/cpu:0', global_step,
                                    model_class)
            self.batch, self.train_op = batch, step.step.train_op
            init = tf.group(tf.global_variables_initializer(), tf.local_variables_initializer())
            self.graph.finalize()
        self.session = tf.Session(graph=self.graph, config=runtime.session_config(
            base=tf.ConfigProto(allow_soft_placement=True)))
        self.session.run(init, {feeds[key]: value for key, value in fixed_batch.items()} if fixed_batch else None)
        self.coord, self.threads = tf.train.Coordinator(), []
        if self.loader is not None:
            self.threads = tf.train.start_queue_runners(self.session, self.coord)
        self.waits = []

    def step(self):
        """One training step -> seconds (for 'reader': dequeue + fed step, as the training loop runs it)."""
        start = time.time()
        if self.loader is None:
            self.session.run(self.train_op)
        else:
            values = self.session.run(self.batch)
            self.waits.append(time.time() - start)
            self.session.run(self.train_op, {self.batch[key]: value for key, value in values.items()})
        return time.time() - start

    def reader_rate(self, batches):
        """Pairs/s of the reader alone: drain the queue, then time `batches` dequeues."""
        size = self.loader.stats['queue_size']
        batch_size = int(self.batch['exemplar'].get_shape()[0])
        while self.session.run(size) >= batch_size:
            self.session.run(self.batch)
        start = time.time()
        for _ in range(batches):
            self.session.run(self.batch)
        return batches * batch_size / (time.time() - start)

    def close(self):
        """Stops the reader threads, then closes the session and the LMDB (in the training loop's order: a thread
        still reading a closed LMDB would crash the process)."""
        self.coord.request_stop()
        try:
            self.coord.join(self.threads, stop_grace_period_secs=10)
        finally:
            self.session.close()
            if self.loader is not None:
                self.loader.close()


def configs(width, batch_size, paths):
    """(model_config, train_config) of a benchmark cell."""
    model_config = configuration.model_config_for('otb')
    model_config['embed_config']['width_multiplier'] = width
    model_config['rpn_config']['feature_out'] = max(8, int(round(256 * width)))
    train_config = use_synthetic_data(configuration.TRAIN_CONFIG, paths)
    train_config['train_data_config'].update(batch_size=batch_size, prefetch_capacity=max(4 * batch_size, 32))
    train_config['tower_config']['devices'] = ['/cpu:0']
    return model_config, train_config


def one_batch(train_config, model_config):
    """One batch of the reader as numpy arrays (the constant batch)."""
    with tf.Graph().as_default() as graph:
        loader = DataLoader(train_config['train_data_config'], train_config['augmentation_config'], is_training=True,
                            exemplar_size=model_config['z_image_size'], instance_size=model_config['x_image_size'])
        loader.build()
        batch = loader.get_one_batch()
        with tf.Session(graph=graph) as sess:
            coord = tf.train.Coordinator()
            threads = tf.train.start_queue_runners(sess, coord)
            values = sess.run(batch)
            coord.request_stop()
            coord.join(threads, stop_grace_period_secs=10)
        loader.close()
    return values


def build_variant(name, model_config, train_config, fixed):
    """A Variant by name (module docstring)."""
    config = copy.deepcopy(model_config)
    if name in ('conv2d', 'earlier'):
        config['rpn_config']['template_conv'] = 'conv2d'
    if name in ('direct', 'winograd'):
        train_config = dict(train_config, conv_algorithm=name)
    return Variant(name, config, train_config, None if name == 'reader' else fixed)


class BuildWorker(object):
    """The `constant` variant under another Python's TF build, in a worker process (benchmarks/harness.Worker)."""

    def __init__(self, python, args, batch_size, fixed_path, log_path):
        from benchmarks.harness import Worker
        command = [python, os.path.abspath(__file__), '--worker', '--batches', str(batch_size), '--width',
                   str(args.width), '--root', args.root, '--fixed-batch', fixed_path]
        self.worker = Worker(python, command, log_path)
        self.name = self.worker.info['backend']

    def step(self):
        return self.worker.time('constant') / 1e3

    def close(self):
        self.worker.close()


def serve_constant(args):
    """Worker mode: the `constant` variant on the batch saved by the parent, served over the timing protocol."""
    from benchmarks.peer_networks import protocol_stream, serve
    stream = protocol_stream()
    paths = synthetic_paths(args.root)
    model_config, train_config = configs(args.width, args.batches[0], paths)
    with np.load(args.fixed_batch) as data:
        fixed = {key: data[key] for key in data.files}
    variant = build_variant('constant', model_config, train_config, fixed)
    build = runtime.tensorflow_build()
    serve({'constant': variant.step}, {'backend': '%s %s constant' % (build['name'], build['version']),
                                       'threading': runtime.describe()}, stdout=stream)
    variant.close()
    return 0


def measure(paths, args, batch_size, workdir):
    """{variant: [seconds per step]}, data waits of 'reader', and the reader's pairs/s for one batch size."""
    from tqdm import tqdm
    model_config, train_config = configs(args.width, batch_size, paths)
    fixed = one_batch(train_config, model_config)
    fixed_path = os.path.join(workdir, 'batch%d.npz' % batch_size)
    np.savez(fixed_path, **fixed)
    built = collections.OrderedDict()
    try:
        for name in args.variants:
            built[name] = build_variant(name, model_config, train_config, fixed)
        for index, python in enumerate(args.tf_python):
            worker = BuildWorker(python, args, batch_size, fixed_path, os.path.join(workdir, 'worker%d.log' % index))
            built[worker.name] = worker
        times = collections.defaultdict(list)
        for round_index in tqdm(range(args.warmup + args.runs), desc='batch %d' % batch_size, file=sys.stderr):
            for name, variant in built.items():
                seconds = variant.step()
                if round_index >= args.warmup:
                    times[name].append(seconds)
        waits = built['reader'].waits[args.warmup:] if 'reader' in built else []
        rate = built['reader'].reader_rate(args.reader_batches) if 'reader' in built else None
    finally:
        for variant in built.values():
            variant.close()
    return times, waits, rate


def synthetic_paths(root):
    """The synthetic dataset under `root` (built when missing) -> its paths dict."""
    synthetic = copy.deepcopy(configuration.TRAIN_CONFIG['synthetic_data_config'])
    synthetic['root_dir'] = root
    return build_synthetic_dataset(synthetic, configuration.TRAIN_CONFIG['curation_config'], progress=False, log=None)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--batches', type=int, nargs='+', default=[8, 32], help='batch sizes (pairs per step)')
    parser.add_argument('--runs', type=int, default=30, help='timed rounds')
    parser.add_argument('--warmup', type=int, default=3, help='untimed rounds first')
    parser.add_argument('--width', type=float, default=1.0, help='width multiplier (RPN channels 256 * width)')
    other = 'winograd' if configuration.TRAIN_CONFIG['conv_algorithm'] == 'direct' else 'direct'  # auto: CPU winograd
    parser.add_argument('--variants', nargs='+', choices=VARIANTS,
                        default=[v for v in VARIANTS if v not in ('direct', 'winograd')] + [other])
    parser.add_argument('--reader-batches', type=int, default=20, help='batches dequeued to time the reader alone')
    parser.add_argument('--root', default=configuration.TRAIN_CONFIG['synthetic_data_config']['root_dir'],
                        help='synthetic dataset folder (built when missing)')
    parser.add_argument('--tf-python', nargs='*', default=[], help="other environments' Pythons with TF and the "
                        "project installed (e.g. .venv-stock/bin/python): a `constant` column each")
    parser.add_argument('--worker', action='store_true', help=argparse.SUPPRESS)
    parser.add_argument('--fixed-batch', help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.root = os.path.abspath(args.root)
    if args.worker:
        return serve_constant(args)
    paths = synthetic_paths(args.root)
    load_before = '%.2f %.2f %.2f' % os.getloadavg()
    results = collections.OrderedDict()
    workdir = tempfile.mkdtemp(prefix='bench_train_')
    try:
        for batch_size in args.batches:
            results[batch_size] = measure(paths, args, batch_size, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print('\n# training steps: width %g, %s' % (args.width, runtime.describe()))
    print('# %d rounds after %d warm-up; load average before %s, after %s (shared cores: timings are contended)'
          % (args.runs, args.warmup, load_before, '%.2f %.2f %.2f' % os.getloadavg()))
    print('| batch | variant | median s/step | min s/step | examples/s | x earlier | x conv2d |')
    print('| --- | --- | --- | --- | --- | --- | --- |')
    for batch_size, (times, waits, rate) in results.items():
        medians = {name: float(np.median(values)) for name, values in times.items()}
        for name, values in times.items():
            ratios = ['%.2f' % (medians[base] / medians[name]) if base in medians else '-'
                      for base in ('earlier', 'conv2d')]
            extra = ' (data wait %.3f s)' % float(np.median(waits)) if name == 'reader' and waits else ''
            print('| %d | %s%s | %.3f | %.3f | %.2f | %s |' % (batch_size, name, extra, medians[name],
                                                              float(np.min(values)), batch_size / medians[name],
                                                              ' | '.join(ratios)))
    print('\n| batch | reader alone, pairs/s | compute-only examples/s | margin |')
    print('| --- | --- | --- | --- |')
    for batch_size, (times, waits, rate) in results.items():
        if rate is not None and 'constant' in times:
            compute = batch_size / float(np.median(times['constant']))
            print('| %d | %.1f | %.2f | %.0fx |' % (batch_size, rate, compute, rate / compute))
    return 0


if __name__ == '__main__':
    sys.exit(main())
