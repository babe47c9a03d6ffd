"""Tests of the checkpoint directory contract helpers."""

import pytest

import configuration
from utils.checkpoints import merge_config, read_configs, resolve_checkpoint, write_configs


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
