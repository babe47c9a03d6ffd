"""Tracks an OTB-layout sequence, a video file or a camera with a checkpoint directory, and prints the FPS.

  # OTB folder (<seq>/img/*.jpg + groundtruth_rect.txt): starts from the first ground-truth box and writes
  # 1-based, comma-separated x,y,w,h lines (frame 1 is the ground truth), as OTB toolkits read them
  python scripts/run_tracking.py --checkpoint DIR --sequence SEQ_DIR --output RESULT.txt [--save-video OUT.mp4]

  # video file or camera index: the first box is --init-box (0-based x,y,w,h pixels, as cv2.selectROI gives) or,
  # where a display exists, drawn with the mouse (cv2.selectROI)
  python scripts/run_tracking.py --checkpoint DIR --video clip.mp4 --init-box 120,80,60,40 --save-video out.mp4
  python scripts/run_tracking.py --checkpoint DIR --video 0 --display

DIR is a checkpoint directory (training output or scripts/convert_pretrained_model.py); --preset otb/vot/big
overrides its tracker hyper-parameters. The FPS printed at the end counts the tracker (crop, network and
post-processing per frame) and, separately, the whole loop with image reading, drawing and writing.
"""

import argparse
import os
import sys
import tempfile
import time

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from tqdm import tqdm  # noqa: E402

tf.compat.v1.logging.set_verbosity(tf.compat.v1.logging.ERROR)

import configuration  # noqa: E402
from datasets.benchmark_sequences import load_otb_folder  # noqa: E402
from inference.tracker import SiamRPNTracker  # noqa: E402
from utils.box_io import parse_box_string, write_otb_boxes  # noqa: E402
from utils.image_io import read_image  # noqa: E402
from utils.io_utils import current_umask  # noqa: E402
from utils.runtime import device_summary  # noqa: E402

BOX_COLOUR = (0, 255, 255)
GROUNDTRUTH_COLOUR = (0, 255, 0)
WINDOW = 'SiamRPN'


def build_parser():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--checkpoint', required=True, help='checkpoint directory (TF checkpoint + config JSON)')
    parser.add_argument('--checkpoint-path', default=None, help='a checkpoint inside it, e.g. model.ckpt-2000 '
                                                                '(default: the latest)')
    parser.add_argument('--preset', choices=sorted(configuration.TRACK_PRESETS), default=None,
                        help="tracker preset instead of the directory's track_config.json")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument('--sequence', help='OTB-layout sequence folder')
    source.add_argument('--video', help='video file, or a camera index such as 0')
    parser.add_argument('--init-box', default=None, help='video mode: first box x,y,w,h (0-based pixels)')
    parser.add_argument('--output', default=None, help='result file, 1-based x,y,w,h (required with --sequence)')
    parser.add_argument('--save-video', default=None, help='write the frames with the box drawn to this file '
                                                           '(.mp4 or .avi)')
    parser.add_argument('--display', action='store_true', help='show the frames while tracking (q or Esc stops)')
    parser.add_argument('--max-frames', type=int, default=None, help='stop after this many frames')
    return parser


def has_display():
    """Whether a window can be opened (X11/Wayland on Linux; assumed elsewhere)."""
    if sys.platform.startswith('linux'):
        return bool(os.environ.get('DISPLAY') or os.environ.get('WAYLAND_DISPLAY'))
    return True


def sequence_frames(img_files):
    for path in img_files:
        yield read_image(path)


def video_frames(capture, first):
    yield first
    while True:
        ok, frame = capture.read()
        if not ok:
            return
        yield frame


def open_video(spec):
    """cv2.VideoCapture for a file path or a camera index; errors name the source."""
    source = int(spec) if spec.isdigit() else spec
    if not isinstance(source, int) and not os.path.isfile(source):
        raise IOError('video file not found: %s' % spec)
    capture = cv2.VideoCapture(source)
    if not capture.isOpened():
        raise IOError('cannot open video %s' % spec)
    ok, first = capture.read()
    if not ok:
        capture.release()
        raise IOError('cannot read a frame from video %s' % spec)
    return capture, first


def select_box(frame, init_box):
    """The first box: --init-box, or cv2.selectROI where a display exists."""
    if init_box is not None:
        return parse_box_string(init_box, what='--init-box')
    if not has_display():
        raise ValueError('no display to select the target on: pass --init-box x,y,w,h (0-based pixels)')
    x, y, w, h = cv2.selectROI(WINDOW, frame, showCrosshair=True, fromCenter=False)
    cv2.destroyWindow(WINDOW)
    if w <= 0 or h <= 0:
        raise ValueError('no box selected: drag a rectangle around the target and press Enter or Space')
    return np.array([x, y, w, h], np.float64)


