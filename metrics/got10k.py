"""GOT-10k's metrics: average overlap (AO) and success rates (SR at IoU 0.5 and 0.75), as the GOT-10k paper and
toolkit define them.

Boxes are 0-based x,y,w,h [N, 4] (result and ground truth of the same frames). Conventions:
  * the first frame (the initialisation) is not evaluated;
  * only frames whose target is visible count (cover.label > 0 in GOT-10k's files); a NaN ground-truth row (no
    annotation) is left out too; a NaN result row has IoU 0;
  * both boxes are first cut to the image [0, W] x [0, H];
  * AO is the mean IoU, SR_t the fraction of frames with IoU > t (strict), both pooled over the frames of all
    sequences (each frame weighs the same, as got10k's report pools them).
"""

import numpy as np

from utils.box_utils import iou_xywh

SR_THRESHOLDS = (0.5, 0.75)


def bounded_boxes(boxes, image_size):
    """Cuts [N, 4] x,y,w,h boxes to the image [0, W] x [0, H] -> [N, 4] (empty boxes get width or height 0)."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    width, height = float(image_size[0]), float(image_size[1])
    x1, y1 = np.clip(boxes[:, 0], 0., width), np.clip(boxes[:, 1], 0., height)
    x2 = np.clip(boxes[:, 0] + boxes[:, 2], 0., width)
    y2 = np.clip(boxes[:, 1] + boxes[:, 3], 0., height)
    return np.stack([x1, y1, np.maximum(x2 - x1, 0.), np.maximum(y2 - y1, 0.)], axis=1)


def evaluated_ious(results, gt_boxes, image_size, visible=None):
    """IoUs of the frames GOT-10k evaluates -> [M] float64 (frames 2..N, visible, annotated; NaN results give 0)."""
    results = np.asarray(results, dtype=np.float64).reshape(-1, 4)
    gt_boxes = np.asarray(gt_boxes, dtype=np.float64).reshape(-1, 4)
    if results.shape != gt_boxes.shape:
        raise ValueError('results have %d boxes but the ground truth has %d' % (len(results), len(gt_boxes)))
    keep = np.all(np.isfinite(gt_boxes), axis=1)
    if visible is not None:
        visible = np.asarray(visible, dtype=bool).reshape(-1)
        if len(visible) != len(gt_boxes):
            raise ValueError('%d visibility flags for %d frames' % (len(visible), len(gt_boxes)))
        keep &= visible
    keep[0] = False
    with np.errstate(invalid='ignore'):
        ious = iou_xywh(bounded_boxes(results[keep], image_size), bounded_boxes(gt_boxes[keep], image_size))
    return np.where(np.isfinite(ious), np.clip(ious, 0., 1.), 0.)


def evaluate_got10k(results, gt_boxes, image_size, visible=None):
    """GOT-10k metrics of one sequence -> dict: ao, sr_0.5, sr_0.75 (NaN without evaluated frames), iou_sum,
    success_counts {'0.5': n, '0.75': n} and evaluated_frames (for pooling)."""
    ious = evaluated_ious(results, gt_boxes, image_size, visible)
    metrics = {'iou_sum': float(np.sum(ious)), 'evaluated_frames': int(len(ious)),
               'success_counts': {'%g' % t: int(np.sum(ious > t)) for t in SR_THRESHOLDS}}
    return _scores(metrics)


def _scores(metrics):
    count = metrics['evaluated_frames']
    metrics['ao'] = metrics['iou_sum'] / count if count else float('nan')
    for threshold in SR_THRESHOLDS:
        key = '%g' % threshold
        metrics['sr_' + key] = metrics['success_counts'][key] / float(count) if count else float('nan')
    return metrics


def summarize_got10k(per_sequence):
    """Pooled AO / SR over {sequence: evaluate_got10k dict} -> dict like evaluate_got10k's."""
    if not per_sequence:
        raise ValueError('no sequences to summarize')
    values = list(per_sequence.values())
    metrics = {'iou_sum': float(sum(v['iou_sum'] for v in values)),
               'evaluated_frames': int(sum(v['evaluated_frames'] for v in values)),
               'success_counts': {'%g' % t: int(sum(v['success_counts']['%g' % t] for v in values))
                                  for t in SR_THRESHOLDS}}
    return _scores(metrics)
