"""Tests of the towers: device resolution, gradient averaging equal to the full-batch gradient, BN from tower 0."""

import copy

import numpy as np
import pytest
import tensorflow as tf

import configuration
from inference.checkpoint_io import assign_values, random_values
from tests.helpers import cpu_session, make_pairs
from training.schedules import make_optimizer
from training.towers import (build_towers, compute_gradients, average_gradients, conv_algorithm_for_device,
                             num_cpu_devices, resolve_devices, split_batch)
from training.train_op import build_train_op, nonfinite_counter


def small_configs(width=0.125, feature_out=16):
    model_config = copy.deepcopy(configuration.MODEL_CONFIG)
    model_config['embed_config']['width_multiplier'] = width
    model_config['rpn_config']['feature_out'] = feature_out
    train_config = copy.deepcopy(configuration.TRAIN_CONFIG)
    # Every candidate anchor is sampled (the legacy rule samples max_total - #pos negatives), so the random
    # subsampling cannot make the towers differ.
    train_config['target_config'].update(rule='legacy', max_pos=100000, max_total=100000)
    return model_config, train_config


def constant_batch(count=4, seed=0):
    exemplars, instances, boxes = make_pairs(count, seed=seed)
    return {'exemplar': tf.constant(exemplars), 'instance': tf.constant(instances), 'instance_box': tf.constant(boxes),
            'is_negative': tf.constant(np.arange(count) == count - 1)}


def test_resolve_devices():
    assert resolve_devices({'devices': ['/cpu:0', '/cpu:1']}) == (['/cpu:0', '/cpu:1'], '/cpu:0')
    assert resolve_devices({'devices': ['/gpu:0', '/gpu:1'], 'variable_device': '/gpu:0'}, num_visible_gpus=2) == (
        ['/gpu:0', '/gpu:1'], '/gpu:0')
    assert resolve_devices({'num_gpus': 2}, num_visible_gpus=0, machine_gpus=0) == (['/cpu:0'], '/cpu:0')
    assert resolve_devices({'num_gpus': 2}, num_visible_gpus=4) == (['/gpu:0', '/gpu:1'], '/cpu:0')
    assert resolve_devices({'num_gpus': 1}, num_visible_gpus=1) == (['/gpu:0'], '/gpu:0')
    with pytest.raises(ValueError, match='only 1 GPU'):
        resolve_devices({'num_gpus': 2}, num_visible_gpus=1)
    with pytest.raises(ValueError, match="'gpu0' is not a device"):
        resolve_devices({'devices': ['gpu0']})
    with pytest.raises(ValueError, match='twice'):
        resolve_devices({'devices': ['/cpu:0', '/CPU:0']})
    assert num_cpu_devices(['/cpu:0', '/cpu:2'], '/cpu:0') == 3 and num_cpu_devices(['/gpu:0'], '/gpu:0') == 1


def test_gpu_devices_tf_does_not_see_are_an_error():
    """Listed GPU devices beyond what TF sees would be soft-placed on the CPU unnoticed: a clear error instead."""
    with pytest.raises(ValueError, match=r"tower_config.devices names /gpu:1 but TensorFlow sees 1 GPU\(s\)"):
        resolve_devices({'devices': ['/gpu:0', '/gpu:1']}, num_visible_gpus=1)
    with pytest.raises(ValueError, match='tower_config.variable_device names /gpu:0 but TensorFlow sees 0 GPU'):
        resolve_devices({'devices': ['/cpu:0'], 'variable_device': '/gpu:0'}, num_visible_gpus=0)
    with pytest.raises(ValueError, match='check_environment.py'):
        resolve_devices({'devices': ['/gpu:0']}, num_visible_gpus=0)
    # CPU device lists never ask how many GPUs there are
    assert resolve_devices({'devices': ['/cpu:0', '/cpu:1'], 'variable_device': '/cpu:1'}, num_visible_gpus=None) == (
        ['/cpu:0', '/cpu:1'], '/cpu:1')


