"""Training crops follow the tracker's pixel grid: a frame box sent through curation (crops on disk, JPEG) and an
un-jittered augmentation gives the exemplar and search images the tracker's own crop function makes, and the box the
model is given is the one the tracker's decoding turns back into the frame box.

Each case places the target where DaSiamRPN's rounding residual is zero (pos - (sz + 1) / 2 is an integer for the
exemplar and the search side), so the tracker's crops are centred exactly half a pixel up-left of the target; that
residual depends on the absolute position and is zero-mean jitter at tracking time, which no training crop can copy.
Geometry is measured by sub-pixel registration (one Lucas-Kanade step on a smooth wave pattern: blurring, JPEG and
the scale rounding of the tracker's search region do not bias it), and pixels are compared directly.
"""

import os

import cv2
import numpy as np
import pytest

import configuration
from datasets.augmentation import PairAugmenter
from datasets.curation import curate_source, tracks_of
from datasets.lmdb_store import crop_path
from datasets.sources.otb import OTBSource
from inference.subwindow import get_subwindow, pad_colour, round_half_away
from utils.box_io import write_otb_boxes
from utils.image_io import read_image

CURATION = configuration.TRAIN_CONFIG['curation_config']
AUGMENTATION = configuration.TRAIN_CONFIG['augmentation_config']
EXEMPLAR, INSTANCE = 127, 255  # the training sizes

# name: (frame width, height, target centre pos, target w, h). s_z = sqrt((w + p)(h + p)) is 127 (scale 1), 254
# (scale 1/2), 65 (scale ~2, search region rounded by the tracker from 130.5 to 131), 63.5 (non-square, rounded by
# the tracker to 63 and 127 source pixels).
CASES = {
    'scale1': (320, 300, (161., 149.), 63.5, 63.5),
    'scale_half': (560, 540, (280.5, 270.5), 127., 127.),
    'scale2': (200, 180, (101., 88.), 32.5, 32.5),
    'non_square': (220, 200, (109., 97.), 40., 24.),
}


def wave_frame(width, height, period):
    """[H, W, 3] uint8 grey pattern of three sine waves (x, y, diagonal) with periods near `period` pixels."""
    x = np.arange(width)[None] + 0.5  # pixel i covers [i, i + 1): its centre is i + 0.5
    y = np.arange(height)[:, None] + 0.5
    grey = 128. + 45. * np.sin(2. * np.pi * x / period + 0.3) + 45. * np.sin(2. * np.pi * y / (1.3 * period) + 1.1) \
        + 20. * np.sin(2. * np.pi * (x + y) / (0.8 * period))
    return np.repeat(np.clip(np.rint(grey), 0, 255).astype(np.uint8)[..., None], 3, axis=2)


def displacement(image, reference):
    """Sub-pixel (dx, dy) by which `image` shows the content of `reference` moved (image(p) = reference(p - d)),
    from one least-squares Lucas-Kanade step over the interior (4 px border left out)."""
    image = image.astype(np.float64).mean(axis=2)[4:-4, 4:-4]
    reference = reference.astype(np.float64).mean(axis=2)
    gy, gx = (g[4:-4, 4:-4] for g in np.gradient(reference))
    gradients = np.stack([gx.ravel(), gy.ravel()], axis=1)
    return -np.linalg.lstsq(gradients, (image - reference[4:-4, 4:-4]).ravel(), rcond=None)[0]


def context(w, h):
    """s_z = sqrt((w + p)(h + p)), p = (w + h) / 2: the context side of a w x h target (unrounded)."""
    p = 0.5 * (w + h)
    return np.sqrt((w + p) * (h + p))


