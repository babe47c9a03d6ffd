"""Tests of the OPE metrics against hand-computed cases and a brute-force re-implementation."""

import numpy as np
import pytest

from metrics.ope import (NORM_PRECISION_THRESHOLDS, PRECISION_THRESHOLDS, SUCCESS_THRESHOLDS, centre_errors,
                         evaluate_sequence, normalized_centre_errors, overlaps, precision_curve, success_curve,
                         summarize)


def brute_force_iou(a, b):
    """IoU of two x,y,w,h boxes, written out corner by corner; NaN boxes give NaN."""
    if np.any(np.isnan(a)) or np.any(np.isnan(b)):
        return np.nan
    left, right = max(a[0], b[0]), min(a[0] + a[2], b[0] + b[2])
    top, bottom = max(a[1], b[1]), min(a[1] + a[3], b[1] + b[3])
    inter = max(right - left, 0.) * max(bottom - top, 0.)
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.


def brute_force_auc(results, gt):
    ious = [brute_force_iou(r, g) for r, g in zip(results, gt)]
    points = [sum(1 for i in ious if not np.isnan(i) and i > t) / float(len(ious)) for t in np.linspace(0, 1, 21)]
    return sum(points) / 21.


def random_boxes(rng, count):
    return np.concatenate([rng.uniform(0, 300, (count, 2)), rng.uniform(5, 120, (count, 2))], axis=1)


def test_thresholds_are_the_standard_ones():
    np.testing.assert_allclose(SUCCESS_THRESHOLDS, np.arange(21) * 0.05, atol=1e-12)
    np.testing.assert_array_equal(PRECISION_THRESHOLDS, np.arange(51))
    np.testing.assert_allclose(NORM_PRECISION_THRESHOLDS, np.arange(51) * 0.01, atol=1e-12)


def test_ground_truth_as_result_scores_0_9524_not_1():
    gt = random_boxes(np.random.RandomState(0), 200)
    metrics = evaluate_sequence(gt, gt)
    assert metrics['auc'] == pytest.approx(20. / 21.)
    assert round(metrics['auc'], 4) == 0.9524
    assert metrics['success_curve'][-1] == 0.  # IoU 1 is never strictly above 1
    assert metrics['precision'] == metrics['success_rate'] == metrics['norm_precision'] == 1.


def test_success_is_strict_and_precision_inclusive():
    gt = np.array([[0., 0., 10., 10.]])
    half = np.array([[0., 0., 10., 20.]])  # IoU exactly 0.5
    curve = success_curve(overlaps(half, gt))
    assert curve[9] == 1. and curve[10] == 0.  # 0.45 passes, 0.5 does not
    assert evaluate_sequence(half, gt)['success_rate'] == 0.
    away = np.array([[20., 0., 10., 10.]])  # centre error exactly 20 px
    np.testing.assert_allclose(centre_errors(away, gt), [20.])
    curve = precision_curve(centre_errors(away, gt))
    assert curve[19] == 0. and curve[20] == 1.
    assert evaluate_sequence(away, gt)['precision'] == 1.


def test_curves_match_brute_force_on_random_boxes():
    rng = np.random.RandomState(1)
    gt = random_boxes(rng, 300)
    results = gt + rng.randn(300, 4) * [8, 8, 6, 6]
    results[:, 2:] = np.abs(results[:, 2:])
    metrics = evaluate_sequence(results, gt)
    assert metrics['auc'] == pytest.approx(brute_force_auc(results, gt), abs=1e-12)
    errors = [np.hypot(r[0] + r[2] / 2 - g[0] - g[2] / 2, r[1] + r[3] / 2 - g[1] - g[3] / 2)
              for r, g in zip(results, gt)]
    assert metrics['precision'] == pytest.approx(np.mean(np.array(errors) <= 20))


