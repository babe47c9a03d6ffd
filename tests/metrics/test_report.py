"""Tests of the summary, table, JSON and plots built from OPE metrics."""

import json

import numpy as np
import pytest

from metrics.ope import evaluate_sequence
from metrics.report import (build_summary, format_table, legend_entries, plot_norm_precision, plot_precision,
                            plot_success, write_summary)

PNG_SIGNATURE = b'\x89PNG\r\n\x1a\n'


def make_summary():
    gt = np.array([[10., 10., 20., 20.]] * 5)
    shifted = gt + [4., 0., 0., 0.]
    evaluations = {
        'Shifted': {'seqA': evaluate_sequence(shifted, gt, times=[0.01] * 5), 'seqB': evaluate_sequence(gt, gt)},
        'Perfect': {'seqA': evaluate_sequence(gt, gt, times=[0.02] * 5), 'seqB': evaluate_sequence(gt, gt)},
    }
    return build_summary(evaluations, {'name': 'toy', 'root': '/data/toy'})


def test_summary_orders_trackers_by_auc_and_keeps_curves():
    summary = make_summary()
    assert [t['name'] for t in summary['trackers']] == ['Perfect', 'Shifted']
    perfect = summary['trackers'][0]
    assert perfect['overall']['auc'] == pytest.approx(20. / 21.)
    assert len(perfect['overall']['success_curve']) == 21 and len(perfect['overall']['precision_curve']) == 51
    assert perfect['overall']['fps'] == pytest.approx(50.)  # only seqA has times: 5 frames in 0.1 s
    assert sorted(perfect['sequences']) == ['seqA', 'seqB']
    assert summary['dataset']['name'] == 'toy' and 'success' in summary['conventions']


def test_json_round_trip(tmp_path):
    summary = make_summary()
    path = tmp_path / 'out' / 'summary.json'
    write_summary(str(path), summary)
    assert json.loads(path.read_text()) == json.loads(json.dumps(summary))


def test_table_lists_scores_and_optionally_sequences():
    summary = make_summary()
    table = format_table(summary)
    lines = table.splitlines()
    assert lines[0].split() == ['Tracker', 'AUC', 'P@20', 'SR@0.5', 'NP@0.2', 'FPS', 'Frames', 'Seqs']
    assert lines[2].split()[:4] == ['Perfect', '0.952', '1.000', '1.000']
    assert lines[2].split()[5:] == ['50.0', '10', '2']
    assert 'seqA' not in table
    detailed = format_table(summary, per_sequence=True)
    row = [line for line in detailed.splitlines() if line.startswith('seqA')][0]
    shifted_auc = summary['trackers'][1]['sequences']['seqA']['auc']
    assert row.split() == ['seqA', '0.952/1.000', '%.3f/1.000' % shifted_auc]


def test_plots_are_pngs_with_otb_style_legends(tmp_path):
    summary = make_summary()
    labels = [label for _, label in legend_entries(summary, 'auc')]
    assert labels == ['Perfect [0.952]', 'Shifted [%.3f]' % summary['trackers'][1]['overall']['auc']]
    for plot in (plot_success, plot_precision, plot_norm_precision):
        path = plot(summary, str(tmp_path / ('%s.png' % plot.__name__)))
        with open(path, 'rb') as stream:
            assert stream.read(8) == PNG_SIGNATURE
