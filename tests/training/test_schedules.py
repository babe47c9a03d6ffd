"""Tests of the learning-rate policies (against pysot's per-epoch lists, restated in numpy) and the optimizers."""

import copy
import math

import numpy as np
import pytest
import tensorflow as tf

import configuration
from training.schedules import check_lr_config, learning_rate, make_optimizer


def lr_config(**overrides):
    config = copy.deepcopy(configuration.TRAIN_CONFIG['lr_config'])
    config.update(overrides)
    return config


def rates(config, steps, steps_per_epoch, num_epochs, lr_mult=1.0):
    """Evaluates the schedule at each global step of `steps`."""
    with tf.Graph().as_default():
        step = tf.placeholder(tf.int64, [])
        rate = learning_rate(config, step, steps_per_epoch, num_epochs, lr_mult)
        with tf.Session() as sess:
            return np.array([sess.run(rate, {step: s}) for s in steps])


def pysot_default(num_epochs=50, warmup_epochs=5):
    """pysot's WarmUPScheduler lists: StepScheduler(0.005 -> 0.01, step 1) then logspace(0.01, 0.0005)."""
    mult = (0.01 / 0.005) ** (1. / warmup_epochs)
    warmup = 0.005 * mult ** np.arange(warmup_epochs)
    decay = np.logspace(math.log10(0.01), math.log10(0.0005), num_epochs - warmup_epochs)
    return np.concatenate([warmup, decay])


def test_default_schedule_is_pysots_per_epoch_list():
    per_epoch = 4
    steps = np.arange(50 * per_epoch)
    got = rates(lr_config(), steps, per_epoch, 50)
    expected = np.repeat(pysot_default(), per_epoch)
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    assert got[0] == pytest.approx(0.005) and got[5 * per_epoch] == pytest.approx(0.01)
    assert got[-1] == pytest.approx(0.0005)


def test_continuous_schedules_run_over_each_phase():
    per_epoch, epochs = 10, 12
    config = lr_config(staircase=False, warmup='linear', warmup_epochs=3, warmup_start_lr=0.001, policy='cosine',
                       initial_lr=0.01, end_lr=0.0001)
    steps = np.arange(epochs * per_epoch)
    e = steps / float(per_epoch)
    warm = 0.001 + (0.01 - 0.001) * e / 3.
    cosine = 0.0001 + (0.01 - 0.0001) * 0.5 * (1 + np.cos(np.pi * np.clip((e - 3) / 9., 0, 1)))
    np.testing.assert_allclose(rates(config, steps, per_epoch, epochs), np.where(e < 3, warm, cosine), rtol=1e-5)
    config.update(warmup_epochs=1, policy='log_space', end_lr=0.001)   # a one-epoch warm-up ramps within the epoch
    warm = 0.001 + (0.01 - 0.001) * e
    log_space = 0.01 * (0.001 / 0.01) ** ((e - 1) / 11.)
    np.testing.assert_allclose(rates(config, steps, per_epoch, epochs), np.where(e < 1, warm, log_space), rtol=1e-5)
    staircase = rates(dict(config, staircase=True, warmup_epochs=3), steps[::per_epoch], per_epoch, epochs)
    pysot = np.concatenate([np.linspace(0.001, 0.01, 3), np.logspace(-2, -3, 9)])
    np.testing.assert_allclose(staircase, pysot, rtol=1e-5)


@pytest.mark.parametrize('staircase', [True, False])
def test_exponential_and_piecewise(staircase):
    per_epoch = 5
    steps = np.arange(0, 60)
    e = steps / float(per_epoch)
    e = np.floor(e) if staircase else e
    got = rates(lr_config(warmup=None, policy='exponential', initial_lr=0.1, lr_decay_factor=0.5,
                          num_epochs_per_decay=2, staircase=staircase), steps, per_epoch, 12)
    periods = np.floor(e / 2.) if staircase else e / 2.
    np.testing.assert_allclose(got, 0.1 * 0.5 ** periods, rtol=1e-5)
    got = rates(lr_config(warmup=None, policy='piecewise_constant', lr_boundaries=[3, 7],
                          lr_values=[0.1, 0.01, 0.001], staircase=staircase), steps, per_epoch, 12, lr_mult=0.5)
    expected = 0.5 * np.where(e <= 3, 0.1, np.where(e <= 7, 0.01, 0.001))
    np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_warmup_ends_at_the_decays_first_rate_and_lr_mult_scales():
    got = rates(lr_config(warmup='step', warmup_epochs=2, warmup_start_lr=0.02, policy='piecewise_constant',
                          lr_boundaries=[1, 4], lr_values=[0.3, 0.08, 0.001]), [0, 1, 2, 3, 4, 5], 1, 6, lr_mult=2)
    # warm-up from 0.02 towards the piecewise rate at epoch 2 (0.08): 0.02, 0.02 * 2; then the piecewise values
    np.testing.assert_allclose(got, 2 * np.array([0.02, 0.04, 0.08, 0.08, 0.08, 0.001]), rtol=1e-6)


@pytest.mark.parametrize('overrides, message', [
    ({'policy': 'linear'}, 'lr_config.policy'),
    ({'warmup': 'exp'}, 'lr_config.warmup must be'),
    ({'warmup_epochs': 0}, 'warmup_epochs'),
    ({'warmup_epochs': 50}, 'smaller than the number of epochs'),
    ({'warmup_step_epochs': 7}, 'warmup_step_epochs'),
    ({'end_lr': 0}, 'end_lr'),
    ({'policy': 'piecewise_constant', 'lr_values': [1, 2]}, 'one more entry'),
    ({'policy': 'piecewise_constant', 'lr_boundaries': [5, 2]}, 'must increase'),
])
def test_bad_lr_configs_name_the_field(overrides, message):
    with pytest.raises(ValueError, match=message):
        check_lr_config(lr_config(**overrides), 50)


def test_optimizers(graph):
    base = copy.deepcopy(configuration.TRAIN_CONFIG['optimizer_config'])
    momentum = make_optimizer(dict(base, optimizer='momentum', use_nesterov=True), 0.1)
    assert isinstance(momentum, tf.train.MomentumOptimizer) and momentum._use_nesterov and momentum._momentum == 0.9
    assert isinstance(make_optimizer(dict(base, optimizer='SGD'), 0.1), tf.train.GradientDescentOptimizer)
    adam = make_optimizer(dict(base, optimizer='ADAM', adam_beta1=0.8), 0.1)
    assert isinstance(adam, tf.train.AdamOptimizer) and adam._beta1 == 0.8
    with pytest.raises(ValueError, match="optimizer_config.optimizer must be one of"):
        make_optimizer(dict(base, optimizer='RMSPROP'), 0.1)