@pytest.mark.parametrize('num_gpus, machine_gpus, level, extra', [
    (1, 0, 'INFO', None),  # the default config on a CPU machine
    (2, 0, 'WARNING', None),  # several towers asked for
    (1, 1, 'WARNING', 'check_environment.py'),  # a GPU TF cannot use: the silent CPU run the log must reveal
])
def test_gpu_towers_without_a_visible_gpu_fall_back_with_a_log_line(caplog, num_gpus, machine_gpus, level, extra):
    caplog.set_level('INFO', logger='training.towers')
    assert resolve_devices({'num_gpus': num_gpus}, num_visible_gpus=0, machine_gpus=machine_gpus) == (
        ['/cpu:0'], '/cpu:0')
    records = [r for r in caplog.records if r.name == 'training.towers']
    assert len(records) == 1 and records[0].levelname == level
    message = records[0].getMessage()
    assert 'num_gpus is %d but TensorFlow sees no GPU: training on one tower on /cpu:0' % num_gpus in message
    assert extra is None or extra in message
    caplog.clear()
    assert resolve_devices({'num_gpus': 0}, num_visible_gpus=0) == (['/cpu:0'], '/cpu:0') and not caplog.records


def test_conv_algorithm_per_tower_device():
    """'auto' is direct on GPU towers (cuDNN) and winograd on CPU ones; explicit choices stay; others are errors."""
    assert conv_algorithm_for_device('auto', '/gpu:0') == conv_algorithm_for_device('auto', '/device:GPU:1') == 'direct'
    assert conv_algorithm_for_device('auto', '/cpu:0') == conv_algorithm_for_device('auto', '/CPU:2') == 'winograd'
    assert conv_algorithm_for_device('direct', '/cpu:0') == 'direct'
    assert conv_algorithm_for_device('winograd', '/gpu:0') == 'winograd'
    with pytest.raises(ValueError, match="conv_algorithm must be one of .* got 'fft'"):
        conv_algorithm_for_device('fft', '/cpu:0')


def test_towers_build_the_embedding_with_their_conv_algorithm(graph):
    """At width 0.5 (conv2-conv5 have >= 128 outputs) a CPU tower under 'auto' computes them as Winograd
    convolutions (BatchMatMul ops in the tower) and under 'direct' with Conv2D only."""
    model_config, train_config = small_configs(width=0.5, feature_out=8)
    for option, scope in (('auto', 'a'), ('direct', 'b')):
        with tf.variable_scope(scope):
            build_towers(model_config, dict(train_config, conv_algorithm=option), constant_batch(2), ['/cpu:0'],
                         '/cpu:0', mode='validation')
    convs = {scope: sorted({op.type for op in graph.get_operations() if op.name.startswith(scope + '/tower_0/')
                            and '/siamrpn_alexnet/conv4/' in op.name and op.type in ('Conv2D', 'BatchMatMulV2',
                                                                                    'BatchMatMul')})
             for scope in ('a', 'b')}
    assert convs['a'] and 'Conv2D' not in convs['a']
    assert convs['b'] == ['Conv2D']


def test_gpu_tower_placement_with_cpu_devices_standing_in(graph):
    """Tower placement as it would be on GPUs, with CPU devices: every op of tower i on devices[i] except the
    variables, which live on the variable device; the session exposes the CPU devices the strings name."""
    model_config, train_config = small_configs(width=0.0625, feature_out=8)
    devices, variable_device = resolve_devices({'devices': ['/cpu:1', '/cpu:2'], 'variable_device': '/cpu:0'})
    towers = build_towers(model_config, train_config, constant_batch(2), devices, variable_device, mode='validation')
    assert num_cpu_devices(devices, variable_device) == 3
    placed = {}
    for op in graph.get_operations():
        if op.name.startswith('tower_'):
            placed.setdefault(op.name.split('/')[0], set()).add(op.device.lower())
    assert placed == {'tower_0': {'/cpu:1'}, 'tower_1': {'/cpu:2'}}
    variables = [op for op in graph.get_operations() if op.type in ('VariableV2', 'VarHandleOp')]
    assert variables and {op.device.lower() for op in variables} == {'/cpu:0'}
    assert len(towers) == 2


def test_split_batch_needs_a_multiple(graph):
    with pytest.raises(ValueError, match='does not split evenly across 3 towers'):
        split_batch({'instance_box': tf.zeros([4, 4])}, 3)
    parts = split_batch({'instance_box': tf.reshape(tf.range(8.), [2, 4])}, 2)
    with tf.Session() as sess:
        assert sess.run(parts[1]['instance_box']).tolist() == [[4., 5., 6., 7.]]


