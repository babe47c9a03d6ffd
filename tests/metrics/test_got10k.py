"""metrics/got10k.py: AO and SR against got10k's formulas re-computed in numpy, its rect_iou, and its report."""

import os

import numpy as np
import pytest

from metrics.got10k import bounded_boxes, evaluate_got10k, evaluated_ious, summarize_got10k

SIZE = (320, 240)


def numpy_ao_sr(results, gt, cover):
    """got10k's ExperimentGOT10k definitions in plain numpy (frames 2..N with cover > 0; boxes inside the image)."""
    results, gt = results[1:][cover[1:] > 0], gt[1:][cover[1:] > 0]
    x1 = np.maximum(results[:, 0], gt[:, 0])
    y1 = np.maximum(results[:, 1], gt[:, 1])
    x2 = np.minimum(results[:, 0] + results[:, 2], gt[:, 0] + gt[:, 2])
    y2 = np.minimum(results[:, 1] + results[:, 3], gt[:, 1] + gt[:, 3])
    inter = np.maximum(x2 - x1, 0) * np.maximum(y2 - y1, 0)
    ious = inter / (results[:, 2] * results[:, 3] + gt[:, 2] * gt[:, 3] - inter)
    return np.mean(ious), np.mean(ious > 0.5), np.mean(ious > 0.75), ious


def make_case(seed, frames=40):
    rng = np.random.RandomState(seed)
    gt = np.concatenate([rng.uniform(10, 150, (frames, 2)), rng.uniform(20, 80, (frames, 2))], axis=1)
    results = gt + rng.randn(frames, 4) * [6., 6., 5., 5.]
    results[:, 2:] = np.abs(results[:, 2:]) + 1.
    cover = rng.randint(0, 9, frames)
    return results, gt, cover


def test_ao_and_sr_match_got10k_formulas():
    per_sequence = {}
    pooled = []
    for seed in range(3):
        results, gt, cover = make_case(seed)
        ao, sr50, sr75, ious = numpy_ao_sr(results, gt, cover)
        metrics = evaluate_got10k(results, gt, SIZE, cover > 0)
        assert metrics['ao'] == pytest.approx(ao) and metrics['sr_0.5'] == pytest.approx(sr50)
        assert metrics['sr_0.75'] == pytest.approx(sr75) and metrics['evaluated_frames'] == len(ious)
        per_sequence[seed] = metrics
        pooled.append(ious)
    pooled = np.concatenate(pooled)  # got10k pools the frames of all sequences
    overall = summarize_got10k(per_sequence)
    assert overall['ao'] == pytest.approx(np.mean(pooled))
    assert overall['sr_0.5'] == pytest.approx(np.mean(pooled > 0.5))
    assert overall['sr_0.75'] == pytest.approx(np.mean(pooled > 0.75))


def test_frame_bounds_and_where_got10k_rect_iou_differs():
    metrics_module = pytest.importorskip('got10k.utils.metrics')
    # Boxes spilling over the right and bottom edges: both cut them to the image the same way.
    results = np.array([[300., 200., 40., 60.], [10., 20., 30., 40.]])
    gt = np.array([[290., 210., 40., 40.], [12., 22., 30., 40.]])
    theirs = metrics_module.rect_iou(results.copy(), gt.copy(), bound=SIZE)
    np.testing.assert_allclose(evaluated_ious(np.vstack([gt[:1], results]), np.vstack([gt[:1], gt]), SIZE), theirs)
    # Over the left edge, got10k moves x to 0 but keeps the width (the box slides right): [-10, 5, 30, 20] becomes
    # [0, 5, 30, 20] and scores 20/30 against [0, 5, 20, 20]; cut to the image it is [0, 5, 20, 20]: IoU 1.
    left, truth = np.array([[-10., 5., 30., 20.]]), np.array([[0., 5., 20., 20.]])
    assert metrics_module.rect_iou(left.copy(), truth.copy(), bound=SIZE)[0] == pytest.approx(20. / 30.)
    np.testing.assert_allclose(bounded_boxes(left, SIZE), truth)
    assert evaluated_ious(np.vstack([truth, left]), np.vstack([truth, truth]), SIZE)[0] == pytest.approx(1.)
    # NaN results score 0; NaN ground truth and invisible frames are not evaluated; frame 1 never is.
    ious = evaluated_ious([[0, 0, 5, 5], [np.nan] * 4, [1, 1, 5, 5], [1, 1, 5, 5]],
                          [[0, 0, 5, 5], [0, 0, 5, 5], [np.nan] * 4, [1, 1, 5, 5]], SIZE, [1, 1, 1, 1])
    np.testing.assert_allclose(ious, [0., 1.])


def test_run_otb_got10k_layout_agrees_with_got10k_report(tmp_path, monkeypatch):
    """The converted GOT-10k val layout read by got10k's ExperimentGOT10k gives the AO/SR that run_OTB reports."""
    got10k_experiments = pytest.importorskip('got10k.experiments')
    monkeypatch.setenv('MPLBACKEND', 'Agg')
    from benchmarks.run_OTB import TrackerSpec, run_benchmark, save_result
    from datasets.benchmark_sequences import load_sequences
    from scripts.convert_otb_dataset import convert
    from tests.sequence_fixtures import moving_boxes, write_otb_sequence

    otb = str(tmp_path / 'otb')
    for index in range(3):  # boxes well inside the 160 x 120 frames, so no clipping is involved
        gt = moving_boxes(20, seed=index, size=(160, 120), start=(30. + 5 * index, 30.), box_size=(40., 30.))
        gt[:, :2] += 0.25 * index
        if index == 1:
            gt[[7, 8]] = np.nan  # out of view: cover 0, not evaluated by either
        write_otb_sequence(otb, 'Seq%d' % index, gt, size=(160, 120))
    got_root = str(tmp_path / 'GOT-10k')
    convert(otb, got_root, 'got10k')
    sequences = load_sequences('got10k', got_root)
    results_dir = str(tmp_path / 'results' / 'GOT-10k')
    rng = np.random.RandomState(3)
    for sequence in sequences:
        boxes = sequence.gt_boxes + rng.randn(len(sequence), 4) * [4., 4., 3., 3.]
        boxes[np.isnan(boxes)] = 5.
        save_result(results_dir, 'Noisy', sequence, boxes, np.full(len(sequence), 0.01), layout='got10k')
    ours = run_benchmark([TrackerSpec('Noisy')], sequences, results_dir, progress=False, log=lambda m: None,
                         layout='got10k')['trackers'][0]
    experiment = got10k_experiments.ExperimentGOT10k(got_root, subset='val', result_dir=str(tmp_path / 'results'),
                                                     report_dir=str(tmp_path / 'reports'))
    theirs = experiment.report(['Noisy'])['Noisy']
    assert ours['overall']['got10k']['ao'] == pytest.approx(theirs['overall']['ao'], abs=1e-9)
    assert ours['overall']['got10k']['sr_0.5'] == pytest.approx(theirs['overall']['sr'], abs=1e-9)
    for name, metrics in theirs['seq_wise'].items():
        assert ours['sequences'][name]['got10k']['ao'] == pytest.approx(metrics['ao'], abs=1e-9)
    assert ours['overall']['got10k']['evaluated_frames'] == 3 * 19 - 2
    assert os.path.isfile(str(tmp_path / 'results' / 'GOT-10k' / 'Noisy' / 'Seq0' / 'Seq0_001.txt'))
