"""OTB-style box files: the one place where 1-based file coordinates become 0-based (and back).

Files hold one `x,y,w,h` row per frame, 1-based (the OTB toolkit's MATLAB convention), separated by commas, tabs or
spaces. In memory, boxes are 0-based `x,y,w,h` float64 arrays [N, 4]; NaN rows (target out of view, e.g. UAV123)
are kept as NaN.
"""

import re

import numpy as np

from utils.io_utils import atomic_open

_SEPARATORS = re.compile(r'[,\t ]+')


def parse_box_rows(lines, source='<lines>'):
    """Parses `x,y,w,h` text rows (any of , tab space) -> [N, 4] float64 as written (no base change).

    Raises ValueError naming `source` and the 1-based line number for a row that is not 4 numbers.
    """
    rows = []
    for number, line in enumerate(lines, 1):
        line = line.strip()
        if not line:
            continue
        fields = [f for f in _SEPARATORS.split(line) if f]
        if len(fields) != 4:
            raise ValueError('%s line %d: expected 4 values x,y,w,h, got %d: %r' % (source, number, len(fields),
                                                                                  line))
        try:
            rows.append([float(f) for f in fields])
        except ValueError:
            raise ValueError('%s line %d: expected numbers x,y,w,h, got %r' % (source, number, line))
    return np.array(rows, dtype=np.float64).reshape(-1, 4)


def read_otb_boxes(path):
    """Reads a 1-based OTB box file -> [N, 4] 0-based x,y,w,h float64 (NaN rows kept)."""
    with open(path) as stream:
        boxes = parse_box_rows(stream, source=path)
    return one_based_to_zero_based(boxes)


def write_otb_boxes(path, boxes, precision=4):
    """Writes [N, 4] 0-based x,y,w,h boxes as 1-based comma-separated rows, atomically."""
    boxes = one_based_from_zero_based(np.asarray(boxes, dtype=np.float64).reshape(-1, 4))
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
