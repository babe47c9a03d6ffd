"""Learning-rate policies and optimizers (TRAIN_CONFIG['lr_config'], ['optimizer_config']).

The rate is a function of the epoch e = global_step / steps_per_epoch (floored with `staircase`, which changes the
rate once per epoch as pysot does):

  warm-up, e < W (W = warmup_epochs), ending at the decay schedule's first rate r0:
    'linear': warmup_start_lr + (r0 - warmup_start_lr) * p, p = e / (W - 1)      (pysot LinearStepScheduler)
    'step':   warmup_start_lr * m ** floor(e / s), m = (r0 / warmup_start_lr) ** (1 / (W // s)),
              s = warmup_step_epochs                                            (pysot StepScheduler)
  decay, x = e - W over the remaining D = num_epochs - W epochs:
    'log_space':   initial_lr * (end_lr / initial_lr) ** p, p = x / (D - 1)     (pysot LogScheduler, np.logspace)
    'cosine':      end_lr + (initial_lr - end_lr) * (1 + cos(pi * x / D)) / 2   (pysot CosStepScheduler)
    'exponential': initial_lr * lr_decay_factor ** (x / num_epochs_per_decay)   (floored with staircase)
    'piecewise_constant': lr_values[i] for boundaries in epochs from the start of training
  (progress p clipped to [0, 1]).

With `staircase` (the default) e and x are whole epochs and the rates are exactly pysot's per-epoch lists (warm-up
then decay, as its WarmUPScheduler concatenates them). Without it the rate changes every step and each phase runs
over its whole length: p = e / W for the linear warm-up and x / D for the log-space decay, so a one-epoch warm-up
ramps within the epoch and the decay reaches end_lr at the last step. A training stage's `lr_mult` multiplies the
result.
"""

import math

import numpy as np
import tensorflow as tf

OPTIMIZERS = ('MOMENTUM', 'SGD', 'ADAM')
LR_POLICIES = ('log_space', 'exponential', 'cosine', 'piecewise_constant')
WARMUPS = (None, 'linear', 'step')


def check_lr_config(lr_config, num_epochs):
    """Raises ValueError naming the first bad field of lr_config for a run of `num_epochs` epochs."""
    policy = lr_config['policy']
    if policy not in LR_POLICIES:
        raise ValueError('lr_config.policy must be one of %s, got %r' % (LR_POLICIES, policy))
    warmup = lr_config['warmup']
    if warmup not in WARMUPS:
        raise ValueError('lr_config.warmup must be one of %s, got %r' % (WARMUPS, warmup))
    warmup_epochs = lr_config['warmup_epochs'] if warmup else 0
    if warmup:
        if not (isinstance(warmup_epochs, int) and warmup_epochs >= 1):
            raise ValueError('lr_config.warmup_epochs must be a whole number of epochs >= 1, got %r' % warmup_epochs)
        if not lr_config['warmup_start_lr'] > 0:
            raise ValueError('lr_config.warmup_start_lr must be > 0, got %r' % lr_config['warmup_start_lr'])
        step = lr_config['warmup_step_epochs']
        if warmup == 'step' and not (isinstance(step, int) and 1 <= step <= warmup_epochs):
            raise ValueError('lr_config.warmup_step_epochs must be a whole number in [1, warmup_epochs=%d], got %r'
                             % (warmup_epochs, step))
        if num_epochs <= warmup_epochs:
            raise ValueError('lr_config.warmup_epochs (%d) must be smaller than the number of epochs (%s)'
                             % (warmup_epochs, num_epochs))
    if policy in ('log_space', 'cosine', 'exponential') and not lr_config['initial_lr'] > 0:
        raise ValueError('lr_config.initial_lr must be > 0, got %r' % lr_config['initial_lr'])
    if policy in ('log_space', 'cosine') and not lr_config['end_lr'] > 0:
        raise ValueError('lr_config.end_lr must be > 0, got %r' % lr_config['end_lr'])
    if policy == 'exponential':
        if not lr_config['lr_decay_factor'] > 0:
            raise ValueError('lr_config.lr_decay_factor must be > 0, got %r' % lr_config['lr_decay_factor'])
        if not lr_config['num_epochs_per_decay'] > 0:
            raise ValueError('lr_config.num_epochs_per_decay must be > 0, got %r' % lr_config['num_epochs_per_decay'])
    if policy == 'piecewise_constant':
        boundaries, values = list(lr_config['lr_boundaries']), list(lr_config['lr_values'])
        if len(values) != len(boundaries) + 1:
            raise ValueError('lr_config.lr_values needs one more entry than lr_boundaries, got %d values for %d '
                             'boundaries' % (len(values), len(boundaries)))
        if boundaries != sorted(boundaries):
            raise ValueError('lr_config.lr_boundaries must increase, got %s' % boundaries)
        if not all(v > 0 for v in values):
            raise ValueError('lr_config.lr_values must all be > 0, got %s' % values)


