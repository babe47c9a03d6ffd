"""Tests of pair augmentation: boxes vs pixels of a uniquely coloured target, exact crops, colour jitter, mixup."""

import copy

import cv2
import numpy as np
import pytest
import tensorflow as tf

import configuration
from datasets.augmentation import PairAugmenter, color_jitter, color_matrix, downup, motion_blur
from datasets.dataloader import mixup
from tests.datasets.data_helpers import KEY_COLOR, assert_inside, key_pixels, pixel_box
from tests.helpers import cpu_session
from utils.box_utils import iou_xywh
from utils.crop_utils import context_side

AUGMENTATION = configuration.TRAIN_CONFIG['augmentation_config']


def keyed_patch(rng, w, h):
    """A 511 grey textured patch with a flat key-coloured w x h rectangle centred at 255.5 -> (patch, box)."""
    patch = cv2.resize(rng.randint(40, 220, (64, 64, 1)).astype(np.uint8), (511, 511))
    patch = np.repeat(patch[..., None], 3, axis=2)
    x0, y0 = int(round(255.5 - w / 2.)), int(round(255.5 - h / 2.))
    patch[y0:y0 + h, x0:x0 + w] = KEY_COLOR
    return patch, np.array([x0, y0, w, h], np.float64)


def geometric_only(**overrides):
    config = copy.deepcopy(AUGMENTATION)
    config.update(color_jitter_prob=0., blur_prob=0., gray_prob=0., downup_prob=0., mixup_prob=0., flip_prob=0.5)
    config.update(overrides)
    return config


@pytest.mark.parametrize('size', [(70, 40), (30, 90), (120, 110)])
def test_the_box_encloses_the_target_after_augmentation(size):
    rng = np.random.RandomState(sum(size))
    augmenter = PairAugmenter(geometric_only(), 'full')
    pixel = 2.  # a source pixel covers 2 patch pixels: the tracker's grid shows the target ~1.2 px right of/below
    offsets = []
    for _ in range(40):
        template, z_box = keyed_patch(rng, *size)
        search, x_box = keyed_patch(rng, *size)
        exemplar, instance, box = augmenter(template, z_box, search, x_box, rng, pixel, pixel)
        assert exemplar.shape == (127, 127, 3) and instance.shape == (255, 255, 3) and box.dtype == np.float32
        cx, cy, w, h = box.astype(np.float64)
        shift = 0.5 * pixel * np.array([w / size[0], h / size[1]])  # half a source pixel in output pixels
        xywh = [cx - w / 2 + shift[0], cy - h / 2 + shift[1], w, h]  # where the pixels show the target
        target = key_pixels(instance)
        assert_inside(target, xywh, 1.0, 'instance')  # interpolation may touch one more pixel
        assert iou_xywh(pixel_box(target), xywh) > 0.85
        offsets.append([cx - 127.5, cy - 127.5])
        z_found = pixel_box(key_pixels(exemplar))
        z_centre = z_found[:2] + z_found[2:] / 2
        assert np.all(np.abs(z_centre - 63.5) <= AUGMENTATION['template_shift'] + 1.5 + pixel)
    offsets = np.abs(np.array(offsets))
    assert offsets.max() <= AUGMENTATION['search_shift'] + 1e-3  # up to +-64 px ...
    assert offsets.max() > 40 and np.median(offsets) > 8  # ... and the target is usually not centred


def test_flip_mirrors_both_images_and_the_box_but_keeps_the_tracker_offset():
    rng = np.random.RandomState(0)
    patch = rng.randint(0, 255, (511, 511, 3)).astype(np.uint8)
    box = np.array([230.5, 223.75, 40., 63.5])  # off-centre horizontally
    config = geometric_only(flip_prob=1.0, template_shift=0, template_scale=0., search_shift=0, search_scale=0.)
    pixel = 2. * context_side(40., 63.5) / 127.  # output pixels per patch pixel are 127 / s_z: k = 2 output pixels
    exemplar, flipped, flipped_box = PairAugmenter(config, 'full')(patch, box, patch, box, rng, pixel, pixel)
    plain_exemplar, plain, plain_box = PairAugmenter(config, 'none')(patch, box, patch, box, rng, pixel, pixel)
    # Both show the target k / 2 = 1 px right of the box, so the flipped image is the mirror moved right by k = 2.
    # Mirrored sample positions round differently in OpenCV's fixed-point warp: at most 1 grey level apart.
    assert np.abs(flipped[:, 2:].astype(int) - plain[:, ::-1][:, :-2]).max() <= 1
    assert np.abs(exemplar[:, 2:].astype(int) - plain_exemplar[:, ::-1][:, :-2]).max() <= 1
    np.testing.assert_allclose(flipped_box, [255 - plain_box[0], plain_box[1], plain_box[2], plain_box[3]],
                               atol=1e-4)


