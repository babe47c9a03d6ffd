"""OTB-layout sequence folders: `<seq>/img/*.jpg` (any numbering) and `<seq>/groundtruth_rect.txt` (1-based)."""

import glob
import os

from utils.box_io import read_otb_boxes

IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp')
GROUNDTRUTH_NAMES = ('groundtruth_rect.txt', 'groundtruth.txt')


def list_images(img_dir):
    """Sorted image paths in a folder (sorted by name; OTB zero-pads frame numbers, which may start above 1)."""
    if not os.path.isdir(img_dir):
        raise IOError('image folder not found: %s' % img_dir)
    files = sorted(f for f in glob.glob(os.path.join(img_dir, '*')) if f.lower().endswith(IMAGE_EXTENSIONS))
    if not files:
        raise IOError('no images (%s) in %s' % ('/'.join(IMAGE_EXTENSIONS), img_dir))
    return files


def load_otb_sequence(seq_dir):
    """Reads an OTB-layout folder -> (image paths, [N, 4] 0-based x,y,w,h ground truth, NaN rows kept)."""
    img_files = list_images(os.path.join(seq_dir, 'img'))
    for name in GROUNDTRUTH_NAMES:
        path = os.path.join(seq_dir, name)
        if os.path.isfile(path):
            return img_files, read_otb_boxes(path)
    raise IOError('no ground truth in %s: expected one of %s' % (seq_dir, ', '.join(GROUNDTRUTH_NAMES)))
