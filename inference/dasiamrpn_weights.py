"""Maps DaSiamRPN's PyTorch state dict onto this port's TF variables.

DaSiamRPN's names (code/net.py): `featureExtract.{0,4,8,11,14}` are conv1..conv5 (weight, bias) and
`featureExtract.{1,5,9,12,15}` their BN (weight, bias, running_mean, running_var; num_batches_tracked of newer
files is ignored); `conv_cls1`, `conv_r1`, `conv_cls2`, `conv_r2`, `regress_adjust` the RPN head.

Layouts (C = feature_out, k anchors; DaSiamRPN orders anchors a-major):
  * conv weights OIHW -> HWIO; the embedding takes BGR input in both, so conv1 needs no channel flip;
  * conv_cls1 output channel o * C + c with o = t * k + a (t = 0 background, 1 foreground)
      -> this port's c * 2k + (a * 2 + t);
  * conv_r1 output channel o * C + c with o = j * k + a (j = dx, dy, dw, dh)
      -> this port's c * 4k + (a * 4 + j);
  * regress_adjust input and output channel j * k + a -> a * 4 + j.
"""

import collections

import numpy as np

from embeddings.siamrpn_alexnet import BASE_CHANNELS, LAYERS, scaled_channels
from embeddings.rpn_head import num_anchors

CONV_INDICES = (0, 4, 8, 11, 14)
BN_INDICES = (1, 5, 9, 12, 15)
HEAD_LAYERS = ('conv_cls1', 'conv_r1', 'conv_cls2', 'conv_r2', 'regress_adjust')
IGNORED_SUFFIXES = ('num_batches_tracked',)
EMBEDDING_PREFIX = 'featureExtract.'
_KERNELS = (11, 5, 3, 3, 3)


def expected_shapes(model_config, embedding_only=False):
    """OrderedDict of DaSiamRPN state-dict key -> shape for a model config (width, C, k); only the featureExtract.*
    keys with embedding_only."""
    embed, rpn = model_config['embed_config'], model_config['rpn_config']
    channels = scaled_channels(embed['width_multiplier'])
    c, k = rpn['feature_out'], num_anchors(rpn)
    shapes = collections.OrderedDict()
    inputs = 3
    for conv, bn, out, kernel in zip(CONV_INDICES, BN_INDICES, channels, _KERNELS):
        shapes['featureExtract.%d.weight' % conv] = (out, inputs, kernel, kernel)
        shapes['featureExtract.%d.bias' % conv] = (out,)
        for name in ('weight', 'bias', 'running_mean', 'running_var'):
            shapes['featureExtract.%d.%s' % (bn, name)] = (out,)
        inputs = out
    if embedding_only:
        return shapes
    for name, out, in_channels, kernel in (('conv_cls1', 2 * k * c, inputs, 3), ('conv_r1', 4 * k * c, inputs, 3),
                                           ('conv_cls2', c, inputs, 3), ('conv_r2', c, inputs, 3),
                                           ('regress_adjust', 4 * k, 4 * k, 1)):
        shapes[name + '.weight'] = (out, in_channels, kernel, kernel)
        shapes[name + '.bias'] = (out,)
    return shapes


def infer_architecture(state_dict):
    """Reads (width_multiplier, feature_out) off a DaSiamRPN state dict's tensors, or None where absent."""
    width = feature_out = None
    conv1 = state_dict.get('featureExtract.0.weight')
    if conv1 is not None and conv1.ndim == 4:
        width = conv1.shape[0] / float(BASE_CHANNELS[0])
    conv_r2 = state_dict.get('conv_r2.weight')
    if conv_r2 is not None and conv_r2.ndim == 4:
        feature_out = int(conv_r2.shape[0])
    return width, feature_out


