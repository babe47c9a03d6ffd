"""Sizes of the exported graphs and the tracker's speed through them vs the Python tracker; prints two tables.

  python benchmarks/bench_exported.py [--archs otb big] [--speed-arch otb] [--size 271] [--runs 30] [--threads 2]

Weights are random (calibrated; sizes and speed do not depend on their values) at each arch's full width, exported
with the arch's tracker preset (big is adaptive, so it also gets a 287 track graph).
Sizes: bytes of every file of the export (each .pb, the SavedModel folder, the manifest) and the export's seconds.
Parity: the largest difference (pixels) between the boxes of the exported and the Python tracker over the synthetic
sequence (datasets/synthetic_sequence.py; tiled 3x3 for big so its small target is searched at 287), with the
loader's default session config and with TF's remapper on.
Speed, at one search size, per tracker:
  python    SiamRPNTracker.from_checkpoint: the model code, kernels in variables
  exported  SiamRPNTracker.from_exported: the frozen graphs, kernels fed (the loader's default: remapper off)
  remapper  the same with TF's remapper on (BN is already folded at export: TRACK_CONFIG['fold_batch_norm'])
and per step: template (the template step), network (the track step on a ready crop), update (tracker.update on a
1280x720 frame: crop + network + post-processing). Median and minimum ms over the runs, timed with
benchmarks/harness.py's rules (interleaved, rotating order, each timed call after an untimed one of the same case),
so load from other processes spreads over them. The header names the CPU's vector units, the TF build and the load
average: say the machine was contended when quoting.
"""

import argparse
import collections
import os
import shutil
import tempfile
import time

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from tensorflow.core.protobuf import rewriter_config_pb2  # noqa: E402

tf.compat.v1.logging.set_verbosity(tf.compat.v1.logging.ERROR)

import configuration  # noqa: E402
from benchmarks import harness  # noqa: E402
from datasets import synthetic_sequence  # noqa: E402
from inference.checkpoint_io import save_random_checkpoint_dir  # noqa: E402
from inference.exported import MANIFEST, SAVED_MODEL_DIR  # noqa: E402
from inference.graph_export import directory_bytes, export_inference_graph  # noqa: E402
from inference.tracker import SiamRPNTracker  # noqa: E402

STEPS = ('template', 'network', 'update')


def export_sizes(workdir, arch):
    """Exports a random full-width checkpoint of `arch` -> (checkpoint_dir, export_dir, [(file, bytes)], seconds)."""
    checkpoint_dir = os.path.join(workdir, 'random-%s' % arch)
    save_random_checkpoint_dir(checkpoint_dir, configuration.model_config_for(arch),
                               configuration.track_config_for(arch))
    export_dir = os.path.join(workdir, 'export-%s' % arch)
    start = time.time()
    manifest = export_inference_graph(checkpoint_dir, export_dir)
    seconds = time.time() - start
    rows = [(entry['file'], entry['bytes']) for _, entry in sorted(manifest['graphs'].items())]
    rows.append((SAVED_MODEL_DIR + '/', directory_bytes(os.path.join(export_dir, SAVED_MODEL_DIR))))
    rows.append((MANIFEST, os.path.getsize(os.path.join(export_dir, MANIFEST))))
    rows.append(('checkpoint (model.ckpt-0.*)', sum(os.path.getsize(os.path.join(checkpoint_dir, name))
                                                   for name in os.listdir(checkpoint_dir)
                                                   if name.startswith('model.ckpt-0'))))
    return checkpoint_dir, export_dir, rows, seconds


def remapper_config(base=None):
    """A session config with TF's remapper explicitly on (the loader turns it off otherwise)."""
    config = tf.ConfigProto()
    if base is not None:
        config.CopyFrom(base)
    config.graph_options.rewrite_options.remapping = rewriter_config_pb2.RewriterConfig.ON
    return config


def parity(checkpoint_dir, export_dir, arch):
    """{loader config: max |box difference| px} of the exported vs the Python tracker on the synthetic sequence, and
    the search size the tracker chose."""
    frames = [synthetic_sequence.frame(i) for i in range(synthetic_sequence.FRAMES)]
    if arch == 'big':
        frames = [np.ascontiguousarray(np.tile(frame, (3, 3, 1))) for frame in frames]
    trackers = [('python', lambda: SiamRPNTracker.from_checkpoint(checkpoint_dir)),
                ('exported', lambda: SiamRPNTracker.from_exported(export_dir)),
                ('remapper', lambda: SiamRPNTracker.from_exported(export_dir, session_config=remapper_config()))]
    boxes = {}
    for name, make in trackers:
        with make() as tracker:
            tracker.init(frames[0], synthetic_sequence.FIRST_BOX)
            boxes[name] = np.array([tracker.update(frame) for frame in frames[1:]])
            size = tracker.state['instance_size']
    return {name: float(np.abs(boxes[name] - boxes['python']).max()) for name in ('exported', 'remapper')}, size


