"""Helpers shared by the dataset parsers: per-frame text annotations (GOT-10k, LaSOT) and single-track videos.

Numbered frame files are listed by datasets/otb_layout.py.

Box files are 1-based `x,y,w,h` rows, one per frame; a row that is not four numbers must not sink its whole video, so
`read_box_rows` keeps going and reports the bad rows (their boxes are NaN and the parsers skip them as 'bad_row').
The 1-based -> 0-based shift goes through utils/box_io.py.
"""

import os
import re

import numpy as np

from datasets.sources.base import Frame, Track, Video

from utils.box_io import one_based_to_zero_based, parse_box_string

SKIP_BAD_ROW = 'bad_row'
_INTEGER_SEPARATORS = re.compile(r'[,\s]+')
_INTEGER = re.compile(r'^-?\d+(\.0*)?$')  # '1' or '1.0' (some tools write labels as floats)


def read_box_rows(path):
    """Reads a 1-based x,y,w,h file leniently -> (boxes [N, 4] 0-based float64, {row index: message}).

    Every line is one frame (trailing empty lines are ignored); a line that is not 4 numbers gets a NaN box and an
    entry in the returned dict naming the file, the 1-based line number and the text. Raises OSError when the file
    cannot be read.
    """
    with open(path) as stream:
        lines = stream.read().splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    boxes = np.full((len(lines), 4), np.nan)
    bad = {}
    for row, line in enumerate(lines):
        try:
            boxes[row] = parse_box_string(line, '%s line %d' % (path, row + 1))
        except ValueError as error:
            bad[row] = str(error)
    return one_based_to_zero_based(boxes), bad


def read_integer_labels(path, expected_count=None):
    """Reads integer per-frame labels separated by commas, spaces or newlines -> int64 [N].

    GOT-10k's absence.label / cover.label hold one value per line, LaSOT's full_occlusion.txt / out_of_view.txt one
    comma-separated line. Raises ValueError naming the file for a non-integer value or a count other than
    `expected_count`.
    """
    with open(path) as stream:
        tokens = [t for t in _INTEGER_SEPARATORS.split(stream.read()) if t]
    odd = [t for t in tokens if not _INTEGER.match(t)]
    if odd:
        raise ValueError('%s: expected integer labels, found %s' % (path, ', '.join(repr(t) for t in odd[:3])))
    values = np.array([int(float(t)) for t in tokens], np.int64)
    if expected_count is not None and len(values) != expected_count:
        raise ValueError('%s has %d labels for %d frames' % (path, len(values), expected_count))
    return values


def single_track_video(name, images, gt_path, boxes, bad_rows, flags):
    """The one-track Video ('0') of a sequence with per-frame box rows and per-frame skip flags (GOT-10k, LaSOT).

    Args:
      name: video name.
      images: [(frame index, image path)] in frame order.
      gt_path: the box file (for the error message).
      boxes, bad_rows: read_box_rows(gt_path).
      flags: [(reason, per-frame bool array)] in priority order; a frame skips with 'bad_row' when its row is bad,
          else with the first reason whose flag is set.
    Raises ValueError naming the file when the row and image counts differ.
    """
    if len(boxes) != len(images):
        folder = os.path.dirname(images[0][1]) if images else '(no images)'
        raise ValueError('%s: %d ground-truth rows for %d images in %s' % (gt_path, len(boxes), len(images), folder))
    frames = []
    for row, ((index, image_path), box) in enumerate(zip(images, boxes)):
        skip = SKIP_BAD_ROW if row in bad_rows else next((reason for reason, flag in flags if flag[row]), None)
        frames.append(Frame(image_path, box, index, None, skip))
    return Video(name, [Track('0', frames)], None, [bad_rows[row] for row in sorted(bad_rows)])
