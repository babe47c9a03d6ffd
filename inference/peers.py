"""OpenCV's trackers behind the project's tracker interface, to report peers side by side with SiamRPN.

The interface is the one of inference/tracker.py: `name`, `init(image, box)`, `update(image) -> box`,
`track(img_files, box) -> (boxes [N, 4], times [N])`, `close()`, and use as a context manager. Images are BGR uint8
H x W x 3 as cv2.imread returns them; boxes are 0-based x,y,w,h floats.

OpenCV trackers take and return integer rectangles (x, y, w, h) covering pixel columns x..x+w-1 and rows y..y+h-1,
i.e. the continuous box [x, x+w) x [y, y+h): the same convention as this project's 0-based boxes, on the pixel grid.
A float box is therefore snapped by rounding its edges (not its corner and size separately) and clipped to the
image; returned rectangles are used as they are.

Peers live in inference/ because they are trackers like SiamRPNTracker: run_OTB.py, `make demo` and any other
caller build them the same way, without importing the benchmark script.
"""

import hashlib
import os
import subprocess
import sys

import cv2
import numpy as np

from inference.track_loop import track_files


def box_to_rect(box, image_shape):
    """0-based x,y,w,h float box -> integer (x, y, w, h) OpenCV rect on the pixel grid, clipped to the image.

    The rect covers the pixels whose index range [x, x+w) best matches the box's edges; it keeps at least 1 pixel.
    """
    x, y, w, h = [float(v) for v in box]
    if not np.all(np.isfinite([x, y, w, h])) or w <= 0 or h <= 0:
        raise ValueError('expected a finite box with positive width and height, got %s' % ([x, y, w, h],))
    height, width = image_shape[:2]
    x1, y1 = int(np.clip(np.round(x), 0, width - 1)), int(np.clip(np.round(y), 0, height - 1))
    x2, y2 = int(np.clip(np.round(x + w), x1 + 1, width)), int(np.clip(np.round(y + h), y1 + 1, height))
    return x1, y1, x2 - x1, y2 - y1


def rect_to_box(rect):
    """Integer OpenCV rect (x, y, w, h) -> 0-based x,y,w,h float box [4]."""
    return np.array([float(v) for v in rect], dtype=np.float64)


def _check_image(image):
    if not isinstance(image, np.ndarray):
        raise ValueError('expected a BGR uint8 H x W x 3 image, got %s' % type(image).__name__)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError('expected a BGR uint8 H x W x 3 image, got %s %s' % (image.dtype, image.shape))


class OpenCVTracker(object):
    """Base of the OpenCV peers: subclasses implement _create() -> a fresh cv2.Tracker."""

    def __init__(self, name):
        self.name = name
        self._tracker = None
        self._box = None
        self.lost_frames = 0  # frames on which OpenCV reported a failure since init (the previous box was kept)

    def _create(self):
        raise NotImplementedError

    def init(self, image, box):
        """Starts tracking `box` (0-based x,y,w,h) in `image` (BGR uint8)."""
        _check_image(image)
        rect = box_to_rect(box, image.shape)
        self._tracker = self._create()
        self._tracker.init(image, rect)
        self._box = np.asarray(box, dtype=np.float64).copy()
        self.lost_frames = 0

    def update(self, image):
        """Tracks into the next frame -> [4] 0-based x,y,w,h. When OpenCV reports a failure the previous box is kept
        (and counted in lost_frames), so every frame gets a box."""
        if self._tracker is None:
            raise RuntimeError('%s: call init(image, box) before update(image)' % self.name)
        _check_image(image)
        ok, rect = self._tracker.update(image)
        if ok and rect[2] > 0 and rect[3] > 0:
            self._box = rect_to_box(rect)
        else:
            self.lost_frames += 1
        return self._box.copy()

    def track(self, img_files, box, progress=False):
        """Tracks a sequence from `box` in the first image -> (boxes [N, 4], times [N] seconds per tracker call).

        Frame 1's box is the given box; image reading is not timed (inference/track_loop.py).
        """
        return track_files(self, img_files, box, progress)

    def close(self):
        """Releases the OpenCV tracker."""
        self._tracker = None

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


