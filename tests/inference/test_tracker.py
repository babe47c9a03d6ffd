"""Tests of the tracker: DaSiamRPN's post-processing, interface, degenerate inputs, and tracking with random weights."""

import os

import cv2
import numpy as np
import pytest

import configuration
from datasets import synthetic_sequence
from datasets.benchmark_sequences import load_otb_folder
from inference.tracker import SiamRPNTracker, displacement_window, select_target
from utils.anchors import generate_anchors


@pytest.fixture(scope='module')
def tracker(random_checkpoint_dir):
    with SiamRPNTracker.from_checkpoint(random_checkpoint_dir) as tracker:
        yield tracker


def to_a_major(values, k):
    """This port's anchor order (y, x, a) -> DaSiamRPN's (a, y, x)."""
    return values.reshape(-1, k, *values.shape[1:]).swapaxes(0, 1).reshape(values.shape)


def reference_select(scores, boxes, window, pos, size, scale_z, config):
    """DaSiamRPN's tracker_eval on a-major arrays (the transcription: delta rows, tiled window)."""
    delta = boxes.T.copy()
    target_sz = size * scale_z

    def sz(w, h):
        pad = (w + h) * 0.5
        return np.sqrt((w + pad) * (h + pad))

    s_c = np.maximum(sz(delta[2], delta[3]) / sz(*target_sz), sz(*target_sz) / sz(delta[2], delta[3]))
    ratio = (target_sz[0] / target_sz[1]) / (delta[2] / delta[3])
    r_c = np.maximum(ratio, 1. / ratio)
    penalty = np.exp(-(r_c * s_c - 1.) * config['penalty_k'])
    pscore = penalty * scores * (1 - config['window_influence']) + window * config['window_influence']
    best = np.argmax(pscore)
    target = delta[:, best] / scale_z
    lr = penalty[best] * scores[best] * config['lr']
    return pos + target[:2], size * (1 - lr) + target[2:] * lr


def test_window_is_dasiamrpns_tiled_window_in_this_ports_order():
    size, k = 19, 5
    dasiamrpn = np.tile(np.outer(np.hanning(size), np.hanning(size)).flatten(), k)
    ours = displacement_window(size, k)
    np.testing.assert_array_equal(to_a_major(ours, k), dasiamrpn)
    assert ours[(9 * size + 9) * k + 3] == 1. and ours[0] == 0.
    np.testing.assert_array_equal(displacement_window(3, 2, 'uniform'), np.ones(18))


@pytest.mark.parametrize('preset', ['otb', 'vot', 'big'])
def test_select_target_matches_dasiamrpn_on_a_major_outputs(preset):
    config = configuration.track_config_for(preset)
    rng = np.random.RandomState(1)
    anchors = generate_anchors(8, [0.33, 0.5, 1, 2, 3], [8], 19)
    for _ in range(5):
        scores = rng.rand(len(anchors))
        deltas = rng.randn(len(anchors), 4) * 0.3
        boxes = np.stack([deltas[:, 0] * anchors[:, 2] + anchors[:, 0], deltas[:, 1] * anchors[:, 3] + anchors[:, 1],
                          np.exp(deltas[:, 2]) * anchors[:, 2], np.exp(deltas[:, 3]) * anchors[:, 3]], axis=1)
        window = displacement_window(19, 5)
        pos, size, scale_z = np.array([300., 200.]), np.array([60., 35.]), 127. / 90.
        got_pos, got_size, _ = select_target(scores, boxes, window, pos, size, scale_z, config)
        ref_pos, ref_size = reference_select(to_a_major(scores, 5), to_a_major(boxes, 5), to_a_major(window, 5),
                                             pos, size, scale_z, config)
        np.testing.assert_allclose(got_pos, ref_pos, rtol=1e-12)
        np.testing.assert_allclose(got_size, ref_size, rtol=1e-12)


def test_non_finite_outputs_are_never_selected():
    config = configuration.track_config_for('otb')
    scores = np.array([1., 0.9, 0.5])
    boxes = np.array([[np.nan, 0, 10, 10], [3., 4., np.inf, 10.], [2., -1., 20., 12.]])
    pos, size, score = select_target(scores, boxes, np.ones(3), np.array([50., 50.]), np.array([20., 12.]), 1.,
                                     config)
    np.testing.assert_allclose(pos, [52., 49.])
    assert score == 0.5 and np.isfinite(size).all()
    pos, size, score = select_target(scores[:2], boxes[:2], np.ones(2), np.array([5., 6.]), np.array([7., 8.]), 1.,
                                     config)
    np.testing.assert_array_equal(pos, [5., 6.])
    assert score == 0.


