"""Tests of the converter's command line: converted directories load like trained ones; bad files are refused."""

import collections
import os

from scripts.convert_pretrained_model import main
from tests.conftest import DASIAMRPN_REFERENCE_DIR
from tests.utils.test_torch_state_dict import Payload, write_legacy
from utils.checkpoints import read_configs, resolve_checkpoint

TINY = ['--arch', 'otb', '--width-multiplier', '0.0625', '--feature-out', '8']


def test_converts_to_a_checkpoint_directory(tmp_path, capsys):
    output = str(tmp_path / 'otb')
    assert main([os.path.join(DASIAMRPN_REFERENCE_DIR, 'tiny_legacy.model'), '--output', output] + TINY) == 0
    assert 'run_tracking.py --checkpoint %s' % output in capsys.readouterr().out
    assert sorted(os.listdir(output)) == ['checkpoint', 'model.ckpt-0.data-00000-of-00001', 'model.ckpt-0.index',
                                          'model_config.json', 'track_config.json', 'train_config.json']
    model_config, train_config, track_config = read_configs(output)
    assert model_config['embed_config']['width_multiplier'] == 0.0625
    assert model_config['rpn_config']['feature_out'] == 8
    assert track_config['preset'] == 'otb' and track_config['penalty_k'] == 0.22
    assert resolve_checkpoint(output).endswith('model.ckpt-0')
    # an existing checkpoint is not overwritten silently
    assert main([os.path.join(DASIAMRPN_REFERENCE_DIR, 'tiny_zip.model'), '--output', output] + TINY) == 1
    assert 'already holds a checkpoint' in capsys.readouterr().err
    assert main([os.path.join(DASIAMRPN_REFERENCE_DIR, 'tiny_zip.model'), '--output', output, '--overwrite']
                + TINY) == 0
    assert [n for n in os.listdir(str(tmp_path)) if n.startswith('.')] == []  # no staging folders left


def test_embedding_only(tmp_path, capsys):
    output = str(tmp_path / 'embedding')
    assert main([os.path.join(DASIAMRPN_REFERENCE_DIR, 'tiny_zip.model'), '--output', output,
                 '--embedding-only'] + TINY) == 0
    assert 'embedding_checkpoint_file=%s' % os.path.join(output, 'model.ckpt-0') in capsys.readouterr().out


def test_wrong_arch_and_hostile_files_are_refused(tmp_path, capsys):
    source = os.path.join(DASIAMRPN_REFERENCE_DIR, 'tiny_zip.model')
    assert main([source, '--arch', 'big', '--output', str(tmp_path / 'big')]) == 1
    error = capsys.readouterr().err
    assert 'width 2, C 512' in error and 'looks like width 0.0625, C 8' in error
    assert not os.path.exists(str(tmp_path / 'big'))
    marker = tmp_path / 'pwned'
    hostile = str(tmp_path / 'SiamRPNOTB.model')
    payload = Payload(os.system, 'touch %s' % marker)
    write_legacy(hostile, collections.OrderedDict([('featureExtract.0.weight', payload)]))
    assert main([hostile, '--arch', 'otb', '--output', str(tmp_path / 'out')]) == 1
    assert 'refused to load global' in capsys.readouterr().err
    assert not marker.exists() and not os.path.exists(str(tmp_path / 'out'))
