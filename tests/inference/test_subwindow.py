"""Tests of DaSiamRPN's crop against an independent re-implementation (pad the whole frame, then slice)."""

import decimal

import cv2
import numpy as np
import pytest

from inference.subwindow import get_subwindow, pad_colour, round_half_away


def python2_round(value):
    return float(decimal.Decimal(value).quantize(decimal.Decimal(1), rounding=decimal.ROUND_HALF_UP))


def reference_crop(image, pos, model_size, size, mean):
    """Pads the frame on every side by the crop size with the uint8 mean, then slices and resizes."""
    pad = size + int(np.abs(pos).max()) + 2
    padded = np.empty((image.shape[0] + 2 * pad, image.shape[1] + 2 * pad, 3), np.uint8)
    padded[...] = mean.astype(np.uint8)
    padded[pad:pad + image.shape[0], pad:pad + image.shape[1]] = image
    xmin = int(python2_round(pos[0] - (size + 1) / 2.)) + pad
    ymin = int(python2_round(pos[1] - (size + 1) / 2.)) + pad
    patch = padded[ymin:ymin + size, xmin:xmin + size]
    return patch if size == model_size else cv2.resize(patch, (model_size, model_size))


@pytest.mark.parametrize('value', [2.5, -2.5, 0.5, -0.5, 1.4999999, 3.0, -3.7, 0.49999999999999994, 1e6 + 0.5])
def test_rounding_is_python2s(value):
    assert round_half_away(value) == python2_round(value)


def test_crops_match_the_padded_frame_reference():
    rng = np.random.RandomState(0)
    image = rng.randint(0, 256, (90, 140, 3)).astype(np.uint8)
    mean = np.mean(image, axis=(0, 1))
    colour = pad_colour(image)
    np.testing.assert_array_equal(colour, np.floor(mean))
    cases = [((70., 45.), 40), ((0.5, 0.5), 61), ((139., 89.), 75), ((-50., 20.), 30), ((300., -90.), 55),
             ((70.25, 44.5), 271), ((12.5, 80.5), 127), ((69.5, 45.5), 20)]
    for pos, size in cases:
        for model_size in (127, 271, size):
            crop = get_subwindow(image, pos, model_size, float(size), colour)
            assert crop.shape == (model_size, model_size, 3) and crop.dtype == np.uint8
            np.testing.assert_array_equal(crop, reference_crop(image, pos, model_size, size, mean),
                                          err_msg=str((pos, size, model_size)))


def test_crop_side_must_be_a_positive_integer():
    image = np.zeros((50, 50, 3), np.uint8)
    with pytest.raises(ValueError, match='positive integer'):
        get_subwindow(image, (10, 10), 127, 10.5, pad_colour(image))
    with pytest.raises(ValueError, match='positive integer'):
        get_subwindow(image, (10, 10), 127, 0, pad_colour(image))
