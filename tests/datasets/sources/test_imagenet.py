"""Tests of the ImageNet VID 2015 and DET 2014 parsers on fixtures in the ILSVRC release layouts."""

import os

import numpy as np
import pytest

from datasets.layout_samples import OBJECT_COLORS, ilsvrc_xml, track_color, write_imagenet_det, write_imagenet_vid
from datasets.sources import SOURCES, make_source
from datasets.sources.imagenet import AnnotationFileError, ImageNetDETSource, ImageNetVIDSource, parse_annotation
from tests.datasets.sources.crop_checks import assert_crops_show_target, curate, expected_patch_size

SIZE = (96, 80)
TRAIN_SNIPPET = 'ILSVRC2015_VID_train_0000/ILSVRC2015_train_00000000'
VAL_SNIPPET = 'ILSVRC2015_val_00000000'


def t0(x, y, **flags):
    return dict({'trackid': 0, 'box': [x, y, 16, 12]}, **flags)


def t1(x, y):
    return {'trackid': 1, 'box': [x, y, 14, 18]}


@pytest.fixture(scope='module')
def vid_root(tmp_path_factory):
    """A train snippet with every defect and a val snippet with a broken XML (see the expectations below)."""
    root = str(tmp_path_factory.mktemp('ILSVRC2015'))
    rng = np.random.RandomState(0)
    frames = [
        [t0(20, 20), t1(60, 40)],                         # 0
        [t0(22, 21, occluded=True), t1(61, 41)],          # 1 occluded flag (kept by default)
        [t0(24, 22), t1(61, 41)],                         # 2 empty XML
        [t1(62, 42)],                                     # 3 target 0 absent
        [t0(25, 22), t1(62, 42)],                         # 4 XML missing
        [t0(26, 23), t1(63, 43)],                         # 5 corrupt JPEG
        [t0(27, 24, generated=True), {'trackid': 2, 'raw': '<xmin>oops</xmin>'}],  # 6 interpolated + broken object
    ]
    write_imagenet_vid(root, 'train', TRAIN_SNIPPET, frames, SIZE, rng,
                       defects={2: 'empty_xml', 4: 'missing_xml', 5: 'corrupt_jpeg'})
    val = [[{'trackid': 5, 'box': [30, 30, 20, 16]}]] * 3
    write_imagenet_vid(root, 'val', VAL_SNIPPET, val, SIZE, rng, defects={1: 'bad_xml'})
    return root


def test_vid_tracks_frames_and_exact_skip_counts(vid_root, tmp_path):
    source = make_source('imagenet_vid', vid_root, name='vid2015')
    assert source.subsets == ('train', 'val')
    assert source.video_names() == ['train/' + TRAIN_SNIPPET, 'val/' + VAL_SNIPPET]
    summary, tracks = curate(source, tmp_path)
    assert summary['videos'] == {'total': 2, 'curated': 2, 'existing': 0, 'failed': 0}
    assert summary['skipped'] == {'empty_xml': 1, 'missing_xml': 1, 'bad_xml': 1, 'bad_object': 1,
                                  'unreadable_image': 2}
    assert summary['tracks'] == 3 and summary['frames_kept'] == 8 and summary['frames_total'] == 14
    train = 'train/' + TRAIN_SNIPPET
    assert sorted(tracks) == [(train, '0'), (train, '1'), ('val/' + VAL_SNIPPET, '5')]
    assert tracks[(train, '0')]['frame_indices'] == [0, 1, 6]  # frames numbered from 0; gaps are kept as delta-t
    assert tracks[(train, '1')]['frame_indices'] == [0, 1, 3]
    assert tracks[('val/' + VAL_SNIPPET, '5')]['frame_indices'] == [0, 2]
    assert tracks[(train, '0')]['frame_keys'][0] == 'vid2015/%s/0/000000' % train
    assert all(t['times'] is None and not t['is_image'] for t in tracks.values())
    problems = '\n'.join(summary['problems'])
    for name in ('000002.xml: empty annotation file', '000004.JPEG has no annotation', 'object 1: <xmin> is',
                 'val/%s/000001.xml: not valid XML' % VAL_SNIPPET):
        assert name in problems
    assert any('000005.JPEG' in m for m in summary['unreadable_images'])
    for (video, track_id), track in tracks.items():
        assert_crops_show_target(tmp_path, track, track_color(track_id))
    np.testing.assert_allclose(np.array(tracks[(train, '0')]['boxes'])[:, 2:], [expected_patch_size(16, 12)] * 3,
                               atol=2e-3)  # w = xmax - xmin + 1


def test_vid_occluded_and_generated_flags_can_be_skipped(vid_root, tmp_path):
    source = ImageNetVIDSource(vid_root, subsets=['train'], skip_occluded=True, skip_generated=True)
    summary, tracks = curate(source, tmp_path)
    assert summary['skipped']['occluded'] == 1 and summary['skipped']['generated'] == 1
    assert tracks[('train/' + TRAIN_SNIPPET, '0')]['frame_indices'] == [0]
    assert source.describe()['subsets'] == ['train']


