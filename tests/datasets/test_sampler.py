"""Tests of pair sampling: frame distance, delta-t, image/video ratio, negative ratio, source weights."""

import collections

import numpy as np
import pytest

import configuration
from datasets.imdb import frame_key, make_imdb
from datasets.sampler import PairSampler

CURATION = configuration.TRAIN_CONFIG['curation_config']


def track(source, video, indices, is_image=False):
    return {'source': source, 'video': video, 'track_id': '0', 'is_image': is_image,
            'frame_keys': [frame_key(source, video, '0', i) for i in indices], 'frame_indices': list(indices),
            'times': None, 'boxes': [[200., 200., 100., 100.]] * len(indices)}


def mixed_imdb():
    """Two video sources (one with sparse, YouTube-BB-like frame numbers) and one image source."""
    rng = np.random.RandomState(0)
    tracks = [track('vid', 'v%d' % i, sorted(rng.choice(np.arange(1, 400), 60, replace=False))) for i in range(6)]
    tracks += [track('ytb', 'y%d' % i, list(range(0, 300, 30))) for i in range(3)]
    tracks += [track('det', 'd%d' % i, [1], is_image=True) for i in range(20)]
    sources = {'vid': {'is_image_data': False}, 'ytb': {'is_image_data': False}, 'det': {'is_image_data': True}}
    return make_imdb(tracks, sources, CURATION)


def data_config(**overrides):
    config = dict(configuration.TRAIN_CONFIG['train_data_config'])
    config.update(overrides)
    return config


def draw(sampler, count, seed=0):
    rng = np.random.RandomState(seed)
    return [sampler.sample(rng) for _ in range(count)]


def test_positive_pairs_respect_the_frame_distance():
    imdb = mixed_imdb()
    sampler = PairSampler(imdb, data_config(max_frame_dist=20, negative_ratio=0., image_ratio=0.,
                                            source_max_frame_dist={'ytb': 60}))
    pairs = draw(sampler, 5000)
    for pair in pairs:
        (track_z, z), (track_x, x) = pair.template, pair.search
        assert track_z == track_x and not pair.is_negative
        indices = imdb['tracks'][track_z]['frame_indices']
        assert pair.delta_t == abs(indices[x] - indices[z])
        limit = 60 if imdb['tracks'][track_z]['source'] == 'ytb' else 20
        assert pair.delta_t <= limit
        in_range = [i for i in indices if abs(i - indices[z]) <= limit]
        if len(in_range) > 1:
            assert x != z  # a different frame whenever one is in range
    ytb = [p.delta_t for p in pairs if imdb['tracks'][p.template[0]]['source'] == 'ytb']
    assert set(ytb) == {30., 60.}  # the override reaches two annotations away (the default, 20, would reach none)
    assert max(p.delta_t for p in pairs if imdb['tracks'][p.template[0]]['source'] == 'vid') == 20


def test_ratios_match_the_configuration():
    imdb = mixed_imdb()
    sampler = PairSampler(imdb, data_config(image_ratio=0.3, negative_ratio=0.25))
    pairs = draw(sampler, 20000, seed=1)
    negatives = [p for p in pairs if p.is_negative]
    assert abs(len(negatives) / len(pairs) - 0.25) < 0.015
    for pair in negatives:
        assert pair.template[0] != pair.search[0] and pair.delta_t == 0
    image = [imdb['tracks'][p.template[0]]['is_image'] for p in pairs]
    assert abs(np.mean(image) - 0.3) < 0.015
    for pair in pairs:
        if imdb['tracks'][pair.template[0]]['is_image'] and not pair.is_negative:
            assert pair.search == pair.template and pair.delta_t == 0


def test_source_weights_balance_sources_within_a_kind():
    imdb = mixed_imdb()
    sampler = PairSampler(imdb, data_config(image_ratio=0., negative_ratio=0., source_weights={'vid': 1, 'ytb': 3}))
    counts = collections.Counter(imdb['tracks'][p.template[0]]['source'] for p in draw(sampler, 8000, seed=2))
    assert abs(counts['ytb'] / 8000. - 0.75) < 0.02 and counts['det'] == 0
    uniform = PairSampler(imdb, data_config(image_ratio=0., negative_ratio=0.))
    counts = collections.Counter(imdb['tracks'][p.template[0]]['source'] for p in draw(uniform, 8000, seed=3))
    assert abs(counts['ytb'] / 8000. - 0.5) < 0.02  # default weight 1 per source, not per track


def test_only_one_kind_present_uses_it_for_every_pair():
    imdb = mixed_imdb()
    imdb['tracks'] = [t for t in imdb['tracks'] if not t['is_image']]
    sampler = PairSampler(imdb, data_config(image_ratio=0.9, negative_ratio=0.))
    assert all(not imdb['tracks'][p.template[0]]['is_image'] for p in draw(sampler, 500))


def test_bad_settings_are_refused():
    imdb = mixed_imdb()
    with pytest.raises(ValueError, match=r"source_weights names sources \['lasot'\]"):
        PairSampler(imdb, data_config(source_weights={'lasot': 2.}))
    with pytest.raises(ValueError, match='must lie in'):
        PairSampler(imdb, data_config(negative_ratio=1.5))
    imdb['tracks'] = imdb['tracks'][:1]
    with pytest.raises(ValueError, match='at least two tracks'):
        PairSampler(imdb, data_config(negative_ratio=0.2))
