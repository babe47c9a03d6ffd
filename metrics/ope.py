"""One-pass evaluation (OPE) metrics as the OTB toolkit, got10k and pysot compute them.

Boxes are 0-based x,y,w,h float arrays [N, 4], results and ground truth of the same frames. Conventions:
  * success: the fraction of frames whose IoU is strictly greater than each of the 21 thresholds linspace(0, 1, 21);
    the success score (AUC) is the mean of those 21 points, so a perfect result scores 20/21 = 0.9524 (IoU 1 is
    never > 1);
  * precision: the fraction of frames whose centre error is <= each threshold 0, 1, ..., 50 pixels; the score is
    the value at 20 px (P@20);
  * normalised precision (pysot's, used for LaSOT): the centre error measured in units of the ground-truth width and
    height, thresholds linspace(0, 0.5, 51), scored at 0.2;
  * frames whose ground truth is NaN or has zero width or height stay in the denominator, exactly as got10k counts
    them: a NaN ground truth fails every curve; a zero-size one has IoU 0 and fails every success threshold (IoU 0
    is not > 0), while its centre still exists, so its centre error counts for precision as in got10k and pysot
    (its normalised error divides by the zero size and fails). NaN result rows fail every curve;
  * the overall curves are the means of the per-sequence curves (every sequence weighs the same), and the overall
    scores are read off those mean curves;
  * speed: frames per second of the tracker calls, total frames / total seconds.
"""

import numpy as np

from utils.box_utils import iou_xywh

SUCCESS_THRESHOLDS = np.linspace(0., 1., 21)
PRECISION_THRESHOLDS = np.arange(51, dtype=np.float64)
NORM_PRECISION_THRESHOLDS = np.linspace(0., 0.5, 51)
SUCCESS_RATE_AT = 0.5  # the threshold of the reported success rate (SR@0.5)
PRECISION_AT = 20.  # pixels, the threshold of the precision score (P@20)
NORM_PRECISION_AT = 0.2  # the threshold of the normalised precision score

CURVES = (('success_curve', SUCCESS_THRESHOLDS), ('precision_curve', PRECISION_THRESHOLDS),
          ('norm_precision_curve', NORM_PRECISION_THRESHOLDS))


def _pair(results, gt_boxes):
    results = np.asarray(results, dtype=np.float64).reshape(-1, 4)
    gt_boxes = np.asarray(gt_boxes, dtype=np.float64).reshape(-1, 4)
    if results.shape != gt_boxes.shape:
        raise ValueError('results have %d boxes but the ground truth has %d' % (len(results), len(gt_boxes)))
    return results, gt_boxes


def overlaps(results, gt_boxes):
    """Per-frame IoU of [N, 4] results and ground truth -> [N]; NaN where either box is NaN."""
    results, gt_boxes = _pair(results, gt_boxes)
    with np.errstate(invalid='ignore'):
        return iou_xywh(results, gt_boxes)


def centre_errors(results, gt_boxes):
    """Per-frame distance in pixels between box centres -> [N]; NaN where either box is NaN."""
    results, gt_boxes = _pair(results, gt_boxes)
    delta = (results[:, :2] + results[:, 2:] / 2.) - (gt_boxes[:, :2] + gt_boxes[:, 2:] / 2.)
    return np.sqrt(np.sum(delta ** 2, axis=1))


def normalized_centre_errors(results, gt_boxes):
    """Per-frame centre distance with x and y divided by the ground-truth width and height -> [N].

    The size gets pysot's 1e-16 guard, so a zero-size ground truth gives a huge error (a failure) unless the centres
    coincide; NaN where either box is NaN.
    """
    results, gt_boxes = _pair(results, gt_boxes)
    delta = (results[:, :2] + results[:, 2:] / 2.) - (gt_boxes[:, :2] + gt_boxes[:, 2:] / 2.)
    return np.sqrt(np.sum((delta / (gt_boxes[:, 2:] + 1e-16)) ** 2, axis=1))


def success_curve(ious, thresholds=SUCCESS_THRESHOLDS):
    """Fraction of frames with IoU strictly above each threshold -> [T]; NaN IoUs count as failures."""
    ious = np.asarray(ious, dtype=np.float64).reshape(-1, 1)
    with np.errstate(invalid='ignore'):
        return np.mean(ious > np.asarray(thresholds)[np.newaxis], axis=0)


def precision_curve(errors, thresholds=PRECISION_THRESHOLDS):
    """Fraction of frames with centre error at most each threshold -> [T]; NaN errors count as failures."""
    errors = np.asarray(errors, dtype=np.float64).reshape(-1, 1)
    with np.errstate(invalid='ignore'):
        return np.mean(errors <= np.asarray(thresholds)[np.newaxis], axis=0)


def _at(curve, thresholds, value):
    index = int(np.argmin(np.abs(thresholds - value)))
    return float(curve[index])


def scores_from_curves(curves):
    """The reported scores of a dict holding success/precision/norm_precision curves -> dict of floats."""
    return {
        'auc': float(np.mean(curves['success_curve'])),
        'precision': _at(curves['precision_curve'], PRECISION_THRESHOLDS, PRECISION_AT),
        'success_rate': _at(curves['success_curve'], SUCCESS_THRESHOLDS, SUCCESS_RATE_AT),
        'norm_precision': _at(curves['norm_precision_curve'], NORM_PRECISION_THRESHOLDS, NORM_PRECISION_AT),
    }


def evaluate_sequence(results, gt_boxes, times=None):
    """OPE metrics of one sequence.

    results, gt_boxes: [N, 4] 0-based x,y,w,h; times: [N] seconds per frame or None.
    Returns a dict: success_curve [21], precision_curve [51], norm_precision_curve [51] (numpy), the scores of
    scores_from_curves, frames, seconds (None without times) and fps (None without times).
    """
    results, gt_boxes = _pair(results, gt_boxes)
    metrics = {
        'success_curve': success_curve(overlaps(results, gt_boxes)),
        'precision_curve': precision_curve(centre_errors(results, gt_boxes)),
        'norm_precision_curve': precision_curve(normalized_centre_errors(results, gt_boxes),
                                                NORM_PRECISION_THRESHOLDS),
        'frames': len(gt_boxes),
    }
    metrics.update(scores_from_curves(metrics))
    metrics['seconds'], metrics['fps'] = None, None
    if times is not None:
        times = np.asarray(times, dtype=np.float64).reshape(-1)
        if len(times) != len(gt_boxes):
            raise ValueError('%d frame times for %d frames' % (len(times), len(gt_boxes)))
        metrics['seconds'] = float(np.sum(times))
        metrics['fps'] = _fps(len(times), metrics['seconds'])
    return metrics


def summarize(per_sequence):
    """Overall metrics of {sequence name: evaluate_sequence dict} -> dict like evaluate_sequence's.

    Curves are the means of the per-sequence curves; fps is total frames / total seconds over the sequences that
    have times (None if none has).
    """
    if not per_sequence:
        raise ValueError('no sequences to summarize')
    values = list(per_sequence.values())
    overall = {key: np.mean([v[key] for v in values], axis=0) for key, _ in CURVES}
    overall['frames'] = int(sum(v['frames'] for v in values))
    overall.update(scores_from_curves(overall))
    timed = [v for v in values if v.get('seconds') is not None]
    overall['seconds'] = float(sum(v['seconds'] for v in timed)) if timed else None
    overall['fps'] = _fps(sum(v['frames'] for v in timed), overall['seconds']) if timed else None
    overall['sequences'] = len(values)
    return overall


def _fps(frames, seconds):
    return float(frames / seconds) if seconds and seconds > 0 else None
