"""Runs trackers on a VOT short-term dataset with VOT's supervised (baseline) experiment: accuracy, robustness, EAO.

  python benchmarks/run_VOT.py --root data/VOT2018 \\
      --checkpoint Logs/SiamRPN/track_model_checkpoints/SiamRPN-AlexNet --preset vot \\
      --peers nano mil --nano-backbone nanotrack_backbone_sim.onnx --nano-head nanotrack_head_sim.onnx

The protocol (metrics/vot.py has the definitions): each tracker starts on frame 1 from the ground truth converted by
utils.box_io.axis_aligned_box (pysot's get_axis_aligned_bbox); a tracked frame whose box does not overlap the
ground truth (overlap within the frame, as VOT rasterises regions) is a failure, and the tracker is initialised again
5 frames later; frames without a label are tracked but never failures (an initialisation waits for a labelled frame).
Accuracy leaves out 10 frames from each initialisation. EAO averages the expected overlap over sequence lengths
[100, 356] (VOT2018/2017) unless --eao-interval gives a preset (vot2016, vot2019) or two lengths.

Trackers are given as for benchmarks/run_OTB.py (--checkpoint, --peers, --include, --evaluate-only).

Outputs (resumable as run_OTB's: a sequence whose result exists with one row per frame is not tracked again unless
--force; files are written to temporary names and renamed):
  <results-dir>/<tracker>/baseline/<seq>/<seq>_001.txt  pysot's and the VOT toolkit's layout: one row per frame,
                                                         1 (initialisation), 2 (failure), 0 (skipped) or x,y,w,h
                                                         (0-based, as VOT regions are)
  <results-dir>/<tracker>/baseline/<seq>/<seq>_time.txt  seconds per frame (0 for skipped frames)
  <report-dir>/vot_summary.json, eao_curve.png
and a table of accuracy, robustness (pysot's 100 * failures / frames), failures, failures per sequence, EAO and FPS.
"""

import argparse
import collections
import os
import sys
import time

import numpy as np
from tqdm import tqdm

from benchmarks.run_OTB import (add_tracker_arguments, check_names, image_size, load_times, remove_stale_temporaries,
                                run_specs, sequence_names_from_args, tracker_specs_from_args)
from datasets.benchmark_sequences import DEFAULT_ROOTS, SequenceError, load_sequences
from metrics.report import finish_plot, legend_entries, per_sequence_lines
from metrics.vot import (BURNIN, DEFAULT_EAO_INTERVAL, EAO_INTERVALS, FAILURE, INIT, MARKERS, SKIP_FRAMES, SKIPPED,
                         as_region, eao_interval, evaluate_supervised, region_overlap, summarize_supervised)
from utils.box_io import axis_aligned_box, is_labelled
from utils.image_io import read_image
from utils.io_utils import atomic_open, write_json

PROTOCOL = {
    'experiment': 'baseline (supervised): re-initialisation %d frames after a failure' % SKIP_FRAMES,
    'initialisation': 'pysot get_axis_aligned_bbox of the ground-truth region (centre kept, area kept)',
    'failure': 'a tracked, labelled frame whose overlap with the ground truth is not > 0',
    'overlap': 'VOT region rasterisation (trax region.c) restricted to the frame pixels 0..W-1 x 0..H-1',
    'accuracy': 'mean overlap of the valid frames, %d burn-in frames from each initialisation left out, pooled '
                'over all frames' % BURNIN,
    'robustness': "pysot's 100 * failures / frames; failures is the total, failures_per_sequence the mean",
    'eao': 'mean expected overlap over the sequence lengths of eao_interval (pysot/VOT fragments)',
}


# ----------------------------------------------------------------------------------------------------------------
# Results


def vot_result_paths(results_dir, tracker_name, sequence_name):
    """-> (trajectory file, times file) of a tracker on a sequence, in pysot's baseline layout."""
    folder = os.path.join(results_dir, tracker_name, 'baseline', sequence_name)
    return os.path.join(folder, '%s_001.txt' % sequence_name), os.path.join(folder, '%s_time.txt' % sequence_name)


