"""OTB-layout folders: `<root>/<seq>/img/*.jpg` plus `groundtruth_rect.txt` (1-based x,y,w,h, one row per frame).

Covers OTB100 as downloaded, UAV123/DTB70 sequences converted to this layout (NaN rows for out-of-view frames), and
the embedded synthetic dataset.
  * Frames are the image files sorted by number; a file's number (e.g. 000303 in 000303.jpg) is its original frame
    index, so numbering may start above 1. Non-numeric names are numbered by position from 1.
  * `groundtruth_rect.txt` gives track '0'; `groundtruth_rect.<k>.txt` files (e.g. Jogging's .1 and .2) give
    tracks '<k>'.
  * The ground-truth rows must match the frames one to one. Sequences whose annotations cover a sub-range of the
    images (e.g. OTB100's David starts at image 300) need `frame_ranges={'David': (300, 770)}`; a mismatch without
    a range is an error for that sequence that names the file and both counts.
"""

import os
import re

from datasets.sources.base import Frame, SequenceSource, Track, Video
from utils.box_io import read_otb_boxes

IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp')
_GROUNDTRUTH = re.compile(r'^groundtruth_rect(?:\.(\w+))?\.txt$')


def numbered_images(folder):
    """Sorted [(frame index, path)] of the image files in `folder` (index from the file number, else position)."""
    names = [n for n in os.listdir(folder) if n.lower().endswith(IMAGE_EXTENSIONS) and not n.startswith('.')]
    stems = [os.path.splitext(n)[0] for n in names]
    if names and all(s.isdigit() for s in stems):
        pairs = sorted((int(s), os.path.join(folder, n)) for s, n in zip(stems, names))
        indices = [i for i, _ in pairs]
        if len(set(indices)) != len(indices):
            raise ValueError('%s: two image files share a frame number' % folder)
        return pairs
    return [(position + 1, os.path.join(folder, n)) for position, n in enumerate(sorted(names))]


class OTBSource(SequenceSource):
    """Parser of OTB-layout folders (see the module docstring)."""

    def __init__(self, root, name='otb', frame_ranges=None):
        """
        Args:
          root: folder holding one sub-folder per sequence.
          name: source dataset name recorded in the imdb.
          frame_ranges: optional {sequence: (first, last)} inclusive frame numbers the ground truth covers.
        """
        if not os.path.isdir(root):
            raise ValueError('OTB-layout root folder not found: %s' % root)
        self.root = root
        self.name = name
        self.frame_ranges = dict(frame_ranges or {})

    def describe(self):
        description = super(OTBSource, self).describe()
        description.update({'layout': 'otb', 'root': self.root})
        return description

    def video_names(self):
        names = []
        for name in sorted(os.listdir(self.root)):
            folder = os.path.join(self.root, name)
            if name.startswith('.') or not os.path.isdir(os.path.join(folder, 'img')):
                continue
            if any(_GROUNDTRUTH.match(f) for f in os.listdir(folder)):
                names.append(name)
        return names

    def groundtruth_files(self, name):
        """Sorted [(track id, path)] of the ground-truth files of sequence `name`."""
        folder = os.path.join(self.root, name)
        files = []
        for file_name in os.listdir(folder):
            match = _GROUNDTRUTH.match(file_name)
            if match:
                files.append((match.group(1) or '0', os.path.join(folder, file_name)))
        if not files:
            raise ValueError('%s: no groundtruth_rect*.txt file' % folder)
        return sorted(files)

    def load_video(self, name):
        images = numbered_images(os.path.join(self.root, name, 'img'))
        if name in self.frame_ranges:
            first, last = self.frame_ranges[name]
            images = [(index, path) for index, path in images if first <= index <= last]
        tracks = []
        for track_id, path in self.groundtruth_files(name):
            boxes = read_otb_boxes(path)
            if len(boxes) != len(images):
                raise ValueError('%s: %d ground-truth rows for %d images in %s%s' % (
                    path, len(boxes), len(images), os.path.join(self.root, name, 'img'),
                    '' if name in self.frame_ranges else ' (give frame_ranges for sub-range sequences)'))
            frames = [Frame(image_path, box, index, None, None) for (index, image_path), box in zip(images, boxes)]
            tracks.append(Track(track_id, frames))
        return Video(name, tracks)
