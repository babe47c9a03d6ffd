"""Tests of benchmarks/run_OTB.py: result files, resume, checkpoint naming, the command line, and kill-and-resume."""

import json
import os
import re
import signal
import subprocess
import sys
import time
import types

import numpy as np
import pytest

from benchmarks import run_OTB
from benchmarks.run_OTB import (TrackerSpec, checkpoint_specs, load_result, main, resolve_checkpoints, result_paths,
                                run_benchmark, run_trackers, save_result)
from datasets.benchmark_sequences import SequenceError, load_sequences
from tests.conftest import PROJECT_ROOT
from tests.sequence_fixtures import GroundTruthReplayTracker, moving_boxes, write_otb_sequence
from utils.box_io import read_otb_boxes

SCRIPT = os.path.join(PROJECT_ROOT, 'benchmarks', 'run_OTB.py')


def make_dataset(root, count=3, frames=12, size=(96, 72)):
    """`count` OTB-layout sequences with distinct first boxes -> their Sequence list."""
    for index in range(count):
        boxes = moving_boxes(frames, seed=index, size=size, start=(4. + 9 * index, 6.), box_size=(20., 16.))
        write_otb_sequence(root, 'Seq%d' % index, boxes, size=size)
    return load_sequences('otb', root)


def expected_auc_for_offset(gt_boxes, dx, dy):
    """AUC of results shifted by (dx, dy) from the truth (frame 1 exact), from the closed-form IoU of shifted boxes."""
    w, h = gt_boxes[1:, 2], gt_boxes[1:, 3]
    inter = (w - abs(dx)) * (h - abs(dy))
    ious = np.concatenate([[1.], inter / (2 * w * h - inter)])
    return np.mean([np.mean(ious > t) for t in np.linspace(0, 1, 21)])


def replay_spec(sequences, offset=(0., 0., 0., 0.), name='Replay'):
    tracker = GroundTruthReplayTracker(sequences, offset, name)
    return TrackerSpec(name, lambda: tracker), tracker


def test_results_are_otb_files_and_the_report_is_complete(tmp_path):
    sequences = make_dataset(str(tmp_path / 'data'))
    spec, tracker = replay_spec(sequences, offset=(2., -1., 0., 0.))
    logs = []
    summary = run_benchmark([spec], sequences, str(tmp_path / 'results'), str(tmp_path / 'report'),
                            dataset={'name': 'toy'}, progress=False, log=logs.append)
    assert tracker.inits == ['Seq0', 'Seq1', 'Seq2'] and tracker.closed
    for sequence in sequences:
        boxes_path, times_path = result_paths(str(tmp_path / 'results'), 'Replay', sequence.name)
        with open(boxes_path) as stream, open(sequence.source) as truth:
            lines = stream.read().splitlines()
            assert lines[0] == truth.readline().strip()  # frame 1 is the ground truth, 1-based, comma-separated
        assert len(lines) == len(sequence) and all(len(line.split(',')) == 4 for line in lines)
        written = read_otb_boxes(boxes_path)
        np.testing.assert_allclose(written[1:], sequence.gt_boxes[1:] + [2., -1., 0., 0.])
        assert len(np.loadtxt(times_path)) == len(sequence)
        tracker_summary = summary['trackers'][0]['sequences'][sequence.name]
        assert tracker_summary['auc'] == pytest.approx(expected_auc_for_offset(sequence.gt_boxes, 2., -1.))
    assert summary['dataset'] == {'name': 'toy', 'sequences': 3, 'frames': 36}
    files = summary['report_files']
    assert sorted(files) == ['norm_precision_plot', 'precision_plot', 'success_plot', 'summary']
    with open(files['summary']) as stream:
        assert json.load(stream)['trackers'][0]['overall']['auc'] == summary['trackers'][0]['overall']['auc']
    assert any(line.startswith('Replay Seq2 (3/3): 12 frames') for line in logs)


def test_resume_skips_finished_sequences_and_force_tracks_again(tmp_path):
    sequences = make_dataset(str(tmp_path / 'data'))
    results = str(tmp_path / 'results')
    spec, _ = replay_spec(sequences)
    run_trackers([spec], sequences, results, progress=False, log=lambda message: None)

    def must_not_build():
        raise AssertionError('every sequence is finished; the tracker must not even be built')
    report = run_trackers([TrackerSpec('Replay', must_not_build)], sequences, results, progress=False, log=print)
    assert report['Replay'] == {'tracked': [], 'skipped': ['Seq0', 'Seq1', 'Seq2']}

    os.remove(result_paths(results, 'Replay', 'Seq1')[0])
    with open(result_paths(results, 'Replay', 'Seq2')[0], 'a') as stream:
        stream.write('1,1,1,1\n')  # a result of another dataset version: one row too many
    logs = []
    spec, tracker = replay_spec(sequences)
    report = run_trackers([spec], sequences, results, progress=False, log=logs.append)
    assert tracker.inits == ['Seq1', 'Seq2'] and report['Replay']['skipped'] == ['Seq0']
    assert any('Seq2.txt has 13 rows but sequence Seq2 has 12 frames; tracking it again' in line for line in logs)

    spec, tracker = replay_spec(sequences)
    run_trackers([spec], sequences, results, force=True, progress=False, log=lambda message: None)
    assert tracker.inits == ['Seq0', 'Seq1', 'Seq2']


