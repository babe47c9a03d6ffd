"""The only place where OTB's 1-based box files meet the 0-based boxes of the tracker API and metrics.

OTB ground-truth and result files hold one `x,y,w,h` box per line, 1-based (MATLAB): the top-left pixel of an
image is (1, 1). Inside the project boxes are 0-based continuous x,y,w,h (pixel i covers [i, i + 1)), so reading
subtracts 1 from x and y and writing adds it back. Separators may be commas, tabs or spaces; rows of NaN (target
absent, as in UAV123) are kept as NaN rows.
"""

import re

import numpy as np

from utils.io_utils import atomic_open

_SEPARATORS = re.compile(r'[,\s]+')
_ONE_BASED_OFFSET = np.array([1., 1., 0., 0.])


def parse_box_string(text, what='box'):
    """'x,y,w,h' (commas and/or spaces) -> [4] float64, exactly as written; errors name `what`."""
    parts = [p for p in _SEPARATORS.split(text.strip()) if p]
    if len(parts) != 4:
        raise ValueError('%s %r: expected 4 numbers x,y,w,h, got %d' % (what, text, len(parts)))
    try:
        return np.array([float(p) for p in parts], dtype=np.float64)
    except ValueError:
        raise ValueError('%s %r: expected 4 numbers x,y,w,h' % (what, text))


def read_boxes(path):
    """Reads a 1-based OTB box file -> [N, 4] float64 0-based x,y,w,h (NaN rows kept)."""
    boxes = []
    with open(path) as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            boxes.append(parse_box_string(line, what='%s line %d' % (path, number)))
    if not boxes:
        raise ValueError('no boxes in %s' % path)
    return np.array(boxes) - _ONE_BASED_OFFSET


def write_boxes(path, boxes, precision=4):
    """Writes [N, 4] 0-based x,y,w,h boxes as a 1-based, comma-separated OTB file, atomically."""
    boxes = np.asarray(boxes, dtype=np.float64)
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ValueError('boxes for %s must be [N, 4] x,y,w,h, got shape %s' % (path, boxes.shape))
    with atomic_open(path, 'w') as handle:
        for box in boxes + _ONE_BASED_OFFSET:
            handle.write(','.join(_format_number(v, precision) for v in box) + '\n')


def _format_number(value, precision):
    """Fixed-point with trailing zeros stripped ('12.5', '3'); NaN as 'NaN'."""
    if np.isnan(value):
        return 'NaN'
    text = '%.*f' % (precision, value)
    return text.rstrip('0').rstrip('.') if '.' in text else text
