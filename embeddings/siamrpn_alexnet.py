"""The SiamRPN AlexNet embedding in DaSiamRPN's layout (NHWC, VALID padding).

  conv1 11x11/2 (96)  -> BN -> maxpool 3x3/2 -> ReLU
  conv2 5x5     (256) -> BN -> maxpool 3x3/2 -> ReLU
  conv3 3x3     (384) -> BN -> ReLU
  conv4 3x3     (384) -> BN -> ReLU
  conv5 3x3     (256) -> BN

Channel counts are multiplied by `width_multiplier` (2 gives DaSiamRPN's BIG model). Every conv keeps its bias,
as in DaSiamRPN, so the parameter count matches the PyTorch model exactly.

Batch normalisation is `batch_norm` below: slim's fused batch norm (same variables, same ops, same outputs) with one
addition for training. slim creates its moving-average update ops when the layer is built, outside any tf.cond, so
a training step cannot skip them: a batch that turns the activations into NaN would poison moving_mean and
moving_variance even if the weight update is skipped (and a tensor decay does not help: 0 * NaN = NaN). With
`defer_updates=True` the layer creates no update ops; it records (moving variable, batch statistic, decay) in the
BN_STATISTICS collection, and the train op creates the updates inside its finite-step branch
(`moving_average_updates`). By default the update ops go to UPDATE_OPS exactly as slim's do.

Inference graphs may fold BN into the convolutions: `fold_batch_norm_arrays` computes, at load time from a
checkpoint's values, each layer's conv with weights w * s and bias (b - mean) * s + beta, s = gamma /
sqrt(moving_variance + epsilon) (exact up to float rounding), and `siamrpn_alexnet(..., folded_convs=...)` (or
`slim.arg_scope([siamrpn_alexnet], folded_convs=...)` around a model's build) runs them as constant convs with no
variables. The ReLU of conv1/conv2 then runs before the max-pool (they commute: max-pool is monotone), so oneDNN
fuses conv + bias + ReLU, and it keeps constant filters in its own layout instead of reordering them every run.
The training graph never uses this mode.

`conv_algorithm='winograd'` (both modes) computes the stride-1 layers with at least 128 outputs as Winograd
convolutions (embeddings/winograd.py: the same correlation with 4-4.6x fewer multiply-adds, equal up to float
rounding); the tracker and, on CPU towers, the trainer use it (TRACK_CONFIG / TRAIN_CONFIG 'conv_algorithm').
"""

import collections

import numpy as np
import tensorflow as tf

from embeddings import winograd

slim = tf.contrib.slim

BN_STATISTICS = 'bn_batch_statistics'  # collection of BatchStatistics recorded by batch_norm(defer_updates=True)
MIN_FUSED_BN_EPSILON = 1.001e-5  # tf.nn.fused_batch_norm raises a smaller epsilon to this

BatchStatistics = collections.namedtuple('BatchStatistics', ['variable', 'value', 'decay'])
BatchStatistics.__doc__ = """A moving-average update to make: `variable` <- decay * variable + (1 - decay) * value."""

LAYERS = ('conv1', 'conv2', 'conv3', 'conv4', 'conv5')
BASE_CHANNELS = (96, 256, 384, 384, 256)
_KERNELS = (11, 5, 3, 3, 3)
_STRIDES = (2, 1, 1, 1, 1)
_POOL_AFTER = (True, True, False, False, False)
STRIDE = 8  # total stride: conv1's 2 times the two 2-stride max-pools
_RELU_AFTER = (True, True, True, True, False)


def scaled_channels(width_multiplier):
    """Returns the five conv output channel counts for a width multiplier, e.g. 1.0 -> (96, 256, 384, 384, 256)."""
    if width_multiplier <= 0:
        raise ValueError('width_multiplier must be > 0, got %r' % (width_multiplier,))
    return tuple(max(1, int(round(c * width_multiplier))) for c in BASE_CHANNELS)


