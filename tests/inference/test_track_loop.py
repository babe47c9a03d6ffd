"""Tests of the shared frame loop (inference/track_loop.py) with a deterministic test tracker."""

import numpy as np
import pytest

from inference.track_loop import track_files
from tests.sequence_fixtures import moving_boxes, write_images
from utils.image_io import ImageDecodeError


class StepTracker(object):
    """Moves the box by (1, 2) px a frame and records the image shapes it saw."""

    name = 'Step'

    def __init__(self, result_size=4):
        self.shapes, self.result_size = [], result_size

    def init(self, image, box):
        self.shapes.append(image.shape)
        self.box = np.array(box, dtype=np.float64)

    def update(self, image):
        self.shapes.append(image.shape)
        self.box = self.box + [1., 2., 0., 0.]
        return self.box[:self.result_size]


def test_loop_reads_bgr_frames_and_times_every_call(tmp_path):
    files = write_images(str(tmp_path), range(1, 6), moving_boxes(5))
    tracker = StepTracker()
    boxes, times = track_files(tracker, files, [3., 4., 10., 8.])
    assert tracker.shapes == [(72, 96, 3)] * 5
    np.testing.assert_array_equal(boxes, [[3. + i, 4. + 2 * i, 10., 8.] for i in range(5)])
    assert times.shape == (5,) and np.all(times >= 0)


def test_loop_errors_name_the_file(tmp_path):
    files = write_images(str(tmp_path), range(1, 3), moving_boxes(2))
    with pytest.raises(ImageDecodeError, match='missing.jpg: cannot read image file'):
        track_files(StepTracker(), files + [str(tmp_path / 'missing.jpg')], [3., 4., 10., 8.])
    with pytest.raises(ValueError, match=r'tracker Step returned .* for .*0002.jpg, expected x,y,w,h'):
        track_files(StepTracker(result_size=3), files, [3., 4., 10., 8.])


def test_a_truncated_jpeg_is_an_error_not_a_grey_frame(tmp_path):
    """OpenCV decodes a truncated JPEG into a grey-filled frame with only a warning; the loop refuses it by name."""
    files = write_images(str(tmp_path), range(1, 4), moving_boxes(3))
    with open(files[1], 'rb') as stream:
        data = stream.read()
    with open(files[1], 'wb') as stream:
        stream.write(data[:len(data) // 2])
    tracker = StepTracker()
    with pytest.raises(ImageDecodeError, match=r'0002\.jpg: truncated JPEG \(no end-of-image marker\)'):
        track_files(tracker, files, [3., 4., 10., 8.])
    assert len(tracker.shapes) == 1  # frame 1 was tracked, the truncated frame 2 never reached the tracker
