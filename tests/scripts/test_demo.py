"""Tests of scripts/demo.py's pieces: which trackers it evaluates and how it reports them (the full demo is
`make demo`; its training and evaluation are tested in tests/training/test_run.py and
tests/benchmarks/)."""

import glob
import os
import shutil

import cv2
import numpy as np
import pytest

from inference.checkpoint_io import random_values, save_checkpoint_dir
from metrics.ope import evaluate_sequence
from metrics.report import build_summary
from scripts import demo
from datasets.imdb import load_imdb
from tests.conftest import tiny_model_config
from tests.sequence_fixtures import moving_boxes, write_otb_sequence
from utils.io_utils import read_json


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


# ---- the real-video mode (--train-root) ----------------------------------------------------------------------------


def otb_root(root, names, frames=6, nan_rows=(), grey=False, size=(96, 72)):
    """An OTB-layout folder with one short moving-box sequence per name (NaN rows at nan_rows; greyscale frames as
    3-channel JPEGs when grey) -> root."""
    for index, name in enumerate(names):
        boxes = moving_boxes(frames, seed=index, size=size)
        boxes[list(nan_rows)] = np.nan
        folder = write_otb_sequence(str(root), name, boxes, size=size)
        if grey:
            for path in glob.glob(os.path.join(folder, 'img', '*.jpg')):
                image = cv2.cvtColor(cv2.imread(path), cv2.COLOR_BGR2GRAY)
                cv2.imwrite(path, cv2.cvtColor(image, cv2.COLOR_GRAY2BGR))
    return str(root)


def test_real_data_config_weighs_videos_uniformly_and_gives_synthetic_its_share(tmp_path):
    ground = otb_root(tmp_path / 'ground', ['a', 'b', 'c', 'd'], frames=2)
    aerial = otb_root(tmp_path / 'aerial', ['e', 'f'], frames=2)
    config = demo.real_data_config([ground, aerial], ['b'], 'out', synthetic_root='syn', synthetic_ratio=0.25)
    weights = {name: entry['weight'] for name, entry in config['sources'].items()}
    assert weights == {'ground': 3.0, 'aerial': 2.0, 'synthetic': pytest.approx(5.0 / 3)}  # 5/3 / (5 + 5/3) = 1/4
    assert config['sources']['synthetic']['root'] == 'syn' and config['validation_ratio'] == 0.0
    assert 'synthetic' not in demo.real_data_config([ground], [], 'out')['sources']
    with pytest.raises(ValueError, match='--hold-out names zz, which no --train-root holds'):
        demo.real_data_config([ground], ['zz'], 'out')
    with pytest.raises(ValueError, match='every sequence'):
        demo.real_data_config([aerial], ['e', 'f'], 'out')
    with pytest.raises(ValueError, match='--synthetic-ratio must be in'):
        demo.real_data_config([ground], [], 'out', synthetic_ratio=1.0)
    with pytest.raises(ValueError, match='holds no OTB-layout sequence'):
        demo.real_data_config([str(tmp_path)], [], 'out')


def test_real_mode_curates_holds_out_trains_with_the_data_and_reports_each_set(tmp_path, monkeypatch, capsys):
    """The whole --train-root flow with the training subprocess replaced by a checkpoint writer: sparse (NaN) boxes
    and greyscale frames are curated, the held-out sequence goes to validation and its own evaluation set, the
    experiment gets the data, the source weights and the init checkpoint, and each set gets its report."""
    ground = otb_root(tmp_path / 'ground', ['g1', 'g2', 'g3'], nan_rows=(1, 3), size=(128, 128))
    thermal = otb_root(tmp_path / 'thermal', ['t1'], grey=True)
    dev = otb_root(tmp_path / 'dev', ['d1'], frames=4, size=(128, 128))
    init = two_checkpoint_run(tmp_path)
    calls = []

    def fake_training(overrides, experiment=demo.EXPERIMENT):
        calls.append((experiment, overrides))
        train_dir = eval([o for o in overrides if o.startswith('train_config.train_dir=')][0].split('=', 1)[1])
        model_config = tiny_model_config()
        save_checkpoint_dir(train_dir, random_values(model_config, 3), model_config, step=40, overwrite=True)

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(demo, 'run_training', fake_training)
    summaries = demo.main(['--train-root', ground, thermal, '--eval-root', dev, '--hold-out', 'g2', '--init', init,
                           '--synthetic-ratio', '0', '--epochs', '2', '--no-progress', 'train_config.seed=5'])
    (experiment, overrides), = calls
    assert experiment == demo.CPU_EXPERIMENT and overrides[-1] == 'train_config.seed=5'
    assert 'train_config.init_checkpoint=%r' % init in overrides and 'train_config.train_data_config.epoch=2' in overrides
    assert "train_config.train_data_config.source_weights={'ground': 2.0, 'thermal': 1.0}" in overrides
    train_imdb = load_imdb(os.path.join('data', 'real-demo', 'SiamRPN-AlexNet-real', 'train_imdb.json'))
    validation_imdb = load_imdb(os.path.join('data', 'real-demo', 'SiamRPN-AlexNet-real', 'validation_imdb.json'))
    assert sorted(t['video'] for t in train_imdb['tracks']) == ['g1', 'g3', 't1']
    assert [t['video'] for t in validation_imdb['tracks']] == ['g2']
    assert train_imdb['num_frames'] == 2 * 4 + 6  # two NaN rows skipped in each ground sequence
    assert sorted(summaries) == ['dev', 'held-out']
    for name, summary in summaries.items():
        assert sorted(t['name'] for t in summary['trackers']) == ['MIL', 'SiamRPN-AlexNet-real-w0.0625-ckpt40']
        assert os.path.isfile(os.path.join('Logs', 'SiamRPN', 'demo-real', 'report', name, 'summary.json'))
    report = read_json(os.path.join('Logs', 'SiamRPN', 'demo-real', 'report', 'summary.json'))
    assert report['steps'] == 800 and report['hold_out'] == ['g2'] and set(report['sets']) == {'dev', 'held-out'}
    assert 'wall time on' in capsys.readouterr().out


def test_real_mode_refuses_bad_arguments_with_the_reason(tmp_path, capsys):
    ground = otb_root(tmp_path / 'ground', ['g1'], frames=2)
    with pytest.raises(SystemExit):
        demo.main(['--train-root', ground])
    assert '--eval-root and/or --hold-out' in capsys.readouterr().err
    with pytest.raises(SystemExit):
        demo.main(['--train-root', ground, '--hold-out', 'nope', '--init', 'scratch', '--synthetic-ratio', '0'])
    assert 'which no --train-root holds' in capsys.readouterr().err
