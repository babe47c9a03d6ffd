"""YouTube-BoundingBoxes: the detection segment CSVs plus frames the user decoded from the videos.

Conventions, with their sources:
  * CSV (research.google.com/youtube-bb/download.html, "detection CSV files"): one row per annotated frame, no
    header, columns `youtube_id, timestamp_ms, class_id, class_name, object_id, object_presence, xmin, xmax, ymin,
    ymax`; presence is 'present' or 'absent'; the box coordinates are "a [0.0, 1.0] number ... relative to the frame
    size". "At most one object is tracked for each video segment, but multiple segments could be extracted from the
    same video ... the youtube_id ... must be used in conjunction with the class_id and object_id values": a track
    here is one (class_id, object_id) of one youtube_id, named '<class_id>_<object_id>'.
  * Frames are annotated at 1 frame per second (YouTube-BB paper, Real et al. 2017, abstract), so consecutive
    annotations are ~30 video frames apart. The imdb records the real gap: `times` = timestamp_ms / 1000 and
    `frame_indices` = round(timestamp_ms * fps / 1000), so delta-t is in video frames like the other datasets
    (fps defaults to 30; set source_max_frame_dist for youtube_bb, e.g. 90 = 3 s, as pysot's FRAME_RANGE 3).
  * Normalised coordinates map to the continuous pixel frame [0, W] x [0, H]: x = xmin * W, w = (xmax - xmin) * W
    (pysot's training_dataset/yt_bb/par_crop.py uses the same corners x1 = xmin * w, x2 = xmax * w). W and H are
    read from each frame's JPEG/PNG header (utils/image_header.py).

Expected layout (the dataset ships no pixels; decode the annotated frames yourself, e.g. with
`ffmpeg -ss <timestamp_ms/1000> -i <video> -frames:v 1 -q:v 2 <frames_dir>/<youtube_id>/<timestamp_ms>.jpg`):

  <root>/yt_bb_detection_train.csv               the official CSVs, gunzipped (csv_files overrides)
  <root>/yt_bb_detection_validation.csv
  <frames_dir>/<youtube_id>/<timestamp_ms>.jpg   one frame per annotated timestamp (frames_dir defaults to <root>),
                                                 e.g. AAB6lO-XiKE/233000.jpg; zero-padded names (000233000.jpg)
                                                 and .jpeg/.png are accepted; all objects share the frame file.

Skip reasons: 'absent' (object_presence absent), 'frame_missing' (no file for an annotated timestamp; counted per
video in the problems), 'video_missing' (no frame folder; only with only_downloaded=False, otherwise such videos are
not listed and their number is in describe()), 'bad_row' (unparsable row, named), 'duplicate_row' (a second row for
the same track and frame; the first is kept), 'unreadable_image' (a frame whose header cannot be read, named).

The CSVs have millions of rows (5 million boxes, Google Research blog, Feb 2017). Each process scans a CSV once and
keeps only the byte ranges of every video's rows (a per-process cache keyed by the files' paths, sizes and times),
so sources stay small when sent to the worker processes.
"""

import csv
import glob
import io
import os

from datasets.otb_layout import numbered_files
from datasets.sources.base import Frame, SequenceSource, Track, Video
from utils.image_header import image_size
from utils.image_io import ImageDecodeError

COLUMNS = ('youtube_id', 'timestamp_ms', 'class_id', 'class_name', 'object_id', 'object_presence', 'xmin', 'xmax',
           'ymin', 'ymax')
DEFAULT_CSV_PATTERN = 'yt_bb_detection_*.csv'
_COORDINATE_TOLERANCE = 1e-6
_INDEX_CACHE = {}  # per-process cache of the CSV index: {(path, size, mtime) tuple: index}


def scan_csv_files(csv_files):
    """Byte ranges of every video's rows -> {youtube_id: [(file number, start, end, first line number)]}.

    Rows of one video are usually contiguous; a video whose rows are spread over the file gets several ranges.
    Blank lines and a header row (first field 'youtube_id') are left out.
    """
    index = {}
    for number, path in enumerate(csv_files):
        with open(path, 'rb') as stream:
            offset, current, start, first_line = 0, None, 0, 1
            for line_number, line in enumerate(stream, 1):
                video = line.split(b',', 1)[0].strip()
                if not line.strip() or (line_number == 1 and video == b'youtube_id'):
                    video = None
                if video != current:
                    if current is not None:
                        index.setdefault(current.decode('utf-8', 'replace'), []).append(
                            (number, start, offset, first_line))
                    current, start, first_line = video, offset, line_number
                offset += len(line)
            if current is not None:
                index.setdefault(current.decode('utf-8', 'replace'), []).append((number, start, offset, first_line))
    return index


