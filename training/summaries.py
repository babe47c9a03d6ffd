"""TensorBoard events written from the training loop: exact tags, scalars and pair images with boxes drawn.

Every value is computed by the loop (from one session.run per step) and written as a tf.Summary proto, so the tags
below are exactly what TensorBoard shows (`tensorboard --logdir Logs/`). The train scalars are written every
`summary_every_n_steps` steps, the validation ones after each validation.
"""

import cv2
import numpy as np
import tensorflow as tf

TRAIN_SCALARS = (
    'train/total_loss',                 # cls + reg_weight * reg + regularisation, mean over towers
    'train/cls_loss',
    'train/reg_loss',
    'train/regularization_loss',
    'train/learning_rate',
    'train/mean_top_iou',               # IoU of the top-scoring decoded box with the ground truth (positive pairs)
    'train/gradient_norm',              # global norm of the averaged gradients before clipping
    'train/examples_per_sec',
    'train/data_wait_seconds',          # time this step waited for its batch from the reader queue
    'train/compute_seconds',            # time of the training step itself
    'train/queue_fill_fraction',        # pairs waiting in the reader queue / its capacity
    'train/skipped_nonfinite_steps',    # steps skipped because the loss or gradient norm was not finite
    'train/corrupt_records_skipped',    # distinct missing or undecodable LMDB records skipped by the reader
)
TRAIN_IMAGES = (
    'train/exemplar',                   # template crops, side by side
    'train/instance',                   # search crops with the ground truth (green; yellow for negative pairs) and
                                        # the top-scoring predicted box (red)
)
VALIDATION_SCALARS = (
    'validation/total_loss',
    'validation/cls_loss',
    'validation/reg_loss',
    'validation/mean_top_iou',
)
ALL_TAGS = TRAIN_SCALARS + TRAIN_IMAGES + VALIDATION_SCALARS
DISTRIBUTED_SCALARS = (                 # written by the chief of a cluster (training/distributed.py), besides the above
    'train/worker_steps',               # gradients the chief has contributed (its worker_steps counter)
    'train/worker_nonfinite_steps',     # of which non-finite (left out of the synchronous update)
)

GT_COLOUR = (0, 200, 0)
NEGATIVE_GT_COLOUR = (0, 220, 220)
PREDICTION_COLOUR = (0, 0, 255)


def scalar_summary(values):
    """tf.Summary with one simple value per (tag, number) item of `values`."""
    return tf.Summary(value=[tf.Summary.Value(tag=tag, simple_value=float(value)) for tag, value in values.items()])


def image_summary(images):
    """tf.Summary with one PNG per (tag, [H, W, 3] BGR uint8 image) item of `images`."""
    summary = tf.Summary()
    for tag, image in images.items():
        ok, png = cv2.imencode('.png', image)
        if not ok:
            raise ValueError('could not encode the %s image of shape %s as PNG' % (tag, image.shape))
        summary.value.add(tag=tag, image=tf.Summary.Image(height=image.shape[0], width=image.shape[1],
                                                          colorspace=3, encoded_image_string=png.tobytes()))
    return summary


def _corners(box):
    """cx,cy,w,h (0-based continuous pixels) -> integer corner points for cv2.rectangle."""
    cx, cy, w, h = [float(v) for v in box]
    return (int(round(cx - w / 2.)), int(round(cy - h / 2.))), (int(round(cx + w / 2.)) - 1,
                                                                 int(round(cy + h / 2.)) - 1)


def draw_pairs(exemplars, instances, gt_boxes, predicted_boxes, is_negative=None, max_pairs=4):
    """Mosaics of the first pairs of a batch, for the image summaries.

    Args:
      exemplars: [B, z, z, 3] and instances [B, X, X, 3] float BGR in [0, 255].
      gt_boxes, predicted_boxes: [B, 4] cx,cy,w,h in 0-based continuous instance pixels (non-finite boxes are
          not drawn).
      is_negative: [B] bool (negative pairs get a yellow ground-truth box: it is the search frame's own target).
    Returns:
      (exemplar mosaic [z, n*z, 3], instance mosaic [X, n*X, 3]) BGR uint8, n = min(B, max_pairs).
    """
    count = min(len(exemplars), max_pairs)
    negative = np.zeros(count, bool) if is_negative is None else np.asarray(is_negative, bool)[:count]
    exemplar_row = np.concatenate([np.clip(exemplars[i], 0, 255).astype(np.uint8) for i in range(count)], axis=1)
    tiles = []
    for i in range(count):
        tile = np.ascontiguousarray(np.clip(np.nan_to_num(instances[i]), 0, 255).astype(np.uint8))
        for box, colour in ((gt_boxes[i], NEGATIVE_GT_COLOUR if negative[i] else GT_COLOUR),
                            (predicted_boxes[i], PREDICTION_COLOUR)):
            if np.all(np.isfinite(box)) and np.all(np.abs(box) < 1e5):
                top_left, bottom_right = _corners(box)
                cv2.rectangle(tile, top_left, bottom_right, colour, 2)
        tiles.append(tile)
    return exemplar_row, np.concatenate(tiles, axis=1)
