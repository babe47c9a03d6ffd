"""SiamRPN tracker: DaSiamRPN's tracking logic on the TF inference graph, frame by frame.

  with SiamRPNTracker.from_checkpoint('Logs/.../SiamRPN-AlexNet', preset='otb') as tracker:
      boxes, times = tracker.track(img_files, first_box)   # 0-based x,y,w,h
  # or: tracker.init(image, box); box = tracker.update(image)
  # the same tracker on exported frozen graphs, without the Python model code (scripts/export_inference_graph.py):
  with SiamRPNTracker.from_exported('exports/otb') as tracker: ...

The network is a pluggable backend with exemplar_size, instance_sizes, score_sizes {X: S}, num_anchors,
set_template(exemplar_crop [127, 127, 3] uint8), detect(instance_crop [X, X, 3] uint8) -> (scores [N], boxes [N, 4]
anchor frame) and close(): inference.inference_wrapper.WrapperBackend (the model code on a checkpoint) or
inference.exported.ExportedBackend (frozen graphs). Everything else below (crops, window, penalties, target choice,
clamping) is this module's and is shared by both.

Per video (init): the template crop of side s_z = round(sqrt((w + p)(h + p))), p = context * (w + h), around the
target, resized to 127, gives the kernels; the padding colour (frame mean) is fixed from the first frame; with
`adaptive` (big preset) the search side is 287 when the target covers less than `small_target_ratio` of the frame.
Per frame (update): the search region s_x = s_z + 2 * ((X - 127) / 2) / (127 / s_z) around the previous centre is
cropped to X and run through the track step (one session.run). Each anchor's decoded box is penalised for its
change of scale and ratio, penalty = exp(-(r_c * s_c - 1) * penalty_k), mixed with a cosine window,
pscore = penalty * score * (1 - window_influence) + window * window_influence, and the best anchor moves the
centre; the size moves at rate lr * penalty * score. The centre is clamped into the frame and the size to
[min_size, frame size]. See inference/subwindow.py for the crop geometry.

Boxes in and out are 0-based x,y,w,h floats (OTB's 1-based files are converted in utils/box_io.py only).
Errors: a non-finite, zero or negative box, a box outside the frame, a frame that is not HxWx3 uint8 (e.g. 2-D
grayscale), an empty frame, and a frame whose size differs from the first frame's raise ValueError. Frames smaller
than the crops (e.g. OTB100's 128x96 Girl) are fine: the crops are padded with the frame's mean colour. Anchors whose decoded box is not finite (exp overflow of untrained weights) are
never selected; if none is finite the previous box is kept, so a target leaving the frame never gives NaN.
"""

import os

import numpy as np

import configuration
from inference.exported import ExportedBackend, read_manifest
from inference.subwindow import get_subwindow, pad_colour, round_half_away
from inference.track_loop import track_files
from utils.checkpoints import merge_config, read_configs, resolve_checkpoint


