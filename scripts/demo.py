"""The end-to-end demo behind `make demo`: synthetic dataset -> training -> OTB evaluation of the trained and the
untrained model beside OpenCV's trackers -> table, plots and where the TensorBoard logs are.

  python scripts/demo.py [--nano-dir ../shared/peers/nanotrack-v2] [--results-dir Logs/SiamRPN/demo]

Steps (each resumes where a previous, interrupted demo stopped):
  1. the embedded synthetic dataset (datasets/synthetic.py): generate the train and test splits, curate the train
     split into 511 crops, write the train/validation imdbs and build the LMDB (finished parts are skipped);
  2. `python experiments/SiamRPN-AlexNet.py`, the real training entry point, with no overrides: without real data
     it trains on the synthetic dataset with its CPU schedule (SiamRPN-AlexNet at width multiplier 0.25, C 64);
     re-running resumes from the latest checkpoint, and a finished run returns at once;
  3. `benchmarks/run_OTB.py`'s run_benchmark on the synthetic TEST split (never curated, never trained on): the
     trained model (latest checkpoint), the untrained one (model.ckpt-0, the same run's start), NanoTrack (when
     --nano-dir holds its two ONNX files) and MIL; sequences already tracked are not tracked again;
  4. the table, the success/precision plots and summary.json in <results-dir>/report, the TensorBoard command.

Trackers are named <run>-w<width>-ckpt<step>, so the reduced width is in every table and plot.

Real video (OTB-layout folders: <root>/<sequence>/img/*.jpg + groundtruth_rect.txt):

  python scripts/demo.py --train-root ../shared/data/otb-train-ground ../shared/data/otb-train \
      --eval-root ../shared/data/otb-dev [--hold-out David Bolt2 ...] [--synthetic-ratio R] [--init synthetic]

  1. the synthetic dataset when it is needed (mixed in, or for the model to fine-tune);
  2. with --init synthetic (the default) the synthetic-only model of `make demo` (trained now when missing;
     resumed when unfinished), whose whole checkpoint (embedding and RPN head) starts the real run;
  3. curation of every --train-root (and of the synthetic train split when --synthetic-ratio > 0) into one imdb and
     LMDB under data/real-demo/<run>; --hold-out sequences go to the validation imdb instead of training (frames
     without a box, NaN rows, are skipped; greyscale frames are read as 3-channel images);
  4. `python experiments/SiamRPN-AlexNet-cpu.py` (configuration.CPU_SCHEDULE) on it for --epochs epochs of 400 steps
     into Logs/SiamRPN/track_model_checkpoints/<run>; source weights make the real pairs uniform over the real
     videos and the synthetic pairs the share --synthetic-ratio;
  5. OTB evaluation on each --eval-root and on the --hold-out sequences ('held-out'): the trained model, the
     synthetic-only model when it exists, NanoTrack and MIL, one table, summary.json and plots per set in
     <results-dir>/report/<set>/, results in <results-dir>/results/<set>/ (shared by runs, so the peers run once).
Every step resumes: curated videos, LMDB keys, checkpoints and tracked sequences are kept.
"""

import argparse
import os
import re
import subprocess
import sys
import time

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

import tensorflow as tf  # noqa: E402

tf.compat.v1.logging.set_verbosity(tf.compat.v1.logging.ERROR)

import configuration  # noqa: E402
from benchmarks.run_OTB import checkpoint_specs, load_sequences, peer_specs, run_benchmark  # noqa: E402
from datasets.real_data import build_real_dataset, format_build_summary  # noqa: E402
from datasets.sources.otb import OTBSource  # noqa: E402
from datasets.synthetic import build_synthetic_dataset, synthetic_paths  # noqa: E402
from metrics.report import format_table  # noqa: E402
from train_siamese_model import run_paths  # noqa: E402
from utils.checkpoints import CHECKPOINT_PREFIX, read_configs  # noqa: E402
from utils.io_utils import write_json  # noqa: E402

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXPERIMENT = os.path.join(PROJECT_ROOT, 'experiments', 'SiamRPN-AlexNet.py')
CPU_EXPERIMENT = os.path.join(PROJECT_ROOT, 'experiments', 'SiamRPN-AlexNet-cpu.py')
STEPS_PER_EPOCH = 400  # configuration.CPU_SCHEDULE: 3200 pairs of 8 per epoch
REAL_RUN_NAME = 'SiamRPN-AlexNet-real'
REAL_DATA_DIR = os.path.join('data', 'real-demo')
HELD_OUT_SET = 'held-out'
NANO_FILES = ('nanotrack_backbone_sim.onnx', 'nanotrack_head_sim.onnx')
TRAINED_AUC_GOAL = 0.60  # the demo's bar for the trained model on the synthetic test split
UNTRAINED_AUC_LIMIT = 0.35  # the untrained model must stay below this: the split needs learning
DEFAULT_SYNTHETIC_RATIO = 0.5  # real-video runs: share of synthetic pairs (chosen by measurement, docs/training.md)
DEFAULT_REAL_EPOCHS = 10  # real-video runs: 4000 steps (chosen by measurement, docs/training.md)


