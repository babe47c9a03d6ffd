"""metrics/vot.py against hand-computed pixel counts, boxes and expected-overlap curves."""

import numpy as np
import pytest

from metrics.vot import (FAILURE, INIT, SKIPPED, burnin_frames, eao_fragments, eao_interval, eao_score,
                         evaluate_supervised, expected_overlap_curve, failure_frames, rasterize_polygon, region_overlap,
                         summarize_supervised)

FRAME = (100, 100)
# A diamond (a square turned 45 degrees) centred at (10, 10) with radius 5. By hand, with VOT's scanline rules: the
# rows of the top and bottom vertices (5 and 15) meet only a vertex (two equal crossings: nothing is filled); row y
# in 6..14 spans columns 10 - k .. 10 + k with k = 5 - |y - 10|, so 2k + 1 pixels: 3, 5, 7, 9, 11, 9, 7, 5, 3 = 59.
DIAMOND = [10., 5., 15., 10., 10., 15., 5., 10.]


def diamond_mask(centre_x=10, width=21, height=21):
    mask = np.zeros((height, width), dtype=bool)
    for y in range(6, 15):
        k = 5 - abs(y - 10)
        mask[y, max(centre_x - k, 0):centre_x + k + 1] = True
    return mask


def test_rectangles_cover_pixels_x_to_x_plus_w_minus_1():
    assert region_overlap([0, 0, 10, 10], [0, 0, 10, 10], FRAME) == 1.
    assert region_overlap([0, 0, 10, 10], [5, 0, 10, 10], FRAME) == pytest.approx(50. / 150.)  # 5 of 15 columns
    assert region_overlap([0, 0, 10, 10], [40, 40, 10, 10], FRAME) == 0.
    # The 4-corner polygon of a rectangle (corners x and x+w-1, VOT's conversion) is the same pixels.
    assert region_overlap([2, 3, 11, 3, 11, 8, 2, 8], [2, 3, 10, 6], FRAME) == 1.
    # pysot's region.pyx passes rectangles with corners x and x+w: 11 x 11 pixels each, 6 columns shared.
    assert region_overlap([0, 0, 10, 10], [5, 0, 10, 10], FRAME, pysot_rectangles=True) == pytest.approx(66. / 176.)


def test_rotated_polygon_pixels_by_hand():
    xs, ys = np.array(DIAMOND[0::2], np.float32), np.array(DIAMOND[1::2], np.float32)
    np.testing.assert_array_equal(rasterize_polygon(xs, ys, 21, 21), diamond_mask())
    # Against the square of rows and columns 5..15 (121 pixels) that holds it: 59 / 121.
    assert region_overlap(DIAMOND, [5, 5, 11, 11], FRAME) == pytest.approx(59. / 121.)
    # Against a box of rows 8..12, columns 0..99: the diamond's rows 8..12 hold 7 + 9 + 11 + 9 + 7 = 43 pixels.
    assert region_overlap(DIAMOND, [0, 8, 100, 5], FRAME) == pytest.approx(43. / (500. + 59. - 43.))


def test_regions_are_cut_to_the_frame():
    # A box hanging over the top-left corner keeps its pixels 0..4: the same as the box inside.
    assert region_overlap([-5, -5, 10, 10], [0, 0, 5, 5], FRAME) == 1.
    # Columns 90..109 against 90..99: in a 100-wide frame both are columns 90..99; in a 105-wide one, 10 of 15.
    assert region_overlap([90, 0, 20, 10], [90, 0, 10, 10], (100, 100)) == 1.
    assert region_overlap([90, 0, 20, 10], [90, 0, 10, 10], (105, 100)) == pytest.approx(10. / 15.)
    # The diamond moved to x = 0: its columns -k..-1 are outside; rows 6..14 keep k + 1 pixels (34 in all), inside
    # the box of columns 0..5, rows 5..15 (66 pixels).
    left_diamond = [0., 5., 5., 10., 0., 15., -5., 10.]
    assert region_overlap(left_diamond, [0, 5, 6, 11], FRAME) == pytest.approx(34. / 66.)
    xs, ys = np.array(left_diamond[0::2], np.float32), np.array(left_diamond[1::2], np.float32)
    np.testing.assert_array_equal(rasterize_polygon(xs, ys, 21, 21), diamond_mask(centre_x=0))
    # Entirely outside the frame: no overlap.
    assert region_overlap([120, 0, 10, 10], [95, 0, 10, 10], FRAME) == 0.


