"""Runs trackers on OTB100 (or GOT-10k val, VOT, LaSOT, UAV123) and reports them as the OTB toolkit and got10k do.

  python benchmarks/run_OTB.py --root data/OTB100 \\
      --checkpoint Logs/SiamRPN/track_model_checkpoints/SiamRPN-AlexNet --all-checkpoints \\
      --peers nano mil --nano-backbone nanotrack_backbone_sim.onnx --nano-head nanotrack_head_sim.onnx

Trackers:
  --checkpoint DIR|PREFIX|GLOB ...  SiamRPN checkpoints: a run directory (its latest checkpoint, or every
                                    model.ckpt-<step> with --all-checkpoints), a checkpoint prefix
                                    (DIR/model.ckpt-1200) or a quoted glob of either. Each is named
                                    <run>-ckpt<step> (or <--name>-ckpt<step>) so the table shows which step scores best.
  --peers nano mil                  OpenCV's NanoTrack (ONNX files from --nano-backbone/--nano-head) and MIL.
  --include NAME ...                results already in <results-dir>/NAME/ (e.g. from got10k or pysot) joined to
                                    the report without running anything.

Outputs (resumable: a sequence whose result file exists is not tracked again unless --force; every file is written
to a temporary name and renamed, so a killed run never leaves a half-written result):
  <results-dir>/<tracker>/<seq>.txt             1-based x,y,w,h per frame, comma-separated, frame 1 = ground truth
  <results-dir>/<tracker>/times/<seq>_time.txt  seconds per frame (got10k's and pysot's layout)
  <report-dir>/summary.json, success_plot.png, precision_plot.png, norm_precision_plot.png
and a table of AUC, P@20, SR@0.5, normalised precision and FPS per tracker (--per-sequence adds AUC/P@20 per
sequence). The conventions are those of metrics/ope.py.

GOT-10k (--dataset got10k) results use its submission layout, <results-dir>/<tracker>/<seq>/<seq>_001.txt and
<seq>_time.txt, and the report adds AO, SR0.5 and SR0.75 (metrics/got10k.py). With --subset test (only first boxes
are public) nothing is evaluated: the results are zipped into <results-dir>/<tracker>.zip for the evaluation server.
Other datasets: --dataset vot|lasot|uav (LaSOT's 280-sequence test set with --subset test; normalised precision is
its third score); VOT's own reset-based experiment is benchmarks/run_VOT.py.

From Python (e.g. `make demo`):
  sequences = load_sequences('otb', root)
  summary = run_benchmark(checkpoint_specs([run_dir]) + peer_specs(['mil']), sequences, 'results', 'reports/x')
  print(format_table(summary))
"""

import argparse
import collections
import glob
import os
import re
import shutil
import sys
import tempfile
import time

import cv2
import numpy as np

from datasets.benchmark_sequences import (DATASETS, DEFAULT_ROOTS, DEFAULT_SUBSET, SUBSETS, SequenceError,
                                          load_sequences, read_name_list)
from inference.peers import MILTracker, NanoTracker
from inference.track_loop import track_files
from metrics.got10k import SR_THRESHOLDS, evaluate_got10k, summarize_got10k
from metrics.ope import evaluate_sequence
from metrics.report import build_summary, format_table, plot_norm_precision, plot_precision, plot_success, \
    write_summary
from utils.box_io import read_otb_boxes, write_otb_boxes
from utils.checkpoints import checkpoint_prefixes, latest_prefix, prefix_of_file, prefix_step
from utils.io_utils import atomic_open

PEERS = ('nano', 'mil')
LAYOUTS = ('otb', 'got10k')  # result file layouts: OTB/pysot/got10k-OTB, GOT-10k's submission layout
_NAME = re.compile(r'^[A-Za-z0-9][A-Za-z0-9._+=@-]*$')


class TrackerSpec(object):
    """A tracker of the benchmark: `name` (its results folder) and `factory()` -> a tracker with init/update
    (close() is called when it is done, if it has one). factory None: only existing results are evaluated."""

    def __init__(self, name, factory=None):
        if not _NAME.match(name or ''):
            raise ValueError('tracker name %r is not usable as a folder name (letters, digits and ._+=@- only)' % name)
        self.name = name
        self.factory = factory

    def __repr__(self):
        return 'TrackerSpec(%r%s)' % (self.name, '' if self.factory else ', results only')


# ----------------------------------------------------------------------------------------------------------------
# Trackers


