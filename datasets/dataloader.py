"""Queue-based reader: imdb + LMDB -> sampled, augmented pairs -> TF1 queue -> the batch dict SiameseModel takes.

  loader = DataLoader(train_config['train_data_config'], train_config['augmentation_config'], is_training=True)
  loader.build()                     # queue, enqueue op, QueueRunner (in tf.GraphKeys.QUEUE_RUNNERS), summaries
  batch = loader.get_one_batch()     # dict of batch tensors, below
  ...
  coord = tf.train.Coordinator()
  threads = tf.train.start_queue_runners(sess=sess, coord=coord)   # MonitoredTrainingSession does this itself
  ...
  coord.request_stop(); coord.join(threads)

Design. `prefetch_threads` Python threads (a `PythonFeedingQueueRunner`, so the standard QueueRunner/Coordinator
machinery starts and stops them) each loop: sample a pair (datasets/sampler.py), read both crops from the LMDB,
decode and augment them with OpenCV (datasets/augmentation.py), and enqueue the uint8 images through a fed enqueue
op into a FIFOQueue (or RandomShuffleQueue). OpenCV and the blocking enqueue release the GIL, so the threads run
in parallel. The graph dequeues `batch_size` pairs, casts to float32, and applies mixup.
Measured (benchmarks/bench_reader.py, docs/data.md "Data path"; 2 cores): OpenCV in the threads gives ~390 pairs/s
with one thread and ~500 with two (batch 8 or 32); decoding and augmenting with TF ops after a queue of JPEG bytes
gives ~210-255. So augmentation runs in the threads. A full-width training step consumes ~3.7 pairs/s.

Batch dict (get_one_batch), B = batch_size:
  'exemplar'     [B, 127, 127, 3] float32 BGR in [0, 255]
  'instance'     [B, 255, 255, 3] float32 BGR in [0, 255]
  'instance_box' [B, 4] float32 cx,cy,w,h, 0-based continuous instance pixels (centre 127.5); for negative pairs
                 the search frame's own target. It is the box the tracker decodes into the frame box: the pixels
                 show the target half a source pixel right of and below it, as the tracker's crops do
                 (datasets/augmentation.py; the imdb's per-frame patch_scales give the source pixel size)
  'delta_t'      [B] float32 |frame index difference| (0 for negative pairs and 1-frame tracks)
  'mixup_weight' [B] float32 in (0, 1]: mixup lambda of mixed pairs, 1 otherwise
  'is_negative'  [B] bool, template and search from different tracks

Scalar tensors for TensorBoard (`loader.stats`; build() also writes them as summaries named
'<name>/corrupt_records', '<name>/skipped_pairs', '<name>/queue_fill_fraction', name 'train_data' or
'validation_data'):
  'corrupt_records'     int64 distinct LMDB records found missing or undecodable so far (each logged once)
  'skipped_pairs'       int64 sampled pairs dropped because of such records (the thread samples another)
  'queue_size'          int32 pairs waiting in the queue
  'queue_fill_fraction' float32 queue_size / prefetch_capacity
"""

import logging
import threading
import weakref

import numpy as np
import tensorflow as tf

from datasets.augmentation import PairAugmenter
from datasets.imdb import load_imdb
from datasets.lmdb_store import LmdbStore
from datasets.sampler import PairSampler
from utils.image_io import ImageDecodeError, decode_image

MAX_CONSECUTIVE_FAILURES = 1000
COMPONENTS = ('exemplar', 'instance', 'instance_box', 'delta_t', 'is_negative')


class CorruptRecord(Exception):
    """A missing or undecodable LMDB record."""


