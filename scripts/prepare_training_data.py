r"""Prepares real training data: curates public datasets from their unpacked downloads into one train/validation
imdb pair and one LMDB (the combined build), with per-dataset sampling weights for the reader.

  python scripts/prepare_training_data.py --datasets det2014 vid2015 lasot got10k \
      --root det2014=/data/ILSVRC2015 --root vid2015=/data/ILSVRC2015 --root lasot=/data/LaSOT \
      --root got10k=/data/GOT-10k [--output-dir data/real] [--processes N] [--max-videos N]
      [--option got10k.min_cover=2] [--option youtube_bb.frames_dir=/data/ytbb-frames] [--weight lasot=0.5]

Datasets are the entries of configuration.DATA_CONFIG['sources'] (see --list): det2014 (ImageNet DET 2014),
vid2015 (ImageNet VID 2015), got10k, lasot and youtube_bb; without --datasets the configured default set is built
(the earlier TF port's DET2014 + VID2015 + LaSOT + GOT-10k). Each parser documents the layout it expects
(datasets/sources/*.py) and README.md "Preparing real training data" gives a command per dataset.

Everything is resumable: finished videos are skipped (a killed run leaves no half-written video), LMDB keys already
stored are skipped, so re-running the same command only does what is missing, and building one dataset at a time
into the same --output-dir and then all of them together repeats no work. Broken input (corrupt images, empty or
missing XML, unparsable rows) never stops the run: frames are skipped and counted per reason, and the files are
named in the summary (all of them in <output-dir>/summary.json). The run ends with a table per dataset, the disk
usage and the reader settings (also written to <output-dir>/data_config.json).
"""

import argparse
import copy
import json
import sys
import time

import configuration
from datasets.real_data import build_real_dataset, format_build_summary


def _pairs(values, what, parser):
    """['name=value', ...] -> [(name, value)]; parser.error for malformed items."""
    pairs = []
    for item in values or []:
        name, sep, value = item.partition('=')
        if not sep or not name:
            parser.error('%s takes NAME=VALUE, got %r' % (what, item))
        pairs.append((name, value))
    return pairs


def _value(text):
    """A command-line option value: JSON when it parses (numbers, lists, true/false/null), else the string."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def config_from_args(args, parser, base):
    """A copy of the real-data config `base` (configuration.DATA_CONFIG) with the command-line settings applied."""
    config = copy.deepcopy(base)
    if args.output_dir:
        config['output_dir'] = args.output_dir
    if args.validation_ratio is not None:
        config['validation_ratio'] = args.validation_ratio
    sources = config['sources']
    for what, items in (('--root', args.root), ('--weight', args.weight), ('--max-frame-dist', args.max_frame_dist)):
        for name, value in _pairs(items, what, parser):
            if name not in sources:
                parser.error('%s: unknown dataset %r (configured: %s)' % (what, name, ', '.join(sorted(sources))))
            key = {'--root': 'root', '--weight': 'weight', '--max-frame-dist': 'max_frame_dist'}[what]
            sources[name][key] = value if key == 'root' else _value(value)
    for name, value in _pairs(args.option, '--option', parser):
        dataset, _, key = name.partition('.')
        if dataset not in sources or not key:
            parser.error('--option takes DATASET.KEY=VALUE with a configured dataset (%s), got %r' % (
                ', '.join(sorted(sources)), name))
        sources[dataset]['options'][key] = _value(value)
    return config


def main(argv=None):
    base, curation = configuration.DATA_CONFIG, configuration.TRAIN_CONFIG['curation_config']
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--datasets', nargs='+', metavar='NAME',
                        help='datasets to build (default: %s)' % ' '.join(base['datasets']))
    parser.add_argument('--root', action='append', metavar='NAME=PATH', help='unpacked folder of a dataset')
    parser.add_argument('--option', action='append', metavar='NAME.KEY=VALUE',
                        help='parser option of a dataset (JSON values), e.g. vid2015.skip_occluded=true')
    parser.add_argument('--weight', action='append', metavar='NAME=W', help='sampling weight of a dataset')
    parser.add_argument('--max-frame-dist', action='append', metavar='NAME=FRAMES',
                        help='per-dataset max_frame_dist of the reader (null: the reader default)')
    parser.add_argument('--output-dir', help='output folder (default: %s)' % base['output_dir'])
    parser.add_argument('--validation-ratio', type=float, help='share of each dataset\'s videos held out for '
                        'validation (default: %s)' % base['validation_ratio'])
    parser.add_argument('--processes', type=int, default=None, help='worker processes (default: all CPUs)')
    parser.add_argument('--max-videos', type=int, default=None,
                        help='curate only the first N videos of each dataset (a quick partial build)')
    parser.add_argument('--list', action='store_true', help='print the configured datasets and exit')
    parser.add_argument('--no-progress', action='store_true', help='no progress bars (e.g. in log files)')
    for key, value in sorted(curation.items()):
        parser.add_argument('--' + key.replace('_', '-'), type=type(value), default=value,
                            help='curation_config.%s (default: %s)' % (key, value))
    args = parser.parse_args(argv)
    if args.max_videos is not None and args.max_videos < 1:
        parser.error('--max-videos must be at least 1')
    config = config_from_args(args, parser, base)
    if args.list:
        for name, entry in sorted(config['sources'].items()):
            print('%-11s layout %-12s root %-22s weight %-5s max_frame_dist %-5s options %s' % (
                name, entry['layout'], entry['root'], entry['weight'], entry['max_frame_dist'],
                json.dumps(entry['options'])))
        return 0
    curation_config = {key: getattr(args, key) for key in curation}
    start = time.time()
    try:
        paths = build_real_dataset(config, curation_config, names=args.datasets, processes=args.processes,
                                   max_videos=args.max_videos, progress=not args.no_progress)
    except ValueError as error:
        print('error: %s' % error, file=sys.stderr)
        return 2
    except RuntimeError as error:
        print('error: %s' % error, file=sys.stderr)
        return 1
    print(format_build_summary(paths))
    print('done in %.1f s; full summary (every named problem): %s' % (time.time() - start, paths['summary_json']))
    print('reader settings (%s):' % paths['data_config_json'])
    for key, settings in sorted(paths['data_config'].items()):
        print('  %s: %s' % (key, json.dumps(settings, sort_keys=True)))
    failed = sum(s['videos']['failed'] for s in paths['summary']['curation'])
    if failed:
        print('warning: %d videos failed (named above and in %s) and are not in the imdbs' % (
            failed, paths['summary_json']), file=sys.stderr)
    return 0


if __name__ == '__main__':
    sys.exit(main())