def embedding_flops(image_size, width_multiplier=1.0):
    """Floating-point operations of the convolutions (2 per multiply-add; BN, pooling and ReLU not counted) for one
    [1, s, s, 3] image -> (flops, output side), e.g. 255 -> (8.63e9, 22) at width 1."""
    side, in_channels, flops = image_size, 3, 0
    for out, kernel, stride, pool in zip(scaled_channels(width_multiplier), _KERNELS, _STRIDES, _POOL_AFTER):
        side = (side - kernel) // stride + 1
        flops += 2 * side * side * kernel * kernel * in_channels * out
        if pool:
            side = (side - 3) // 2 + 1
        in_channels = out
    return flops, side


def weights_initializer(init_method, gain=1.0):
    """Returns a conv weight initializer by name: 'kaiming_normal' or 'xavier', its variance scaled by gain**2."""
    if init_method == 'kaiming_normal':
        return tf.variance_scaling_initializer(scale=2.0 * gain ** 2, mode='fan_in', distribution='truncated_normal')
    if init_method == 'xavier':
        return tf.variance_scaling_initializer(scale=1.0 * gain ** 2, mode='fan_avg', distribution='uniform')
    raise ValueError("unknown init_method %r: expected 'kaiming_normal' or 'xavier'" % (init_method,))


@slim.add_arg_scope
def batch_norm(inputs, decay=0.999, epsilon=0.001, is_training=True, trainable=True, defer_updates=False,
               reuse=None, scope=None):
    """Fused batch norm over the channels of NHWC `inputs` [B, H, W, C], with scale and centre.

    Reproduces slim.batch_norm (its fused core-layer path): the same variables `<scope>/{gamma, beta, moving_mean,
    moving_variance}` (model variables; the moving statistics are not trainable), created in the same order with
    the same ops, so checkpoints, the converter and seeded initialisations are unchanged; the same outputs; and the
    same moving-average update `moving -= (moving - batch) * (1 - decay)`, where the batch variance carries Bessel's
    correction as slim's does.

    Args:
      decay: moving-average decay (TF sense: the weight of the old value).
      epsilon: variance epsilon (tf.nn.fused_batch_norm raises it to at least 1.001e-5, as for slim).
      is_training: Python bool; True normalises with the batch statistics and updates the moving ones.
      trainable: add gamma and beta to TRAINABLE_VARIABLES.
      defer_updates: when training, record BatchStatistics in the BN_STATISTICS collection instead of adding
          update ops to UPDATE_OPS (the caller makes the updates, e.g. with `moving_average_updates`).
    Returns:
      [B, H, W, C] normalised, scaled and shifted features.
    """
    if not isinstance(is_training, bool):
        raise TypeError('batch_norm: is_training must be a Python bool, got %r' % (is_training,))
    with tf.variable_scope(scope, 'BatchNorm', [inputs], reuse=reuse):
        inputs = tf.convert_to_tensor(inputs)
        if inputs.get_shape().ndims != 4 or inputs.get_shape()[-1].value is None:
            raise ValueError('batch_norm expects NHWC inputs with known channels, got shape %s' % inputs.get_shape())
        shape = inputs.get_shape()[-1:]
        gamma = slim.model_variable('gamma', shape=shape, initializer=tf.ones_initializer(), trainable=trainable)
        beta = slim.model_variable('beta', shape=shape, initializer=tf.zeros_initializer(), trainable=trainable)
        moving_mean = slim.model_variable('moving_mean', shape=shape, initializer=tf.zeros_initializer(),
                                          trainable=False)
        moving_variance = slim.model_variable('moving_variance', shape=shape, initializer=tf.ones_initializer(),
                                              trainable=False)
        if not is_training:
            outputs, _, _ = tf.nn.fused_batch_norm(inputs, gamma, beta, mean=moving_mean, variance=moving_variance,
                                                   epsilon=epsilon, is_training=False)
            tf.convert_to_tensor(decay)  # slim's layer makes this constant too; keeps seeded initialisations equal
        else:
            outputs, mean, variance = tf.nn.fused_batch_norm(inputs, gamma, beta, epsilon=epsilon)
            momentum = tf.convert_to_tensor(decay)
            records = [BatchStatistics(moving_mean, mean, decay), BatchStatistics(moving_variance, variance, decay)]
            if defer_updates:
                for record in records:
                    tf.add_to_collection(BN_STATISTICS, record)
            else:
                for record in records:
                    update = _assign_moving_average(record.variable, record.value, momentum)
                    tf.add_to_collection(tf.GraphKeys.UPDATE_OPS, update.op)
        outputs.set_shape(inputs.get_shape())
        return outputs


