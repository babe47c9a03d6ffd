"""Pair augmentation with OpenCV, run in the reader threads (OpenCV releases the GIL, so threads run in parallel).

Input: two curated patches (511 crops) with their target boxes. Output: the exemplar (127), the search image (255)
and the target box in the search image (cx,cy,w,h, 0-based continuous pixels, centre at 255/2).

Geometry (one affine warp per image, so the box maps exactly as the pixels do; see utils/crop_utils.py):
  * exemplar: the context region s_z = sqrt((w+p)(h+p)) of the template box, scaled by 1 +- template_scale and
    shifted by up to template_shift output pixels;
  * search: the region s_z * 255 / 127 of the search box, scaled by 1 +- search_scale (x and y independently when
    independent_xy_scale) and placed so the target centre lands up to search_shift pixels from the image centre;
  * horizontal flip of both images together (flip_prob).

The tracker's pixel grid (one convention for training and tracking). inference/subwindow.py crops a side-sz region
around pos as pixels xmin..xmin+sz-1, xmin = round(pos - (sz + 1) / 2): the continuous region [xmin, xmin + sz) is
centred at pos - 1/2 + e, e the rounding residual (|e| <= 1/2, zero mean), and resizing it to `out` maps a source
point q to (q - xmin) k with k = out / sz output pixels per source pixel. The tracker decodes an output box centred
at u as pos + (u - out / 2) / k (inference/tracker.select_target): it takes the crop centre for pos. A target
centred at pos therefore shows at out / 2 + (1/2 - e) k while its correct output is out / 2. So training shows the
target k / 2 right of and below the box it gives the model: the box is the image of the target under the exactly
centred transform M (as ever), and the pixels are warped with M followed by a translation of +k/2 in x and y.
Here k = (patch pixels per source pixel, recorded by curation as `patch_scales`) x |output pixels per patch pixel
of M|, so the shift is half a *source* pixel at every scale jitter; it is added in output coordinates, so a
mirrored pair keeps it (the tracker never mirrors). The exemplar gets the same shift, as the tracker's template
crop has it. Only e (a property of the absolute position) is not reproduced: it is zero-mean jitter at tracking
time. The offset cannot enter at curation alone: the 511 patch is re-centred here on its recorded box, and only
curation knows the source pixel size, hence the recorded scales.
Photometric, per image unless noted: grey (both images, gray_prob), down-then-up resampling (downup_prob), blur
with a random odd kernel, Gaussian or motion (blur_prob), colour jitter (brightness, contrast, saturation and
per-channel gain as one 3x4 colour matrix, color_jitter_prob). Mixup happens in the graph, on the batch
(datasets/dataloader.py).

Modes: 'full' applies everything configured; 'geometric' only the shift/scale jitter of both crops (validation:
the target is not centred, the pixels are untouched); 'none' centred crops without jitter.
"""

import cv2
import numpy as np

from utils.crop_utils import context_side, crop_transform, mean_color, transform_boxes, warp

MODES = ('full', 'geometric', 'none')
_GREY_WEIGHTS = np.array([0.114, 0.587, 0.299])  # BGR luma weights (OpenCV's)