def check_boxes_in_frame(boxes, shape, min_size=10.):
    """Finite; centre inside the frame; size in [min_size, frame size] (DaSiamRPN's clamping)."""
    height, width = shape[:2]
    assert np.isfinite(boxes).all()
    centres = boxes[:, :2] + boxes[:, 2:] / 2.
    assert (centres[:, 0] >= 0).all() and (centres[:, 0] <= width).all()
    assert (centres[:, 1] >= 0).all() and (centres[:, 1] <= height).all()
    assert (boxes[1:, 2:] >= min_size - 1e-9).all()
    assert (boxes[:, 2] <= width).all() and (boxes[:, 3] <= height).all()


def test_synthetic_sequence_gives_finite_boxes_in_the_frame(tmp_path, tracker):
    files = []
    for index in range(synthetic_sequence.FRAMES):
        files.append(str(tmp_path / ('%04d.png' % (index + 1))))
        cv2.imwrite(files[-1], synthetic_sequence.frame(index))
    boxes, times = tracker.track(files, synthetic_sequence.FIRST_BOX)
    assert boxes.shape == (synthetic_sequence.FRAMES, 4) and times.shape == (synthetic_sequence.FRAMES,)
    np.testing.assert_array_equal(boxes[0], synthetic_sequence.FIRST_BOX)
    assert (times > 0).all()
    check_boxes_in_frame(boxes, (synthetic_sequence.HEIGHT, synthetic_sequence.WIDTH))
    assert np.abs(boxes[1:] - boxes[0]).max() > 0  # the tracker does move


@pytest.mark.parametrize('box', [[300., 200., 40., 30.], [-30., -20., 40., 30.], [0., 0., 320., 240.]])
def test_targets_at_or_leaving_the_frame_never_give_nan(tracker, box):
    rng = np.random.RandomState(2)
    frames = [synthetic_sequence.frame(i) for i in range(4)]
    frames += [np.zeros((240, 320, 3), np.uint8), rng.randint(0, 256, (240, 320, 3)).astype(np.uint8)]
    tracker.init(frames[0], box)
    boxes = np.array([box] + [tracker.update(frame) for frame in frames[1:]])
    check_boxes_in_frame(boxes[1:], (240, 320))


def test_degenerate_inputs_raise_the_documented_errors(tracker):
    frame = synthetic_sequence.frame(0)
    for box, message in (([10, 10, 0, 20], 'zero or negative'), ([10, 10, 20, -5], 'zero or negative'),
                         ([np.nan, 10, 20, 20], 'not finite'), ([320, 10, 20, 20], 'outside the 320x240 frame'),
                         ([-40, 10, 40, 20], 'outside'), ([10, 10, 20], '4 numbers')):
        with pytest.raises(ValueError, match=message):
            tracker.init(frame, box)
    with pytest.raises(ValueError, match='2-D .* \\(grayscale\\).*COLOR_GRAY2BGR'):
        tracker.init(frame[:, :, 0], [10, 10, 20, 20])
    with pytest.raises(ValueError, match='HxWx3'):
        tracker.init(np.zeros((240, 320, 4), np.uint8), [10, 10, 20, 20])
    with pytest.raises(ValueError, match='uint8'):
        tracker.init(frame.astype(np.float32), [10, 10, 20, 20])
    with pytest.raises(ValueError, match='empty'):
        tracker.init(frame[:0], [10, 10, 20, 20])
    with pytest.raises(ValueError, match='expected the frame as a numpy array'):
        tracker.init(None, [10, 10, 20, 20])
    tracker.init(frame, [10, 10, 20, 20])
    with pytest.raises(ValueError, match='differs from the first frame'):
        tracker.update(np.zeros((300, 320, 3), np.uint8))
    with pytest.raises(ValueError, match='differs from the first frame'):
        tracker.update(frame[:, :120])
    small = np.ascontiguousarray(frame[:96, :128])  # smaller than the crops, as OTB100's Girl (128x96): padded
    tracker.init(small, [40, 30, 24, 30])
    box = tracker.update(small)
    centre = box[:2] + box[2:] / 2.
    assert np.all(np.isfinite(box)) and 0 <= centre[0] <= 128 and 0 <= centre[1] <= 96


def test_update_before_init_is_an_error(random_checkpoint_dir):
    with SiamRPNTracker.from_checkpoint(random_checkpoint_dir) as fresh:
        with pytest.raises(RuntimeError, match='before init'):
            fresh.update(synthetic_sequence.frame(0))