def _assign_moving_average(variable, value, decay):
    """variable -= (variable - value) * (1 - decay), colocated with the variable (slim's update op)."""
    with tf.name_scope('AssignMovingAvg') as scope:
        with tf.colocate_with(variable):
            delta = (variable - value) * (1.0 - tf.convert_to_tensor(decay, variable.dtype.base_dtype))
            return tf.assign_sub(variable, delta, name=scope)


def moving_average_updates(records):
    """Update ops for BatchStatistics `records`, applied in order per variable (a variable recorded by both the
    exemplar and the instance branch takes two moving-average steps, deterministically). Returns a list of ops."""
    last = collections.OrderedDict()
    for record in records:
        key = record.variable.op.name
        dependencies = [last[key]] if key in last else []
        with tf.control_dependencies(dependencies):
            last[key] = _assign_moving_average(record.variable, record.value, record.decay)
    return list(last.values())


def siamrpn_alexnet_arg_scope(embed_config, trainable=True, is_training=False, defer_bn_updates=False):
    """slim arg_scope for the embedding.

    Args:
      embed_config: MODEL_CONFIG['embed_config'].
      trainable: whether variables are added to TRAINABLE_VARIABLES.
      is_training: Python bool; True uses batch statistics and adds BN update ops to UPDATE_OPS.
      defer_bn_updates: with is_training, record the BN batch statistics in BN_STATISTICS instead of creating
          update ops (the trainer updates the moving statistics only on finite steps; see batch_norm).
    """
    regularizer = None
    if embed_config['weight_decay'] and trainable:
        regularizer = slim.l2_regularizer(embed_config['weight_decay'])
    with slim.arg_scope([slim.conv2d, winograd_conv],
                        weights_initializer=weights_initializer(embed_config['init_method']),
                        weights_regularizer=regularizer,
                        biases_initializer=tf.zeros_initializer(),
                        padding='VALID',
                        activation_fn=None,
                        trainable=trainable):
        with slim.arg_scope([batch_norm],
                            decay=embed_config['bn_momentum'],
                            epsilon=embed_config['bn_epsilon'],
                            is_training=is_training,
                            trainable=trainable,
                            defer_updates=defer_bn_updates) as scope:
            return scope


def fold_batch_norm_arrays(values, width_multiplier, epsilon, scope='siamrpn_alexnet'):
    """Folds each layer's BN (inference mode) into its conv, in numpy float64, from model variable values.

    Args:
      values: {variable name: array} with `<scope>/<layer>/conv/{weights, biases}` and
        `<scope>/<layer>/BatchNorm/{gamma, beta, moving_mean, moving_variance}` of every layer.
      width_multiplier: the embedding's (checks the shapes).
      epsilon: embed_config['bn_epsilon'] (raised to MIN_FUSED_BN_EPSILON as tf.nn.fused_batch_norm raises it).
    Returns:
      {layer: (weights [kh, kw, Cin, C] float32, biases [C] float32)}: w * s and (b - mean) * s + beta with
      s = gamma / sqrt(moving_variance + epsilon).
    """
    epsilon = max(float(epsilon), MIN_FUSED_BN_EPSILON)
    folded, in_channels = {}, 3
    for name, out, kernel in zip(LAYERS, scaled_channels(width_multiplier), _KERNELS):
        prefix = '%s/%s/' % (scope, name)
        expected = {'conv/weights': (kernel, kernel, in_channels, out), 'conv/biases': (out,)}
        expected.update({'BatchNorm/' + n: (out,) for n in ('gamma', 'beta', 'moving_mean', 'moving_variance')})
        arrays = {}
        for key, shape in expected.items():
            if prefix + key not in values:
                raise ValueError('cannot fold BN: no value for %s%s' % (prefix, key))
            arrays[key] = np.asarray(values[prefix + key], np.float64)
            if arrays[key].shape != shape:
                raise ValueError('cannot fold BN: %s%s has shape %s, expected %s'
                                 % (prefix, key, arrays[key].shape, shape))
        scale = arrays['BatchNorm/gamma'] / np.sqrt(arrays['BatchNorm/moving_variance'] + epsilon)
        folded[name] = ((arrays['conv/weights'] * scale).astype(np.float32),
                        ((arrays['conv/biases'] - arrays['BatchNorm/moving_mean']) * scale
                         + arrays['BatchNorm/beta']).astype(np.float32))
        in_channels = out
    return folded


