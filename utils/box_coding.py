"""Anchor-relative box coding (Faster R-CNN / SiamRPN), for numpy arrays and TF tensors.

Boxes and anchors are cx,cy,w,h in the same frame; deltas are
  dx = (gx - ax) / aw,  dy = (gy - ay) / ah,  dw = log(gw / aw),  dh = log(gh / ah).
"""

from utils.box_utils import ops_for


def encode(boxes, anchors):
    """[..., 4] boxes and broadcastable [..., 4] anchors -> [..., 4] deltas."""
    ops = ops_for(boxes, anchors)
    gx, gy, gw, gh = ops.split(boxes)
    ax, ay, aw, ah = ops.split(anchors)
    return ops.stack([(gx - ax) / aw, (gy - ay) / ah, ops.log(gw / aw), ops.log(gh / ah)])


def decode(deltas, anchors):
    """[..., 4] deltas and broadcastable [..., 4] anchors -> [..., 4] cx,cy,w,h boxes."""
    ops = ops_for(deltas, anchors)
    dx, dy, dw, dh = ops.split(deltas)
    ax, ay, aw, ah = ops.split(anchors)
    return ops.stack([dx * aw + ax, dy * ah + ay, ops.exp(dw) * aw, ops.exp(dh) * ah])
