"""Generic curation core: any `SequenceSource` -> SiamFC-style 511x511 crops on disk + per-video JSON records.

For every kept frame of every track, the crop is centred on the target with context: p = c (w + h) with
c = context_amount, s_z = sqrt((w + p)(h + p)), and the patch covers s_z * patch_size / exemplar_size source pixels
(s_z * 511 / 127), padded with the frame's mean colour. The target box is recorded in patch pixels, and so is the
patch scale (patch pixels per source pixel, 511 / (s_z * 511 / 127) = 127 / s_z): augmentation needs it to place
the source pixel grid as the tracker's crop does (datasets/augmentation.py derives the half-pixel offset).

Output layout under `output_dir` (keys are those of datasets/imdb.py):
  <source>/<video>/<track_id>/<index:06d>.jpg    the crops (key = the path without '.jpg')
  <source>/<video>/video.json                     the video's track records, skip counts and unreadable images

Each video is written into a hidden `.partial-<video>` folder and renamed into place when complete, so a killed run
leaves no half-written video; a re-run skips videos whose folder exists and removes stale partial folders.
Video records carry `record_version` (RECORD_VERSION). Records of version 1 (no patch scales) are upgraded in place
on a re-run: the annotations are read again, the patch boxes recomputed and, when they equal the recorded ones, the
scales added without touching the crops (the LMDB built from them stays valid); otherwise the video is curated again.
The crop geometry itself is unchanged since version 1. A patch box is centred and scaled to s_z = 127 whatever the
frame box, so the check catches changed frame lists and aspects, not moved or uniformly rescaled annotations: after
editing annotations, curate into a fresh folder (as ever: finished videos are never re-cropped).
"""

import collections
import os
import shutil
import time

import numpy as np
from tqdm import tqdm

from datasets.imdb import frame_key
from datasets.sources.base import SKIP_NAN_BOX, SKIP_NONPOSITIVE_SIZE, SKIP_UNREADABLE_IMAGE
from utils.crop_utils import context_side, crop_transform, mean_color, transform_boxes, warp
from utils.image_io import ImageDecodeError, encode_jpeg, read_image
from utils.io_utils import read_json, write_json
from utils.parallel import imap_unordered

VIDEO_RECORD = 'video.json'
RECORD_VERSION = 2  # 1: no 'patch_scales' in the track records; 2: with them
_PARTIAL_PREFIX = '.partial-'
_BOX_DECIMALS, _SCALE_DIGITS = 3, 7  # recorded precision of patch boxes (decimals) and scales (significant digits)


def patch_transform(box, curation_config):
    """2x3 continuous transform (utils/crop_utils.py) from frame pixels to the curated patch of the x,y,w,h `box`;
    its diagonal is the patch scale (patch pixels per source pixel)."""
    x, y, w, h = (float(v) for v in box)
    patch_size = curation_config['patch_size']
    region = context_side(w, h, curation_config['context_amount']) * patch_size / curation_config['exemplar_size']
    return crop_transform((x + w / 2., y + h / 2.), region, patch_size)


def crop_patch(image, box, curation_config, pad_color=None):
    """SiamFC-style crop of `image` around the 0-based x,y,w,h `box` -> (patch [P, P, 3] uint8, patch box [4])."""
    matrix = patch_transform(box, curation_config)
    patch = warp(image, matrix, curation_config['patch_size'],
                 pad_color if pad_color is not None else mean_color(image))
    return patch, transform_boxes(box, matrix)


def _recorded(box, matrix):
    """(patch box as recorded [4 floats], patch scale as recorded) of a frame box under its patch transform."""
    return ([round(float(v), _BOX_DECIMALS) for v in transform_boxes(box, matrix)],
            float('%.*g' % (_SCALE_DIGITS, matrix[0, 0])))


def frame_skip_reason(frame):
    """Why a frame cannot be curated (a source reason, NaN box, non-positive size) or None when it is usable."""
    if frame.skip:
        return str(frame.skip)
    if frame.box is None:
        return SKIP_NAN_BOX
    box = np.asarray(frame.box, np.float64)
    if box.shape != (4,) or not np.all(np.isfinite(box)):
        return SKIP_NAN_BOX
    if box[2] <= 0 or box[3] <= 0:
        return SKIP_NONPOSITIVE_SIZE
    return None


def video_folder(output_dir, source_name, video_name):
    """Final folder of a curated video."""
    return os.path.join(output_dir, source_name, *video_name.split('/'))


def _check_names(video):
    parts = video.name.split('/')
    if not video.name or video.name.startswith('/') or any(p in ('', '.', '..') or p.startswith('.') for p in parts):
        raise ValueError('unusable video name %r (empty parts, dot-names and absolute paths are not allowed)' %
                         video.name)
    ids = [track.track_id for track in video.tracks]
    if len(set(ids)) != len(ids):
        raise ValueError('video %s: duplicate track ids %s' % (video.name, ids))
    for track_id in ids:
        if not track_id or '/' in track_id or track_id.startswith('.'):
            raise ValueError('video %s: unusable track id %r' % (video.name, track_id))


