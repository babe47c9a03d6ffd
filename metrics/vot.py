"""VOT's supervised (baseline) experiment: region overlap within the frame, accuracy, robustness and EAO.

Regions are VOT's: 0-based `x,y,w,h` rectangles covering pixels x..x+w-1 (the same box as this project's 0-based
x,y,w,h), or polygons `x1,y1,...,xn,yn` whose vertices are pixel coordinates. A trajectory (one tracker on one
sequence) holds one entry per frame: a region, or a one-value marker: INIT (1) at an (re-)initialisation, FAILURE (2)
where the prediction stopped overlapping the ground truth, SKIPPED (0) for frames between a failure and the next
initialisation. Unlabelled ground truth is a NaN region.

Definitions (the VOT toolkit's, as pysot's toolkit computes them; see DEVELOPERS.md for where the two differ):
  * overlap: both regions are rasterised onto the pixel grid as the VOT region library (trax region.c) does
    (vertices rounded, scanline spans inclusive, rectangles as polygons with corners x and x+w-1) and restricted to
    the frame's pixels 0..W-1 x 0..H-1; overlap = |A and B| / |A or B| in pixels;
  * a failure is a tracked frame whose overlap with the (labelled) ground truth is not > 0; tracking restarts
    SKIP_FRAMES (5) frames later, from the ground truth converted by `utils.box_io.axis_aligned_box`;
  * accuracy: the mean overlap of the valid frames, leaving out BURNIN (10) frames from each initialisation (the
    initialisation frame and the 9 after it), markers and unlabelled frames; pooled over all frames of all
    sequences, as pysot pools them;
  * robustness: failures per sequence, the total, and pysot's figure 100 * failures / frames;
  * EAO: the sequences are cut into fragments at every re-initialisation (the failure frame + SKIP_FRAMES): a
    fragment that ends in a failure continues with overlap 0 up to the longest sequence, the last fragment of a
    sequence ends with it; the expected overlap of length Ns is the mean over the fragments at least Ns frames long
    of their mean overlap on frames 2..Ns; EAO is its mean over the lengths of an interval (VOT2018's [100, 356]).
"""

import math

import numpy as np

from utils.box_io import is_labelled

SKIPPED, INIT, FAILURE = 0, 1, 2
MARKERS = (SKIPPED, INIT, FAILURE)
SKIP_FRAMES = 5  # a re-initialisation follows a failure after this many frames
BURNIN = 10  # frames left out of accuracy from each (re-)initialisation on
EAO_INTERVALS = {  # sequence lengths [low, high] the EAO averages over (pysot's toolkit, the VOT reports)
    'vot2016': (108, 371),
    'vot2017': (100, 356),
    'vot2018': (100, 356),
    'vot2019': (46, 291),
}
DEFAULT_EAO_INTERVAL = 'vot2018'


# ----------------------------------------------------------------------------------------------------------------
# Regions


def as_region(value):
    """A region or marker (sequence of 1, 4 or 8 numbers) -> float64 array; raises ValueError for other lengths."""
    region = np.asarray(value, dtype=np.float64).reshape(-1)
    if len(region) not in (1, 4) and (len(region) < 6 or len(region) % 2):
        raise ValueError('expected a marker, x,y,w,h or polygon x1,y1,...,xn,yn, got %d values: %s' % (
            len(region), region.tolist()))
    return region


def is_marker(region):
    """True for a one-value trajectory entry (INIT, FAILURE or SKIPPED)."""
    return len(region) == 1


def _vertices(region, pysot_rectangles=False):
    """Region -> (xs, ys) float32 polygon vertices. Rectangles get corners x and x+w-1 (VOT's region library);
    pysot_rectangles: corners x and x+w, as pysot's region.pyx passes rectangles (one pixel wider and taller)."""
    if len(region) == 4:
        x, y, w, h = region
        extra = 0. if pysot_rectangles else 1.
        xs = [x, x + w - extra, x + w - extra, x]
        ys = [y, y, y + h - extra, y + h - extra]
        return np.array(xs, dtype=np.float32), np.array(ys, dtype=np.float32)
    return region[0::2].astype(np.float32), region[1::2].astype(np.float32)


