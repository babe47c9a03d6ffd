"""Tests of the checkpoint directory contract helpers."""

import os

import pytest

import configuration
from utils.checkpoints import (checkpoint_prefixes, latest_prefix, merge_config, prefix_of_file, prefix_step,
                               read_configs, resolve_checkpoint, write_configs)


def test_configs_round_trip_merged_over_defaults(tmp_path):
    model_config = configuration.model_config_for('big')
    del model_config['rpn_config']['corr_init_gain']  # a key added after this checkpoint was written
    write_configs(str(tmp_path), model_config, configuration.TRAIN_CONFIG, configuration.track_config_for('vot'))
    read_model, read_train, read_track = read_configs(str(tmp_path))
    assert read_model['embed_config']['width_multiplier'] == 2.0
    assert read_model['rpn_config']['corr_init_gain'] == configuration.MODEL_CONFIG['rpn_config']['corr_init_gain']
    assert read_track['preset'] == 'vot' and read_train == configuration.TRAIN_CONFIG
    (tmp_path / 'track_config.json').unlink()
    assert read_configs(str(tmp_path))[2] == configuration.TRACK_CONFIG


def test_merge_config_keeps_unknown_keys_and_saved_values():
    merged = merge_config({'a': {'b': 1, 'c': 2}, 'd': 3}, {'a': {'b': 5}, 'e': 6})
    assert merged == {'a': {'b': 5, 'c': 2}, 'd': 3, 'e': 6}


def test_missing_pieces_are_named(tmp_path):
    with pytest.raises(IOError, match='checkpoint directory not found'):
        read_configs(str(tmp_path / 'nope'))
    with pytest.raises(IOError, match='no TF checkpoint in'):
        resolve_checkpoint(str(tmp_path))


def test_checkpoints_are_discovered_from_file_names(tmp_path):
    run = str(tmp_path)
    assert checkpoint_prefixes(run) == [] and latest_prefix(run) is None
    for name in ('model.ckpt-2000', 'model.ckpt-300', 'converted.ckpt', 'model.ckpt-100'):
        for suffix in ('.index', '.meta', '.data-00000-of-00001'):
            open(os.path.join(run, name + suffix), 'w').close()
    prefixes = checkpoint_prefixes(run)
    assert [os.path.basename(p) for p in prefixes] == ['model.ckpt-100', 'model.ckpt-300', 'model.ckpt-2000',
                                                       'converted.ckpt']  # by step, step-less last
    assert [prefix_step(p) for p in prefixes] == [100, 300, 2000, None]
    data_file = os.path.join(run, 'model.ckpt-300.data-00000-of-00001')
    assert prefix_of_file(data_file) == os.path.join(run, 'model.ckpt-300')
    assert prefix_of_file('runs/model.ckpt-300') == 'runs/model.ckpt-300'
    assert latest_prefix(run) == os.path.join(run, 'converted.ckpt')  # no `checkpoint` file: the last listed
    with open(os.path.join(run, 'checkpoint'), 'w') as stream:
        stream.write('model_checkpoint_path: "model.ckpt-300"\nall_model_checkpoint_paths: "model.ckpt-300"\n')
    assert latest_prefix(run) == os.path.join(run, 'model.ckpt-300')  # what TF's `checkpoint` file names
    with open(os.path.join(run, 'checkpoint'), 'w') as stream:
        stream.write('model_checkpoint_path: "model.ckpt-5"\n')
    with pytest.raises(ValueError, match=r'names model.ckpt-5 as the latest checkpoint but .*model.ckpt-5.index does '
                                         r'not exist'):
        latest_prefix(run)