def test_adaptive_search_size_of_the_big_preset(random_checkpoint_dir):
    frame = np.tile(synthetic_sequence.frame(0), (3, 3, 1))  # 960x720: 0.4% is 2765 px^2
    with SiamRPNTracker.from_checkpoint(random_checkpoint_dir, preset='big') as big:
        assert big.name == os.path.basename(random_checkpoint_dir) + '_big'
        assert big.wrapper.instance_sizes == (271, 287)
        big.init(frame, [100, 100, 60, 50])  # 3000 px^2
        assert big.state['instance_size'] == 271
        big.init(frame, [100, 100, 50, 50])  # 2500 px^2
        assert big.state['instance_size'] == 287
        assert np.isfinite(big.update(frame)).all()
        assert big.config['penalty_k'] == 0.055


def test_from_checkpoint_options(tmp_path, random_checkpoint_dir):
    config = configuration.track_config_for('vot')
    config['instance_size'] = 255
    with SiamRPNTracker.from_checkpoint(random_checkpoint_dir, checkpoint_path='model.ckpt-0', track_config=config,
                                        name='mine') as tracker:
        assert tracker.name == 'mine' and tracker.wrapper.instance_sizes == (255,)
        assert tracker.config['lr'] == 0.45
        session = tracker.session
    assert tracker.session is None and session._closed
    with pytest.raises(IOError, match='model.ckpt-7 not found'):
        SiamRPNTracker.from_checkpoint(random_checkpoint_dir, checkpoint_path='model.ckpt-7')
    with pytest.raises(IOError, match='lacks model_config.json'):
        SiamRPNTracker.from_checkpoint(str(tmp_path))


def test_tracks_the_shared_otb_dev_sequences(otb_dev_dir, tracker):
    """The six real 1280x720 sequences (their first 60 frames, to keep the suite fast) with random weights."""
    for name in sorted(os.listdir(otb_dev_dir)):
        sequence = load_otb_folder(os.path.join(otb_dev_dir, name))[0]
        img_files, groundtruth = sequence.img_files, sequence.gt_boxes
        img_files = img_files[:60]
        boxes, times = tracker.track(img_files, groundtruth[0])
        assert len(boxes) == len(img_files), name
        np.testing.assert_array_equal(boxes[0], groundtruth[0])
        check_boxes_in_frame(boxes, (720, 1280))
        assert (times > 0).all()


class StubBackend(object):
    """A network backend without TF: one anchor (cell (12, 9), anchor 2) scores 1 with a box 16 px right of and
    8 px above the search centre, of the template's size; every other anchor scores 0."""

    exemplar_size, instance_sizes, score_sizes, num_anchors = 127, (271,), {271: 19}, 5

    def __init__(self):
        self.calls, self.closed, self.size = [], False, None

    def set_template(self, exemplar_crop):
        self.calls.append(('set_template', exemplar_crop.shape, exemplar_crop.dtype))

    def detect(self, instance_crop):
        self.calls.append(('detect', instance_crop.shape, instance_crop.dtype))
        scores = np.zeros(19 * 19 * 5)
        boxes = np.tile([0., 0., 40., 40.], (19 * 19 * 5, 1))
        best = (12 * 19 + 9) * 5 + 2
        scores[best] = 1.
        boxes[best] = [16., -8.] + list(self.size)
        return scores, boxes

    def close(self):
        self.closed = True


def test_any_network_backend_plugs_into_the_tracker():
    backend = StubBackend()
    config = configuration.track_config_for('otb')
    tracker = SiamRPNTracker(backend, config, name='stub')
    frame = synthetic_sequence.frame(0)
    box = np.array([100., 80., 40., 30.])
    with tracker:
        tracker.init(frame, box)
        s_z = np.sqrt((40. + 35.) * (30. + 35.))
        scale_z = 127. / s_z
        backend.size = box[2:] * scale_z  # no change of scale or ratio: penalty 1, the size stays
        result = tracker.update(frame)
    assert backend.closed and tracker.name == 'stub'
    assert backend.calls == [('set_template', (127, 127, 3), np.uint8), ('detect', (271, 271, 3), np.uint8)]
    np.testing.assert_allclose(result, [100. + 16. / scale_z, 80. - 8. / scale_z, 40., 30.], rtol=1e-12)
    with pytest.raises(ValueError, match='no 287-pixel track step'):
        SiamRPNTracker(StubBackend(), configuration.track_config_for('big'))
