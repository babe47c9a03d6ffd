"""Tests of the guarded train op: a NaN batch changes nothing but the counter; clipping by the global norm."""

import numpy as np
import tensorflow as tf

from inference.checkpoint_io import assign_values, random_values
from tests.helpers import cpu_session, make_pairs
from tests.utils.test_towers import small_configs
from utils.train_schedules import make_optimizer
from utils.towers import build_towers, compute_gradients
from utils.train_op import build_train_op, nonfinite_counter


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