class PythonFeedingQueueRunner(tf.train.QueueRunner):
    """A QueueRunner whose threads each call a Python producer and enqueue its output through fed placeholders.

    Registered with tf.train.add_queue_runner, it is started by tf.train.start_queue_runners (or a
    MonitoredTrainingSession) and stopped by its Coordinator, which closes the queue and cancels pending enqueues.
    """

    def __init__(self, queue, enqueue_op, placeholders, make_producer, num_threads):
        """
        Args:
          queue: the queue the enqueue op feeds.
          enqueue_op: an enqueue op whose inputs are `placeholders`.
          placeholders: placeholders in the order of the producer's output.
          make_producer: callable(thread index) -> producer; producer() -> list of arrays for the placeholders.
          num_threads: reader threads per session.
        """
        super(PythonFeedingQueueRunner, self).__init__(queue=queue, enqueue_ops=[enqueue_op] * num_threads)
        self._placeholders = list(placeholders)
        self._make_producer = make_producer
        self._thread_numbers = weakref.WeakKeyDictionary()  # session -> threads started so far

    def create_threads(self, sess, coord=None, daemon=False, start=False):
        with self._lock:
            self._thread_numbers[sess] = 0
        return super(PythonFeedingQueueRunner, self).create_threads(sess, coord, daemon, start)

    def _run(self, sess, enqueue_op, coord=None):
        """Thread body: produce, enqueue, until the coordinator stops or the queue closes."""
        decremented = False
        try:
            with self._lock:
                number = self._thread_numbers.get(sess, 0)
                self._thread_numbers[sess] = number + 1
            produce = self._make_producer(number)
            enqueue = sess.make_callable(enqueue_op, feed_list=self._placeholders)
            while not (coord and coord.should_stop()):
                values = produce()
                try:
                    enqueue(*values)
                except self._queue_closed_exception_types:
                    with self._lock:
                        self._runs_per_session[sess] -= 1
                        decremented = True
                        if self._runs_per_session[sess] == 0:
                            try:
                                sess.run(self._close_op)
                            except Exception:  # the session may be closing; nothing to do
                                pass
                    return
        except Exception as error:
            if coord:
                coord.request_stop(error)
            else:
                logging.error('reader thread failed: %s', error)
                with self._lock:
                    self._exceptions_raised.append(error)
                raise
        finally:
            if not decremented:
                with self._lock:
                    self._runs_per_session[sess] -= 1