class SiamRPNTracker(object):
    """got10k-style tracker: init(image, box), update(image) -> box, track(img_files, box) -> (boxes, times)."""

    def __init__(self, backend, track_config, name='SiamRPN'):
        """
        Args:
          backend: the network (see the module docstring), with track steps for track_config['instance_size']
            (and 'adaptive_instance_size' when 'adaptive'); close() closes it.
          track_config: TRACK_CONFIG (e.g. configuration.track_config_for('otb')).
          name: tracker name (used for result folders).
        """
        self.backend = backend
        self.config = track_config
        self.name = name
        for size in required_instance_sizes(track_config):
            if size not in backend.instance_sizes:
                raise ValueError('the inference graph has no %d-pixel track step (built for %s)'
                                 % (size, backend.instance_sizes))
        if track_config['exemplar_size'] != backend.exemplar_size:
            raise ValueError("track_config['exemplar_size'] %d differs from the model's z_image_size %d"
                             % (track_config['exemplar_size'], backend.exemplar_size))
        if track_config['windowing'] not in ('cosine', 'uniform'):
            raise ValueError("track_config['windowing'] must be 'cosine' or 'uniform', got %r"
                             % (track_config['windowing'],))
        self.windows = {size: displacement_window(backend.score_sizes[size], backend.num_anchors,
                                                  track_config['windowing'])
                        for size in backend.instance_sizes}
        self.state = None
        self.speed_choice = None  # from_checkpoint: the search head used and where the choice came from

    @classmethod
    def from_checkpoint(cls, checkpoint_dir, checkpoint_path=None, track_config=None, preset=None, name=None,
                        session_config=None):
        """Builds the graph from a checkpoint directory's configs and restores its weights. The track config's
        'fold_batch_norm', 'conv_algorithm' and 'search_head' pick the network variant (inference/speed_choice.py:
        'auto' measures the search heads once per machine and caches the choice); `speed_choice` on the tracker says
        which head and why.

        Args:
          checkpoint_dir: directory with a TF checkpoint and model_config.json (track_config.json optional).
          checkpoint_path: a checkpoint inside it (e.g. 'model.ckpt-2000', or an absolute prefix); default latest.
          track_config: tracker config to use instead of the directory's track_config.json.
          preset: 'otb', 'vot' or 'big': applied on top of the track config.
          name: tracker name; default the directory's name (plus '_<preset>' when a preset is given).
          session_config: tf.ConfigProto for the session.
        """
        # Imported here so that from_exported never loads the model code (siamese_model, embeddings/).
        from inference.speed_choice import tracker_backend
        model_config, _, saved_track_config = read_configs(checkpoint_dir)
        path = resolve_checkpoint(checkpoint_dir, checkpoint_path)
        config = resolve_track_config(saved_track_config, track_config, preset)
        backend, choice = tracker_backend(model_config, path, config, required_instance_sizes(config), session_config)
        tracker = cls._with_backend(backend, config, _default_name(checkpoint_dir, name, preset))
        tracker.speed_choice = choice
        return tracker

    @classmethod
    def from_exported(cls, export_dir, track_config=None, preset=None, name=None, session_config=None):
        """Runs the tracker on graphs written by scripts/export_inference_graph.py, without the model code.

        Args:
          export_dir: the export directory (manifest.json, template.pb, track_<X>.pb, saved_model/).
          track_config: tracker config to use instead of the one exported in manifest.json.
          preset: 'otb', 'vot' or 'big': applied on top of the track config; its search sizes must be exported.
          name: tracker name; default the directory's name (plus '_<preset>' when a preset is given).
          session_config: tf.ConfigProto for the session.
        """
        manifest = read_manifest(export_dir)
        saved = merge_config(configuration.TRACK_CONFIG, manifest['track_config'])
        config = resolve_track_config(saved, track_config, preset)
        backend = ExportedBackend(export_dir, required_instance_sizes(config), session_config)
        return cls._with_backend(backend, config, _default_name(export_dir, name, preset))

    @classmethod
    def _with_backend(cls, backend, config, name):
        """The tracker on a freshly loaded backend, closing the backend if the config does not fit it."""
        try:
            return cls(backend, config, name=name)
        except BaseException:
            backend.close()
            raise

    @property
    def wrapper(self):
        """The InferenceWrapper of a checkpoint tracker (None on other backends)."""
        return getattr(self.backend, 'wrapper', None)

    @property
    def session(self):
        """The backend's tf.Session (None once closed)."""
        return getattr(self.backend, 'session', None)

    def init(self, image, box):
        """Starts a video: image [H, W, 3] BGR uint8, box 0-based x,y,w,h of the target."""
        image = check_frame(image)
        box = check_box(box, image.shape)
        config = self.config
        height, width = image.shape[:2]
        pos = np.array([box[0] + box[2] / 2., box[1] + box[3] / 2.])
        size = box[2:].copy()
        instance_size = config['instance_size']
        if config['adaptive'] and size[0] * size[1] / float(height * width) < config['small_target_ratio']:
            instance_size = config['adaptive_instance_size']
        colour = pad_colour(image)
        s_z = round_half_away(np.sqrt(np.prod(size + config['context_amount'] * np.sum(size))))
        if s_z < 1:
            raise ValueError('box %s is too small: its context region rounds to %d pixels' % (list(box), s_z))
        exemplar = get_subwindow(image, pos, config['exemplar_size'], s_z, colour)
        self.backend.set_template(exemplar)
        self.state = {'pos': pos, 'size': size, 'frame_shape': image.shape, 'colour': colour,
                      'instance_size': instance_size, 'score': 1.}

    def update(self, image):
        """Tracks one frame: image [H, W, 3] BGR uint8 of the size of the first frame -> [4] 0-based x,y,w,h."""
        if self.state is None:
            raise RuntimeError('update() called before init(image, box)')
        image = check_frame(image)
        state, config = self.state, self.config
        if image.shape != state['frame_shape']:
            raise ValueError('frame size %s differs from the first frame\'s %s'
                             % (image.shape[:2], state['frame_shape'][:2]))
        instance_size, exemplar_size = state['instance_size'], config['exemplar_size']
        s_z = np.sqrt(np.prod(state['size'] + config['context_amount'] * np.sum(state['size'])))
        scale_z = exemplar_size / s_z
        s_x = s_z + 2 * ((instance_size - exemplar_size) / 2.) / scale_z
        crop = get_subwindow(image, state['pos'], instance_size, round_half_away(s_x), state['colour'])
        scores, boxes = self.backend.detect(crop)
        pos, size, score = select_target(scores, boxes, self.windows[instance_size], state['pos'], state['size'],
                                         scale_z, config)
        height, width = image.shape[:2]
        state['pos'] = np.array([min(max(pos[0], 0.), width), min(max(pos[1], 0.), height)])
        state['size'] = np.array([min(max(size[0], config['min_size']), width),
                                  min(max(size[1], config['min_size']), height)])
        state['score'] = score
        return self.box

    @property
    def box(self):
        """Current target box, [4] 0-based x,y,w,h."""
        pos, size = self.state['pos'], self.state['size']
        return np.concatenate([pos - size / 2., size])

    def track(self, img_files, box, progress=False):
        """Tracks a sequence from its first box -> (boxes [N, 4] 0-based x,y,w,h with boxes[0] == box,
        times [N] seconds of init/update per frame, image reading excluded)."""
        return track_files(self, img_files, box, progress=progress)

    def close(self):
        """Closes the backend (its session, when it owns one)."""
        self.backend.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