def test_included_results_are_evaluated_and_missing_ones_named(tmp_path):
    sequences = make_dataset(str(tmp_path / 'data'), count=2)
    results = str(tmp_path / 'results')
    spec, _ = replay_spec(sequences, name='Earlier')
    run_benchmark([spec], sequences, results, progress=False, log=lambda message: None)
    os.remove(os.path.join(results, 'Earlier', 'times', 'Seq0_time.txt'))  # e.g. results of another toolkit
    summary = run_benchmark([TrackerSpec('Earlier')], sequences, results, progress=False, log=lambda message: None)
    assert summary['trackers'][0]['sequences']['Seq0']['fps'] is None
    assert summary['trackers'][0]['overall']['auc'] == pytest.approx(20. / 21.)
    boxes, times = load_result(results, 'Earlier', sequences[1])
    assert boxes.shape == (12, 4) and times.shape == (12,)
    with pytest.raises(SequenceError, match=r'no result of Ghost on sequence Seq0 \(expected .*Ghost/Seq0.txt\)'):
        run_benchmark([TrackerSpec('Ghost')], sequences, results, progress=False, log=lambda message: None)
    with pytest.raises(ValueError, match='two trackers are named Earlier'):
        run_benchmark([TrackerSpec('Earlier'), TrackerSpec('Earlier')], sequences, results)
    with pytest.raises(ValueError, match='not usable as a folder name'):
        TrackerSpec('a/b')


def touch_checkpoint(run_dir, step):
    os.makedirs(run_dir, exist_ok=True)
    for suffix in ('.index', '.meta', '.data-00000-of-00001'):
        open(os.path.join(run_dir, 'model.ckpt-%d%s' % (step, suffix)), 'w').close()


def test_checkpoints_resolve_to_named_steps(tmp_path):
    run = str(tmp_path / 'SiamRPN-AlexNet')
    for step in (100, 2000, 300):
        touch_checkpoint(run, step)
    with open(os.path.join(run, 'checkpoint'), 'w') as stream:
        stream.write('model_checkpoint_path: "model.ckpt-300"\nall_model_checkpoint_paths: "model.ckpt-300"\n')
    # The latest is what TF's `checkpoint` file says; --all-checkpoints takes every step on disk, in step order.
    assert [step for _, _, step in resolve_checkpoints([run])] == [300]
    assert [step for _, _, step in resolve_checkpoints([run], all_checkpoints=True)] == [100, 300, 2000]
    assert [s.name for s in checkpoint_specs([run], all_checkpoints=True)] == [
        'SiamRPN-AlexNet-ckpt100', 'SiamRPN-AlexNet-ckpt300', 'SiamRPN-AlexNet-ckpt2000']
    pattern = os.path.join(run, 'model.ckpt-*.index')
    assert [s.name for s in checkpoint_specs([pattern], name='demo')] == ['demo-ckpt100', 'demo-ckpt300',
                                                                         'demo-ckpt2000']
    other = str(tmp_path / 'other-run')
    touch_checkpoint(other, 2000)
    assert [s.name for s in checkpoint_specs([os.path.join(str(tmp_path), '*', 'model.ckpt-2000')])] == [
        'SiamRPN-AlexNet-ckpt2000', 'other-run-ckpt2000']  # the same step of several runs
    assert resolve_checkpoints([os.path.join(run, 'model.ckpt-2000')]) == [(run, os.path.join(run, 'model.ckpt-2000'),
                                                                          2000)]
    os.remove(os.path.join(run, 'checkpoint'))
    assert [step for _, _, step in resolve_checkpoints([run])] == [2000]
    with pytest.raises(ValueError, match='model.ckpt-5 not found'):
        resolve_checkpoints([os.path.join(run, 'model.ckpt-5')])
    with pytest.raises(ValueError, match='holds no TF checkpoint'):
        resolve_checkpoints([str(tmp_path)])
    with pytest.raises(ValueError, match='matches no file'):
        resolve_checkpoints([str(tmp_path / 'nothing*')])


