"""The JSON imdb: the index of curated tracks that the LMDB builder and the pair sampler read.

Plain JSON (never pickle), so loading an imdb cannot execute code. Schema (version 1):

  {
    "format": "siamrpn-tf-imdb", "version": 1,
    "patch_size": 511, "exemplar_size": 127, "context_amount": 0.5,   # how the crops were made
    "sources": {"<source>": {"is_image_data": false, "layout": "otb", "root": "...",
                             "num_videos": int, "num_tracks": int, "num_frames": int}},
    "num_videos": int, "num_tracks": int, "num_frames": int,
    "tracks": [
      {"source": "<source>",            # dataset the track comes from (per-source sampling weights)
       "video": "<video name>",
       "track_id": "<id in the video>",
       "is_image": false,               # true for 1-frame tracks of image datasets (image/video sampling ratio)
       "frame_keys": ["<source>/<video>/<track_id>/<index:06d>", ...],   # LMDB keys of the 511 crops
       "frame_indices": [int, ...],     # original frame numbers; delta-t = |difference|
       "times": null | [float, ...],    # seconds from the video start, when the dataset has timestamps
       "boxes": [[x, y, w, h], ...]}    # target box in 0-based continuous patch pixels
    ]
  }

Frame keys name the crop files too: `<curated_dir>/<key>.jpg`.
"""

import json

import numpy as np

from utils.io_utils import read_json, write_json

IMDB_FORMAT = 'siamrpn-tf-imdb'
IMDB_VERSION = 1
TRACK_FIELDS = ('source', 'video', 'track_id', 'is_image', 'frame_keys', 'frame_indices', 'times', 'boxes')


def frame_key(source, video, track_id, index):
    """The LMDB key (and crop file stem) of one curated frame."""
    return '%s/%s/%s/%06d' % (source, video, track_id, index)


def make_imdb(tracks, sources, curation_config):
    """Builds an imdb dict from track records and {source name: description} (counts are filled in)."""
    sources = {name: dict(description) for name, description in sources.items()}
    for description in sources.values():
        description.update({'num_videos': 0, 'num_tracks': 0, 'num_frames': 0})
    videos = set()
    for track in tracks:
        if track['source'] not in sources:
            raise ValueError('track %s/%s names source %r that is not described' % (
                track['video'], track['track_id'], track['source']))
        description = sources[track['source']]
        if (track['source'], track['video']) not in videos:
            videos.add((track['source'], track['video']))
            description['num_videos'] += 1
        description['num_tracks'] += 1
        description['num_frames'] += len(track['frame_keys'])
    return {
        'format': IMDB_FORMAT,
        'version': IMDB_VERSION,
        'patch_size': int(curation_config['patch_size']),
        'exemplar_size': int(curation_config['exemplar_size']),
        'context_amount': float(curation_config['context_amount']),
        'sources': sources,
        'num_videos': len(videos),
        'num_tracks': len(tracks),
        'num_frames': int(sum(len(t['frame_keys']) for t in tracks)),
        'tracks': list(tracks),
    }


def validate_imdb(imdb, name='<imdb>', json_types=False):
    """Raises ValueError naming `name` and the offending field unless `imdb` follows the schema above (with
    json_types, as read from a file, also unless every track field has its JSON type)."""
    if not isinstance(imdb, dict) or imdb.get('format') != IMDB_FORMAT:
        raise ValueError('%s is not a SiamRPN-TF imdb (expected "format": "%s")' % (name, IMDB_FORMAT))
    if imdb.get('version') != IMDB_VERSION:
        raise ValueError('%s has imdb version %r; this code reads version %d' % (
            name, imdb.get('version'), IMDB_VERSION))
    for field in ('patch_size', 'exemplar_size', 'context_amount', 'sources', 'tracks'):
        if field not in imdb:
            raise ValueError('%s lacks the field "%s"' % (name, field))
    tracks = imdb['tracks']
    if not isinstance(tracks, list) or not tracks:
        raise ValueError('%s is empty: it lists no tracks (was curation successful?)' % name)
    if not isinstance(imdb['sources'], dict):
        raise ValueError('%s: "sources" must be an object {name: description}' % name)
    for number, track in enumerate(tracks):
        where = '%s track %d' % (name, number)
        if not isinstance(track, dict):
            raise ValueError('%s is not an object' % where)
        missing = [f for f in TRACK_FIELDS if f not in track]
        if missing:
            raise ValueError('%s lacks %s' % (where, missing))
        if json_types:
            _check_track_types(track, where)
        if track['source'] not in imdb['sources']:
            raise ValueError('%s names source %r absent from "sources"' % (where, track['source']))
        count = len(track['frame_keys'])
        if count == 0:
            raise ValueError('%s (%s/%s) has no frames' % (where, track['video'], track['track_id']))
        if len(track['frame_indices']) != count or len(track['boxes']) != count or \
                (track['times'] is not None and len(track['times']) != count):
            raise ValueError('%s (%s/%s): frame_keys, frame_indices, boxes and times differ in length' % (
                where, track['video'], track['track_id']))
        indices = np.asarray(track['frame_indices'])
        if count > 1 and np.any(np.diff(indices) <= 0):
            raise ValueError('%s (%s/%s): frame_indices must increase strictly' % (where, track['video'],
                                                                                   track['track_id']))
        boxes = np.asarray(track['boxes'], np.float64)
        if boxes.shape != (count, 4) or not np.all(np.isfinite(boxes)) or np.any(boxes[:, 2:] <= 0):
            raise ValueError('%s (%s/%s): boxes must be finite [x, y, w, h] rows with w, h > 0' % (
                where, track['video'], track['track_id']))
    return imdb


