"""run_OTB's evaluation equals got10k's ExperimentOTB.report() on generated sequences and results.

The sequences are written in the exact layout got10k's OTB class reads (<root>/<Seq>/img/*.jpg and
groundtruth_rect.txt, under folder names of its 'tb50' list), and the results in its layout
(<results>/OTBtb50/<tracker>/<seq>.txt plus times/). got10k's download function is replaced by one that fails the
test, and every folder of the version exists, so it never touches the network.
"""

import numpy as np
import pytest

got10k_otb = pytest.importorskip('got10k.datasets.otb')
from got10k.experiments import ExperimentOTB  # noqa: E402

from benchmarks.run_OTB import evaluate_results  # noqa: E402
from datasets.benchmark_sequences import load_sequences  # noqa: E402
from metrics.report import build_summary  # noqa: E402
from tests.sequence_fixtures import moving_boxes, write_otb_sequence  # noqa: E402
from utils.box_io import write_otb_boxes  # noqa: E402

TB50 = getattr(got10k_otb.OTB, '_OTB__tb50_seqs')
SEQUENCES = ('Basketball', 'Biker', 'Bird1', 'BlurBody', 'BlurCar2')  # tb50 names without special handling
FRAMES = 60


def make_ground_truth(index):
    gt = moving_boxes(FRAMES, seed=index, size=(320, 240), box_size=(30. + 7 * index, 24. + 5 * index))
    gt += np.random.RandomState(100 + index).uniform(0., 1., gt.shape) * [1, 1, 0, 0]  # non-integer corners
    if index == 1:
        gt[[10, 11, 40]] = np.nan  # target out of view
    if index == 2:
        gt[[5, 30], 2] = 0.  # zero-size annotations
    return gt


def make_results(gt, rng):
    shifted = gt + [3., -2., 0., 0.]
    scaled = gt.copy()
    scaled[:, :2] -= gt[:, 2:] * [0.1, -0.05]
    scaled[:, 2:] *= [1.2, 0.9]
    random = np.concatenate([rng.uniform(0, 280, (len(gt), 2)), rng.uniform(10, 60, (len(gt), 2))], axis=1)
    noisy = gt + rng.randn(*gt.shape) * [4., 4., 3., 3.]
    noisy[:, 2:] = np.abs(noisy[:, 2:])
    noisy[rng.rand(len(gt)) < 0.15] = np.nan  # a tracker that sometimes reports nothing
    return {'Perfect': gt.copy(), 'Shifted': shifted, 'Scaled': scaled, 'Random': random, 'NaNRows': noisy}


@pytest.fixture
def otb_experiment(tmp_path, monkeypatch):
    def no_download(url, filename):
        raise AssertionError('got10k tried to download %s' % url)
    monkeypatch.setattr(got10k_otb, 'download', no_download)
    monkeypatch.setenv('MPLBACKEND', 'Agg')
    root, results = tmp_path / 'OTB', tmp_path / 'results'
    for name in TB50:
        (root / name).mkdir(parents=True)
    rng = np.random.RandomState(7)
    trackers = None
    for index, name in enumerate(SEQUENCES):
        gt = make_ground_truth(index)
        write_otb_sequence(str(root), name, gt, empty_images=True)
        trackers = make_results(gt, rng)
        for tracker, boxes in trackers.items():
            write_otb_boxes(str(results / 'OTBtb50' / tracker / ('%s.txt' % name)), boxes)
            times_dir = results / 'OTBtb50' / tracker / 'times'
            times_dir.mkdir(exist_ok=True)
            np.savetxt(str(times_dir / ('%s_time.txt' % name)), np.full(FRAMES, 0.01))
    experiment = ExperimentOTB(str(root), version='tb50', result_dir=str(results), report_dir=str(tmp_path / 'rep'))
    return experiment, str(root), str(results / 'OTBtb50'), sorted(trackers)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_auc_and_precision_equal_got10k_report(otb_experiment):
    experiment, root, results_dir, trackers = otb_experiment
    theirs = experiment.report(trackers)
    sequences = load_sequences('otb', root)
    assert [s.name for s in sequences] == sorted(SEQUENCES)
    ours = {t['name']: t for t in build_summary(evaluate_results(trackers, sequences, results_dir))['trackers']}
    for tracker in trackers:
        expected, got = theirs[tracker]['overall'], ours[tracker]['overall']
        assert got['auc'] == pytest.approx(expected['success_score'], abs=1e-4), tracker
        assert got['precision'] == pytest.approx(expected['precision_score'], abs=1e-4), tracker
        assert got['success_rate'] == pytest.approx(expected['success_rate'], abs=1e-4), tracker
        np.testing.assert_allclose(got['success_curve'], expected['success_curve'], atol=1e-4, err_msg=tracker)
        np.testing.assert_allclose(got['precision_curve'], expected['precision_curve'], atol=1e-4, err_msg=tracker)
        for name in SEQUENCES:
            np.testing.assert_allclose(ours[tracker]['sequences'][name]['success_curve'],
                                       theirs[tracker]['seq_wise'][name]['success_curve'], atol=1e-4)
            np.testing.assert_allclose(ours[tracker]['sequences'][name]['precision_curve'],
                                       theirs[tracker]['seq_wise'][name]['precision_curve'], atol=1e-4)
    # Perfect results: 0.9524 on the clean sequences, less where the truth is NaN or empty (failures for both).
    assert ours['Perfect']['sequences']['Basketball']['auc'] == pytest.approx(20. / 21.)
    assert round(ours['Perfect']['sequences']['Basketball']['auc'], 4) == 0.9524
    assert ours['Perfect']['sequences']['Biker']['auc'] == pytest.approx(20. / 21. * (FRAMES - 3) / FRAMES)
    assert ours['Perfect']['sequences']['Bird1']['auc'] == pytest.approx(20. / 21. * (FRAMES - 2) / FRAMES)
    # The cases differ from each other, so the agreement is not trivial.
    aucs = sorted(round(ours[t]['overall']['auc'], 3) for t in trackers)
    assert len(set(aucs)) == len(trackers) and aucs[0] < 0.1