def _format_entry(entry):
    entry = as_region(entry)
    if len(entry) == 1:
        return '%d' % int(entry[0])
    return ','.join('%.4f' % v for v in entry)


def write_trajectory(path, trajectory):
    """Writes a trajectory (markers and regions) as pysot does ('%d' markers, '%.4f' values), atomically."""
    with atomic_open(path) as stream:
        for entry in trajectory:
            stream.write(_format_entry(entry) + '\n')


def read_trajectory(path):
    """Reads a VOT/pysot result file -> list of float64 arrays ([1] markers 0/1/2, [4] boxes or polygons).

    Raises SequenceError naming the file and line for a row that is neither.
    """
    trajectory = []
    with open(path) as stream:
        for number, line in enumerate(stream, 1):
            if not line.strip():
                continue
            try:
                entry = as_region([float(v) for v in line.strip().split(',')])
            except ValueError as error:
                raise SequenceError('%s line %d: %s' % (path, number, error))
            if len(entry) == 1 and entry[0] not in MARKERS:
                raise SequenceError('%s line %d: unknown marker %r (expected 0 skipped, 1 initialisation, 2 failure)'
                                    % (path, number, line.strip()))
            trajectory.append(entry)
    return trajectory


def load_trajectory(results_dir, tracker_name, sequence):
    """-> (trajectory, times [N] or None), or None without a result. A row count other than the sequence's frame
    count is a SequenceError naming the file."""
    path, times_path = vot_result_paths(results_dir, tracker_name, sequence.name)
    if not os.path.isfile(path):
        return None
    trajectory = read_trajectory(path)
    if len(trajectory) != len(sequence):
        raise SequenceError('%s has %d rows but sequence %s has %d frames' % (
            path, len(trajectory), sequence.name, len(sequence)))
    return trajectory, load_times(times_path, len(sequence))


def save_trajectory(results_dir, tracker_name, sequence, trajectory, times):
    """Writes the times, then the trajectory (the file that marks the sequence finished), each atomically."""
    path, times_path = vot_result_paths(results_dir, tracker_name, sequence.name)
    for stale in (path, times_path):
        remove_stale_temporaries(stale)
    with atomic_open(times_path) as stream:
        for seconds in times:
            stream.write('%.8f\n' % seconds)
    write_trajectory(path, trajectory)


def ground_truth_regions(sequence):
    """The regions the protocol compares with: the VOT loader's `regions`, else the sequence's gt_boxes."""
    return sequence.regions if sequence.regions is not None else [np.asarray(b) for b in sequence.gt_boxes]


# ----------------------------------------------------------------------------------------------------------------
# Tracking


def track_supervised(tracker, sequence, skip=SKIP_FRAMES, progress=False, description=None):
    """VOT's supervised experiment on one sequence -> (trajectory [N entries], times [N] seconds).

    tracker: init(image, box) / update(image) -> 0-based x,y,w,h. Skipped frames are not read.
    """
    regions = ground_truth_regions(sequence)
    count = len(sequence)
    trajectory, times = [None] * count, np.zeros(count)
    next_init = 0
    bar = tqdm(total=count, desc=description or sequence.name, unit='frame', leave=False, disable=not progress,
               mininterval=0.5, dynamic_ncols=True)
    try:
        for index, path in enumerate(sequence.img_files):
            bar.update(1)
            if index < next_init:
                trajectory[index] = np.array([SKIPPED], dtype=np.float64)
                continue
            labelled = is_labelled(regions[index])
            if index == next_init and not labelled:  # nothing to initialise from: wait for a labelled frame
                trajectory[index] = np.array([SKIPPED], dtype=np.float64)
                next_init += 1
                continue
            image = read_image(path)
            start = time.perf_counter()
            if index == next_init:
                tracker.init(image, axis_aligned_box(regions[index]))
                times[index] = time.perf_counter() - start
                trajectory[index] = np.array([INIT], dtype=np.float64)
                continue
            box = np.asarray(tracker.update(image), dtype=np.float64).reshape(-1)
            times[index] = time.perf_counter() - start
            if box.shape != (4,):
                raise ValueError('tracker returned %r for %s, expected x,y,w,h' % (box, path))
            size = (image.shape[1], image.shape[0])
            if labelled and not region_overlap(box, regions[index], size) > 0:
                trajectory[index] = np.array([FAILURE], dtype=np.float64)
                next_init = index + skip
            else:
                trajectory[index] = box
    finally:
        bar.close()
    return trajectory, times