def csv_index(csv_files):
    """scan_csv_files(csv_files), computed once per process while the files are unchanged."""
    key = tuple((path, os.path.getsize(path), os.path.getmtime(path)) for path in csv_files)
    if key not in _INDEX_CACHE:
        _INDEX_CACHE.clear()
        _INDEX_CACHE[key] = scan_csv_files(csv_files)
    return _INDEX_CACHE[key]


def parse_row(fields, where):
    """One CSV row (list of strings) -> dict (timestamp_ms, class_id, object_id, present, corners or None).

    Raises ValueError naming `where` (file and line) when a field is missing or malformed, or when a present
    object's normalised corners are outside [0, 1] or inverted.
    """
    if len(fields) != len(COLUMNS):
        raise ValueError('%s: expected %d columns (%s), got %d' % (where, len(COLUMNS), ', '.join(COLUMNS),
                                                                   len(fields)))
    values = dict(zip(COLUMNS, (f.strip() for f in fields)))
    try:
        timestamp, class_id, object_id = (int(values[k]) for k in ('timestamp_ms', 'class_id', 'object_id'))
    except ValueError:
        raise ValueError('%s: timestamp_ms, class_id and object_id must be integers, got %r, %r, %r' % (
            where, values['timestamp_ms'], values['class_id'], values['object_id']))
    if timestamp < 0:
        raise ValueError('%s: negative timestamp_ms %d' % (where, timestamp))
    presence = values['object_presence']
    if presence not in ('present', 'absent'):
        raise ValueError('%s: object_presence must be present or absent, got %r' % (where, presence))
    corners = None
    if presence == 'present':
        try:
            corners = [float(values[k]) for k in ('xmin', 'xmax', 'ymin', 'ymax')]
        except ValueError:
            raise ValueError('%s: xmin, xmax, ymin, ymax must be numbers, got %s' % (
                where, [values[k] for k in ('xmin', 'xmax', 'ymin', 'ymax')]))
        xmin, xmax, ymin, ymax = corners
        low, high = -_COORDINATE_TOLERANCE, 1 + _COORDINATE_TOLERANCE
        if not (low <= xmin <= xmax <= high and low <= ymin <= ymax <= high):
            raise ValueError('%s: normalised box xmin %g xmax %g ymin %g ymax %g is not within [0, 1] with min <= '
                             'max' % (where, xmin, xmax, ymin, ymax))
    return {'timestamp_ms': timestamp, 'class_id': class_id, 'object_id': object_id,
            'present': presence == 'present', 'corners': corners}


