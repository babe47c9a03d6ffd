"""Layout tests: benchmark sequences load with the right frame / ground-truth alignment, and bad ones fail clearly."""

import os

import numpy as np
import pytest

from datasets.benchmark_sequences import SequenceError, load_otb_folder, load_sequences, read_name_list
from tests.sequence_fixtures import write_images
from utils.box_io import write_otb_boxes


def numbered_boxes(numbers, offset=0.):
    """0-based boxes that encode their frame number in x (x = number - 1 + offset), so alignment is checkable."""
    numbers = np.asarray(numbers, dtype=np.float64)
    return np.stack([numbers - 1. + offset, numbers * 0. + 5., numbers * 0. + 20., numbers * 0. + 10.], axis=1)


def write_text(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w') as stream:
        stream.write(text)


def one_based_rows(boxes, separator):
    return ''.join(separator.join('%g' % v for v in (b[0] + 1, b[1] + 1, b[2], b[3])) + '\n' for b in boxes)


@pytest.fixture
def otb_root(tmp_path):
    """An OTB100-layout fixture: Jogging's two targets, Human4's empty .1 and its .2, David's 300-770 range,
    Tiger1's 5 omitted frames, BlurCar3's files starting at 0003, Board's 5-digit names and a plain sequence."""
    root = str(tmp_path / 'OTB100')
    # Jogging: 12 frames, target 1 comma-separated, target 2 tab-separated.
    write_images(os.path.join(root, 'Jogging', 'img'), range(1, 13), empty=True)
    write_text(os.path.join(root, 'Jogging', 'groundtruth_rect.1.txt'), one_based_rows(numbered_boxes(range(1, 13)),
                                                                                       ','))
    write_text(os.path.join(root, 'Jogging', 'groundtruth_rect.2.txt'),
               one_based_rows(numbered_boxes(range(1, 13), offset=1000.), '\t'))
    # Human4: the .1 file is empty in the OTB download, the .2 file is space-separated.
    write_images(os.path.join(root, 'Human4', 'img'), range(1, 9), empty=True)
    write_text(os.path.join(root, 'Human4', 'groundtruth_rect.1.txt'), '')
    write_text(os.path.join(root, 'Human4', 'groundtruth_rect.2.txt'), one_based_rows(numbered_boxes(range(1, 9)),
                                                                                      ' '))
    # David: 770 images, 471 rows annotating frames 300-770.
    write_images(os.path.join(root, 'David', 'img'), range(1, 771), empty=True)
    write_otb_boxes(os.path.join(root, 'David', 'groundtruth_rect.txt'), numbered_boxes(range(300, 771)))
    # Tiger1: 354 images and rows; the toolkit starts at frame 6.
    write_images(os.path.join(root, 'Tiger1', 'img'), range(1, 355), empty=True)
    write_otb_boxes(os.path.join(root, 'Tiger1', 'groundtruth_rect.txt'), numbered_boxes(range(1, 355)))
    # BlurCar3: files 0003-0359, one row each.
    write_images(os.path.join(root, 'BlurCar3', 'img'), range(3, 360), empty=True)
    write_otb_boxes(os.path.join(root, 'BlurCar3', 'groundtruth_rect.txt'), numbered_boxes(range(3, 360)))
    # Board: 5-digit names; its last row is (0, 0, 0, 0) in the download.
    write_images(os.path.join(root, 'Board', 'img'), range(1, 7), digits=5, empty=True)
    write_text(os.path.join(root, 'Board', 'groundtruth_rect.txt'),
               one_based_rows(numbered_boxes(range(1, 6)), ',') + '0,0,0,0\n')
    os.makedirs(os.path.join(root, 'anno'))  # unrelated folders are ignored
    return root


def test_otb_layout_alignment(otb_root):
    sequences = {s.name: s for s in load_sequences('otb', otb_root)}
    assert sorted(sequences) == ['BlurCar3', 'Board', 'David', 'Human4-2', 'Jogging-1', 'Jogging-2', 'Tiger1']
    for name, sequence in sequences.items():
        # Every image is paired with the row of its own frame number.
        numbers = [int(os.path.splitext(os.path.basename(p))[0]) for p in sequence.img_files]
        assert numbers == sequence.frame_numbers, name
        if name != 'Board':
            expected = np.array(numbers) - 1. + (1000. if name == 'Jogging-2' else 0.)
            np.testing.assert_array_equal(sequence.gt_boxes[:, 0], expected, err_msg=name)
    david = sequences['David']
    assert (len(david), david.frame_numbers[0], david.frame_numbers[-1]) == (471, 300, 770)
    assert david.img_files[0].endswith(os.path.join('David', 'img', '0300.jpg'))
    tiger = sequences['Tiger1']
    assert (len(tiger), tiger.frame_numbers[0], tiger.gt_boxes[0, 0]) == (349, 6, 5.)
    assert (len(sequences['BlurCar3']), sequences['BlurCar3'].frame_numbers[0]) == (357, 3)
    assert len(sequences['Human4-2']) == 8 and len(sequences['Jogging-1']) == 12
    np.testing.assert_array_equal(sequences['Board'].gt_boxes[-1], [-1., -1., 0., 0.])  # kept, scored as a failure
    assert sequences['Board'].img_files[0].endswith('00001.jpg')


def test_otb_subset_names_missing_sequences(otb_root):
    with pytest.raises(SequenceError, match=r'otb2013 needs 50 sequence folders .*Basketball, Bolt'):
        load_sequences('otb', otb_root, subset='otb2013')


def test_sequence_filter(otb_root):
    sequences = load_sequences('otb', otb_root, names=['Tiger1', 'Jogging-2'])
    assert [s.name for s in sequences] == ['Tiger1', 'Jogging-2']
    with pytest.raises(SequenceError, match=r"unknown sequence\(s\) Jogging; available: BlurCar3, Board"):
        load_sequences('otb', otb_root, names=['Jogging'])


def test_inconsistent_sequences_are_named(tmp_path):
    root = str(tmp_path)
    write_images(os.path.join(root, 'Basketball', 'img'), range(1, 11), empty=True)
    write_otb_boxes(os.path.join(root, 'Basketball', 'groundtruth_rect.txt'), numbered_boxes(range(1, 10)))
    with pytest.raises(SequenceError, match=r'sequence Basketball is inconsistent: 10 images in .* but 9 '
                                            r'ground-truth rows'):
        load_sequences('otb', root)


def test_incomplete_irregular_sequence_is_named(tmp_path):
    root = str(tmp_path)
    write_images(os.path.join(root, 'David', 'img'), list(range(1, 500)) + list(range(501, 771)), empty=True)
    write_otb_boxes(os.path.join(root, 'David', 'groundtruth_rect.txt'), numbered_boxes(range(300, 771)))
    with pytest.raises(SequenceError, match=r'sequence David is incomplete: .*300-770 .*first missing: 500'):
        load_sequences('otb', root)


def test_a_clip_named_like_an_irregular_otb_sequence_pairs_its_images_and_rows(tmp_path):
    """A cut of OTB100's David (frames 1-136, one row each) is not David's 300-770 evaluation range."""
    root = str(tmp_path)
    write_images(os.path.join(root, 'David', 'img'), range(1, 137), empty=True)
    write_otb_boxes(os.path.join(root, 'David', 'groundtruth_rect.txt'), numbered_boxes(range(1, 137)))
    david, = load_sequences('otb', root)
    assert len(david) == 136 and david.img_files[0].endswith(os.path.join('David', 'img', '0001.jpg'))
    np.testing.assert_array_equal(david.gt_boxes, numbered_boxes(range(1, 137)))


def test_invalid_first_box_and_missing_root(tmp_path):
    root = str(tmp_path)
    write_images(os.path.join(root, 'Seq', 'img'), range(1, 4), empty=True)
    write_text(os.path.join(root, 'Seq', 'groundtruth_rect.txt'), 'NaN,NaN,NaN,NaN\n1,1,5,5\n1,1,5,5\n')
    with pytest.raises(SequenceError, match='sequence Seq: the first ground-truth box'):
        load_sequences('otb', root)
    with pytest.raises(SequenceError, match='otb dataset folder .*nowhere does not exist'):
        load_sequences('otb', str(tmp_path / 'nowhere'))


def test_got10k_val_layout_in_list_order(tmp_path):
    val = tmp_path / 'GOT-10k' / 'val'
    for name, count in (('GOT-10k_Val_000002', 5), ('GOT-10k_Val_000001', 4)):
        write_images(str(val / name), range(1, count + 1), digits=8, empty=True)
        write_text(str(val / name / 'groundtruth.txt'),
                   one_based_rows(numbered_boxes(range(1, count + 1)), ','))
    write_text(str(val / 'list.txt'), 'GOT-10k_Val_000002\nGOT-10k_Val_000001\n')
    sequences = load_sequences('got10k', str(tmp_path / 'GOT-10k'))  # the parent of val/ works too
    assert [s.name for s in sequences] == ['GOT-10k_Val_000002', 'GOT-10k_Val_000001']
    np.testing.assert_array_equal(sequences[1].gt_boxes[:, 0], [0., 1., 2., 3.])  # 1-based file, 0-based boxes
    write_text(str(val / 'GOT-10k_Val_000001' / 'groundtruth.txt'), '1,1,5,5\n')
    with pytest.raises(SequenceError, match='GOT-10k_Val_000001: .* only the first-frame box'):
        load_sequences('got10k', str(val))


def test_vot_polygons_become_area_preserving_boxes(tmp_path):
    root = tmp_path / 'VOT2018'
    write_images(str(root / 'ants1' / 'color'), range(1, 4), digits=8, empty=True)
    write_text(str(root / 'ants1' / 'groundtruth.txt'),  # a rotated quadrilateral, an x,y,w,h row, an unlabelled row
               '10,20,30,22,28,40,8,38\n5.5,6,10,12\nnan,nan,nan,nan\n')
    write_images(str(root / 'ball'), range(1, 3), digits=8, empty=True)  # pre-2019: images beside the annotation
    write_text(str(root / 'ball' / 'groundtruth.txt'), '1,2,3,2,3,4,1,4\n\n')  # a blank row: unlabelled
    write_text(str(root / 'list.txt'), 'ants1\nball\n')
    ants, ball = load_sequences('vot', str(root))
    # pysot's get_axis_aligned_bbox by hand: centre (19, 30); bounds 22 x 20; sides sqrt(404), sqrt(328);
    # s = sqrt(sqrt(404 * 328) / 440); w = 22 s + 1, h = 20 s + 1; box = centre - (size - 1) / 2.
    scale = np.sqrt(np.sqrt(404. * 328.) / 440.)
    w, h = 22. * scale + 1., 20. * scale + 1.
    np.testing.assert_allclose(ants.gt_boxes[:2], [[19. - (w - 1.) / 2., 30. - (h - 1.) / 2., w, h],
                                                   [5.5, 6., 10., 12.]])  # VOT is 0-based
    assert np.isnan(ants.gt_boxes[2]).all() and len(ants.regions) == 3 and len(ants.regions[0]) == 8
    np.testing.assert_array_equal(ants.regions[1], [5.5, 6., 10., 12.])
    np.testing.assert_allclose(ball.gt_boxes[0], [1., 2., 3., 3.])  # VOT's corners x..x+w-1: the 3 x 3 pixels 1..3
    assert np.isnan(ball.gt_boxes[1]).all()
    assert ants.img_files[0].endswith(os.path.join('ants1', 'color', '00000001.jpg'))
    write_text(str(root / 'ball' / 'groundtruth.txt'), 'm1,2,3\n\n')
    with pytest.raises(ValueError, match='ball/groundtruth.txt line 1: mask regions are not supported'):
        load_sequences('vot', str(root))


def test_lasot_layout(tmp_path):
    root = tmp_path / 'LaSOT'
    for name, count in (('airplane-1', 3), ('bear-4', 2)):
        folder = root / name.split('-')[0] / name
        write_images(str(folder / 'img'), range(1, count + 1), digits=8, empty=True)
        write_text(str(folder / 'groundtruth.txt'), one_based_rows(numbered_boxes(range(1, count + 1)), ','))
    sequences = load_sequences('lasot', str(root))
    assert [(s.name, len(s)) for s in sequences] == [('airplane-1', 3), ('bear-4', 2)]
    np.testing.assert_array_equal(sequences[0].gt_boxes[:, 0], [0., 1., 2.])


def test_uav123_release_layout_with_subsequences_and_nan_rows(tmp_path):
    root = tmp_path / 'UAV123'
    write_images(str(root / 'data_seq' / 'UAV123_10fps' / 'group2'), range(1, 900), digits=6, empty=True)
    write_images(str(root / 'data_seq' / 'UAV123_10fps' / 'bike3'), range(1, 146), digits=6, empty=True)
    group = numbered_boxes(range(303, 592))
    group[[10, 11]] = np.nan
    write_otb_boxes(str(root / 'anno' / 'UAV123_10fps' / 'group2_2.txt'), group)
    write_otb_boxes(str(root / 'anno' / 'UAV123_10fps' / 'bike3.txt'), numbered_boxes(range(1, 146)))
    bike, group2 = load_sequences('uav', str(root), subset='UAV123_10fps')
    assert (bike.name, len(bike)) == ('bike3', 145)
    assert (group2.name, len(group2), group2.frame_numbers[0], group2.frame_numbers[-1]) == ('group2_2', 289, 303, 591)
    assert group2.img_files[0].endswith(os.path.join('group2', '000303.jpg'))
    assert np.isnan(group2.gt_boxes[10]).all() and group2.gt_boxes[12, 0] == 314.
    write_otb_boxes(str(root / 'anno' / 'UAV123_10fps' / 'group2_2.txt'), group[:-1])
    with pytest.raises(SequenceError, match=r'group2_2 is inconsistent: .* frames 303-591 \(289 frames\) .* 288 rows'):
        load_sequences('uav', str(root), subset='UAV123_10fps')


def test_unknown_dataset_or_subset():
    with pytest.raises(ValueError, match='unknown dataset'):
        load_sequences('trackingnet', '.')
    with pytest.raises(ValueError, match="dataset otb has no subset 'UAV123'"):
        load_sequences('otb', '.', subset='UAV123')


def test_read_name_list(tmp_path):
    path = tmp_path / 'testing_set.txt'
    path.write_text('airplane-1\n\n# comment\nbear-4  # trailing\n')
    assert read_name_list(str(path)) == ['airplane-1', 'bear-4']


def test_shared_otb_dev_sequences_load(otb_dev_dir):
    sequences = {s.name: s for s in load_sequences('otb', otb_dev_dir)}
    assert len(sequences) == 6 and sum(len(s) for s in sequences.values()) == 843
    group = sequences['uav_group2_2']
    assert (len(group), group.frame_numbers[0], group.frame_numbers[-1]) == (289, 303, 591)
    assert group.img_files[0].endswith('000303.jpg')
    assert int(np.isnan(group.gt_boxes).all(axis=1).sum()) == 5


def test_single_folder_numbering_above_one_and_missing_parts(tmp_path):
    folder = tmp_path / 'seq'
    (folder / 'img').mkdir(parents=True)
    for name in ('000304.jpg', '000303.jpg'):
        (folder / 'img' / name).write_bytes(b'')
    with pytest.raises(SequenceError, match='no groundtruth_rect.txt'):
        load_otb_folder(str(folder))
    (folder / 'groundtruth_rect.txt').write_text('11,21,5,6\n12,22,5,6\n')
    sequence, = load_otb_folder(str(folder))
    assert [os.path.basename(f) for f in sequence.img_files] == ['000303.jpg', '000304.jpg']
    assert sequence.frame_numbers == [303, 304]
    np.testing.assert_array_equal(sequence.gt_boxes[0], [10, 20, 5, 6])


def test_single_shared_otb_dev_folder(otb_dev_dir):
    sequence, = load_otb_folder(os.path.join(otb_dev_dir, 'uav_group2_2'))
    assert len(sequence) == 289 and sequence.img_files[0].endswith('000303.jpg')
    assert np.isnan(sequence.gt_boxes).any(axis=1).sum() > 0 and np.isfinite(sequence.gt_boxes[0]).all()
