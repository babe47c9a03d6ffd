"""The combined build of real training data: several public datasets -> one train/validation imdb pair + one LMDB.

`configuration.DATA_CONFIG` names each dataset once (layout, unpacked folder, parser options, sampling
weight); `build_real_dataset` curates the selected ones into `<output_dir>/curated` (resumable: finished videos are
skipped), splits every source by video into train and validation (so each source is represented in both), writes
the imdbs, adds the crops to `<output_dir>/lmdb` (keys already there are skipped) and verifies it, and writes
`summary.json` (counts, skips per reason, every named problem, disk usage) and `data_config.json` (the
train/validation reader keys to use). `use_real_data` points a TRAIN_CONFIG at the result.

Layout of `output_dir`:
  curated/<source>/<video>/...   511 crops and per-video records (can be deleted once the LMDB is verified, but a
                                 later build then curates again)
  train_imdb.json, validation_imdb.json, lmdb/, summary.json, data_config.json
"""

import copy
import os
import time

from datasets.curation import curate_source, format_summary, tracks_of
from datasets.imdb import imdb_keys, make_imdb, save_imdb, split_imdb
from datasets.lmdb_store import DATA_FILE, build_lmdb
from datasets.sources import SOURCES, make_source
from utils.disk_usage import disk_usage, format_bytes
from utils.io_utils import write_json

SOURCE_KEYS = ('layout', 'root', 'options', 'weight', 'max_frame_dist')


def real_data_paths(real_data_config):
    """Output paths of a real_data_config: output_dir, curated_dir, train_imdb, validation_imdb, lmdb_path,
    summary_json, data_config_json."""
    root = real_data_config['output_dir']
    return {'output_dir': root,
            'curated_dir': os.path.join(root, 'curated'),
            'train_imdb': os.path.join(root, 'train_imdb.json'),
            'validation_imdb': os.path.join(root, 'validation_imdb.json'),
            'lmdb_path': os.path.join(root, 'lmdb'),
            'summary_json': os.path.join(root, 'summary.json'),
            'data_config_json': os.path.join(root, 'data_config.json')}


def check_source_config(name, entry):
    """Raises ValueError naming `name` unless its real_data_config['sources'] entry is complete and valid."""
    missing = [k for k in SOURCE_KEYS if k not in entry]
    unknown = sorted(set(entry) - set(SOURCE_KEYS))
    if missing or unknown:
        raise ValueError('real_data_config.sources.%s: missing keys %s, unknown keys %s (expected %s)' % (
            name, missing, unknown, list(SOURCE_KEYS)))
    if entry['layout'] not in SOURCES:
        raise ValueError('real_data_config.sources.%s.layout is %r; expected one of %s' % (
            name, entry['layout'], sorted(SOURCES)))
    if not isinstance(entry['options'], dict):
        raise ValueError('real_data_config.sources.%s.options must be a dict of parser arguments, got %r' % (
            name, entry['options']))
    if isinstance(entry['weight'], bool) or not isinstance(entry['weight'], (int, float)) or entry['weight'] < 0:
        raise ValueError('real_data_config.sources.%s.weight must be a number >= 0, got %r' % (name, entry['weight']))
    distance = entry['max_frame_dist']
    if distance is not None and (isinstance(distance, bool) or not isinstance(distance, int) or distance < 1):
        raise ValueError('real_data_config.sources.%s.max_frame_dist must be None or an integer >= 1, got %r' % (
            name, distance))


def make_sources(real_data_config, names=None):
    """The SequenceSources of the selected datasets (default: real_data_config['datasets']), named by their keys.

    Raises ValueError naming the dataset for an unknown name, a bad entry or a missing/unrecognised folder.
    """
    names = list(real_data_config['datasets'] if names is None else names)
    if not names:
        raise ValueError('no dataset selected (real_data_config.datasets is empty)')
    if len(set(names)) != len(names):
        raise ValueError('a dataset is selected twice: %s' % names)
    sources = []
    for name in names:
        if name not in real_data_config['sources']:
            raise ValueError('unknown dataset %r: real_data_config.sources has %s' % (
                name, sorted(real_data_config['sources'])))
        entry = real_data_config['sources'][name]
        check_source_config(name, entry)
        try:
            sources.append(make_source(entry['layout'], entry['root'], name=name, **entry['options']))
        except TypeError as error:
            raise ValueError('real_data_config.sources.%s.options %s do not fit the %s parser (%s)' % (
                name, entry['options'], entry['layout'], error))
        except ValueError as error:
            raise ValueError('dataset %s: %s' % (name, error))
    return sources