def run_vot_trackers(specs, sequences, results_dir, force=False, progress=True, log=print):
    """Runs the supervised experiment of every tracker on every sequence without a result (all with force)
    -> {tracker: {'tracked': [...], 'skipped': [...]}}."""
    def is_finished(name, sequence):
        return load_trajectory(results_dir, name, sequence) is not None

    def track_sequence(tracker, name, sequence, number, count):
        trajectory, times = track_supervised(tracker, sequence, progress=progress,
                                             description='%s %s (%d/%d)' % (name, sequence.name, number, count))
        save_trajectory(results_dir, name, sequence, trajectory, times)
        failures = sum(1 for entry in trajectory if len(entry) == 1 and entry[0] == FAILURE)
        seconds = float(np.sum(times))
        calls = int(np.count_nonzero(times))
        log('%s %s (%d/%d): %d frames, %.1f fps, %d failures' % (name, sequence.name, number, count, len(sequence),
                                                                  calls / seconds if seconds > 0 else 0., failures))
    return run_specs(specs, sequences, is_finished, track_sequence, force, log)


# ----------------------------------------------------------------------------------------------------------------
# Evaluation and reports


def evaluate_vot_results(tracker_names, sequences, results_dir, burnin=BURNIN):
    """Reads every tracker's trajectories -> ordered {tracker: {sequence: evaluate_supervised dict + 'seconds',
    'tracked_frames'}}; a missing result is a SequenceError naming the tracker, sequence and file."""
    sizes = {s.name: image_size(s.img_files[0]) for s in sequences}
    evaluations = collections.OrderedDict()
    for name in tracker_names:
        per_sequence = collections.OrderedDict()
        for sequence in sequences:
            loaded = load_trajectory(results_dir, name, sequence)
            if loaded is None:
                raise SequenceError('no result of %s on sequence %s (expected %s)' % (
                    name, sequence.name, vot_result_paths(results_dir, name, sequence.name)[0]))
            trajectory, times = loaded
            metrics = evaluate_supervised(trajectory, ground_truth_regions(sequence), sizes[sequence.name], burnin)
            metrics['seconds'] = None if times is None else float(np.sum(times))
            metrics['tracked_frames'] = None if times is None else int(np.count_nonzero(times))
            per_sequence[sequence.name] = metrics
        evaluations[name] = per_sequence
    return evaluations


def _float(value):
    value = float(value)
    return None if np.isnan(value) else value


def build_vot_summary(evaluations, dataset=None, interval=DEFAULT_EAO_INTERVAL):
    """{tracker: {sequence: metrics}} -> JSON-ready summary, trackers best EAO first:
    {'dataset', 'protocol', 'trackers': [{'name', 'overall': {accuracy, robustness, failures, failures_per_sequence,
    eao, eao_curve, eao_interval, fps, frames, sequences}, 'sequences': {seq: {accuracy, failures, failure_frames,
    frames}}}]}."""
    trackers = []
    for name, per_sequence in evaluations.items():
        overall = summarize_supervised(per_sequence, interval)
        timed = [m for m in per_sequence.values() if m['seconds']]
        seconds = sum(m['seconds'] for m in timed)
        overall = {'accuracy': _float(overall['accuracy']), 'robustness': overall['robustness'],
                   'failures': overall['failures'], 'failures_per_sequence': overall['failures_per_sequence'],
                   'eao': _float(overall['eao']), 'eao_curve': [float(v) for v in overall['eao_curve']],
                   'eao_interval': overall['eao_interval'], 'frames': overall['frames'],
                   'sequences': overall['sequences'],
                   'fps': sum(m['tracked_frames'] for m in timed) / seconds if seconds > 0 else None}
        sequences = {seq: {'accuracy': _float(m['accuracy']), 'failures': m['failures'],
                           'failure_frames': m['failure_frames'], 'frames': m['frames']}
                     for seq, m in per_sequence.items()}
        trackers.append({'name': name, 'overall': overall, 'sequences': sequences})
    order = sorted(range(len(trackers)), key=lambda i: (-(trackers[i]['overall']['eao'] or 0.), i))
    protocol = dict(PROTOCOL, eao_interval=list(eao_interval(interval)))
    return {'dataset': dict(dataset or {}), 'protocol': protocol, 'trackers': [trackers[i] for i in order]}


