"""Generates one split of the embedded synthetic tracking dataset in OTB layout (deterministic from its seed).

  python scripts/generate_synthetic_dataset.py --split test [--num-videos 24] [--seed 2] [--output-dir DIR]
      [--processes N] [--num-distractors 1 3] [--occlusion-rate 0.02] [--motion-strength 0.02] ...

Writes <output-dir>/<split>_NNNN/{img/0001.jpg..., groundtruth_rect.txt} plus synthetic.json (seed and settings).
Resumable: finished videos are kept, a killed run leaves no half-written video (each video is written into a
hidden folder and renamed when complete). Re-running with other settings into the same folder is refused.
To build everything (both splits, curation, imdbs, LMDB) use scripts/build_synthetic_dataset.py.
"""

import argparse
import sys

import configuration
from datasets.synthetic import (add_generator_arguments, format_generation_summary, generate_split,
                                generator_config_from_args, synthetic_paths)


def main(argv=None):
    synthetic = configuration.TRAIN_CONFIG['synthetic_data_config']
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--split', choices=('train', 'test'), default='train', help='split name (default: train)')
    parser.add_argument('--output-dir', help='split folder (default: <root_dir>/raw/<split> of the config)')
    parser.add_argument('--num-videos', type=int, help='videos (default: num_<split>_videos of the config)')
    parser.add_argument('--seed', type=int, help='seed (default: <split>_seed of the config)')
    parser.add_argument('--processes', type=int, default=None, help='worker processes (default: all CPUs)')
    add_generator_arguments(parser, synthetic['generator_config'])
    args = parser.parse_args(argv)
    output_dir = args.output_dir or synthetic_paths(synthetic)[args.split + '_dir']
    num_videos = args.num_videos if args.num_videos is not None else synthetic['num_%s_videos' % args.split]
    seed = args.seed if args.seed is not None else synthetic['%s_seed' % args.split]
    generator = generator_config_from_args(args, synthetic['generator_config'])
    try:
        summary = generate_split(output_dir, args.split, num_videos, seed, generator, args.processes)
    except ValueError as error:
        print('error: %s' % error, file=sys.stderr)
        return 2
    print(format_generation_summary(summary))
    return 0


if __name__ == '__main__':
    sys.exit(main())