class PairAugmenter(object):
    """Turns (template patch, box, search patch, box) into (exemplar, instance, instance box)."""

    def __init__(self, augmentation_config, mode, exemplar_size=127, instance_size=255, context_amount=0.5):
        if mode not in MODES:
            raise ValueError('augmentation mode must be one of %s, got %r' % (MODES, mode))
        self.config = augmentation_config
        self.mode = mode
        self.exemplar_size = int(exemplar_size)
        self.instance_size = int(instance_size)
        self.context_amount = float(context_amount)

    def _jitter(self, rng, amount):
        return 1. + rng.uniform(-amount, amount) if amount and self.mode != 'none' else 1.

    def template_transform(self, box, rng, flip=False):
        """2x3 transform from template patch pixels to exemplar pixels for the 0-based x,y,w,h `box`."""
        x, y, w, h = box
        side = context_side(w, h, self.context_amount) * self._jitter(rng, self.config['template_scale'])
        shift = self.config['template_shift'] if self.mode != 'none' else 0
        dx, dy = rng.uniform(-shift, shift, 2) * side / self.exemplar_size if shift else (0., 0.)
        return crop_transform((x + w / 2. - dx, y + h / 2. - dy), side, self.exemplar_size, flip)

    def search_transform(self, box, rng, flip=False):
        """2x3 transform from search patch pixels to instance pixels for the 0-based x,y,w,h `box`."""
        x, y, w, h = box
        side = context_side(w, h, self.context_amount) * self.instance_size / self.exemplar_size
        scale_x = self._jitter(rng, self.config['search_scale'])
        scale_y = self._jitter(rng, self.config['search_scale']) if self.config['independent_xy_scale'] else scale_x
        region = (side * scale_x, side * scale_y)
        shift = self.config['search_shift'] if self.mode != 'none' else 0
        dx, dy = rng.uniform(-shift, shift, 2) if shift else (0., 0.)
        centre = (x + w / 2. - dx * region[0] / self.instance_size, y + h / 2. - dy * region[1] / self.instance_size)
        return crop_transform(centre, region, self.instance_size, flip)

    def __call__(self, template_patch, template_box, search_patch, search_box, rng, template_pixel, search_pixel):
        """Augments one pair.

        Args:
          template_patch, search_patch: [P, P, 3] uint8 BGR curated patches.
          template_box, search_box: 0-based x,y,w,h target boxes in patch pixels.
          rng: numpy RandomState.
          template_pixel, search_pixel: patch pixels per source pixel of each patch (the imdb's `patch_scales`).
        Returns:
          exemplar [127, 127, 3] uint8, instance [255, 255, 3] uint8, instance box [4] float32 cx,cy,w,h.
        """
        full = self.mode == 'full'
        config = self.config
        flip = full and rng.random_sample() < config['flip_prob']
        z_matrix = self.template_transform(template_box, rng, flip)
        x_matrix = self.search_transform(search_box, rng, flip)
        exemplar = warp(template_patch, tracker_grid(z_matrix, template_pixel), self.exemplar_size,
                        mean_color(template_patch))
        instance = warp(search_patch, tracker_grid(x_matrix, search_pixel), self.instance_size,
                        mean_color(search_patch))
        x, y, w, h = transform_boxes(search_box, x_matrix)
        box = np.array([x + w / 2., y + h / 2., w, h], np.float32)
        if full:
            gray = rng.random_sample() < config['gray_prob']
            exemplar = self.photometric(exemplar, rng, gray)
            instance = self.photometric(instance, rng, gray)
        return exemplar, instance, box

    def photometric(self, image, rng, gray=False):
        """Down-up resampling, blur, colour jitter and grey conversion of one uint8 image, as configured."""
        config = self.config
        if rng.random_sample() < config['downup_prob']:
            image = downup(image, rng.uniform(*config['downup_scale']))
        if rng.random_sample() < config['blur_prob']:
            low, high = config['blur_kernel']
            size = int(rng.randint(low // 2, high // 2 + 1)) * 2 + 1
            image = motion_blur(image, size, rng.uniform(0., np.pi)) if rng.random_sample() < 0.5 else \
                cv2.GaussianBlur(image, (size, size), 0)
        if rng.random_sample() < config['color_jitter_prob']:
            image = color_jitter(image, rng, config['brightness'], config['contrast'], config['saturation'],
                                 config['channel_gain'])
        if gray:
            image = cv2.cvtColor(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
        return image


def tracker_grid(matrix, patch_pixel):
    """The crop transform `matrix` (patch -> output) followed by the tracker's half-source-pixel shift (+k/2 in x and
    y, k = output pixels per source pixel; see the module docstring) -> [2, 3] float64.

    patch_pixel: patch pixels per source pixel (> 0).
    """
    patch_pixel = float(patch_pixel)
    if not np.isfinite(patch_pixel) or patch_pixel <= 0:
        raise ValueError('the patch scale (patch pixels per source pixel) must be positive and finite, got %r' %
                         patch_pixel)
    shifted = np.array(matrix, np.float64)
    shifted[:, 2] += 0.5 * patch_pixel * np.abs([shifted[0, 0], shifted[1, 1]])
    return shifted


def downup(image, scale):
    """Resamples `image` down by `scale` (area) and back up to its size (linear)."""
    h, w = image.shape[:2]
    small = cv2.resize(image, (max(int(round(w * scale)), 1), max(int(round(h * scale)), 1)),
                       interpolation=cv2.INTER_AREA)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def motion_blur(image, size, angle):
    """Blurs `image` along a line of `size` pixels at `angle` radians."""
    kernel = np.zeros((size, size), np.float32)
    centre = (size - 1) / 2.
    dx, dy = np.cos(angle) * centre, np.sin(angle) * centre
    cv2.line(kernel, (int(round(centre - dx)), int(round(centre - dy))),
             (int(round(centre + dx)), int(round(centre + dy))), 1., 1)
    return cv2.filter2D(image, -1, kernel / kernel.sum())


def color_matrix(rng, brightness, contrast, saturation, channel_gain):
    """Random 3x4 BGR colour transform: saturation blend with grey, per-channel gain, contrast about mid-grey and a
    brightness offset."""
    s = 1. + rng.uniform(-saturation, saturation)
    c = 1. + rng.uniform(-contrast, contrast)
    gains = 1. + rng.uniform(-channel_gain, channel_gain, 3)
    b = rng.uniform(-brightness, brightness) * 255.
    mixing = s * np.eye(3) + (1. - s) * np.ones((3, 1)) * _GREY_WEIGHTS[None]
    linear = c * gains[:, None] * mixing
    offset = (1. - c) * 127.5 + b
    return np.hstack([linear, np.full((3, 1), offset)])


def color_jitter(image, rng, brightness, contrast, saturation, channel_gain):
    """Applies a random colour_matrix to a uint8 BGR image in one saturating OpenCV pass."""
    return cv2.transform(image, color_matrix(rng, brightness, contrast, saturation, channel_gain))
