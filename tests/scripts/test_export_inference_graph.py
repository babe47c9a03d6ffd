"""Tests of the export command line: it writes a loadable export, refuses to overwrite, and reports bad input."""

import os

import pytest

from datasets import synthetic_sequence
from inference.exported import read_manifest
from inference.tracker import SiamRPNTracker
from scripts.export_inference_graph import main


def test_exports_a_loadable_directory(tmp_path, capsys, random_checkpoint_dir):
    output = str(tmp_path / 'exported')
    assert main(['--checkpoint', random_checkpoint_dir, '--output', output, '--preset', 'big']) == 0
    out = capsys.readouterr().out
    assert 'search sizes 271, 287' in out and "SiamRPNTracker.from_exported(%r)" % output in out
    for name in ('template.pb', 'track_271.pb', 'track_287.pb', 'saved_model/'):
        assert name in out
    assert sorted(os.listdir(output)) == ['manifest.json', 'saved_model', 'template.pb', 'track_271.pb',
                                          'track_287.pb']
    assert read_manifest(output)['track_config']['preset'] == 'big'
    with SiamRPNTracker.from_exported(output) as tracker:
        tracker.init(synthetic_sequence.frame(0), synthetic_sequence.FIRST_BOX)
        assert tracker.update(synthetic_sequence.frame(1)).shape == (4,)
    # an existing export is not overwritten silently; --overwrite replaces it whole
    assert main(['--checkpoint', random_checkpoint_dir, '--output', output]) == 1
    assert 'already holds an export' in capsys.readouterr().err
    assert main(['--checkpoint', random_checkpoint_dir, '--output', output, '--overwrite',
                 '--checkpoint-path', 'model.ckpt-0', '--instance-sizes', '255']) == 0
    assert read_manifest(output)['instance_sizes'] == [255, 271]
    assert sorted(os.listdir(str(tmp_path))) == ['exported']  # no staging folders left


@pytest.mark.parametrize('extra, message', [
    (['--instance-sizes', '270'], 'cannot export search size 270'),
    (['--checkpoint-path', 'model.ckpt-5'], 'model.ckpt-5 not found'),
])
def test_bad_arguments_are_reported(tmp_path, capsys, random_checkpoint_dir, extra, message):
    output = str(tmp_path / 'out')
    assert main(['--checkpoint', random_checkpoint_dir, '--output', output] + extra) == 1
    assert message in capsys.readouterr().err
    assert not os.path.exists(output)


def test_not_a_checkpoint_directory(tmp_path, capsys):
    assert main(['--checkpoint', str(tmp_path), '--output', str(tmp_path / 'out')]) == 1
    assert 'lacks model_config.json' in capsys.readouterr().err


def test_help(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(['--help'])
    assert exit_info.value.code == 0
    assert 'track_<X>/scores:0' in capsys.readouterr().out