def test_checkpoint_trackers_come_from_inference_tracker(tmp_path, monkeypatch):
    run = str(tmp_path / 'run')
    touch_checkpoint(run, 42)
    calls = []

    class RecordingTracker(object):
        @classmethod
        def from_checkpoint(cls, checkpoint_dir, checkpoint_path=None, track_config=None, preset=None, name=None,
                            session_config=None):
            calls.append((checkpoint_dir, checkpoint_path, preset, name))
            return cls()
    module = types.ModuleType('inference.tracker')
    module.SiamRPNTracker = RecordingTracker
    monkeypatch.setitem(sys.modules, 'inference.tracker', module)
    spec, = checkpoint_specs([run], preset='vot')
    assert isinstance(spec.factory(), RecordingTracker)
    assert calls == [(run, os.path.join(run, 'model.ckpt-42'), 'vot', 'run-ckpt42')]


def test_command_line_runs_mil_and_reports(tmp_path, capsys):
    make_dataset(str(tmp_path / 'data'), count=2, frames=15, size=(160, 120))
    args = ['--root', str(tmp_path / 'data'), '--peers', 'mil', '--results-dir', str(tmp_path / 'results'),
            '--report-dir', str(tmp_path / 'report'), '--no-progress', '--per-sequence']
    assert main(args) == 0
    out = capsys.readouterr().out
    table = out[out.index('Tracker'):]
    assert table.splitlines()[2].split()[0] == 'MIL' and 'Seq1' in table
    assert os.path.isfile(str(tmp_path / 'report' / 'success_plot.png'))
    assert main(args[:2] + ['--include', 'MIL', '--evaluate-only', '--results-dir', str(tmp_path / 'results'),
                            '--no-plots', '--no-progress', '--report-dir', str(tmp_path / 'report2'),
                            '--sequences', 'Seq1']) == 0
    out = capsys.readouterr().out
    assert '1 sequences (15 frames)' in out and 'already have results' not in out


@pytest.mark.parametrize('extra, message', [
    (['--peers', 'nano'], 'NanoTrack needs --nano-backbone'),
    ([], 'nothing to run: give --checkpoint, --peers or --include'),
    (['--peers', 'mil', '--sequences', 'Nope'], r'unknown sequence\(s\) Nope'),
    (['--peers', 'mil', '--subset', 'otb50'], 'otb50 needs 49 sequence folders'),
    (['--peers', 'mil', '--checkpoint', 'no/such/run'], 'checkpoint no/such/run not found'),
])
def test_command_line_errors_are_clear(tmp_path, capsys, extra, message):
    make_dataset(str(tmp_path / 'data'), count=1, frames=3)
    with pytest.raises(SystemExit) as exit_info:
        main(['--root', str(tmp_path / 'data')] + extra)
    assert exit_info.value.code == 2
    assert re.search('error: .*' + message, capsys.readouterr().err)


def test_inconsistent_sequence_is_named_on_the_command_line(tmp_path, capsys):
    make_dataset(str(tmp_path / 'data'), count=2, frames=5)
    os.remove(str(tmp_path / 'data' / 'Seq1' / 'img' / '0005.jpg'))
    with pytest.raises(SystemExit):
        main(['--root', str(tmp_path / 'data'), '--peers', 'mil'])
    assert 'sequence Seq1 is inconsistent: 4 images in' in capsys.readouterr().err