def tower_gradients(num_towers, values, batch_size=4):
    """Averaged gradients of `num_towers` validation-mode towers (BN in inference mode) on the same batch, with the
    model variables set to `values`."""
    model_config, train_config = small_configs()
    with tf.Graph().as_default() as graph:
        devices = ['/cpu:%d' % i for i in range(num_towers)]
        towers = build_towers(model_config, train_config, constant_batch(batch_size), devices, '/cpu:0',
                              mode='validation', seed=3)
        variables = tf.trainable_variables()
        compute_gradients(towers, variables, '/cpu:0')
        grads = average_gradients(towers, '/cpu:0')
        with cpu_session(graph, num_cpus=num_towers) as sess:
            sess.run(tf.global_variables_initializer())
            assign_values(sess, tf.global_variables(), values)
            names = [v.op.name for v in variables]
            return dict(zip(names, sess.run(grads)))


def test_two_tower_average_equals_the_full_batch_gradient():
    """BN in inference mode, equal pair weights, every anchor sampled: mean of the half-batch gradients == the
    full-batch gradient (the losses are means over pairs)."""
    values = random_values(small_configs()[0], seed=5)  # calibrated BN statistics keep the activations sane
    one = tower_gradients(1, values)
    two = tower_gradients(2, values)
    assert sorted(one) == sorted(two) and len(one) == 30
    worst_abs = max(float(np.max(np.abs(one[k] - two[k]))) for k in one)
    worst_rel = max(float(np.max(np.abs(one[k] - two[k])) / max(np.max(np.abs(one[k])), 1e-12)) for k in one)
    print('2-tower vs 1-tower gradient: max abs difference %.3g, max relative (per variable) %.3g'
          % (worst_abs, worst_rel))
    assert all(np.isfinite(v).all() and np.abs(v).max() > 0 for v in one.values())
    assert worst_rel < 1e-5, worst_rel


def test_bn_moving_statistics_come_from_tower_zero_only():
    """Training mode, 2 towers, rate 0: after one step each moving statistic took two moving-average steps
    (exemplar, then instance branch) towards tower 0's batch statistics, which numpy recomputes from its inputs."""
    model_config, train_config = small_configs()
    decay = model_config['embed_config']['bn_momentum']
    with tf.Graph().as_default() as graph:
        tf.set_random_seed(7)
        global_step = tf.train.get_or_create_global_step()
        towers = build_towers(model_config, train_config, constant_batch(4), ['/cpu:0', '/cpu:1'], '/cpu:0', seed=3)
        assert [len(t.bn_statistics) for t in towers] == [20, 20]
        assert not tf.get_collection(tf.GraphKeys.UPDATE_OPS)
        variables = tf.trainable_variables()
        compute_gradients(towers, variables, '/cpu:0')
        optimizer = make_optimizer(train_config['optimizer_config'], 0.)
        step = build_train_op(towers, variables, optimizer, global_step, 10., nonfinite_counter('/cpu:0'), '/cpu:0')
        conv1 = {'exemplar': graph.get_tensor_by_name('tower_0/siamrpn_alexnet/conv1/conv/BiasAdd:0'),
                 'instance': graph.get_tensor_by_name('tower_0/siamrpn_alexnet_1/conv1/conv/BiasAdd:0')}
        moving = [v for v in tf.global_variables() if v.op.name == 'siamrpn_alexnet/conv1/BatchNorm/moving_mean'
                  or v.op.name == 'siamrpn_alexnet/conv1/BatchNorm/moving_variance']
        with cpu_session(graph, num_cpus=2) as sess:
            sess.run(tf.global_variables_initializer())
            before = sess.run(moving)
            features = sess.run(conv1)
            sess.run(step.train_op)
            after = sess.run(moving)
    expected_mean, expected_variance = before
    for branch in ('exemplar', 'instance'):
        values = features[branch].reshape(-1, features[branch].shape[-1]).astype(np.float64)
        expected_mean = decay * expected_mean + (1 - decay) * values.mean(axis=0)
        expected_variance = decay * expected_variance + (1 - decay) * values.var(axis=0, ddof=1)
    np.testing.assert_allclose(after[0], expected_mean, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(after[1], expected_variance, rtol=1e-4)