class VideoSink(object):
    """Writes annotated frames to a temp file beside `path` and renames it onto `path` when closed cleanly."""

    def __init__(self, path, fps):
        self.path, self.fps = path, fps
        self.writer = None
        directory = os.path.dirname(os.path.abspath(path))
        os.makedirs(directory, exist_ok=True)
        extension = os.path.splitext(path)[1] or '.mp4'
        handle, self.temp_path = tempfile.mkstemp(prefix='.%s.' % os.path.basename(path), suffix=extension,
                                                  dir=directory)
        os.close(handle)
        os.chmod(self.temp_path, 0o666 & ~current_umask())
        self.fourcc = cv2.VideoWriter_fourcc(*('MJPG' if extension.lower() == '.avi' else 'mp4v'))

    def write(self, frame):
        if self.writer is None:
            self.writer = cv2.VideoWriter(self.temp_path, self.fourcc, self.fps, (frame.shape[1], frame.shape[0]))
            if not self.writer.isOpened():
                raise IOError('cannot write video %s (codec for %s)' % (self.path, os.path.splitext(self.path)[1]))
        self.writer.write(frame)

    def close(self, keep):
        if self.writer is not None:
            self.writer.release()
        if keep and self.writer is not None:
            os.replace(self.temp_path, self.path)
        elif os.path.exists(self.temp_path):
            os.remove(self.temp_path)


def draw(frame, box, colour, label=None):
    x, y, w, h = [int(round(v)) for v in box]
    cv2.rectangle(frame, (x, y), (x + w, y + h), colour, 2)
    if label:
        cv2.putText(frame, label, (10, 25), cv2.FONT_HERSHEY_SIMPLEX, 0.7, BOX_COLOUR, 2)


def track_frames(tracker, frames, init_box, groundtruth=None, sink=None, display=False, max_frames=None,
                 total=None):
    """Runs the tracker over a frame iterator -> (boxes [N, 4] 0-based, tracker seconds [N], wall seconds)."""
    boxes, times = [], []
    start = time.time()
    if max_frames is not None:
        total = max_frames if total is None else min(total, max_frames)
    for index, frame in enumerate(tqdm(frames, total=total, desc=tracker.name, unit='frame')):
        if max_frames is not None and index >= max_frames:
            break
        tic = time.time()
        if index == 0:
            tracker.init(frame, init_box)
            box = np.asarray(init_box, np.float64)
        else:
            box = tracker.update(frame)
        times.append(time.time() - tic)
        boxes.append(box)
        if sink is not None or display:
            if groundtruth is not None and index < len(groundtruth) and np.isfinite(groundtruth[index]).all():
                draw(frame, groundtruth[index], GROUNDTRUTH_COLOUR)
            draw(frame, box, BOX_COLOUR, '#%d' % (index + 1))
            if sink is not None:
                sink.write(frame)
            if display:
                cv2.imshow(WINDOW, frame)
                if cv2.waitKey(1) & 0xFF in (ord('q'), 27):
                    break
    return np.array(boxes).reshape(-1, 4), np.array(times), time.time() - start


def main(argv=None):
    args = build_parser().parse_args(argv)
    if args.sequence and not args.output:
        print('error: --sequence needs --output RESULT.txt', file=sys.stderr)
        return 2
    if args.display and not has_display():
        print('error: --display needs a display (DISPLAY is not set)', file=sys.stderr)
        return 2
    capture = sink = None
    try:
        groundtruth, fps, total = None, 30., None
        if args.sequence:
            sequences = load_otb_folder(args.sequence)
            if len(sequences) > 1:
                print('note: %s has %d targets (%s); tracking %s' % (args.sequence, len(sequences),
                      ', '.join(s.name for s in sequences), sequences[0].name), file=sys.stderr)
            img_files, groundtruth = sequences[0].img_files, sequences[0].gt_boxes
            init_box = groundtruth[0]
            if not np.isfinite(init_box).all():
                raise ValueError('the first ground-truth box of %s is %s; the tracker needs a box to start from'
                                 % (args.sequence, init_box.tolist()))
            frames, total = sequence_frames(img_files), len(img_files)
        else:
            capture, first = open_video(args.video)
            fps = capture.get(cv2.CAP_PROP_FPS) or 30.
            init_box = select_box(first, args.init_box)
            frames = video_frames(capture, first)
        if args.save_video:
            sink = VideoSink(args.save_video, fps)
        print('devices: %s' % device_summary(), file=sys.stderr, flush=True)  # as scripts/check_environment.py
        with SiamRPNTracker.from_checkpoint(args.checkpoint, args.checkpoint_path, preset=args.preset) as tracker:
            boxes, times, wall = track_frames(tracker, frames, init_box, groundtruth, sink, args.display,
                                              args.max_frames, total)
        if sink is not None:
            sink.close(keep=True)
            sink = None
        if args.output:
            write_otb_boxes(args.output, boxes)
    except (ValueError, IOError) as error:
        print('error: %s' % error, file=sys.stderr)
        return 1
    finally:
        if sink is not None:
            sink.close(keep=False)
        if capture is not None:
            capture.release()
        if args.display:
            cv2.destroyAllWindows()
    tracked = max(len(times) - 1, 1)
    print('tracked %d frames: tracker %.1f FPS (init %.1f ms, update %.1f ms/frame), whole loop %.1f FPS'
          % (len(boxes), tracked / max(times[1:].sum(), 1e-9), times[0] * 1e3, times[1:].mean() * 1e3 if len(times) > 1
             else 0., len(boxes) / max(wall, 1e-9)))
    if args.output:
        print('wrote %s (1-based x,y,w,h)' % args.output)
    if args.save_video:
        print('wrote %s' % args.save_video)
    return 0


if __name__ == '__main__':
    sys.exit(main())
