"""The train op: averaged tower gradients, one global-norm clip, and a guard against non-finite steps.

  finite = isfinite(loss) and isfinite(global_norm(averaged gradients))
  tf.cond(finite,
          apply:  clip by global norm -> optimizer.apply_gradients -> BN moving-average updates (tower 0's batch
                  statistics, created here, inside the branch),
          skip:   nonfinite_steps += 1)
  then global_step += 1 (a skipped step still counts, so the schedule and the data move on).

A NaN or Inf batch therefore changes neither the weights, the optimizer's slots, nor the BN moving statistics. The
moving-average updates can only be skipped because the embedding's batch_norm (embeddings/siamrpn_alexnet.py)
records the statistics instead of building update ops outside the cond (slim's update ops would run regardless:
ops created outside a tf.cond are not gated by it, and 0 * NaN = NaN defeats a decay switch).

Per-scope rate multipliers (a stage's scope_lr_mults, training/stages.py) go through `scaled_rate_optimizer`: one
optimizer of the configured kind per distinct multiplier, each at learning_rate * multiplier, applying its own
variables. That is a true rate multiplier for every optimizer. Scaling the gradients instead would equal it only for
SGD and momentum (momentum accumulates the gradient, so a scaled gradient scales every later step), not for Adam,
whose step m / sqrt(v) does not change when the gradient is scaled. The inner optimizers share the configured name,
so slot variables keep their names ('<var>/Momentum', '<var>/Adam') and checkpoints restore across stages; Adam's
beta-power accumulators are one per group ('beta1_power', 'beta1_power_1', ...). With every multiplier 1 the plain
optimizer is used and the graph is unchanged.
"""

import collections

import tensorflow as tf

from embeddings.siamrpn_alexnet import moving_average_updates
from training.towers import average_gradients

NONFINITE_COUNTER = 'nonfinite_steps'


def nonfinite_counter(device=None):
    """The int64 variable counting skipped non-finite steps (saved in checkpoints, so it survives a resume)."""
    with tf.device(device):
        return tf.get_variable(NONFINITE_COUNTER, shape=[], dtype=tf.int64, initializer=tf.zeros_initializer(),
                               trainable=False)


class ScaledRateOptimizer(tf.train.Optimizer):
    """Applies each group of variables with its own optimizer (see the module docstring); slots are looked up in the
    optimizer that owns the variable. Built by scaled_rate_optimizer."""

    def __init__(self, optimizers, groups, name):
        super(ScaledRateOptimizer, self).__init__(use_locking=False, name=name)
        self._optimizers = list(optimizers)
        self._owner = {}
        for optimizer, group in zip(self._optimizers, groups):
            for variable in group:
                self._owner[_key(variable)] = optimizer

    def apply_gradients(self, grads_and_vars, global_step=None, name=None):
        """Splits grads_and_vars by owning optimizer, applies each part, then (optionally) increments global_step."""
        grads_and_vars = list(grads_and_vars)
        parts = collections.OrderedDict((id(o), []) for o in self._optimizers)
        for grad, variable in grads_and_vars:
            if _key(variable) not in self._owner:
                raise ValueError('variable %s has no rate multiplier group' % variable.op.name)
            parts[id(self._owner[_key(variable)])].append((grad, variable))
        updates = [optimizer.apply_gradients(parts[id(optimizer)])
                   for optimizer in self._optimizers if parts[id(optimizer)]]
        if global_step is None:
            return tf.group(*updates, name=name or self.get_name())
        with tf.control_dependencies(updates), tf.colocate_with(global_step):
            return tf.assign_add(global_step, 1, name=name or self.get_name()).op

    def get_slot(self, var, name):
        owner = self._owner.get(_key(var))
        return None if owner is None else owner.get_slot(var, name)

    def get_slot_names(self):
        return sorted({n for optimizer in self._optimizers for n in optimizer.get_slot_names()})

    def variables(self):
        return [v for optimizer in self._optimizers for v in optimizer.variables()]

    def compute_gradients(self, *args, **kwargs):
        return self._optimizers[0].compute_gradients(*args, **kwargs)


def _key(variable):
    return variable.op.name