def _natural_key(path):
    """Sort key ordering embedded numbers by value (model.ckpt-300 before model.ckpt-2000)."""
    return [int(part) if part.isdigit() else part for part in re.split(r'(\d+)', path)]


def resolve_checkpoints(paths, all_checkpoints=False):
    """Checkpoint arguments -> list of (run_dir, prefix, step), unique, in argument order.

    paths: run directories (latest checkpoint, or all with all_checkpoints), checkpoint prefixes, or globs of either.
    """
    resolved = []
    for pattern in paths:
        matches = [pattern]
        if any(c in pattern for c in '*?['):
            # A glob of checkpoint prefixes (runs/*/model.ckpt-5000) matches no file itself: try its index files.
            matches = sorted(glob.glob(pattern) or glob.glob(pattern + '.index'), key=_natural_key)
        if not matches:
            raise ValueError('--checkpoint %s matches no file or directory' % pattern)
        for path in matches:
            path = path.rstrip(os.sep) or path
            if os.path.isdir(path):
                prefixes = checkpoint_prefixes(path)
                if not prefixes:
                    raise ValueError('%s holds no TF checkpoint (expected model.ckpt-<step>.index files)' % path)
                chosen = prefixes if all_checkpoints else [latest_prefix(path)]
            else:
                prefix = prefix_of_file(path)
                if not os.path.isfile(prefix + '.index'):
                    raise ValueError('checkpoint %s not found (expected %s.index)' % (path, prefix))
                chosen = [prefix]
            for prefix in chosen:
                entry = (os.path.dirname(prefix) or '.', prefix, prefix_step(prefix))
                if entry not in resolved:
                    resolved.append(entry)
    return resolved


def checkpoint_specs(paths, all_checkpoints=False, name=None, preset=None):
    """TrackerSpecs of SiamRPN checkpoints (see resolve_checkpoints), named <name or run dir>-ckpt<step>.

    The SiamRPN tracker (inference/tracker.py) is imported only when a tracker is built.
    """
    specs = []
    for run_dir, prefix, step in resolve_checkpoints(paths, all_checkpoints):
        base = name or os.path.basename(os.path.abspath(run_dir))
        tracker_name = base if step is None else '%s-ckpt%d' % (base, step)
        specs.append(TrackerSpec(tracker_name, _siamrpn_factory(run_dir, prefix, tracker_name, preset)))
    return specs


def _siamrpn_factory(run_dir, prefix, name, preset):
    def build():
        try:
            from inference.tracker import SiamRPNTracker
        except ImportError as error:
            raise ImportError('the SiamRPN tracker (inference/tracker.py) cannot be imported: %s' % error)
        # An absolute prefix: a relative one would be taken relative to run_dir a second time.
        return SiamRPNTracker.from_checkpoint(run_dir, checkpoint_path=os.path.abspath(prefix), preset=preset,
                                              name=name)
    return build


def peer_specs(peers, nano_backbone=None, nano_head=None):
    """TrackerSpecs of OpenCV peers: 'nano' (NanoTrack; needs both ONNX paths) and 'mil'."""
    specs = []
    for peer in peers:
        if peer == 'nano':
            for flag, path in (('--nano-backbone', nano_backbone), ('--nano-head', nano_head)):
                if not path or not os.path.isfile(path):
                    raise ValueError('NanoTrack needs %s: ONNX file %r not found' % (flag, path))
            specs.append(TrackerSpec('NanoTrack', lambda: NanoTracker(nano_backbone, nano_head, name='NanoTrack')))
        elif peer == 'mil':
            specs.append(TrackerSpec('MIL', lambda: MILTracker(name='MIL')))
        else:
            raise ValueError('unknown peer %r: expected one of %s' % (peer, ', '.join(PEERS)))
    return specs


# ----------------------------------------------------------------------------------------------------------------
# Results


def result_paths(results_dir, tracker_name, sequence_name, layout='otb'):
    """-> (boxes file, times file) of a tracker on a sequence. layout 'otb': <tracker>/<seq>.txt and
    <tracker>/times/<seq>_time.txt; 'got10k' (its submission layout): <tracker>/<seq>/<seq>_001.txt and _time.txt."""
    folder = os.path.join(results_dir, tracker_name)
    if layout == 'got10k':
        folder = os.path.join(folder, sequence_name)
        return os.path.join(folder, '%s_001.txt' % sequence_name), os.path.join(folder, '%s_time.txt' % sequence_name)
    if layout != 'otb':
        raise ValueError('unknown result layout %r: expected one of %s' % (layout, ', '.join(LAYOUTS)))
    return (os.path.join(folder, '%s.txt' % sequence_name),
            os.path.join(folder, 'times', '%s_time.txt' % sequence_name))


