"""Pair sampling over an imdb: which template and search frames make up each training pair.

  * A positive pair takes both frames from one track, at most `max_frame_dist` (per-source overridable) apart in
    original frame numbers; delta_t = |index difference|. The search frame differs from the template frame whenever
    the track has another frame in range; 1-frame tracks (image datasets) pair a frame with itself (delta_t 0).
  * Kind: with probability `image_ratio` a pair comes from an image track (1-frame tracks of image datasets),
    otherwise from a video track; when only one kind exists, it is used for every pair.
  * Source: within the kind, a source is drawn with probability proportional to `source_weights` (default 1 each),
    then a track uniformly within the source, then a frame uniformly within the track.
  * Negative pairs (probability `negative_ratio`): the search frame comes from another track drawn the same way,
    so no anchor should fire (DaSiamRPN's distractor-aware training); delta_t is 0.
"""

import collections

import numpy as np

Pair = collections.namedtuple('Pair', ['template', 'search', 'delta_t', 'is_negative'])
Pair.__doc__ = """A sampled pair: `template` and `search` are (track number, frame position) into imdb['tracks']."""


class PairSampler(object):
    """Draws Pairs from an imdb according to a data config (see the module docstring)."""

    def __init__(self, imdb, data_config):
        """
        Args:
          imdb: a validated imdb dict (datasets/imdb.py).
          data_config: TRAIN_CONFIG['train_data_config'] or ['validation_data_config'].
        """
        self.imdb = imdb
        self.tracks = imdb['tracks']
        self.indices = [np.asarray(t['frame_indices'], np.int64) for t in self.tracks]
        self.negative_ratio = float(data_config['negative_ratio'])
        self.image_ratio = float(data_config['image_ratio'])
        if not 0. <= self.negative_ratio <= 1. or not 0. <= self.image_ratio <= 1.:
            raise ValueError('negative_ratio and image_ratio must lie in [0, 1], got %r and %r' % (
                self.negative_ratio, self.image_ratio))
        overrides = data_config.get('source_max_frame_dist') or {}
        self.max_frame_dist = [int(overrides.get(t['source'], data_config['max_frame_dist'])) for t in self.tracks]
        weights = data_config.get('source_weights') or {}
        unknown = sorted(set(weights) - set(imdb['sources']))
        if unknown:
            raise ValueError('source_weights names sources %s that the imdb lacks (it has %s)' % (
                unknown, sorted(imdb['sources'])))
        # kind ('video' / 'image') -> (source names, probabilities, {source: track numbers})
        self.kinds = {}
        for kind, is_image in (('video', False), ('image', True)):
            by_source = collections.OrderedDict()
            for number, track in enumerate(self.tracks):
                if bool(track['is_image']) == is_image:
                    by_source.setdefault(track['source'], []).append(number)
            if not by_source:
                continue
            names = list(by_source)
            p = np.array([float(weights.get(name, 1.)) for name in names])
            if np.any(p < 0) or p.sum() <= 0:
                raise ValueError('source_weights of the %s sources %s must be >= 0 with a positive sum, got %s' % (
                    kind, names, p.tolist()))
            self.kinds[kind] = (names, p / p.sum(), {n: np.asarray(v) for n, v in by_source.items()})
        if not self.kinds:
            raise ValueError('the imdb has no tracks to sample from')
        if self.negative_ratio > 0 and len(self.tracks) < 2:
            raise ValueError('negative pairs need at least two tracks; the imdb has one (set negative_ratio 0)')

    def _kind(self, rng):
        if len(self.kinds) == 1:
            return next(iter(self.kinds))
        return 'image' if rng.random_sample() < self.image_ratio else 'video'

    def sample_track(self, rng):
        """A track number drawn by kind, source weight, then uniformly."""
        names, p, by_source = self.kinds[self._kind(rng)]
        tracks = by_source[names[rng.choice(len(names), p=p)] if len(names) > 1 else names[0]]
        return int(tracks[rng.randint(len(tracks))])

    def sample(self, rng):
        """Draws one Pair with the numpy RandomState `rng`."""
        track = self.sample_track(rng)
        indices = self.indices[track]
        position = rng.randint(len(indices))
        if rng.random_sample() < self.negative_ratio:
            other = self.sample_track(rng)
            for _ in range(16):
                if other != track:
                    break
                other = self.sample_track(rng)
            if other == track:  # the drawn kind/source has a single track: any other track will do
                other = (track + 1 + rng.randint(len(self.tracks) - 1)) % len(self.tracks)
            return Pair((track, position), (other, rng.randint(len(self.indices[other]))), 0., True)
        distance = self.max_frame_dist[track]
        low = np.searchsorted(indices, indices[position] - distance, side='left')
        high = np.searchsorted(indices, indices[position] + distance, side='right')
        if high - low > 1:
            search = low + rng.randint(high - low - 1)
            search += search >= position  # skip the template frame itself
        else:
            search = position
        return Pair((track, position), (track, int(search)), float(abs(indices[search] - indices[position])), False)
