"""GOT-10k in the layout of its release: `<root>/train/GOT-10k_Train_NNNNNN/` (and val/).

Conventions, with their sources:
  * Layout (GOT-10k toolkit, got10k/datasets/got10k.py): `<root>/<subset>/list.txt` names the sequence folders;
    a folder holds the frames `00000001.jpg ...` (sorted file names = frame order), `groundtruth.txt` with one
    comma-separated `x,y,w,h` row per frame, `meta_info.ini` and the per-frame labels `absence.label`,
    `cover.label` and `cut_by_image.label`, one integer per line.
  * Coordinates are 1-based: the dataset's author answers "All coordinate values are 1-based" for
    `<bb_left>, <bb_top>, <bb_width>, <bb_height>` (got-10k/toolkit issue #6). utils/box_io.py shifts them to 0-based.
  * absence.label is 1 where the target is absent; cover.label is the visible-ratio level 0..8 (got-10k/toolkit
    issue #20; visible ratio = level / 8 as pytracking's GOT-10k loader computes it). The toolkit evaluates only
    frames with cover > 0 (got10k/experiments/got10k.py: `covers[seq_name] > 0`), so the default threshold
    `min_cover=1` keeps exactly the frames the toolkit counts as visible.
  * The test split keeps its annotations on the evaluation server (its groundtruth.txt has the first box only);
    it cannot be curated and is refused with a clear error.

Skip reasons: 'absent' (absence.label 1), 'low_visibility' (cover.label below `min_cover`), 'bad_row' (a
groundtruth.txt row that is not 4 numbers; named in the summary's problems).
"""

import os

from datasets.otb_layout import numbered_images
from datasets.sources.base import SequenceSource
from datasets.sources.common import read_box_rows, read_integer_labels, single_track_video

GROUNDTRUTH = 'groundtruth.txt'
MAX_COVER = 8


def _sequence_folders(folder):
    """Sorted names of the sub-folders of `folder` that hold a groundtruth.txt."""
    if not os.path.isdir(folder):
        return []
    return sorted(n for n in os.listdir(folder)
                  if not n.startswith('.') and os.path.isfile(os.path.join(folder, n, GROUNDTRUTH)))


class GOT10kSource(SequenceSource):
    """GOT-10k sequences: one video and one track ('0') per sequence folder (see the module docstring)."""

    def __init__(self, root, name='got10k', subsets=('train',), min_cover=1):
        """
        Args:
          root: the GOT-10k folder holding train/ (and val/), or one split folder itself.
          name: source name recorded in the imdb.
          subsets: split folders to read when `root` holds them ('train'; 'val' is a benchmark, add it knowingly).
          min_cover: frames whose cover.label level (0..8, visible ratio ~ level / 8) is below this are skipped;
              1 keeps what the toolkit counts as visible, 0 keeps every present frame.
        """
        if not os.path.isdir(root):
            raise ValueError('GOT-10k root folder not found: %s' % root)
        if not 0 <= int(min_cover) <= MAX_COVER:
            raise ValueError('GOT-10k min_cover must be a cover.label level in 0..%d, got %r' % (MAX_COVER, min_cover))
        self.root = root
        self.name = name
        self.subsets = tuple(subsets)
        self.min_cover = int(min_cover)
        if _sequence_folders(root):
            self.split_dirs = [root]  # root is a split folder
        else:
            self.split_dirs = [os.path.join(root, s) for s in self.subsets]
            missing = [d for d in self.split_dirs if not os.path.isdir(d)]
            if missing:
                raise ValueError('GOT-10k split folder(s) %s not found: expected %s/<split>/GOT-10k_<Split>_NNNNNN/'
                                 'groundtruth.txt' % (', '.join(missing), root))

    def describe(self):
        description = super(GOT10kSource, self).describe()
        description.update({'layout': 'got10k', 'root': self.root, 'subsets': list(self.subsets),
                            'min_cover': self.min_cover})
        return description

    def video_names(self):
        names = []
        for split_dir in self.split_dirs:
            names.extend(_sequence_folders(split_dir))
        if len(set(names)) != len(names):
            raise ValueError('GOT-10k: a sequence name occurs in two splits of %s' % self.root)
        return sorted(names)

    def _folder(self, name):
        for split_dir in self.split_dirs:
            folder = os.path.join(split_dir, name)
            if os.path.isdir(folder):
                return folder
        raise ValueError('GOT-10k sequence %s not found in %s' % (name, ', '.join(self.split_dirs)))

    def load_video(self, name):
        folder = self._folder(name)
        images = numbered_images(folder, name)
        gt_path = os.path.join(folder, GROUNDTRUTH)
        boxes, bad_rows = read_box_rows(gt_path)
        if len(boxes) == 1 and len(images) > 1:
            raise ValueError('%s has only the first-frame box (the GOT-10k test split keeps its annotations on the '
                             'evaluation server); it cannot be curated' % gt_path)
        absence = read_integer_labels(os.path.join(folder, 'absence.label'), len(images))
        cover = read_integer_labels(os.path.join(folder, 'cover.label'), len(images))
        return single_track_video(name, images, gt_path, boxes, bad_rows,
                                  [('absent', absence != 0), ('low_visibility', cover < self.min_cover)])
