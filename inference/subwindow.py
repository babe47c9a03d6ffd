"""DaSiamRPN's crop of a square context region, reproduced exactly (get_subwindow_tracking).

Geometry (0-based pixel indices, as DaSiamRPN): for a region of side `sz` around `pos`,
  c = (sz + 1) / 2,  xmin = round(pos_x - c),  xmax = xmin + sz - 1   (same for y),
so the crop holds pixel indices xmin..xmax. In continuous coordinates (pixel i covers [i, i + 1)) this region is
centred half a pixel left of / above `pos`; that offset is DaSiamRPN's, and reproducing it is what makes converted
weights track frame for frame like the original.

`round` is Python 2's (DaSiamRPN ran on Python 2): halves round away from zero, so round(2.5) = 3 and
round(-2.5) = -3, where Python 3's round() and numpy round halves to even.

Parts of the region outside the frame are filled with the frame's per-channel mean colour truncated to uint8
(DaSiamRPN writes the float mean into a uint8 buffer), and the region is resized to the model size with
cv2.resize's default bilinear interpolation, in uint8.
"""

import math

import cv2
import numpy as np


def round_half_away(value):
    """Python 2's round() to an integer-valued float: halves go away from zero (2.5 -> 3.0, -2.5 -> -3.0)."""
    magnitude = abs(value)
    rounded = math.floor(magnitude)
    if magnitude - rounded >= 0.5:
        rounded += 1.
    return math.copysign(rounded, value) if rounded else 0.


def pad_colour(image):
    """[3] uint8 padding colour of a frame: its per-channel mean, truncated as DaSiamRPN's uint8 buffer does."""
    return np.mean(image, axis=(0, 1)).astype(np.uint8)


def get_subwindow(image, pos, model_size, original_size, colour):
    """Crops the `original_size` square around `pos` and resizes it to `model_size`.

    Args:
      image: [H, W, 3] uint8 BGR frame.
      pos: (x, y) centre, 0-based.
      model_size: side of the output crop (127, 271, 287).
      original_size: side of the region in frame pixels; an integer value (DaSiamRPN rounds it before cropping).
      colour: [3] uint8 padding colour (see `pad_colour`).
    Returns:
      [model_size, model_size, 3] uint8 crop.
    """
    size = int(original_size)
    if size < 1 or size != original_size:
        raise ValueError('the crop side must be a positive integer, got %r' % (original_size,))
    height, width = image.shape[:2]
    c = (size + 1) / 2.
    xmin = int(round_half_away(pos[0] - c))
    ymin = int(round_half_away(pos[1] - c))
    xmax, ymax = xmin + size - 1, ymin + size - 1
    left, top = max(0, -xmin), max(0, -ymin)
    right, bottom = max(0, xmax - width + 1), max(0, ymax - height + 1)
    if left or top or right or bottom:
        x0, x1 = max(xmin, 0), min(xmax + 1, width)
        y0, y1 = max(ymin, 0), min(ymax + 1, height)
        patch = np.empty((size, size, 3), np.uint8)
        patch[...] = colour
        if x1 > x0 and y1 > y0:
            patch[y0 - ymin:y1 - ymin, x0 - xmin:x1 - xmin] = image[y0:y1, x0:x1]
    else:
        patch = image[ymin:ymax + 1, xmin:xmax + 1]
    if size != model_size:
        patch = cv2.resize(patch, (model_size, model_size))
    return np.ascontiguousarray(patch)


def batch_of_one(crop, size):
    """[size, size, 3] crop -> [1, size, size, 3] network input, checking its shape (a clear error otherwise)."""
    crop = np.asarray(crop)
    if crop.shape != (size, size, 3):
        raise ValueError('expected a %dx%dx3 crop, got shape %s' % (size, size, crop.shape))
    return crop[None]