def test_markers_unlabelled_and_touching_bounds():
    assert np.isnan(region_overlap([INIT], [0, 0, 10, 10], FRAME))
    assert np.isnan(region_overlap([0, 0, 10, 10], [np.nan] * 4, FRAME))
    # Columns 0..9 and 9..18 share column 9, but their bounds only touch: the region library returns 0.
    assert region_overlap([0, 0, 10, 10], [9, 0, 10, 10], FRAME) == 0.
    with pytest.raises(ValueError, match='expected a marker, x,y,w,h or polygon'):
        region_overlap([1, 2, 3], [0, 0, 1, 1], FRAME)


def test_accuracy_burn_in_failures_and_robustness():
    box = np.array([10., 10., 20., 10.])
    shifted = box + [2., 0., 0., 0.]  # 18 of 22 columns overlap: 18 / 22
    trajectory = [[INIT]] + [shifted] * 11 + [[FAILURE]] + [[SKIPPED]] * 4 + [[INIT]] + [shifted] * 13
    gt = [box] * len(trajectory)
    assert failure_frames(trajectory) == [12]
    burn = burnin_frames(trajectory, 10)
    assert burn.tolist() == [True] * 10 + [False] * 7 + [True] * 10 + [False] * 4
    metrics = evaluate_supervised(trajectory, gt, FRAME)
    # Valid: frames 10, 11 and 27..30 (6 frames) all at 18/22.
    assert metrics['valid_frames'] == 6 and metrics['accuracy'] == pytest.approx(18. / 22.)
    assert metrics['failures'] == 1 and metrics['frames'] == 31
    other = evaluate_supervised([[INIT]] + [box] * 19, [box] * 20, FRAME)
    overall = summarize_supervised({'a': metrics, 'b': other}, interval=(2, 5))
    assert overall['accuracy'] == pytest.approx((6 * 18. / 22. + 10 * 1.) / 16.)  # pooled over frames
    assert overall['failures'] == 1 and overall['failures_per_sequence'] == 0.5
    assert overall['robustness'] == pytest.approx(100. / 51.)


def test_eao_on_a_hand_computed_example():
    # A: 6 frames, no failure, overlap 0.5. B: 6 frames, overlap 0.8, a failure at frame 2, re-initialised at
    # frame 4 (skip 2) and overlap 0.6 on frame 5. Fragments (frame 1 never counts):
    #   A:  [-, .5, .5, .5, .5, .5]          B1: [-, .8, 0, 0, 0, 0] (failed: zeros)   B2: [-, .6, end]
    # Expected overlap of length Ns = mean over fragments reaching frame Ns of their mean over frames 2..Ns:
    #   Ns=2: (.5 + .8 + .6) / 3;  Ns=3: (.5 + .4) / 2;  Ns=4: (.5 + .8/3) / 2;  Ns=5: (.5 + .2) / 2;
    #   Ns=6: (.5 + .16) / 2
    nan = np.nan
    overlaps = [[nan, .5, .5, .5, .5, .5], [nan, .8, nan, nan, nan, .6]]
    fragments = eao_fragments(overlaps, [[], [2]], skip=2)
    np.testing.assert_array_equal(fragments, [[0, .5, .5, .5, .5, .5], [0, .8, 0, 0, 0, 0],
                                              [0, .6, nan, nan, nan, nan]])
    curve = expected_overlap_curve(fragments)
    expected = [1., 1.9 / 3., .45, (.5 + .8 / 3.) / 2., .35, .33]
    np.testing.assert_allclose(curve, expected)
    assert eao_score(curve, (2, 4)) == pytest.approx(np.mean(expected[1:4]))
    assert eao_score(curve, (5, 100)) == pytest.approx(np.mean(expected[4:]))  # lengths beyond the data are absent
    assert np.isnan(eao_score(curve, (7, 10)))
    # The same through trajectories: B's markers give NaN overlaps; A's overlaps come from real boxes.
    box = np.array([10., 10., 20., 10.])
    half = box + [20. / 3., 0., 0., 0.]  # corners 16.67..35.67 round to columns 17..36; against 10..29: 13 / 27
    seq_a = evaluate_supervised([[INIT]] + [half] * 5, [box] * 6, FRAME)
    assert seq_a['overlaps'][1] == pytest.approx(13. / 27.)
    overall = summarize_supervised({'a': seq_a}, interval=(2, 6))
    assert overall['eao'] == pytest.approx(13. / 27.)


def test_eao_interval_presets_and_errors():
    assert eao_interval('vot2018') == (100, 356) and eao_interval('VOT2016') == (108, 371)
    assert eao_interval('vot2019') == (46, 291) and eao_interval([5, 9]) == (5, 9)
    with pytest.raises(ValueError, match='unknown EAO interval preset'):
        eao_interval('vot2030')
    with pytest.raises(ValueError, match='1 <= low <= high'):
        eao_interval([10, 5])