class DataLoader(object):
    """Pairs from an imdb + LMDB through a TF queue (see the module docstring)."""

    def __init__(self, data_config, augmentation_config, is_training=True, exemplar_size=127, instance_size=255,
                 name=None):
        """Loads the imdb and opens the LMDB, failing early with a clear error.

        Args:
          data_config: TRAIN_CONFIG['train_data_config'] or ['validation_data_config'] (with real paths; see
              datasets.synthetic.use_synthetic_data for the embedded dataset).
          augmentation_config: TRAIN_CONFIG['augmentation_config'].
          is_training: names the reader 'train_data' (else 'validation_data') unless `name` is given.
          exemplar_size, instance_size: output sides (MODEL_CONFIG z_image_size / x_image_size).
          name: name scope of the reader's ops and summaries.
        """
        self.config = data_config
        self.name = name or ('train_data' if is_training else 'validation_data')
        for key in ('input_imdb', 'lmdb_path'):
            if not data_config.get(key):
                raise ValueError('%s: %s is not set; configure a curated dataset, or the embedded synthetic one '
                                 'with datasets.synthetic.build_synthetic_dataset + use_synthetic_data' % (
                                     self.name, key))
        self.imdb = load_imdb(data_config['input_imdb'])
        self.store = LmdbStore(data_config['lmdb_path'])
        self._check_keys()
        self.sampler = PairSampler(self.imdb, data_config)
        self.augmenter = PairAugmenter(augmentation_config, data_config['augmentation'], exemplar_size,
                                       instance_size, self.imdb['context_amount'])
        self.augmentation_config = augmentation_config
        self.exemplar_size, self.instance_size = int(exemplar_size), int(instance_size)
        self.boxes = [np.asarray(t['boxes'], np.float64) for t in self.imdb['tracks']]
        self.patch_scales = patch_scales(self.imdb, data_config['input_imdb'])
        self._lock = threading.Lock()
        self._corrupt_keys = set()
        self._skipped_pairs = 0

    def _check_keys(self, probes=8):
        tracks = self.imdb['tracks']
        keys = [tracks[i]['frame_keys'][0] for i in np.linspace(0, len(tracks) - 1, min(probes, len(tracks)))
                .astype(int)]
        if all(self.store.get(key) is None for key in keys):
            raise ValueError('LMDB %s holds none of the probed keys of imdb %s (e.g. %r): was it built from this '
                             'imdb?' % (self.config['lmdb_path'], self.config['input_imdb'], keys[0]))

    # ---- Python side (reader threads) ----

    def _image(self, track, position):
        key = self.imdb['tracks'][track]['frame_keys'][position]
        data = self.store.get(key)
        if data is None:
            raise CorruptRecord('%s: key %s is missing' % (self.config['lmdb_path'], key))
        try:
            return decode_image(data)
        except ImageDecodeError as error:
            raise CorruptRecord('%s: record %s is corrupt (%s)' % (self.config['lmdb_path'], key, error))

    def _record_failure(self, error, key):
        with self._lock:
            self._skipped_pairs += 1
            new = key not in self._corrupt_keys
            self._corrupt_keys.add(key)
        if new:
            tf.logging.warning('skipping a corrupt record: %s', error)

    def produce_example(self, rng):
        """Samples and augments one pair -> [exemplar, instance, instance_box, delta_t, is_negative] (numpy)."""
        for _ in range(MAX_CONSECUTIVE_FAILURES):
            pair = self.sampler.sample(rng)
            key = None
            try:
                key = self.imdb['tracks'][pair.template[0]]['frame_keys'][pair.template[1]]
                template = self._image(*pair.template)
                key = self.imdb['tracks'][pair.search[0]]['frame_keys'][pair.search[1]]
                search = template if pair.search == pair.template else self._image(*pair.search)
            except CorruptRecord as error:
                self._record_failure(error, key)
                continue
            (zt, zf), (xt, xf) = pair.template, pair.search
            exemplar, instance, box = self.augmenter(template, self.boxes[zt][zf], search, self.boxes[xt][xf], rng,
                                                     self.patch_scales[zt][zf], self.patch_scales[xt][xf])
            return [exemplar, instance, box, np.float32(pair.delta_t), np.bool_(pair.is_negative)]
        raise RuntimeError('%s: %d consecutive pairs hit missing or corrupt records in %s; the LMDB looks damaged' % (
            self.name, MAX_CONSECUTIVE_FAILURES, self.config['lmdb_path']))

    def make_producer(self, thread_number):
        """A producer callable for reader thread `thread_number`, with its own RandomState."""
        seed = self.config.get('seed')
        rng = np.random.RandomState(None if seed is None else (int(seed) * 1009 + thread_number) % (2 ** 32))
        return lambda: self.produce_example(rng)

    def counters(self):
        """(distinct corrupt records, skipped pairs) so far."""
        with self._lock:
            return len(self._corrupt_keys), self._skipped_pairs

    # ---- Graph side ----

    def build(self):
        """Builds the queue, its runner and the batch tensors."""
        config = self.config
        z, x = self.exemplar_size, self.instance_size
        specs = [('exemplar', tf.uint8, [z, z, 3]), ('instance', tf.uint8, [x, x, 3]),
                 ('instance_box', tf.float32, [4]), ('delta_t', tf.float32, []), ('is_negative', tf.bool, [])]
        capacity = int(config['prefetch_capacity'])
        if capacity < config['batch_size']:
            raise ValueError('%s: prefetch_capacity %d is smaller than batch_size %d' % (
                self.name, capacity, config['batch_size']))
        seed = config.get('seed')
        with tf.name_scope(self.name), tf.device('/cpu:0'):
            placeholders = [tf.placeholder(dtype, shape, name=key) for key, dtype, shape in specs]
            names, dtypes, shapes = [s[0] for s in specs], [s[1] for s in specs], [s[2] for s in specs]
            if config['queue_type'] == 'fifo':
                queue = tf.FIFOQueue(capacity, dtypes, shapes, names=names, name='pair_queue')
            elif config['queue_type'] == 'random_shuffle':
                queue = tf.RandomShuffleQueue(capacity, int(config['min_after_dequeue']), dtypes, shapes,
                                              names=names, seed=seed, name='pair_queue')
            else:
                raise ValueError("%s: queue_type must be 'fifo' or 'random_shuffle', got %r" % (
                    self.name, config['queue_type']))
            enqueue = queue.enqueue(dict(zip(names, placeholders)))
            self.queue_runner = PythonFeedingQueueRunner(queue, enqueue, placeholders, self.make_producer,
                                                         int(config['prefetch_threads']))
            tf.train.add_queue_runner(self.queue_runner)
            self.queue = queue

            pairs = queue.dequeue_many(int(config['batch_size']), name='batch')
            instances = tf.cast(pairs['instance'], tf.float32)
            mixup_prob = self.augmentation_config['mixup_prob'] if config['augmentation'] == 'full' else 0.
            instances, mixup_weight = mixup(instances, mixup_prob, self.augmentation_config['mixup_alpha'], seed)
            self.batch = {
                'exemplar': tf.cast(pairs['exemplar'], tf.float32, name='exemplar'),
                'instance': tf.identity(instances, name='instance'),
                'instance_box': tf.identity(pairs['instance_box'], name='instance_box'),
                'delta_t': tf.identity(pairs['delta_t'], name='delta_t'),
                'mixup_weight': tf.identity(mixup_weight, name='mixup_weight'),
                'is_negative': tf.identity(pairs['is_negative'], name='is_negative'),
            }
            corrupt, skipped = tf.py_func(lambda: [np.int64(v) for v in self.counters()], [], [tf.int64, tf.int64],
                                          stateful=True, name='counters')
            size = queue.size()
            self.stats = {
                'corrupt_records': tf.reshape(corrupt, [], name='corrupt_records'),
                'skipped_pairs': tf.reshape(skipped, [], name='skipped_pairs'),
                'queue_size': size,
                'queue_fill_fraction': tf.cast(size, tf.float32) / capacity,
            }
            for key in ('corrupt_records', 'skipped_pairs', 'queue_fill_fraction'):
                tf.summary.scalar(key, self.stats[key])

    def get_one_batch(self):
        """The batch dict (see the module docstring); call build() first."""
        return self.batch

    def close(self):
        """Closes the LMDB; only after the reader threads have stopped."""
        self.store.close()


