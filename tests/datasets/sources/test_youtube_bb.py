"""Tests of the YouTube-BB parser: the detection CSVs plus frames decoded into <frames_dir>/<youtube_id>/<ms>.jpg."""

import os

import numpy as np
import pytest

from datasets.layout_samples import track_color, write_youtube_bb
from datasets.sources import make_source
from datasets.sources.youtube_bb import YouTubeBBSource, parse_row, scan_csv_files
from tests.datasets.sources.crop_checks import assert_crops_show_target, curate

SIZE = (120, 90)
A, B, C, D, E = 'AAAAAAAAAAA', '-BBBBBBBBBB', 'CCCCCCCCCCC', 'DDDDDDDDDDD', 'EEEEEEEEEEE'


def moving(start, count, x=20, y=20, w=18, h=14, absent=()):
    return [(start + 1000 * i, None if i in absent else [x + 4 * i, y + 2 * i, w, h]) for i in range(count)]


@pytest.fixture(scope='module')
def ytbb_root(tmp_path_factory):
    """Video A: track 0_0 at 1-5 s (absent at 3 s), track 5_1 at 2-4 s; the 4 s frame is corrupt, the 5 s frame was
    never decoded, one row is duplicated and two rows are broken. B is clean. C was never downloaded. In the
    validation CSV, D's rows are interleaved with those of E (never downloaded)."""
    root = str(tmp_path_factory.mktemp('youtube-bb'))
    rng = np.random.RandomState(0)
    track_a0 = moving(1000, 5, absent=(2,))
    track_a1 = moving(2000, 3, x=70, y=40, w=20, h=24)
    write_youtube_bb(root, 'yt_bb_detection_train.csv', {A: {(0, 0): track_a0, (5, 1): track_a1}}, SIZE, rng,
                     missing_frames=[(A, 5000)], image_defects={(A, 4000): 'corrupt_jpeg'},
                     extra_rows={A: ['%s,6000,0,dog,0,present,0.9,0.5,0.1,0.2' % A,
                                     '%s,soon,0,dog,0,present,0.1,0.2,0.1,0.2' % A]})
    with open(os.path.join(root, 'yt_bb_detection_train.csv')) as stream:
        lines = stream.read().splitlines()
    with open(os.path.join(root, 'yt_bb_detection_train.csv'), 'w') as stream:  # a duplicate of A's first row
        stream.write('\n'.join([lines[0]] + lines) + '\n')
    write_youtube_bb(root, 'yt_bb_detection_train.csv', {B: {(3, 0): moving(7000, 2)}}, SIZE, rng)
    write_youtube_bb(root, 'yt_bb_detection_train.csv', {C: {(0, 0): moving(1000, 2)}}, SIZE, rng,
                     missing_frames=[C])
    validation = os.path.join(root, 'yt_bb_detection_validation.csv')
    write_youtube_bb(root, 'yt_bb_detection_validation.csv', {D: {(1, 0): moving(1000, 3)}}, SIZE, rng)
    with open(validation) as stream:
        d_rows = stream.read().splitlines()
    e_row = '%s,1000,2,cat,0,present,0.1,0.3,0.1,0.3' % E
    with open(validation, 'w') as stream:
        stream.write('\n'.join([d_rows[0], e_row, d_rows[1], '', d_rows[2]]) + '\n')
    return root


