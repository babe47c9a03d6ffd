"""Tests of the GOT-10k parser on a fixture in the release layout (train/GOT-10k_Train_NNNNNN/)."""

import numpy as np
import pytest

from datasets.layout_samples import OBJECT_COLORS, write_got10k
from datasets.sources import make_source
from datasets.sources.got10k import GOT10kSource
from tests.datasets.sources.crop_checks import assert_crops_show_target, curate, expected_patch_size

SIZE = (96, 80)
BOXES = [[10 + 4 * i, 20 + 2 * i, 18, 14] for i in range(8)]


@pytest.fixture(scope='module')
def got_root(tmp_path_factory):
    """Sequence 1: absent frame 2, cover 0 at 3 (fully occluded), cover 2 at 4, a bad row 5, a corrupt JPEG 6.
    Sequence 2: one ground-truth row short. val/ holds one clean sequence."""
    root = str(tmp_path_factory.mktemp('GOT-10k'))
    rng = np.random.RandomState(0)
    write_got10k(root, 'train', 'GOT-10k_Train_000001', BOXES, SIZE, rng, absence=[0, 0, 1, 0, 0, 0, 0, 0],
                 cover=[8, 8, 0, 0, 2, 8, 8, 5], bad_rows={5: '31,abc,18,14'}, image_defects={6: 'corrupt_jpeg'})
    write_got10k(root, 'train', 'GOT-10k_Train_000002', BOXES[:3], SIZE, rng)
    with open('%s/train/GOT-10k_Train_000002/groundtruth.txt' % root, 'w') as stream:
        stream.write('1,1,5,5\n2,2,5,5\n')
    write_got10k(root, 'val', 'GOT-10k_Val_000001', BOXES[:2], SIZE, rng)
    return root


def test_visibility_labels_bad_rows_and_corrupt_frames(got_root, tmp_path):
    source = make_source('got10k', got_root)
    assert source.video_names() == ['GOT-10k_Train_000001', 'GOT-10k_Train_000002']  # val is a benchmark: opt-in
    summary, tracks = curate(source, tmp_path)
    assert summary['videos'] == {'total': 2, 'curated': 1, 'existing': 0, 'failed': 1}
    assert 'groundtruth.txt: 2 ground-truth rows for 3 images' in summary['failed']['GOT-10k_Train_000002']
    assert summary['skipped'] == {'absent': 1, 'low_visibility': 1, 'bad_row': 1, 'unreadable_image': 1}
    assert summary['frames_kept'] == 4 and summary['frames_total'] == 8
    track = tracks[('GOT-10k_Train_000001', '0')]
    assert track['frame_indices'] == [1, 2, 5, 8]  # file numbers 00000001.jpg ...
    assert summary['problems'] == ["%s/train/GOT-10k_Train_000001/groundtruth.txt line 6: expected numbers x,y,w,h, "
                                   "got '31,abc,18,14'" % got_root]
    assert any('00000007.jpg' in m for m in summary['unreadable_images'])
    assert_crops_show_target(tmp_path, track, OBJECT_COLORS[0])  # 1-based rows drawn at their 0-based pixels
    np.testing.assert_allclose(np.array(track['boxes'])[:, 2:], [expected_patch_size(18, 14)] * 4, atol=2e-3)


def test_cover_threshold_and_splits(got_root, tmp_path):
    strict = GOT10kSource(got_root, min_cover=3)
    summary, tracks = curate(strict, tmp_path / 'strict')
    assert summary['skipped']['low_visibility'] == 2  # levels 0 and 2
    assert tracks[('GOT-10k_Train_000001', '0')]['frame_indices'] == [1, 2, 8]
    loose = GOT10kSource(got_root, min_cover=0)
    summary, tracks = curate(loose, tmp_path / 'loose')
    assert 'low_visibility' not in summary['skipped'] and summary['frames_kept'] == 5
    both = GOT10kSource(got_root, subsets=['train', 'val'])
    assert both.video_names()[-1] == 'GOT-10k_Val_000001'
    split_folder = GOT10kSource(got_root + '/val')  # a split folder given directly
    assert split_folder.video_names() == ['GOT-10k_Val_000001']
    assert both.describe() == {'name': 'got10k', 'is_image_data': False, 'layout': 'got10k', 'root': got_root,
                               'subsets': ['train', 'val'], 'min_cover': 1}


def test_bad_configurations_and_the_test_split(got_root, tmp_path):
    with pytest.raises(ValueError, match='min_cover must be a cover.label level in 0..8'):
        GOT10kSource(got_root, min_cover=9)
    with pytest.raises(ValueError, match='split folder.*test not found'):
        GOT10kSource(got_root, subsets=['test'])
    with pytest.raises(ValueError, match='root folder not found'):
        GOT10kSource(str(tmp_path / 'missing'))
    root = str(tmp_path / 'GOT')
    write_got10k(root, 'test', 'GOT-10k_Test_000001', BOXES[:3], SIZE, np.random.RandomState(1))
    with open(root + '/test/GOT-10k_Test_000001/groundtruth.txt', 'w') as stream:
        stream.write('11,21,18,14\n')
    with pytest.raises(ValueError, match='only the first-frame box .*evaluation server'):
        GOT10kSource(root, subsets=['test']).load_video('GOT-10k_Test_000001')
    with open(root + '/test/GOT-10k_Test_000001/groundtruth.txt', 'w') as stream:
        stream.write('11,21,18,14\n' * 3)
    with open(root + '/test/GOT-10k_Test_000001/cover.label', 'w') as stream:
        stream.write('8\n8\n')
    with pytest.raises(ValueError, match='cover.label has 2 labels for 3 frames'):
        GOT10kSource(root, subsets=['test']).load_video('GOT-10k_Test_000001')