def _round_half_away(values):
    """C's round(): halves away from zero (numpy's round halves to even)."""
    values = np.asarray(values, dtype=np.float64)
    return np.where(values >= 0, np.floor(values + 0.5), np.ceil(values - 0.5))


def rasterize_polygon(xs, ys, width, height):
    """The pixels a polygon covers in a width x height mask, as the VOT region library rasterises it.

    Vertices are rounded; for each pixel row y, every edge whose rounded end rows span y (and are not equal) gives a
    crossing column int(x_i + (y - y_i) / (y_j - y_i) * (x_j - x_i)) (truncated toward zero); sorted crossings are
    paired, a pair of equal crossings (a vertex on the row) drops its first member, and each pair fills the columns
    between its two crossings inclusive, clipped to the mask. -> bool [height, width].
    """
    mask = np.zeros((max(height, 0), max(width, 0)), dtype=bool)
    rx, ry = _round_half_away(xs), _round_half_away(ys)
    count = len(rx)
    if count == 0 or width < 1 or height < 1:
        return mask
    row_ints = [int(v) for v in ry]
    first_row = max(0, min(row_ints))
    last_row = min(height - 1, max(row_ints))
    for row in range(first_row, last_row + 1):
        nodes = []
        j = count - 1
        for i in range(count):
            yi, yj = row_ints[i], row_ints[j]
            if yi != yj and min(yi, yj) <= row <= max(yi, yj):
                nodes.append(int(rx[i] + (row - ry[i]) / (ry[j] - ry[i]) * (rx[j] - rx[i])))
            j = i
        nodes.sort()
        i = 0
        while i < len(nodes) - 1:
            if nodes[i] == nodes[i + 1]:
                i += 1
                continue
            if nodes[i] >= width:
                break
            if nodes[i + 1] >= 0:
                mask[row, max(nodes[i], 0):min(nodes[i + 1], width - 1) + 1] = True
            i += 2
    return mask


def _ieee_divide(a, b):
    with np.errstate(divide='ignore', invalid='ignore'):
        return float(np.float64(a) / np.float64(b))


def region_overlap(region_a, region_b, image_size, pysot_rectangles=False):
    """Overlap of two regions (x,y,w,h or polygons) restricted to the frame, as VOT computes it -> float in [0, 1].

    image_size: (width, height) of the frame; only pixels 0..W-1, 0..H-1 count. NaN when either region is a marker
    or not finite (nothing to compare), or when neither covers a pixel. See rasterize_polygon for the pixel rules.
    """
    region_a, region_b = as_region(region_a), as_region(region_b)
    if is_marker(region_a) or is_marker(region_b) or not (is_labelled(region_a) and is_labelled(region_b)):
        return float('nan')
    width, height = int(image_size[0]), int(image_size[1])
    polygons = [_vertices(region_a, pysot_rectangles), _vertices(region_b, pysot_rectangles)]
    frame = (0., 0., float(width - 1), float(height - 1))  # left, top, right, bottom: the frame's pixels
    boxes = []
    for xs, ys in polygons:  # the rounded-out bounds of each polygon, cut to the frame
        boxes.append((max(math.floor(xs.min()), frame[0]), max(math.floor(ys.min()), frame[1]),
                      min(math.ceil(xs.max()), frame[2]), min(math.ceil(ys.max()), frame[3])))
    left, top = min(boxes[0][0], boxes[1][0]), min(boxes[0][1], boxes[1][1])
    mask_width = int(max(boxes[0][2], boxes[1][2]) - left) + 1
    mask_height = int(max(boxes[0][3], boxes[1][3]) - top) + 1
    area_a = (boxes[0][2] - boxes[0][0]) * (boxes[0][3] - boxes[0][1])
    area_b = (boxes[1][2] - boxes[1][0]) * (boxes[1][3] - boxes[1][1])
    # The library's shortcuts (same results as rasterising, except that bounds which only touch give 0).
    if _ieee_divide(area_a, area_b) < 1e-10 or _ieee_divide(area_b, area_a) < 1e-10 or mask_width < 1 or \
            mask_height < 1:
        return 0.
    inter_box = (min(boxes[0][2], boxes[1][2]) - max(boxes[0][0], boxes[1][0])) * \
        (min(boxes[0][3], boxes[1][3]) - max(boxes[0][1], boxes[1][1]))
    bounds_iou = _ieee_divide(inter_box, area_a + area_b - inter_box)
    if not math.isnan(bounds_iou) and bounds_iou <= 0:  # NaN goes on to rasterisation, as in the library
        return 0.
    masks = [rasterize_polygon(xs - np.float32(left), ys - np.float32(top), mask_width, mask_height)
             for xs, ys in polygons]
    intersection = int(np.count_nonzero(masks[0] & masks[1]))
    union = int(np.count_nonzero(masks[0] | masks[1]))
    if union == 0:
        return float('nan')
    return float(np.float32(intersection) / np.float32(union))


