"""Reports of OPE results: a JSON-ready summary, printed tables and OTB-style success/precision plots.

A summary is a plain dict (see build_summary) so that scripts, tests and `make demo` can use it without files:
    {'dataset': {...}, 'conventions': {...},
     'trackers': [{'name': str, 'overall': metrics, 'sequences': {sequence name: metrics}}, ...]}  # best AUC first
where metrics hold auc, precision (P@20), success_rate (SR@0.5), norm_precision, fps, frames, seconds and the
success_curve / precision_curve / norm_precision_curve lists.
"""

import io

import numpy as np

from metrics.ope import (NORM_PRECISION_AT, NORM_PRECISION_THRESHOLDS, PRECISION_AT, PRECISION_THRESHOLDS,
                         SUCCESS_RATE_AT, SUCCESS_THRESHOLDS, summarize)
from utils.io_utils import atomic_open, write_json

CONVENTIONS = {
    'success': 'fraction of frames with IoU > t (strict), t in linspace(0, 1, 21); AUC = mean of the 21 points',
    'precision': 'fraction of frames with centre error <= t px, t = 0..50; score at %g px' % PRECISION_AT,
    'success_rate': 'success at IoU > %g' % SUCCESS_RATE_AT,
    'norm_precision': 'centre error in units of the ground-truth w,h <= t, t in linspace(0, 0.5, 51); score at %g'
                      % NORM_PRECISION_AT,
    'invalid_ground_truth': 'NaN or zero-size ground-truth frames stay in the denominator (as got10k): NaN fails '
                            'every curve, zero size fails every success threshold (its centre error still counts)',
    'overall': 'mean of the per-sequence curves; scores read off the mean curves',
    'fps': 'frames / seconds of the tracker calls (init + update), image reading excluded',
    'boxes': 'result files are 1-based x,y,w,h (OTB); frame 1 holds the ground truth',
}


def _jsonable(metrics):
    out = {}
    for key, value in metrics.items():
        if isinstance(value, np.ndarray):
            out[key] = [float(v) for v in value]
        elif isinstance(value, (np.floating, np.integer)):
            out[key] = value.item()
        else:
            out[key] = value
    return out


def build_summary(evaluations, dataset=None):
    """evaluations: ordered {tracker name: {sequence name: metrics.ope.evaluate_sequence dict}} -> summary dict.

    Trackers are listed best AUC first (ties keep the given order).
    """
    trackers = []
    for name, per_sequence in evaluations.items():
        trackers.append({'name': name, 'overall': _jsonable(summarize(per_sequence)),
                         'sequences': {seq: _jsonable(m) for seq, m in per_sequence.items()}})
    order = sorted(range(len(trackers)), key=lambda i: (-trackers[i]['overall']['auc'], i))
    return {'dataset': dict(dataset or {}), 'conventions': dict(CONVENTIONS), 'trackers': [trackers[i] for i in order]}


def write_summary(path, summary):
    """Writes the summary as JSON, atomically."""
    write_json(path, summary)


def _number(value, digits=3):
    return '-' if value is None else '%.*f' % (digits, value)


def format_table(summary, per_sequence=False):
    """Text table of the trackers' overall scores (and, optionally, AUC / P@20 per sequence) -> str."""
    trackers = summary['trackers']
    width = max([len('Tracker')] + [len(t['name']) for t in trackers])
    header = '%-*s  %6s  %6s  %6s  %7s  %7s  %6s  %4s' % (width, 'Tracker', 'AUC', 'P@20', 'SR@0.5', 'NP@0.2', 'FPS',
                                                         'Frames', 'Seqs')
    lines = [header, '-' * len(header)]
    for tracker in trackers:
        o = tracker['overall']
        lines.append('%-*s  %6s  %6s  %6s  %7s  %7s  %6d  %4d' % (
            width, tracker['name'], _number(o['auc']), _number(o['precision']), _number(o['success_rate']),
            _number(o['norm_precision']), _number(o['fps'], 1), o['frames'], o['sequences']))
    if per_sequence and trackers:
        lines += per_sequence_lines(trackers, sorted(trackers[0]['sequences']), 'AUC / P@20 per sequence',
                                    lambda m: '%.3f/%.3f' % (m['auc'], m['precision']))
    return '\n'.join(lines)