def _check_track_types(track, where):
    """Raises ValueError naming `where` unless the track's fields have the schema's JSON types."""
    def number(value):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    lists = [f for f in ('frame_keys', 'frame_indices', 'boxes') if not isinstance(track[f], list)]
    if lists or (track['times'] is not None and not isinstance(track['times'], list)):
        raise ValueError('%s: %s must be lists' % (where, lists or ['times']))
    if not (isinstance(track['source'], str) and all(isinstance(k, str) for k in track['frame_keys']) and
            all(isinstance(i, int) and not isinstance(i, bool) for i in track['frame_indices']) and
            all(isinstance(b, list) and len(b) == 4 and all(number(v) for v in b) for b in track['boxes']) and
            all(number(t) for t in track['times'] or [])):
        raise ValueError('%s: expected a string source, string frame_keys, integer frame_indices, numeric times '
                         'and [x, y, w, h] number rows in boxes' % where)


def load_imdb(path):
    """Reads and validates an imdb JSON file (errors name the file)."""
    return validate_imdb(read_json(path), path, json_types=True)


def save_imdb(path, imdb):
    """Validates and writes an imdb atomically (compact JSON)."""
    write_json(path, validate_imdb(imdb, path), indent=None)


def imdb_keys(imdb):
    """All frame keys of an imdb, in track order."""
    return [key for track in imdb['tracks'] for key in track['frame_keys']]


def split_imdb(imdb, validation_ratio, seed=0, held_out=()):
    """Splits an imdb by video into (train, validation) imdbs.

    held_out: video names that go to validation whatever the ratio (e.g. named validation clips); of the other
    videos, validation gets round(ratio * videos), at least 1 when the ratio is positive and there are two or more.
    """
    held_out = set(held_out)
    videos = sorted({(t['source'], t['video']) for t in imdb['tracks']})
    validation = {v for v in videos if v[1] in held_out}
    videos = [v for v in videos if v not in validation]
    count = int(round(validation_ratio * len(videos)))
    if validation_ratio > 0 and len(videos) > 1:
        count = min(max(count, 1), len(videos) - 1)
    order = np.random.RandomState(seed).permutation(len(videos))
    validation.update(videos[i] for i in order[:count])
    curation = {'patch_size': imdb['patch_size'], 'exemplar_size': imdb['exemplar_size'],
                'context_amount': imdb['context_amount']}
    sources = {name: {k: v for k, v in d.items() if not k.startswith('num_')} for name, d in imdb['sources'].items()}
    parts = []
    for keep in (lambda v: v not in validation, lambda v: v in validation):
        tracks = [t for t in imdb['tracks'] if keep((t['source'], t['video']))]
        used = {t['source'] for t in tracks}
        parts.append(make_imdb(tracks, {n: d for n, d in sources.items() if n in used}, curation))
    return parts[0], parts[1]


def dumps_summary(imdb):
    """One-line JSON summary of an imdb's counts per source."""
    return json.dumps({name: {k: v for k, v in d.items() if k.startswith('num_')}
                       for name, d in sorted(imdb['sources'].items())}, sort_keys=True)
