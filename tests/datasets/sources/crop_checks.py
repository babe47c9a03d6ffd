"""Checks shared by the dataset-parser tests: curate a source, and compare recorded patch boxes with the pixels."""

import cv2
import numpy as np

import configuration
from datasets.curation import curate_source, tracks_of
from datasets.lmdb_store import crop_path
from tests.datasets.data_helpers import assert_inside

CURATION = configuration.TRAIN_CONFIG['curation_config']


def curate(source, output_dir, processes=1):
    """curate_source without progress bars -> (summary, {(video, track_id): track record})."""
    summary = curate_source(source, str(output_dir), CURATION, processes=processes, progress=False)
    return summary, {(t['video'], t['track_id']): t for t in tracks_of([summary])}


def color_mask(image, color, tolerance=60):
    """[H, W] bool: pixels within `tolerance` (max channel difference) of the BGR `color`."""
    return np.abs(image.astype(np.int32) - np.array(color)).max(axis=-1) < tolerance


def target_fraction(image, color):
    """[H, W] float: how much of each pixel is the flat `color` target over a grey background.

    A target colour has a 255 channel and a 0 channel (OBJECT_COLORS); over grey g a pixel mixing a fraction a of
    target reads a * 255 + (1 - a) * g in the first and (1 - a) * g in the second, so a = (first - second) / 255
    whatever the grey level.
    """
    high, zero = list(color).index(255), list(color).index(0)
    return (image[..., high].astype(np.float64) - image[..., zero]) / 255.


def half_crossings(profile, centre):
    """Sub-pixel positions (pixel i covers [i, i + 1)) where `profile` crosses 0.5 left and right of `centre`."""
    left = centre
    while left > 0 and profile[left - 1] > 0.5:
        left -= 1
    right = centre
    while right < len(profile) - 1 and profile[right + 1] > 0.5:
        right += 1
    start = left - 0.5 + (0.5 - profile[left - 1]) / (profile[left] - profile[left - 1])
    end = right + 0.5 + (profile[right] - 0.5) / (profile[right] - profile[right + 1])
    return start, end


def assert_crops_show_target(curated_dir, track, color, tolerance=1.0, margin=2.0):
    """Every crop of `track` shows the `color` target exactly where its recorded patch box says.

    All target pixels lie inside the box grown by `margin`, and along the rows and columns through the box centre
    the target's edges (where it covers half a pixel) are within `tolerance` pixels of the box edges. The fixtures
    use small targets (crop scale about 3), so a one-pixel slip of a coordinate convention moves an edge by about 3
    patch pixels and fails.
    """
    for key, box in zip(track['frame_keys'], track['boxes']):
        patch = cv2.imread(crop_path(str(curated_dir), key))
        assert patch is not None and patch.shape == (511, 511, 3), key
        mask = color_mask(patch, color)
        assert mask.any(), '%s: no target pixels' % key
        assert_inside(mask, box, margin, key)
        fraction = target_fraction(patch, color)
        cx, cy = int(box[0] + box[2] / 2.), int(box[1] + box[3] / 2.)
        x0, x1 = half_crossings(fraction[cy], cx)
        y0, y1 = half_crossings(fraction[:, cx], cy)
        np.testing.assert_allclose([x0, y0, x1, y1], [box[0], box[1], box[0] + box[2], box[1] + box[3]],
                                   atol=tolerance, err_msg=key)


def expected_patch_size(w, h):
    """Side lengths of a w x h target in a 511 crop (p = (w + h) / 2, s_z = sqrt((w + p)(h + p)), scale 127/s_z)."""
    p = (w + h) / 2.
    scale = 127. / np.sqrt((w + p) * (h + p))
    return np.array([w * scale, h * scale])