def patch_scales(imdb, name):
    """Per track, the [frames] float64 patch scales (patch pixels per source pixel) the augmentation needs for the
    tracker's pixel grid; a clear error naming the imdb `name` when they are missing (older curation) or bad."""
    scales = []
    for number, track in enumerate(imdb['tracks']):
        values = track.get('patch_scales')
        if values is None:
            raise ValueError(
                '%s track %d (%s/%s) has no patch_scales: it was curated before crops followed the tracker\'s pixel '
                'grid. Re-run the curation (scripts/curate_dataset.py, scripts/prepare_training_data.py or '
                'build_synthetic_dataset) with the same output folder: it adds the scales to the finished videos '
                'without re-cropping and rewrites the imdbs; the LMDB stays valid' % (
                    name, number, track['video'], track['track_id']))
        values = np.asarray(values, np.float64)
        if values.shape != (len(track['frame_keys']),) or not np.all(np.isfinite(values)) or np.any(values <= 0):
            raise ValueError('%s track %d (%s/%s): patch_scales must hold one positive number per frame' % (
                name, number, track['video'], track['track_id']))
        scales.append(values)
    return scales


def mixup(instances, probability, alpha, seed=None):
    """Blends each search image with the next one of the batch with `probability` (Bag of Freebies).

    Args:
      instances: [B, H, W, 3] float32.
      probability: chance that a pair is mixed.
      alpha: lambda ~ Beta(alpha, alpha).
      seed: op seed (None: random).
    Returns:
      (mixed instances [B, H, W, 3], weights [B] float32 in (0, 1]: lambda where mixed, 1 elsewhere).
    """
    batch = tf.shape(instances)[0]
    if probability <= 0:
        return instances, tf.ones([batch], tf.float32)
    seeds = [None, None, None] if seed is None else [int(seed) + i for i in (1, 2, 3)]
    mixed = tf.random.uniform([batch], seed=seeds[0]) < probability
    a = tf.random.gamma([batch], alpha, seed=seeds[1])
    b = tf.random.gamma([batch], alpha, seed=seeds[2])
    lam = tf.clip_by_value(a / tf.maximum(a + b, 1e-12), 1e-6, 1.)
    weights = tf.where(mixed, lam, tf.ones_like(lam))
    partner = tf.roll(instances, shift=1, axis=0)
    w = weights[:, None, None, None]
    return w * instances + (1. - w) * partner, weights
