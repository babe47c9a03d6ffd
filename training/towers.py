"""Data-parallel towers: one set of variables, the batch split across devices, gradients averaged.

Design (SiamFC-TensorFlow's and the TF CIFAR-10 multi-GPU example's):
  * variables live once, on `variable_device` (/cpu:0 with several towers, else the tower's device); every other
    op of tower i runs on devices[i] (`tower_device_setter`), and gradient ops sit with their forward ops;
  * the batch of B pairs is split into B / n pairs per tower; tower i builds SiameseModel in name scope 'tower_<i>'
    (tower 0 creates the variables, the others reuse them);
  * per-tower gradients are averaged on the variable device and then clipped once, by the global norm of the
    average (train_op.py);
  * BN moving statistics are updated from tower 0's batch statistics only. Each tower's statistics estimate the same
    population moments (identical in expectation), there is no cross-tower synchronisation on CPU/GPU here, and
    one set of update ops keeps the moving averages' step size what bn_momentum says (n towers each updating would
    apply n moving-average steps per training step). Forward and backward passes use each tower's own batch
    statistics, as usual for data-parallel BN.

With BN in inference mode (e.g. all layers frozen or 'validation' mode) and equal pair weights, the averaged gradient
equals the single-device gradient on the full batch (tests/training/test_towers.py checks it to 1e-5).
"""

import logging
import os
import re

import tensorflow as tf

from embeddings.siamrpn_alexnet import BN_STATISTICS, resolve_conv_algorithm
from siamese_model import SiameseModel
from utils import runtime

logger = logging.getLogger(__name__)

_VARIABLE_OPS = ('Variable', 'VariableV2', 'VarHandleOp', 'AutoReloadVariable')
_DEVICE = re.compile(r'^/(?:device:)?(cpu|gpu):(\d+)$', re.IGNORECASE)


def conv_algorithm_for_device(option, device):
    """train_config['conv_algorithm'] for a tower on `device` ('/cpu:0', '/gpu:1', ...): 'auto' is 'direct' on a GPU
    (cuDNN chooses its own algorithms) and 'winograd' on a CPU (1.2-1.3x faster full-width steps, docs/speed.md);
    'direct' and 'winograd' stay. ValueError names any other value."""
    match = _DEVICE.match(str(device))
    return resolve_conv_algorithm(option, lambda: bool(match) and match.group(1).lower() == 'gpu',
                                  'train_config.conv_algorithm')


def visible_gpus():
    """Number of GPUs TensorFlow can see (without creating a session)."""
    return len(tf.config.experimental.list_physical_devices('GPU'))


def resolve_devices(tower_config, num_visible_gpus=None, machine_gpus=None):
    """(tower devices, variable device) from TRAIN_CONFIG['tower_config'].

    `devices` (a list such as ['/gpu:0', '/gpu:1'] or ['/cpu:0', '/cpu:1']) wins; otherwise `num_gpus` towers on
    /gpu:0..n-1, or one tower on /cpu:0 when TensorFlow sees no GPU. The variable device is `variable_device`, or
    /cpu:0 with several towers, or the single tower's device.

    Never silent about GPUs: a /gpu:n in `devices` or `variable_device` that TensorFlow does not see is a ValueError
    (soft placement would otherwise put its ops on the CPU unnoticed); num_gpus > 0 with no GPU visible falls back to
    /cpu:0 with a log line, a warning when the machine has a GPU TF cannot use (`machine_gpus`: how many nvidia-smi
    lists, probed when None) or several were asked for, else info (the default num_gpus 1 on a CPU machine).
    `num_visible_gpus`: GPUs TF sees (default: probed).
    """
    def gpus_seen():
        return visible_gpus() if num_visible_gpus is None else num_visible_gpus

    devices = tower_config.get('devices')
    if devices:
        devices = [str(d) for d in devices]
        for device in devices:
            if not _DEVICE.match(device):
                raise ValueError("tower_config.devices: %r is not a device like '/gpu:0' or '/cpu:1'" % device)
        if len(set(d.lower() for d in devices)) != len(devices):
            raise ValueError('tower_config.devices lists a device twice: %s' % devices)
        _check_gpu_devices('tower_config.devices', devices, gpus_seen)
    else:
        requested = int(tower_config.get('num_gpus') or 0)
        if requested < 0:
            raise ValueError('tower_config.num_gpus must be >= 0, got %d' % requested)
        available = gpus_seen() if requested else 0
        if requested == 0:
            devices = ['/cpu:0']
        elif available == 0:
            devices = ['/cpu:0']
            _log_cpu_fallback(requested, machine_gpus)
        elif requested > available:
            raise ValueError('tower_config.num_gpus is %d but only %d GPU(s) are visible; lower num_gpus or list '
                             'tower_config.devices' % (requested, available))
        else:
            devices = ['/gpu:%d' % i for i in range(requested)]
    variable_device = tower_config.get('variable_device')
    if variable_device is None:
        variable_device = '/cpu:0' if len(devices) > 1 else devices[0]
    elif not _DEVICE.match(str(variable_device)):
        raise ValueError("tower_config.variable_device: %r is not a device like '/cpu:0'" % variable_device)
    else:
        _check_gpu_devices('tower_config.variable_device', [str(variable_device)], gpus_seen)
    return devices, str(variable_device)


