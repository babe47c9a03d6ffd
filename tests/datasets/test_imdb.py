"""Tests of the JSON imdb: schema validation with clear errors, save/load, split by video, no code execution."""

import json
import pickle

import pytest

import configuration
from datasets.imdb import frame_key, imdb_keys, load_imdb, make_imdb, save_imdb, split_imdb, validate_imdb

CURATION = configuration.TRAIN_CONFIG['curation_config']


def track(source, video, track_id='0', frames=3, is_image=False, first=1):
    indices = list(range(first, first + frames))
    return {'source': source, 'video': video, 'track_id': track_id, 'is_image': is_image,
            'frame_keys': [frame_key(source, video, track_id, i) for i in indices], 'frame_indices': indices,
            'times': None, 'boxes': [[200., 210., 111., 91.]] * frames}


def sample_imdb():
    tracks = [track('vid', 'v%d' % i, frames=4) for i in range(8)] + [track('vid', 'v0', '1', frames=2)] + \
        [track('det', 'img%d' % i, frames=1, is_image=True) for i in range(4)]
    return make_imdb(tracks, {'vid': {'is_image_data': False}, 'det': {'is_image_data': True}}, CURATION)


def test_make_imdb_counts_and_keys():
    imdb = validate_imdb(sample_imdb())
    assert (imdb['num_videos'], imdb['num_tracks'], imdb['num_frames']) == (12, 13, 38)
    assert imdb['sources']['vid'] == {'is_image_data': False, 'num_videos': 8, 'num_tracks': 9, 'num_frames': 34}
    assert imdb['sources']['det']['num_frames'] == 4
    assert imdb_keys(imdb)[0] == 'vid/v0/0/000001' and len(imdb_keys(imdb)) == 38
    assert (imdb['patch_size'], imdb['exemplar_size'], imdb['context_amount']) == (511, 127, 0.5)


def test_save_and_load_round_trip_as_plain_json(tmp_path):
    path = str(tmp_path / 'imdb.json')
    save_imdb(path, sample_imdb())
    with open(path) as stream:
        assert json.load(stream) == sample_imdb()
    assert load_imdb(path) == sample_imdb()


def test_loading_never_unpickles(tmp_path):
    path = str(tmp_path / 'imdb.pickle')
    with open(path, 'wb') as stream:
        pickle.dump(sample_imdb(), stream)
    with pytest.raises(ValueError, match='is not valid JSON'):
        load_imdb(path)


@pytest.mark.parametrize('change, message', [
    (lambda imdb: imdb.update(tracks=[]), 'is empty'),
    (lambda imdb: imdb.update(format='pickle'), 'not a SiamRPN-TF imdb'),
    (lambda imdb: imdb.update(version=7), 'version 7'),
    (lambda imdb: imdb['tracks'][0]['boxes'].pop(), 'differ in length'),
    (lambda imdb: imdb['tracks'][0].update(boxes=[[1, 2, 0, 4]] * 4), 'w, h > 0'),
    (lambda imdb: imdb['tracks'][0].update(frame_indices=[1, 1, 2, 3]), 'increase strictly'),
    (lambda imdb: imdb['tracks'][0].update(source='lasot'), "source 'lasot'"),
    (lambda imdb: imdb['tracks'][0].pop('is_image'), 'is_image'),
])
def test_validation_names_the_problem(change, message, tmp_path):
    imdb = sample_imdb()
    change(imdb)
    path = str(tmp_path / 'bad.json')
    with open(path, 'w') as stream:
        json.dump(imdb, stream)
    with pytest.raises(ValueError, match=message) as error:
        load_imdb(path)
    assert path in str(error.value)


def test_missing_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match='nothing.json'):
        load_imdb(str(tmp_path / 'nothing.json'))


def test_split_by_video_is_disjoint_deterministic_and_complete():
    imdb = sample_imdb()
    train, validation = split_imdb(imdb, 0.25, seed=3)
    again = split_imdb(imdb, 0.25, seed=3)
    assert (train, validation) == again
    videos = lambda part: {(t['source'], t['video']) for t in part['tracks']}  # noqa: E731
    assert not videos(train) & videos(validation)
    assert len(videos(validation)) == 3 and len(videos(train)) == 9  # round(0.25 * 12)
    assert train['num_tracks'] + validation['num_tracks'] == imdb['num_tracks']
    assert sorted(imdb_keys(train) + imdb_keys(validation)) == sorted(imdb_keys(imdb))
    for part in (train, validation):
        validate_imdb(part)
    assert split_imdb(imdb, 0.0)[1]['tracks'] == []


def test_split_sends_held_out_videos_to_validation_and_splits_the_rest_by_ratio():
    imdb = sample_imdb()
    videos = sorted({t['video'] for t in imdb['tracks']})
    held = videos[:2]
    train, validation = split_imdb(imdb, 0.0, held_out=held)
    assert {t['video'] for t in validation['tracks']} == set(held)
    assert {t['video'] for t in train['tracks']} == set(videos[2:])
    train, validation = split_imdb(imdb, 0.25, seed=3, held_out=held)
    names = {t['video'] for t in validation['tracks']}
    assert set(held) <= names and len(names) == 2 + int(round(0.25 * (len(videos) - 2)))
    assert sorted(imdb_keys(train) + imdb_keys(validation)) == sorted(imdb_keys(imdb))
