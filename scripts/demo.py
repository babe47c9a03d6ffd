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
"""

import argparse
import os
import subprocess
import sys
import time

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

import tensorflow as tf  # noqa: E402

tf.compat.v1.logging.set_verbosity(tf.compat.v1.logging.ERROR)

import configuration  # noqa: E402
from benchmarks.run_OTB import checkpoint_specs, load_sequences, peer_specs, run_benchmark  # noqa: E402
from datasets.synthetic import build_synthetic_dataset, synthetic_paths  # noqa: E402
from metrics.report import format_table  # noqa: E402
from train_siamese_model import run_paths  # noqa: E402
from utils.checkpoints import CHECKPOINT_PREFIX, read_configs  # noqa: E402

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXPERIMENT = os.path.join(PROJECT_ROOT, 'experiments', 'SiamRPN-AlexNet.py')
NANO_FILES = ('nanotrack_backbone_sim.onnx', 'nanotrack_head_sim.onnx')
TRAINED_AUC_GOAL = 0.60  # the demo's bar for the trained model on the synthetic test split
UNTRAINED_AUC_LIMIT = 0.35  # the untrained model must stay below this: the split needs learning


def nano_files(nano_dir):
    """(backbone, head) ONNX paths in nano_dir, or None (with the reason) when the folder or a file is missing."""
    if not nano_dir:
        return None, 'no --nano-dir given'
    paths = tuple(os.path.join(nano_dir, name) for name in NANO_FILES)
    missing = [p for p in paths if not os.path.isfile(p)]
    if missing:
        return None, 'missing %s' % ', '.join(missing)
    return paths, None


def run_training(extra_args):
    """Runs the experiment script in a subprocess (its own Sacred run); raises RuntimeError when it fails."""
    command = [sys.executable, EXPERIMENT] + (['with'] + list(extra_args) if extra_args else [])
    print('$ %s' % ' '.join(command), flush=True)
    code = subprocess.call(command)
    if code != 0:
        raise RuntimeError('training failed (exit code %d): %s' % (code, ' '.join(command)))


def tracker_specs(train_dir, nano_dir):
    """TrackerSpecs of the trained (latest) and untrained (step 0) checkpoints of the run, plus the peers."""
    model_config = read_configs(train_dir)[0]
    width = model_config['embed_config']['width_multiplier']
    name = '%s-w%g' % (os.path.basename(os.path.normpath(train_dir)), width)
    untrained = os.path.join(train_dir, '%s-0' % CHECKPOINT_PREFIX)
    if not os.path.isfile(untrained + '.index'):
        raise FileNotFoundError('%s.index not found: the run keeps its untrained start as model.ckpt-0 unless more '
                                'than max_checkpoints_to_keep checkpoints were written' % untrained)
    specs = checkpoint_specs([train_dir], name=name) + checkpoint_specs([untrained], name=name)
    peers = ['mil']
    nano, why = nano_files(nano_dir)
    if nano:
        peers = ['nano', 'mil']
    else:
        print('NanoTrack is left out: %s' % why)
    return specs, peer_specs(peers, *(nano or (None, None)))


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


def build_parser():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--nano-dir', help='folder holding %s (NanoTrack is left out without it)' % ' and '.join(
        NANO_FILES))
    parser.add_argument('--results-dir', default=os.path.join(configuration.LOG_DIR, 'demo'),
                        help='tracking results (<dir>/results) and report (<dir>/report) (default: %(default)s)')
    parser.add_argument('--skip-training', action='store_true',
                        help='evaluate the run as it is (its latest checkpoint must exist)')
    parser.add_argument('--no-progress', action='store_true', help='no progress bars')
    parser.add_argument('train_overrides', nargs='*', metavar='KEY=VALUE',
                        help="Sacred overrides for the training run, e.g. train_config.train_data_config.epoch=1")
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    start = time.time()
    timings = []
    train_config = configuration.TRAIN_CONFIG

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
    results_dir = os.path.join(args.results_dir, 'results')
    report_dir = os.path.join(args.results_dir, 'report')
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


if __name__ == '__main__':
    main()