def reader_settings(real_data_config, names):
    """The reader keys of the selected sources: {'source_weights': {...}, 'source_max_frame_dist': {...}}."""
    sources = real_data_config['sources']
    return {'source_weights': {n: float(sources[n]['weight']) for n in names},
            'source_max_frame_dist': {n: int(sources[n]['max_frame_dist']) for n in names
                                      if sources[n]['max_frame_dist'] is not None}}


def use_real_data(train_config, paths):
    """A copy of `train_config` whose train and validation readers use the imdbs, LMDB and per-source settings of a
    build (`paths` as returned by build_real_dataset, or read from its data_config.json)."""
    config = copy.deepcopy(train_config)
    for key in ('train_data_config', 'validation_data_config'):
        config[key].update(copy.deepcopy(paths['data_config'][key]))
    return config


def _summary_for_json(summary):
    """A curate_source summary without its per-video records (the imdb holds the tracks)."""
    return {k: v for k, v in summary.items() if k != 'records'}


def build_real_dataset(real_data_config, curation_config, names=None, processes=None, max_videos=None,
                       progress=True, log=print, held_out=()):
    """Curates the selected datasets and builds one train/validation imdb pair and one LMDB (see the module doc).

    Args:
      real_data_config: configuration.DATA_CONFIG (or a copy with other settings).
      curation_config: TRAIN_CONFIG['curation_config'].
      names: datasets to build (keys of real_data_config['sources']; default: real_data_config['datasets']).
      processes: worker processes (None: all CPUs).
      max_videos: curate only the first N videos of each dataset (a quick partial build).
      progress: show progress bars.
      log: callable receiving summary text (None: silent).
      held_out: video names that go to the validation imdb whatever validation_ratio says (named validation
          clips); each must be a curated video of a selected dataset.
    Returns:
      real_data_paths(...) plus 'validation_imdb' (None when nothing was held out), 'data_config' (reader keys
      for train_data_config / validation_data_config) and 'summary' (per-source curation summaries without their
      records, imdb counts, LMDB verification, disk usage, seconds).
    Raises:
      ValueError for a bad configuration, missing dataset folders or a held-out name no dataset has; RuntimeError
      when no track was curated or the LMDB misses keys after the build.
    """
    log = log or (lambda text: None)
    start = time.time()
    sources = make_sources(real_data_config, names)
    names = [s.name for s in sources]
    paths = real_data_paths(real_data_config)
    summaries, train_tracks, validation_tracks, descriptions, seen = [], [], [], {}, set()
    for source in sources:
        summary = curate_source(source, paths['curated_dir'], curation_config, processes=processes,
                                max_videos=max_videos, progress=progress)
        log(format_summary(summary))
        summaries.append(summary)
        tracks = tracks_of([summary])
        if not tracks:
            log('warning: dataset %s gave no track; it is left out of the imdbs' % source.name)
            continue
        descriptions[source.name] = source.describe()
        seen.update(t['video'] for t in tracks)
        whole = make_imdb(tracks, {source.name: descriptions[source.name]}, curation_config)
        train, validation = split_imdb(whole, real_data_config['validation_ratio'], real_data_config['split_seed'],
                                       held_out=held_out)
        train_tracks.extend(train['tracks'])
        validation_tracks.extend(validation['tracks'])
    unknown = sorted(set(held_out) - seen)
    if unknown:
        raise ValueError('held-out videos %s are not among the curated videos of %s' % (unknown, names))
    if not train_tracks:
        raise RuntimeError('no track was curated from %s; no imdb written (see the summaries above)' % names)
    train = make_imdb(train_tracks, {n: descriptions[n] for n in {t['source'] for t in train_tracks}},
                      curation_config)
    save_imdb(paths['train_imdb'], train)
    validation = None
    if validation_tracks:
        validation = make_imdb(validation_tracks, {n: descriptions[n] for n in {t['source'] for t in
                                                                                 validation_tracks}}, curation_config)
        save_imdb(paths['validation_imdb'], validation)
    else:
        paths['validation_imdb'] = None
        log('no video held out for validation (validation_ratio %g)' % real_data_config['validation_ratio'])
    built = build_lmdb(imdb_keys(train) + (imdb_keys(validation) if validation else []), paths['curated_dir'],
                       paths['lmdb_path'], progress=progress)
    check = built['verification']
    data_config = {}
    for key, imdb_path, imdb in (('train_data_config', paths['train_imdb'], train),
                                 ('validation_data_config', paths['validation_imdb'], validation)):
        present = [n for n in names if imdb is not None and n in imdb['sources']]  # the sampler rejects others
        data_config[key] = dict({'input_imdb': imdb_path, 'lmdb_path': paths['lmdb_path']},
                                **reader_settings(real_data_config, present))
    paths['data_config'] = data_config
    usage = {name: disk_usage(path)[0] for name, path in (
        ('curated', paths['curated_dir']), ('lmdb', os.path.join(paths['lmdb_path'], DATA_FILE)),
        ('train_imdb', paths['train_imdb']), ('validation_imdb', paths['validation_imdb'] or ''))}
    summary = {'datasets': names, 'curation': [_summary_for_json(s) for s in summaries],
               'train': {'num_videos': train['num_videos'], 'num_tracks': train['num_tracks'],
                         'num_frames': train['num_frames'], 'sources': train['sources']},
               'validation': None if validation is None else {
                   'num_videos': validation['num_videos'], 'num_tracks': validation['num_tracks'],
                   'num_frames': validation['num_frames'], 'sources': validation['sources']},
               'lmdb': {k: v for k, v in built.items()}, 'disk_usage_bytes': usage,
               'seconds': time.time() - start}
    write_json(paths['summary_json'], summary)
    write_json(paths['data_config_json'], data_config)
    paths['summary'] = summary
    log('lmdb %s: %d/%d keys present, %d written now, %d corrupt, %d unusable crops' % (
        paths['lmdb_path'], check['present'], check['expected'], built['written'], check['num_corrupt'],
        len(built['bad'])))
    if check['num_missing'] or check['num_corrupt']:
        raise RuntimeError('the LMDB %s is incomplete: %d missing, %d corrupt keys (e.g. %s); see %s' % (
            paths['lmdb_path'], check['num_missing'], check['num_corrupt'], check['missing'][:3],
            paths['summary_json']))
    return paths