def nano_files(nano_dir):
    """(backbone, head) ONNX paths in nano_dir, or None (with the reason) when the folder or a file is missing."""
    if not nano_dir:
        return None, 'no --nano-dir given'
    paths = tuple(os.path.join(nano_dir, name) for name in NANO_FILES)
    missing = [p for p in paths if not os.path.isfile(p)]
    if missing:
        return None, 'missing %s' % ', '.join(missing)
    return paths, None


def run_training(extra_args, experiment=EXPERIMENT):
    """Runs the experiment script in a subprocess (its own Sacred run); raises RuntimeError when it fails."""
    command = [sys.executable, experiment] + (['with'] + list(extra_args) if extra_args else [])
    print('$ %s' % ' '.join(command), flush=True)
    code = subprocess.call(command)
    if code != 0:
        raise RuntimeError('training failed (exit code %d): %s' % (code, ' '.join(command)))


def run_name_of(train_dir):
    """The tracker name prefix of a run: <run directory>-w<width multiplier>."""
    width = read_configs(train_dir)[0]['embed_config']['width_multiplier']
    return '%s-w%g' % (os.path.basename(os.path.normpath(train_dir)), width)


def peer_list(nano_dir):
    """TrackerSpecs of the peers: NanoTrack (when nano_dir holds its two ONNX files) and MIL."""
    peers = ['mil']
    nano, why = nano_files(nano_dir)
    if nano:
        peers = ['nano', 'mil']
    else:
        print('NanoTrack is left out: %s' % why)
    return peer_specs(peers, *(nano or (None, None)))


def tracker_specs(train_dir, nano_dir):
    """TrackerSpecs of the trained (latest) and untrained (step 0) checkpoints of the run, plus the peers."""
    name = run_name_of(train_dir)
    untrained = os.path.join(train_dir, '%s-0' % CHECKPOINT_PREFIX)
    if not os.path.isfile(untrained + '.index'):
        raise FileNotFoundError('%s.index not found: the run keeps its untrained start as model.ckpt-0 unless more '
                                'than max_checkpoints_to_keep checkpoints were written' % untrained)
    specs = checkpoint_specs([train_dir], name=name) + checkpoint_specs([untrained], name=name)
    return specs, peer_list(nano_dir)


def verdict(summary, trained_name, untrained_name):
    """Lines comparing the trained and untrained AUCs with the demo's bars."""
    auc = {t['name']: t['overall']['auc'] for t in summary['trackers']}
    lines = []
    if trained_name in auc:
        ok = auc[trained_name] >= TRAINED_AUC_GOAL
        lines.append('trained   %s: AUC %.3f (goal >= %.2f: %s)' % (trained_name, auc[trained_name],
                                                                   TRAINED_AUC_GOAL, 'met' if ok else 'NOT met'))
    if untrained_name in auc:
        ok = auc[untrained_name] < UNTRAINED_AUC_LIMIT
        lines.append('untrained %s: AUC %.3f (must stay < %.2f: %s)' % (untrained_name, auc[untrained_name],
                                                                       UNTRAINED_AUC_LIMIT, 'yes' if ok else 'NO'))
    return lines


def source_name(root):
    """The dataset name of a --train-root/--eval-root folder: its base name, in letters, digits and ._-."""
    return re.sub(r'[^A-Za-z0-9._-]+', '-', os.path.basename(os.path.normpath(root))) or 'root'


def root_videos(root):
    """The OTB-layout sequence names in `root`; ValueError naming the folder when there is none."""
    videos = OTBSource(root, name=source_name(root)).video_names()
    if not videos:
        raise ValueError('%s holds no OTB-layout sequence folder (<sequence>/img/*.jpg beside '
                         'groundtruth_rect.txt)' % root)
    return videos


