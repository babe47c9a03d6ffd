"""The frame loop shared by every tracker of the project's interface (init(image, box) / update(image) -> box)."""

import time

import numpy as np
from tqdm import tqdm

from utils.image_io import read_image


def track_files(tracker, img_files, box, progress=False, description=None):
    """Tracks `box` (0-based x,y,w,h in the first image) through `img_files` -> (boxes [N, 4], times [N] seconds).

    Images are read by utils.image_io.read_image (BGR uint8; an unreadable or truncated file is an ImageDecodeError
    naming it); reading is not timed, times[0] is the init call. Frame 1's box is the given box. progress shows a
    tqdm bar named `description` (default the tracker's name).
    """
    count = len(img_files)
    boxes = np.zeros((count, 4))
    times = np.zeros(count)
    name = getattr(tracker, 'name', type(tracker).__name__)
    bar = tqdm(total=count, desc=description or name, unit='frame', leave=False, disable=not progress,
               mininterval=0.5, dynamic_ncols=True)
    try:
        for index, path in enumerate(img_files):
            image = read_image(path)
            start = time.perf_counter()
            if index == 0:
                tracker.init(image, np.array(box, dtype=np.float64))
                result = box
            else:
                result = tracker.update(image)
            times[index] = time.perf_counter() - start
            result = np.asarray(result, dtype=np.float64).reshape(-1)
            if result.shape != (4,):
                raise ValueError('tracker %s returned %r for %s, expected x,y,w,h' % (name, result, path))
            boxes[index] = result
            bar.update(1)
    finally:
        bar.close()
    return boxes, times