class NanoTracker(OpenCVTracker):
    """OpenCV's NanoTrack (cv2.TrackerNano), a light Siamese tracker run by OpenCV's DNN module from two ONNX files."""

    def __init__(self, backbone_path, head_path, name='NanoTrack', probe=True):
        """probe: first load the pair and track a frame in a child process (check_nanotrack_files); False only where
        the caller is itself a disposable process."""
        super(NanoTracker, self).__init__(name)
        for label, path in (('backbone', backbone_path), ('head', head_path)):
            if not path or not os.path.isfile(path):
                raise IOError('NanoTrack %s ONNX file not found: %r (pass --nano-backbone and --nano-head, e.g. '
                              'nanotrack_backbone_sim.onnx and nanotrack_head_sim.onnx)' % (label, path))
        self.backbone_path, self.head_path = backbone_path, head_path
        if probe:
            check_nanotrack_files(backbone_path, head_path)
        self._create()  # fail now, with the file names, if OpenCV cannot load the pair

    def _create(self):
        params = cv2.TrackerNano_Params()
        params.backbone = self.backbone_path
        params.neckhead = self.head_path
        try:
            return cv2.TrackerNano.create(params)
        except cv2.error as error:
            raise RuntimeError('OpenCV could not load NanoTrack from %s and %s: %s' % (
                self.backbone_path, self.head_path, error))


_NANOTRACK_PROBE = '''
import sys
import cv2
import numpy as np
params = cv2.TrackerNano_Params()
params.backbone, params.neckhead = sys.argv[1], sys.argv[2]
try:
    tracker = cv2.TrackerNano.create(params)
    image = np.zeros((96, 128, 3), np.uint8)
    image[30:60, 40:80] = 200
    tracker.init(image, (40, 30, 40, 30))
    tracker.update(np.roll(image, 3, axis=1))
except cv2.error:
    pass  # a clean OpenCV error: the caller's own load reports it
'''


_PROBED_PAIRS = set()


def _sha256(path):
    with open(path, 'rb') as stream:
        return hashlib.sha256(stream.read()).hexdigest()


def check_nanotrack_files(backbone_path, head_path, timeout=300):
    """Loads a NanoTrack ONNX pair and tracks one frame in a child process; raises RuntimeError naming both files if
    that crashes or hangs. OpenCV's ONNX importer trusts its input, and a damaged file can kill the process
    (SIGSEGV) without naming the file; a clean OpenCV error is left to the caller's own load. A pair is probed once
    per process (keyed by the files' SHA-256), since run_OTB.py builds a tracker per sequence."""
    key = tuple(_sha256(path) for path in (backbone_path, head_path))
    if key in _PROBED_PAIRS:
        return
    try:
        result = subprocess.run([sys.executable, '-c', _NANOTRACK_PROBE, backbone_path, head_path],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise RuntimeError('OpenCV did not finish loading NanoTrack from %s and %s within %d s: a file is damaged or '
                           'not a NanoTrack ONNX model' % (backbone_path, head_path, timeout))
    if result.returncode < 0:  # killed by a signal; Python-level failures are left to the caller's own load
        raise RuntimeError('OpenCV crashed (signal %d) loading NanoTrack from %s and %s: a file is damaged or not a '
                           'NanoTrack ONNX model' % (-result.returncode, backbone_path, head_path))
    _PROBED_PAIRS.add(key)


class MILTracker(OpenCVTracker):
    """OpenCV's MIL tracker (cv2.TrackerMIL), online multiple-instance boosting.

    Its random sampling draws on OpenCV state that earlier tracking in the same process changes (cv2.setRNGSeed does
    not reset it): the same command reproduces its numbers, but a sequence's score depends on what ran before it
    (e.g. uav_car16_1 of otb-dev: AUC 0.212 alone, 0.203 after five other sequences). NanoTrack is deterministic.
    """

    def __init__(self, name='MIL'):
        super(MILTracker, self).__init__(name)

    def _create(self):
        return cv2.TrackerMIL.create()