def remove_stale_temporaries(path):
    """Removes the temporaries a killed atomic write of `path` left beside it (utils/io_utils.atomic_open names)."""
    pattern = os.path.join(glob.escape(os.path.dirname(path)), glob.escape('.' + os.path.basename(path) + '.'))
    for stale in glob.glob(pattern + '*.tmp'):
        os.remove(stale)


def load_result(results_dir, tracker_name, sequence, layout='otb'):
    """-> (boxes [N, 4] 0-based with frame 1 set to the ground truth, times [N] or None), or None without a result.

    Raises SequenceError naming the file when its row count is not the sequence's frame count. Times are None when
    the times file is missing or has the wrong length (results from other toolkits).
    """
    boxes_path, times_path = result_paths(results_dir, tracker_name, sequence.name, layout)
    if not os.path.isfile(boxes_path):
        return None
    boxes = read_otb_boxes(boxes_path)
    if len(boxes) != len(sequence):
        raise SequenceError('%s has %d rows but sequence %s has %d frames' % (
            boxes_path, len(boxes), sequence.name, len(sequence)))
    boxes[0] = sequence.gt_boxes[0]  # as got10k: frame 1 is the initialisation, never a tracking result
    return boxes, load_times(times_path, len(sequence))


def load_times(times_path, count):
    """Seconds per frame [count] from a times file, or None when it is missing or has another length (results from
    other toolkits)."""
    if not os.path.isfile(times_path):
        return None
    times = np.loadtxt(times_path, ndmin=1)
    return times if len(times) == count else None


def save_result(results_dir, tracker_name, sequence, boxes, times, layout='otb'):
    """Writes times, then boxes (the file that marks the sequence finished), each atomically."""
    boxes_path, times_path = result_paths(results_dir, tracker_name, sequence.name, layout)
    for path in (boxes_path, times_path):  # temporaries left by a killed run
        remove_stale_temporaries(path)
    with atomic_open(times_path) as stream:
        for seconds in times:
            stream.write('%.8f\n' % seconds)
    write_otb_boxes(boxes_path, boxes)


def run_specs(specs, sequences, is_finished, track_sequence, force=False, log=print):
    """The resumable loop of every benchmark: for each tracker, the sequences without a finished result (all with
    force) are tracked -> {tracker: {'tracked': [...], 'skipped': [...]}}.

    is_finished(tracker_name, sequence) -> bool (SequenceError: an unusable result, tracked again);
    track_sequence(tracker, tracker_name, sequence, number, count) tracks, saves and logs one sequence.
    A tracker is built only if it has something to track, and closed when it is done.
    """
    report = collections.OrderedDict()
    for spec in specs:
        done = report[spec.name] = {'tracked': [], 'skipped': []}
        if spec.factory is None:
            continue
        todo = []
        for sequence in sequences:
            try:
                finished = not force and is_finished(spec.name, sequence)
            except SequenceError as error:
                log('%s: %s; tracking it again' % (spec.name, error))
                finished = False
            if finished:
                done['skipped'].append(sequence.name)
            else:
                todo.append(sequence)
        if done['skipped']:
            log('%s: %d of %d sequences already have results (skipped; --force re-tracks them)' % (
                spec.name, len(done['skipped']), len(sequences)))
        if not todo:
            continue
        try:
            tracker = spec.factory()
        except Exception as error:
            raise RuntimeError('could not build tracker %s: %s' % (spec.name, error)) from error
        try:
            for number, sequence in enumerate(todo, 1):
                try:
                    track_sequence(tracker, spec.name, sequence, number, len(todo))
                except Exception as error:
                    raise RuntimeError('%s failed on sequence %s: %s' % (spec.name, sequence.name, error)) from error
                done['tracked'].append(sequence.name)
        finally:
            close = getattr(tracker, 'close', None)
            if close is not None:
                close()
    return report


