"""Times the tracker on this CPU and prints a table: network only, and end-to-end per frame.

  python benchmarks/bench_tracker.py [--arch otb] [--sizes 255 271] [--runs 30] [--threads 2]

Weights are random (calibrated so outputs look like a trained model's; speed does not depend on their values) at the
arch's full width. Per search size:
  template   the template step (exemplar crop -> stored kernels), once per video
  network    the track step alone: one session.run on a ready uint8 search crop -> scores and boxes
  fed        the same with the kernels fed each frame instead of read from variables (the rejected design)
  crop       DaSiamRPN's crop + resize of the search region from a 1280x720 frame
  post       penalties, window, best anchor and state update (numpy)
  update     tracker.update(frame): crop + network + post, i.e. end-to-end without image decoding
Times are the median and the minimum over the runs in ms, FPS = 1000 / ms. Other processes on the machine make
the numbers noisy (the minimum is the least contended run): say so when quoting them.
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

tf.compat.v1.logging.set_verbosity(tf.compat.v1.logging.ERROR)

import configuration  # noqa: E402
from inference.checkpoint_io import save_random_checkpoint_dir  # noqa: E402
from inference.subwindow import get_subwindow, round_half_away  # noqa: E402
from inference.tracker import SiamRPNTracker, select_target  # noqa: E402


def time_ms(functions, runs, warmup=3):
    """{name: (median, min) ms} of each function over `runs` rounds; the functions take turns within a round, so
    load from other processes spreads evenly over them."""
    for function in functions.values():
        for _ in range(warmup):
            function()
    times = {name: [] for name in functions}
    for _ in range(runs):
        for name, function in functions.items():
            start = time.time()
            function()
            times[name].append(time.time() - start)
    return {name: (1e3 * float(np.median(t)), 1e3 * float(np.min(t))) for name, t in times.items()}


def frame_1280x720(seed=0):
    """A textured 1280x720 frame (image content does not change the timings)."""
    rng = np.random.RandomState(seed)
    small = rng.randint(0, 256, (90, 160, 3)).astype(np.uint8)
    return np.ascontiguousarray(np.repeat(np.repeat(small, 8, axis=0), 8, axis=1))


def bench_size(checkpoint_dir, arch, size, runs, threads):
    config = configuration.track_config_for(arch)
    config['instance_size'], config['adaptive'] = size, False
    session_config = tf.ConfigProto(intra_op_parallelism_threads=threads, inter_op_parallelism_threads=1)
    frame = frame_1280x720()
    box = np.array([600., 330., 80., 60.])
    with SiamRPNTracker.from_checkpoint(checkpoint_dir, track_config=config, session_config=session_config) as tracker:
        wrapper, sess = tracker.wrapper, tracker.session
        tracker.init(frame, box)
        state = tracker.state
        s_z = np.sqrt(np.prod(state['size'] + 0.5 * np.sum(state['size'])))
        scale_z = 127. / s_z
        s_x = round_half_away(s_z + 2 * ((size - 127) / 2.) / scale_z)
        crop = get_subwindow(frame, state['pos'], size, s_x, state['colour'])
        exemplar = get_subwindow(frame, state['pos'], 127, round_half_away(s_z), state['colour'])
        scores, boxes = wrapper.detect(sess, crop)
        graph = sess.graph
        kernels = sess.run([wrapper.cls_kernels, wrapper.reg_kernels])
        fed = {wrapper.instance_inputs[size]: crop[None],
               graph.get_tensor_by_name('template/cls_kernels/read:0'): kernels[0],
               graph.get_tensor_by_name('template/reg_kernels/read:0'): kernels[1]}
        fetches = (wrapper.scores[size], wrapper.boxes[size])
        window = tracker.windows[size]
        pos, target = state['pos'].copy(), state['size'].copy()

        def update():
            tracker.state['pos'], tracker.state['size'] = pos.copy(), target.copy()
            tracker.update(frame)

        return time_ms(collections.OrderedDict([
            ('template', lambda: wrapper.set_template(sess, exemplar)),
            ('network', lambda: wrapper.detect(sess, crop)),
            ('fed', lambda: sess.run(fetches, fed)),
            ('crop', lambda: get_subwindow(frame, pos, size, s_x, state['colour'])),
            ('post', lambda: select_target(scores, boxes, window, pos, target, scale_z, config)),
            ('update', update),
        ]), runs)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--arch', default='otb', choices=sorted(configuration.ARCH_PRESETS))
    parser.add_argument('--sizes', type=int, nargs='+', default=[255, 271])
    parser.add_argument('--runs', type=int, default=30)
    parser.add_argument('--threads', type=int, default=2)
    args = parser.parse_args()

    workdir = tempfile.mkdtemp(prefix='bench_tracker_')
    try:
        checkpoint_dir = os.path.join(workdir, 'random-%s' % args.arch)
        save_random_checkpoint_dir(checkpoint_dir, configuration.model_config_for(args.arch))
        print('arch %s (random weights), %d threads, %d runs' % (args.arch, args.threads, args.runs))
        print('%-5s %-9s %10s %8s %12s %9s' % ('size', 'step', 'median ms', 'min ms', 'median FPS', 'min FPS'))
        for size in args.sizes:
            result = bench_size(checkpoint_dir, args.arch, size, args.runs, args.threads)
            for step in ('template', 'network', 'fed', 'crop', 'post', 'update'):
                median, best = result[step]
                print('%-5d %-9s %10.2f %8.2f %12.1f %9.1f' % (size, step, median, best, 1e3 / median, 1e3 / best))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == '__main__':
    main()
