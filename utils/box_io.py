"""OTB-style box files: the one place where 1-based file coordinates become 0-based (and back).

Files hold one `x,y,w,h` row per frame, 1-based (the OTB toolkit's MATLAB convention), separated by commas, tabs or
spaces. In memory, boxes are 0-based `x,y,w,h` float64 arrays [N, 4]; NaN rows (target out of view, e.g. UAV123)
are kept as NaN.
"""

import re

import numpy as np

from utils.io_utils import atomic_open

_SEPARATORS = re.compile(r'[,\s]+')


def _parse_fields(text, where, counts=(4,), expected='x,y,w,h'):
    """One text row -> list of floats whose length is in `counts`; errors name `where` and say what was expected."""
    text = text.strip()
    if text[:1] in ('m', 'M'):
        raise ValueError('%s: mask regions are not supported, expected %s' % (where, expected))
    fields = [f for f in _SEPARATORS.split(text) if f]
    if len(fields) not in counts:
        raise ValueError('%s: expected %s values %s, got %d: %r' % (where, ' or '.join(str(c) for c in counts),
                                                                   expected, len(fields), text))
    try:
        return [float(f) for f in fields]
    except ValueError:
        raise ValueError('%s: expected numbers %s, got %r' % (where, expected, text))


def parse_box_rows(lines, source='<lines>'):
    """Parses `x,y,w,h` text rows (commas, tabs or spaces) -> [N, 4] float64 as written (no base change).

    Raises ValueError naming `source` and the 1-based line number for a row that is not 4 numbers.
    """
    rows = [_parse_fields(line, '%s line %d' % (source, number))
            for number, line in enumerate(lines, 1) if line.strip()]
    return np.array(rows, dtype=np.float64).reshape(-1, 4)


def parse_region_rows(lines, source='<lines>'):
    """Parses VOT-style region rows, each `x,y,w,h` or a polygon `x1,y1,...,x4,y4` -> list of float64 [4] or [8].

    Values are returned as written (no base change). VOT 2020+ mask rows (`m...`) are rejected with a clear error.
    """
    expected = 'x,y,w,h or 8 polygon coordinates x1,y1,...,x4,y4'
    return [np.array(_parse_fields(line, '%s line %d' % (source, number), (4, 8), expected), dtype=np.float64)
            for number, line in enumerate(lines, 1) if line.strip()]


def is_labelled(region):
    """True for a ground-truth region (a row of parse_region_rows) with finite values (not NaN, not a one-value
    marker)."""
    region = np.asarray(region, dtype=np.float64).reshape(-1)
    return len(region) >= 4 and bool(np.all(np.isfinite(region)))


def axis_aligned_box(region):
    """A ground-truth region -> [4] 0-based x,y,w,h box to initialise a tracker with (pysot's get_axis_aligned_bbox).

    A rectangle is returned as it is. A polygon keeps its centre (the mean of its vertices) and gets the axis-aligned
    box of its vertex bounds scaled by s = sqrt(A1 / A2), where A1 is the product of the polygon's first two side
    lengths (its area when it is a rectangle) and A2 the area of the bounds, plus one pixel (vertices are pixel
    coordinates): w = s * (x2 - x1) + 1. The box is then [cx - (w - 1) / 2, cy - (h - 1) / 2, w, h], so the
    4-corner polygon of a rectangle (corners x and x+w-1) gives that rectangle back.
    """
    region = np.asarray(region, dtype=np.float64).reshape(-1)
    if len(region) == 4:
        return region.copy()
    if len(region) != 8:
        raise ValueError('axis_aligned_box needs x,y,w,h or a 4-corner polygon, got %d values: %s' % (
            len(region), region.tolist()))
    xs, ys = region[0::2], region[1::2]
    cx, cy = np.mean(xs), np.mean(ys)
    x1, x2, y1, y2 = xs.min(), xs.max(), ys.min(), ys.max()
    side_area = np.hypot(*(region[0:2] - region[2:4])) * np.hypot(*(region[2:4] - region[4:6]))
    bounds_area = (x2 - x1) * (y2 - y1)
    scale = np.sqrt(side_area / bounds_area) if bounds_area > 0 else 1.
    w, h = scale * (x2 - x1) + 1., scale * (y2 - y1) + 1.
    return np.array([cx - (w - 1.) / 2., cy - (h - 1.) / 2., w, h])


def parse_box_string(text, what='box'):
    """'x,y,w,h' (e.g. a --init-box flag) -> [4] float64 as written; errors name `what`."""
    return np.array(_parse_fields(text, what), dtype=np.float64)


def read_otb_boxes(path):
    """Reads a 1-based OTB box file -> [N, 4] 0-based x,y,w,h float64 (NaN rows kept)."""
    try:
        with open(path) as stream:
            boxes = parse_box_rows(stream, source=path)
    except UnicodeDecodeError as error:
        raise ValueError('%s: expected a text file of x,y,w,h rows, found undecodable bytes (%s)' % (path, error))
    return one_based_to_zero_based(boxes)


def write_otb_boxes(path, boxes, precision=4):
    """Writes [N, 4] 0-based x,y,w,h boxes as 1-based comma-separated rows, atomically."""
    boxes = np.asarray(boxes, dtype=np.float64)
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ValueError('boxes for %s must have shape [N, 4], got %s' % (path, boxes.shape))
    boxes = one_based_from_zero_based(boxes)
    with atomic_open(path) as stream:
        for box in boxes:
            stream.write(','.join(_format(v, precision) for v in box) + '\n')


def one_based_to_zero_based(boxes):
    """Shifts x, y of 1-based [..., 4] x,y,w,h boxes to 0-based."""
    boxes = np.array(boxes, dtype=np.float64)
    boxes[..., :2] -= 1.
    return boxes


def one_based_from_zero_based(boxes):
    """Shifts x, y of 0-based [..., 4] x,y,w,h boxes to 1-based."""
    boxes = np.array(boxes, dtype=np.float64)
    boxes[..., :2] += 1.
    return boxes


def _format(value, precision):
    if np.isnan(value):
        return 'NaN'
    text = ('%.*f' % (precision, value)).rstrip('0').rstrip('.')
    return text if text not in ('-0', '') else '0'
