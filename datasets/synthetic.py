"""The embedded synthetic tracking dataset: deterministic OTB-layout videos, and its end-to-end build.

Every video is a function of (seed, video index, generator config) only, so a split is reproducible and can be
generated in parallel and resumed. A video shows:
  * a textured background (value noise at several scales through a muted palette, a colour gradient, and static
    textured clutter shapes), seen through a slowly panning camera;
  * one target: a random shape (ellipse, rectangle, irregular polygon, star, superellipse) with its own texture
    (noise, stripes, checks, spots or rings), moving smoothly with random accelerations, bouncing off the frame
    borders, its size drifting within `scale_range` and its aspect within `aspect_range`;
  * 1-3 distractors that resemble the target (`distractor_similarity`) and move on their own, behind it;
  * partial occlusions: occluders that slide across the target for a few frames;
  * illumination changes (a global gain and a moving light gradient), sensor noise (a random window of one noise
    field per video) and occasional motion blur;
  * a frame size that varies between videos.
The ground-truth box is the tight box of the target's pixels (its anti-aliased mask), including occluded parts.

Layout of a split folder (what benchmarks/run_OTB.py and datasets/sources/otb.py read):
  <split_dir>/<split>_<NNNN>/img/0001.jpg ...       frames
  <split_dir>/<split>_<NNNN>/groundtruth_rect.txt   1-based x,y,w,h per frame (utils/box_io.py)
  <split_dir>/synthetic.json                        seed, split and generator config of the folder

`build_synthetic_dataset` runs generate (train and test splits, different seeds) -> curate the train split ->
train/validation imdbs -> LMDB, skipping whatever is already done; `use_synthetic_data` points a TRAIN_CONFIG at
the result. The test split is never curated: it is only for tracking benchmarks.
"""

import copy
import json
import os
import shutil
import time

import cv2
import numpy as np
from tqdm import tqdm

import configuration
from datasets.augmentation import motion_blur
from datasets.curation import curate_source, format_summary, tracks_of
from datasets.imdb import imdb_keys, make_imdb, save_imdb, split_imdb
from datasets.lmdb_store import build_lmdb
from datasets.sources.otb import OTBSource
from utils.box_io import write_otb_boxes
from utils.image_io import encode_jpeg
from utils.io_utils import file_lock, read_json, write_json
from utils.parallel import imap_unordered

MANIFEST = 'synthetic.json'
GENERATOR_VERSION = 1
SOURCE_NAME = 'synthetic'
SHAPES = ('ellipse', 'rectangle', 'polygon', 'star', 'superellipse')
TEXTURES = ('noise', 'stripes', 'checks', 'spots', 'rings')
_TEXTURE_SIZE = 96
_SUPERSAMPLE = 4
_PARTIAL_PREFIX = '.partial-'
_NOISE_MARGIN = 32


# ----------------------------------------------------------------------------------------------------------------
# Appearance: noise fields, palettes, textures and shapes.

def _uniform(rng, bounds):
    return float(rng.uniform(bounds[0], bounds[1]))


def _integer(rng, bounds):
    return int(rng.integers(int(bounds[0]), int(bounds[1]) + 1))


