"""Tests of the spawned process pool helper."""

import cv2
import numpy as np

from utils.parallel import imap_unordered


def warp_sum(seed):
    image = np.random.RandomState(seed).randint(0, 255, (300, 400, 3)).astype(np.uint8)
    return seed, int(cv2.warpAffine(image, np.float64([[0.5, 0, 3], [0, 0.5, 4]]), (200, 150)).sum())


def test_results_match_in_process_runs_after_opencv_was_used_here():
    cv2.warpAffine(np.zeros((720, 1280, 3), np.uint8), np.float64([[0.5, 0, 0], [0, 0.5, 0]]), (511, 511))
    expected = dict(map(warp_sum, range(4)))
    assert dict(imap_unordered(warp_sum, range(4), processes=2)) == expected  # a forked pool would hang here
    assert list(imap_unordered(warp_sum, range(3), processes=1)) == [warp_sum(i) for i in range(3)]
