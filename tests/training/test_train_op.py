"""Tests of the guarded train op: a NaN batch changes nothing but the counter; clipping by the global norm; per-scope
rate multipliers against numpy."""

import numpy as np
import pytest
import tensorflow as tf

from inference.checkpoint_io import assign_values, random_values
from tests.helpers import cpu_session, make_pairs
from tests.training.test_towers import small_configs
from configuration import TRAIN_CONFIG
from training.schedules import make_optimizer
from training.towers import build_towers, compute_gradients
from training.train_op import build_train_op, finite_step, guarded_update, nonfinite_counter, scaled_rate_optimizer
from training.stages import variable_lr_mults


def guarded_graph(optimizer_name='ADAM', learning_rate=1e-3, clip=10.):
    """A one-tower training graph on a fixed batch whose search images a placeholder can poison with NaN."""
    model_config, train_config = small_configs()
    exemplars, instances, boxes = make_pairs(4, seed=1)
    graph = tf.Graph()
    with graph.as_default():
        poison = tf.placeholder_with_default(tf.constant(1., tf.float32), [], name='poison')
        batch = {'exemplar': tf.constant(exemplars), 'instance': tf.constant(instances) * poison,
                 'instance_box': tf.constant(boxes)}
        global_step = tf.train.get_or_create_global_step()
        towers = build_towers(model_config, train_config, batch, ['/cpu:0'], '/cpu:0', seed=2)
        variables = tf.trainable_variables()
        compute_gradients(towers, variables, '/cpu:0')
        optimizer = make_optimizer(dict(train_config['optimizer_config'], optimizer=optimizer_name), learning_rate)
        step = build_train_op(towers, variables, optimizer, global_step, clip, nonfinite_counter(), '/cpu:0')
    return graph, poison, step, variables, model_config


def set_model_values(sess, model_config):
    """Calibrated random weights and BN statistics (sane activations from the first step)."""
    values = random_values(model_config, seed=1)
    assign_values(sess, [v for v in tf.global_variables() if v.op.name in values], values)


def test_a_nan_batch_changes_no_weight_no_bn_statistic_and_no_optimizer_slot():
    graph, poison, step, _, model_config = guarded_graph()
    with graph.as_default(), cpu_session(graph) as sess:
        sess.run(tf.global_variables_initializer())
        set_model_values(sess, model_config)
        everything = tf.global_variables()
        names = [v.op.name for v in everything]
        assert 'siamrpn_alexnet/conv3/BatchNorm/moving_variance' in names and 'nonfinite_steps' in names
        sess.run(step.train_op)                                   # a normal step first: the Adam slots are non-zero
        before = dict(zip(names, sess.run(everything)))
        out = sess.run({'finite': step.finite, 'counter': step.nonfinite_steps, 'step': step.train_op,
                        'norm': step.gradient_norm}, {poison: np.nan})
        after = dict(zip(names, sess.run(everything)))
        assert not out['finite'] and out['counter'] == 1 and out['step'] == 2 and not np.isfinite(out['norm'])
        changed = sorted(n for n in names if not np.array_equal(before[n], after[n]))
        assert changed == ['global_step', 'nonfinite_steps'], changed
        sess.run(step.train_op)                                   # and training goes on
        later = dict(zip(names, sess.run(everything)))
        assert not np.array_equal(later['siamrpn_alexnet/conv1/conv/weights'], after['siamrpn_alexnet/conv1/conv/weights'])
        assert not np.array_equal(later['siamrpn_alexnet/conv1/BatchNorm/moving_mean'],
                                  after['siamrpn_alexnet/conv1/BatchNorm/moving_mean'])
        assert sess.run(step.nonfinite_steps) == 1


def test_averaged_gradients_are_clipped_once_by_their_global_norm():
    """SGD at rate 1 with clip c: the update of every variable is -g * c / |g| (|g| the global norm)."""
    graph, _, step, variables, model_config = guarded_graph('SGD', 1., clip=0.5)
    with graph.as_default(), cpu_session(graph) as sess:
        sess.run(tf.global_variables_initializer())
        set_model_values(sess, model_config)
        before = sess.run(variables)
        norm = sess.run(step.gradient_norm)
        sess.run(step.train_op)
        after = sess.run(variables)
    assert norm > 0.5
    moved = np.sqrt(sum(float(np.sum((a.astype(np.float64) - b) ** 2)) for a, b in zip(after, before)))
    np.testing.assert_allclose(moved, 0.5, rtol=1e-3)


# ---- per-scope rate multipliers (a stage's scope_lr_mults) ----

SCOPED = {'siamrpn_alexnet/conv4/conv/weights': [1., -2., 3.], 'siamrpn_alexnet/conv5/conv/weights': [0.5, 0.5, -1.],
          'rpn_head/conv_cls1/weights': [2., 1., -0.5]}
SCOPED_MULTS = {'siamrpn_alexnet': 0.1, 'siamrpn_alexnet/conv5': 0.5}  # the longest matching scope wins


