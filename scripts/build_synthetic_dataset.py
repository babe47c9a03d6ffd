"""Builds the embedded synthetic dataset end to end: generate the train and test splits, curate the train split into
511 crops, write the train/validation imdbs, build and verify the LMDB. Finished steps are skipped, so re-running is
cheap and an interrupted build resumes.

  python scripts/build_synthetic_dataset.py [--root-dir data/synthetic] [--num-train-videos 64]
      [--num-test-videos 24] [--processes N] [--num-distractors 1 3] [--occlusion-rate 0.02] ...

Outputs under --root-dir: raw/train and raw/test (OTB layout; benchmarks/run_OTB.py evaluates raw/test),
curated/, train_imdb.json, validation_imdb.json and lmdb/. Training uses them when no real dataset is configured
(datasets.synthetic.use_synthetic_data).
"""

import argparse
import copy
import sys
import time

import configuration
from datasets.synthetic import add_generator_arguments, build_synthetic_dataset, generator_config_from_args


def main(argv=None):
    defaults = configuration.TRAIN_CONFIG['synthetic_data_config']
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    for key in ('root_dir', 'num_train_videos', 'num_test_videos', 'train_seed', 'test_seed', 'validation_ratio'):
        parser.add_argument('--' + key.replace('_', '-'), type=type(defaults[key]), default=defaults[key],
                            help='(default: %s)' % defaults[key])
    parser.add_argument('--processes', type=int, default=None, help='worker processes (default: all CPUs)')
    add_generator_arguments(parser, defaults['generator_config'])
    args = parser.parse_args(argv)
    synthetic = copy.deepcopy(defaults)
    for key in ('root_dir', 'num_train_videos', 'num_test_videos', 'train_seed', 'test_seed', 'validation_ratio'):
        synthetic[key] = getattr(args, key)
    synthetic['generator_config'] = generator_config_from_args(args, defaults['generator_config'])
    start = time.time()
    try:
        paths = build_synthetic_dataset(synthetic, configuration.TRAIN_CONFIG['curation_config'], args.processes)
    except (ValueError, RuntimeError) as error:
        print('error: %s' % error, file=sys.stderr)
        return 2
    print('synthetic dataset ready in %.1f s:' % (time.time() - start))
    for key in ('train_dir', 'test_dir', 'train_imdb', 'validation_imdb', 'lmdb_path'):
        print('  %-16s %s' % (key, paths[key]))
    return 0


if __name__ == '__main__':
    sys.exit(main())
