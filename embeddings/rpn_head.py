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

Two implementation options with the same variables and the same values (rpn_config keys; DEVELOPERS.md,
"Performance", has the measurements):
  * `template_conv` 'matmul' (default) computes conv_cls1/conv_r1, 3x3 convs on the 6x6 exemplar features with
    thousands of output channels, as image patches times the weight matrix (`conv2d_as_matmul`), in training and
    inference; TF's CPU Conv2D and above all its backprop kernels are several times slower for this shape.
    'conv2d' uses slim.conv2d.
  * `fused_search_head` (inference graphs only, default on): conv_cls2/conv_r2, the correlation and regress_adjust
    are linear, so per video they compose into one 6x6 conv of the search embedding with 6k output channels whose
    bias is folded in (`fuse_search_head`, computed once in the template step; `fused_outputs` per frame). Exact up
    to float rounding; it removes ~1 GFLOP per frame at 271.
"""

import collections

import tensorflow as tf

from embeddings.siamrpn_alexnet import weights_initializer

slim = tf.contrib.slim


TEMPLATE_CONVS = ('matmul', 'conv2d')


def _regularizer(rpn_config, trainable):
    """The head's L2 weight regularizer, or None (no decay, or frozen)."""
    if rpn_config['weight_decay'] and trainable:
        return slim.l2_regularizer(rpn_config['weight_decay'])
    return None


