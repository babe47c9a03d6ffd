"""Box format conversions and IoU, for numpy arrays and TF tensors alike.

Formats (all 0-based continuous pixel coordinates, pixel i covering [i, i + 1)):
  * xywh:   x, y of the top-left corner, width, height (what the tracker and metrics exchange);
  * cxcywh: centre x, centre y, width, height (what anchors, box coding and the model use);
  * xyxy:   x1, y1, x2, y2 corners.
Boxes are [..., 4]; functions broadcast over leading dimensions and return the input's kind (numpy or TF).
"""

import numpy as np
import tensorflow as tf


class _NumpyOps(object):
    maximum, minimum, log, exp, where = np.maximum, np.minimum, np.log, np.exp, np.where

    @staticmethod
    def split(boxes):
        boxes = np.asarray(boxes)
        return [boxes[..., i] for i in range(4)]

    @staticmethod
    def stack(parts):
        return np.stack(parts, axis=-1)


class _TFOps(object):
    maximum, minimum, log, exp, where = tf.maximum, tf.minimum, tf.math.log, tf.exp, tf.where

    @staticmethod
    def split(boxes):
        return tf.unstack(boxes, num=4, axis=-1)

    @staticmethod
    def stack(parts):
        return tf.stack(parts, axis=-1)


def ops_for(*values):
    """Returns the numpy or TF op set, TF if any value is a tensor or variable."""
    if any(isinstance(v, (tf.Tensor, tf.Variable)) for v in values):
        return _TFOps
    return _NumpyOps


def xywh_to_cxcywh(boxes):
    """[..., 4] x,y,w,h -> cx,cy,w,h."""
    ops = ops_for(boxes)
    x, y, w, h = ops.split(boxes)
    return ops.stack([x + w / 2., y + h / 2., w, h])


def cxcywh_to_xywh(boxes):
    """[..., 4] cx,cy,w,h -> x,y,w,h."""
    ops = ops_for(boxes)
    cx, cy, w, h = ops.split(boxes)
    return ops.stack([cx - w / 2., cy - h / 2., w, h])


def cxcywh_to_xyxy(boxes):
    """[..., 4] cx,cy,w,h -> x1,y1,x2,y2."""
    ops = ops_for(boxes)
    cx, cy, w, h = ops.split(boxes)
    return ops.stack([cx - w / 2., cy - h / 2., cx + w / 2., cy + h / 2.])


def xyxy_to_cxcywh(boxes):
    """[..., 4] x1,y1,x2,y2 -> cx,cy,w,h."""
    ops = ops_for(boxes)
    x1, y1, x2, y2 = ops.split(boxes)
    return ops.stack([(x1 + x2) / 2., (y1 + y2) / 2., x2 - x1, y2 - y1])


def iou_cxcywh(boxes_a, boxes_b):
    """Elementwise IoU of broadcastable [..., 4] cx,cy,w,h boxes -> [...]; 0 where the union is empty."""
    ops = ops_for(boxes_a, boxes_b)
    ax1, ay1, ax2, ay2 = ops.split(cxcywh_to_xyxy(boxes_a))
    bx1, by1, bx2, by2 = ops.split(cxcywh_to_xyxy(boxes_b))
    inter_w = ops.maximum(ops.minimum(ax2, bx2) - ops.maximum(ax1, bx1), 0.)
    inter_h = ops.maximum(ops.minimum(ay2, by2) - ops.maximum(ay1, by1), 0.)
    inter = inter_w * inter_h
    union = (ax2 - ax1) * (ay2 - ay1) + (bx2 - bx1) * (by2 - by1) - inter
    safe_union = ops.where(union > 0, union, ops.maximum(union, 0.) + 1.)
    return ops.where(union > 0, inter / safe_union, inter * 0.)


def iou_xywh(boxes_a, boxes_b):
    """Elementwise IoU of broadcastable [..., 4] x,y,w,h boxes -> [...]."""
    return iou_cxcywh(xywh_to_cxcywh(boxes_a), xywh_to_cxcywh(boxes_b))


def polygon_to_xywh(polygons):
    """Axis-aligned bounds of [..., 8] polygons x1,y1,...,x4,y4 -> [..., 4] x,y,w,h (numpy).

    This is the VOT toolkit's polygon-to-rectangle conversion (the tightest enclosing axis-aligned box).
    """
    polygons = np.asarray(polygons, dtype=np.float64)
    xs, ys = polygons[..., 0::2], polygons[..., 1::2]
    x1, y1 = xs.min(axis=-1), ys.min(axis=-1)
    return np.stack([x1, y1, xs.max(axis=-1) - x1, ys.max(axis=-1) - y1], axis=-1)
