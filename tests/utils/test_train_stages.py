"""Tests of the stage configuration: validation, frozen layers, variable selection, stage of a step."""

import pytest
import tensorflow as tf

from utils.train_stages import check_stages, frozen_layers, select_variables, stage_at, stage_start_steps

DEEP = ['siamrpn_alexnet/conv4', 'siamrpn_alexnet/conv5', 'rpn_head']


def test_check_stages_sorts_and_names_bad_fields():
    stages = check_stages([{'start_epoch': 10, 'trainable_scopes': 'all', 'lr_mult': 0.1},
                           {'start_epoch': 0, 'trainable_scopes': DEEP + ['rpn_head/'], 'lr_mult': 1.0}])
    assert [s['start_epoch'] for s in stages] == [0, 10] and stages[0]['trainable_scopes'][-1] == 'rpn_head'
    for stages, message in (
            ([], 'non-empty list'),
            ([{'start_epoch': 1, 'trainable_scopes': 'all', 'lr_mult': 1.}], 'first stage must start at epoch 0'),
            ([{'start_epoch': 0, 'trainable_scopes': 'some', 'lr_mult': 1.}], r'stages\[0\].trainable_scopes'),
            ([{'start_epoch': 0, 'trainable_scopes': 'all', 'lr_mult': 0}], r'stages\[0\].lr_mult'),
            ([{'start_epoch': 0, 'trainable_scopes': 'all'}], 'missing keys'),
            ([{'start_epoch': 0, 'trainable_scopes': 'all', 'lr_mult': 1.},
              {'start_epoch': 0, 'trainable_scopes': 'all', 'lr_mult': 1.}], 'same epoch')):
        with pytest.raises(ValueError, match=message):
            check_stages(stages)


def test_frozen_layers():
    assert frozen_layers('all') == ()
    assert frozen_layers(DEEP) == ('conv1', 'conv2', 'conv3')
    assert frozen_layers(['siamrpn_alexnet']) == ()
    assert frozen_layers(['rpn_head']) == ('conv1', 'conv2', 'conv3', 'conv4', 'conv5')
    assert frozen_layers('all', train_embedding=False) == ('conv1', 'conv2', 'conv3', 'conv4', 'conv5')
    with pytest.raises(ValueError, match='names part of embedding layer conv4'):
        frozen_layers(['siamrpn_alexnet/conv4/conv'])


def test_select_variables(graph):
    names = ['siamrpn_alexnet/conv4/conv/weights', 'siamrpn_alexnet/conv44/conv/weights', 'rpn_head/conv_r1/weights',
             'siamrpn_alexnet/conv1/conv/weights']
    variables = [tf.get_variable(name, [1]) for name in names]
    assert [v.op.name for v in select_variables(variables, ['siamrpn_alexnet/conv4', 'rpn_head'])] == names[:1] + [
        names[2]]
    assert select_variables(variables, 'all') == variables
    with pytest.raises(ValueError, match="trainable scope 'rpn'"):
        select_variables(variables, ['rpn'])


def test_stage_of_a_step():
    stages = check_stages([{'start_epoch': 0, 'trainable_scopes': DEEP, 'lr_mult': 1.},
                           {'start_epoch': 2.5, 'trainable_scopes': 'all', 'lr_mult': .1}])
    assert stage_start_steps(stages, 4) == [0, 10]
    assert [stage_at(stages, step, 4) for step in (0, 9, 10, 99)] == [0, 0, 1, 1]
