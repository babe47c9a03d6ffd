"""Tests of the crop geometry: continuous-coordinate transforms, warping and box mapping."""

import cv2
import numpy as np

from utils.crop_utils import context_side, crop_transform, mean_color, transform_boxes, warp


def test_context_side():
    assert context_side(40, 24) == np.sqrt((40 + 32) * (24 + 32))
    np.testing.assert_allclose(context_side(np.array([10., 63.5]), np.array([10., 63.5])), [20., 127.])


def test_transform_maps_region_centre_to_output_centre_and_scales():
    matrix = crop_transform((100., 50.), (40., 20.), (80, 80))
    np.testing.assert_allclose(matrix @ [100., 50., 1.], [40., 40.])
    np.testing.assert_allclose(matrix @ [80., 40., 1.], [0., 0.])  # the region's corner -> the output's corner
    flipped = crop_transform((100., 50.), (40., 20.), 80, flip=True)
    np.testing.assert_allclose(flipped @ [80., 40., 1.], [80., 0.])  # the left edge lands on the right


def test_warp_with_integer_geometry_is_an_exact_crop():
    image = np.random.RandomState(0).randint(0, 255, (60, 70, 3)).astype(np.uint8)
    out = warp(image, crop_transform((35., 30.), 20., 20), 20)
    np.testing.assert_array_equal(out, image[20:40, 25:45])
    mirrored = warp(image, crop_transform((35., 30.), 20., 20, flip=True), 20)
    np.testing.assert_array_equal(mirrored, image[20:40, 25:45, :][:, ::-1])
    # 2x up-sampling follows OpenCV's resize convention (pixel centres at i + 0.5) away from the crop border.
    doubled = warp(image, crop_transform((35., 30.), 10., 20), 20)
    resized = cv2.resize(image[25:35, 30:40], (20, 20), interpolation=cv2.INTER_LINEAR)
    assert np.abs(doubled[1:-1, 1:-1].astype(int) - resized[1:-1, 1:-1]).max() <= 1


def test_padding_and_boxes():
    image = np.full((10, 10, 3), 50, np.uint8)
    out = warp(image, crop_transform((0., 0.), 10., 10), 10, pad_color=(1, 2, 3))
    np.testing.assert_array_equal(out[0, 0], [1, 2, 3])
    np.testing.assert_array_equal(out[-1, -1], [50, 50, 50])
    np.testing.assert_allclose(mean_color(np.dstack([np.zeros((4, 4)), np.ones((4, 4)), np.full((4, 4), 2.)])),
                               [0, 1, 2])
    matrix = crop_transform((100., 50.), 40., 80, flip=True)
    # x: 90 -> -2 (90 - 100) + 40 = 60 and 100 -> 40; y: 45 -> 2 (45 - 50) + 40 = 30, 50 -> 40.
    np.testing.assert_allclose(transform_boxes([90., 45., 10., 5.], matrix), [40., 30., 20., 10.])
    np.testing.assert_allclose(transform_boxes([[90., 45., 10., 5.]] * 2, matrix).shape, (2, 4))
