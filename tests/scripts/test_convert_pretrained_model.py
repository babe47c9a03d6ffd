"""Tests of the converter's command line: converted directories load like trained ones; pysot's AlexNet backbones
convert to the embedding from both torch formats; bad files are refused."""

import collections
import os

import numpy as np
import pytest
import tensorflow as tf

from scripts.convert_pretrained_model import main
from tests.conftest import DASIAMRPN_REFERENCE_DIR
from tests.fixtures.torch_files import write_torch_file
from tests.utils.test_torch_state_dict import Payload, write_legacy
from utils.checkpoints import read_configs, resolve_checkpoint
from utils.torch_state_dict import load_state_dict

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


# ---- pysot AlexNet backbones (--embedding-only), in files written by hand in both torch formats ----

TINY_WIDTH = ['--arch', 'otb', '--width-multiplier', '0.0625']
# conv shapes at width 0.0625 (channels 6-16-24-24-16)
TINY_CONVS = ((6, 3, 11, 11), (16, 6, 5, 5), (24, 16, 3, 3), (24, 24, 3, 3), (16, 24, 3, 3))


def pysot_backbone(style, prefix, seed=0):
    """{key: array} of a tiny AlexNet in pysot's naming: style 'features' (AlexNetLegacy: conv k at features.{0,4,8,
    11,14}, its BN one index later) or 'layers' (AlexNet: layer<k>.0 conv, layer<k>.1 BN), under `prefix`, with
    num_batches_tracked. -> (state dict, {layer: {'conv': (weight, bias), 'bn': (gamma, beta, mean, var)}})."""
    rng = np.random.RandomState(seed)
    state, layers = collections.OrderedDict(), {}
    for k, (shape, conv_index) in enumerate(zip(TINY_CONVS, (0, 4, 8, 11, 14))):
        conv, bn = (('features.%d' % conv_index, 'features.%d' % (conv_index + 1)) if style == 'features' else
                    ('layer%d.0' % (k + 1), 'layer%d.1' % (k + 1)))
        out = shape[0]
        weight, bias = rng.randn(*shape).astype(np.float32), rng.randn(out).astype(np.float32)
        gamma, beta = rng.rand(out).astype(np.float32) + 0.5, rng.randn(out).astype(np.float32)
        mean, var = rng.randn(out).astype(np.float32), rng.rand(out).astype(np.float32) + 0.1
        state.update([(prefix + conv + '.weight', weight), (prefix + conv + '.bias', bias),
                      (prefix + bn + '.weight', gamma), (prefix + bn + '.bias', beta),
                      (prefix + bn + '.running_mean', mean), (prefix + bn + '.running_var', var),
                      (prefix + bn + '.num_batches_tracked', np.array(1000 + k, np.int64))])
        layers['conv%d' % (k + 1)] = {'conv': (weight, bias), 'bn': (gamma, beta, mean, var)}
    return state, layers


def test_the_hand_written_torch_files_read_like_the_files_torch_wrote(tmp_path):
    """The fixture writer against torch's own files: re-writing the tiny DaSiamRPN model in both formats reads back
    the same tensors, dtypes included."""
    original = load_state_dict(os.path.join(DASIAMRPN_REFERENCE_DIR, 'tiny_zip.model'))
    for fmt in ('legacy', 'zip'):
        path = str(tmp_path / ('copy_%s.pth' % fmt))
        write_torch_file(path, original, fmt)
        copy = load_state_dict(path)
        assert list(copy) == list(original)
        for key in original:
            assert copy[key].dtype == original[key].dtype
            np.testing.assert_array_equal(copy[key], original[key])


@pytest.mark.parametrize('style, prefix, fmt, description', [
    ('features', '', 'legacy', 'pysot ImageNet AlexNet (features.N.*)'),
    ('features', '', 'zip', 'pysot ImageNet AlexNet (features.N.*)'),
    ('features', 'backbone.', 'zip', 'pysot model backbone (backbone.features.N.*)'),
    ('layers', '', 'legacy', 'pysot ImageNet AlexNet (layerK.M.*)'),
    ('layers', 'backbone.', 'zip', 'pysot model backbone (backbone.layerK.M.*)')])
