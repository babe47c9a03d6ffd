"""Recognises the AlexNet backbone in PyTorch state dicts of DaSiamRPN and pysot, and names it as DaSiamRPN does.

The five layouts hold the same network (conv 11/5/3/3/3 with biases, each followed by BN; 96-256-384-384-256 channels
at width 1) under different names:

  layout                     conv k, BN k (k = 1..5)               where
  DaSiamRPN model            featureExtract.{0,4,8,11,14}, {1,5,9,12,15}   SiamRPNOTB/VOT/BIG.model (code/net.py)
  pysot ImageNet AlexNet     features.<same indices>                pysot AlexNetLegacy's nn.Sequential, whose
                                                                     maxpool/relu modules sit at 2, 3, 6, 7, 10, 13
  pysot model backbone       backbone.features.<same indices>       a pysot model file (siamrpn_alex_dwxcorr:
                                                                     backbone type alexnetlegacy)
  pysot ImageNet AlexNet     layer<k>.0, layer<k>.1                 pysot AlexNet (layer1..layer5 Sequentials, conv
                                                                     then BN), as pretrained_models/alexnet-bn.pth is
                                                                     loaded by pysot's alexnet type
  pysot model backbone       backbone.layer<k>.0, backbone.layer<k>.1  a pysot model built with backbone type alexnet

Keys outside the layout's namespace (a pysot model's rpn_head.*, an ImageNet classifier) are ignored and counted;
`num_batches_tracked` is ignored. The result uses DaSiamRPN's names, so inference/dasiamrpn_weights.py converts it.
"""

import collections
import re

from inference.dasiamrpn_weights import BN_INDICES, CONV_INDICES, EMBEDDING_PREFIX, IGNORED_SUFFIXES

Layout = collections.namedtuple('Layout', ['description', 'prefix', 'style'])
Layout.__doc__ = """A backbone naming: `prefix` + 'N.' (style 'sequential', N the DaSiamRPN index) or
+ 'layer<k>.<0|1>.' (style 'layers')."""

LAYOUTS = (
    Layout('DaSiamRPN model (featureExtract.N.*)', EMBEDDING_PREFIX, 'sequential'),
    Layout('pysot ImageNet AlexNet (features.N.*)', 'features.', 'sequential'),
    Layout('pysot model backbone (backbone.features.N.*)', 'backbone.features.', 'sequential'),
    Layout('pysot ImageNet AlexNet (layerK.M.*)', '', 'layers'),
    Layout('pysot model backbone (backbone.layerK.M.*)', 'backbone.', 'layers'),
)
_PARAMETERS = ('weight', 'bias', 'running_mean', 'running_var')


def _module_names(layout):
    """OrderedDict DaSiamRPN module name ('featureExtract.4') -> the layout's name ('layer2.0')."""
    names = collections.OrderedDict()
    for k, (conv, bn) in enumerate(zip(CONV_INDICES, BN_INDICES)):
        for index, sub in ((conv, 0), (bn, 1)):
            ours = '%s%d' % (layout.prefix, index) if layout.style == 'sequential' else \
                '%slayer%d.%d' % (layout.prefix, k + 1, sub)
            names['%s%d' % (EMBEDDING_PREFIX, index)] = ours
    return names


def expected_keys(layout):
    """The layout's tensor names of the five convs and BNs (num_batches_tracked aside), in DaSiamRPN's order."""
    keys = []
    conv_modules = {'%s%d' % (EMBEDDING_PREFIX, i) for i in CONV_INDICES}
    for ours, theirs in _module_names(layout).items():
        for parameter in (_PARAMETERS[:2] if ours in conv_modules else _PARAMETERS):
            keys.append('%s.%s' % (theirs, parameter))
    return keys


def _in_namespace(key, layout):
    rest = key[len(layout.prefix):] if key.startswith(layout.prefix) else None
    if rest is None:
        return False
    return bool(re.match(r'\d+\.' if layout.style == 'sequential' else r'layer\d+\.', rest))


def detect_layout(state_dict, source='state dict'):
    """The Layout whose conv1 weight the state dict holds; ValueError listing what each layout expects otherwise."""
    for layout in LAYOUTS:
        if expected_keys(layout)[0] in state_dict:
            return layout
    sample = [k for k in state_dict if not k.endswith(IGNORED_SUFFIXES)][:8]
    raise ValueError('%s holds no AlexNet backbone this converter knows; expected one of these layouts (conv1 weight '
                     'key): %s; the file starts with %s'
                     % (source, '; '.join('%s: %s' % (l.description, expected_keys(l)[0]) for l in LAYOUTS),
                        ', '.join(sample) or 'no tensors'))


def backbone_state_dict(state_dict, source='state dict'):
    """Finds the backbone -> (Layout, OrderedDict of its tensors under DaSiamRPN's featureExtract.N names, number of
    keys outside the backbone that were ignored). Missing or unexpected backbone keys raise ValueError naming them
    in the file's own names; shapes are checked by dasiamrpn_weights.check_state_dict."""
    layout = detect_layout(state_dict, source)
    expected = expected_keys(layout)
    present = [k for k in state_dict if _in_namespace(k, layout) and not k.endswith(IGNORED_SUFFIXES)]
    missing = [k for k in expected if k not in state_dict]
    unexpected = [k for k in present if k not in set(expected)]
    if missing or unexpected:
        lines = ['%s looks like a %s but its backbone keys differ; expected exactly: %s'
                 % (source, layout.description, ', '.join(expected))]
        for title, items in (('missing', missing), ('unexpected', unexpected)):
            if items:
                lines.append('  %s (%d): %s%s' % (title, len(items), '; '.join(items[:12]),
                                                  ' ...' if len(items) > 12 else ''))
        raise ValueError('\n'.join(lines))
    renamed = collections.OrderedDict()
    for ours, theirs in _module_names(layout).items():
        for parameter in _PARAMETERS:
            if '%s.%s' % (theirs, parameter) in state_dict:
                renamed['%s.%s' % (ours, parameter)] = state_dict['%s.%s' % (theirs, parameter)]
    ignored = sum(1 for k in state_dict if not _in_namespace(k, layout))
    return layout, renamed, ignored