def real_data_config(train_roots, hold_out, output_dir, synthetic_root=None, synthetic_ratio=0.0):
    """The real-data config (configuration.DATA_CONFIG's layout; datasets/real_data.py) of a real-video demo run.

    Every --train-root is an OTB-layout source weighted by its number of training videos, so pairs are uniform over
    the real videos; with synthetic_ratio r > 0 the synthetic train split (synthetic_root) is one more source whose
    weight makes it the share r of the pairs. Held-out names must be sequences of the train roots.
    """
    if not 0.0 <= synthetic_ratio < 1.0:
        raise ValueError('--synthetic-ratio must be in [0, 1), got %r' % synthetic_ratio)
    sources, found = {}, set()
    for root in train_roots:
        name = source_name(root)
        if name in sources or name == 'synthetic':
            raise ValueError('--train-root %s: another root is named %s already; give folders distinct names' % (
                root, name))
        videos = root_videos(root)
        found.update(videos)
        count = len([v for v in videos if v not in hold_out])
        sources[name] = {'layout': 'otb', 'root': root, 'options': {}, 'weight': float(count),
                         'max_frame_dist': None}
    missing = sorted(set(hold_out) - found)
    if missing:
        raise ValueError('--hold-out names %s, which no --train-root holds' % ', '.join(missing))
    real = sum(entry['weight'] for entry in sources.values())
    if real == 0:
        raise ValueError('every sequence of the --train-root folders is held out: nothing left to train on')
    if synthetic_ratio > 0:
        sources['synthetic'] = {'layout': 'otb', 'root': synthetic_root, 'options': {},
                                'weight': synthetic_ratio / (1.0 - synthetic_ratio) * real, 'max_frame_dist': None}
    return {'output_dir': output_dir, 'datasets': sorted(sources), 'validation_ratio': 0.0, 'split_seed': 0,
            'sources': sources}


def data_overrides(data_config):
    """Sacred `key=value` overrides of the readers from a build's data_config (reader keys per section)."""
    overrides = []
    for section in ('train_data_config', 'validation_data_config'):
        for key, value in sorted(data_config.get(section, {}).items()):
            overrides.append('train_config.%s.%s=%r' % (section, key, value))
    return overrides


def evaluation_sets(eval_roots, train_roots, hold_out):
    """[(set name, [Sequence])]: one set per --eval-root, then 'held-out' (the --hold-out sequences)."""
    sets = []
    for root in eval_roots:
        root_videos(root)
        sets.append((source_name(root), load_sequences('otb', root)))
    if hold_out:
        held = []
        for root in train_roots:
            names = [v for v in root_videos(root) if v in hold_out]
            held += load_sequences('otb', root, names=names) if names else []
        sets.append((HELD_OUT_SET, held))
    names = [name for name, _ in sets]
    if len(set(names)) != len(names):
        raise ValueError('two evaluation sets are named alike (%s); give --eval-root folders distinct names' % names)
    return sets


def latest_run(train_dir):
    """train_dir when it holds a checkpoint, else None."""
    return train_dir if os.path.isdir(train_dir) and tf.train.latest_checkpoint(train_dir) else None


def build_parser():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--nano-dir', help='folder holding %s (NanoTrack is left out without it)' % ' and '.join(
        NANO_FILES))
    parser.add_argument('--results-dir', help='tracking results (<dir>/results) and report (<dir>/report) (default: '
                                              '%s, with --train-root %s)' % (
                                                  os.path.join(configuration.LOG_DIR, 'demo'),
                                                  os.path.join(configuration.LOG_DIR, 'demo-real')))
    parser.add_argument('--skip-training', action='store_true',
                        help='evaluate the run as it is (its latest checkpoint must exist)')
    parser.add_argument('--no-progress', action='store_true', help='no progress bars')
    real = parser.add_argument_group('real video (--train-root)')
    real.add_argument('--train-root', nargs='+', metavar='DIR', help='OTB-layout folders to train on')
    real.add_argument('--eval-root', nargs='+', default=[], metavar='DIR',
                      help='OTB-layout folders to evaluate on, each its own table')
    real.add_argument('--hold-out', nargs='+', default=[], metavar='SEQ',
                      help='sequences of the train roots kept out of training: the validation imdb and the '
                           "'held-out' evaluation set")
    real.add_argument('--synthetic-ratio', type=float, default=DEFAULT_SYNTHETIC_RATIO,
                      help='share of the training pairs drawn from the synthetic train split (default: %(default)s)')
    real.add_argument('--init', default='synthetic', metavar='synthetic|scratch|PATH',
                      help="synthetic: fine-tune make demo's whole synthetic-trained model (trained first when "
                           "missing); scratch: random initialisation; PATH: a checkpoint prefix or run directory "
                           "(default: %(default)s)")
    real.add_argument('--epochs', type=int, default=DEFAULT_REAL_EPOCHS,
                      help='epochs of %d steps of 8 pairs (default: %%(default)s)' % STEPS_PER_EPOCH)
    real.add_argument('--run-name', default=REAL_RUN_NAME, help='run directory name (default: %(default)s)')
    parser.add_argument('train_overrides', nargs='*', metavar='KEY=VALUE',
                        help="Sacred overrides for the training run, e.g. train_config.train_data_config.epoch=1")
    return parser