# ----------------------------------------------------------------------------------------------------------------
# Trajectories


def failure_frames(trajectory):
    """0-based frame indices of the FAILURE markers of a trajectory -> list of int."""
    return [i for i, entry in enumerate(trajectory) if is_marker(as_region(entry)) and entry[0] == FAILURE]


def trajectory_overlaps(trajectory, gt_regions, image_size, pysot_rectangles=False):
    """Per-frame overlap of a trajectory with the ground truth in frames of image_size (width, height) -> [N]
    float64; NaN at markers and unlabelled frames."""
    if len(trajectory) != len(gt_regions):
        raise ValueError('the trajectory has %d frames but the ground truth %d' % (len(trajectory), len(gt_regions)))
    return np.array([region_overlap(p, g, image_size, pysot_rectangles) for p, g in zip(trajectory, gt_regions)],
                    dtype=np.float64)


def burnin_frames(trajectory, burnin=BURNIN):
    """Bool [N]: the frames accuracy leaves out after each INIT marker (the marker's frame and the burnin - 1 after)."""
    mask = np.zeros(len(trajectory), dtype=bool)
    for index, entry in enumerate(trajectory):
        entry = as_region(entry)
        if is_marker(entry) and entry[0] == INIT:
            mask[index:index + burnin] = True
    return mask


def evaluate_supervised(trajectory, gt_regions, image_size, burnin=BURNIN, pysot_rectangles=False):
    """Metrics of one sequence of the supervised experiment.

    trajectory: N entries (markers or regions); gt_regions: N regions (NaN rows unlabelled); image_size: (W, H).
    Returns a dict: overlaps [N] (no burn-in; what EAO uses), accuracy (mean overlap of the valid frames, NaN if
    none), overlap_sum and valid_frames (for pooling), failures (count), failure_frames, frames.
    """
    overlaps = trajectory_overlaps(trajectory, gt_regions, image_size, pysot_rectangles)
    valid = np.isfinite(overlaps) & ~burnin_frames(trajectory, burnin)
    failures = failure_frames(trajectory)
    overlap_sum = float(np.sum(overlaps[valid]))
    return {'overlaps': overlaps, 'accuracy': overlap_sum / valid.sum() if valid.any() else float('nan'),
            'overlap_sum': overlap_sum, 'valid_frames': int(valid.sum()), 'failures': len(failures),
            'failure_frames': failures, 'frames': len(trajectory)}


# ----------------------------------------------------------------------------------------------------------------
# Expected average overlap