def check_state_dict(state_dict, model_config, source='state dict', embedding_only=False):
    """Raises ValueError listing missing, unexpected and mis-shaped tensors (with a hint at the file's width/C). With
    embedding_only only the featureExtract.* tensors are checked (the head's, if any, are ignored)."""
    shapes = expected_shapes(model_config, embedding_only)
    present = {k: v for k, v in state_dict.items() if not k.endswith(IGNORED_SUFFIXES)
               and (not embedding_only or k.startswith(EMBEDDING_PREFIX))}
    missing = [k for k in shapes if k not in present]
    unexpected = [k for k in present if k not in shapes]
    misshaped = ['%s: file %s, expected %s' % (k, tuple(present[k].shape), shapes[k])
                 for k in shapes if k in present and tuple(present[k].shape) != shapes[k]]
    if not (missing or unexpected or misshaped):
        return
    if embedding_only:
        lines = ['%s does not match the SiamRPN-AlexNet embedding with width %g:'
                 % (source, model_config['embed_config']['width_multiplier'])]
    else:
        lines = ['%s does not match DaSiamRPN SiamRPN-AlexNet with width %g, C %d, %d anchors:'
                 % (source, model_config['embed_config']['width_multiplier'], model_config['rpn_config']['feature_out'],
                    num_anchors(model_config['rpn_config']))]
    for title, items in (('missing', missing), ('unexpected', unexpected), ('mis-shaped', misshaped)):
        if items:
            more = ' ...' if len(items) > 12 else ''
            lines.append('  %s (%d): %s%s' % (title, len(items), '; '.join(items[:12]), more))
    width, feature_out = infer_architecture(state_dict)
    if embedding_only and width is not None:
        lines.append('  the file looks like width %g (otb/vot: 1, big: 2)' % width)
    elif width is not None and feature_out is not None:
        lines.append('  the file looks like width %g, C %d (otb/vot: width 1, C 256; big: width 2, C 512)'
                     % (width, feature_out))
    raise ValueError('\n'.join(lines))


def template_channel_order(feature_out, k, values_per_anchor):
    """Index array: this port's conv_cls1/conv_r1 output channel -> DaSiamRPN's channel.

    Port channel c * O + (a * v + t), O = v * k; DaSiamRPN channel (t * k + a) * C + c.
    """
    c, a, t = np.meshgrid(np.arange(feature_out), np.arange(k), np.arange(values_per_anchor), indexing='ij')
    return ((t * k + a) * feature_out + c).reshape(-1)


def anchor_channel_order(k, values_per_anchor):
    """Index array: this port's channel a * v + t -> DaSiamRPN's t * k + a (score/delta map channels)."""
    a, t = np.meshgrid(np.arange(k), np.arange(values_per_anchor), indexing='ij')
    return (t * k + a).reshape(-1)


def _hwio(weight):
    return np.ascontiguousarray(np.transpose(weight, (2, 3, 1, 0)), dtype=np.float32)


def convert_state_dict(state_dict, model_config, embedding_only=False, source='state dict'):
    """DaSiamRPN state dict -> OrderedDict of TF variable name -> float32 value (validated first).

    With embedding_only, only the featureExtract.* tensors are checked and converted, into the siamrpn_alexnet/*
    variables.
    """
    check_state_dict(state_dict, model_config, source, embedding_only)
    sd = {k: np.asarray(v, dtype=np.float32) for k, v in state_dict.items()}
    values = collections.OrderedDict()
    for layer, conv, bn in zip(LAYERS, CONV_INDICES, BN_INDICES):
        prefix = 'siamrpn_alexnet/%s/' % layer
        values[prefix + 'conv/weights'] = _hwio(sd['featureExtract.%d.weight' % conv])
        values[prefix + 'conv/biases'] = sd['featureExtract.%d.bias' % conv]
        for tf_name, torch_name in (('gamma', 'weight'), ('beta', 'bias'), ('moving_mean', 'running_mean'),
                                    ('moving_variance', 'running_var')):
            values[prefix + 'BatchNorm/' + tf_name] = sd['featureExtract.%d.%s' % (bn, torch_name)]
    if embedding_only:
        return values
    rpn = model_config['rpn_config']
    c, k = rpn['feature_out'], num_anchors(rpn)
    for name, per_anchor in (('conv_cls1', 2), ('conv_r1', 4)):
        order = template_channel_order(c, k, per_anchor)
        values['rpn_head/%s/weights' % name] = _hwio(sd[name + '.weight'][order])
        values['rpn_head/%s/biases' % name] = sd[name + '.bias'][order]
    for name in ('conv_cls2', 'conv_r2'):
        values['rpn_head/%s/weights' % name] = _hwio(sd[name + '.weight'])
        values['rpn_head/%s/biases' % name] = sd[name + '.bias']
    order = anchor_channel_order(k, 4)
    values['rpn_head/regress_adjust/weights'] = _hwio(sd['regress_adjust.weight'][order][:, order])
    values['rpn_head/regress_adjust/biases'] = sd['regress_adjust.bias'][order]
    return values


def maps_to_dasiamrpn(cls_logits, reg_deltas):
    """This port's [B, S, S, 2k] / [B, S, S, 4k] maps -> DaSiamRPN's score [B, 2k, S, S] and delta [B, 4k, S, S]."""
    k = cls_logits.shape[-1] // 2
    score = np.empty_like(cls_logits)
    delta = np.empty_like(reg_deltas)
    score[..., anchor_channel_order(k, 2)] = cls_logits
    delta[..., anchor_channel_order(k, 4)] = reg_deltas
    return np.transpose(score, (0, 3, 1, 2)), np.transpose(delta, (0, 3, 1, 2))
