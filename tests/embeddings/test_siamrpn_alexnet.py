"""Tests of the SiamRPN AlexNet embedding: DaSiamRPN's parameter counts and feature shapes."""

import copy

import numpy as np
import pytest
import tensorflow as tf

import configuration
from embeddings.siamrpn_alexnet import scaled_channels, siamrpn_alexnet, siamrpn_alexnet_arg_scope
from siamese_model import SiameseModel

slim = tf.contrib.slim


def _count(variables):
    return int(sum(np.prod(v.get_shape().as_list()) for v in variables))


@pytest.mark.parametrize('arch, expected', [('otb', 22632932), ('big', 90436132)])
def test_parameter_count_equals_dasiamrpn(graph, arch, expected):
    """SiamRPNotb has 22,632,932 parameters and SiamRPNBIG 90,436,132 (BN gamma/beta included, stats not)."""
    model = SiameseModel(configuration.model_config_for(arch), mode='inference', instance_size=271)
    model.build()
    assert _count(tf.trainable_variables()) == expected


def test_channels_scale_with_width():
    assert scaled_channels(1) == (96, 256, 384, 384, 256)
    assert scaled_channels(2) == (192, 512, 768, 768, 512)
    assert scaled_channels(0.25) == (24, 64, 96, 96, 64)
    with pytest.raises(ValueError, match='width_multiplier'):
        scaled_channels(0)


@pytest.mark.parametrize('size, expected', [(127, 6), (255, 22), (271, 24), (287, 26)])
def test_feature_sizes(graph, size, expected):
    config = configuration.MODEL_CONFIG['embed_config']
    with slim.arg_scope(siamrpn_alexnet_arg_scope(config)):
        features, end_points = siamrpn_alexnet(tf.zeros([2, size, size, 3]), 1.0)
    assert features.get_shape().as_list() == [2, expected, expected, 256]
    assert sorted(end_points) == ['conv1', 'conv2', 'conv3', 'conv4', 'conv5']


def test_frozen_layers_are_not_trainable_and_use_moving_stats(graph):
    config = copy.deepcopy(configuration.MODEL_CONFIG['embed_config'])
    with slim.arg_scope(siamrpn_alexnet_arg_scope(config, is_training=True)):
        siamrpn_alexnet(tf.zeros([1, 127, 127, 3]), 0.25, frozen_layers=('conv1', 'conv2'))
    trainable = {v.op.name for v in tf.trainable_variables()}
    assert not any(name.startswith(('siamrpn_alexnet/conv1/', 'siamrpn_alexnet/conv2/')) for name in trainable)
    assert 'siamrpn_alexnet/conv3/conv/weights' in trainable
    updates = {op.name for op in tf.get_collection(tf.GraphKeys.UPDATE_OPS)}
    assert not any('/conv1/' in name or '/conv2/' in name for name in updates)
    assert any('/conv3/' in name for name in updates)
    with pytest.raises(ValueError, match='unknown frozen layers'):
        siamrpn_alexnet(tf.zeros([1, 127, 127, 3]), 0.25, frozen_layers=('conv9',), scope='other')
