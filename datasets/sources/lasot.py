"""LaSOT in the layout of its release: `<root>/<class>/<class>-<n>/img/00000001.jpg` with per-sequence annotations.

Conventions, with their sources:
  * Layout (GOT-10k toolkit, got10k/datasets/lasot.py; pytracking's LaSOT loader reads the same files): a sequence
    folder holds `img/` (frames in file-name order), `groundtruth.txt` (one comma-separated `x,y,w,h` row per
    frame), `full_occlusion.txt` and `out_of_view.txt` (one comma-separated line with a 0/1 flag per frame, read by
    the toolkit with `np.loadtxt(..., delimiter=',')`) and `nlp.txt`. A flat `<root>/<class>-<n>/` folder (some
    mirrors unpack one class per archive) is read too.
  * Coordinates are 1-based (LaSOT_Evaluation_Toolkit issue 14; docs/evaluation.md, benchmark conventions), shifted to
    0-based by utils/box_io.py.
  * Splits: protocol II trains on 1,120 sequences and tests on 280, four per class (LaSOT, CVPR 2019, section 3.5).
    The test sequences below are those of the toolkit's split file (got10k/datasets/lasot.json, "test"); the
    default `split='train'` leaves them out so a tracker curated here can be evaluated on LaSOT.

Skip reasons: 'out_of_view' (out_of_view.txt flag; takes precedence when both flags are set), 'full_occlusion'
(full_occlusion.txt flag), 'bad_row' (a groundtruth.txt row that is not 4 numbers; named in the summary).
"""

import os

from datasets.otb_layout import numbered_images
from datasets.sources.base import SequenceSource
from datasets.sources.common import read_box_rows, read_integer_labels, single_track_video

GROUNDTRUTH = 'groundtruth.txt'
SPLITS = ('train', 'test', 'all')

# Protocol II test sequences, by class (sequence '<class>-<n>'): 70 classes x 4 = 280.
LASOT_TEST_SEQUENCES = {
    'airplane': (1, 9, 13, 15), 'basketball': (1, 6, 7, 11), 'bear': (2, 4, 6, 17), 'bicycle': (2, 7, 9, 18),
    'bird': (2, 3, 15, 17), 'boat': (3, 4, 12, 17), 'book': (3, 10, 11, 19), 'bottle': (1, 12, 14, 18),
    'bus': (2, 5, 17, 19), 'car': (2, 6, 9, 17), 'cat': (1, 3, 18, 20), 'cattle': (2, 7, 12, 13),
    'chameleon': (3, 6, 11, 20), 'coin': (3, 6, 7, 18), 'crab': (3, 6, 12, 18), 'crocodile': (3, 4, 10, 14),
    'cup': (1, 4, 7, 17), 'deer': (4, 8, 10, 14), 'dog': (1, 7, 15, 19), 'drone': (2, 7, 13, 15),
    'electricfan': (1, 10, 18, 20), 'elephant': (1, 12, 16, 18), 'flag': (2, 3, 5, 9), 'fox': (2, 3, 5, 20),
    'frog': (3, 4, 9, 20), 'gametarget': (1, 2, 7, 13), 'gecko': (1, 5, 16, 19), 'giraffe': (2, 10, 13, 15),
    'goldfish': (3, 7, 8, 10), 'gorilla': (4, 6, 9, 13), 'guitar': (3, 8, 10, 16), 'hand': (2, 3, 9, 16),
    'hat': (1, 2, 5, 18), 'helmet': (5, 11, 13, 19), 'hippo': (1, 7, 9, 20), 'horse': (1, 4, 12, 15),
    'kangaroo': (2, 5, 11, 14), 'kite': (4, 6, 10, 15), 'leopard': (1, 7, 16, 20), 'licenseplate': (6, 12, 13, 15),
    'lion': (1, 5, 12, 20), 'lizard': (1, 3, 6, 13), 'microphone': (2, 6, 14, 16), 'monkey': (3, 4, 9, 17),
    'motorcycle': (1, 3, 9, 18), 'mouse': (1, 8, 9, 17), 'person': (1, 5, 10, 12), 'pig': (2, 10, 13, 18),
    'pool': (3, 7, 12, 15), 'rabbit': (10, 13, 17, 19), 'racing': (10, 15, 16, 20), 'robot': (1, 5, 8, 19),
    'rubicCube': (1, 6, 14, 19), 'sepia': (6, 8, 13, 16), 'shark': (2, 3, 5, 6), 'sheep': (3, 5, 7, 9),
    'skateboard': (3, 8, 16, 19), 'spider': (14, 16, 18, 20), 'squirrel': (8, 11, 13, 19),
    'surfboard': (4, 5, 8, 12), 'swing': (10, 14, 17, 20), 'tank': (6, 9, 14, 16), 'tiger': (4, 6, 12, 18),
    'train': (1, 7, 11, 20), 'truck': (3, 6, 7, 16), 'turtle': (5, 8, 9, 16), 'umbrella': (2, 9, 17, 19),
    'volleyball': (1, 13, 18, 19), 'yoyo': (7, 15, 17, 19), 'zebra': (10, 14, 16, 17),
}