def eao_fragments(overlaps_per_sequence, failures_per_sequence, skip=SKIP_FRAMES):
    """Cuts sequences into the fragments of the EAO -> [F, L] float64, L the longest sequence's length.

    A sequence without failures is one fragment, NaN after its end. With failures at frames f, fragments start at 0
    and at every f + skip that is within the sequence; each fragment but the last covers its start up to and
    including the next start and is then 0 to the end (tracking failed); the last runs to the sequence's end and is
    NaN after it. NaN overlaps (markers, unlabelled frames) count as 0 inside a fragment.
    """
    overlaps_per_sequence = [np.asarray(o, dtype=np.float64).reshape(-1) for o in overlaps_per_sequence]
    if not overlaps_per_sequence:
        raise ValueError('no sequences for the EAO')
    length = max(len(o) for o in overlaps_per_sequence)
    rows = []
    for overlaps, failures in zip(overlaps_per_sequence, failures_per_sequence):
        overlaps = np.where(np.isnan(overlaps), 0., overlaps)
        starts = [0] + [f + skip for f in sorted(failures) if f + skip <= len(overlaps)]
        for start, end in zip(starts[:-1], starts[1:]):
            row = np.zeros(length)
            part = overlaps[start:end + 1]
            row[:len(part)] = part
            rows.append(row)
        part = overlaps[starts[-1]:]
        if len(part):
            row = np.full(length, np.nan)
            row[:len(part)] = part
            rows.append(row)
    return np.array(rows).reshape(-1, length)


def expected_overlap_curve(fragments):
    """Expected overlap per sequence length -> [L]: entry Ns - 1 is the mean, over the fragments that have frame Ns,
    of their mean overlap on frames 2..Ns (the initialisation frame left out); entry 0 is 1, lengths no fragment
    reaches are 0."""
    fragments = np.asarray(fragments, dtype=np.float64)
    length = fragments.shape[1]
    curve = np.zeros(length)
    curve[0] = 1.
    if length < 2:
        return curve
    tail = fragments[:, 1:]
    valid = ~np.isnan(tail)
    means = np.cumsum(np.where(valid, tail, 0.), axis=1) / np.arange(1, length)[np.newaxis]
    counts = valid.sum(axis=0)
    sums = np.where(valid, means, 0.).sum(axis=0)
    curve[1:] = np.where(counts > 0, sums / np.maximum(counts, 1), 0.)
    return curve


def eao_interval(interval):
    """'vot2016'/'vot2017'/'vot2018'/'vot2019' or (low, high) sequence lengths -> (low, high) ints, checked."""
    if isinstance(interval, str):
        if interval.lower() not in EAO_INTERVALS:
            raise ValueError('unknown EAO interval preset %r: expected one of %s or two lengths low high' % (
                interval, ', '.join(sorted(EAO_INTERVALS))))
        return EAO_INTERVALS[interval.lower()]
    low, high = [int(v) for v in interval]
    if not 1 <= low <= high:
        raise ValueError('EAO interval must be 1 <= low <= high sequence lengths, got [%d, %d]' % (low, high))
    return low, high


def eao_score(curve, interval=DEFAULT_EAO_INTERVAL):
    """Mean of the expected-overlap curve over the sequence lengths low..high (those the curve has) -> float,
    NaN when the longest sequence is shorter than low."""
    low, high = eao_interval(interval)
    values = np.asarray(curve, dtype=np.float64)[low - 1:high]
    values = values[~np.isnan(values)]
    return float(np.mean(values)) if len(values) else float('nan')


def summarize_supervised(per_sequence, interval=DEFAULT_EAO_INTERVAL, skip=SKIP_FRAMES):
    """Overall metrics of {sequence: evaluate_supervised dict} -> dict: accuracy (pooled over the valid frames),
    failures (total), failures_per_sequence (mean), robustness (pysot: 100 * failures / frames), eao, eao_curve,
    eao_interval, frames, sequences."""
    if not per_sequence:
        raise ValueError('no sequences to summarize')
    values = list(per_sequence.values())
    valid = sum(v['valid_frames'] for v in values)
    failures = sum(v['failures'] for v in values)
    frames = sum(v['frames'] for v in values)
    curve = expected_overlap_curve(eao_fragments([v['overlaps'] for v in values],
                                                 [v['failure_frames'] for v in values], skip))
    low, high = eao_interval(interval)
    return {'accuracy': sum(v['overlap_sum'] for v in values) / valid if valid else float('nan'),
            'failures': int(failures), 'failures_per_sequence': failures / float(len(values)),
            'robustness': 100. * failures / frames, 'eao': eao_score(curve, (low, high)), 'eao_curve': curve,
            'eao_interval': [low, high], 'frames': int(frames), 'sequences': len(values)}