def scaled_rate_optimizer(make_optimizer, learning_rate, var_list, multipliers):
    """An optimizer applying var_list[i] at learning_rate * multipliers[i].

    Args:
      make_optimizer: rate tensor -> a tf.train optimizer (e.g. train_schedules.make_optimizer with its config).
      learning_rate: float32 scalar tensor, the stage's rate.
      var_list: the variables trained; multipliers: aligned floats > 0 (train_stages.variable_lr_mults).
    Returns:
      make_optimizer(learning_rate) when every multiplier is 1, else a ScaledRateOptimizer with one inner optimizer
      per distinct multiplier (in order of first appearance in var_list) at rate learning_rate * multiplier.
    """
    if len(var_list) != len(multipliers):
        raise ValueError('%d variables but %d rate multipliers' % (len(var_list), len(multipliers)))
    groups = collections.OrderedDict()
    for variable, mult in zip(var_list, multipliers):
        groups.setdefault(float(mult), []).append(variable)
    if set(groups) <= {1.0}:
        return make_optimizer(learning_rate)
    optimizers = []
    for mult in groups:
        rate = learning_rate if mult == 1.0 else tf.multiply(learning_rate, mult, name='learning_rate_x%g' % mult)
        optimizers.append(make_optimizer(rate))
    return ScaledRateOptimizer(optimizers, list(groups.values()), optimizers[0].get_name())


class TrainOp(object):
    """Tensors of one training step.

    Attributes:
      train_op: runs one step (the guarded update, then global_step += 1); its value is the new global step.
      loss, cls_loss, reg_loss, regularization_loss, mean_top_iou: mean over towers (scalars).
      gradient_norm: global norm of the averaged gradients before clipping.
      finite: bool, whether the step was applied.
      nonfinite_steps: the counter after the step.
      worker_steps, worker_nonfinite_steps: in distributed training only (training/distributed.py), this worker's
          counters after the step.
    """


def tower_means(towers, variable_device):
    """{'loss', 'cls_loss', 'reg_loss', 'regularization_loss', 'mean_top_iou'}: the means over the towers (scalars,
    computed on the variable device in name scope train_step)."""
    means = {}
    with tf.device(variable_device), tf.name_scope('train_step'):
        for name in ('total_loss', 'cls_loss', 'reg_loss', 'regularization_loss', 'mean_top_iou'):
            value = tf.add_n([getattr(t.model, name) for t in towers]) / float(len(towers))
            means['loss' if name == 'total_loss' else name] = tf.identity(value, name=name)
    return means


def finite_step(loss, gradient_norm):
    """The guard's predicate: a bool scalar, true when the loss and the gradients' global norm are both finite."""
    return tf.logical_and(tf.is_finite(loss), tf.is_finite(gradient_norm), name='finite')


def guarded_update(grads, var_list, optimizer, global_step, clip_norm, counter, finite, gradient_norm,
                   bn_statistics=()):
    """tf.cond(finite, apply, skip), then global_step += 1 (see the module docstring).

    Args:
      grads: gradients aligned with var_list; gradient_norm: their global norm (reused by the clip).
      finite: bool scalar, whether to apply them.
      bn_statistics: BatchStatistics records whose moving averages are updated in the apply branch only.
      optimizer, global_step, clip_norm, counter: as build_train_op.
    Returns:
      (nonfinite_steps: the counter after the step, train_op: global_step += 1 after the update or the skip; its
       value is the new global step).
    """
    def apply_step():
        clipped = grads
        if clip_norm:
            clipped, _ = tf.clip_by_global_norm(grads, float(clip_norm), use_norm=gradient_norm)
        update = optimizer.apply_gradients(list(zip(clipped, var_list)))
        bn_updates = moving_average_updates(bn_statistics)
        with tf.control_dependencies([update] + bn_updates):
            return tf.identity(counter.read_value())

    def skip_step():
        return tf.identity(tf.assign_add(counter, 1))

    nonfinite_steps = tf.cond(finite, apply_step, skip_step, name='guarded_update')
    with tf.control_dependencies([nonfinite_steps]):
        train_op = tf.assign_add(global_step, 1, name='train_op')
    return nonfinite_steps, train_op


def build_train_op(towers, var_list, optimizer, global_step, clip_norm, counter, variable_device):
    """Builds the guarded train op from towers with gradients (training/towers.py) -> TrainOp.

    Args:
      towers: list of Tower with `gradients` set; tower 0's BN statistics feed the moving averages.
      var_list: variables being trained (aligned with the towers' gradients).
      optimizer: a tf.train optimizer.
      global_step: the global step variable.
      clip_norm: clip the averaged gradients to this global norm (None or 0: no clipping).
      counter: nonfinite_counter().
      variable_device: device of the variables (the reduction runs there).
    """
    result = TrainOp()
    for name, value in tower_means(towers, variable_device).items():
        setattr(result, name, value)
    grads = average_gradients(towers, variable_device)
    with tf.device(variable_device), tf.name_scope('train_step/'):
        result.gradient_norm = tf.global_norm(grads, name='gradient_norm')
        result.finite = finite_step(result.loss, result.gradient_norm)
        result.nonfinite_steps, result.train_op = guarded_update(
            grads, var_list, optimizer, global_step, clip_norm, counter, result.finite, result.gradient_norm,
            towers[0].bn_statistics)
    return result
