"""benchmarks/run_VOT.py: the supervised protocol on hand-built sequences, pysot's result files, resume, the
command line and the report."""

import json
import os
import re

import numpy as np
import pytest

from benchmarks.run_OTB import TrackerSpec
from benchmarks.run_VOT import (load_trajectory, main, read_trajectory, run_vot_benchmark, save_trajectory,
                                track_supervised, vot_result_paths)
from datasets.benchmark_sequences import Sequence, SequenceError, load_sequences
from metrics.vot import FAILURE, INIT, SKIPPED
from scripts.convert_otb_dataset import convert
from tests.sequence_fixtures import moving_boxes, write_images, write_otb_sequence
from utils.image_io import ImageDecodeError

SIZE = (96, 72)


class ScriptedTracker(object):
    """Knows the sequence: init finds the frame by its box; update returns the truth shifted 2 px right, or a box far
    from the target on the frames listed in `lost`. Records the frames it was initialised on."""

    def __init__(self, gt_boxes, lost, name='Scripted'):
        self.name, self.gt, self.lost = name, np.asarray(gt_boxes), set(lost)
        self.inits, self.index, self.closed = [], None, False

    def init(self, image, box):
        assert image.shape == (SIZE[1], SIZE[0], 3)
        matches = [i for i, row in enumerate(self.gt) if np.allclose(row, box)]
        assert len(matches) == 1, (box, matches)
        self.index = matches[0]
        self.inits.append(self.index)

    def update(self, image):
        self.index += 1
        if self.index in self.lost:
            return np.array([80., 60., 5., 5.])
        return self.gt[self.index] + [2., 0., 0., 0.]

    def close(self):
        self.closed = True


def hand_built_sequence(folder, frames=40):
    """Distinct boxes per frame (x = 10 + frame / 4, w = 20 + frame % 3) with frames 17 and 22 unlabelled."""
    index = np.arange(frames, dtype=np.float64)
    gt = np.stack([10. + index / 4., 20. + index % 2, 20. + index % 3, 16. + 0 * index], axis=1)
    gt[[i for i in (17, 22) if i < frames]] = np.nan
    paths = write_images(folder, range(1, frames + 1), np.nan_to_num(gt), size=SIZE, digits=8)
    sequence = Sequence('hand', paths, gt)
    sequence.regions = [row for row in gt]
    return sequence


def test_failures_and_reinitialisations_known_by_construction(tmp_path):
    sequence = hand_built_sequence(str(tmp_path / 'hand'))
    # Lost at 3: failure, frames 4-7 skipped, re-initialised at 8. Lost at 12: failure, 13-16 skipped; frame 17 is
    # unlabelled, so the initialisation waits until 18. Lost at 22: unlabelled, so no failure, the box is kept.
    tracker = ScriptedTracker(sequence.gt_boxes, lost=[3, 12, 22])
    trajectory, times = track_supervised(tracker, sequence)
    kinds = [int(e[0]) if len(e) == 1 else 'box' for e in trajectory]
    assert kinds == ([INIT, 'box', 'box', FAILURE] + [SKIPPED] * 4 + [INIT, 'box', 'box', 'box', FAILURE] +
                     [SKIPPED] * 5 + [INIT] + ['box'] * 21)
    assert tracker.inits == [0, 8, 18]
    np.testing.assert_array_equal(trajectory[22], [80., 60., 5., 5.])
    assert np.all(times[[4, 5, 6, 7, 13, 14, 15, 16, 17]] == 0.) and np.all(times[[0, 1, 8, 18, 39]] > 0.)

    results = str(tmp_path / 'results')
    save_trajectory(results, 'Scripted', sequence, trajectory, times)
    path = vot_result_paths(results, 'Scripted', 'hand')[0]
    assert path.endswith(os.path.join('Scripted', 'baseline', 'hand', 'hand_001.txt'))
    with open(path) as stream:
        lines = stream.read().splitlines()
    assert lines[:5] == ['1', '12.2500,21.0000,21.0000,16.0000', '12.5000,20.0000,22.0000,16.0000', '2', '0']
    loaded, loaded_times = load_trajectory(results, 'Scripted', sequence)
    assert [e.tolist() for e in loaded] == [np.round(e, 4).tolist() for e in trajectory]
    np.testing.assert_allclose(loaded_times, times, atol=1e-8)

    summary = run_vot_benchmark([TrackerSpec('Scripted')], [sequence], results, interval=(2, 40), progress=False,
                                log=lambda message: None)
    overall = summary['trackers'][0]['overall']
    assert overall['failures'] == 2 and overall['robustness'] == pytest.approx(100. * 2 / 40.)
    # Accuracy: burn-in covers 0-9, 8-17 and 18-27, so frames 28-39 count; each box is its truth moved 2 px right:
    # w - 2 of w + 2 columns (w = 20 + frame % 3).
    widths = 20. + np.arange(28, 40) % 3
    assert overall['accuracy'] == pytest.approx(np.mean((widths - 2.) / (widths + 2.)), rel=1e-6)
    assert summary['trackers'][0]['sequences']['hand']['failure_frames'] == [3, 12]


