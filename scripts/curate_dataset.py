r"""Curates tracking datasets into SiamFC-style 511x511 crops and writes the JSON imdb(s).

  python scripts/curate_dataset.py --source otb /data/OTB100 --output-dir data/curated \
      --imdb data/train_imdb.json [--validation-imdb data/validation_imdb.json --validation-ratio 0.05]
      [--source otb /data/UAV123-otb uav123] [--processes N] [--max-videos N] [--frame-ranges ranges.json]

Each --source takes a layout (see datasets/sources: %s), the dataset folder and optionally the source name
recorded in the imdb (default: the layout). Several sources go into one imdb, where training balances them with
train_data_config.source_weights.

Per kept frame, the crop is centred on the target with context (s_z = sqrt((w+p)(h+p)), p = (w+h)/2; the patch
covers s_z * 511/127 source pixels), padded with the frame's mean colour; the imdb records the box in patch pixels.
Frames with NaN or non-positive boxes, source-flagged frames (occluded, out of view, ...) and unreadable images are
skipped and counted; the summary names unreadable images and failed videos. Resumable: finished videos are
skipped, a killed run leaves no half-written video. Then build the LMDB with scripts/build_lmdb.py.
"""

import argparse
import copy
import sys

import configuration
from datasets.curation import curate_source, format_summary, tracks_of
from datasets.imdb import dumps_summary, make_imdb, save_imdb, split_imdb
from datasets.sources import SOURCES, make_source
from utils.io_utils import read_json


def main(argv=None):
    curation = configuration.TRAIN_CONFIG['curation_config']
    parser = argparse.ArgumentParser(description=__doc__ % ', '.join(sorted(SOURCES)),
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--source', nargs='+', action='append', required=True, metavar='LAYOUT ROOT [NAME]',
                        help='dataset layout, folder and optional source name; repeat for several datasets')
    parser.add_argument('--output-dir', required=True, help='curated root (crops and per-video records)')
    parser.add_argument('--imdb', required=True, help='output imdb JSON (the training split when splitting)')
    parser.add_argument('--validation-imdb', help='output validation imdb JSON (split by video)')
    parser.add_argument('--validation-ratio', type=float, default=0.05, help='share of videos for validation')
    parser.add_argument('--seed', type=int, default=0, help='seed of the train/validation split')
    parser.add_argument('--frame-ranges', help='JSON {sequence: [first, last]} for OTB sub-range sequences')
    parser.add_argument('--processes', type=int, default=None, help='worker processes (default: all CPUs)')
    parser.add_argument('--max-videos', type=int, default=None, help='curate only the first N videos per source')
    for key, value in sorted(curation.items()):
        parser.add_argument('--' + key.replace('_', '-'), type=type(value), default=value,
                            help='curation_config.%s (default: %s)' % (key, value))
    args = parser.parse_args(argv)
    config = copy.deepcopy(curation)
    for key in curation:
        config[key] = getattr(args, key)

    sources = []
    for values in args.source:
        if len(values) not in (2, 3):
            parser.error('--source takes LAYOUT ROOT [NAME], got %s' % values)
        layout, root = values[:2]
        kwargs = {'name': values[2] if len(values) == 3 else layout}
        if args.frame_ranges:
            if layout != 'otb':
                parser.error('--frame-ranges applies to the otb layout only')
            kwargs['frame_ranges'] = read_json(args.frame_ranges)
        try:
            sources.append(make_source(layout, root, **kwargs))
        except ValueError as error:
            parser.error(str(error))
    names = [source.name for source in sources]
    if len(set(names)) != len(names):
        parser.error('source names must be unique, got %s; give each --source a NAME' % names)

    summaries = []
    for source in sources:
        summary = curate_source(source, args.output_dir, config, args.processes, args.max_videos)
        print(format_summary(summary))
        summaries.append(summary)
    tracks = tracks_of(summaries)
    if not tracks:
        print('error: no track was curated; no imdb written', file=sys.stderr)
        return 1
    imdb = make_imdb(tracks, {s.name: s.describe() for s in sources}, config)
    if args.validation_imdb:
        train, validation = split_imdb(imdb, args.validation_ratio, args.seed)
        save_imdb(args.imdb, train)
        if validation['tracks']:
            save_imdb(args.validation_imdb, validation)
            print('validation imdb %s: %s' % (args.validation_imdb, dumps_summary(validation)))
        else:
            print('no video left for validation (ratio %g); %s not written' % (
                args.validation_ratio, args.validation_imdb))
        imdb = train
    else:
        save_imdb(args.imdb, imdb)
    print('imdb %s: %s' % (args.imdb, dumps_summary(imdb)))
    failed = sum(s['videos']['failed'] for s in summaries)
    if failed:
        print('warning: %d videos failed (named above) and are not in the imdb' % failed, file=sys.stderr)
    return 0


if __name__ == '__main__':
    sys.exit(main())