def step_functions(tracker, frame, box, size):
    """{step: function} timing the template step, the track step alone and tracker.update at search size `size`."""
    tracker.init(frame, box)
    state = dict(tracker.state)
    exemplar, crop, _, _ = harness.tracker_crops(frame, state, size)
    backend = tracker.backend

    def update():
        tracker.state.update(pos=state['pos'].copy(), size=state['size'].copy())
        tracker.update(frame)

    return {'template': lambda: backend.set_template(exemplar), 'network': lambda: backend.detect(crop),
            'update': update}


def bench_speed(checkpoint_dir, export_dir, arch, size, runs, threads):
    """{tracker: {step: (median ms, min ms)}} of the Python and exported trackers at search size `size`."""
    config = configuration.track_config_for(arch)
    config['instance_size'], config['adaptive'] = size, False
    base = tf.ConfigProto(intra_op_parallelism_threads=threads, inter_op_parallelism_threads=1)
    remapper = remapper_config(base)
    frame, box = harness.frame_1280x720(), np.array(harness.FRAME_BOX)
    trackers = collections.OrderedDict([
        ('python', SiamRPNTracker.from_checkpoint(checkpoint_dir, track_config=config, session_config=base)),
        ('exported', SiamRPNTracker.from_exported(export_dir, track_config=config, session_config=base)),
        ('remapper', SiamRPNTracker.from_exported(export_dir, track_config=config, session_config=remapper))])
    try:
        functions = collections.OrderedDict()
        for name, tracker in trackers.items():
            for step, function in step_functions(tracker, frame, box, size).items():
                functions[(name, step)] = harness.timed(function)
        times = {key: harness.summary(values) for key, values in harness.run_rounds(functions, runs, 3).items()}
    finally:
        for tracker in trackers.values():
            tracker.close()
    return {name: {step: times[(name, step)] for step in STEPS} for name in trackers}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--archs', nargs='+', default=['otb', 'big'], choices=sorted(configuration.ARCH_PRESETS),
                        help='archs whose export sizes to measure')
    parser.add_argument('--speed-arch', default='otb', choices=sorted(configuration.ARCH_PRESETS),
                        help='arch whose tracker speed to measure (exported too when not in --archs)')
    parser.add_argument('--size', type=int, default=271, help='search size of the speed table')
    parser.add_argument('--runs', type=int, default=30)
    parser.add_argument('--threads', type=int, default=2)
    args = parser.parse_args()

    workdir = tempfile.mkdtemp(prefix='bench_exported_')
    try:
        exports, parities = {}, {}
        print('export sizes (random weights, full width)')
        print('%-5s %-28s %14s %10s' % ('arch', 'file', 'bytes', 'MiB'))
        for arch in args.archs + ([args.speed_arch] if args.speed_arch not in args.archs else []):
            checkpoint_dir, export_dir, rows, seconds = export_sizes(workdir, arch)
            exports[arch] = (checkpoint_dir, export_dir)
            if arch in args.archs:
                for name, size in rows:
                    print('%-5s %-28s %14d %10.1f' % (arch, name, size, size / 2. ** 20))
                print('%-5s %-28s %14s %10.1f' % (arch, '(export seconds)', '', seconds))
                parities[arch] = parity(checkpoint_dir, export_dir, arch)
            if arch != args.speed_arch:
                shutil.rmtree(checkpoint_dir)
                shutil.rmtree(export_dir)
        print('\nparity: max |exported - python| box difference (px), synthetic sequence, %d frames'
              % synthetic_sequence.FRAMES)
        print('%-5s %-7s %14s %14s' % ('arch', 'search', 'loader', 'remapper on'))
        for arch, (differences, size) in parities.items():
            print('%-5s %-7d %14.3g %14.3g' % (arch, size, differences['exported'], differences['remapper']))
        checkpoint_dir, export_dir = exports[args.speed_arch]
        result = bench_speed(checkpoint_dir, export_dir, args.speed_arch, args.size, args.runs, args.threads)
        print('\ntracker speed, arch %s, search %d, %d threads, %d runs' % (args.speed_arch, args.size, args.threads,
                                                                           args.runs))
        print('\n'.join(harness.machine_lines()))
        print('%-9s %-9s %10s %8s %12s' % ('tracker', 'step', 'median ms', 'min ms', 'median FPS'))
        for name, steps in result.items():
            for step in STEPS:
                median, best = steps[step]
                print('%-9s %-9s %10.2f %8.2f %12.1f' % (name, step, median, best, 1e3 / median))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == '__main__':
    main()