def test_tracks_time_gaps_and_exact_skip_counts(ytbb_root, tmp_path):
    source = make_source('youtube_bb', ytbb_root)
    assert source.video_names() == [B, A, D]  # sorted; C and E have no frame folder
    assert source.describe()['videos_in_csv'] == 5 and source.describe()['videos_without_frames'] == 2
    summary, tracks = curate(source, tmp_path, processes=2)  # workers rebuild the CSV index themselves
    assert summary['videos'] == {'total': 3, 'curated': 3, 'existing': 0, 'failed': 0}
    assert summary['skipped'] == {'absent': 1, 'unreadable_image': 2, 'frame_missing': 1, 'bad_row': 2,
                                  'duplicate_row': 1}
    assert summary['tracks'] == 4 and summary['frames_kept'] == 2 + 2 + 2 + 3
    assert summary['frames_total'] == 9 + 7  # kept + skipped (bad and duplicate rows included)
    a0, a1 = tracks[(A, '0_0')], tracks[(A, '5_1')]
    assert a0['frame_indices'] == [30, 60] and a0['times'] == [1.0, 2.0]  # 1 s apart = 30 frames at 30 fps
    assert a1['frame_indices'] == [60, 90] and a1['times'] == [2.0, 3.0]
    assert tracks[(D, '1_0')]['frame_indices'] == [30, 60, 90]  # rows spread over two ranges of the CSV
    assert a0['frame_keys'] == ['youtube_bb/%s/0_0/000030' % A, 'youtube_bb/%s/0_0/000060' % A]
    problems = '\n'.join(summary['problems'])
    assert 'yt_bb_detection_train.csv line' in problems and 'is not within [0, 1]' in problems
    assert "must be integers, got 'soon'" in problems and 'a second row for track 0_0 at 1000 ms' in problems
    assert '%s/4000.jpg: truncated or corrupt JPEG header' % A in problems
    assert '1 annotated timestamps have no frame file (e.g. 5000 ms)' in problems
    for (video, track_id), track in tracks.items():
        position = sorted(t for v, t in tracks if v == video).index(track_id)
        assert_crops_show_target(tmp_path, track, track_color(position))


def test_options_frame_rate_missing_videos_and_frames_dir(ytbb_root, tmp_path):
    source = YouTubeBBSource(ytbb_root, fps=25, only_downloaded=False,
                             csv_files=[os.path.join(ytbb_root, 'yt_bb_detection_train.csv')])
    assert source.video_names() == [B, A, C]
    summary, tracks = curate(source, tmp_path)
    assert summary['skipped']['video_missing'] == 2
    assert tracks[(A, '0_0')]['frame_indices'] == [25, 50]
    with pytest.raises(ValueError, match='no YouTube-BB CSV in .*gunzip'):
        YouTubeBBSource(str(tmp_path))
    with pytest.raises(ValueError, match='frames folder not found'):
        YouTubeBBSource(ytbb_root, frames_dir=str(tmp_path / 'frames'))
    with pytest.raises(ValueError, match='fps must be positive'):
        YouTubeBBSource(ytbb_root, fps=0)


def test_csv_index_and_row_parser(tmp_path):
    path = str(tmp_path / 'x.csv')
    with open(path, 'w') as stream:
        stream.write('youtube_id,timestamp_ms,class_id,class_name,object_id,object_presence,xmin,xmax,ymin,ymax\n'
                     'a,0,1,dog,0,present,0,1,0,1\n\nb,0,1,dog,0,absent,-1,-1,-1,-1\na,1000,1,dog,0,present,0,1,0,1\n')
    index = scan_csv_files([path])
    assert sorted(index) == ['a', 'b']
    with open(path, 'rb') as stream:
        data = stream.read()
    assert [data[start:end] for _, start, end, _ in index['a']] == [b'a,0,1,dog,0,present,0,1,0,1\n',
                                                                      b'a,1000,1,dog,0,present,0,1,0,1\n']
    assert [line for _, _, _, line in index['a']] == [2, 5] and [line for _, _, _, line in index['b']] == [4]
    assert parse_row('a,5,1,dog,2,absent,-1,-1,-1,-1'.split(','), 'w') == {
        'timestamp_ms': 5, 'class_id': 1, 'object_id': 2, 'present': False, 'corners': None}
    assert parse_row('a,5,1,dog,2,present,0.1,0.5,0.2,0.6'.split(','), 'w')['corners'] == [0.1, 0.5, 0.2, 0.6]
    with pytest.raises(ValueError, match='w: expected 10 columns'):
        parse_row(['a', '5'], 'w')
    with pytest.raises(ValueError, match="object_presence must be present or absent, got 'maybe'"):
        parse_row('a,5,1,dog,2,maybe,0,1,0,1'.split(','), 'w')