def resolve_track_config(saved, track_config=None, preset=None):
    """The tracker config: `track_config` if given, else the saved one, with `preset` applied on top."""
    config = track_config if track_config is not None else saved
    if preset is not None:
        config = configuration.track_config_for(preset, config)
    return config


def _default_name(directory, name=None, preset=None):
    """`name`, or the directory's name plus '_<preset>' when a preset is given."""
    if name is not None:
        return name
    return os.path.basename(os.path.normpath(directory)) + ('_%s' % preset if preset else '')


def required_instance_sizes(track_config):
    """Search sides the tracker may use: instance_size, plus adaptive_instance_size when adaptive."""
    sizes = [track_config['instance_size']]
    if track_config['adaptive']:
        sizes.append(track_config['adaptive_instance_size'])
    return tuple(sorted(set(sizes)))


def displacement_window(score_size, num_anchors, windowing='cosine'):
    """[S * S * k] window in the anchor order (y, x, a): outer(hanning(S), hanning(S)) repeated per anchor."""
    if windowing == 'cosine':
        window = np.outer(np.hanning(score_size), np.hanning(score_size))
    else:
        window = np.ones((score_size, score_size))
    return np.repeat(window.reshape(-1), num_anchors)


def _change(ratio):
    return np.maximum(ratio, 1. / ratio)