def _number(value, digits=3):
    return '-' if value is None else '%.*f' % (digits, value)


def format_vot_table(summary, per_sequence=False):
    """Text table: accuracy, robustness, failures, failures per sequence, EAO and FPS per tracker -> str."""
    trackers = summary['trackers']
    width = max([len('Tracker')] + [len(t['name']) for t in trackers])
    header = '%-*s  %8s  %10s  %8s  %9s  %6s  %7s  %6s' % (width, 'Tracker', 'Accuracy', 'Robustness', 'Failures',
                                                            'Fail/seq', 'EAO', 'FPS', 'Frames')
    lines = [header, '-' * len(header)]
    for tracker in trackers:
        o = tracker['overall']
        lines.append('%-*s  %8s  %10s  %8d  %9s  %6s  %7s  %6d' % (
            width, tracker['name'], _number(o['accuracy']), _number(o['robustness']), o['failures'],
            _number(o['failures_per_sequence'], 2), _number(o['eao']), _number(o['fps'], 1), o['frames']))
    if trackers:
        low, high = summary['protocol']['eao_interval']
        lines.append('EAO over sequence lengths [%d, %d]; robustness = 100 * failures / frames (pysot)' % (low, high))
    if per_sequence and trackers:
        lines += per_sequence_lines(trackers, list(trackers[0]['sequences']), 'Accuracy / failures per sequence',
                                    lambda m: '%s/%d' % (_number(m['accuracy']), m['failures']))
    return '\n'.join(lines)