def test_killed_run_resumes_without_retracking_finished_sequences(tmp_path):
    make_dataset(str(tmp_path / 'data'), count=4, frames=60, size=(320, 240))
    results = tmp_path / 'results'
    command = [sys.executable, SCRIPT, '--root', str(tmp_path / 'data'), '--peers', 'mil', '--results-dir',
               str(results), '--report-dir', str(tmp_path / 'report'), '--no-progress', '--no-plots']
    first = results / 'MIL' / 'Seq0.txt'
    process = subprocess.Popen(command, cwd=str(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 120
        while not first.exists() and process.poll() is None and time.time() < deadline:
            time.sleep(0.02)
        assert first.exists(), 'the first sequence never finished: %s' % process.communicate()[0]
        process.send_signal(signal.SIGKILL)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
    finished = sorted(p.name for p in (results / 'MIL').glob('Seq*.txt'))
    assert 1 <= len(finished) < 4, 'the kill came too late to test resuming: %s' % finished
    for name in finished:  # whatever exists is complete: atomic writes leave no half-written result
        assert len(read_otb_boxes(str(results / 'MIL' / name))) == 60
        assert len(np.loadtxt(str(results / 'MIL' / 'times' / name.replace('.txt', '_time.txt')))) == 60
    before = {name: os.stat(str(results / 'MIL' / name)) for name in finished}

    rerun = subprocess.run(command, cwd=str(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300)
    output = rerun.stdout.decode()
    assert rerun.returncode == 0, output
    assert 'MIL: %d of 4 sequences already have results (skipped' % len(finished) in output
    tracked = sorted(line.split()[1] for line in output.splitlines() if line.startswith('MIL Seq'))
    assert tracked == sorted(set('Seq%d' % i for i in range(4)) - set(n[:-4] for n in finished))
    for name, stat in before.items():  # finished sequences were not tracked again: same file, same time
        after = os.stat(str(results / 'MIL' / name))
        assert (after.st_ino, after.st_mtime_ns) == (stat.st_ino, stat.st_mtime_ns)
    assert sorted(p.name for p in (results / 'MIL').glob('Seq*.txt')) == ['Seq%d.txt' % i for i in range(4)]
    assert not list(results.rglob('*.tmp'))


def test_shared_otb_dev_evaluates(otb_dev_dir, tmp_path):
    sequences = load_sequences('otb', otb_dev_dir)
    results = str(tmp_path / 'results')
    spec, _ = replay_spec(sequences, name='GroundTruth')
    run_trackers([spec], sequences, results, progress=False, log=lambda message: None)  # reads all 843 frames
    for sequence in sequences:  # the same boxes one pixel off, as a 0/1-based mix-up would write them
        save_result(results, 'OffByOne', sequence, sequence.gt_boxes + [1., 1., 0., 0.], np.full(len(sequence), 0.01))
    summary = run_benchmark([TrackerSpec('GroundTruth'), TrackerSpec('OffByOne')], sequences, results,
                            progress=False, log=lambda message: None)
    perfect = summary['trackers'][0]
    assert perfect['name'] == 'GroundTruth' and perfect['overall']['frames'] == 843
    # 5 of uav_group2_2's 289 rows are NaN: failures in the denominator.
    assert perfect['sequences']['uav_group2_2']['auc'] == pytest.approx(20. / 21. * 284. / 289.)
    assert perfect['sequences']['uav_building5']['auc'] == pytest.approx(20. / 21.)
    cost = perfect['overall']['auc'] - summary['trackers'][1]['overall']['auc']
    assert 0.01 < cost < 0.2  # small UAV targets (11-62 px) pay dearly for one pixel


def test_module_exposes_its_python_api():
    for name in ('TrackerSpec', 'checkpoint_specs', 'peer_specs', 'run_benchmark', 'run_trackers',
                 'evaluate_results', 'write_report', 'load_result', 'save_result', 'resolve_checkpoints'):
        assert callable(getattr(run_OTB, name))


def test_got10k_layout_reports_ao_and_zips_test_results(tmp_path, capsys):
    from scripts.convert_otb_dataset import convert
    make_dataset(str(tmp_path / 'otb'), count=2, frames=8)
    convert(str(tmp_path / 'otb'), str(tmp_path / 'val'), 'got10k')
    sequences = load_sequences('got10k', str(tmp_path / 'val'))
    results = str(tmp_path / 'results')
    spec, _ = replay_spec(sequences, offset=(2., 0., 0., 0.))
    run_trackers([spec], sequences, results, progress=False, log=lambda message: None, layout='got10k')
    assert os.path.isfile(os.path.join(results, 'Replay', 'Seq1', 'Seq1_001.txt'))
    assert os.path.isfile(os.path.join(results, 'Replay', 'Seq1', 'Seq1_time.txt'))
    assert main(['--dataset', 'got10k', '--root', str(tmp_path / 'val'), '--include', 'Replay', '--results-dir',
                 results, '--report-dir', str(tmp_path / 'report'), '--no-plots', '--no-progress']) == 0
    out = capsys.readouterr().out
    row = out[out.index('SR0.75'):].splitlines()[2].split()
    # 20 x 16 boxes moved 2 px in x: IoU 18 * 16 / (22 * 16) = 9/11 on every frame after the first.
    assert row[0] == 'Replay' and float(row[1]) == pytest.approx(9. / 11., abs=6e-4) and row[2:4] == ['1.000', '1.000']
    assert row[-1] == '14'  # 2 x 7 evaluated frames
    # The test split: only first boxes; tracked and zipped for the server, nothing evaluated.
    convert(str(tmp_path / 'otb'), str(tmp_path / 'test'), 'got10k', split='test')
    test_sequences = load_sequences('got10k', str(tmp_path / 'test'), subset='test')
    assert not test_sequences[0].annotated and np.isnan(test_sequences[0].gt_boxes[1:]).all()
    spec, _ = replay_spec(sequences, name='Replay')
    summary = run_benchmark([spec], test_sequences, str(tmp_path / 'test-results'), progress=False,
                            log=lambda message: None, layout='got10k')
    import zipfile
    with zipfile.ZipFile(summary['submissions']['Replay']) as archive:
        assert sorted(archive.namelist()) == ['Seq0/', 'Seq0/Seq0_001.txt', 'Seq0/Seq0_time.txt', 'Seq1/',
                                              'Seq1/Seq1_001.txt', 'Seq1/Seq1_time.txt']
