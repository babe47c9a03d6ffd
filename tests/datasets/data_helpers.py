"""Helpers of the data-path tests: small generator configs, colour-keyed targets, pixel checks."""

import copy

import numpy as np

import configuration

KEY_COLOR = (255, 0, 255)  # BGR magenta: the colour-keyed target


def small_generator_config(**overrides):
    """The default generator config with short videos and small frames."""
    config = copy.deepcopy(configuration.TRAIN_CONFIG['synthetic_data_config']['generator_config'])
    config.update(num_frames=[10, 14], frame_width=[192, 256])
    config.update(overrides)
    return config


def keyed_generator_config(**overrides):
    """Small videos whose target is flat magenta and unique in the scene (no occluders, lighting, blur or noise)."""
    config = small_generator_config(target_color=list(KEY_COLOR), occlusion_rate=0., illumination_change=0.,
                                    light_gradient=0., blur_prob=0., noise_std=0., num_distractors=[1, 1])
    config.update(overrides)
    return config


def key_pixels(image, tolerance=60):
    """[H, W] bool: pixels of a BGR image within `tolerance` (max channel difference) of the key colour."""
    return np.abs(image.astype(np.int32) - np.array(KEY_COLOR)).max(axis=-1) < tolerance


def pixel_box(mask):
    """0-based x,y,w,h of the True pixels of a mask (pixel i covers [i, i + 1))."""
    rows, cols = np.nonzero(mask.any(axis=1))[0], np.nonzero(mask.any(axis=0))[0]
    return np.array([cols[0], rows[0], cols[-1] + 1 - cols[0], rows[-1] + 1 - rows[0]], np.float64)


def assert_inside(mask, box, margin, what):
    """Every True pixel of `mask` lies within the x,y,w,h `box` grown by `margin` pixels."""
    x, y, w, h = box
    inside = np.zeros_like(mask)
    x0, y0 = int(max(np.floor(x - margin), 0)), int(max(np.floor(y - margin), 0))
    inside[y0:int(np.ceil(y + h + margin)), x0:int(np.ceil(x + w + margin))] = True
    outside = np.count_nonzero(mask & ~inside)
    assert outside == 0, '%s: %d target pixels outside the box %s' % (what, outside, np.round(box, 2).tolist())


def synthetic_config(root, generator_config, train_videos=5, test_videos=1):
    """A synthetic_data_config for a small dataset under `root`."""
    config = copy.deepcopy(configuration.TRAIN_CONFIG['synthetic_data_config'])
    config.update(root_dir=str(root), num_train_videos=train_videos, num_test_videos=test_videos,
                  validation_ratio=0.2, generator_config=generator_config)
    return config
