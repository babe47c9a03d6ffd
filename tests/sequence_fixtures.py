"""Test helpers for benchmark code: generated sequences in the public layouts and deterministic test trackers."""

import os

import cv2
import numpy as np

from utils.box_io import write_otb_boxes


def moving_boxes(count, seed=0, size=(96, 72), start=None, box_size=(20., 16.)):
    """[count, 4] 0-based x,y,w,h boxes that drift smoothly inside an image of `size` (W, H); integer-valued."""
    rng = np.random.RandomState(seed)
    width, height = size
    w, h = box_size
    x, y = start if start is not None else (rng.randint(0, width - w), rng.randint(0, height - h))
    boxes = []
    for _ in range(count):
        boxes.append([x, y, w, h])
        x = float(np.clip(x + rng.randint(-2, 3), 0, width - w))
        y = float(np.clip(y + rng.randint(-2, 3), 0, height - h))
    return np.array(boxes, dtype=np.float64)


def render_frame(box, size=(96, 72), seed=0):
    """A BGR uint8 frame (W, H = size): smooth noise, with a bright checkered target filling `box` (0-based)."""
    rng = np.random.RandomState(seed)
    width, height = size
    small = rng.randint(0, 90, size=(height // 8 + 1, width // 8 + 1, 3)).astype(np.uint8)
    image = cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)
    if np.all(np.isfinite(box)):
        x, y, w, h = [int(round(v)) for v in box]
        region = image[max(y, 0):min(y + h, height), max(x, 0):min(x + w, width)]
        region[...] = 230
        region[::4, ::4] = (40, 200, 255)
    return image


def write_images(folder, numbers, boxes=None, size=(96, 72), digits=4, ext='.jpg', empty=False):
    """Writes frames numbered `numbers` into folder (zero-padded to `digits`) -> list of paths.

    With empty=True the files are empty (for layout tests that never decode images); otherwise each frame shows
    its box of `boxes` (aligned with numbers).
    """
    os.makedirs(folder, exist_ok=True)
    paths = []
    for index, number in enumerate(numbers):
        path = os.path.join(folder, '%0*d%s' % (digits, number, ext))
        if empty:
            open(path, 'w').close()
        else:
            box = boxes[index] if boxes is not None else np.full(4, np.nan)
            cv2.imwrite(path, render_frame(box, size, seed=number))
        paths.append(path)
    return paths


def write_otb_sequence(root, name, gt_boxes, size=(96, 72), first_number=1, digits=4, empty_images=False,
                       annotation='groundtruth_rect.txt'):
    """An OTB-layout sequence <root>/<name>/img/*.jpg + annotation (1-based, via box_io) -> sequence folder."""
    folder = os.path.join(root, name)
    numbers = list(range(first_number, first_number + len(gt_boxes)))
    write_images(os.path.join(folder, 'img'), numbers, gt_boxes, size, digits, empty=empty_images)
    write_otb_boxes(os.path.join(folder, annotation), gt_boxes)
    return folder


class GroundTruthReplayTracker(object):
    """A deterministic test tracker: it recognises the sequence by its init box and replays that sequence's ground
    truth plus a fixed `offset` (x, y, w, h), ignoring the images. Counts its init calls per sequence."""

    def __init__(self, sequences, offset=(0., 0., 0., 0.), name='Replay'):
        self.name = name
        self.sequences = list(sequences)
        self.offset = np.asarray(offset, dtype=np.float64)
        self.inits = []
        self.closed = False
        self._boxes, self._index = None, 0

    def init(self, image, box):
        matches = [s for s in self.sequences if np.allclose(s.gt_boxes[0], box)]
        if len(matches) != 1:
            raise ValueError('replay tracker: %d sequences start with box %s' % (len(matches), box))
        self.inits.append(matches[0].name)
        self._boxes, self._index = matches[0].gt_boxes + self.offset, 0

    def update(self, image):
        self._index += 1
        return self._boxes[self._index]

    def close(self):
        self.closed = True