def value_noise(rng, height, width, cells):
    """[height, width] float32 in [0, 1]: random grids of the given cell sizes, upsampled and summed."""
    field = np.zeros((height, width), np.float32)
    for weight, cell in enumerate(cells, 1):
        grid = rng.random((height // cell + 2, width // cell + 2)).astype(np.float32)
        field += cv2.resize(grid, (width, height), interpolation=cv2.INTER_CUBIC) / weight
    field -= field.min()
    return field / max(float(field.max()), 1e-6)


def colorize(field, palette):
    """Maps a [H, W] field in [0, 1] through a [K, 3] palette (linear interpolation) -> [H, W, 3] float32."""
    positions = np.linspace(0., 1., len(palette))
    return np.stack([np.interp(field, positions, palette[:, c]) for c in range(3)], axis=-1).astype(np.float32)


def random_palette(rng, count, saturation=1.0):
    """[count, 3] float colours; `saturation` < 1 pulls them toward their grey level."""
    colours = rng.uniform(0., 255., (count, 3))
    grey = colours.mean(axis=1, keepdims=True)
    return grey + saturation * (colours - grey)


def random_texture(rng, size=_TEXTURE_SIZE, kind=None):
    """A [size, size, 3] float32 object texture of a random (or the given) kind."""
    kind = kind or TEXTURES[rng.integers(len(TEXTURES))]
    palette = random_palette(rng, int(rng.integers(2, 5)), saturation=_uniform(rng, (0.6, 1.0)))
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32)
    if kind == 'noise':
        field = value_noise(rng, size, size, (int(rng.integers(6, 20)), int(rng.integers(2, 6))))
    elif kind == 'stripes':
        angle, period = _uniform(rng, (0, np.pi)), _uniform(rng, (8., 28.))
        field = 0.5 + 0.5 * np.sin(2 * np.pi * (xs * np.cos(angle) + ys * np.sin(angle)) / period)
    elif kind == 'checks':
        cell = int(rng.integers(8, 24))
        field = ((xs // cell + ys // cell) % 2).astype(np.float32)
    elif kind == 'rings':
        cx, cy, period = _uniform(rng, (0, size)), _uniform(rng, (0, size)), _uniform(rng, (8., 24.))
        field = 0.5 + 0.5 * np.cos(2 * np.pi * np.hypot(xs - cx, ys - cy) / period)
    elif kind == 'spots':
        field = np.zeros((size, size), np.float32)
        for _ in range(int(rng.integers(4, 12))):
            cv2.circle(field, (int(rng.integers(size)), int(rng.integers(size))), int(rng.integers(4, 16)),
                       float(rng.uniform(0.4, 1.0)), -1)
    else:
        raise ValueError('unknown texture kind %r: expected one of %s' % (kind, TEXTURES))
    field = np.clip(field + 0.15 * value_noise(rng, size, size, (4,)) - 0.075, 0., 1.)
    return colorize(field, palette)


def random_shape(rng, kind=None):
    """[M, 2] polygon vertices of a random shape, normalised so their bounding box is [0, 1] x [0, 1]."""
    kind = kind or SHAPES[rng.integers(len(SHAPES))]
    if kind == 'rectangle':
        points = np.array([[0., 0.], [1., 0.], [1., 1.], [0., 1.]])
    else:
        angles = np.linspace(0., 2 * np.pi, 48, endpoint=False)
        if kind == 'ellipse':
            radius = np.ones_like(angles)
        elif kind == 'superellipse':
            power = _uniform(rng, (0.3, 0.7))
            c, s = np.cos(angles), np.sin(angles)
            radius = 1. / (np.abs(c) ** (2 / power) + np.abs(s) ** (2 / power)) ** (power / 2)
        elif kind == 'star':
            points = int(rng.integers(5, 8))
            angles = np.linspace(0., 2 * np.pi, 2 * points, endpoint=False) + _uniform(rng, (0, np.pi))
            radius = np.where(np.arange(2 * points) % 2 == 0, 1., _uniform(rng, (0.45, 0.7)))
        elif kind == 'polygon':
            count = int(rng.integers(5, 9))
            angles = np.sort(rng.uniform(0., 2 * np.pi, count))
            radius = rng.uniform(0.6, 1.0, count)
        else:
            raise ValueError('unknown shape kind %r: expected one of %s' % (kind, SHAPES))
        points = np.stack([radius * np.cos(angles), radius * np.sin(angles)], axis=1)
    points = points - points.min(axis=0)
    return points / np.maximum(points.max(axis=0), 1e-6)


def shape_alpha(vertices, width, height):
    """Anti-aliased [height, width] float32 alpha of a normalised polygon stretched over width x height pixels."""
    scale = _SUPERSAMPLE * 16  # fillPoly's 4 fractional bits
    big = np.zeros((height * _SUPERSAMPLE, width * _SUPERSAMPLE), np.uint8)
    points = np.round(vertices * [width * scale - 1, height * scale - 1]).astype(np.int32)
    cv2.fillPoly(big, [points], 255, lineType=cv2.LINE_8, shift=4)
    return cv2.resize(big, (width, height), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.


def keep_away(image, colour, margin):
    """Recolours pixels of `image` [H, W, 3] float within `margin` (max channel difference) of `colour`."""
    colour = np.asarray(colour, np.float32)
    near = np.abs(image - colour).max(axis=-1) < margin
    image[near] = 255. - colour
    return image


# ----------------------------------------------------------------------------------------------------------------
# Motion.

class Mover(object):
    """Smooth random motion of a box: correlated accelerations, damped velocity, border bounces, and log-space
    random walks of scale and aspect kept inside their ranges."""

    def __init__(self, rng, config, frame_size, base_size, position=None):
        self.rng, self.config = rng, config
        self.frame_w, self.frame_h = frame_size
        self.base_w, self.base_h = base_size
        self.log_scale, self.log_aspect = 0., 0.
        self.scale_velocity, self.aspect_velocity = 0., 0.
        w, h = self.size()
        if position is None:
            position = (rng.uniform(w / 2 + 1, self.frame_w - w / 2 - 1),
                        rng.uniform(h / 2 + 1, self.frame_h - h / 2 - 1))
        self.position = np.array(position, np.float64)
        reference = np.sqrt(w * h)
        self.velocity = rng.normal(0., 0.5 * config['max_speed'] * reference, 2)
        self.acceleration = np.zeros(2)

    def size(self):
        """Current (w, h) in pixels."""
        scale, aspect = np.exp(self.log_scale), np.exp(self.log_aspect)
        return self.base_w * scale / np.sqrt(aspect), self.base_h * scale * np.sqrt(aspect)

    def step(self):
        """Advances one frame; returns the box centre and size (cx, cy, w, h)."""
        config, rng = self.config, self.rng
        self.log_scale, self.scale_velocity = self._walk(self.log_scale, self.scale_velocity, config['scale_speed'],
                                                         np.log(config['scale_range']))
        self.log_aspect, self.aspect_velocity = self._walk(self.log_aspect, self.aspect_velocity,
                                                           config['scale_speed'], np.log(config['aspect_range']))
        w, h = self.size()
        reference = np.sqrt(w * h)
        self.acceleration = 0.7 * self.acceleration + rng.normal(0., config['motion_strength'] * reference, 2)
        self.velocity = 0.95 * self.velocity + self.acceleration
        speed, limit = np.linalg.norm(self.velocity), config['max_speed'] * reference
        if speed > limit:
            self.velocity *= limit / speed
        self.position += self.velocity
        for axis, (half, side) in enumerate(((w / 2 + 1, self.frame_w), (h / 2 + 1, self.frame_h))):
            low, high = half, max(side - half, half)
            if self.position[axis] < low:
                self.position[axis] = min(2 * low - self.position[axis], high)
                self.velocity[axis], self.acceleration[axis] = abs(self.velocity[axis]), 0.
            elif self.position[axis] > high:
                self.position[axis] = max(2 * high - self.position[axis], low)
                self.velocity[axis], self.acceleration[axis] = -abs(self.velocity[axis]), 0.
        return self.position[0], self.position[1], w, h

    def _walk(self, value, velocity, strength, bounds):
        velocity = 0.9 * velocity + self.rng.normal(0., strength)
        value += velocity
        if value < bounds[0] or value > bounds[1]:
            value = float(np.clip(value, bounds[0], bounds[1]))
            velocity = -velocity
        return value, velocity


# ----------------------------------------------------------------------------------------------------------------
# Rendering.

def paste(frame, alpha, colours, cx, cy):
    """Alpha-blends an object ([h, w] alpha, [h, w, 3] colours) centred at (cx, cy) into `frame` (float32, in place).

    Returns (x0, y0, clipped alpha) of the part inside the frame, or None when nothing is visible.
    """
    h, w = alpha.shape
    x0, y0 = int(round(cx - w / 2.)), int(round(cy - h / 2.))
    fx0, fy0 = max(x0, 0), max(y0, 0)
    fx1, fy1 = min(x0 + w, frame.shape[1]), min(y0 + h, frame.shape[0])
    if fx1 <= fx0 or fy1 <= fy0:
        return None
    a = alpha[fy0 - y0:fy1 - y0, fx0 - x0:fx1 - x0, None]
    region = frame[fy0:fy1, fx0:fx1]
    region *= 1. - a
    region += a * colours[fy0 - y0:fy1 - y0, fx0 - x0:fx1 - x0]
    return fx0, fy0, a[..., 0]


class _Object(object):
    """A moving textured shape (the target or a distractor)."""

    def __init__(self, vertices, texture, mover):
        self.vertices, self.texture, self.mover = vertices, texture, mover

    def render(self, frame):
        cx, cy, w, h = self.mover.step()
        width, height = max(int(round(w)), 2), max(int(round(h)), 2)
        alpha = shape_alpha(self.vertices, width, height)
        colours = cv2.resize(self.texture, (width, height), interpolation=cv2.INTER_LINEAR)
        return paste(frame, alpha, colours, cx, cy), (cx, cy, w, h)


def _background(rng, config, width, height):
    """Static [height, width, 3] float32 scene: multi-scale noise, a gradient and textured clutter shapes."""
    cells = (int(rng.integers(48, 96)), int(rng.integers(12, 32)), int(rng.integers(3, 8)))
    field = value_noise(rng, height, width, cells)
    canvas = colorize(field, random_palette(rng, int(rng.integers(3, 6)), saturation=_uniform(rng, (0.2, 0.6))))
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    angle = _uniform(rng, (0, 2 * np.pi))
    ramp = (xs * np.cos(angle) + ys * np.sin(angle)) / max(width, height)
    canvas += ramp[..., None] * rng.uniform(-60., 60., 3).astype(np.float32)
    side = np.sqrt(width * height)
    for _ in range(_integer(rng, config['clutter_shapes'])):
        w, h = int(side * _uniform(rng, (0.04, 0.2))) + 2, int(side * _uniform(rng, (0.04, 0.2))) + 2
        texture = cv2.resize(random_texture(rng), (w, h))
        paste(canvas, shape_alpha(random_shape(rng), w, h) * _uniform(rng, (0.6, 1.0)),
              0.5 * texture + 0.5 * texture.mean(axis=(0, 1)), rng.uniform(0, width), rng.uniform(0, height))
    return np.clip(canvas, 0., 255.)


def _distractor_look(rng, target_vertices, target_texture, similarity):
    """Shape and texture of a distractor: the target's, perturbed by (1 - similarity)."""
    vertices = target_vertices if rng.random() < similarity else random_shape(rng)
    texture = similarity * target_texture + (1. - similarity) * random_texture(rng)
    texture = texture + rng.uniform(-1., 1., 3).astype(np.float32) * 60. * (1. - similarity)
    return vertices, np.clip(texture, 0., 255.)


def render_video(seed, index, config, with_masks=False):
    """Renders synthetic video `index` of the split with `seed`.

    Returns a dict: frames [N x [H, W, 3] uint8 BGR], boxes [N, 4] 0-based x,y,w,h float64 (tight box of the
    target's pixels), occluded [N] bool, masks [N x [H, W] bool] of the target's pixels when `with_masks`, and
    frame_size (W, H).
    """
    rng = np.random.default_rng([int(seed), int(index), GENERATOR_VERSION])
    width = int(round(_uniform(rng, config['frame_width']) / 2)) * 2
    height = int(round(width * _uniform(rng, config['frame_aspect']) / 2)) * 2
    num_frames = _integer(rng, config['num_frames'])
    margin = int(np.ceil(4 * config['camera_motion'] * np.sqrt(num_frames))) + 8
    canvas = _background(rng, config, width + 2 * margin, height + 2 * margin)
    target_colour = config.get('target_color')

    area = _uniform(rng, config['target_area']) * width * height
    aspect = np.exp(_uniform(rng, np.log(config['target_aspect'])))
    base = (np.sqrt(area / aspect), np.sqrt(area * aspect))
    target_vertices = random_shape(rng)
    if target_colour is not None:
        target_texture = np.broadcast_to(np.asarray(target_colour, np.float32),
                                         (_TEXTURE_SIZE, _TEXTURE_SIZE, 3)).copy()
        keep_away(canvas, target_colour, config['key_margin'])
    else:
        target_texture = random_texture(rng)
    target = _Object(target_vertices, target_texture, Mover(rng, config, (width, height), base))
    distractors = []
    for _ in range(_integer(rng, config['num_distractors'])):
        vertices, texture = _distractor_look(rng, target_vertices, random_texture(rng) if target_colour is not None
                                             else target_texture, config['distractor_similarity'])
        if target_colour is not None:
            keep_away(texture, target_colour, config['key_margin'])
        size = _uniform(rng, (0.75, 1.25))
        distractors.append(_Object(vertices, texture, Mover(rng, config, (width, height),
                                                            (base[0] * size, base[1] * size))))

    camera, camera_velocity = np.array([margin, margin], np.float64), np.zeros(2)
    gain_phase, gain_period = _uniform(rng, (0, 2 * np.pi)), _uniform(rng, (30., 120.))
    gain_amplitude = _uniform(rng, (0., 1.)) * config['illumination_change']
    light_angle, light_speed = _uniform(rng, (0, 2 * np.pi)), _uniform(rng, (-0.05, 0.05))
    light_amplitude = _uniform(rng, (0., 1.)) * config['light_gradient']
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    xs, ys = xs / width - 0.5, ys / height - 0.5
    occluder = None
    noise = None
    if config['noise_std'] > 0:
        noise = rng.standard_normal((height + _NOISE_MARGIN, width + _NOISE_MARGIN, 3), dtype=np.float32)
        noise *= config['noise_std']

    frames, boxes, occluded, masks = [], [], [], []
    for t in range(num_frames):
        camera_velocity = 0.9 * camera_velocity + rng.normal(0., config['camera_motion'], 2)
        camera = np.clip(camera + camera_velocity, 0, 2 * margin)
        ox, oy = int(round(camera[0])), int(round(camera[1]))
        frame = canvas[oy:oy + height, ox:ox + width].copy()
        for distractor in distractors:
            distractor.render(frame)
        placed, (cx, cy, w, h) = target.render(frame)
        if placed is None:
            raise ValueError('synthetic video %d of seed %d: the target left the frame; reduce target_area or '
                             'scale_range' % (index, seed))
        mask = np.zeros((height, width), bool)
        x0, y0, alpha = placed
        mask[y0:y0 + alpha.shape[0], x0:x0 + alpha.shape[1]] = alpha > 0
        rows, cols = np.nonzero(mask.any(axis=1))[0], np.nonzero(mask.any(axis=0))[0]
        boxes.append([cols[0], rows[0], cols[-1] + 1 - cols[0], rows[-1] + 1 - rows[0]])

        if occluder is None and rng.random() < config['occlusion_rate']:
            occluder = _start_occlusion(rng, config, canvas, target_colour)
        occluded.append(occluder is not None)
        if occluder is not None:
            progress = occluder['frame'] / max(occluder['length'] - 1, 1)
            offset = (1 - progress) * occluder['start'] + progress * occluder['end']
            side = np.sqrt(w * h)
            ow, oh = max(int(side * occluder['size'][0]), 2), max(int(side * occluder['size'][1]), 2)
            paste(frame, shape_alpha(occluder['vertices'], ow, oh), cv2.resize(occluder['texture'], (ow, oh)),
                  cx + offset[0] * w, cy + offset[1] * h)
            occluder['frame'] += 1
            if occluder['frame'] >= occluder['length']:
                occluder = None

        gain = 1. + gain_amplitude * np.sin(2 * np.pi * t / gain_period + gain_phase)
        angle = light_angle + light_speed * t
        light = gain * (1. + light_amplitude * (xs * np.cos(angle) + ys * np.sin(angle)))
        frame *= light[..., None]
        if noise is not None:  # a random window of one noise field per video: per-pixel noise, cheaply
            nx, ny = int(rng.integers(_NOISE_MARGIN + 1)), int(rng.integers(_NOISE_MARGIN + 1))
            frame += noise[ny:ny + height, nx:nx + width]
        if rng.random() < config['blur_prob']:
            length = _integer(rng, config['blur_length']) | 1
            direction = np.arctan2(target.mover.velocity[1], target.mover.velocity[0])
            frame = motion_blur(frame, length, direction)
        frames.append(np.clip(frame, 0., 255.).astype(np.uint8))
        if with_masks:
            masks.append(mask)
    result = {'frames': frames, 'boxes': np.array(boxes, np.float64), 'occluded': np.array(occluded),
              'frame_size': (width, height)}
    if with_masks:
        result['masks'] = masks
    return result


def _start_occlusion(rng, config, canvas, target_colour):
    """An occluder sliding across the target: size and offsets are in target sizes, relative to its centre."""
    coverage = _uniform(rng, config['occlusion_coverage'])
    side = rng.integers(4)
    across = rng.uniform(-0.4, 0.4)
    # Enter from one side at the target's edge, leave towards the opposite side, passing over part of the target.
    start = np.array([[-0.5 - coverage / 2, across], [0.5 + coverage / 2, across],
                      [across, -0.5 - coverage / 2], [across, 0.5 + coverage / 2]][side])
    end = -start * _uniform(rng, (0.0, 0.6))
    height, width = canvas.shape[:2]
    x, y = int(rng.integers(0, width - _TEXTURE_SIZE)), int(rng.integers(0, height - _TEXTURE_SIZE))
    texture = canvas[y:y + _TEXTURE_SIZE, x:x + _TEXTURE_SIZE] * _uniform(rng, (0.5, 1.2))
    texture = np.clip(texture, 0., 255.)
    if target_colour is not None:
        keep_away(texture, target_colour, config['key_margin'])
    return {'frame': 0, 'length': _integer(rng, config['occlusion_length']), 'start': start, 'end': end,
            'size': (coverage * _uniform(rng, (1., 2.)), coverage * _uniform(rng, (1., 2.))),
            'vertices': random_shape(rng), 'texture': texture}


# ----------------------------------------------------------------------------------------------------------------
# Splits on disk.

def video_name(split, index):
    """Folder name of video `index` (0-based) of a split: '<split>_<index + 1:04d>'."""
    return '%s_%04d' % (split, index + 1)


def write_video(folder, rendered, jpeg_quality):
    """Writes a rendered video in OTB layout into `folder`, atomically (a partial folder renamed at the end)."""
    partial = os.path.join(os.path.dirname(folder), _PARTIAL_PREFIX + os.path.basename(folder))
    if os.path.isdir(partial):
        shutil.rmtree(partial)
    os.makedirs(os.path.join(partial, 'img'))
    try:
        digits = max(4, len(str(len(rendered['frames']))))
        for number, frame in enumerate(rendered['frames'], 1):
            with open(os.path.join(partial, 'img', '%0*d.jpg' % (digits, number)), 'wb') as stream:
                stream.write(encode_jpeg(frame, jpeg_quality))
        write_otb_boxes(os.path.join(partial, 'groundtruth_rect.txt'), rendered['boxes'])
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    os.rename(partial, folder)


def video_stats(boxes, occluded):
    """Difficulty statistics of one video from its boxes [N, 4] (x,y,w,h) and occlusion flags [N]."""
    from utils.box_utils import iou_xywh  # imported here: box_utils loads TensorFlow, which workers do not need
    boxes = np.asarray(boxes)
    centres = boxes[:, :2] + boxes[:, 2:] / 2
    sizes = np.sqrt(boxes[:, 2] * boxes[:, 3])
    steps = np.linalg.norm(np.diff(centres, axis=0), axis=1) / sizes[:-1] if len(boxes) > 1 else np.zeros(1)
    return {'frames': len(boxes), 'speed': float(steps.mean()), 'max_speed': float(steps.max()),
            'occluded': float(np.mean(occluded)),
            'static_iou': float(np.mean(iou_xywh(boxes[:1], boxes))),
            'scale_span': float(sizes.max() / sizes.min())}


def _generate_task(args):
    folder, seed, index, config = args
    rendered = render_video(seed, index, config)
    write_video(folder, rendered, config['jpeg_quality'])
    return rendered['boxes'], rendered['occluded']


def _check_manifest(split_dir, manifest):
    path = os.path.join(split_dir, MANIFEST)
    if os.path.isfile(path):
        existing = read_json(path)
        same = {k: v for k, v in existing.items() if k != 'num_videos'}
        if same != {k: v for k, v in manifest.items() if k != 'num_videos'}:
            raise ValueError('%s was generated with other parameters (%s); delete the folder or choose another' % (
                split_dir, path))
    write_json(path, manifest)


def generate_split(split_dir, split, num_videos, seed, generator_config, processes=None, progress=True):
    """Generates (or completes) a synthetic split in OTB layout; resumable and multi-process.

    Returns a summary: split, folder, videos, generated, existing, frames, seconds and difficulty statistics (mean
    speed in target sizes per frame, fraction of occluded frames, mean IoU of a box that never moves from frame 1,
    scale span).
    """
    start = time.time()
    config = copy.deepcopy(generator_config)
    manifest = {'generator_version': GENERATOR_VERSION, 'split': split, 'seed': int(seed),
                'num_videos': int(num_videos), 'generator_config': config}
    os.makedirs(split_dir, exist_ok=True)
    _check_manifest(split_dir, json_roundtrip(manifest))
    names = [video_name(split, i) for i in range(num_videos)]
    for entry in os.listdir(split_dir):
        path = os.path.join(split_dir, entry)
        if entry.startswith(_PARTIAL_PREFIX):
            shutil.rmtree(path)
        elif os.path.isdir(path) and entry not in names:
            raise ValueError('%s holds %s, which is not one of its %d videos; delete it or the folder' % (
                split_dir, entry, num_videos))
    tasks = [(os.path.join(split_dir, name), seed, i, config) for i, name in enumerate(names)
             if not os.path.isdir(os.path.join(split_dir, name))]
    stats = []
    with tqdm(total=len(tasks), desc='generate %s' % split, unit='video', disable=not progress) as bar:
        for boxes, occluded in imap_unordered(_generate_task, tasks, processes):
            stats.append(video_stats(boxes, occluded))
            bar.update(1)
    summary = {'split': split, 'folder': split_dir, 'videos': num_videos, 'generated': len(tasks),
               'existing': num_videos - len(tasks), 'frames': int(sum(s['frames'] for s in stats)),
               'seconds': time.time() - start}
    if stats:
        for key in ('speed', 'max_speed', 'occluded', 'static_iou', 'scale_span'):
            summary[key] = float(np.mean([s[key] for s in stats]))
    return summary


def json_roundtrip(value):
    """`value` as it reads back from JSON (tuples become lists), for comparing manifests."""
    return json.loads(json.dumps(value))


def format_generation_summary(summary):
    """One line per split summary."""
    text = '%s split in %s: %d videos (%d generated now, %d existing), %d new frames in %.1f s' % (
        summary['split'], summary['folder'], summary['videos'], summary['generated'], summary['existing'],
        summary['frames'], summary['seconds'])
    if 'speed' in summary:
        text += ('\n  difficulty of the new videos: speed %.3f target sizes/frame (max %.2f), occluded frames %.0f%%, '
                 'static-box IoU %.3f, scale span x%.2f' % (
                     summary['speed'], summary['max_speed'], 100 * summary['occluded'], summary['static_iou'],
                     summary['scale_span']))
    return text


# ----------------------------------------------------------------------------------------------------------------
# End-to-end build.

def synthetic_paths(synthetic_config):
    """Paths of the synthetic dataset under synthetic_config['root_dir']."""
    root = synthetic_config['root_dir']
    return {
        'root_dir': root,
        'train_dir': os.path.join(root, 'raw', 'train'),
        'test_dir': os.path.join(root, 'raw', 'test'),
        'curated_dir': os.path.join(root, 'curated'),
        'train_imdb': os.path.join(root, 'train_imdb.json'),
        'validation_imdb': os.path.join(root, 'validation_imdb.json'),
        'lmdb_path': os.path.join(root, 'lmdb'),
    }


def build_synthetic_dataset(synthetic_config, curation_config, processes=None, progress=True, log=print):
    """Builds the synthetic dataset end to end, skipping finished work: generate the train and test splits,
    curate the train split, write the train/validation imdbs, build and verify the LMDB.

    Args:
      synthetic_config: TRAIN_CONFIG['synthetic_data_config'].
      curation_config: TRAIN_CONFIG['curation_config'].
      processes: worker processes (None: all CPUs).
      progress: show progress bars.
      log: callable receiving one summary line per stage (None: silent).
    Returns:
      synthetic_paths(...) plus 'summary' {generate_train, generate_test, curate, lmdb}.
    Raises:
      RuntimeError when a video fails to curate or the LMDB misses keys.
    """
    log = log or (lambda text: None)
    if synthetic_config['train_seed'] == synthetic_config['test_seed']:
        raise ValueError('synthetic_data_config: train_seed and test_seed must differ (the test split must not '
                         'repeat training videos), both are %r' % synthetic_config['train_seed'])
    # processes sharing the folder (a local cluster, parallel tests) take turns: one builds, the next finds it done
    with file_lock(os.path.join(synthetic_config['root_dir'], '.build.lock')):
        return _build_synthetic_dataset(synthetic_config, curation_config, processes, progress, log)


def _build_synthetic_dataset(synthetic_config, curation_config, processes, progress, log):
    """build_synthetic_dataset's stages, under its lock."""
    paths = synthetic_paths(synthetic_config)
    generator = synthetic_config['generator_config']
    summary = {}
    for split in ('train', 'test'):
        summary['generate_' + split] = generate_split(
            paths[split + '_dir'], split, synthetic_config['num_%s_videos' % split],
            synthetic_config['%s_seed' % split], generator, processes, progress)
        log(format_generation_summary(summary['generate_' + split]))
    source = OTBSource(paths['train_dir'], name=SOURCE_NAME)
    curated = curate_source(source, paths['curated_dir'], curation_config, processes=processes, progress=progress)
    summary['curate'] = curated
    log(format_summary(curated))
    if curated['failed']:
        raise RuntimeError('curating the synthetic train split failed for %s' % sorted(curated['failed']))
    imdb = make_imdb(tracks_of([curated]), {SOURCE_NAME: source.describe()}, curation_config)
    train, validation = split_imdb(imdb, synthetic_config['validation_ratio'], synthetic_config['train_seed'])
    save_imdb(paths['train_imdb'], train)
    save_imdb(paths['validation_imdb'], validation)
    log('imdbs: %s (%d tracks, %d frames), %s (%d tracks, %d frames)' % (
        paths['train_imdb'], train['num_tracks'], train['num_frames'], paths['validation_imdb'],
        validation['num_tracks'], validation['num_frames']))
    built = build_lmdb(imdb_keys(train) + imdb_keys(validation), paths['curated_dir'], paths['lmdb_path'],
                       progress=progress)
    summary['lmdb'] = built
    check = built['verification']
    log('lmdb %s: %d/%d keys present, %d written now, %d corrupt, map size %d MiB' % (
        paths['lmdb_path'], check['present'], check['expected'], built['written'], check['num_corrupt'],
        built['map_size'] >> 20))
    if check['num_missing'] or check['num_corrupt']:
        raise RuntimeError('the synthetic LMDB %s is incomplete: %d missing, %d corrupt keys (e.g. %s)' % (
            paths['lmdb_path'], check['num_missing'], check['num_corrupt'], check['missing'][:3]))
    paths['summary'] = summary
    return paths


def use_synthetic_data(train_config, paths):
    """A copy of `train_config` whose train and validation readers use the synthetic imdbs and LMDB in `paths`
    (as returned by build_synthetic_dataset or synthetic_paths)."""
    config = copy.deepcopy(train_config)
    for key, imdb in (('train_data_config', 'train_imdb'), ('validation_data_config', 'validation_imdb')):
        config[key]['input_imdb'] = paths[imdb]
        config[key]['lmdb_path'] = paths['lmdb_path']
    return config


# ----------------------------------------------------------------------------------------------------------------
# Command-line overrides of the generator config (scripts/generate_synthetic_dataset.py, build_synthetic_dataset.py).

def add_generator_arguments(parser, generator_config):
    """Adds one `--<key>` option per generator_config key (ranges take two values) to an argparse parser."""
    group = parser.add_argument_group('generator settings (synthetic_data_config.generator_config in '
                                      'configuration.py)')
    helps = configuration.TRAIN_CONFIG_HELP['synthetic_data_config']['generator_config']
    for key, default in sorted(generator_config.items()):
        flag = '--' + key.replace('_', '-')
        text = helps.get(key, key).replace('%', '%%')
        if key == 'target_color':
            group.add_argument(flag, type=int, nargs=3, metavar=('B', 'G', 'R'), default=None, help=text)
        elif isinstance(default, (list, tuple)):
            kind = float if any(isinstance(v, float) for v in default) else int
            group.add_argument(flag, type=kind, nargs=2, metavar=('MIN', 'MAX'), default=None,
                               help='%s (default: %s %s)' % ((text,) + tuple(default)))
        else:
            group.add_argument(flag, type=type(default), default=None, help='%s (default: %s)' % (text, default))


def generator_config_from_args(args, generator_config):
    """A copy of `generator_config` with the options given on the command line applied."""
    config = copy.deepcopy(generator_config)
    for key in generator_config:
        value = getattr(args, key, None)
        if value is not None:
            config[key] = list(value) if isinstance(value, (list, tuple)) else value
    return config
