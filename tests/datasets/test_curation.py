"""Tests of the curation core: crop geometry, boxes on pixels, skips and their counts, resume, the real otb-dev set."""

import os

import cv2
import numpy as np
import pytest

import configuration
import datasets.curation
from datasets.curation import crop_patch, curate_source, format_summary, tracks_of
from datasets.imdb import make_imdb, validate_imdb
from datasets.sources.base import Frame, SequenceSource, Track, Video
from datasets.sources.otb import OTBSource
from datasets.synthetic import generate_split
from tests.datasets.data_helpers import KEY_COLOR, assert_inside, key_pixels, keyed_generator_config, pixel_box
from utils.box_io import read_otb_boxes, write_otb_boxes
from utils.box_utils import iou_xywh
from utils.image_io import encode_jpeg
from utils.io_utils import read_json, write_json

CURATION = configuration.TRAIN_CONFIG['curation_config']


def textured(rng, height, width):
    """A grey-ish textured image (never near the key colour)."""
    image = cv2.resize(rng.randint(60, 200, (height // 8, width // 8, 1)).astype(np.uint8), (width, height))
    return np.repeat(image[..., None], 3, axis=2)


def test_crop_patch_follows_the_siamfc_formula():
    rng = np.random.RandomState(0)
    image = textured(rng, 240, 320)
    x, y, w, h = 100, 60, 40, 24
    image[y:y + h, x:x + w] = KEY_COLOR
    patch, box = crop_patch(image, [x, y, w, h], CURATION)
    assert patch.shape == (511, 511, 3) and patch.dtype == np.uint8
    p = 0.5 * (w + h)
    scale = 127. / np.sqrt((w + p) * (h + p))  # the patch covers s_z * 511 / 127 source pixels
    np.testing.assert_allclose(box, [255.5 - w * scale / 2, 255.5 - h * scale / 2, w * scale, h * scale],
                               atol=1e-9)
    target = key_pixels(patch)
    assert_inside(target, box, 1.0, 'patch')
    assert iou_xywh(pixel_box(target), box) > 0.9


def test_crop_patch_pads_with_the_mean_colour():
    rng = np.random.RandomState(1)
    image = textured(rng, 120, 160)
    patch, _ = crop_patch(image, [0, 0, 30, 30], CURATION)  # target in the corner: the patch leaves the image
    mean = image.reshape(-1, 3).mean(axis=0)
    np.testing.assert_allclose(patch[0, 0], mean, atol=1.0)
    np.testing.assert_allclose(patch[-1, -1], image[-1, -1], atol=60)  # inside the image: image content


def test_curated_patches_enclose_the_target_on_pixels(tmp_path):
    raw = str(tmp_path / 'raw')
    generate_split(raw, 'train', 2, 3, keyed_generator_config(), processes=1, progress=False)
    summary = curate_source(OTBSource(raw, name='keyed'), str(tmp_path / 'curated'), CURATION, processes=2,
                            progress=False)
    assert summary['videos'] == {'total': 2, 'curated': 2, 'existing': 0, 'failed': 0}
    assert summary['frames_kept'] == summary['frames_total'] and not summary['skipped']
    tracks = tracks_of([summary])
    imdb = validate_imdb(make_imdb(tracks, {'keyed': {'is_image_data': False}}, CURATION))
    assert imdb['num_frames'] == summary['frames_kept']
    for track in tracks:
        original = read_otb_boxes(os.path.join(raw, track['video'], 'groundtruth_rect.txt'))
        assert track['frame_indices'] == list(range(1, len(original) + 1))
        for key, box, index in zip(track['frame_keys'], track['boxes'], track['frame_indices']):
            patch = cv2.imread(os.path.join(str(tmp_path / 'curated'), key + '.jpg'))
            assert patch.shape == (511, 511, 3)
            target = key_pixels(patch)
            assert_inside(target, box, 2.0, key)
            np.testing.assert_allclose(np.array(box[:2]) + np.array(box[2:]) / 2, [255.5, 255.5], atol=2e-3)
            w, h = original[index - 1][2:]
            scale = 127. / np.sqrt((w + (w + h) / 2) * (h + (w + h) / 2))
            np.testing.assert_allclose(box[2:], [w * scale, h * scale], atol=2e-3)
        np.testing.assert_allclose(track['patch_scales'], [127. / np.sqrt((w + (w + h) / 2) * (h + (w + h) / 2))
                                                           for w, h in original[:, 2:]], rtol=1e-6)


def write_sequence(root, name, indices, gt_files, broken=None, rng=None):
    """An OTB-layout sequence: frames numbered `indices`, {suffix: boxes} ground truth, {index: bytes} broken."""
    rng = rng or np.random.RandomState(0)
    os.makedirs(os.path.join(root, name, 'img'))
    for index in indices:
        image = textured(rng, 120, 160)
        data = (broken or {}).get(index, encode_jpeg(image))
        with open(os.path.join(root, name, 'img', '%04d.jpg' % index), 'wb') as stream:
            stream.write(data)
    for suffix, boxes in gt_files.items():
        write_otb_boxes(os.path.join(root, name, 'groundtruth_rect%s.txt' % suffix), boxes)


@pytest.fixture
def messy_otb(tmp_path):
    """Three sequences: one with NaN/zero-size rows and corrupt/truncated JPEGs (frames 11-16), one whose ground
    truth has a row too few, and a Jogging-like one with two targets."""
    root = str(tmp_path / 'otb')
    good = encode_jpeg(textured(np.random.RandomState(5), 120, 160))
    boxes = [[10, 10, 30, 20], [np.nan] * 4, [12, 12, 0, 20], [14, 14, 30, 20], [15, 15, 30, 20], [16, 16, 30, 20]]
    write_sequence(root, 'seqA', range(11, 17), {'': boxes},
                   broken={14: b'this is not an image', 15: good[:len(good) // 2]})
    write_sequence(root, 'seqB', range(1, 5), {'': [[5, 5, 10, 10]] * 3})
    write_sequence(root, 'Jogging', range(1, 4), {'.1': [[5, 5, 20, 30]] * 3, '.2': [[60, 40, 25, 35]] * 3})
    return root


def test_skips_are_counted_and_named_and_bad_videos_do_not_stop_the_run(messy_otb, tmp_path):
    output = str(tmp_path / 'curated')
    summary = curate_source(OTBSource(messy_otb), output, CURATION, processes=2, progress=False)
    assert summary['videos'] == {'total': 3, 'curated': 2, 'existing': 0, 'failed': 1}
    assert list(summary['failed']) == ['seqB']
    assert '3 ground-truth rows for 4 images' in summary['failed']['seqB']
    assert summary['skipped'] == {'nan_box': 1, 'nonpositive_size': 1, 'unreadable_image': 2}
    assert summary['frames_total'] == 12 and summary['frames_kept'] == 8
    unreadable = sorted(summary['unreadable_images'])
    assert len(unreadable) == 2
    assert '0014.jpg' in unreadable[0] and '0015.jpg' in unreadable[1] and 'truncated' in unreadable[1]
    tracks = {(t['video'], t['track_id']): t for t in tracks_of([summary])}
    assert sorted(tracks) == [('Jogging', '1'), ('Jogging', '2'), ('seqA', '0')]
    assert tracks[('seqA', '0')]['frame_indices'] == [11, 16]  # original numbers, starting above 1
    assert tracks[('seqA', '0')]['frame_keys'] == ['otb/seqA/0/000011', 'otb/seqA/0/000016']
    assert all(os.path.isfile(os.path.join(output, k + '.jpg')) for t in tracks.values() for k in t['frame_keys'])
    text = format_summary(summary)
    assert 'FAILED video seqB' in text and 'nan_box' in text and '0014.jpg' in text


def test_resume_skips_finished_videos_and_cleans_partial_folders(messy_otb, tmp_path):
    output = str(tmp_path / 'curated')
    first = curate_source(OTBSource(messy_otb), output, CURATION, processes=1, progress=False)
    os.makedirs(os.path.join(output, 'otb', '.partial-seqA', '0'))
    second = curate_source(OTBSource(messy_otb), output, CURATION, processes=1, progress=False)
    assert second['videos'] == {'total': 3, 'curated': 0, 'existing': 2, 'failed': 1}
    assert not os.path.exists(os.path.join(output, 'otb', '.partial-seqA'))
    assert tracks_of([second]) == tracks_of([first]) and second['skipped'] == first['skipped']


def downgrade_record(output, video):
    """Turns a curated video's record into a version-1 record (no patch scales), as older code wrote it."""
    path = os.path.join(output, 'otb', video, 'video.json')
    record = read_json(path)
    del record['record_version']
    for track in record['tracks']:
        del track['patch_scales']
    write_json(path, record)


def test_older_records_are_upgraded_in_place_or_curated_again(messy_otb, tmp_path):
    output = str(tmp_path / 'curated')
    first = curate_source(OTBSource(messy_otb), output, CURATION, processes=1, progress=False)
    crops = {k: open(os.path.join(output, k + '.jpg'), 'rb').read() for t in tracks_of([first])
             for k in t['frame_keys']}
    for video in ('seqA', 'Jogging'):
        downgrade_record(output, video)
    upgraded = curate_source(OTBSource(messy_otb), output, CURATION, processes=1, progress=False)
    assert upgraded['videos'] == {'total': 3, 'curated': 0, 'existing': 2, 'failed': 1}
    assert upgraded['upgraded'] == 2 and '2 finished videos had records of an older version' in \
        format_summary(upgraded)
    assert tracks_of([upgraded]) == tracks_of([first])  # the scales recomputed from the annotations
    assert all(read_json(os.path.join(output, 'otb', v, 'video.json'))['record_version'] == 2
               for v in ('seqA', 'Jogging'))
    assert all(open(os.path.join(output, k + '.jpg'), 'rb').read() == data for k, data in crops.items())
    # An annotation whose aspect changed since: the recorded patch box no longer follows from it, so the video is
    # curated again (a patch box is centred and scaled to s_z = 127, so it pins the aspect only).
    downgrade_record(output, 'Jogging')
    write_otb_boxes(os.path.join(messy_otb, 'Jogging', 'groundtruth_rect.2.txt'), [[60, 40, 25, 45]] * 3)
    again = curate_source(OTBSource(messy_otb), output, CURATION, processes=1, progress=False)
    assert again['videos'] == {'total': 3, 'curated': 1, 'existing': 1, 'failed': 1} and again['upgraded'] == 0
    jogging = {t['track_id']: t for t in tracks_of([again]) if t['video'] == 'Jogging'}
    assert jogging['2']['boxes'] != [t for t in tracks_of([first]) if t['video'] == 'Jogging'][1]['boxes']


def test_a_killed_video_leaves_nothing_half_written(messy_otb, tmp_path, monkeypatch):
    output = str(tmp_path / 'curated')
    calls = []
    real_encode = datasets.curation.encode_jpeg

    def dying_encode(image, quality):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt('killed')
        return real_encode(image, quality)

    monkeypatch.setattr(datasets.curation, 'encode_jpeg', dying_encode)
    with pytest.raises(KeyboardInterrupt):
        curate_source(OTBSource(messy_otb), output, CURATION, processes=1, progress=False)
    assert os.listdir(os.path.join(output, 'otb')) == []  # neither the video nor its partial folder
    monkeypatch.setattr(datasets.curation, 'encode_jpeg', real_encode)
    resumed = curate_source(OTBSource(messy_otb), output, CURATION, processes=1, progress=False)
    fresh = curate_source(OTBSource(messy_otb), str(tmp_path / 'fresh'), CURATION, processes=1, progress=False)
    assert tracks_of([resumed]) == tracks_of([fresh])


def test_curates_the_real_otb_dev_sequences(otb_dev_dir, tmp_path):
    source = OTBSource(otb_dev_dir, name='otb-dev')
    summary = curate_source(source, str(tmp_path / 'curated'), CURATION, processes=2, progress=False)
    names = source.video_names()
    assert 'uav_group2_2' in names and summary['videos']['failed'] == 0
    expected_kept, expected_skips = 0, {}
    for name in names:  # independent count from the ground-truth files
        boxes = read_otb_boxes(os.path.join(otb_dev_dir, name, 'groundtruth_rect.txt'))
        nan = np.isnan(boxes).any(axis=1)
        nonpositive = ~nan & ((boxes[:, 2] <= 0) | (boxes[:, 3] <= 0))
        expected_kept += int(np.sum(~nan & ~nonpositive))
        for reason, count in (('nan_box', int(nan.sum())), ('nonpositive_size', int(nonpositive.sum()))):
            if count:
                expected_skips[reason] = expected_skips.get(reason, 0) + count
    assert expected_skips.get('nan_box', 0) >= 1  # uav_group2_2's NaN rows
    assert summary['skipped'] == expected_skips and summary['frames_kept'] == expected_kept
    group = [t for t in tracks_of([summary]) if t['video'] == 'uav_group2_2'][0]
    gt = read_otb_boxes(os.path.join(otb_dev_dir, 'uav_group2_2', 'groundtruth_rect.txt'))
    kept = [303 + i for i in range(len(gt)) if not np.isnan(gt[i]).any()]
    assert group['frame_indices'] == kept  # numbering starts at 303; NaN frames are left out
    box = np.array(group['boxes'][0])
    np.testing.assert_allclose(box[:2] + box[2:] / 2, [255.5, 255.5], atol=2e-3)


class FlaggedSource(SequenceSource):
    """A source that knows occluded / out-of-view frames and timestamps, as the LaSOT or YouTube-BB parsers will."""

    name = 'flagged'
    is_image_data = False

    def __init__(self, root):
        self.root = root

    def video_names(self):
        return ['clip']

    def load_video(self, name):
        path = os.path.join(self.root, 'frame.jpg')
        frames = [Frame(path, [10, 10, 30, 20], 0, 0.0, None),
                  Frame(os.path.join(self.root, 'never_read.jpg'), None, 30, 1.0, 'occluded'),
                  Frame(path, [12, 10, 30, 20], 60, 2.0, None),
                  Frame(path, [12, 10, 30, 20], 90, 3.0, 'out_of_view')]
        return Video(name, [Track('7', frames)])


class ImageSource(FlaggedSource):
    """Single-frame tracks of an image dataset."""

    name = 'images'
    is_image_data = True

    def load_video(self, name):
        path = os.path.join(self.root, 'frame.jpg')
        return Video(name, [Track(str(i), [Frame(path, [10 + i, 10, 30, 20], 1, None, None)]) for i in range(2)])


def test_source_flags_timestamps_and_image_tracks_reach_the_imdb(tmp_path):
    with open(str(tmp_path / 'frame.jpg'), 'wb') as stream:
        stream.write(encode_jpeg(textured(np.random.RandomState(2), 120, 160)))
    output = str(tmp_path / 'curated')
    flagged = curate_source(FlaggedSource(str(tmp_path)), output, CURATION, processes=1, progress=False)
    assert flagged['skipped'] == {'occluded': 1, 'out_of_view': 1} and flagged['frames_kept'] == 2
    images = curate_source(ImageSource(str(tmp_path)), output, CURATION, processes=2, progress=False)
    tracks = tracks_of([flagged, images])
    clip = [t for t in tracks if t['source'] == 'flagged'][0]
    assert clip['frame_indices'] == [0, 60] and clip['times'] == [0.0, 2.0] and not clip['is_image']
    assert clip['frame_keys'] == ['flagged/clip/7/000000', 'flagged/clip/7/000060']
    singles = [t for t in tracks if t['source'] == 'images']
    assert len(singles) == 2 and all(t['is_image'] and t['times'] is None for t in singles)
    imdb = validate_imdb(make_imdb(tracks, {'flagged': FlaggedSource('.').describe(),
                                            'images': ImageSource('.').describe()}, CURATION))
    assert imdb['sources']['images'] == {'name': 'images', 'is_image_data': True, 'num_videos': 1,
                                         'num_tracks': 2, 'num_frames': 2}