def format_build_summary(paths):
    """Multi-line text of a build: one row per dataset (videos, tracks, frames kept / total, skips by reason), the
    imdb totals and the disk usage."""
    summary = paths['summary']
    lines = ['%-12s %8s %7s %8s %11s %11s  %s' % ('dataset', 'videos', 'failed', 'tracks', 'frames kept',
                                                  'frames seen', 'frames skipped by reason')]
    for curated in summary['curation']:
        skipped = ', '.join('%s %d' % item for item in sorted(curated['skipped'].items())) or '-'
        lines.append('%-12s %8d %7d %8d %11d %11d  %s' % (
            curated['source'], curated['videos']['total'], curated['videos']['failed'], curated['tracks'],
            curated['frames_kept'], curated['frames_total'], skipped))
    for split in ('train', 'validation'):
        counts = summary[split]
        if counts is None:
            lines.append('%s imdb: none' % split)
        else:
            lines.append('%s imdb %s: %d videos, %d tracks, %d frames' % (
                split, paths['%s_imdb' % split], counts['num_videos'], counts['num_tracks'], counts['num_frames']))
    usage = summary['disk_usage_bytes']
    lines.append('disk usage: curated crops %s, LMDB %s, imdbs %s' % (
        format_bytes(usage['curated']), format_bytes(usage['lmdb']),
        format_bytes(usage['train_imdb'] + usage['validation_imdb'])))
    frames = summary['lmdb']['verification']['expected']
    if frames:
        lines.append('LMDB bytes per curated frame: %.0f (%d frames)' % (usage['lmdb'] / float(frames), frames))
    return '\n'.join(lines)
