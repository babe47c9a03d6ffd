"""Tests of the queue reader: the batch dict contract, boxes on pixels end to end, ratios, corrupt records,
start-up errors, QueueRunner/Coordinator and MonitoredSession compatibility, and feeding SiameseModel."""

import copy
import shutil

import lmdb
import numpy as np
import pytest
import tensorflow as tf

import configuration
from datasets.dataloader import DataLoader
from datasets.imdb import load_imdb, save_imdb
from datasets.synthetic import use_synthetic_data
from siamese_model import SiameseModel
from tests.datasets.data_helpers import assert_inside, key_pixels
from tests.helpers import cpu_session


def configs(paths, **data_overrides):
    """(train data config, augmentation config) for the dataset `paths`, with overrides."""
    train_config = use_synthetic_data(configuration.TRAIN_CONFIG, paths)
    data = train_config['train_data_config']
    data.update(batch_size=8, prefetch_threads=2, prefetch_capacity=32, seed=7)
    data.update(data_overrides)
    return data, copy.deepcopy(train_config['augmentation_config'])


def run_batches(loader, count, session=None):
    """Fetches `count` batches (and the stats after them) with the standard queue-runner start/stop."""
    batch = loader.get_one_batch()
    with (session or cpu_session()) as sess:
        coord = tf.train.Coordinator()
        threads = tf.train.start_queue_runners(sess=sess, coord=coord)
        batches = [sess.run(batch) for _ in range(count)]
        stats = sess.run(loader.stats)
        coord.request_stop()
        coord.join(threads, stop_grace_period_secs=10)
    assert not any(thread.is_alive() for thread in threads)
    return batches, stats


def test_batch_dict_matches_the_model_contract(graph, keyed_dataset):
    data, augmentation = configs(keyed_dataset, max_frame_dist=4, negative_ratio=0.25)
    augmentation['mixup_prob'] = 0.5
    loader = DataLoader(data, augmentation, is_training=True)
    loader.build()
    batch = loader.get_one_batch()
    expected = {'exemplar': ([8, 127, 127, 3], tf.float32), 'instance': ([8, 255, 255, 3], tf.float32),
                'instance_box': ([8, 4], tf.float32), 'delta_t': ([8], tf.float32),
                'mixup_weight': ([8], tf.float32), 'is_negative': ([8], tf.bool)}
    assert {k: (v.shape.as_list(), v.dtype) for k, v in batch.items()} == expected
    assert tf.get_collection(tf.GraphKeys.QUEUE_RUNNERS) == [loader.queue_runner]
    batches, stats = run_batches(loader, 4)
    for values in batches:
        for key in ('exemplar', 'instance'):
            assert values[key].min() >= 0 and values[key].max() <= 255
        assert np.all(values['delta_t'] <= 4) and np.all(values['delta_t'][values['is_negative']] == 0)
        assert np.all(values['mixup_weight'] > 0) and np.all(values['mixup_weight'] <= 1)
        boxes = values['instance_box']
        assert np.all(boxes[:, 2:] > 0) and np.all(np.abs(boxes[:, :2] - 127.5) <= 64 + 1e-3)
    assert any(values['is_negative'].any() for values in batches)
    assert any((values['mixup_weight'] < 1).any() for values in batches)
    assert stats['corrupt_records'] == 0 and stats['skipped_pairs'] == 0
    assert 0 <= stats['queue_fill_fraction'] <= 1


def test_boxes_enclose_the_target_through_curation_lmdb_and_reader(graph, keyed_dataset):
    data, augmentation = configs(keyed_dataset, negative_ratio=0.5, batch_size=16)
    augmentation.update(color_jitter_prob=0., blur_prob=0., gray_prob=0., downup_prob=0., mixup_prob=0.,
                        flip_prob=0.5)
    loader = DataLoader(data, augmentation, is_training=True)
    loader.build()
    batches, _ = run_batches(loader, 3)
    for values in batches:
        for instance, box in zip(values['instance'], values['instance_box']):
            cx, cy, w, h = box
            target = key_pixels(instance.astype(np.uint8))
            assert target.any()
            # Two JPEG stages and two interpolations: allow 2 pixels of colour bleeding.
            assert_inside(target, [cx - w / 2, cy - h / 2, w, h], 2.0, 'instance')


def test_negative_ratio_through_the_reader(graph, keyed_dataset):
    data, augmentation = configs(keyed_dataset, negative_ratio=0.3, batch_size=32, prefetch_capacity=64)
    loader = DataLoader(data, augmentation, is_training=True)
    loader.build()
    batches, _ = run_batches(loader, 10)
    negatives = np.concatenate([values['is_negative'] for values in batches])
    assert abs(negatives.mean() - 0.3) < 0.08  # 320 pairs: about 3 standard deviations


def corrupted_copy(paths, tmp_path, damage):
    """An imdb of two tracks (the first cut to 2 frames) and a copy of the LMDB whose record of the first frame is
    damaged by `damage(txn, key)` -> (imdb path, lmdb path, damaged key)."""
    imdb = load_imdb(paths['train_imdb'])
    first, second = imdb['tracks'][0], imdb['tracks'][1]
    for field in ('frame_keys', 'frame_indices', 'boxes', 'patch_scales'):
        first[field] = first[field][:2]
    imdb['tracks'] = [first, second]
    imdb_path = str(tmp_path / 'imdb.json')
    save_imdb(imdb_path, imdb)
    lmdb_path = str(tmp_path / 'lmdb')
    shutil.copytree(paths['lmdb_path'], lmdb_path)
    key = first['frame_keys'][0]
    with lmdb.open(lmdb_path) as env, env.begin(write=True) as txn:
        damage(txn, key.encode())
    return imdb_path, lmdb_path, key