CONV_ALGORITHMS = ('direct', 'winograd')


CONV_ALGORITHM_OPTIONS = ('auto',) + CONV_ALGORITHMS  # a config's values ('auto' resolved by resolve_conv_algorithm)


def check_conv_algorithm(conv_algorithm, allowed=CONV_ALGORITHMS, field='conv_algorithm'):
    """Raises ValueError naming `field` unless `conv_algorithm` is one of `allowed`."""
    if conv_algorithm not in allowed:
        raise ValueError('%s must be one of %s, got %r' % (field, allowed, conv_algorithm))


def resolve_conv_algorithm(option, on_gpu, field='conv_algorithm'):
    """A config's conv algorithm option -> 'direct' or 'winograd': 'auto' is 'direct' when `on_gpu()` (cuDNN picks
    its own algorithms) and 'winograd' on a CPU; 'direct' and 'winograd' stay. ValueError names `field` otherwise."""
    check_conv_algorithm(option, CONV_ALGORITHM_OPTIONS, field)
    if option != 'auto':
        return option
    return 'direct' if on_gpu() else 'winograd'


def _uses_winograd(stride, out_channels):
    """Whether conv_algorithm='winograd' computes a layer with Winograd (module docstring)."""
    return stride == 1 and out_channels >= winograd.MIN_OUTPUT_CHANNELS


def winograd_layers(width_multiplier):
    """The layers `conv_algorithm='winograd'` computes with Winograd at a width: the stride-1 ones (conv2-conv5) with
    at least winograd.MIN_OUTPUT_CHANNELS outputs, e.g. all four at width 1, none at 0.25."""
    return tuple(name for name, stride, out in zip(LAYERS, _STRIDES, scaled_channels(width_multiplier))
                 if _uses_winograd(stride, out))


def folded_conv_constants(folded, scope='siamrpn_alexnet', conv_algorithm='direct'):
    """{layer: (weights, biases)} arrays (fold_batch_norm_arrays) -> the same as constants of the default graph,
    named `<scope>/<layer>/folded/{weights, biases}`; made once per graph and shared by every embedding call.
    Constant filters let oneDNN keep them in its blocked layout instead of reordering them every run. With
    conv_algorithm='winograd' the weights of the layers `winograd_layers` names are WinogradFilters, transformed
    here in numpy (embeddings/winograd.py), and `siamrpn_alexnet` runs them as Winograd convolutions."""
    check_conv_algorithm(conv_algorithm)
    constants = {}
    with tf.name_scope(scope + '_folded/'):
        for name, (weights, biases) in folded.items():
            with tf.name_scope(name):
                if conv_algorithm == 'winograd' and _uses_winograd(_STRIDES[LAYERS.index(name)], weights.shape[3]):
                    filters = winograd.transform_filters(weights, winograd.OUTPUT_TILES[weights.shape[0]])
                    weights = filters._replace(transformed=tf.constant(filters.transformed, name='winograd_weights'))
                else:
                    weights = tf.constant(weights, name='weights')
                constants[name] = (weights, tf.constant(biases, name='biases'))
    return constants


def _folded_conv(inputs, weights, stride):
    """The conv of a folded layer: Winograd for WinogradFilters, else tf.nn.conv2d (VALID)."""
    if isinstance(weights, winograd.WinogradFilters):
        return winograd.conv2d(inputs, weights)
    return tf.nn.conv2d(inputs, weights, [1, stride, stride, 1], 'VALID')


