"""Tests of the default configuration dicts and the preset helpers."""

import copy
import os
import re
import subprocess
import sys

import pytest

import configuration
from tests.conftest import PROJECT_ROOT


def test_published_defaults():
    model, train, track = configuration.MODEL_CONFIG, configuration.TRAIN_CONFIG, configuration.TRACK_CONFIG
    assert (model['z_image_size'], model['x_image_size'], track['instance_size']) == (127, 255, 271)
    assert model['embed_config']['stride'] == 8
    assert model['rpn_config']['anchor_ratios'] == [0.33, 0.5, 1, 2, 3]
    assert model['rpn_config']['anchor_scales'] == [8]
    assert train['target_config'] == {'rule': 'legacy', 'pos_iou_thresh': 0.6, 'neg_iou_thresh': 0.3, 'max_pos': 16,
                                      'max_total': 64, 'neg_num': 16}
    assert train['loss_config']['cls_balance'] == 'mean'
    assert model['embed_config']['weight_decay'] == 1e-4
    assert 'bn_momentum' in model['embed_config'] and 'bn_epsilon' in model['embed_config']
    assert train['loss_config']['reg_loss'] in ('smooth_l1', 'l1')


@pytest.mark.parametrize('preset, expected', [
    ('otb', (0.22, 0.40, 0.30, 271, False)),
    ('vot', (0.04, 0.44, 0.45, 271, False)),
    ('big', (0.055, 0.42, 0.295, 271, True)),
])
def test_track_presets(preset, expected):
    config = configuration.track_config_for(preset)
    assert (config['penalty_k'], config['window_influence'], config['lr'], config['instance_size'],
            config['adaptive']) == expected
    assert config['adaptive_instance_size'] == 287
    assert config['preset'] == preset


def test_presets_return_copies_and_reject_unknown_names():
    before = copy.deepcopy(configuration.TRACK_CONFIG)
    configuration.track_config_for('vot')['lr'] = 123
    configuration.model_config_for('big')['rpn_config']['feature_out'] = 1
    assert configuration.TRACK_CONFIG == before
    assert configuration.MODEL_CONFIG['rpn_config']['feature_out'] == 256
    with pytest.raises(ValueError, match="unknown tracker preset 'otb100'"):
        configuration.track_config_for('otb100')
    with pytest.raises(ValueError, match="unknown architecture 'alexnet'"):
        configuration.model_config_for('alexnet')


def test_every_config_key_has_a_help_string():
    """Each config's help dict has the config's keys, nested alike, and a non-empty help string for every key."""
    def check(config, helps, path):
        assert set(helps) == set(config), path
        for key, text in helps.items():
            if isinstance(text, dict):
                assert isinstance(config[key], dict), '%s.%s' % (path, key)
                check(config[key], text, '%s.%s' % (path, key))
            else:
                assert isinstance(text, str) and text.strip(), 'config key without a help string: %s.%s' % (path, key)
    for name in ('MODEL_CONFIG', 'TRAIN_CONFIG', 'TRACK_CONFIG', 'DATA_CONFIG'):
        check(getattr(configuration, name), getattr(configuration, name + '_HELP'), name)
    assert 'real_data_config' not in configuration.TRAIN_CONFIG  # the real-data build has its own DATA_CONFIG


def test_config_table_splits_defaults_from_help_and_names_a_malformed_entry():
    table = {'a': (1, 'one'), 'b': {'c': ({}, 'an empty dict default'), 'd': ([2], 'a list')}}
    defaults, helps = configuration.config_table(table)
    assert defaults == {'a': 1, 'b': {'c': {}, 'd': [2]}}
    assert helps == {'a': 'one', 'b': {'c': 'an empty dict default', 'd': 'a list'}}
    assert defaults['b']['d'] is not table['b']['d'][0]  # a copy
    for bad in (3, (3,), (3, ''), (3, 'help', 'more')):
        with pytest.raises(TypeError, match=r'entry b\.c must be a \(default, help string\) pair'):
            configuration.config_table({'b': {'c': bad}})


def test_apply_updates_merges_nested_dicts_copies_values_and_names_an_unknown_key():
    config = copy.deepcopy(configuration.TRAIN_CONFIG)
    updates = configuration.CPU_SCHEDULE['train_config']
    configuration.apply_updates(config, updates)
    assert config['lr_config']['policy'] == 'cosine' and config['lr_config']['lr_decay_factor'] == 0.8  # merged
    assert config['stages'] == updates['stages'] and config['stages'] is not updates['stages']  # a copy
    with pytest.raises(KeyError, match='lr_config.bogus'):
        configuration.apply_updates(config, {'lr_config': {'bogus': 1}})


def test_training_rule_presets_set_pysot_rules_as_one_and_name_an_unknown_preset():
    before = copy.deepcopy(configuration.TRAIN_CONFIG)
    pysot = configuration.train_config_for_rules('pysot')
    assert (pysot['target_config']['rule'], pysot['target_config']['neg_num'], pysot['loss_config']['cls_balance'],
            pysot['loss_config']['reg_loss'], pysot['loss_config']['reg_weight']) == ('pysot', 16, 'pysot', 'l1', 1.2)
    assert pysot['loss_config']['time_decay_tau'] == before['loss_config']['time_decay_tau']  # other keys stay
    assert configuration.train_config_for_rules('legacy', pysot) == before  # 'legacy' restores today's defaults
    assert configuration.TRAIN_CONFIG == before
    for preset in configuration.TRAINING_RULE_PRESETS.values():  # only existing keys
        for section, values in preset.items():
            assert set(values) <= set(before[section])
    with pytest.raises(ValueError, match=r"preset 'pysot2': expected one of \['legacy', 'pysot'\]"):
        configuration.train_config_for_rules('pysot2')


def test_the_pysot_rules_named_config_and_single_keys_on_the_command_line(tmp_path):
    """`with pysot_rules` selects the preset; a key given with it wins; `with key=value` alone works too."""
    experiment = os.path.join(PROJECT_ROOT, 'experiments', 'SiamRPN-AlexNet.py')
    command = [sys.executable, experiment, 'print_config', 'with', 'pysot_rules',
               'train_config.loss_config.reg_loss=smooth_l1', 'train_config.target_config.max_pos=8']
    result = subprocess.run(command, cwd=str(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300)
    output = re.sub(r'\x1b\[[0-9;]*m', '', result.stdout.decode())
    assert result.returncode == 0, output
    printed = dict(re.findall(r'^\s*(rule|cls_balance|reg_loss|max_pos|neg_num) = (.+)$', output, re.MULTILINE))
    assert printed == {'rule': "'pysot'", 'cls_balance': "'pysot'", 'reg_loss': "'smooth_l1'", 'max_pos': '8',
                       'neg_num': '16'}