def curate_video(source, video_name, output_dir, curation_config):
    """Curates one video (or returns its existing record, upgraded to RECORD_VERSION when older)
    -> (record dict, status 'curated', 'existing' or 'upgraded')."""
    final = video_folder(output_dir, source.name, video_name)
    record_path = os.path.join(final, VIDEO_RECORD)
    video = None
    if os.path.isfile(record_path):
        record = read_json(record_path)
        if record.get('record_version', 1) == RECORD_VERSION:
            return record, 'existing'
        video = source.load_video(video_name)
        _check_names(video)
        upgraded = _upgrade_record(record, video, curation_config)
        if upgraded is not None:
            write_json(record_path, upgraded)
            return upgraded, 'upgraded'
    if video is None:
        video = source.load_video(video_name)
        _check_names(video)
    partial = os.path.join(os.path.dirname(final), _PARTIAL_PREFIX + os.path.basename(final))
    if os.path.isdir(partial):
        shutil.rmtree(partial)
    if os.path.isdir(final):  # a folder without its record is not a finished video
        shutil.rmtree(final)
    os.makedirs(partial)
    try:
        record = _write_video(source, video, partial, curation_config)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    os.rename(partial, final)
    return record, 'curated'


def _upgrade_record(record, video, curation_config):
    """`record` (an older version) with the patch scales added, or None when its patch boxes no longer follow from
    the annotations of `video` (then the video must be curated again)."""
    frames = {(track.track_id, frame.index): frame for track in video.tracks for frame in track.frames}
    tracks = []
    for track in record.get('tracks', []):
        scales = []
        for index, box in zip(track['frame_indices'], track['boxes']):
            frame = frames.get((track['track_id'], index))
            if frame is None or frame_skip_reason(frame):
                return None
            patch_box, scale = _recorded(frame.box, patch_transform(frame.box, curation_config))
            if not np.allclose(patch_box, box, rtol=0., atol=2e-3):
                return None
            scales.append(scale)
        tracks.append(dict(track, patch_scales=scales))
    return dict(record, tracks=tracks, record_version=RECORD_VERSION)


def _write_video(source, video, partial, curation_config):
    """Writes the crops and the record of `video` into the folder `partial` -> record."""
    skipped = collections.Counter(video.skipped or {})  # annotations the source could not turn into frames
    unreadable = []
    kept = {track.track_id: [] for track in video.tracks}
    by_image = collections.OrderedDict()  # read each image once even when several tracks use it
    for track in video.tracks:
        indices = [frame.index for frame in track.frames]
        if any(b <= a for a, b in zip(indices, indices[1:])):
            raise ValueError('video %s track %s: frame indices must increase strictly' % (video.name,
                                                                                          track.track_id))
        os.makedirs(os.path.join(partial, track.track_id))
        for frame in track.frames:
            reason = frame_skip_reason(frame)
            if reason:
                skipped[reason] += 1
            else:
                by_image.setdefault(frame.image_path, []).append((track.track_id, frame))
    for image_path, entries in by_image.items():
        try:
            image = read_image(image_path)
        except ImageDecodeError as error:
            skipped[SKIP_UNREADABLE_IMAGE] += len(entries)
            unreadable.append(str(error))
            continue
        pad_color = mean_color(image)
        for track_id, frame in entries:
            matrix = patch_transform(frame.box, curation_config)
            patch = warp(image, matrix, curation_config['patch_size'], pad_color)
            with open(os.path.join(partial, track_id, '%06d.jpg' % frame.index), 'wb') as stream:
                stream.write(encode_jpeg(patch, curation_config['jpeg_quality']))
            kept[track_id].append((frame,) + tuple(_recorded(frame.box, matrix)))

    tracks = []
    for track in video.tracks:
        frames = sorted(kept[track.track_id], key=lambda item: item[0].index)
        if not frames:
            os.rmdir(os.path.join(partial, track.track_id))
            continue
        times = [f.time for f, _, _ in frames]
        tracks.append({
            'source': source.name,
            'video': video.name,
            'track_id': track.track_id,
            'is_image': bool(source.is_image_data),
            'frame_keys': [frame_key(source.name, video.name, track.track_id, f.index) for f, _, _ in frames],
            'frame_indices': [int(f.index) for f, _, _ in frames],
            'times': None if any(t is None for t in times) else [float(t) for t in times],
            'boxes': [box for _, box, _ in frames],
            'patch_scales': [scale for _, _, scale in frames],  # patch pixels per source pixel of each crop
        })
    record = {
        'record_version': RECORD_VERSION,
        'source': source.name,
        'video': video.name,
        'tracks': tracks,
        'frames_total': int(sum(len(track.frames) for track in video.tracks) + sum((video.skipped or {}).values())),
        'frames_kept': int(sum(len(track['frame_keys']) for track in tracks)),
        'skipped': dict(skipped),
        'unreadable_images': unreadable,
        'problems': list(video.problems or []),
    }
    write_json(os.path.join(partial, VIDEO_RECORD), record)
    return record


