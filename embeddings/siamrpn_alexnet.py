"""The SiamRPN AlexNet embedding in DaSiamRPN's layout (NHWC, VALID padding).

  conv1 11x11/2 (96)  -> BN -> maxpool 3x3/2 -> ReLU
  conv2 5x5     (256) -> BN -> maxpool 3x3/2 -> ReLU
  conv3 3x3     (384) -> BN -> ReLU
  conv4 3x3     (384) -> BN -> ReLU
  conv5 3x3     (256) -> BN

Channel counts are multiplied by `width_multiplier` (2 gives DaSiamRPN's BIG model). Every conv keeps its bias,
as in DaSiamRPN, so the parameter count matches the PyTorch model exactly.
"""

import tensorflow as tf

slim = tf.contrib.slim

LAYERS = ('conv1', 'conv2', 'conv3', 'conv4', 'conv5')
BASE_CHANNELS = (96, 256, 384, 384, 256)
_KERNELS = (11, 5, 3, 3, 3)
_STRIDES = (2, 1, 1, 1, 1)
_POOL_AFTER = (True, True, False, False, False)
_RELU_AFTER = (True, True, True, True, False)


def scaled_channels(width_multiplier):
    """Returns the five conv output channel counts for a width multiplier, e.g. 1.0 -> (96, 256, 384, 384, 256)."""
    if width_multiplier <= 0:
        raise ValueError('width_multiplier must be > 0, got %r' % (width_multiplier,))
    return tuple(max(1, int(round(c * width_multiplier))) for c in BASE_CHANNELS)


def weights_initializer(init_method, gain=1.0):
    """Returns a conv weight initializer by name: 'kaiming_normal' or 'xavier', its variance scaled by gain**2."""
    if init_method == 'kaiming_normal':
        return tf.variance_scaling_initializer(scale=2.0 * gain ** 2, mode='fan_in', distribution='truncated_normal')
    if init_method == 'xavier':
        return tf.variance_scaling_initializer(scale=1.0 * gain ** 2, mode='fan_avg', distribution='uniform')
    raise ValueError("unknown init_method %r: expected 'kaiming_normal' or 'xavier'" % (init_method,))


def siamrpn_alexnet_arg_scope(embed_config, trainable=True, is_training=False):
    """slim arg_scope for the embedding.

    Args:
      embed_config: MODEL_CONFIG['embed_config'].
      trainable: whether variables are added to TRAINABLE_VARIABLES.
      is_training: Python bool or bool tensor; True uses batch statistics and adds BN update ops to UPDATE_OPS.
    """
    regularizer = None
    if embed_config['weight_decay'] and trainable:
        regularizer = slim.l2_regularizer(embed_config['weight_decay'])
    with slim.arg_scope([slim.conv2d],
                        weights_initializer=weights_initializer(embed_config['init_method']),
                        weights_regularizer=regularizer,
                        biases_initializer=tf.zeros_initializer(),
                        padding='VALID',
                        activation_fn=None,
                        trainable=trainable):
        with slim.arg_scope([slim.batch_norm],
                            decay=embed_config['bn_momentum'],
                            epsilon=embed_config['bn_epsilon'],
                            center=True,
                            scale=True,
                            is_training=is_training,
                            trainable=trainable) as scope:
            return scope


def siamrpn_alexnet(inputs, width_multiplier=1.0, frozen_layers=(), reuse=None, scope='siamrpn_alexnet'):
    """Embeds images with the SiamRPN AlexNet; call it inside `siamrpn_alexnet_arg_scope`.

    Args:
      inputs: [B, H, W, 3] float32 BGR images in [0, 255].
      width_multiplier: channel multiplier (1 for otb/vot, 2 for BIG).
      frozen_layers: names from LAYERS whose conv and BN are not trained and whose BN runs in inference mode.
      reuse: reuse the variables of an earlier call.
    Returns:
      features [B, h, w, channels[-1]] (127 -> 6x6, 255 -> 22x22, 271 -> 24x24) and a dict of per-layer outputs.
    """
    unknown = set(frozen_layers) - set(LAYERS)
    if unknown:
        raise ValueError('unknown frozen layers %s: expected names from %s' % (sorted(unknown), LAYERS))
    channels = scaled_channels(width_multiplier)
    end_points = {}
    with tf.variable_scope(scope, 'siamrpn_alexnet', [inputs], reuse=reuse):
        net = inputs
        for name, out, kernel, stride, pool, relu in zip(LAYERS, channels, _KERNELS, _STRIDES, _POOL_AFTER,
                                                         _RELU_AFTER):
            with tf.variable_scope(name):
                frozen = {} if name not in frozen_layers else {'trainable': False, 'weights_regularizer': None}
                net = slim.conv2d(net, out, [kernel, kernel], stride=stride, scope='conv', **frozen)
                bn_frozen = {} if name not in frozen_layers else {'trainable': False, 'is_training': False}
                net = slim.batch_norm(net, scope='BatchNorm', **bn_frozen)
                if pool:
                    net = slim.max_pool2d(net, [3, 3], stride=2, padding='VALID', scope='pool')
                if relu:
                    net = tf.nn.relu(net)
            end_points[name] = net
    return net, end_points
