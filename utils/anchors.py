"""SiamRPN anchors, generated as DaSiamRPN does.

Anchors live in the *anchor frame*: cx, cy are offsets in search-image pixels from the centre of the search image
(continuous coordinate size / 2, i.e. pixel index (size - 1) / 2), w, h are sizes in search-image pixels.
"""

import numpy as np


def score_size(instance_size, exemplar_size, stride):
    """Side of the score map: (x - z) / stride + 1, e.g. 17 at 255, 19 at 271, 21 at 287 (z = 127, stride 8)."""
    if (instance_size - exemplar_size) % stride:
        raise ValueError('instance_size - exemplar_size must be a multiple of the stride %d, got %d - %d'
                         % (stride, instance_size, exemplar_size))
    return (instance_size - exemplar_size) // stride + 1


def anchor_shapes(stride, ratios, scales):
    """[k, 2] anchor widths and heights in ratio-major order: ws = int(sqrt(stride^2 / r)), hs = int(ws * r), x scale."""
    shapes = []
    for ratio in ratios:
        ws = int(np.sqrt(stride * stride / ratio))
        hs = int(ws * ratio)
        for scale in scales:
            shapes.append((ws * scale, hs * scale))
    return np.array(shapes, dtype=np.float32)


def generate_anchors(stride, ratios, scales, size):
    """All anchors of a size x size score map.

    Returns:
      [size * size * k, 4] float32 cx,cy,w,h in the anchor frame; row n = (y * size + x) * k + a, the order of the
      flattened RPN outputs. Cell (y, x) is centred at ((x - size // 2) * stride, (y - size // 2) * stride).
    """
    shapes = anchor_shapes(stride, ratios, scales)
    k = len(shapes)
    offsets = (np.arange(size) - size // 2) * stride
    cy, cx = np.meshgrid(offsets, offsets, indexing='ij')
    anchors = np.zeros((size, size, k, 4), dtype=np.float32)
    anchors[..., 0] = cx[:, :, None]
    anchors[..., 1] = cy[:, :, None]
    anchors[..., 2] = shapes[:, 0]
    anchors[..., 3] = shapes[:, 1]
    return anchors.reshape(-1, 4)


def image_to_anchor_frame(boxes, image_size):
    """cx,cy,w,h boxes in search-image coordinates -> anchor frame (works on numpy arrays and TF tensors)."""
    return boxes - np.array([image_size / 2., image_size / 2., 0., 0.], dtype=np.float32)


def anchor_to_image_frame(boxes, image_size):
    """Inverse of `image_to_anchor_frame`."""
    return boxes + np.array([image_size / 2., image_size / 2., 0., 0.], dtype=np.float32)