def test_vid_resume_and_missing_split(vid_root, tmp_path):
    source = ImageNetVIDSource(vid_root)
    first, _ = curate(source, tmp_path, processes=2)
    again, _ = curate(source, tmp_path, processes=2)
    assert again['videos']['existing'] == 2 and again['skipped'] == first['skipped']
    assert again['problems'] == first['problems']
    with pytest.raises(ValueError, match='ImageNet VID not found .*Data/VID/<subset>'):
        ImageNetVIDSource(str(tmp_path / 'nothing'))
    os.makedirs(str(tmp_path / 'only' / 'Data' / 'VID' / 'train'))
    with pytest.raises(ValueError, match='ImageNet VID val split not found'):
        ImageNetVIDSource(str(tmp_path / 'only'), subsets=['train', 'val'])
    with pytest.raises(ValueError, match="subsets are train and val, got 'test'"):
        ImageNetVIDSource(str(tmp_path / 'only'), subsets=['test'])


def test_parse_annotation_conventions(tmp_path):
    path = str(tmp_path / 'a.xml')
    with open(path, 'w') as stream:
        stream.write(ilsvrc_xml('f', '000000', 100, 80, [{'trackid': 3, 'box': [10, 20, 5, 7], 'occluded': True}],
                                with_trackid=True))
    objects, bad = parse_annotation(path)
    assert bad == [] and objects == [{'trackid': '3', 'name': 'n02084071', 'box': [10., 20., 5., 7.],
                                      'occluded': True, 'generated': False}]
    with open(path, 'w') as stream:
        stream.write('<annotation><object><trackid>x</trackid><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>2</xmax>'
                     '<ymax>2</ymax></bndbox></object></annotation>')
    assert parse_annotation(path)[1] == ["%s: object 0: <trackid> is 'x', expected an integer" % path]
    with open(path, 'w') as stream:
        stream.write('  \n')
    with pytest.raises(AnnotationFileError) as error:
        parse_annotation(path)
    assert error.value.reason == 'empty_xml'


@pytest.fixture(scope='module')
def det_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('ILSVRC'))
    rng = np.random.RandomState(1)
    write_imagenet_det(root, 'train', 'ILSVRC2013_train/n01443537/n01443537_1',
                       [{'box': [10, 12, 18, 14]}, {'box': [50, 40, 20, 22]}], SIZE, rng)
    prefix = 'ILSVRC2014_train_0000/ILSVRC2014_train_0000000'
    write_imagenet_det(root, 'train', prefix + '1', [{'box': [30, 30, 16, 16]}], SIZE, rng, defect='corrupt_jpeg')
    write_imagenet_det(root, 'train', prefix + '2', [{'box': [30, 30, 16, 16]}], SIZE, rng, defect='empty_xml')
    write_imagenet_det(root, 'train', prefix + '3', [], SIZE, rng)  # a negative image: no object
    write_imagenet_det(root, 'train', prefix + '4', [{'box': [40, 20, 24, 20]}, {'raw': '<xmin>1</xmin>'}], SIZE,
                       rng)
    write_imagenet_det(root, 'train', prefix + '5', [{'box': [30, 30, 16, 16]}], SIZE, rng, defect='missing_jpeg')
    write_imagenet_det(root, 'val', 'ILSVRC2012_val_00000001', [{'box': [30, 30, 16, 16]}], SIZE, rng,
                       defect='bad_xml')
    return root


def test_det_objects_are_one_frame_image_tracks(det_root, tmp_path):
    source = make_source('imagenet_det', det_root, name='det2014')
    assert source.is_image_data and source.subsets == ('train', 'val')
    names = source.video_names()
    assert len(names) == 7 and names[0] == 'train/ILSVRC2013_train/n01443537/n01443537_1'
    summary, tracks = curate(source, tmp_path, processes=2)
    assert summary['videos'] == {'total': 7, 'curated': 7, 'existing': 0, 'failed': 0}
    assert summary['skipped'] == {'unreadable_image': 2, 'empty_xml': 1, 'no_objects': 1, 'bad_object': 1,
                                  'bad_xml': 1}
    assert summary['tracks'] == 3 and summary['frames_kept'] == 3 and summary['frames_total'] == 9
    first = 'train/ILSVRC2013_train/n01443537/n01443537_1'
    assert sorted(tracks) == [(first, '0'), (first, '1'), ('train/ILSVRC2014_train_0000/ILSVRC2014_train_00000004',
                                                           '0')]
    for (video, track_id), track in tracks.items():
        assert track['is_image'] and track['frame_indices'] == [0] and len(track['frame_keys']) == 1
        assert_crops_show_target(tmp_path, track, OBJECT_COLORS[int(track_id)])
    unreadable = ' '.join(summary['unreadable_images'])
    assert 'ILSVRC2014_train_00000001.JPEG' in unreadable and 'ILSVRC2014_train_00000005.JPEG' in unreadable
    assert any('ILSVRC2012_val_00000001.xml: not valid XML' in m for m in summary['problems'])


def test_det_reads_the_ilsvrc2014_download_folders(tmp_path):
    root = str(tmp_path / 'ILSVRC2014')
    rng = np.random.RandomState(2)
    write_imagenet_det(root, 'train', 'n01443537/n01443537_7', [{'box': [20, 20, 20, 18]}], SIZE, rng,
                       packaging='ilsvrc2014')
    source = ImageNetDETSource(root, subsets=['train'])
    assert source.folders['train'][1].endswith('ILSVRC2014_DET_bbox_train')
    summary, tracks = curate(source, tmp_path / 'curated')
    assert summary['frames_kept'] == 1
    assert_crops_show_target(tmp_path / 'curated', tracks[('train/n01443537/n01443537_7', '0')], OBJECT_COLORS[0])
    with pytest.raises(ValueError, match='ImageNet DET val split not found'):
        ImageNetDETSource(root, subsets=['val'])
    assert SOURCES['imagenet_det'] is ImageNetDETSource