@pytest.mark.parametrize('damage', [
    lambda txn, key: txn.put(key, b'\xff\xd8 corrupt bytes'),
    lambda txn, key: txn.put(key, bytes(txn.get(key))[:3000]),
    lambda txn, key: txn.delete(key),
], ids=['garbage', 'truncated', 'deleted'])
def test_a_corrupt_record_is_skipped_and_counted(graph, keyed_dataset, tmp_path, damage):
    imdb_path, lmdb_path, key = corrupted_copy(keyed_dataset, tmp_path, damage)
    data, augmentation = configs(keyed_dataset, input_imdb=imdb_path, lmdb_path=lmdb_path, negative_ratio=0.2)
    loader = DataLoader(data, augmentation, is_training=True)
    loader.build()
    batches, stats = run_batches(loader, 6)  # 48 pairs; the damaged frame is in about a third of the draws
    assert stats['corrupt_records'] == 1 and stats['skipped_pairs'] >= 1
    for values in batches:  # the reader kept going with good pairs
        assert np.all(np.isfinite(values['instance'])) and values['instance'].shape == (8, 255, 255, 3)


def test_start_up_errors_are_clear(graph, keyed_dataset, tmp_path):
    data, augmentation = configs(keyed_dataset)
    with pytest.raises(ValueError, match='input_imdb is not set'):
        DataLoader(dict(data, input_imdb=None), augmentation)
    with pytest.raises(FileNotFoundError, match='LMDB not found: .*nowhere'):
        DataLoader(dict(data, lmdb_path=str(tmp_path / 'nowhere')), augmentation)
    empty = load_imdb(data['input_imdb'])
    empty['tracks'] = []
    empty_path = str(tmp_path / 'empty.json')
    with open(empty_path, 'w') as stream:
        stream.write(__import__('json').dumps(empty))
    with pytest.raises(ValueError, match='empty.json is empty'):
        DataLoader(dict(data, input_imdb=empty_path), augmentation)
    other = load_imdb(data['input_imdb'])
    for track in other['tracks']:
        track['frame_keys'] = ['elsewhere/' + k for k in track['frame_keys']]
    other_path = str(tmp_path / 'other.json')
    save_imdb(other_path, other)
    with pytest.raises(ValueError, match='holds none of the probed keys'):
        DataLoader(dict(data, input_imdb=other_path), augmentation)
    older = load_imdb(data['input_imdb'])  # curated before the tracker's pixel grid: no patch scales
    del older['tracks'][1]['patch_scales']
    older_path = str(tmp_path / 'older.json')
    save_imdb(older_path, older)
    with pytest.raises(ValueError, match='older.json track 1 .* has no patch_scales.*Re-run the curation'):
        DataLoader(dict(data, input_imdb=older_path), augmentation)


def test_fixed_seed_single_thread_reader_repeats_across_sessions(graph, keyed_dataset):
    train_config = use_synthetic_data(configuration.TRAIN_CONFIG, keyed_dataset)
    data = dict(train_config['validation_data_config'], batch_size=4)
    loader = DataLoader(data, train_config['augmentation_config'], is_training=False)
    loader.build()
    assert loader.name == 'validation_data'
    first, _ = run_batches(loader, 2)
    second, _ = run_batches(loader, 2)
    for a, b in zip(first, second):
        for key in a:
            np.testing.assert_array_equal(a[key], b[key])


def test_monitored_session_starts_and_stops_the_reader(graph, keyed_dataset):
    data, augmentation = configs(keyed_dataset)
    loader = DataLoader(data, augmentation)
    loader.build()
    batch = loader.get_one_batch()
    creator = tf.train.ChiefSessionCreator(config=tf.ConfigProto(intra_op_parallelism_threads=2,
                                                                 inter_op_parallelism_threads=2))
    with tf.train.MonitoredSession(session_creator=creator) as sess:
        for _ in range(2):
            assert sess.run(batch)['instance'].shape == (8, 255, 255, 3)


def test_the_batch_feeds_siamese_model(graph, keyed_dataset):
    data, augmentation = configs(keyed_dataset, batch_size=2, negative_ratio=0.5)
    loader = DataLoader(data, augmentation)
    loader.build()
    model_config = copy.deepcopy(configuration.MODEL_CONFIG)
    model_config['embed_config']['width_multiplier'] = 0.25
    model_config['rpn_config']['feature_out'] = 32
    model = SiameseModel(model_config, configuration.TRAIN_CONFIG, mode='train', inputs=loader.get_one_batch())
    model.build()
    with cpu_session() as sess:
        sess.run(tf.global_variables_initializer())
        coord = tf.train.Coordinator()
        threads = tf.train.start_queue_runners(sess=sess, coord=coord)
        loss, labels = sess.run([model.total_loss, model.targets['labels']])
        coord.request_stop()
        coord.join(threads)
    assert np.isfinite(loss) and labels.shape[0] == 2
