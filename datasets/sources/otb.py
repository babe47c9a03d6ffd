"""OTB-layout folders for curation: `<root>/<seq>/img/*.jpg` plus `groundtruth_rect.txt` (1-based x,y,w,h rows).

Covers OTB100 as downloaded, UAV123/DTB70 sequences converted to this layout (NaN rows for out-of-view frames), and
the embedded synthetic dataset. The layout itself (frame numbering, annotation file names) is read by
datasets/otb_layout.py, as the benchmarks read it.
  * Frames are the image files sorted by number; a file's number (e.g. 000303 in 000303.jpg) is its original frame
    index, so numbering may start above 1. A folder without numbered names is numbered by name order from 1.
  * `groundtruth_rect.txt` gives track '0'; `groundtruth_rect.<k>.txt` (or `groundtruth_rect<k>.txt`) files, e.g.
    Jogging's .1 and .2, give tracks '<k>'.
  * The ground-truth rows must match the frames one to one. Sequences whose annotations cover a sub-range of the
    images (e.g. OTB100's David starts at image 300) need `frame_ranges={'David': (300, 770)}` (every image of the
    range must exist); a mismatch without a range is an error for that sequence that names the file and both counts.
"""

import os

from datasets.otb_layout import IMAGE_FOLDER, annotation_files, frames_in_range, has_annotations, numbered_images
from datasets.sources.base import Frame, SequenceSource, Track, Video
from utils.box_io import read_otb_boxes


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
            if name.startswith('.') or not os.path.isdir(os.path.join(folder, IMAGE_FOLDER)):
                continue
            if has_annotations(folder):
                names.append(name)
        return names

    def groundtruth_files(self, name):
        """Sorted [(track id, path)] of the ground-truth files of sequence `name`."""
        folder = os.path.join(self.root, name)
        files = [('0' if target is None else target, path) for target, path in annotation_files(folder)]
        if not files:
            raise ValueError('%s: no groundtruth_rect*.txt file' % folder)
        return sorted(files)

    def load_video(self, name):
        images = numbered_images(os.path.join(self.root, name, IMAGE_FOLDER), name)
        if name in self.frame_ranges:
            first, last = self.frame_ranges[name]
            images = frames_in_range(images, first, last, name)
        tracks = []
        for track_id, path in self.groundtruth_files(name):
            boxes = read_otb_boxes(path)
            if len(boxes) != len(images):
                raise ValueError('%s: %d ground-truth rows for %d images in %s%s' % (
                    path, len(boxes), len(images), os.path.join(self.root, name, IMAGE_FOLDER),
                    '' if name in self.frame_ranges else ' (give frame_ranges for sub-range sequences)'))
            frames = [Frame(image_path, box, index, None, None) for (index, image_path), box in zip(images, boxes)]
            tracks.append(Track(track_id, frames))
        return Video(name, tracks)