def run_synthetic(args):
    """make demo: synthetic dataset -> training -> evaluation on the synthetic test split."""
    start = time.time()
    timings = []
    train_config = configuration.TRAIN_CONFIG
    results = args.results_dir or os.path.join(configuration.LOG_DIR, 'demo')

    print('== 1/3 synthetic dataset (%s)' % train_config['synthetic_data_config']['root_dir'], flush=True)
    began = time.time()
    build_synthetic_dataset(train_config['synthetic_data_config'], train_config['curation_config'],
                            progress=not args.no_progress)
    timings.append(('dataset', time.time() - began))

    train_dir = run_paths(configuration.RUN_NAME)['train_config']['train_dir']  # the experiment's own train_dir
    print('== 2/3 training: experiments/SiamRPN-AlexNet.py -> %s' % train_dir, flush=True)
    began = time.time()
    if not args.skip_training:
        run_training(args.train_overrides)
    elif not tf.train.latest_checkpoint(train_dir):
        raise FileNotFoundError('--skip-training: %s holds no checkpoint' % train_dir)
    timings.append(('training', time.time() - began))

    print('== 3/3 OTB evaluation on the synthetic test split', flush=True)
    began = time.time()
    specs, peers = tracker_specs(train_dir, args.nano_dir)
    test_dir = synthetic_paths(train_config['synthetic_data_config'])['test_dir']
    sequences = load_sequences('otb', test_dir)
    results_dir = os.path.join(results, 'results')
    report_dir = os.path.join(results, 'report')
    summary = run_benchmark(specs + peers, sequences, results_dir, report_dir,
                            dataset={'name': 'synthetic test split', 'root': test_dir},
                            progress=not args.no_progress)
    timings.append(('evaluation', time.time() - began))

    print()
    print(format_table(summary))
    print()
    for line in verdict(summary, specs[0].name, specs[1].name):
        print(line)
    print('plots and summary.json: %s' % report_dir)
    print('tracking results:       %s' % results_dir)
    print('TensorBoard:            tensorboard --logdir %s   (this run: %s)' % (
        os.path.dirname(configuration.LOG_DIR) or configuration.LOG_DIR, train_dir))
    print('wall time: %s; total %.1f min' % (', '.join('%s %.1f min' % (n, s / 60.0) for n, s in timings),
                                            (time.time() - start) / 60.0))
    return summary