@slim.add_arg_scope
def winograd_conv(inputs, num_outputs, kernel_size, weights_initializer=None, weights_regularizer=None,
                  biases_initializer=tf.zeros_initializer(), trainable=True, padding='VALID', activation_fn=None,
                  scope=None):
    """A VALID stride-1 conv + bias with slim.conv2d's variables (`<scope>/weights` HWIO, `<scope>/biases`, model
    variables, same initializers and regularizer), computed with Winograd from the weights transformed in the graph.
    Takes slim.conv2d's arg_scope arguments; padding must be 'VALID' and activation_fn None (the embedding's)."""
    if padding != 'VALID' or activation_fn is not None:
        raise ValueError("winograd_conv computes VALID convs without an activation, got padding %r, activation_fn %r"
                         % (padding, activation_fn))
    with tf.variable_scope(scope, 'Conv', [inputs]):
        cin = inputs.get_shape()[-1].value
        weights = slim.model_variable('weights', shape=[kernel_size, kernel_size, cin, num_outputs],
                                      initializer=weights_initializer, regularizer=weights_regularizer,
                                      trainable=trainable)
        biases = slim.model_variable('biases', shape=[num_outputs], initializer=biases_initializer,
                                     trainable=trainable)
        filters = winograd.transform_filters_tf(weights, winograd.OUTPUT_TILES[kernel_size])
        return tf.nn.bias_add(winograd.conv2d(inputs, filters), biases)


@slim.add_arg_scope
def siamrpn_alexnet(inputs, width_multiplier=1.0, frozen_layers=(), reuse=None, scope='siamrpn_alexnet',
                    folded_convs=None, conv_algorithm='direct'):
    """Embeds images with the SiamRPN AlexNet; call it inside `siamrpn_alexnet_arg_scope`.

    Args:
      inputs: [B, H, W, 3] float32 BGR images in [0, 255].
      width_multiplier: channel multiplier (1 for otb/vot, 2 for BIG).
      frozen_layers: names from LAYERS whose conv and BN are not trained and whose BN runs in inference mode.
      reuse: reuse the variables of an earlier call.
      folded_convs: inference only: {layer: (weights, biases)} of the convs with BN folded in (tensors, e.g. the
          constants of `folded_conv_constants`); then no variables are created (module docstring).
      conv_algorithm: 'direct' (tf.nn.conv2d) or 'winograd' (the stride-1 layers with at least 128 outputs,
          `winograd_layers`, as Winograd convolutions from the same variables: embeddings/winograd.py; same values up
          to float rounding). Folded layers follow their weights' type instead (folded_conv_constants').
    Returns:
      features [B, h, w, channels[-1]] (127 -> 6x6, 255 -> 22x22, 271 -> 24x24) and a dict of per-layer outputs.
    """
    check_conv_algorithm(conv_algorithm)
    unknown = set(frozen_layers) - set(LAYERS)
    if unknown:
        raise ValueError('unknown frozen layers %s: expected names from %s' % (sorted(unknown), LAYERS))
    channels = scaled_channels(width_multiplier)
    end_points = {}
    with tf.variable_scope(scope, 'siamrpn_alexnet', [inputs], reuse=reuse):
        net = inputs
        for name, out, kernel, stride, pool, relu in zip(LAYERS, channels, _KERNELS, _STRIDES, _POOL_AFTER,
                                                         _RELU_AFTER):
            if folded_convs is not None:
                with tf.variable_scope(name):
                    weights, biases = folded_convs[name]
                    net = tf.nn.bias_add(_folded_conv(net, weights, stride), biases)
                    net = tf.nn.relu(net) if relu else net
                    if pool:
                        net = slim.max_pool2d(net, [3, 3], stride=2, padding='VALID', scope='pool')
                end_points[name] = net
                continue
            with tf.variable_scope(name):
                frozen = {} if name not in frozen_layers else {'trainable': False, 'weights_regularizer': None}
                if conv_algorithm == 'winograd' and name in winograd_layers(width_multiplier):
                    net = winograd_conv(net, out, kernel, scope='conv', **frozen)
                else:
                    net = slim.conv2d(net, out, [kernel, kernel], stride=stride, scope='conv', **frozen)
                bn_frozen = {} if name not in frozen_layers else {'trainable': False, 'is_training': False}
                net = batch_norm(net, scope='BatchNorm', **bn_frozen)
                if pool:
                    net = slim.max_pool2d(net, [3, 3], stride=2, padding='VALID', scope='pool')
                if relu:
                    net = tf.nn.relu(net)
            end_points[name] = net
    return net, end_points
