"""SiamFC-style crop geometry: context sizes, axis-aligned crop transforms, warping, and box mapping.

All coordinates are 0-based continuous pixels (pixel i covers [i, i + 1); an image of side S spans [0, S] and its
centre is S / 2). A crop transform is a 2x3 float64 matrix `[[ax, 0, tx], [0, ay, ty]]` mapping a continuous source
point p to `a * p + t` in the output; a negative `ax` mirrors the output horizontally. `warp` converts it to the
pixel-index matrix OpenCV expects, so images and boxes go through exactly the same mapping.
"""

import cv2
import numpy as np


def context_side(w, h, context_amount=0.5):
    """Side of the square context region of a w x h target: sqrt((w + p)(h + p)), p = context_amount * (w + h)."""
    p = context_amount * (np.asarray(w, np.float64) + np.asarray(h, np.float64))
    return np.sqrt((w + p) * (h + p))


def crop_transform(center, region_size, out_size, flip=False):
    """2x3 continuous transform mapping the region of `region_size` centred at `center` onto an `out_size` image.

    Args:
      center: (cx, cy) of the region in source pixels.
      region_size: side (scalar) or (width, height) of the region in source pixels.
      out_size: side (scalar) or (width, height) of the output image.
      flip: mirror the output horizontally.
    Returns:
      [2, 3] float64 matrix; the region's centre lands on the output centre (out_w / 2, out_h / 2).
    """
    region_w, region_h = np.broadcast_to(np.asarray(region_size, np.float64), (2,))
    out_w, out_h = np.broadcast_to(np.asarray(out_size, np.float64), (2,))
    if region_w <= 0 or region_h <= 0:
        raise ValueError('crop region must have a positive size, got %r' % (region_size,))
    ax, ay = out_w / region_w, out_h / region_h
    if flip:
        ax = -ax
    cx, cy = float(center[0]), float(center[1])
    return np.array([[ax, 0., out_w / 2. - ax * cx], [0., ay, out_h / 2. - ay * cy]], np.float64)


def warp(image, matrix, out_size, pad_color=None, interpolation=cv2.INTER_LINEAR):
    """Applies a continuous 2x3 transform to `image` [H, W, C] -> [out_h, out_w, C] (same dtype).

    Areas outside the source are filled with `pad_color` (per channel; default: the image's mean colour).
    """
    out_w, out_h = (int(v) for v in np.broadcast_to(np.asarray(out_size), (2,)))
    if pad_color is None:
        pad_color = mean_color(image)
    linear = matrix[:, :2]
    # Continuous p = index + 0.5 on both sides: index_out = A index_src + (A [0.5, 0.5] + t - 0.5).
    offset = linear @ np.array([0.5, 0.5]) + matrix[:, 2] - 0.5
    index_matrix = np.hstack([linear, offset[:, None]]).astype(np.float64)
    border = tuple(float(v) for v in np.broadcast_to(np.asarray(pad_color, np.float64), (image.shape[2],)))
    return cv2.warpAffine(image, index_matrix, (out_w, out_h), flags=interpolation,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=border)


def transform_boxes(boxes, matrix):
    """Maps [..., 4] 0-based x,y,w,h boxes through a 2x3 axis-aligned transform -> [..., 4] x,y,w,h float64."""
    boxes = np.asarray(boxes, np.float64)
    x1, y1 = boxes[..., 0], boxes[..., 1]
    x2, y2 = x1 + boxes[..., 2], y1 + boxes[..., 3]
    (ax, _, tx), (_, ay, ty) = matrix
    u1, u2 = ax * x1 + tx, ax * x2 + tx
    v1, v2 = ay * y1 + ty, ay * y2 + ty
    left, top = np.minimum(u1, u2), np.minimum(v1, v2)
    return np.stack([left, top, np.maximum(u1, u2) - left, np.maximum(v1, v2) - top], axis=-1)


def mean_color(image):
    """Per-channel mean of `image` [H, W, C] (C <= 4) as a float64 array [C] (the padding colour of SiamFC crops)."""
    channels = image.shape[2] if image.ndim == 3 else 1
    return np.array(cv2.mean(image)[:channels], np.float64)
