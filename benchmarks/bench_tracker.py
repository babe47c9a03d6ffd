"""Times the tracker on this CPU against the arithmetic limit and against PyTorch and ONNX Runtime; prints tables.

  python benchmarks/bench_tracker.py [--arch otb] [--sizes 255 271] [--runs 30] [--warmup 5] [--threads 2]
      [--settle-ms 250]
      [--tf-python .venv-stock/bin/python] [--compare-thread-env]
      [--torch-python /path/to/python-with-torch] [--onnxruntime-python /path/to/python-with-onnxruntime]

Weights are random (calibrated so outputs look like a trained model's; speed does not depend on their values) at the
arch's full width, in a temporary checkpoint directory. Every column runs in its own worker process (so each TF build
or threading environment is a clean process) and the parent interleaves them with benchmarks/harness.py's rules:
each round times every case of every worker once, the same step of every column back to back, the order rotating by
one case per round, and every timed call follows one untimed call of the same case (cases warmed alike), so load
from other processes spreads evenly over the columns. Tables give the median (and minimum) over --runs rounds after
--warmup untimed ones; the header names the CPU's vector units, the TF build and the load average before and after:
on a shared machine the numbers are contended, say so when quoting them.

Columns (workers):
  TF <build>         this Python's TensorFlow (the project's environment), with utils/runtime.py's threading
  TF <build> default-env / pinned   with --compare-thread-env, for a oneDNN build: the same build with the OpenMP
                     runtime's defaults (KMP_BLOCKTIME=200, KMP_AFFINITY=none), and with workers bound to cores
                     (KMP_AFFINITY=granularity=fine,compact,1,0), instead of utils/runtime.py's settings
  TF <build> (other) each --tf-python, e.g. the other TF build's venv (`make TF=stock venv` makes .venv-stock)
  PyTorch / ONNX Runtime   --torch-python / --onnxruntime-python: benchmarks/peer_networks.py in that Python
                     (numpy + torch, or numpy + onnxruntime + onnx); skipped with a message when not given or absent
Cases per TF column and search size X (head = 'fused', the default one 6x6 conv, or 'separate'):
  template/<head>    the template step (exemplar crop -> stored template tensors), once per video
  network/<head>/X   the track step alone, as the tracker runs it (BN folded into constant convs,
                     TRACK_CONFIG['fold_batch_norm']; conv2-conv5 by TRACK_CONFIG['conv_algorithm'], Winograd on
                     a CPU by default): one session.run on a ready uint8 search crop -> scores, boxes
  network/<head>/X/direct     the same with tf.nn.conv2d for every conv (the Winograd lever)
  network/<head>/X/unfolded   the training graph's conv + BN layers, direct convs (the BN-folding lever)
  fed/X              the default head with its template tensors fed each frame instead of read from variables
  crop/X             DaSiamRPN's crop + resize of the search region from a 1280x720 frame
  post/X             penalties, window, best anchor and state update (numpy)
  update/<head>/X    tracker.update(frame): crop + network + post, i.e. end-to-end without image decoding; it
                     contains network/<head>/X, so the harness checks network <= update and says when not
                     (on the median over rounds of the per-round ratio, which load shared by both cancels)
  matmul             a 2048x2048 float32 tf.matmul (the build's large-matmul peak), and numpy's (`numpy_matmul`)
GFLOP/s counts the convolutions and the correlation of the step (siamese_model.search_branch_flops: 11.2 GFLOP at
271 separate, 10.2 fused); "of peak" divides by the same column's tf.matmul rate measured in the same run;
"eff." is the separate network's FLOPs over the time, i.e. the rate a user would see against the paper's network.
The last table gives, per search size, our track step (default build, default head, folded) against each peer's
best variant on the same weights: speed-up = peer ms / ours ms (> 1: ours is faster), as the ratio of the medians
and as the median of the per-round ratios (`paired`: each round times both within seconds, so load from other
processes mostly cancels; prefer it on a shared machine).
"""

import argparse
import collections
import copy
import json
import os
import shutil
import sys
import tempfile

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

import numpy as np  # noqa: E402

