"""Exports a checkpoint directory's tracker network as frozen graphs and a SavedModel, for use without Python.

  python scripts/export_inference_graph.py --checkpoint Logs/SiamRPN/pretrained/otb --output exports/otb
  python scripts/export_inference_graph.py --checkpoint RUN_DIR --checkpoint-path model.ckpt-50000 --output DIR \\
      --preset big --instance-sizes 255

Writes DIR (atomically: staged beside it and renamed in when complete; an existing export is replaced only with
--overwrite, and a non-empty directory that is not an export never):
  template.pb     frozen GraphDef of the template step: template/exemplar:0 [1,127,127,3] float32 BGR in [0,255]
                  -> template/fused_kernel:0 [1,6,6,Cin,6k], template/fused_bias:0 [1,6k] (the search branch of
                  the head as one 6x6 conv; with model_config rpn_config.fused_search_head false instead
                  template/cls_kernels:0 [1,4,4,C,2k], template/reg_kernels:0 [1,4,4,C,4k])
  track_<X>.pb    frozen GraphDef of the track step at search size X: track_<X>/instance:0 [1,X,X,3] and the
                  template outputs as track/<name>:0 -> track_<X>/scores:0 [N] (foreground
                  probability per anchor), track_<X>/boxes:0 [N,4] (decoded cx,cy,w,h, anchor frame),
                  track_<X>/anchors:0 [N,4]
  saved_model/    SavedModel, tag 'serve', signatures 'template' and 'track_<X>' (same tensors)
  manifest.json   tensor names, shapes and dtypes, anchors and score sizes, the tracker config and its
                  post-processing, file sizes and SHA-256
X is the track config's instance_size (271), plus adaptive_instance_size (287) when it is adaptive (the big preset),
plus any --instance-sizes. Run the exported tracker from Python without the model code:
  SiamRPNTracker.from_exported(DIR)   (inference/tracker.py; inference/exported.py is the loader)
"""

import argparse
import os
import sys

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

import tensorflow as tf  # noqa: E402

tf.compat.v1.logging.set_verbosity(tf.compat.v1.logging.ERROR)

import configuration  # noqa: E402
from inference.exported import SAVED_MODEL_DIR  # noqa: E402
from inference.graph_export import directory_bytes, export_inference_graph  # noqa: E402


def build_parser():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--checkpoint', required=True, help='checkpoint directory (TF checkpoint + config JSON)')
    parser.add_argument('--checkpoint-path', default=None, help='a checkpoint inside it, e.g. model.ckpt-2000 '
                                                                '(default: the latest)')
    parser.add_argument('--output', required=True, help='export directory to write')
    parser.add_argument('--preset', choices=sorted(configuration.TRACK_PRESETS), default=None,
                        help="tracker preset to export instead of the directory's track_config.json")
    parser.add_argument('--instance-sizes', type=int, nargs='+', default=(),
                        help='search sizes to export besides those the tracker config needs (271, and 287 when '
                             'adaptive); each must be 127 + a multiple of 8')
    parser.add_argument('--overwrite', action='store_true', help='replace an export already in --output')
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        manifest = export_inference_graph(args.checkpoint, args.output, args.checkpoint_path, args.instance_sizes,
                                          preset=args.preset, overwrite=args.overwrite)
    except (ValueError, IOError) as error:
        print('error: %s' % error, file=sys.stderr)
        return 1
    print('exported %s (search sizes %s) to %s:' % (manifest['checkpoint']['path'],
                                                    ', '.join(map(str, manifest['instance_sizes'])), args.output))
    for key, entry in sorted(manifest['graphs'].items()):
        print('  %-16s %12d bytes' % (entry['file'], entry['bytes']))
    print('  %-16s %12d bytes' % (SAVED_MODEL_DIR + '/', directory_bytes(os.path.join(args.output, SAVED_MODEL_DIR))))
    print('track with: SiamRPNTracker.from_exported(%r)' % args.output)
    return 0


if __name__ == '__main__':
    sys.exit(main())