def _size_with_context(w, h):
    pad = (w + h) * 0.5
    return np.sqrt((w + pad) * (h + pad))


def select_target(scores, boxes, window, pos, size, scale_z, config):
    """DaSiamRPN's choice of the next target from one frame's network outputs.

    Args:
      scores: [N] foreground probabilities; boxes: [N, 4] cx,cy,w,h anchor frame (search-crop pixels).
      window: [N] displacement window in the same anchor order.
      pos, size: [2] previous centre and size (frame pixels); scale_z: crop pixels per frame pixel.
      config: TRACK_CONFIG (penalty_k, window_influence, lr).
    Returns:
      (new centre [2], new size [2], score of the chosen anchor) before clamping; the previous box and score 0
      when no decoded box is finite.
    """
    scores = np.asarray(scores, np.float64)
    boxes = np.asarray(boxes, np.float64)
    target = size * scale_z
    valid = np.isfinite(boxes).all(axis=1) & (boxes[:, 2] > 0) & (boxes[:, 3] > 0) & np.isfinite(scores)
    if not valid.any():
        return pos.copy(), size.copy(), 0.
    with np.errstate(divide='ignore', invalid='ignore', over='ignore'):
        s_c = _change(_size_with_context(boxes[:, 2], boxes[:, 3]) / _size_with_context(target[0], target[1]))
        r_c = _change((target[0] / target[1]) / (boxes[:, 2] / boxes[:, 3]))
        penalty = np.exp(-(r_c * s_c - 1.) * config['penalty_k'])
        pscore = penalty * scores * (1 - config['window_influence']) + window * config['window_influence']
    pscore = np.where(valid & np.isfinite(pscore), pscore, -np.inf)
    best = int(np.argmax(pscore))
    chosen = boxes[best] / scale_z
    rate = penalty[best] * scores[best] * config['lr']
    new_pos = pos + chosen[:2]
    new_size = size * (1 - rate) + chosen[2:] * rate
    return new_pos, new_size, float(scores[best])


def check_frame(image):
    """Validates a frame: [H, W, 3] uint8 BGR, not empty; returns it."""
    if not isinstance(image, np.ndarray):
        raise ValueError('expected the frame as a numpy array (cv2.imread gives one), got %s' % type(image).__name__)
    if image.ndim == 2:
        raise ValueError('the frame is 2-D %s (grayscale); the tracker expects HxWx3 BGR: convert it with '
                         'cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)' % (image.shape,))
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError('expected an HxWx3 BGR frame, got shape %s' % (image.shape,))
    if image.dtype != np.uint8:
        raise ValueError('expected a uint8 frame (as cv2.imread gives), got %s' % image.dtype)
    if min(image.shape[:2]) < 1:
        raise ValueError('the frame is empty (%dx%d)' % (image.shape[1], image.shape[0]))
    return image


def check_box(box, shape):
    """Validates an init box (0-based x,y,w,h, finite, w and h > 0, overlapping the frame) -> [4] float64."""
    box = np.asarray(box, dtype=np.float64).reshape(-1)
    if box.shape != (4,):
        raise ValueError('expected a box x,y,w,h of 4 numbers, got %s' % (box.tolist(),))
    if not np.isfinite(box).all():
        raise ValueError('the box %s is not finite' % (box.tolist(),))
    if box[2] <= 0 or box[3] <= 0:
        raise ValueError('the box %s has a zero or negative width/height' % (box.tolist(),))
    height, width = shape[:2]
    if box[0] >= width or box[1] >= height or box[0] + box[2] <= 0 or box[1] + box[3] <= 0:
        raise ValueError('the box %s (0-based x,y,w,h) lies outside the %dx%d frame' % (box.tolist(), width, height))
    return box