def tracker_crops(frame, pos, w, h):
    """The tracker's exemplar (init) and search (update, training instance size) crops of a target at `pos`, and
    the box the model must output for the tracker to decode the frame box: select_target takes
    pos + (box centre - S / 2) / scale_z and size / scale_z, so the box is [S/2, S/2, w scale_z, h scale_z]."""
    colour = pad_colour(frame)
    s_z = context(w, h)
    exemplar = get_subwindow(frame, pos, EXEMPLAR, round_half_away(s_z), colour)  # Tracker.init rounds s_z
    scale_z = EXEMPLAR / s_z
    s_x = s_z + 2 * ((INSTANCE - EXEMPLAR) / 2.) / scale_z  # Tracker.update
    instance = get_subwindow(frame, pos, INSTANCE, round_half_away(s_x), colour)
    for side in (round_half_away(s_z), round_half_away(s_x)):  # the cases sit where the rounding residual is 0
        assert float(pos[0] - (side + 1) / 2.).is_integer() and float(pos[1] - (side + 1) / 2.).is_integer()
    return exemplar, instance, np.array([INSTANCE / 2., INSTANCE / 2., w * scale_z, h * scale_z]), scale_z


@pytest.fixture(scope='module')
def curated(tmp_path_factory):
    """One single-frame OTB video per case, curated once: {case: (frame, track record, patch)}."""
    root = tmp_path_factory.mktemp('crop_convention')
    frames = {}
    for name, (width, height, pos, w, h) in CASES.items():
        os.makedirs(str(root / 'raw' / name / 'img'))
        frame = wave_frame(width, height, context(w, h) / 4.)  # ~32 exemplar pixels per period at every scale
        cv2.imwrite(str(root / 'raw' / name / 'img' / '0001.png'), frame)
        write_otb_boxes(str(root / 'raw' / name / 'groundtruth_rect.txt'),
                        [[pos[0] - w / 2., pos[1] - h / 2., w, h]])
        frames[name] = frame
    output = str(root / 'curated')
    summary = curate_source(OTBSource(str(root / 'raw')), output, CURATION, processes=1, progress=False)
    tracks = {t['video']: t for t in tracks_of([summary])}
    return {name: (frames[name], tracks[name], read_image(crop_path(output, tracks[name]['frame_keys'][0])))
            for name in CASES}


def training_crops(track, patch, patch_scale):
    """Exemplar, search image and box of an un-jittered augmentation of the curated frame."""
    box = np.array(track['boxes'][0])
    augmenter = PairAugmenter(AUGMENTATION, 'none', EXEMPLAR, INSTANCE, CURATION['context_amount'])
    return augmenter(patch, box, patch, box, np.random.RandomState(0), patch_scale, patch_scale)


@pytest.mark.parametrize('case', sorted(CASES))
def test_training_crops_land_where_the_tracker_crops(curated, case):
    frame, track, patch = curated[case]
    _, _, pos, w, h = CASES[case]
    z_tracker, x_tracker, box_tracker, scale_z = tracker_crops(frame, pos, w, h)
    z_train, x_train, box_train = training_crops(track, patch, track['patch_scales'][0])
    np.testing.assert_allclose(track['patch_scales'][0], EXEMPLAR / context(w, h), rtol=1e-6)

    # The box the model is given is the one the tracker decodes into the frame box ...
    np.testing.assert_allclose(box_train, box_tracker, atol=0.05)
    # ... and both images show the frame where the tracker's crops show it: half a source pixel right of and below
    # that box.
    np.testing.assert_allclose(displacement(x_train, x_tracker), [0., 0.], atol=0.05)
    np.testing.assert_allclose(displacement(z_train, z_tracker), [0., 0.], atol=0.05)
    # Pixels agree up to JPEG and one more bilinear resampling.
    x_error = np.abs(x_train.astype(np.float64) - x_tracker).mean()
    z_error = np.abs(z_train.astype(np.float64) - z_tracker).mean()
    assert x_error < 3. and z_error < 3.

    # Training crops centred exactly (the grid before) are half a source pixel off the tracker's, and the test sees it.
    z_exact, x_exact, box_exact = training_crops(track, patch, 1e-9)
    np.testing.assert_allclose(box_exact, box_train, atol=1e-6)
    np.testing.assert_allclose(displacement(x_exact, x_tracker), [-0.5 * scale_z] * 2, atol=0.05)
    np.testing.assert_allclose(displacement(z_exact, z_tracker), [-0.5 * EXEMPLAR / round_half_away(context(w, h))] * 2,
                               atol=0.05)
    assert np.abs(x_exact.astype(np.float64) - x_tracker).mean() > 2 * x_error
