"""Tests of the stage configuration: validation, frozen layers, variable selection, stage of a step, per-scope rate
multipliers (a stage trains each scope at its rate and leaves frozen layers bit-identical)."""

import numpy as np
import pytest
import tensorflow as tf

from tests.helpers import cpu_session
from tests.training.test_towers import constant_batch, small_configs
from tests.training.test_train_op import set_model_values
from training.stage_graph import build_train_step
from training.stages import (check_stages, frozen_layers, select_variables, stage_at, stage_start_steps,
                                variable_lr_mults)

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


def test_scope_lr_mults_are_checked_with_the_stage_and_key_named():
    stage = check_stages([{'start_epoch': 0, 'trainable_scopes': DEEP, 'lr_mult': 1.,
                           'scope_lr_mults': {'siamrpn_alexnet/': 0.1, 'siamrpn_alexnet/conv5': 1}}])[0]
    assert stage['scope_lr_mults'] == {'siamrpn_alexnet': 0.1, 'siamrpn_alexnet/conv5': 1.0}
    assert check_stages([{'start_epoch': 0, 'trainable_scopes': 'all', 'lr_mult': 1.}])[0]['scope_lr_mults'] == {}
    first = {'start_epoch': 0, 'trainable_scopes': 'all', 'lr_mult': 1.}
    for mults, message in (
            ([0.1], r'stages\[1\].scope_lr_mults must be a dict'),
            ({'rpn_head': 0}, r"stages\[1\].scope_lr_mults\['rpn_head'\] must be a number > 0, got 0 \(to freeze"),
            ({'rpn_head': True}, r"stages\[1\].scope_lr_mults\['rpn_head'\] must be a number > 0"),
            ({'rpn_head': '0.1'}, r"stages\[1\].scope_lr_mults\['rpn_head'\] must be a number > 0"),
            ({'/': 0.1}, r'stages\[1\].scope_lr_mults: keys must be variable scopes'),
            ({'siamrpn_alexnet/conv1': 0.1}, r"stages\[1\].scope_lr_mults\['siamrpn_alexnet/conv1'\]: the stage does "
                                             r"not train this scope")):
        with pytest.raises(ValueError, match=message):
            check_stages([first, {'start_epoch': 1, 'trainable_scopes': DEEP, 'lr_mult': 1., 'scope_lr_mults': mults}])
    with pytest.raises(ValueError, match=r"stages\[0\]: unknown keys \['lr_mults'\]"):
        check_stages([{'start_epoch': 0, 'trainable_scopes': 'all', 'lr_mult': 1., 'lr_mults': {}}])


def test_variable_lr_mults_take_the_longest_scope(graph):
    names = ['siamrpn_alexnet/conv4/conv/weights', 'siamrpn_alexnet/conv5/conv/weights', 'rpn_head/conv_r1/weights']
    variables = [tf.get_variable(name, [1]) for name in names]
    assert variable_lr_mults(variables, {'siamrpn_alexnet': 0.1, 'siamrpn_alexnet/conv5': 0.5}) == [0.1, 0.5, 1.0]
    assert variable_lr_mults(variables, {}) == [1.0, 1.0, 1.0]
    with pytest.raises(ValueError, match="scope_lr_mults scope 'siamrpn_alexnet/conv1' names none of the variables"):
        variable_lr_mults(variables, {'siamrpn_alexnet/conv1': 0.1})


def test_a_stage_trains_its_scopes_at_their_rates_and_leaves_frozen_layers_bit_identical():
    """build_train_step with plain SGD, no clipping: each trained variable moves by -lr * multiplier * gradient (numpy,
    from the fetched gradient and rate of the same step); conv1-conv3, their BN statistics included, never change."""
    model_config, train_config = small_configs()
    train_config['optimizer_config']['optimizer'] = 'SGD'
    train_config['clip_gradients'] = None
    stage = check_stages([{'start_epoch': 0, 'trainable_scopes': DEEP, 'lr_mult': 0.5,
                           'scope_lr_mults': {'siamrpn_alexnet': 0.1}}])[0]
    graph = tf.Graph()
    with graph.as_default():
        global_step = tf.train.get_or_create_global_step()
        step = build_train_step(model_config, train_config, constant_batch(), stage, ['/cpu:0'], '/cpu:0', global_step)
        grads = step.towers[0].gradients
        frozen = [v for v in tf.global_variables() if v.op.name.split('/')[1:2] in (['conv1'], ['conv2'], ['conv3'])]
        with cpu_session(graph) as sess:
            sess.run(tf.global_variables_initializer())
            set_model_values(sess, model_config)
            frozen_before = sess.run(frozen)
            for _ in range(2):
                before = sess.run(step.var_list)
                out = sess.run({'grads': grads, 'lr': step.learning_rate, 'step': step.step.train_op})
                after = sess.run(step.var_list)
                for variable, b, a, g in zip(step.var_list, before, after, out['grads']):
                    mult = 0.1 if variable.op.name.startswith('siamrpn_alexnet/') else 1.0
                    np.testing.assert_allclose(a, b - out['lr'] * mult * g, rtol=1e-5, atol=1e-7,
                                               err_msg=variable.op.name)
                    assert not np.array_equal(a, b), variable.op.name
            frozen_after = sess.run(frozen)
    assert len(frozen) == 3 * 6 and all(np.array_equal(a, b) for a, b in zip(frozen_after, frozen_before))
    assert {v.op.name.split('/')[0] for v in step.var_list} == {'siamrpn_alexnet', 'rpn_head'}
    assert not any(v in step.var_list for v in frozen)