def run_trackers(specs, sequences, results_dir, force=False, progress=True, log=print, layout='otb'):
    """One-pass tracking of every sequence that has no result yet (all with force) -> {tracker: {'tracked': [...],
    'skipped': [...]}} (see run_specs)."""
    def is_finished(name, sequence):
        return load_result(results_dir, name, sequence, layout) is not None

    def track_sequence(tracker, name, sequence, number, count):
        description = '%s %s (%d/%d)' % (name, sequence.name, number, count)
        boxes, times = track_files(tracker, sequence.img_files, sequence.gt_boxes[0], progress, description)
        save_result(results_dir, name, sequence, boxes, times, layout)
        seconds = float(np.sum(times))
        score = ', AUC %.3f' % evaluate_sequence(boxes, sequence.gt_boxes)['auc'] if sequence.annotated else ''
        log('%s %s (%d/%d): %d frames, %.1f fps%s' % (name, sequence.name, number, count, len(sequence),
                                                     len(times) / seconds if seconds > 0 else 0., score))
    return run_specs(specs, sequences, is_finished, track_sequence, force, log)


def image_size(path):
    """(width, height) of an image file; raises IOError naming it when it cannot be read."""
    image = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if image is None:
        raise IOError('cannot read image %s' % path)
    return image.shape[1], image.shape[0]


def evaluate_results(tracker_names, sequences, results_dir, layout='otb'):
    """Reads the results of each tracker on each sequence -> ordered {tracker: {sequence: evaluate_sequence dict}}.

    With the got10k layout each dict also holds GOT-10k's metrics (metrics.got10k.evaluate_got10k, frames cut to
    the first image's size) under 'got10k'. A missing result is an error naming the tracker and the sequence.
    """
    sizes = {s.name: image_size(s.img_files[0]) for s in sequences} if layout == 'got10k' else {}
    evaluations = collections.OrderedDict()
    for name in tracker_names:
        per_sequence = collections.OrderedDict()
        for sequence in sequences:
            loaded = load_result(results_dir, name, sequence, layout)
            if loaded is None:
                raise SequenceError('no result of %s on sequence %s (expected %s)' % (
                    name, sequence.name, result_paths(results_dir, name, sequence.name, layout)[0]))
            boxes, times = loaded
            per_sequence[sequence.name] = evaluate_sequence(boxes, sequence.gt_boxes, times)
            if layout == 'got10k':
                per_sequence[sequence.name]['got10k'] = evaluate_got10k(boxes, sequence.gt_boxes,
                                                                        sizes[sequence.name], sequence.visible)
        evaluations[name] = per_sequence
    return evaluations


def add_got10k_overall(summary):
    """Adds each tracker's pooled GOT-10k metrics (summarize_got10k of its sequences) as overall['got10k']."""
    for tracker in summary['trackers']:
        tracker['overall']['got10k'] = summarize_got10k({n: m['got10k'] for n, m in tracker['sequences'].items()})
    return summary


def format_got10k_table(summary):
    """Text table of AO, SR0.5, SR0.75 and FPS per tracker, best AO first -> str."""
    trackers = sorted(summary['trackers'], key=lambda t: -t['overall']['got10k']['ao'])
    width = max([len('Tracker')] + [len(t['name']) for t in trackers])
    columns = ['AO'] + ['SR%g' % t for t in SR_THRESHOLDS]
    header = '%-*s  %s  %7s  %6s' % (width, 'Tracker', '  '.join('%6s' % c for c in columns), 'FPS', 'Frames')
    lines = [header, '-' * len(header)]
    for tracker in trackers:
        got = tracker['overall']['got10k']
        values = [got['ao']] + [got['sr_%g' % t] for t in SR_THRESHOLDS]
        fps = tracker['overall']['fps']
        lines.append('%-*s  %s  %7s  %6d' % (width, tracker['name'], '  '.join('%6.3f' % v for v in values),
                                              '-' if fps is None else '%.1f' % fps, got['evaluated_frames']))
    return '\n'.join(lines)


