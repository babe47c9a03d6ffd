"""Tests of scripts/demo.py's pieces: which trackers it evaluates and how it reports them (the full demo is
`make demo`; its training and evaluation are tested in tests/test_train_siamese_model.py and
tests/benchmarks/)."""

import os
import shutil

import pytest

from inference.checkpoint_io import random_values, save_checkpoint_dir
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


def test_verdict_compares_with_the_demo_bars():
    summary = {'trackers': [{'name': 'trained', 'auc': 0.61}, {'name': 'untrained', 'auc': 0.06}]}
    lines = demo.verdict(summary, 'trained', 'untrained')
    assert lines == ['trained   trained: AUC 0.610 (goal >= 0.60: met)',
                     'untrained untrained: AUC 0.060 (must stay < 0.35: yes)']
    summary = {'trackers': [{'name': 'trained', 'auc': 0.5}, {'name': 'untrained', 'auc': 0.4}]}
    assert [line.split(': ')[-1] for line in demo.verdict(summary, 'trained', 'untrained')] == ['NOT met)', 'NO)']
