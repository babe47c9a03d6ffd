"""Tests of the OpenCV peers behind the tracker interface (MIL always; NanoTrack when the shared ONNX pair exists)."""

import os

import numpy as np
import pytest

from inference.peers import MILTracker, NanoTracker, box_to_rect, rect_to_box
from metrics.ope import overlaps
from tests.conftest import PROJECT_ROOT
from tests.sequence_fixtures import moving_boxes, write_images

NANOTRACK_DIR = os.path.join(os.path.dirname(PROJECT_ROOT), 'shared', 'peers', 'nanotrack-v2')


@pytest.fixture
def nanotrack_onnx():
    """(backbone, head) ONNX paths from ../shared/peers/nanotrack-v2, or skip when absent."""
    paths = tuple(os.path.join(NANOTRACK_DIR, name) for name in ('nanotrack_backbone_sim.onnx',
                                                                 'nanotrack_head_sim.onnx'))
    if not all(os.path.isfile(p) for p in paths):
        pytest.skip('shared NanoTrack ONNX files are absent (%s)' % NANOTRACK_DIR)
    return paths


@pytest.fixture
def moving_target(tmp_path):
    """40 frames (320 x 240) of a textured target drifting smoothly -> (image files, 0-based boxes)."""
    boxes = moving_boxes(40, seed=3, size=(320, 240), box_size=(48., 40.))
    return write_images(str(tmp_path / 'img'), range(1, 41), boxes, size=(320, 240), ext='.png'), boxes


def test_box_to_rect_snaps_edges_and_clips():
    assert box_to_rect([10.4, 20.6, 30.2, 9.8], (100, 100, 3)) == (10, 21, 31, 9)  # edges 10.4->10, 40.6->41
    assert box_to_rect([-5., -5., 20., 20.], (100, 100, 3)) == (0, 0, 15, 15)
    assert box_to_rect([95.2, 10., 30., 10.], (100, 100, 3)) == (95, 10, 5, 10)
    assert box_to_rect([50., 50., 0.3, 0.3], (100, 100, 3)) == (50, 50, 1, 1)  # at least one pixel
    np.testing.assert_array_equal(rect_to_box((3, 4, 5, 6)), [3., 4., 5., 6.])
    with pytest.raises(ValueError, match='positive width and height'):
        box_to_rect([1., 1., 0., 5.], (10, 10, 3))
    with pytest.raises(ValueError, match='finite box'):
        box_to_rect([np.nan, 1., 3., 5.], (10, 10, 3))


def test_mil_follows_a_moving_target(moving_target):
    files, boxes = moving_target
    with MILTracker() as tracker:
        tracked, times = tracker.track(files, boxes[0])
    assert tracker.name == 'MIL' and tracked.shape == (40, 4) and times.shape == (40,)
    np.testing.assert_array_equal(tracked[0], boxes[0])
    assert np.all(times > 0)
    assert np.mean(overlaps(tracked, boxes)) > 0.4  # about 0.6 here; a tracker that drifts away scores near 0


def test_bad_input_is_rejected():
    tracker = MILTracker()
    image = np.zeros((50, 60, 3), np.uint8)
    with pytest.raises(RuntimeError, match='MIL: call init'):
        tracker.update(image)
    with pytest.raises(ValueError, match=r'BGR uint8 H x W x 3 image, got uint8 \(50, 60\)'):
        tracker.init(image[:, :, 0], [1., 1., 10., 10.])
    with pytest.raises(ValueError, match='float32'):
        tracker.init(image.astype(np.float32), [1., 1., 10., 10.])
    with pytest.raises(IOError, match='NanoTrack backbone ONNX file not found'):
        NanoTracker('missing_backbone.onnx', 'missing_head.onnx')


def test_nanotrack_follows_a_moving_target(nanotrack_onnx, moving_target):
    files, boxes = moving_target
    with NanoTracker(*nanotrack_onnx) as tracker:
        tracked, _ = tracker.track(files, boxes[0])
    assert tracker.name == 'NanoTrack'
    assert np.all(tracked[:, 2:] > 0) and np.all(tracked[:, :2] >= 0)
    assert np.all(tracked[:, 0] + tracked[:, 2] <= 320) and np.all(tracked[:, 1] + tracked[:, 3] <= 240)
    assert np.mean(overlaps(tracked, boxes)) > 0.5
    with NanoTracker(*nanotrack_onnx) as tracker:
        again, _ = tracker.track(files, boxes[0])
    np.testing.assert_array_equal(again, tracked)  # deterministic, unlike MIL