def test_a_truncated_frame_is_an_error_naming_it(tmp_path):
    sequence = hand_built_sequence(str(tmp_path / 'hand'), frames=4)
    with open(sequence.img_files[2], 'rb') as stream:
        data = stream.read()
    with open(sequence.img_files[2], 'wb') as stream:
        stream.write(data[:len(data) // 2])
    with pytest.raises(ImageDecodeError, match=r'00000003\.jpg: truncated JPEG'):
        track_supervised(ScriptedTracker(sequence.gt_boxes, lost=[]), sequence)


def test_result_files_are_checked(tmp_path):
    sequence = hand_built_sequence(str(tmp_path / 'hand'), frames=4)
    path = vot_result_paths(str(tmp_path), 'T', 'hand')[0]
    os.makedirs(os.path.dirname(path))
    with open(path, 'w') as stream:
        stream.write('1\n1,2,3,4\n')
    with pytest.raises(SequenceError, match='hand_001.txt has 2 rows but sequence hand has 4 frames'):
        load_trajectory(str(tmp_path), 'T', sequence)
    with open(path, 'w') as stream:
        stream.write('1\n7\n')
    with pytest.raises(SequenceError, match=r'hand_001.txt line 2: unknown marker'):
        read_trajectory(path)


def make_vot_root(tmp_path, polygons=False):
    otb = str(tmp_path / 'otb')
    for index in range(2):
        boxes = moving_boxes(15, seed=index, size=(160, 120), start=(20. + 30 * index, 30.), box_size=(30., 24.))
        write_otb_sequence(otb, 'Seq%d' % index, boxes, size=(160, 120))
    root = str(tmp_path / 'vot')
    convert(otb, root, 'vot', polygons=polygons)
    return root


def test_command_line_runs_mil_resumes_and_reports(tmp_path, capsys):
    root = make_vot_root(tmp_path, polygons=True)
    args = ['--root', root, '--peers', 'mil', '--results-dir', str(tmp_path / 'results'), '--report-dir',
            str(tmp_path / 'report'), '--no-progress', '--per-sequence', '--eao-interval', '2', '20']
    assert main(args) == 0
    out = capsys.readouterr().out
    row = out[out.index('Tracker'):].splitlines()[2].split()
    assert row[0] == 'MIL' and 0. < float(row[1]) <= 1. and row[7] == '30'  # 30 frames
    assert 'Seq1' in out and 'EAO over sequence lengths [2, 20]' in out
    with open(str(tmp_path / 'report' / 'vot_summary.json')) as stream:
        summary = json.load(stream)
    overall = summary['trackers'][0]['overall']
    assert {'accuracy', 'robustness', 'failures', 'eao'} <= set(overall) and overall['eao_interval'] == [2, 20]
    assert os.path.getsize(str(tmp_path / 'report' / 'eao_curve.png')) > 0
    assert len(read_trajectory(vot_result_paths(str(tmp_path / 'results'), 'MIL', 'Seq0')[0])) == 15
    # Resume: nothing is tracked again; the same numbers come out.
    assert main(args) == 0
    again = capsys.readouterr().out
    assert 'MIL: 2 of 2 sequences already have results' in again
    with open(str(tmp_path / 'report' / 'vot_summary.json')) as stream:
        assert json.load(stream)['trackers'][0]['overall']['eao'] == overall['eao']


@pytest.mark.parametrize('extra, message', [
    (['--peers', 'mil', '--eao-interval', 'vot2030'], 'unknown EAO interval preset'),
    (['--peers', 'mil', '--eao-interval', '9', '3'], '--eao-interval expects a preset'),
    ([], 'nothing to run'),
    (['--include', 'Ghost', '--no-plots'], r'no result of Ghost on sequence Seq0 \(expected .*Ghost/baseline/Seq0'),
])
def test_command_line_errors_are_clear(tmp_path, capsys, extra, message):
    root = make_vot_root(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        main(['--root', root, '--results-dir', str(tmp_path / 'results'), '--report-dir', str(tmp_path / 'r')] + extra)
    assert exit_info.value.code == 2
    assert re.search('error: .*' + message, capsys.readouterr().err)


def test_converted_polygons_initialise_with_the_original_boxes(tmp_path):
    root = make_vot_root(tmp_path, polygons=True)
    original = load_sequences('otb', str(tmp_path / 'otb'))
    for converted, source in zip(load_sequences('vot', root), original):
        assert len(converted.regions[0]) == 8
        np.testing.assert_allclose(converted.gt_boxes, source.gt_boxes)