from benchmarks import harness  # noqa: E402
from benchmarks.peer_networks import HEADS, protocol_stream, serve  # noqa: E402

MATMUL_SIDE = 2048
# case suffix, fold_batch_norm, conv_algorithm (None: TRACK_CONFIG's, the tracker's default)
VARIANTS = (('', True, None), ('/direct', True, 'direct'), ('/unfolded', False, 'direct'))
NETWORK_UPDATE_NOISE = 0.05  # paired network/update ratios up to 1.05 were seen on 2 loaded cores (load 3-5)


# ---- TF worker -------------------------------------------------------------------------------------------------

def tf_cases(checkpoint_dir, sizes, threads, dump=None):
    """{case: function} and info of a TF worker (module docstring); writes the peers' arrays to `dump`."""
    import tensorflow as tf
    tf.compat.v1.logging.set_verbosity(tf.compat.v1.logging.ERROR)
    import configuration
    from embeddings import siamrpn_alexnet
    from inference.inference_wrapper import WrapperBackend
    from inference.speed_choice import conv_algorithm
    from inference.subwindow import get_subwindow
    from inference.tracker import SiamRPNTracker, select_target
    from utils import runtime
    from utils.checkpoints import read_configs, resolve_checkpoint

    session_config = runtime.session_config(threads)
    model_config, _, _ = read_configs(checkpoint_dir)
    path = resolve_checkpoint(checkpoint_dir)
    frame = harness.frame_1280x720()
    box = np.array(harness.FRAME_BOX)
    cases, backends, trackers = collections.OrderedDict(), {}, {}
    for head in HEADS:
        config = copy.deepcopy(model_config)
        config['rpn_config']['fused_search_head'] = head == 'fused'
        for suffix, fold, algorithm in VARIANTS:
            backends[head, suffix] = WrapperBackend.from_checkpoint(
                config, path, sizes, session_config, fold_batch_norm=fold,
                conv_algorithm=algorithm or conv_algorithm(configuration.TRACK_CONFIG))
        for size in sizes:
            track_config = configuration.track_config_for('otb')
            track_config.update(instance_size=size, adaptive=False)
            trackers[head, size] = SiamRPNTracker(backends[head, ''], track_config)
            trackers[head, size].init(frame, box)
    state = trackers[HEADS[0], sizes[0]].state
    default_head = 'fused' if model_config['rpn_config']['fused_search_head'] else 'separate'
    exemplar = harness.tracker_crops(frame, state, sizes[0])[0]
    for backend in backends.values():  # every backend holds the same video's template
        backend.set_template(exemplar)
    for head in HEADS:
        cases['template/%s' % head] = lambda b=backends[head, '']: b.set_template(exemplar)
    for size in sizes:
        _, crop, s_x, scale_z = harness.tracker_crops(frame, state, size)
        pos, target = state['pos'].copy(), state['size'].copy()
        tracker = trackers[default_head, size]
        scores, boxes = tracker.backend.detect(crop)
        wrapper, sess = tracker.backend.wrapper, tracker.backend.session
        fed = {wrapper.instance_inputs[size]: crop[None]}
        fed.update({sess.graph.get_tensor_by_name(v.op.name + '/read:0'): value
                    for v, value in zip(wrapper.template.values(), sess.run(list(wrapper.template.values())))})
        cases['fed/%d' % size] = lambda f=fed, o=(wrapper.scores[size], wrapper.boxes[size]), s=sess: s.run(o, f)
        cases['crop/%d' % size] = lambda x=size, s_x=s_x: get_subwindow(frame, pos, x, s_x, state['colour'])
        cases['post/%d' % size] = lambda s=scores, b=boxes, t=tracker, x=size: select_target(
            s, b, t.windows[x], pos, target, scale_z, t.config)
        for head in HEADS:
            for suffix, _, _ in VARIANTS:
                cases['network/%s/%d%s' % (head, size, suffix)] = lambda b=backends[head, suffix], c=crop: b.detect(c)

            def update(t=trackers[head, size]):
                t.state['pos'], t.state['size'] = pos.copy(), target.copy()
                t.update(frame)
            cases['update/%s/%d' % (head, size)] = update
        if dump is not None:
            backend = backends['separate', '/unfolded']
            model = backend.wrapper.models[size]
            cls, reg = backend.session.run([model.cls_logits, model.reg_deltas],
                                           {backend.wrapper.instance_inputs[size]: crop[None]})
            dump['search/%d' % size], dump['tf/%d/cls' % size], dump['tf/%d/reg' % size] = crop, cls, reg

    graph = tf.Graph()
    with graph.as_default():
        rng = np.random.RandomState(0)
        a, b = (tf.Variable(rng.rand(MATMUL_SIDE, MATMUL_SIDE).astype(np.float32)) for _ in range(2))
        product = tf.reduce_sum(tf.matmul(a, b))  # fetched, so the product is computed and not pruned
        matmul_session = tf.Session(graph=graph, config=session_config)
        matmul_session.run(tf.global_variables_initializer())
    cases['matmul'] = lambda: matmul_session.run(product)
    host = np.random.RandomState(1).rand(MATMUL_SIDE, MATMUL_SIDE).astype(np.float32)
    cases['numpy_matmul'] = lambda: host.dot(host)

    if dump is not None:
        for head in HEADS:
            backend = backends[head, '/unfolded']
            values = backend.session.run(dict(backend.wrapper.template))
            dump.update({'template/' + name: value for name, value in values.items()})
        sess = backends['separate', '/unfolded'].session
        variables = backends['separate', '/unfolded'].wrapper.model_variables
        dump.update(zip([v.op.name for v in variables], sess.run(variables)))
        embed = model_config['embed_config']
        dump['meta'] = json.dumps({
            'layers': list(siamrpn_alexnet.LAYERS), 'strides': list(siamrpn_alexnet._STRIDES),
            'pool_after': list(siamrpn_alexnet._POOL_AFTER), 'relu_after': list(siamrpn_alexnet._RELU_AFTER),
            'bn_epsilon': max(embed['bn_epsilon'], 1.001e-5), 'sizes': list(sizes),
            'exemplar_size': model_config['z_image_size'], 'stride': embed['stride']})
    build = runtime.tensorflow_build()
    info = {'backend': '%s %s' % (build['name'], build['version']), 'build': build,
            'threading': runtime.describe(session_config), 'default_head': default_head,
            'conv_algorithm': conv_algorithm(configuration.TRACK_CONFIG),
            'tensorflow': runtime.describe(session_config)}
    return cases, info