def _curate_task(args):
    source, name, output_dir, curation_config = args
    try:
        record, status = curate_video(source, name, output_dir, curation_config)
        return name, record, status, None
    except (ValueError, OSError) as error:
        return name, None, 'failed', '%s: %s' % (type(error).__name__, error)


def remove_partial_folders(folder):
    """Deletes `.partial-*` folders (left by a killed run) anywhere under `folder`; returns how many."""
    removed = 0
    for parent, folders, _ in os.walk(folder):
        for name in list(folders):
            if name.startswith(_PARTIAL_PREFIX):
                shutil.rmtree(os.path.join(parent, name))
                folders.remove(name)
                removed += 1
    return removed


def curate_source(source, output_dir, curation_config, processes=None, max_videos=None, progress=True):
    """Curates every video of `source` into `output_dir` (resumable, multi-process).

    Args:
      source: a SequenceSource.
      output_dir: curated root (crops and per-video records).
      curation_config: TRAIN_CONFIG['curation_config'].
      processes: worker processes (None: all CPUs; 1: in this process).
      max_videos: curate only the first N videos (a quick partial build).
      progress: show a tqdm bar.
    Returns:
      summary dict: source, videos (total/curated/existing/failed), failed {video: error}, upgraded (existing
      videos whose older record was upgraded in place), tracks, frames_kept,
      frames_total, skipped {reason: count}, unreadable_images [names], problems [source messages naming bad
      annotation files or rows], records [video records], seconds.
    """
    start = time.time()
    names = source.video_names()
    if max_videos is not None:
        names = names[:max_videos]
    source_dir = os.path.join(output_dir, source.name)
    if os.path.isdir(source_dir):
        remove_partial_folders(source_dir)
    tasks = [(source, name, output_dir, curation_config) for name in names]
    summary = {'source': source.name, 'description': source.describe(),
               'videos': {'total': len(names), 'curated': 0, 'existing': 0, 'failed': 0},
               'failed': {}, 'upgraded': 0, 'tracks': 0, 'frames_total': 0, 'frames_kept': 0,
               'skipped': collections.Counter(),
               'unreadable_images': [], 'problems': [], 'records': []}
    with tqdm(total=len(tasks), desc='curate %s' % source.name, unit='video', disable=not progress) as bar:
        for name, record, status, error in imap_unordered(_curate_task, tasks, processes):
            if status == 'upgraded':  # a finished video whose older record gained the patch scales
                summary['upgraded'] += 1
                status = 'existing'
            summary['videos'][status] += 1
            if record is None:
                summary['failed'][name] = error
            else:
                summary['records'].append(record)
                summary['tracks'] += len(record['tracks'])
                summary['frames_total'] += record['frames_total']
                summary['frames_kept'] += record['frames_kept']
                summary['skipped'].update(record['skipped'])
            bar.update(1)
            bar.set_postfix(frames=summary['frames_kept'], skipped=sum(summary['skipped'].values()),
                            failed=summary['videos']['failed'])
    # Workers finish in any order; report per-video lists in video order so summaries are reproducible.
    summary['records'].sort(key=lambda r: r['video'])
    for record in summary['records']:
        summary['unreadable_images'].extend(record['unreadable_images'])
        summary['problems'].extend(record.get('problems', []))
    summary['skipped'] = dict(summary['skipped'])
    summary['seconds'] = time.time() - start
    return summary


def format_summary(summary, max_problems=50):
    """Human-readable multi-line text of a curate_source summary (at most `max_problems` annotation problems)."""
    videos = summary['videos']
    lines = ['source %s: %d videos (%d curated now, %d already done, %d failed), %d tracks, %d/%d frames kept '
             'in %.1f s' % (summary['source'], videos['total'], videos['curated'], videos['existing'],
                            videos['failed'], summary['tracks'], summary['frames_kept'], summary['frames_total'],
                            summary['seconds'])]
    if summary.get('upgraded'):
        lines.append('  %d finished videos had records of an older version: patch scales added, crops unchanged' %
                     summary['upgraded'])
    for reason, count in sorted(summary['skipped'].items()):
        lines.append('  skipped %-18s %d frames' % (reason, count))
    for name, error in sorted(summary['failed'].items()):
        lines.append('  FAILED video %s: %s' % (name, error))
    for message in summary['unreadable_images']:
        lines.append('  unreadable image %s' % message)
    problems = summary.get('problems', [])
    for message in problems[:max_problems]:
        lines.append('  annotation problem: %s' % message)
    if len(problems) > max_problems:
        lines.append('  ... and %d more annotation problems' % (len(problems) - max_problems))
    return '\n'.join(lines)


def tracks_of(summaries):
    """All track records of one or more curate_source summaries, in a stable order."""
    tracks = [track for summary in summaries for record in summary['records'] for track in record['tracks']]
    return sorted(tracks, key=lambda t: (t['source'], t['video'], t['track_id']))