def _f64(value):
    return tf.constant(float(value), tf.float64)


def _progress(x, length):
    """min(x / length, 1) clipped at 0 (0 when length <= 0)."""
    if length <= 0:
        return tf.zeros_like(x)
    return tf.clip_by_value(x / float(length), 0., 1.)


def _decay(lr_config, epoch, warmup_epochs, num_epochs, staircase):
    """The decay policy's rate at `epoch` (float64 tensor), and its rate where the decay starts (a float)."""
    policy = lr_config['policy']
    x = epoch - warmup_epochs
    decay_epochs = num_epochs - warmup_epochs
    if policy == 'piecewise_constant':
        boundaries = [float(b) for b in lr_config['lr_boundaries']]
        values = [float(v) for v in lr_config['lr_values']]
        first = values[int(np.searchsorted(boundaries, warmup_epochs, side='left'))]  # TF: epoch <= b -> value i
        if not boundaries:
            return tf.fill(tf.shape(epoch), _f64(values[0])), first
        return tf.train.piecewise_constant(epoch, [tf.constant(b, tf.float64) for b in boundaries],
                                           [tf.constant(v, tf.float64) for v in values]), first
    initial = float(lr_config['initial_lr'])
    if policy == 'log_space':
        end = float(lr_config['end_lr'])
        progress = _progress(x, decay_epochs - 1 if staircase else decay_epochs)
        return initial * tf.pow(_f64(end / initial), progress), initial
    if policy == 'cosine':
        end = float(lr_config['end_lr'])
        return end + (initial - end) * 0.5 * (1. + tf.cos(math.pi * _progress(x, decay_epochs))), initial
    periods = x / float(lr_config['num_epochs_per_decay'])
    if staircase:
        periods = tf.floor(periods)
    return initial * tf.pow(_f64(lr_config['lr_decay_factor']), tf.maximum(periods, 0.)), initial


def learning_rate(lr_config, global_step, steps_per_epoch, num_epochs, lr_mult=1.0, name='learning_rate'):
    """The learning rate at `global_step` as a float32 scalar tensor (see the module docstring).

    Args:
      lr_config: TRAIN_CONFIG['lr_config'].
      global_step: int64 step tensor.
      steps_per_epoch: training steps per epoch (> 0).
      num_epochs: length of training in epochs (the decay ends there).
      lr_mult: multiplier of the current training stage.
    """
    check_lr_config(lr_config, num_epochs)
    if not steps_per_epoch > 0:
        raise ValueError('steps_per_epoch must be > 0, got %r' % steps_per_epoch)
    staircase = bool(lr_config['staircase'])
    warmup = lr_config['warmup']
    warmup_epochs = int(lr_config['warmup_epochs']) if warmup else 0
    with tf.name_scope(name):
        epoch = tf.cast(global_step, tf.float64) / float(steps_per_epoch)
        if staircase:
            epoch = tf.floor(epoch)
        rate, first = _decay(lr_config, epoch, warmup_epochs, num_epochs, staircase)
        if warmup:
            start = float(lr_config['warmup_start_lr'])
            if warmup == 'linear':
                ramp = start + (first - start) * _progress(epoch, warmup_epochs - 1 if staircase else warmup_epochs)
            else:
                step = int(lr_config['warmup_step_epochs'])
                factor = (first / start) ** (1. / (warmup_epochs // step))
                ramp = start * tf.pow(_f64(factor), tf.floor(epoch / step))
            rate = tf.where(epoch < warmup_epochs, ramp, rate)
        return tf.cast(rate * float(lr_mult), tf.float32, name='value')


def check_optimizer_config(optimizer_config):
    """Raises ValueError for an unknown optimizer name."""
    name = str(optimizer_config['optimizer']).upper()
    if name not in OPTIMIZERS:
        raise ValueError('optimizer_config.optimizer must be one of %s, got %r'
                         % (OPTIMIZERS, optimizer_config['optimizer']))


def make_optimizer(optimizer_config, learning_rate_tensor):
    """A tf.train optimizer from TRAIN_CONFIG['optimizer_config']: MOMENTUM (optionally Nesterov), SGD or ADAM."""
    check_optimizer_config(optimizer_config)
    name = optimizer_config['optimizer'].upper()
    if name == 'MOMENTUM':
        return tf.train.MomentumOptimizer(learning_rate_tensor, momentum=optimizer_config['momentum'],
                                          use_nesterov=bool(optimizer_config['use_nesterov']), name='Momentum')
    if name == 'SGD':
        return tf.train.GradientDescentOptimizer(learning_rate_tensor, name='SGD')
    return tf.train.AdamOptimizer(learning_rate_tensor, beta1=optimizer_config['adam_beta1'],
                                  beta2=optimizer_config['adam_beta2'], epsilon=optimizer_config['adam_epsilon'],
                                  name='Adam')