def tf_worker(args):
    """Serves a TF column (run by the parent as `bench_tracker.py --worker ...`)."""
    stream = protocol_stream()
    dump = {} if args.dump else None
    cases, info = tf_cases(args.checkpoint, tuple(args.sizes), args.threads, dump)
    if dump is not None:
        np.savez(args.dump, **dump)
    serve(cases, info, stdout=stream)
    return 0


# ---- parent ----------------------------------------------------------------------------------------------------

THREAD_ENVIRONMENTS = {  # OpenMP variables of a TF column beyond utils/runtime.py's (which fills in the unset ones)
    '': {},  # the project's: OMP_NUM_THREADS = threads, KMP_BLOCKTIME=1, no binding
    ' default-env': {'KMP_BLOCKTIME': '200', 'KMP_AFFINITY': 'none'},  # the OpenMP runtime's own defaults
    ' pinned': {'KMP_AFFINITY': 'granularity=fine,compact,1,0'},  # one worker bound to each core
}


def worker_environment(suffix):
    """os.environ for a TF column: as it is plus THREAD_ENVIRONMENTS[suffix] (set, so the worker keeps them)."""
    env = dict(os.environ)
    env.update(THREAD_ENVIRONMENTS[suffix])
    return env


def start_workers(args, workdir, checkpoint_dir):
    """Starts the TF and peer workers -> list of Worker (peers that cannot start are reported and skipped)."""
    script = os.path.abspath(__file__)
    arrays = os.path.join(workdir, 'arrays.npz')
    base = ['--worker', '--checkpoint', checkpoint_dir, '--sizes'] + [str(s) for s in args.sizes] + [
        '--threads', str(args.threads)]
    specs = [[sys.executable, script] + base + ['--dump', arrays]] + [[python, script] + base
                                                                     for python in args.tf_python]
    workers = []

    def start(command, suffix):
        print('starting %s%s ...' % (command[0], suffix), file=sys.stderr)
        worker = harness.Worker(command[0] + suffix, command, os.path.join(workdir, 'worker%d.log' % len(workers)),
                        worker_environment(suffix))
        build = worker.info['build']
        worker.label = '%s %s%s' % ('intel-tf' if build['name'] == 'intel-tensorflow' else 'stock-tf',
                                    build['version'], suffix)
        workers.append(worker)
        return build

    for command in specs:
        build = start(command, '')
        if args.compare_thread_env and build['onednn']:  # the stock build does not read the OpenMP variables
            for suffix in (' default-env', ' pinned'):
                start([c for c in command if c != '--dump' and c != arrays], suffix)
    peer_script = os.path.join(os.path.dirname(script), 'peer_networks.py')
    for backend, python in (('torch', args.torch_python), ('onnxruntime', args.onnxruntime_python)):
        if not python:
            print('%s: skipped (no --%s-python given)' % (backend, backend), file=sys.stderr)
            continue
        if not os.path.isfile(python):
            print('%s: skipped (%s does not exist)' % (backend, python), file=sys.stderr)
            continue
        print('starting %s ...' % backend, file=sys.stderr)
        try:
            command = [python, peer_script, '--backend', backend, '--arrays', arrays, '--threads', str(args.threads)]
            worker = harness.Worker(backend, command, os.path.join(workdir, '%s.log' % backend))
        except RuntimeError as error:
            print('%s: skipped, the worker failed: %s' % (backend, error), file=sys.stderr)
            continue
        worker.label = worker.info['backend']
        workers.append(worker)
    return workers