class YouTubeBBSource(SequenceSource):
    """YouTube-BB: one video per youtube_id, one track per (class_id, object_id) (see the module docstring)."""

    def __init__(self, root, name='youtube_bb', csv_files=None, frames_dir=None, fps=30.0, only_downloaded=True):
        """
        Args:
          root: folder holding the detection CSVs (and, by default, the decoded frames).
          name: source name recorded in the imdb.
          csv_files: CSV paths (default: <root>/yt_bb_detection_*.csv, i.e. the train and validation files).
          frames_dir: folder holding <youtube_id>/<timestamp_ms>.jpg (default: root).
          fps: frame rate that turns timestamps into frame indices (delta-t in video frames).
          only_downloaded: list only videos whose frame folder exists (the others are counted in describe());
              False lists every CSV video and counts frames of missing ones as 'video_missing'.
        """
        if not os.path.isdir(root):
            raise ValueError('YouTube-BB root folder not found: %s' % root)
        if csv_files is None:
            csv_files = sorted(glob.glob(os.path.join(root, DEFAULT_CSV_PATTERN)))
            if not csv_files:
                raise ValueError('no YouTube-BB CSV in %s: expected yt_bb_detection_train.csv and/or '
                                 'yt_bb_detection_validation.csv (gunzip the downloaded .csv.gz files) or give '
                                 'csv_files' % root)
        csv_files = [os.path.abspath(p) for p in csv_files]
        missing = [p for p in csv_files if not os.path.isfile(p)]
        if missing:
            raise ValueError('YouTube-BB CSV file(s) not found: %s' % ', '.join(missing))
        if float(fps) <= 0:
            raise ValueError('YouTube-BB fps must be positive, got %r' % fps)
        self.root = root
        self.name = name
        self.csv_files = csv_files
        self.frames_dir = frames_dir or root
        if not os.path.isdir(self.frames_dir):
            raise ValueError('YouTube-BB frames folder not found: %s' % self.frames_dir)
        self.fps = float(fps)
        self.only_downloaded = bool(only_downloaded)

    def _downloaded(self):
        return set(n for n in os.listdir(self.frames_dir) if os.path.isdir(os.path.join(self.frames_dir, n)))

    def describe(self):
        description = super(YouTubeBBSource, self).describe()
        videos = set(csv_index(self.csv_files))
        description.update({'layout': 'youtube_bb', 'root': self.root, 'csv_files': list(self.csv_files),
                            'frames_dir': self.frames_dir, 'fps': self.fps, 'only_downloaded': self.only_downloaded,
                            'videos_in_csv': len(videos), 'videos_without_frames': len(videos - self._downloaded())})
        return description

    def video_names(self):
        names = sorted(csv_index(self.csv_files))
        if self.only_downloaded:
            downloaded = self._downloaded()
            names = [n for n in names if n in downloaded]
        return names

    def _rows(self, name):
        """Yields (where, fields) for every CSV row of video `name`."""
        for number, start, end, first_line in csv_index(self.csv_files).get(name, []):
            path = self.csv_files[number]
            with open(path, 'rb') as stream:
                stream.seek(start)
                text = stream.read(end - start).decode('utf-8', 'replace')
            for offset, fields in enumerate(csv.reader(io.StringIO(text, newline=''))):
                if fields:
                    yield '%s line %d' % (path, first_line + offset), fields

    def load_video(self, name):
        skipped, problems = {}, []
        folder = os.path.join(self.frames_dir, name)
        frame_files = numbered_files(folder) if os.path.isdir(folder) else None
        rows = {}  # track id -> {frame index: (row, where)}
        for where, fields in self._rows(name):
            try:
                row = parse_row(fields, where)
            except ValueError as error:
                _count(skipped, 'bad_row')
                problems.append(str(error))
                continue
            track_id = '%d_%d' % (row['class_id'], row['object_id'])
            index = int(round(row['timestamp_ms'] * self.fps / 1000.))
            if index in rows.setdefault(track_id, {}):
                _count(skipped, 'duplicate_row')
                problems.append('%s: a second row for track %s at %d ms; the first is kept' % (
                    where, track_id, row['timestamp_ms']))
                continue
            rows[track_id][index] = (row, where)
        sizes, missing = {}, []
        tracks = []
        for track_id in sorted(rows, key=lambda t: tuple(int(v) for v in t.split('_'))):
            frames = []
            for index in sorted(rows[track_id]):
                row, where = rows[track_id][index]
                timestamp = row['timestamp_ms']
                path = frame_files.get(timestamp) if frame_files is not None else None
                image_path = path or os.path.join(folder, '%d.jpg' % timestamp)
                box, skip = None, None
                if not row['present']:
                    skip = 'absent'
                elif frame_files is None:
                    skip = 'video_missing'
                elif path is None:
                    skip = 'frame_missing'
                    missing.append(timestamp)
                else:
                    if path not in sizes:
                        try:
                            sizes[path] = image_size(path)
                        except ImageDecodeError as error:
                            sizes[path] = None
                            problems.append(str(error))
                    if sizes[path] is None:
                        skip = 'unreadable_image'
                    else:
                        width, height = sizes[path]
                        xmin, xmax, ymin, ymax = row['corners']
                        box = [xmin * width, ymin * height, (xmax - xmin) * width, (ymax - ymin) * height]
                frames.append(Frame(image_path, box, index, timestamp / 1000., skip))
            tracks.append(Track(track_id, frames))
        if missing:
            problems.append('%s: %d annotated timestamps have no frame file (e.g. %d ms)' % (
                folder, len(set(missing)), min(missing)))
        return Video(name, tracks, skipped, problems)


def _count(counter, reason, amount=1):
    counter[reason] = counter.get(reason, 0) + amount