def _check_gpu_devices(field, devices, gpus_seen):
    """Raises ValueError when `devices` name a /gpu:n beyond the GPUs TensorFlow sees."""
    gpus = [(d, int(m.group(2))) for d, m in ((d, _DEVICE.match(d)) for d in devices) if m.group(1).lower() == 'gpu']
    if gpus:
        seen = gpus_seen()
        unseen = [d for d, index in gpus if index >= seen]
        if unseen:
            raise ValueError('%s names %s but TensorFlow sees %d GPU(s) (CUDA_VISIBLE_DEVICES=%s); run '
                             'scripts/check_environment.py to see why, or use CPU devices' % (
                                 field, ', '.join(unseen), seen, os.environ.get('CUDA_VISIBLE_DEVICES', '(unset)')))


def _log_cpu_fallback(requested, machine_gpus):
    """Logs why num_gpus > 0 towers became one tower on /cpu:0."""
    if machine_gpus is None:
        machine_gpus = len(runtime.nvidia_smi()['gpus'])
    message = ('tower_config.num_gpus is %d but TensorFlow sees no GPU: training on one tower on /cpu:0 '
               '(%d GPU(s) listed by nvidia-smi)' % (requested, machine_gpus))
    if machine_gpus:
        logger.warning('%s; TensorFlow cannot use them: run scripts/check_environment.py for the fix', message)
    elif requested > 1:
        logger.warning(message)
    else:
        logger.info(message)


def num_cpu_devices(devices, variable_device):
    """How many CPU devices a session must expose for these device strings (device_count={'CPU': n})."""
    indices = [int(m.group(2)) for m in (_DEVICE.match(d) for d in list(devices) + [variable_device])
               if m and m.group(1).lower() == 'cpu']
    return max(indices) + 1 if indices else 1


def tower_device_setter(worker_device, variable_device):
    """A device function: variables on `variable_device`, every other op on `worker_device`."""
    def device_function(op):
        node_def = op if isinstance(op, tf.NodeDef) else op.node_def
        return variable_device if node_def.op in _VARIABLE_OPS else worker_device
    return device_function


def split_batch(batch, num_towers):
    """Splits each [B, ...] tensor of a batch dict into num_towers dicts of [B / num_towers, ...] tensors."""
    if num_towers == 1:
        return [dict(batch)]
    sizes = {key: value.get_shape()[0].value for key, value in batch.items()}
    for key, size in sizes.items():
        if size is None:
            raise ValueError('batch tensor %r needs a static batch size to be split across towers' % key)
        if size % num_towers:
            raise ValueError('the batch of %d pairs does not split evenly across %d towers (batch tensor %r); make '
                             'batch_size a multiple of the number of towers' % (size, num_towers, key))
    parts = [{} for _ in range(num_towers)]
    with tf.name_scope('split_batch'):
        for key, value in batch.items():
            for part, piece in zip(parts, tf.split(value, num_towers, axis=0, name=key)):
                part[key] = piece
    return parts


class Tower(object):
    """One tower: its device, model and the BN batch statistics it recorded (deferred updates)."""

    def __init__(self, index, device, model, bn_statistics):
        self.index, self.device, self.model, self.bn_statistics = index, device, model, bn_statistics
        self.gradients = None


def build_towers(model_config, train_config, batch, devices, variable_device, mode='train', frozen_layers=(),
                 seed=None, model_class=SiameseModel):
    """Builds one SiameseModel per device on its share of `batch` (BN updates deferred, see train_op.py), its
    embedding's convs by `conv_algorithm_for_device`.

    Args:
      batch: batch dict of [B, ...] tensors (see siamese_model.py).
      devices: tower devices; variable_device: where the variables live.
      mode: 'train' (BN on batch statistics) or 'validation' (BN in inference mode).
      frozen_layers: embedding layers not trained (staged training).
      seed: op seed of the target subsampling; tower i uses seed + i.
      model_class: SiameseModel or a subclass (benchmarks/bench_train.py builds the earlier port's targets so).
    Returns:
      list of Tower.
    """
    towers = []
    for index, (device, inputs) in enumerate(zip(devices, split_batch(batch, len(devices)))):
        with tf.device(tower_device_setter(device, variable_device)), tf.name_scope('tower_%d' % index):
            before = len(tf.get_collection(BN_STATISTICS))
            config = dict(train_config,
                          conv_algorithm=conv_algorithm_for_device(train_config['conv_algorithm'], device))
            model = model_class(model_config, config, mode, inputs=inputs, frozen_layers=frozen_layers,
                                seed=None if seed is None else seed + index, defer_bn_updates=True)
            model.build(reuse=index > 0)
            towers.append(Tower(index, device, model, tf.get_collection(BN_STATISTICS)[before:]))
    return towers


def compute_gradients(towers, var_list, variable_device):
    """Sets tower.gradients (list aligned with var_list) for each tower; each tower's gradient ops run on its device
    (colocated with their forward ops). Raises ValueError when a variable gets no gradient."""
    for tower in towers:
        with tf.device(tower_device_setter(tower.device, variable_device)), tf.name_scope('tower_%d/' % tower.index):
            grads = tf.gradients(tower.model.total_loss, var_list, colocate_gradients_with_ops=True)
        missing = [v.op.name for v, g in zip(var_list, grads) if g is None]
        if missing:
            raise ValueError('no gradient reaches %s; they cannot be trained' % ', '.join(missing[:5]))
        tower.gradients = grads


def average_gradients(towers, variable_device):
    """The mean over towers of each variable's gradient, computed on the variable device."""
    if len(towers) == 1:
        return list(towers[0].gradients)
    with tf.device(variable_device), tf.name_scope('average_gradients'):
        return [tf.add_n(list(grads)) / float(len(towers)) for grads in zip(*(t.gradients for t in towers))]