def case_order(workers):
    """[(worker, case)] grouped so that the same step of every column runs back to back: by the case's step, head
    and size, then by worker."""
    return sorted(((w, c) for w in workers for c in w.cases), key=lambda t: (t[1].split('/')[:3], workers.index(t[0])))


def run_rounds(workers, runs, warmup, settle_seconds):
    """{(worker label, case): [ms]} over `runs` rounds after `warmup` (benchmarks/harness.py's run_rounds, pausing
    `settle_seconds` between cases of different workers)."""
    cases = collections.OrderedDict(((w.label, c), w.timer(c)) for w, c in case_order(workers))
    return harness.run_rounds(cases, runs, warmup, progress=harness.stderr_progress('rounds'),
                              process_of=lambda key: key[0], settle_seconds=settle_seconds)


def report(args, workers, times, flops, load_before, load_after):
    """Prints the tables."""
    def median(label, case):
        return float(np.median(times[label, case]))

    def minimum(label, case):
        return float(np.min(times[label, case]))

    tf_workers = [w for w in workers if 'build' in w.info]
    rates = collections.OrderedDict()  # large-matmul GFLOP/s measured in this run
    for worker in workers:
        for case, name in (('matmul', worker.label), ('numpy_matmul', 'numpy (%s)' % worker.label)):
            if case in worker.cases:
                rates[name] = 2. * MATMUL_SIDE ** 3 / median(worker.label, case) / 1e6
    best = max(rates, key=rates.get)
    peak = rates[best]
    print('\n# SiamRPN tracker speed: arch %s (random weights), %d runs after %d warm-up, %d threads'
          % (args.arch, args.runs, args.warmup, args.threads))
    print('\n'.join(harness.machine_lines()[:1]))
    print('# load average before %s, after %s (other processes share the cores when above 0: timings contended)'
          % (load_before, load_after))
    for worker in workers:
        extra = worker.info.get('threading') or 'max relative error vs TF %.1e' % worker.info['max_relative_error']
        print('#   %-28s %s' % (worker.label, extra))

    print('# %dx%d float32 matmul, GFLOP/s: %s; peak = %s' % (MATMUL_SIDE, MATMUL_SIDE, ', '.join(
        '%s %.1f' % item for item in rates.items()), best))
    for worker in tf_workers:
        label = worker.label
        print('\n## %s: per-step times (median (min) ms); "of peak" = GFLOP/s / %.1f (%s)' % (label, peak, best))
        print('| size | step | median ms | min ms | FPS | GFLOP | GFLOP/s | of peak | eff. GFLOP/s |')
        print('| --- | --- | --- | --- | --- | --- | --- | --- | --- |')
        for index, size in enumerate(args.sizes):
            steps = (['template/%s' % h for h in HEADS] if index == 0 else []) + [
                'network/%s/%d' % (h, size) for h in HEADS] + ['fed/%d' % size, 'crop/%d' % size, 'post/%d' % size] + [
                'update/%s/%d' % (h, size) for h in HEADS]
            for case in steps:
                med, low = median(label, case), minimum(label, case)
                cells = ['', '', '', '']
                if case.startswith(('network/', 'update/')):
                    head = case.split('/')[1]
                    work = flops[size, head]
                    cells = ['%.2f' % (work / 1e9), '%.1f' % (work / med / 1e6), '%.0f%%' % (
                        100. * work / med / 1e6 / peak), '%.1f' % (flops[size, 'separate'] / med / 1e6)]
                step = '/'.join(part for part in case.split('/') if part != str(size))
                print('| %s | %s | %.2f | %.2f | %.1f | %s |' % (size if not case.startswith('template') else '-',
                                                                step, med, low, 1e3 / med, ' | '.join(cells)))

    print('\n## network only (track step), median ms; ratio = column / %s %s (> 1: ours is faster), as the ratio of '
          'the medians and paired (median of the per-round ratios)' % (tf_workers[0].label,
                                                                       tf_workers[0].info['default_head']))
    reference = {size: median(tf_workers[0].label, 'network/%s/%d' % (tf_workers[0].info['default_head'], size))
                 for size in args.sizes}
    print('| column | head | ' + ' | '.join('%d ms | ratio | paired' % s for s in args.sizes) + ' |')
    print('| --- | --- | ' + ' | '.join('--- | --- | ---' for _ in args.sizes) + ' |')
    for worker in workers:
        for variant in network_variants(worker.cases):
            for head in HEADS:
                cells = []
                for size in args.sizes:
                    case = 'network/%s/%d' % (head, size) + ('/' + variant if variant else '')
                    value = median(worker.label, case)
                    ours = times[tf_workers[0].label, 'network/%s/%d' % (tf_workers[0].info['default_head'], size)]
                    cells.append('%.2f | %.2f | %.2f' % (value, value / reference[size],
                                                         paired_ratio(times[worker.label, case], ours)))
                name = worker.label + (' ' + variant.replace('torch_', '') if variant.startswith('torch_') else '')
                name += {'unfolded': ' (BN not folded, direct convs)', 'direct': ' (direct convs)'}.get(variant, '')
                print('| %s | %s | %s |' % (name, head, ' | '.join(cells)))

    print('\n## harness check: network <= update (update contains the network step); paired = median over rounds of '
          'network / update in the same round')
    for worker in tf_workers:
        for size in args.sizes:
            for head in HEADS:
                network, update = ('%s/%s/%d' % (step, head, size) for step in ('network', 'update'))
                ratio = paired_ratio(times[worker.label, network], times[worker.label, update])
                print('#   %s %s %d: network %.2f ms, update %.2f ms, paired %.3f: %s' % (
                    worker.label, head, size, median(worker.label, network), median(worker.label, update), ratio,
                    'ok' if ratio <= 1 else 'ok within noise (crop + post-processing are ~0.3 ms)'
                    if ratio <= 1 + NETWORK_UPDATE_NOISE else 'NOT OK (network slower than the step containing it)'))

    peers = [w for w in workers if 'build' not in w.info]
    if peers:
        ours = tf_workers[0]
        print('\n## ours (%s, %s head, BN folded, %s convs) against the peers on the same weights: speed-up = peer '
              'ms / ours ms, each peer at its fastest variant and head (> 1: ours is faster)'
              % (ours.label, ours.info['default_head'], ours.info['conv_algorithm']))
        header = ['search', 'ours ms']
        for worker in peers:
            header += ['%s ms' % worker.label, 'speed-up', 'paired']
        rows = []
        for size in args.sizes:
            ours_times = times[ours.label, 'network/%s/%d' % (ours.info['default_head'], size)]
            row = [size, '%.2f' % reference[size]]
            for worker in peers:
                fastest = min((c for c in worker.cases if c.startswith('network/') and c.split('/')[2] == str(size)),
                              key=lambda c, w=worker: median(w.label, c))
                value = median(worker.label, fastest)
                row += ['%.2f' % value, '%.2f' % (value / reference[size]),
                        '%.2f' % paired_ratio(times[worker.label, fastest], ours_times)]
            rows.append(row)
        print(harness.markdown_table(header, rows))