def per_sequence_lines(trackers, names, title, cell):
    """Lines of a per-sequence table under a blank line and `title`: a column per tracker, a row per sequence name;
    cell(metrics of that tracker and sequence) -> text, '-' where the tracker has none."""
    seq_width = max([len('Sequence')] + [len(n) for n in names])
    columns = [max(len(t['name']), 11) for t in trackers]
    lines = ['', title, '%-*s  %s' % (seq_width, 'Sequence', '  '.join('%*s' % (c, t['name'])
                                                                      for c, t in zip(columns, trackers)))]
    for name in names:
        cells = []
        for column, tracker in zip(columns, trackers):
            metrics = tracker['sequences'].get(name)
            cells.append('%*s' % (column, '-' if metrics is None else cell(metrics)))
        lines.append('%-*s  %s' % (seq_width, name, '  '.join(cells)))
    return lines


_STYLES = ['-', '--', '-.', ':']


def legend_entries(summary, score_key):
    """(tracker, label) pairs of a plot, best score first, labelled 'name [0.655]' like the OTB plots."""
    trackers = sorted(summary['trackers'], key=lambda t: -t['overall'][score_key])
    return [(t, '%s [%.3f]' % (t['name'], t['overall'][score_key])) for t in trackers]


def _plot(summary, path, curve_key, score_key, thresholds, xlabel, ylabel, title):
    # The Agg canvas is used directly, so plotting never touches pyplot's global backend or needs a display.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    figure = Figure(figsize=(7.5, 5.0))
    FigureCanvasAgg(figure)
    axes = figure.add_subplot(1, 1, 1)
    for index, (tracker, label) in enumerate(legend_entries(summary, score_key)):
        axes.plot(thresholds, tracker['overall'][curve_key], _STYLES[(index // 10) % len(_STYLES)], linewidth=2,
                  color='C%d' % (index % 10), label=label)
    axes.set_xlim(thresholds[0], thresholds[-1])
    return finish_plot(figure, axes, xlabel, ylabel, title, path)


def finish_plot(figure, axes, xlabel, ylabel, title, path):
    """Labels a plot whose y axis is a [0, 1] score, puts the legend right of it and writes it as PNG to path
    atomically -> path."""
    axes.set_ylim(0., 1.)
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.set_title(title)
    axes.grid(True, linestyle=':')
    axes.legend(loc='upper left', bbox_to_anchor=(1.02, 1.0), fontsize=8, borderaxespad=0.)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format='png', dpi=120, bbox_inches='tight')
    with atomic_open(path, 'wb') as stream:
        stream.write(buffer.getvalue())
    return path


def plot_success(summary, path, title='Success plots of OPE'):
    """Success plot (one curve per tracker, legend 'name [AUC]', best first) written as PNG to path -> path."""
    return _plot(summary, path, 'success_curve', 'auc', SUCCESS_THRESHOLDS, 'Overlap threshold', 'Success rate',
                 title)


def plot_precision(summary, path, title='Precision plots of OPE'):
    """Precision plot (one curve per tracker, legend 'name [P@20]', best first) written as PNG to path -> path."""
    return _plot(summary, path, 'precision_curve', 'precision', PRECISION_THRESHOLDS,
                 'Location error threshold (pixels)', 'Precision', title)


def plot_norm_precision(summary, path, title='Normalized precision plots of OPE'):
    """Normalised precision plot (legend 'name [NP@0.2]') written as PNG to path -> path."""
    return _plot(summary, path, 'norm_precision_curve', 'norm_precision', NORM_PRECISION_THRESHOLDS,
                 'Normalized location error threshold', 'Normalized precision', title)