def is_test_sequence(name):
    """True for the 280 protocol II test sequences (e.g. 'airplane-1')."""
    category, _, number = name.rpartition('-')
    return number.isdigit() and int(number) in LASOT_TEST_SEQUENCES.get(category, ())


def _is_sequence(folder):
    return os.path.isfile(os.path.join(folder, GROUNDTRUTH)) and os.path.isdir(os.path.join(folder, 'img'))


class LaSOTSource(SequenceSource):
    """LaSOT sequences: one video and one track ('0') per sequence (see the module docstring)."""

    def __init__(self, root, name='lasot', split='train'):
        """
        Args:
          root: the LaSOT folder holding <class>/<class>-<n>/ (or <class>-<n>/ directly).
          name: source name recorded in the imdb.
          split: 'train' (protocol II training set, the default), 'test' (its 280 test sequences) or 'all'.
        """
        if not os.path.isdir(root):
            raise ValueError('LaSOT root folder not found: %s' % root)
        if split not in SPLITS:
            raise ValueError('LaSOT split must be one of %s, got %r' % (SPLITS, split))
        self.root = root
        self.name = name
        self.split = split

    def describe(self):
        description = super(LaSOTSource, self).describe()
        description.update({'layout': 'lasot', 'root': self.root, 'split': self.split})
        return description

    def _folders(self):
        """{sequence name: folder} of every sequence under the root."""
        folders = {}
        for entry in sorted(os.listdir(self.root)):
            path = os.path.join(self.root, entry)
            if entry.startswith('.') or not os.path.isdir(path):
                continue
            if _is_sequence(path):
                folders[entry] = path
                continue
            for child in sorted(os.listdir(path)):
                if not child.startswith('.') and _is_sequence(os.path.join(path, child)):
                    folders[child] = os.path.join(path, child)
        return folders

    def video_names(self):
        names = sorted(self._folders())
        if self.split == 'train':
            return [n for n in names if not is_test_sequence(n)]
        if self.split == 'test':
            return [n for n in names if is_test_sequence(n)]
        return names

    def _folder(self, name):
        for candidate in (os.path.join(self.root, name.rpartition('-')[0], name), os.path.join(self.root, name)):
            if _is_sequence(candidate):
                return candidate
        raise ValueError('LaSOT sequence %s not found under %s' % (name, self.root))

    def load_video(self, name):
        folder = self._folder(name)
        images = numbered_images(os.path.join(folder, 'img'), name)
        gt_path = os.path.join(folder, GROUNDTRUTH)
        boxes, bad_rows = read_box_rows(gt_path)
        occluded = read_integer_labels(os.path.join(folder, 'full_occlusion.txt'), len(images))
        out_of_view = read_integer_labels(os.path.join(folder, 'out_of_view.txt'), len(images))
        return single_track_video(name, images, gt_path, boxes, bad_rows,
                                  [('out_of_view', out_of_view != 0), ('full_occlusion', occluded != 0)])
