"""Tests of the LaSOT parser on a fixture in the release layout (<class>/<class>-<n>/img/)."""

import os

import numpy as np
import pytest

from datasets.layout_samples import OBJECT_COLORS, write_lasot
from datasets.sources import make_source
from datasets.sources.lasot import LASOT_TEST_SEQUENCES, LaSOTSource, is_test_sequence
from tests.datasets.sources.crop_checks import assert_crops_show_target, curate

SIZE = (96, 80)
BOXES = [[12 + 3 * i, 16 + 2 * i, 20, 16] for i in range(8)]


@pytest.fixture(scope='module')
def lasot_root(tmp_path_factory):
    """airplane-2 (training split): full occlusion at 2, out of view at 3, both at 4, a bad row 5, a truncated JPEG
    6. airplane-1 is a protocol II test sequence; cat-2 is unpacked flat (<root>/cat-2/)."""
    root = str(tmp_path_factory.mktemp('LaSOT'))
    rng = np.random.RandomState(0)
    write_lasot(root, 'airplane-2', BOXES, SIZE, rng, full_occlusion=[0, 0, 1, 0, 1, 0, 0, 0],
                out_of_view=[0, 0, 0, 1, 1, 0, 0, 0], bad_rows={5: '28 26 20'}, image_defects={6: 'truncated_jpeg'})
    write_lasot(root, 'airplane-1', BOXES[:3], SIZE, rng)
    flat = str(tmp_path_factory.mktemp('flat'))
    write_lasot(flat, 'cat-2', BOXES[:2], SIZE, rng)
    os.rename(os.path.join(flat, 'cat', 'cat-2'), os.path.join(root, 'cat-2'))
    return root


def test_occlusion_flags_bad_rows_and_corrupt_frames(lasot_root, tmp_path):
    source = make_source('lasot', lasot_root)
    assert source.video_names() == ['airplane-2', 'cat-2']  # airplane-1 is a test sequence
    summary, tracks = curate(source, tmp_path)
    assert summary['videos']['failed'] == 0 and summary['tracks'] == 2
    assert summary['skipped'] == {'full_occlusion': 1, 'out_of_view': 2, 'bad_row': 1, 'unreadable_image': 1}
    assert summary['frames_kept'] == 3 + 2 and summary['frames_total'] == 8 + 2
    track = tracks[('airplane-2', '0')]
    assert track['frame_indices'] == [1, 2, 8]
    assert len(summary['problems']) == 1 and 'groundtruth.txt line 6: expected 4 values' in summary['problems'][0]
    assert any('00000007.jpg' in m and 'truncated' in m for m in summary['unreadable_images'])
    for key in tracks:
        assert_crops_show_target(tmp_path, tracks[key], OBJECT_COLORS[0])


def test_splits_and_errors(lasot_root, tmp_path):
    assert LaSOTSource(lasot_root, split='test').video_names() == ['airplane-1']
    assert LaSOTSource(lasot_root, split='all').video_names() == ['airplane-1', 'airplane-2', 'cat-2']
    assert sum(len(v) for v in LASOT_TEST_SEQUENCES.values()) == 280 and len(LASOT_TEST_SEQUENCES) == 70
    assert is_test_sequence('airplane-1') and not is_test_sequence('airplane-2') and not is_test_sequence('x')
    with pytest.raises(ValueError, match="split must be one of"):
        LaSOTSource(lasot_root, split='val')
    root = str(tmp_path / 'bad')
    write_lasot(root, 'bird-1', BOXES[:3], SIZE, np.random.RandomState(1))
    with open(os.path.join(root, 'bird', 'bird-1', 'out_of_view.txt'), 'w') as stream:
        stream.write('0,0\n')
    summary, _ = curate(LaSOTSource(root, split='all'), tmp_path / 'curated')
    assert 'out_of_view.txt has 2 labels for 3 frames' in summary['failed']['bird-1']
    with open(os.path.join(root, 'bird', 'bird-1', 'out_of_view.txt'), 'w') as stream:
        stream.write('0,x,1\n')
    with pytest.raises(ValueError, match="expected integer labels, found 'x'"):
        LaSOTSource(root, split='all').load_video('bird-1')