def run_real(args):
    """The real-video demo (see the module docstring); returns {set name: summary}."""
    start = time.time()
    timings = []
    train_config = configuration.TRAIN_CONFIG
    results = args.results_dir or os.path.join(configuration.LOG_DIR, 'demo-real')
    hold_out = list(args.hold_out)
    synthetic_dir = run_paths(configuration.RUN_NAME)['train_config']['train_dir']
    train_dir = run_paths(args.run_name)['train_config']['train_dir']
    if os.path.abspath(train_dir) == os.path.abspath(synthetic_dir):
        raise ValueError('--run-name %s is the synthetic demo run; choose another' % args.run_name)
    if args.epochs < 1:
        raise ValueError('--epochs must be >= 1, got %d' % args.epochs)
    sets = evaluation_sets(args.eval_root, args.train_root, hold_out)  # checks the folders before any work
    synthetic_root = synthetic_paths(train_config['synthetic_data_config'])['train_dir']
    data_config = real_data_config(args.train_root, hold_out, os.path.join(REAL_DATA_DIR, args.run_name),
                                   synthetic_root, args.synthetic_ratio)
    print('%d cores; training on %s, %d epochs of %d steps, init %s; evaluating on %s' % (
        os.cpu_count(), ', '.join('%s (weight %.1f)' % (n, e['weight']) for n, e in sorted(
            data_config['sources'].items())), args.epochs, STEPS_PER_EPOCH, args.init,
        ', '.join('%s (%d sequences)' % (n, len(q)) for n, q in sets)), flush=True)

    init = None
    if args.init == 'synthetic' or args.synthetic_ratio > 0:
        print('== synthetic dataset (%s)' % train_config['synthetic_data_config']['root_dir'], flush=True)
        began = time.time()
        build_synthetic_dataset(train_config['synthetic_data_config'], train_config['curation_config'],
                                progress=not args.no_progress)
        timings.append(('synthetic dataset', time.time() - began))
    if args.init == 'synthetic':
        print('== the synthetic-only model: experiments/SiamRPN-AlexNet.py -> %s' % synthetic_dir, flush=True)
        began = time.time()
        if not args.skip_training:
            run_training([])  # returns at once when make demo trained it already
        timings.append(('synthetic model', time.time() - began))
        init = synthetic_dir
    elif args.init != 'scratch':
        init = args.init

    print('== real data: %s' % data_config['output_dir'], flush=True)
    began = time.time()
    paths = build_real_dataset(data_config, train_config['curation_config'], progress=not args.no_progress,
                               held_out=hold_out)
    print(format_build_summary(paths))
    timings.append(('real data', time.time() - began))

    print('== training: experiments/SiamRPN-AlexNet-cpu.py -> %s' % train_dir, flush=True)
    began = time.time()
    overrides = ['train_config.train_dir=%r' % train_dir, 'train_config.train_data_config.epoch=%d' % args.epochs]
    overrides += data_overrides(paths['data_config'])
    if init:
        overrides.append('train_config.init_checkpoint=%r' % init)
    if not args.skip_training:
        run_training(overrides + list(args.train_overrides), CPU_EXPERIMENT)
    elif not tf.train.latest_checkpoint(train_dir):
        raise FileNotFoundError('--skip-training: %s holds no checkpoint' % train_dir)
    timings.append(('training', time.time() - began))

    print('== OTB evaluation: %s' % ', '.join(name for name, _ in sets), flush=True)
    began = time.time()
    specs = checkpoint_specs([train_dir], name=run_name_of(train_dir))
    if latest_run(synthetic_dir):
        specs += checkpoint_specs([synthetic_dir], name=run_name_of(synthetic_dir))
    specs += peer_list(args.nano_dir)
    summaries = {}
    for name, sequences in sets:
        summaries[name] = run_benchmark(specs, sequences, os.path.join(results, 'results', name),
                                        os.path.join(results, 'report', name), dataset={'name': name},
                                        progress=not args.no_progress)
    timings.append(('evaluation', time.time() - began))
    wall = time.time() - start
    report = {'run': train_dir, 'init': init, 'epochs': args.epochs, 'steps': args.epochs * STEPS_PER_EPOCH,
              'train_roots': list(args.train_root), 'hold_out': hold_out, 'synthetic_ratio': args.synthetic_ratio,
              'source_weights': {n: e['weight'] for n, e in data_config['sources'].items()},
              'cores': os.cpu_count(), 'timings_s': dict(timings), 'wall_time_s': wall,
              'sets': {name: {t['name']: t['overall'] for t in summary['trackers']}
                       for name, summary in summaries.items()}}
    write_json(os.path.join(results, 'report', 'summary.json'), report)

    for name, summary in summaries.items():
        print()
        print('%s (%d sequences, %d frames)' % (name, summary['dataset']['sequences'], summary['dataset']['frames']))
        print(format_table(summary))
    print()
    print('plots and summary.json: %s/<set>; all sets: %s' % (os.path.join(results, 'report'),
                                                             os.path.join(results, 'report', 'summary.json')))
    print('tracking results:       %s/<set>' % os.path.join(results, 'results'))
    print('TensorBoard:            tensorboard --logdir %s   (this run: %s)' % (
        os.path.dirname(configuration.LOG_DIR) or configuration.LOG_DIR, train_dir))
    print('wall time on %d cores: %s; total %.1f min' % (
        os.cpu_count(), ', '.join('%s %.1f min' % (n, s / 60.0) for n, s in timings), wall / 60.0))
    return summaries


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.train_root:
        if args.eval_root or args.hold_out:
            parser.error('--eval-root and --hold-out go with --train-root')
        return run_synthetic(args)
    if not args.eval_root and not args.hold_out:
        parser.error('--train-root needs something to evaluate on: --eval-root and/or --hold-out')
    try:
        return run_real(args)
    except (ValueError, FileNotFoundError) as error:
        parser.exit(2, '%s: error: %s\n' % (parser.prog, error))


if __name__ == '__main__':
    main()
