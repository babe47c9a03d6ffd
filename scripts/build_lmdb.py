r"""Builds (or resumes) the LMDB of curated crops for one or more imdbs, then verifies every key.

  python scripts/build_lmdb.py --imdb data/train_imdb.json data/validation_imdb.json \
      --curated-dir data/curated --lmdb-path data/lmdb [--initial-map-size-mb 64] [--verify-only]

Values are the crops' JPEG bytes, keys the imdb frame keys. Keys already present are skipped, so an interrupted
build resumes; the map size starts at --initial-map-size-mb and doubles whenever it fills. The verification pass
checks that every imdb key is present with complete JPEG bytes and writes build_info.json into the LMDB folder.
Exit status 1 when keys are missing or corrupt.
"""

import argparse
import sys

from datasets.imdb import imdb_keys, load_imdb
from datasets.lmdb_store import build_lmdb, verify_lmdb


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--imdb', nargs='+', required=True, help='imdb JSON files whose keys go into the LMDB')
    parser.add_argument('--curated-dir', help='curated root holding <key>.jpg crops (not needed with --verify-only)')
    parser.add_argument('--lmdb-path', required=True, help='LMDB folder (created if missing)')
    parser.add_argument('--initial-map-size-mb', type=int, default=64, help='starting map size; doubles when full')
    parser.add_argument('--verify-only', action='store_true', help='only run the verification pass')
    args = parser.parse_args(argv)
    keys = []
    for path in args.imdb:
        try:
            keys += imdb_keys(load_imdb(path))
        except (OSError, ValueError) as error:
            print('error: %s' % error, file=sys.stderr)
            return 2
    if args.verify_only:
        check = verify_lmdb(keys, args.lmdb_path)
    else:
        if not args.curated_dir:
            parser.error('--curated-dir is required to build')
        summary = build_lmdb(keys, args.curated_dir, args.lmdb_path, initial_map_size=args.initial_map_size_mb << 20)
        check = summary['verification']
        print('lmdb %s: %d keys, %d already present, %d written in %.1f s, map size %d MiB' % (
            args.lmdb_path, summary['keys'], summary['existing'], summary['written'], summary['seconds'],
            summary['map_size'] >> 20))
        for key, error in sorted(summary['bad'].items())[:20]:
            print('  unusable crop for %s: %s' % (key, error))
    print('verification: %d/%d keys present, %d missing, %d corrupt, %d entries in the LMDB' % (
        check['present'], check['expected'], check['num_missing'], check['num_corrupt'], check['entries']))
    for key in check['missing']:
        print('  missing %s' % key)
    for key, error in check['corrupt'].items():
        print('  corrupt %s: %s' % (key, error))
    return 0 if check['num_missing'] == 0 and check['num_corrupt'] == 0 else 1


if __name__ == '__main__':
    sys.exit(main())