def write_submission(results_dir, tracker_name):
    """Zips <results_dir>/<tracker>/ (GOT-10k's submission layout) into <results_dir>/<tracker>.zip -> its path."""
    folder = os.path.join(results_dir, tracker_name)
    target = os.path.join(results_dir, tracker_name + '.zip')
    staging = tempfile.mkdtemp(prefix='.%s.zip.' % tracker_name, dir=results_dir)
    try:
        archive = shutil.make_archive(os.path.join(staging, tracker_name), 'zip', folder)
        os.replace(archive, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def write_report(summary, report_dir, plots=True):
    """Writes summary.json and the success/precision/normalised precision plots into report_dir -> their paths."""
    paths = {'summary': os.path.join(report_dir, 'summary.json')}
    write_summary(paths['summary'], summary)
    if plots:
        dataset = summary['dataset'].get('name')
        suffix = ' - %s' % dataset if dataset else ''
        paths['success_plot'] = plot_success(summary, os.path.join(report_dir, 'success_plot.png'),
                                             'Success plots of OPE' + suffix)
        paths['precision_plot'] = plot_precision(summary, os.path.join(report_dir, 'precision_plot.png'),
                                                 'Precision plots of OPE' + suffix)
        paths['norm_precision_plot'] = plot_norm_precision(
            summary, os.path.join(report_dir, 'norm_precision_plot.png'), 'Normalized precision plots of OPE' + suffix)
    return paths


def check_names(specs, sequences):
    """Raises ValueError for duplicate tracker or sequence names, or no trackers or sequences."""
    names = [spec.name for spec in specs]
    duplicates = sorted(set(n for n in names if names.count(n) > 1))
    if duplicates:
        raise ValueError('two trackers are named %s; give them different names (--name)' % ', '.join(duplicates))
    if not specs:
        raise ValueError('no trackers to run or evaluate')
    if not sequences:
        raise ValueError('no sequences to evaluate')
    seq_names = [s.name for s in sequences]
    if len(set(seq_names)) != len(seq_names):
        raise ValueError('two sequences share a name: %s' % sorted(set(n for n in seq_names if seq_names.count(n) > 1)))


def run_benchmark(specs, sequences, results_dir='results', report_dir=None, dataset=None, force=False,
                  progress=True, plots=True, log=print, layout='otb'):
    """Tracks what is missing, evaluates every tracker on every sequence and returns the summary dict
    (metrics/report.py); with report_dir it also writes summary.json and the plots there.

    specs: TrackerSpecs (names must be unique); sequences: datasets.benchmark_sequences.Sequence list;
    dataset: a dict describing the data, stored in the summary (e.g. {'name': 'OTB100', 'root': ...});
    layout: 'otb' or 'got10k' (its submission layout, and AO/SR in overall['got10k']). Sequences without annotations
    (GOT-10k test) are only tracked: the summary then holds 'submissions' {tracker: zip path} and no trackers.
    """
    check_names(specs, sequences)
    run_trackers(specs, sequences, results_dir, force=force, progress=progress, log=log, layout=layout)
    info = dict(dataset or {})
    info.setdefault('sequences', len(sequences))
    info.setdefault('frames', int(sum(len(s) for s in sequences)))
    if not all(s.annotated for s in sequences):
        return {'dataset': info, 'trackers': [], 'report_files': {},
                'submissions': collections.OrderedDict((s.name, write_submission(results_dir, s.name))
                                                       for s in specs)}
    summary = build_summary(evaluate_results([spec.name for spec in specs], sequences, results_dir, layout), info)
    if layout == 'got10k':
        add_got10k_overall(summary)
    if report_dir:
        summary['report_files'] = write_report(summary, report_dir, plots)
    return summary


# ----------------------------------------------------------------------------------------------------------------
# Command line


def build_parser():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    data = parser.add_argument_group('data')
    data.add_argument('--dataset', choices=DATASETS, default='otb', help='layout of --root (default: otb)')
    data.add_argument('--root', help='dataset folder (default per dataset: %s)' % ', '.join(
        '%s %s' % item for item in sorted(DEFAULT_ROOTS.items())))
    data.add_argument('--subset', help='otb: %s (default all: every sequence folder found); uav: %s (default UAV123); '
                      'lasot: all/test (the 280 test sequences); got10k: val/test (test: tracked and zipped for the '
                      'evaluation server)' % ('/'.join(SUBSETS['otb']), '/'.join(SUBSETS['uav'])))
    data.add_argument('--sequences', nargs='+', metavar='NAME', help='evaluate only these sequences')
    data.add_argument('--sequence-list', metavar='FILE', help='evaluate only the sequences named in FILE, one a line')
    add_tracker_arguments(parser)
    output = parser.add_argument_group('output')
    output.add_argument('--results-dir', default='results', help='result files go to RESULTS_DIR/<tracker>/ '
                                                                 '(default: results)')
    output.add_argument('--report-dir', help='summary.json and plots (default: reports/<tag>)')
    output.add_argument('--tag', help='report name (default: the dataset folder name, plus the subset)')
    output.add_argument('--force', action='store_true', help='track again sequences that already have results')
    output.add_argument('--per-sequence', action='store_true', help='also print AUC / P@20 per sequence')
    output.add_argument('--no-plots', action='store_true', help='do not draw the plots')
    output.add_argument('--no-progress', action='store_true', help='no progress bars')
    return parser


def add_tracker_arguments(parser):
    """The 'trackers' argument group (--checkpoint ... --evaluate-only) shared by the benchmark scripts."""
    trackers = parser.add_argument_group('trackers')
    trackers.add_argument('--checkpoint', nargs='+', default=[], metavar='PATH',
                          help='SiamRPN run directories, checkpoint prefixes or quoted globs')
    trackers.add_argument('--all-checkpoints', action='store_true',
                          help='evaluate every model.ckpt-<step> of each run directory, not only the latest')
    trackers.add_argument('--name', help='name prefix of the checkpoint trackers (default: the run directory name)')
    trackers.add_argument('--preset', choices=('otb', 'vot', 'big'),
                          help="tracker preset overriding the checkpoint's track_config.json")
    trackers.add_argument('--peers', nargs='+', default=[], choices=PEERS, help='OpenCV peers to run beside SiamRPN')
    trackers.add_argument('--nano-backbone', metavar='ONNX', help='NanoTrack backbone (nanotrack_backbone_sim.onnx)')
    trackers.add_argument('--nano-head', metavar='ONNX', help='NanoTrack head (nanotrack_head_sim.onnx)')
    trackers.add_argument('--include', nargs='+', default=[], metavar='NAME',
                          help='also report results already in <results-dir>/NAME/ (nothing is run for them)')
    trackers.add_argument('--evaluate-only', action='store_true',
                          help='run nothing; evaluate the existing results of the given trackers')
    return trackers


def tracker_specs_from_args(args):
    """TrackerSpecs of parsed add_tracker_arguments options; raises ValueError when there are none."""
    specs = checkpoint_specs(args.checkpoint, args.all_checkpoints, args.name, args.preset) if args.checkpoint else []
    specs += peer_specs(args.peers, args.nano_backbone, args.nano_head)
    specs += [TrackerSpec(name) for name in args.include]
    if not specs:
        raise ValueError('nothing to run: give --checkpoint, --peers or --include')
    if args.evaluate_only:
        specs = [TrackerSpec(spec.name) for spec in specs]
    return specs


def sequence_names_from_args(args):
    """--sequences plus the names of --sequence-list -> list, or None for all."""
    names = list(args.sequences or [])
    if args.sequence_list:
        names += read_name_list(args.sequence_list)
    return names or None


def _setup(args):
    """Parsed arguments -> (specs, sequences, dataset info, report_dir); raises on bad input."""
    root = args.root or DEFAULT_ROOTS[args.dataset]
    sequences = load_sequences(args.dataset, root, args.subset, sequence_names_from_args(args))
    specs = tracker_specs_from_args(args)
    subset = args.subset or DEFAULT_SUBSET.get(args.dataset)
    tag = args.tag or os.path.basename(os.path.abspath(root)) + ('' if subset in (None, 'all') else '-' + subset)
    info = {'name': tag, 'dataset': args.dataset, 'root': root, 'subset': subset}
    return specs, sequences, info, args.report_dir or os.path.join('reports', tag)


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        specs, sequences, info, report_dir = _setup(args)
    except (ValueError, IOError, ImportError) as error:
        parser.exit(2, '%s: error: %s\n' % (parser.prog, error))
    print('%d sequences (%d frames) from %s; trackers: %s' % (
        len(sequences), sum(len(s) for s in sequences), info['root'], ', '.join(s.name for s in specs)))
    start = time.time()
    layout = 'got10k' if args.dataset == 'got10k' else 'otb'
    try:
        summary = run_benchmark(specs, sequences, args.results_dir, report_dir, info, force=args.force,
                                progress=not args.no_progress, plots=not args.no_plots, layout=layout)
    except (SequenceError, ValueError) as error:  # bad data or names; tracker failures carry their traceback
        parser.exit(2, '%s: error: %s\n' % (parser.prog, error))
    print('')
    if summary.get('submissions'):
        for name, path in summary['submissions'].items():
            print('%s: GOT-10k test results (no public annotations) zipped for the evaluation server: %s' % (
                name, path))
        return 0
    print(format_table(summary, per_sequence=args.per_sequence))
    if layout == 'got10k':
        print('')
        print(format_got10k_table(summary))
    print('')
    for key, path in sorted(summary['report_files'].items()):
        print('%s: %s' % (key.replace('_', ' '), path))
    print('results: %s; wall time %.1f s' % (result_paths(args.results_dir, '<tracker>', '<sequence>', layout)[0],
                                             time.time() - start))
    return 0


if __name__ == '__main__':
    sys.exit(main())
