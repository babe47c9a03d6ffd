"""Converts DaSiamRPN's published PyTorch weights, or an AlexNet backbone of pysot, into a checkpoint directory of
this port (no PyTorch needed).

  python scripts/convert_pretrained_model.py SiamRPNOTB.model --arch otb --output Logs/SiamRPN/pretrained/otb
  python scripts/convert_pretrained_model.py SiamRPNBIG.model --arch big --output Logs/SiamRPN/pretrained/big
  python scripts/convert_pretrained_model.py SiamRPNVOT.model --arch vot --output DIR --embedding-only
  python scripts/convert_pretrained_model.py pretrained_models/alexnet-bn.pth --arch otb --embedding-only \\
      --output Logs/SiamRPN/pretrained/embedding  # pysot's ImageNet AlexNet, for SiamRPN-AlexNet-pretrained.py

With --embedding-only the source may be any layout of inference/pretrained_backbones.py: a DaSiamRPN model
(featureExtract.N.*), pysot's ImageNet AlexNet (features.N.* or layerK.M.*; num_batches_tracked is ignored) or the
backbone of a pysot model file (backbone.features.N.* or backbone.layerK.M.*; its head is ignored). The message names
the layout found. pysot's AlexNet has DaSiamRPN's layers, indices and BN epsilon, so the conversion is the same.

Reads the legacy (torch 0.3/0.4) and zip formats through a restricted unpickler: a file whose pickle names any
global outside a plain state dict's (e.g. os.system) is refused and nothing in it runs. Every tensor is mapped
(conv and BN, the RPN head with its channel permutations, regress_adjust); a state dict with missing, unexpected or
mis-shaped tensors is rejected with a message listing them.

Writes DIR/model.ckpt-0 plus model_config.json (the arch's width and C), track_config.json (the arch's tracker
preset) and train_config.json (the defaults), so the directory loads like a trained one:
  SiamRPNTracker.from_checkpoint(DIR)   or   python scripts/run_tracking.py --checkpoint DIR ...
With --embedding-only the checkpoint holds only the siamrpn_alexnet/* variables: pass DIR/model.ckpt-0 as
MODEL_CONFIG['embed_config']['embedding_checkpoint_file'] to initialise training from it.
"""

import argparse
import os
import sys

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

import tensorflow as tf  # noqa: E402

tf.compat.v1.logging.set_verbosity(tf.compat.v1.logging.ERROR)

import configuration  # noqa: E402
from inference.checkpoint_io import save_checkpoint_dir  # noqa: E402
from inference.dasiamrpn_weights import convert_state_dict  # noqa: E402
from inference.pretrained_backbones import LAYOUTS, backbone_state_dict, detect_layout, expected_keys  # noqa: E402
from utils.torch_state_dict import UnsafePickleError, load_state_dict  # noqa: E402


def build_parser():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('source', help="DaSiamRPN's .model file (SiamRPNOTB.model, SiamRPNVOT.model, "
                                       "SiamRPNBIG.model); with --embedding-only also pysot's alexnet-bn.pth or a "
                                       "pysot AlexNet model")
    parser.add_argument('--arch', required=True, choices=sorted(configuration.ARCH_PRESETS),
                        help='architecture and tracker preset: otb/vot (width 1, C 256) or big (width 2, C 512)')
    parser.add_argument('--output', required=True, help='checkpoint directory to write')
    parser.add_argument('--embedding-only', action='store_true',
                        help='write only the embedding (siamrpn_alexnet/*) for embedding_checkpoint_file; accepts '
                             'DaSiamRPN models and pysot AlexNet backbones')
    parser.add_argument('--width-multiplier', type=float, default=None,
                        help="override the arch's width multiplier (e.g. for reduced test models)")
    parser.add_argument('--feature-out', type=int, default=None, help="override the arch's RPN channels C")
    parser.add_argument('--overwrite', action='store_true', help='replace a checkpoint already in --output')
    return parser


def convert(source, arch, output, embedding_only=False, width_multiplier=None, feature_out=None, overwrite=False):
    """Converts `source` -> checkpoint directory `output`; returns (the checkpoint prefix written, the description of
    the layout found, the number of tensors outside the backbone that were ignored)."""
    model_config = configuration.model_config_for(arch)
    if width_multiplier is not None:
        model_config['embed_config']['width_multiplier'] = width_multiplier
    if feature_out is not None:
        model_config['rpn_config']['feature_out'] = feature_out
    track_config = configuration.track_config_for(arch)
    state_dict = load_state_dict(source)
    layout, ignored = LAYOUTS[0], 0  # a whole model must be DaSiamRPN's (convert_state_dict lists what is missing)
    if embedding_only:
        layout, state_dict, ignored = backbone_state_dict(state_dict, source)
    elif any(expected_keys(other)[0] in state_dict for other in LAYOUTS[1:]):
        layout = detect_layout(state_dict, source)
        raise ValueError('%s is a %s: it holds no DaSiamRPN RPN head to convert; convert its embedding with '
                         '--embedding-only' % (source, layout.description))
    name = source if layout is LAYOUTS[0] else '%s (%s, shown with DaSiamRPN names)' % (source, layout.description)
    values = convert_state_dict(state_dict, model_config, embedding_only=embedding_only, source=name)
    scopes = ('siamrpn_alexnet',) if embedding_only else None
    path = save_checkpoint_dir(output, values, model_config, configuration.TRAIN_CONFIG, track_config,
                               overwrite=overwrite, scopes=scopes)
    return path, layout.description, ignored


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        path, layout, ignored = convert(args.source, args.arch, args.output, args.embedding_only,
                                        args.width_multiplier, args.feature_out, args.overwrite)
    except (UnsafePickleError, ValueError, IOError) as error:
        print('error: %s' % error, file=sys.stderr)
        return 1
    if args.embedding_only:
        print('found a %s in %s%s; wrote its embedding to %s; train from it with embedding_checkpoint_file=%s'
              % (layout, args.source, ' (%d tensors outside the backbone ignored)' % ignored if ignored else '',
                 path, path))
    else:
        print('wrote %s (arch %s) to %s; track with: python scripts/run_tracking.py --checkpoint %s ...'
              % (args.source, args.arch, path, args.output))
    return 0


if __name__ == '__main__':
    sys.exit(main())