def rpn_head_arg_scope(rpn_config, trainable=True):
    """slim arg_scope for the head convs: 3x3 VALID, linear, with initializer and weight decay from rpn_config."""
    regularizer = _regularizer(rpn_config, trainable)
    with slim.arg_scope([slim.conv2d, conv2d_as_matmul],
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


def _conv_variables(kernel_shape, weights_initializer, weights_regularizer, biases_initializer, trainable):
    """slim.conv2d's model variables in the current scope: 'weights' [kh, kw, Cin, O] and 'biases' [O] (or None)."""
    weights = slim.model_variable('weights', shape=kernel_shape, initializer=weights_initializer,
                                  regularizer=weights_regularizer, trainable=trainable)
    biases = None
    if biases_initializer is not None:
        biases = slim.model_variable('biases', shape=kernel_shape[-1:], initializer=biases_initializer,
                                     trainable=trainable)
    return weights, biases


def image_patches(inputs, kernel_height, kernel_width):
    """VALID stride-1 patches: [B, H, W, C] -> [B, H-kh+1, W-kw+1, kh*kw*C], channel (i * kw + j) * C + c holding
    inputs[:, y + i, x + j, c] (the row order of an HWIO kernel reshaped to [kh*kw*C, O]). Built from slices and
    one concat, whose gradients are cheap."""
    static = inputs.get_shape().as_list()
    dynamic = tf.shape(inputs)
    height = static[1] if static[1] is not None else dynamic[1]
    width = static[2] if static[2] is not None else dynamic[2]
    out_height, out_width = height - kernel_height + 1, width - kernel_width + 1
    slices = [inputs[:, i:i + out_height, j:j + out_width, :]
              for i in range(kernel_height) for j in range(kernel_width)]
    return slices[0] if len(slices) == 1 else tf.concat(slices, axis=3)


@slim.add_arg_scope
def conv2d_as_matmul(inputs, num_outputs, kernel_size, padding='VALID', activation_fn=None,
                     weights_initializer=None, weights_regularizer=None, biases_initializer=tf.zeros_initializer(),
                     trainable=True, reuse=None, scope=None):
    """slim.conv2d (VALID, stride 1, same variables `<scope>/weights` [kh, kw, Cin, O] and `<scope>/biases` [O]),
    computed as image_patches [B*h*w, kh*kw*Cin] times the weights reshaped to [kh*kw*Cin, O].

    The same sums as the convolution in another order (equal to float rounding). On CPU it is much faster than
    Conv2D for small maps with many output channels (the template branch: 6x6 -> 4x4 with 2k*C and 4k*C outputs),
    above all in the backward pass (measured in benchmarks/bench_train.py's column 'conv2d template convs').

    Args:
      inputs: [B, H, W, Cin] with known Cin.
      num_outputs: O.
      kernel_size: [kh, kw].
      activation_fn: applied to the output, or None (linear).
    Returns:
      [B, H-kh+1, W-kw+1, O].
    """
    if padding != 'VALID':
        raise ValueError("conv2d_as_matmul supports padding 'VALID' only, got %r" % (padding,))
    kernel_height, kernel_width = kernel_size
    channels = inputs.get_shape()[-1].value
    if channels is None:
        raise ValueError('conv2d_as_matmul needs inputs with known channels, got shape %s' % inputs.get_shape())
    with tf.variable_scope(scope, 'Conv', [inputs], reuse=reuse):
        weights, biases = _conv_variables([kernel_height, kernel_width, channels, num_outputs], weights_initializer,
                                          weights_regularizer, biases_initializer, trainable)
        patches = image_patches(inputs, kernel_height, kernel_width)
        depth = kernel_height * kernel_width * channels
        outputs = tf.matmul(tf.reshape(patches, [-1, depth]), tf.reshape(weights, [depth, num_outputs]))
        if biases is not None:
            outputs = tf.nn.bias_add(outputs, biases)
        shape = tf.shape(patches)
        outputs = tf.reshape(outputs, tf.stack([shape[0], shape[1], shape[2], num_outputs]))
        outputs.set_shape(patches.get_shape()[:3].concatenate([num_outputs]))
        if activation_fn is not None:
            outputs = activation_fn(outputs)
    return outputs


def template_kernels(z_features, rpn_config, reuse=None, scope='rpn_head'):
    """Turns exemplar features into per-pair correlation kernels; call it inside `rpn_head_arg_scope`.

    Args:
      z_features: [B, 6, 6, Cin] exemplar embeddings.
      rpn_config: MODEL_CONFIG['rpn_config'] (C = feature_out, k from the anchors, init gain, template_conv).
    Returns:
      cls_kernels [B, 4, 4, C, 2k] and reg_kernels [B, 4, 4, C, 4k].
    """
    k, c = num_anchors(rpn_config), rpn_config['feature_out']
    init = _correlation_initializer(rpn_config)
    method = rpn_config['template_conv']
    if method not in TEMPLATE_CONVS:
        raise ValueError("rpn_config['template_conv'] must be one of %s, got %r" % (TEMPLATE_CONVS, method))
    conv = conv2d_as_matmul if method == 'matmul' else slim.conv2d
    with tf.variable_scope(scope, 'rpn_head', [z_features], reuse=reuse):
        cls = conv(z_features, 2 * k * c, weights_initializer=init, scope='conv_cls1')
        reg = conv(z_features, 4 * k * c, weights_initializer=init, scope='conv_r1')
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


FusedHead = collections.namedtuple('FusedHead', ['kernel', 'bias'])
FusedHead.__doc__ = """A video's fused search head: kernel [B, 6, 6, Cin, 6k], bias [B, 6k] (cls 2k then reg 4k)."""


def _compose_with_kernels(conv_weights, conv_biases, kernels):
    """The conv `conv_weights` [3, 3, Cin, C] + `conv_biases` [C] followed by the correlation with per-pair
    `kernels` [B, 4, 4, C, O], as one conv: -> (kernel [B, 6, 6, Cin, O], bias [B, O]).

    kernel[b, u, v, i, o] = sum_{p, q, c} W[p, q, i, c] K[b, u - p, v - q, c, o] (a full convolution of K with W,
    computed as a conv2d of the zero-padded K with the flipped W), bias[b, o] = sum_{y, x, c} b[c] K[b, y, x, c, o].
    """
    kh, kw = conv_weights.get_shape().as_list()[:2]
    shape = tf.shape(kernels)
    static = kernels.get_shape().as_list()
    height, width, channels, outputs = static[1], static[2], static[3], static[4]
    images = tf.reshape(tf.transpose(kernels, [0, 4, 1, 2, 3]), [-1, height, width, channels])
    images = tf.pad(images, [[0, 0], [kh - 1, kh - 1], [kw - 1, kw - 1], [0, 0]])
    flipped = tf.transpose(tf.reverse(conv_weights, axis=[0, 1]), [0, 1, 3, 2])  # [kh, kw, C, Cin]
    composed = tf.nn.conv2d(images, flipped, strides=[1, 1, 1, 1], padding='VALID')
    in_channels = conv_weights.get_shape()[2].value
    composed = tf.reshape(composed, tf.stack([shape[0], outputs, height + kh - 1, width + kw - 1, in_channels]))
    kernel = tf.transpose(composed, [0, 2, 3, 4, 1])
    bias = tf.einsum('bhwco,c->bo', kernels, conv_biases)
    return kernel, bias


def fuse_search_head(cls_kernels, reg_kernels, x_channels, rpn_config, reuse=None, scope='rpn_head'):
    """Composes the search branch of the head for given template kernels into one conv (`fused_outputs`).

    conv_cls2 followed by the correlation with cls_kernels, and conv_r2 followed by the correlation with reg_kernels
    and regress_adjust, are linear maps of the search embedding; each is one 6x6 conv with a bias. Uses (or creates,
    with slim.conv2d's names, shapes and initialisers) the variables of conv_cls2, conv_r2 and regress_adjust.

    Args:
      cls_kernels: [B, 4, 4, C, 2k]; reg_kernels: [B, 4, 4, C, 4k] (template_kernels).
      x_channels: Cin, the embedding's channels.
    Returns:
      FusedHead(kernel [B, 6, 6, Cin, 6k], bias [B, 6k]): output channels 0..2k-1 are the cls logits, 2k..6k-1 the
      regression deltas, in the layouts of the module docstring.
    """
    c, k = rpn_config['feature_out'], num_anchors(rpn_config)
    regularizer = _regularizer(rpn_config, True)
    correlation_init = _correlation_initializer(rpn_config)
    with tf.variable_scope(scope, 'rpn_head', [cls_kernels, reg_kernels], reuse=reuse):
        with tf.variable_scope('conv_cls2'):
            cls_weights, cls_biases = _conv_variables([3, 3, x_channels, c], correlation_init, regularizer,
                                                      tf.zeros_initializer(), True)
        with tf.variable_scope('conv_r2'):
            reg_weights, reg_biases = _conv_variables([3, 3, x_channels, c], correlation_init, regularizer,
                                                      tf.zeros_initializer(), True)
        with tf.variable_scope('regress_adjust'):
            adjust_weights, adjust_biases = _conv_variables(
                [1, 1, 4 * k, 4 * k], weights_initializer(rpn_config['init_method']), regularizer,
                tf.zeros_initializer(), True)
        with tf.name_scope('fuse_search_head'):
            cls_kernel, cls_bias = _compose_with_kernels(cls_weights, cls_biases, cls_kernels)
            reg_kernel, reg_bias = _compose_with_kernels(reg_weights, reg_biases, reg_kernels)
            adjust = adjust_weights[0, 0]  # [4k, 4k]
            reg_kernel = tf.einsum('bhwio,op->bhwip', reg_kernel, adjust)
            reg_bias = tf.matmul(reg_bias, adjust) + adjust_biases
            kernel = tf.concat([cls_kernel, reg_kernel], axis=4, name='kernel')
            bias = tf.concat([cls_bias, reg_bias], axis=1, name='bias')
    return FusedHead(kernel, bias)


def fused_outputs(x_features, kernel, bias, rpn_config):
    """The search branch with a fused head: [B, h, w, Cin] embeddings -> cls_logits [B, S, S, 2k] and reg_deltas
    [B, S, S, 4k] (S = h - 5), equal to rpn_outputs(search_features(...)) up to float rounding."""
    k = num_anchors(rpn_config)
    with tf.name_scope('fused_search_head'):
        maps = correlate(x_features, kernel) + bias[:, None, None, :]
        return maps[..., :2 * k], maps[..., 2 * k:]


def search_head_flops(feature_side, x_channels, rpn_config, fused):
    """Floating-point operations (2 per multiply-add) of the head's search branch for one search embedding of side
    h with Cin channels: separate = conv_cls2 + conv_r2 (3x3, Cin -> C) + the correlations (4x4, C -> 2k and 4k) +
    regress_adjust (1x1, 4k -> 4k); fused = one 6x6 conv Cin -> 6k."""
    k, c = num_anchors(rpn_config), rpn_config['feature_out']
    score = feature_side - 5
    if fused:
        return 2 * score * score * 6 * 6 * x_channels * 6 * k
    side = feature_side - 2
    return (2 * 2 * side * side * 3 * 3 * x_channels * c + 2 * score * score * 4 * 4 * c * 6 * k
            + 2 * score * score * 4 * k * 4 * k)


def flatten_outputs(cls_logits, reg_deltas):
    """[B, S, S, 2k], [B, S, S, 4k] -> per-anchor logits [B, S*S*k, 2] and deltas [B, S*S*k, 4]."""
    batch = tf.shape(cls_logits)[0]
    logits = tf.reshape(cls_logits, [batch, -1, 2])
    deltas = tf.reshape(reg_deltas, [batch, -1, 4])
    return logits, deltas
