"""SiamRPN's region proposal head with up-channel cross-correlation (DaSiamRPN's layout).

Template branch (on the 6x6 exemplar features):  conv_cls1 -> 2k*C channels, conv_r1 -> 4k*C channels (3x3).
Search branch (on the search features):           conv_cls2 -> C channels,     conv_r2 -> C channels    (3x3).
The template outputs are reshaped into per-pair correlation kernels, correlated with the search outputs, and the
regression map goes through `regress_adjust` (1x1, 4k -> 4k).

Channel layout of this port (the converter permutes DaSiamRPN's weights into it):
  * conv_cls1 / conv_r1 output channel j = c * O + o, so the [B, 4, 4, C*O] output reshapes for free into
    [B, 4, 4, C, O] conv kernels (HWIO), O = 2k or 4k.
  * cls_logits [B, S, S, 2k]: channel a * 2 + t, anchor a in ratio order, t = 0 background, t = 1 foreground.
  * reg_deltas [B, S, S, 4k]: channel a * 4 + j, j = 0..3 for (dx, dy, dw, dh) in `utils/box_coding.py`.
  * Flattened per-anchor order n = (y * S + x) * k + a, the order of `utils/anchors.generate_anchors(...)`.
"""

import tensorflow as tf

from embeddings.siamrpn_alexnet import weights_initializer

slim = tf.contrib.slim


def rpn_head_arg_scope(rpn_config, trainable=True):
    """slim arg_scope for the head convs: 3x3 VALID, linear, with initializer and weight decay from rpn_config."""
    regularizer = None
    if rpn_config['weight_decay'] and trainable:
        regularizer = slim.l2_regularizer(rpn_config['weight_decay'])
    with slim.arg_scope([slim.conv2d],
                        weights_initializer=weights_initializer(rpn_config['init_method']),
                        weights_regularizer=regularizer,
                        biases_initializer=tf.zeros_initializer(),
                        kernel_size=[3, 3],
                        padding='VALID',
                        activation_fn=None,
                        trainable=trainable) as scope:
        return scope


def num_anchors(rpn_config):
    """k: anchors per position (ratios x scales)."""
    return len(rpn_config['anchor_ratios']) * len(rpn_config['anchor_scales'])


def template_kernels(z_features, rpn_config, reuse=None, scope='rpn_head'):
    """Turns exemplar features into per-pair correlation kernels; call it inside `rpn_head_arg_scope`.

    Args:
      z_features: [B, 6, 6, Cin] exemplar embeddings.
      rpn_config: MODEL_CONFIG['rpn_config'] (C = feature_out, k from the anchors, init gain).
    Returns:
      cls_kernels [B, 4, 4, C, 2k] and reg_kernels [B, 4, 4, C, 4k].
    """
    k, c = num_anchors(rpn_config), rpn_config['feature_out']
    init = _correlation_initializer(rpn_config)
    with tf.variable_scope(scope, 'rpn_head', [z_features], reuse=reuse):
        cls = slim.conv2d(z_features, 2 * k * c, weights_initializer=init, scope='conv_cls1')
        reg = slim.conv2d(z_features, 4 * k * c, weights_initializer=init, scope='conv_r1')
        cls_kernels = _to_kernels(cls, c, 2 * k)
        reg_kernels = _to_kernels(reg, c, 4 * k)
    return cls_kernels, reg_kernels


def _to_kernels(template_map, feature_out, out_channels):
    """[B, h, w, C*O] -> [B, h, w, C, O] kernels (channel j = c * O + o)."""
    shape = tf.shape(template_map)
    static = template_map.get_shape().as_list()
    h = static[1] if static[1] is not None else shape[1]
    w = static[2] if static[2] is not None else shape[2]
    return tf.reshape(template_map, [-1, h, w, feature_out, out_channels])


def _correlation_initializer(rpn_config):
    """Initializer of the four convs that feed the correlation, scaled by rpn_config['corr_init_gain'].

    The correlation is bilinear in the template and search branches and sums 4 * 4 * C products, so with plain
    Kaiming init its outputs have a standard deviation of ~sqrt(64 C). Scaling *both* branches by the same gain g
    scales the outputs by g^2 while keeping each branch's gradient-to-weight ratio balanced (scaling one branch alone
    makes its relative updates explode).
    """
    return weights_initializer(rpn_config['init_method'], rpn_config['corr_init_gain'])


def search_features(x_features, rpn_config, reuse=None, scope='rpn_head'):
    """Adapts search embeddings for correlation: [B, h, w, Cin] -> (cls_features, reg_features), each [B, h-2, w-2, C]."""
    init = _correlation_initializer(rpn_config)
    with tf.variable_scope(scope, 'rpn_head', [x_features], reuse=reuse):
        cls = slim.conv2d(x_features, rpn_config['feature_out'], weights_initializer=init, scope='conv_cls2')
        reg = slim.conv2d(x_features, rpn_config['feature_out'], weights_initializer=init, scope='conv_r2')
    return cls, reg


def correlate(features, kernels):
    """Per-pair cross-correlation (no kernel flip), VALID.

    Measured on 2 CPU cores (benchmarks/bench_correlation.py): `tf.map_fn` over `tf.nn.conv2d` is the fastest for
    forward+backward at batch 1, 8 and 32; the depthwise trick is ~15x slower and extract_image_patches ~2x.

    Args:
      features: [B, H, W, C].
      kernels: [B, kh, kw, C, O].
    Returns:
      [B, H-kh+1, W-kw+1, O].
    """
    if features.get_shape()[0].value == 1 and kernels.get_shape()[0].value == 1:
        return tf.nn.conv2d(features, kernels[0], strides=[1, 1, 1, 1], padding='VALID')

    def one_pair(pair):
        x, k = pair
        return tf.nn.conv2d(x[None], k, strides=[1, 1, 1, 1], padding='VALID')[0]

    return tf.map_fn(one_pair, (features, kernels), dtype=features.dtype, parallel_iterations=32,
                     name='correlation')


def rpn_outputs(cls_features, reg_features, cls_kernels, reg_kernels, reuse=None, scope='rpn_head'):
    """Correlates search features with template kernels.

    Returns:
      cls_logits [B, S, S, 2k] and reg_deltas [B, S, S, 4k] (layouts in the module docstring).
    """
    with tf.variable_scope(scope, 'rpn_head', [cls_features, reg_features], reuse=reuse):
        cls_logits = correlate(cls_features, cls_kernels)
        reg_raw = correlate(reg_features, reg_kernels)
        out_channels = reg_kernels.get_shape()[-1].value
        reg_deltas = slim.conv2d(reg_raw, out_channels, kernel_size=[1, 1], scope='regress_adjust')
    return cls_logits, reg_deltas


def flatten_outputs(cls_logits, reg_deltas):
    """[B, S, S, 2k], [B, S, S, 4k] -> per-anchor logits [B, S*S*k, 2] and deltas [B, S*S*k, 4]."""
    batch = tf.shape(cls_logits)[0]
    logits = tf.reshape(cls_logits, [batch, -1, 2])
    deltas = tf.reshape(reg_deltas, [batch, -1, 4])
    return logits, deltas