def test_pysot_backbones_convert_to_the_embedding(tmp_path, capsys, style, prefix, fmt, description):
    """Every tensor lands in its TF variable: conv weights OIHW -> HWIO, BN weight/bias/running stats -> gamma/beta/
    moving statistics; a pysot model's head and the BN counters are ignored; the message names the layout."""
    state, layers = pysot_backbone(style, prefix)
    if prefix:  # a whole pysot model: its head is not part of the backbone
        state['rpn_head.cls.conv_kernel.0.weight'] = np.zeros((8, 16, 3, 3), np.float32)
        state['rpn_head.loc.head.2.bias'] = np.zeros(20, np.float32)
    source, output = str(tmp_path / 'alexnet-bn.pth'), str(tmp_path / 'embedding')
    write_torch_file(source, state, fmt)
    assert main([source, '--output', output, '--embedding-only'] + TINY_WIDTH) == 0
    message = capsys.readouterr().out
    assert 'found a %s in %s' % (description, source) in message
    assert ('(2 tensors outside the backbone ignored)' in message) == bool(prefix)
    path = resolve_checkpoint(output)
    names = {name for name, _ in tf.train.list_variables(path)}
    assert len(names) == 31 and all(n.startswith('siamrpn_alexnet/') for n in names - {'global_step'})
    for layer, tensors in layers.items():
        scope = 'siamrpn_alexnet/%s/' % layer
        weight, bias = tensors['conv']
        np.testing.assert_array_equal(tf.train.load_variable(path, scope + 'conv/weights'),
                                      weight.transpose(2, 3, 1, 0))
        np.testing.assert_array_equal(tf.train.load_variable(path, scope + 'conv/biases'), bias)
        for name, value in zip(('gamma', 'beta', 'moving_mean', 'moving_variance'), tensors['bn']):
            np.testing.assert_array_equal(tf.train.load_variable(path, scope + 'BatchNorm/' + name), value)


def test_foreign_and_broken_backbones_are_refused_with_the_expected_keys(tmp_path, capsys):
    state, _ = pysot_backbone('features', '')
    source = str(tmp_path / 'net.pth')

    def refused(state, *extra):
        write_torch_file(source, state, 'zip')
        assert main([source, '--output', str(tmp_path / 'out')] + list(extra)) == 1
        assert not os.path.exists(str(tmp_path / 'out'))
        return capsys.readouterr().err

    error = refused({'conv1.weight': np.zeros((64, 3, 7, 7), np.float32)}, '--embedding-only', *TINY_WIDTH)
    assert 'holds no AlexNet backbone this converter knows' in error and 'the file starts with conv1.weight' in error
    for key in ('featureExtract.0.weight', 'features.0.weight', 'backbone.features.0.weight', 'layer1.0.weight',
                'backbone.layer1.0.weight'):
        assert key in error
    broken = collections.OrderedDict((k, v) for k, v in state.items() if k != 'features.15.running_var')
    broken['features.16.weight'] = np.zeros(3, np.float32)
    error = refused(broken, '--embedding-only', *TINY_WIDTH)
    assert 'looks like a pysot ImageNet AlexNet (features.N.*) but its backbone keys differ' in error
    assert 'missing (1): features.15.running_var' in error and 'unexpected (1): features.16.weight' in error
    assert 'features.0.weight, features.0.bias, features.1.weight' in error  # the expected keys are listed
    error = refused(state, '--embedding-only', '--arch', 'otb')  # width 1 expected, the file is width 0.0625
    assert 'pysot ImageNet AlexNet (features.N.*), shown with DaSiamRPN names' in error
    assert 'embedding with width 1' in error and 'looks like width 0.0625' in error
    error = refused(state, '--arch', 'otb')
    assert 'holds no DaSiamRPN RPN head to convert; convert its embedding with --embedding-only' in error