def paired_ratio(numerators, denominators):
    """Median over rounds of numerator / denominator of the same round (two cases' ms lists, one value a round)."""
    return float(np.median(np.asarray(numerators, np.float64) / np.asarray(denominators, np.float64)))


def network_variants(cases):
    """The variant suffixes of a worker's network cases ('' for none), e.g. ['', 'unfolded']."""
    return sorted({c.split('/', 3)[3] if c.count('/') == 3 else '' for c in cases if c.startswith('network/')})


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--arch', default='otb', choices=['otb', 'vot', 'big'])
    parser.add_argument('--sizes', type=int, nargs='+', default=[255, 271])
    parser.add_argument('--runs', type=int, default=30, help='timed rounds (medians over them)')
    parser.add_argument('--warmup', type=int, default=5, help='untimed rounds first')
    parser.add_argument('--threads', type=int, default=None, help='intra-op threads (default: all cores)')
    parser.add_argument('--settle-ms', type=float, default=250., help='pause between cases of different workers, '
                        "longer than the OpenMP runtimes' spin (KMP_BLOCKTIME's default is 200 ms)")
    parser.add_argument('--tf-python', nargs='*', default=[], help="other environments' Pythons with TF and the "
                        "project installed (e.g. .venv-stock/bin/python), one column each")
    parser.add_argument('--compare-thread-env', action='store_true',
                        help="for each oneDNN build, add columns with the OpenMP runtime's defaults and with workers "
                             "bound to cores instead of utils/runtime.py's OpenMP variables")
    parser.add_argument('--torch-python', help='a Python with torch and numpy (PyTorch column)')
    parser.add_argument('--onnxruntime-python', help='a Python with onnxruntime, onnx and numpy (ONNX Runtime column)')
    parser.add_argument('--worker', action='store_true', help=argparse.SUPPRESS)
    parser.add_argument('--checkpoint', help=argparse.SUPPRESS)
    parser.add_argument('--dump', help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    from utils import runtime
    args.threads = args.threads or runtime.cpu_threads()
    if args.worker:
        runtime.configure_environment(args.threads)  # before TensorFlow loads OpenMP (set variables win)
        return tf_worker(args)

    import tensorflow as tf
    tf.compat.v1.logging.set_verbosity(tf.compat.v1.logging.ERROR)
    import configuration
    from inference.checkpoint_io import save_random_checkpoint_dir
    from siamese_model import search_branch_flops

    model_config = configuration.model_config_for(args.arch)
    flops = {(size, head): search_branch_flops(model_config, size, head == 'fused')
             for size in args.sizes for head in HEADS}
    workdir = tempfile.mkdtemp(prefix='bench_tracker_')
    workers = []
    try:
        checkpoint_dir = os.path.join(workdir, 'random-%s' % args.arch)
        save_random_checkpoint_dir(checkpoint_dir, model_config)
        workers = start_workers(args, workdir, checkpoint_dir)
        load_before = harness.load_average()
        times = run_rounds(workers, args.runs, args.warmup, args.settle_ms / 1e3)
        report(args, workers, times, flops, load_before, harness.load_average())
    finally:
        for worker in workers:
            worker.close()
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