def scoped_graph(optimizer_name, learning_rate, mults, gradients=None):
    """Three variables trained through guarded_update with scope multipliers on the loss sum(w^2 / 2 + b * w)
    (gradient w + b; `gradients` instead gives each variable that constant gradient, from zero weights)."""
    graph = tf.Graph()
    with graph.as_default():
        global_step = tf.train.get_or_create_global_step()
        var_list = [tf.get_variable(name, initializer=np.array(value if gradients is None else 0. * np.array(value),
                                                               np.float32)) for name, value in SCOPED.items()]
        if gradients is None:
            grads = [v + tf.constant([0.3, -0.2, 0.1]) for v in var_list]
        else:
            grads = [tf.constant(g, tf.float32) for g in gradients]
        config = dict(TRAIN_CONFIG['optimizer_config'], optimizer=optimizer_name)
        optimizer = scaled_rate_optimizer(lambda rate: make_optimizer(config, rate), tf.constant(learning_rate),
                                          var_list, variable_lr_mults(var_list, mults))
        norm = tf.global_norm(grads)
        _, train_op = guarded_update(grads, var_list, optimizer, global_step, None, nonfinite_counter(),
                                     finite_step(tf.constant(0.), norm), norm)
    return graph, var_list, optimizer, train_op


def run_steps(graph, var_list, train_op, steps):
    with graph.as_default(), cpu_session(graph) as sess:
        sess.run(tf.global_variables_initializer())
        history = [sess.run(var_list)]
        for _ in range(steps):
            sess.run(train_op)
            history.append(sess.run(var_list))
    return history


@pytest.mark.parametrize('optimizer_name', ['SGD', 'MOMENTUM'])
def test_scope_multipliers_scale_the_rate_of_sgd_and_momentum(optimizer_name):
    """numpy reference: each variable at rate lr * its multiplier (0.1 conv4, 0.5 conv5, 1 head)."""
    graph, var_list, optimizer, train_op = scoped_graph(optimizer_name, 0.05, SCOPED_MULTS)
    assert [type(o).__name__ for o in optimizer._optimizers] == [type(make_optimizer(
        dict(TRAIN_CONFIG['optimizer_config'], optimizer=optimizer_name), 1.)).__name__] * 3
    history = run_steps(graph, var_list, train_op, 4)
    rates = [0.05 * 0.1, 0.05 * 0.5, 0.05]
    momentum = TRAIN_CONFIG['optimizer_config']['momentum'] if optimizer_name == 'MOMENTUM' else 0.
    values = [np.array(v, np.float64) for v in SCOPED.values()]
    accumulators = [np.zeros(3) for _ in values]
    for step in range(1, 5):
        for i, rate in enumerate(rates):
            grad = values[i] + np.array([0.3, -0.2, 0.1])
            accumulators[i] = momentum * accumulators[i] + grad   # TF's MomentumOptimizer: accum = m accum + g
            values[i] = values[i] - rate * accumulators[i]
            np.testing.assert_allclose(history[step][i], values[i], rtol=1e-5, atol=1e-7)


def test_a_tenth_scope_moves_a_tenth_under_sgd_and_adam():
    """Two variables with the same gradient: the one at multiplier 0.1 moves exactly 0.1 of the full-rate one's move,
    with SGD and with Adam (scaling the gradient instead would leave Adam's move unchanged)."""
    same = [[1., -2., 0.5]] * 3
    for optimizer_name in ('SGD', 'ADAM'):
        graph, var_list, optimizer, train_op = scoped_graph(optimizer_name, 0.01, {'siamrpn_alexnet': 0.1}, same)
        history = run_steps(graph, var_list, train_op, 3)
        for step in range(1, 4):
            backbone_move = history[step][0] - history[0][0]
            head_move = history[step][2] - history[0][2]
            assert np.all(np.abs(head_move) > 0)
            np.testing.assert_allclose(backbone_move, 0.1 * head_move, rtol=1e-5)
        if optimizer_name == 'ADAM':
            slots = {optimizer.get_slot(v, 'm').op.name for v in var_list}
            assert slots == {'siamrpn_alexnet/conv4/conv/weights/Adam', 'siamrpn_alexnet/conv5/conv/weights/Adam',
                             'rpn_head/conv_cls1/weights/Adam'}


def test_without_multipliers_the_plain_optimizer_is_used():
    with tf.Graph().as_default():
        var_list = [tf.get_variable('rpn_head/w', [1]), tf.get_variable('siamrpn_alexnet/conv1/w', [1])]
        optimizer = scaled_rate_optimizer(lambda rate: tf.train.MomentumOptimizer(rate, 0.9), 0.1, var_list,
                                          variable_lr_mults(var_list, {'siamrpn_alexnet': 1.0}))
        assert type(optimizer) is tf.train.MomentumOptimizer
        with pytest.raises(ValueError, match='2 variables but 1 rate multipliers'):
            scaled_rate_optimizer(lambda rate: None, 0.1, var_list, [1.])