def plot_eao(summary, path, title='Expected overlap'):
    """Expected-overlap curves per tracker (legend 'name [EAO]', best first) with the EAO interval shaded, as PNG
    -> path."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    figure = Figure(figsize=(7.5, 5.0))
    FigureCanvasAgg(figure)
    axes = figure.add_subplot(1, 1, 1)
    low, high = summary['protocol']['eao_interval']
    axes.axvspan(low, high, color='0.9', label='EAO interval [%d, %d]' % (low, high))
    scored = dict(summary, trackers=[t for t in summary['trackers'] if t['overall']['eao'] is not None])
    for index, (tracker, label) in enumerate(legend_entries(scored, 'eao')):
        curve = tracker['overall']['eao_curve']
        axes.plot(np.arange(1, len(curve) + 1), curve, linewidth=2, color='C%d' % (index % 10), label=label)
    axes.set_xlim(1, max([high] + [len(t['overall']['eao_curve']) for t in summary['trackers']]))
    return finish_plot(figure, axes, 'Sequence length (frames)', 'Expected overlap', title, path)


def run_vot_benchmark(specs, sequences, results_dir='results', report_dir=None, dataset=None,
                      interval=DEFAULT_EAO_INTERVAL, force=False, progress=True, plots=True, log=print):
    """Runs what is missing, evaluates every tracker and returns the summary (build_vot_summary); with report_dir it
    also writes vot_summary.json and eao_curve.png there (summary['report_files'])."""
    eao_interval(interval)  # a bad interval fails before anything runs
    check_names(specs, sequences)
    run_vot_trackers(specs, sequences, results_dir, force=force, progress=progress, log=log)
    info = dict(dataset or {})
    info.setdefault('sequences', len(sequences))
    info.setdefault('frames', int(sum(len(s) for s in sequences)))
    summary = build_vot_summary(evaluate_vot_results([s.name for s in specs], sequences, results_dir), info, interval)
    if report_dir:
        files = {'summary': os.path.join(report_dir, 'vot_summary.json')}
        write_json(files['summary'], summary)
        if plots:
            name = info.get('name')
            files['eao_plot'] = plot_eao(summary, os.path.join(report_dir, 'eao_curve.png'),
                                         'Expected overlap' + (' - %s' % name if name else ''))
        summary['report_files'] = files
    return summary


# ----------------------------------------------------------------------------------------------------------------
# Command line


def build_parser():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    data = parser.add_argument_group('data')
    data.add_argument('--root', help='VOT folder with list.txt (default %s)' % DEFAULT_ROOTS['vot'])
    data.add_argument('--sequences', nargs='+', metavar='NAME', help='evaluate only these sequences')
    data.add_argument('--sequence-list', metavar='FILE', help='evaluate only the sequences named in FILE, one a line')
    data.add_argument('--eao-interval', nargs='+', default=[DEFAULT_EAO_INTERVAL], metavar='PRESET|LENGTH',
                      help='EAO sequence-length interval: a preset (%s; default %s) or two lengths LOW HIGH' % (
                          ', '.join('%s [%d, %d]' % ((k,) + v) for k, v in sorted(EAO_INTERVALS.items())),
                          DEFAULT_EAO_INTERVAL))
    add_tracker_arguments(parser)
    output = parser.add_argument_group('output')
    output.add_argument('--results-dir', default='results',
                        help='results go to RESULTS_DIR/<tracker>/baseline/<seq>/ (default: results)')
    output.add_argument('--report-dir', help='vot_summary.json and eao_curve.png (default: reports/<tag>)')
    output.add_argument('--tag', help='report name (default: the dataset folder name)')
    output.add_argument('--force', action='store_true', help='track again sequences that already have results')
    output.add_argument('--per-sequence', action='store_true', help='also print accuracy / failures per sequence')
    output.add_argument('--no-plots', action='store_true', help='do not draw the EAO plot')
    output.add_argument('--no-progress', action='store_true', help='no progress bars')
    return parser


def parse_interval(values):
    """--eao-interval values -> a preset name or (low, high); ValueError otherwise."""
    if len(values) == 1:
        eao_interval(values[0])
        return values[0]
    if len(values) == 2:
        try:
            return eao_interval([int(v) for v in values])
        except ValueError:
            pass
    raise ValueError('--eao-interval expects a preset (%s) or two lengths LOW HIGH with 1 <= LOW <= HIGH, got %s' % (
        ', '.join(sorted(EAO_INTERVALS)), ' '.join(values)))


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    root = args.root or DEFAULT_ROOTS['vot']
    try:
        interval = parse_interval(args.eao_interval)
        sequences = load_sequences('vot', root, names=sequence_names_from_args(args))
        specs = tracker_specs_from_args(args)
    except (ValueError, IOError, ImportError) as error:
        parser.exit(2, '%s: error: %s\n' % (parser.prog, error))
    tag = args.tag or os.path.basename(os.path.abspath(root))
    report_dir = args.report_dir or os.path.join('reports', tag)
    print('%d sequences (%d frames) from %s; trackers: %s' % (
        len(sequences), sum(len(s) for s in sequences), root, ', '.join(s.name for s in specs)))
    start = time.time()
    try:
        summary = run_vot_benchmark(specs, sequences, args.results_dir, report_dir,
                                    {'name': tag, 'dataset': 'vot', 'root': root}, interval, force=args.force,
                                    progress=not args.no_progress, plots=not args.no_plots)
    except (SequenceError, ValueError) as error:
        parser.exit(2, '%s: error: %s\n' % (parser.prog, error))
    print('')
    print(format_vot_table(summary, per_sequence=args.per_sequence))
    print('')
    for key, path in sorted(summary['report_files'].items()):
        print('%s: %s' % (key.replace('_', ' '), path))
    print('results: %s; wall time %.1f s' % (vot_result_paths(args.results_dir, '<tracker>', '<sequence>')[0],
                                             time.time() - start))
    return 0


if __name__ == '__main__':
    sys.exit(main())