def test_mode_none_crops_the_centre_on_the_tracker_grid():
    rng = np.random.RandomState(1)
    patch = rng.randint(0, 255, (511, 511, 3)).astype(np.uint8)
    box = np.array([223.75, 223.75, 63.5, 63.5])  # s_z = 2 * 63.5 = 127: the exemplar is the central 127 pixels
    assert context_side(63.5, 63.5) == 127
    # 2 patch pixels per source pixel: the tracker's crop is centred half a source pixel (1 px) up-left.
    exemplar, instance, out_box = PairAugmenter(AUGMENTATION, 'none')(patch, box, patch, box, rng, 2., 2.)
    np.testing.assert_array_equal(exemplar, patch[191:318, 191:318])
    np.testing.assert_array_equal(instance, patch[127:382, 127:382])
    np.testing.assert_allclose(out_box, [127.5, 127.5, 63.5, 63.5], atol=1e-4)  # the box itself stays centred
    for bad in (0., -1., float('nan')):
        with pytest.raises(ValueError, match='patch scale'):
            PairAugmenter(AUGMENTATION, 'none')(patch, box, patch, box, rng, bad, 2.)


def test_geometric_mode_leaves_pixels_untouched_but_moves_the_target():
    rng = np.random.RandomState(2)
    patch, box = keyed_patch(rng, 50, 50)
    full = copy.deepcopy(AUGMENTATION)
    full.update(color_jitter_prob=1., gray_prob=1., blur_prob=1.)  # ignored in 'geometric' mode
    boxes = []
    for _ in range(10):
        _, instance, out = PairAugmenter(full, 'geometric')(patch, box, patch, box, rng, 1., 1.)
        assert key_pixels(instance).any()  # no grey conversion, no colour change
        boxes.append(out)
    assert np.ptp(np.array(boxes)[:, 0]) > 10


def test_color_jitter_equals_its_matrix():
    rng = np.random.RandomState(3)
    image = rng.randint(0, 255, (40, 50, 3)).astype(np.uint8)
    matrix = color_matrix(np.random.RandomState(9), 0.2, 0.3, 0.4, 0.1)
    expected = np.clip(np.rint(image.reshape(-1, 3) @ matrix[:, :3].T + matrix[:, 3]), 0, 255).reshape(image.shape)
    actual = color_jitter(image, np.random.RandomState(9), 0.2, 0.3, 0.4, 0.1)
    assert np.abs(actual.astype(int) - expected).max() <= 1
    grey = np.full((4, 4, 3), 100, np.uint8)  # saturation alone leaves grey pixels grey
    assert np.ptp(color_jitter(grey, rng, 0., 0., 0.5, 0.)) == 0


def test_blur_and_downup_keep_size_and_flat_images():
    flat = np.full((255, 255, 3), 77, np.uint8)
    for size in (3, 7, 11):
        assert np.array_equal(motion_blur(flat, size, 0.7), flat)
    assert np.array_equal(downup(flat, 0.4), flat)
    image = np.random.RandomState(0).randint(0, 255, (255, 255, 3)).astype(np.uint8)
    assert downup(image, 0.5).shape == image.shape and downup(image, 0.5).std() < image.std()


def test_full_augmentation_runs_every_switch():
    rng = np.random.RandomState(4)
    config = copy.deepcopy(AUGMENTATION)
    config.update(flip_prob=0.5, color_jitter_prob=1., blur_prob=0.5, gray_prob=0.3, downup_prob=0.5)
    augmenter = PairAugmenter(config, 'full')
    greys = 0
    for _ in range(30):
        patch, box = keyed_patch(rng, 60, 60)
        exemplar, instance, _ = augmenter(patch, box, patch, box, rng, 1., 1.)
        assert exemplar.dtype == np.uint8 and instance.dtype == np.uint8
        is_grey = [np.array_equal(im[..., 0], im[..., 1]) and np.array_equal(im[..., 1], im[..., 2])
                   for im in (exemplar, instance)]
        assert is_grey[0] == is_grey[1]  # grey conversion applies to both images of a pair
        greys += is_grey[0]
    assert 0 < greys < 30
    with pytest.raises(ValueError, match='augmentation mode'):
        PairAugmenter(config, 'heavy')


def test_mixup_weights_and_blend(graph):
    rng = np.random.RandomState(5)
    images = rng.uniform(0, 255, (64, 8, 8, 3)).astype(np.float32)
    mixed, weights = mixup(tf.constant(images), 0.5, 1.5, seed=1)
    unmixed, ones = mixup(tf.constant(images), 0., 1.5)
    with cpu_session(graph) as sess:
        mixed, weights, unmixed, ones = sess.run([mixed, weights, unmixed, ones])
    assert np.all(weights > 0) and np.all(weights <= 1)
    blended = weights < 1
    assert 15 < blended.sum() < 50  # about half of the pairs
    partner = np.roll(images, 1, axis=0)  # each image is blended with the previous one of the batch
    expected = weights[:, None, None, None] * images + (1 - weights[:, None, None, None]) * partner
    np.testing.assert_allclose(mixed, expected, rtol=1e-5, atol=1e-3)
    np.testing.assert_array_equal(unmixed, images)
    np.testing.assert_array_equal(ones, np.ones(64))
