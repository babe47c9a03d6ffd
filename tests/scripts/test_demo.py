"""Tests of scripts/demo.py's pieces: which trackers it evaluates and how it reports them (the full demo is
`make demo`; its training and evaluation are tested in tests/test_train_siamese_model.py and
tests/benchmarks/)."""

import os
import shutil

import numpy as np
import pytest

from inference.checkpoint_io import random_values, save_checkpoint_dir
from metrics.ope import evaluate_sequence
from metrics.report import build_summary
from scripts import demo
from tests.conftest import tiny_model_config


def two_checkpoint_run(tmp_path):
    """A run directory holding model.ckpt-0 and model.ckpt-7 (latest), width 0.0625."""
    model_config = tiny_model_config()
    run_dir = str(tmp_path / 'SiamRPN-AlexNet')
    save_checkpoint_dir(run_dir, random_values(model_config, 0), model_config, step=0)
    later = str(tmp_path / 'later')
    save_checkpoint_dir(later, random_values(model_config, 1), model_config, step=7)
    for name in os.listdir(later):
        if name.startswith('model.ckpt-7'):
            shutil.copy(os.path.join(later, name), run_dir)
    with open(os.path.join(run_dir, 'checkpoint'), 'w') as stream:
        stream.write('model_checkpoint_path: "model.ckpt-7"\nall_model_checkpoint_paths: "model.ckpt-0"\n'
                     'all_model_checkpoint_paths: "model.ckpt-7"\n')
    return run_dir


def test_trained_untrained_and_peers_are_named_with_the_width(tmp_path, capsys):
    run_dir = two_checkpoint_run(tmp_path)
    specs, peers = demo.tracker_specs(run_dir, nano_dir=str(tmp_path / 'no-nano'))
    assert [s.name for s in specs] == ['SiamRPN-AlexNet-w0.0625-ckpt7', 'SiamRPN-AlexNet-w0.0625-ckpt0']
    assert [p.name for p in peers] == ['MIL']
    assert 'NanoTrack is left out: missing' in capsys.readouterr().out

    nano_dir = tmp_path / 'nano'
    nano_dir.mkdir()
    for name in demo.NANO_FILES:
        (nano_dir / name).write_bytes(b'onnx')
    _, peers = demo.tracker_specs(run_dir, nano_dir=str(nano_dir))
    assert [p.name for p in peers] == ['NanoTrack', 'MIL']


def test_a_run_without_its_untrained_start_is_an_error(tmp_path):
    run_dir = two_checkpoint_run(tmp_path)
    for name in os.listdir(run_dir):
        if name.startswith('model.ckpt-0'):
            os.remove(os.path.join(run_dir, name))
    with pytest.raises(FileNotFoundError, match='model.ckpt-0.index not found'):
        demo.tracker_specs(run_dir, None)


def summary_of(aucs):
    """A run_benchmark summary (metrics.report.build_summary) of one sequence whose trackers reach the given AUCs:
    a box shifted to IoU slightly above t_k succeeds at the first k + 1 of the 21 thresholds, AUC (k + 1) / 21."""
    ground_truth = np.array([[10.0, 10.0, 40.0, 40.0]] * 5)
    per_sequence = {}
    for name, k in aucs.items():
        iou = min(k / 20.0 + 0.01, 0.999)
        shift = 40.0 * (1 - iou) / (1 + iou)  # IoU of a 40x40 box shifted by d in x: (40 - d) / (40 + d)
        result = ground_truth + [shift, 0, 0, 0]
        per_sequence[name] = {'seq': evaluate_sequence(result, ground_truth)}
    return build_summary(per_sequence, {})


def test_verdict_compares_with_the_demo_bars():
    summary = summary_of({'trained': 12, 'untrained': 0})  # AUC 13/21 = 0.619 and 1/21 = 0.048
    assert demo.verdict(summary, 'trained', 'untrained') == [
        'trained   trained: AUC 0.619 (goal >= 0.60: met)', 'untrained untrained: AUC 0.048 (must stay < 0.35: yes)']
    summary = summary_of({'trained': 10, 'untrained': 7})  # 0.524 and 0.381
    assert [line.split(': ')[-1] for line in demo.verdict(summary, 'trained', 'untrained')] == ['NOT met)', 'NO)']