def test_nan_and_zero_size_ground_truth_count_as_failures():
    gt = np.array([[10., 10., 20., 20.], [np.nan] * 4, [10., 10., 0., 20.], [10., 10., 20., 20.]])
    results = np.array([[10., 10., 20., 20.], [10., 10., 20., 20.], [10., 10., 20., 20.], [np.nan] * 4])
    metrics = evaluate_sequence(results, gt)
    # Frame 1 is right; frame 2 has NaN truth, frame 3 zero-size truth, frame 4 a NaN result: all in the denominator
    # and all failures of the success curve, even at threshold 0.
    assert metrics['success_curve'][0] == 0.25 and metrics['success_curve'][19] == 0.25
    # As in got10k and pysot, a zero-size truth still has a centre: its error (10 px here) counts for precision,
    # while the normalised error divides by its zero width and fails.
    assert metrics['precision_curve'][9] == 0.25 and metrics['precision_curve'][10] == 0.5
    assert metrics['norm_precision_curve'][50] == 0.25
    assert metrics['frames'] == 4


def test_normalized_precision_scales_by_ground_truth_size():
    gt = np.array([[0., 0., 100., 50.]])
    results = np.array([[10., 5., 100., 50.]])  # 0.1 width and 0.1 height off -> sqrt(0.02)
    np.testing.assert_allclose(normalized_centre_errors(results, gt), [np.sqrt(0.02)])
    assert evaluate_sequence(results, gt)['norm_precision'] == 1.
    far = np.array([[30., 0., 100., 50.]])  # 0.3 widths off
    assert evaluate_sequence(far, gt)['norm_precision'] == 0.


def test_overall_is_the_mean_of_sequence_curves_and_fps_is_total_frames_over_seconds():
    gt_a = np.array([[0., 0., 10., 10.]] * 4)
    gt_b = np.array([[0., 0., 10., 10.]] * 2)
    wrong = np.array([[50., 50., 10., 10.]])
    seq_a = evaluate_sequence(gt_a, gt_a, times=[0.1] * 4)  # perfect, 4 frames
    seq_b = evaluate_sequence(np.concatenate([gt_b[:1], wrong]), gt_b, times=[0.5, 0.5])  # half right, 2 frames
    overall = summarize({'a': seq_a, 'b': seq_b})
    np.testing.assert_allclose(overall['success_curve'], (seq_a['success_curve'] + seq_b['success_curve']) / 2)
    assert overall['auc'] == pytest.approx((20. / 21. + 10. / 21.) / 2)  # not frame-weighted (which would be 5/6)
    assert overall['precision'] == pytest.approx(0.75)
    assert overall['fps'] == pytest.approx(6. / 1.4)
    assert (overall['frames'], overall['sequences']) == (6, 2)
    assert summarize({'a': evaluate_sequence(gt_a, gt_a)})['fps'] is None


def test_one_pixel_offset_costs_about_a_quarter_point_at_a_realistic_operating_point():
    # OTB-like boxes (20-150 px, log-uniform) tracked with 12% noise: AUC about 0.65, where published trackers sit.
    rng = np.random.RandomState(0)
    sizes = np.exp(rng.uniform(np.log(20.), np.log(150.), (20000, 2)))
    gt = np.concatenate([rng.uniform(0., 500., (20000, 2)), sizes], axis=1)
    results = gt.copy()
    results[:, :2] += rng.randn(20000, 2) * 0.12 * sizes
    results[:, 2:] *= np.exp(rng.randn(20000, 2) * 0.12)
    auc = evaluate_sequence(results, gt)['auc']
    shifted = results + [1., 1., 0., 0.]  # a 0- vs 1-based mix-up moves x and y by one pixel
    cost = auc - evaluate_sequence(shifted, gt)['auc']
    assert 0.62 < auc < 0.67
    assert 0.0015 < cost < 0.0045, cost


def test_mismatched_lengths_are_an_error():
    with pytest.raises(ValueError, match='3 boxes but the ground truth has 2'):
        evaluate_sequence(np.zeros((3, 4)), np.ones((2, 4)))
    with pytest.raises(ValueError, match='1 frame times for 2 frames'):
        evaluate_sequence(np.ones((2, 4)), np.ones((2, 4)), times=[0.1])
