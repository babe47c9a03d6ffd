"""Tests of training/run.py: the training loop on the small colour-keyed synthetic dataset (towers, TensorBoard
tags, checkpoints that the tracker loads, non-finite steps, staged training, embedding initialisation, crash
mid-save and resume)."""

import copy
import glob
import logging
import os

import cv2
import numpy as np
import pytest
import tensorflow as tf
from tensorflow.python.training import checkpoint_management

import configuration
from inference.checkpoint_io import random_values, save_checkpoint_dir, save_random_checkpoint_dir
from inference.tracker import SiamRPNTracker
from tests.conftest import tiny_model_config
from training import stage_graph, summaries
from training.run import train
from utils.box_io import read_otb_boxes


DEEP = ['siamrpn_alexnet/conv4', 'siamrpn_alexnet/conv5', 'rpn_head']
MODEL_SCOPES = ('siamrpn_alexnet', 'rpn_head')


def tiny_run(dataset, train_dir, steps, batch_size=4, **train_overrides):
    """(model_config, train_config, track_config) of a tiny run on the keyed dataset: width 0.0625, C 8, `steps`
    steps of `batch_size` pairs in one epoch, Adam at a constant 1e-3, everything logged and saved every step."""
    model_config = tiny_model_config()
    train_config = copy.deepcopy(configuration.TRAIN_CONFIG)
    train_config['train_dir'] = str(train_dir)
    for key, imdb in (('train_data_config', 'train_imdb'), ('validation_data_config', 'validation_imdb')):
        train_config[key].update(input_imdb=dataset[imdb], lmdb_path=dataset['lmdb_path'], batch_size=batch_size,
                                 prefetch_threads=1, prefetch_capacity=4 * batch_size, seed=11)
    train_config['train_data_config'].update(epoch=1, num_examples_per_epoch=steps * batch_size)
    train_config['optimizer_config']['optimizer'] = 'ADAM'
    train_config['lr_config'].update(warmup=None, policy='piecewise_constant', lr_boundaries=[], lr_values=[1e-3])
    train_config.update(save_model_every_n_steps=1, log_every_n_steps=1, summary_every_n_steps=1,
                        validation_every_n_steps=1000, validation_batches=1, max_checkpoints_to_keep=100)
    for key, value in train_overrides.items():
        if isinstance(value, dict):
            train_config[key].update(value)
        else:
            train_config[key] = value
    return model_config, train_config, configuration.track_config_for('otb')


def checkpoint_values(train_dir, step):
    """{variable name: value} of train_dir/model.ckpt-<step>."""
    path = os.path.join(str(train_dir), 'model.ckpt-%d' % step)
    return {name: tf.train.load_variable(path, name) for name, _ in tf.train.list_variables(path)}


def model_names(values):
    return sorted(n for n in values if n.split('/')[0] in MODEL_SCOPES and '/Adam' not in n)


def event_tags(train_dir):
    """{tag: [values]} of every event file in train_dir (simple values, or the image proto)."""
    tags = {}
    for path in glob.glob(os.path.join(str(train_dir), 'events.out.tfevents.*')):
        for event in tf.train.summary_iterator(path):
            for value in event.summary.value:
                tags.setdefault(value.tag, []).append(value.image if value.HasField('image') else value.simple_value)
    return tags


def test_two_cpu_towers_train_log_every_tag_and_save_a_checkpoint_the_tracker_loads(keyed_dataset, tmp_path):
    train_dir = tmp_path / 'run'
    configs = tiny_run(keyed_dataset, train_dir, steps=6, tower_config={'devices': ['/cpu:0', '/cpu:1']},
                       validation_every_n_steps=3, validation_batches=2, save_model_every_n_steps=3,
                       summary_every_n_steps=2)
    summary = train(*configs)
    assert summary['global_step'] == 6 and summary['checkpoint'].endswith('model.ckpt-6')
    assert [row['step'] for row in summary['history']['validation']] == [3, 6]
    assert all(np.isfinite(row['loss']) for row in summary['history']['train'])
    files = set(os.listdir(str(train_dir)))
    assert {'checkpoint', 'model_config.json', 'train_config.json', 'track_config.json'} <= files
    assert {'model.ckpt-%d.index' % s for s in (0, 3, 6)} <= files
    start, end = checkpoint_values(train_dir, 0), checkpoint_values(train_dir, 6)
    assert end['global_step'] == 6 and end['nonfinite_steps'] == 0
    assert all(not np.array_equal(start[n], end[n]) for n in model_names(start) if n.endswith('weights'))

    tags = event_tags(train_dir)
    missing = [tag for tag in summaries.ALL_TAGS if tag not in tags]
    assert not missing, 'TensorBoard tags missing: %s' % missing
    assert len(tags['train/total_loss']) == 3 and len(tags['validation/mean_top_iou']) == 2
    image = tags['train/instance'][-1]
    decoded = cv2.imdecode(np.frombuffer(image.encoded_image_string, np.uint8), cv2.IMREAD_COLOR)
    assert decoded.shape == (255, 2 * 255, 3) and (image.height, image.width) == (255, 510)  # 2 pairs per tower
    assert all(np.isfinite(tags[tag]).all() for tag in summaries.TRAIN_SCALARS + summaries.VALIDATION_SCALARS)

    sequence = sorted(p for p in glob.glob(os.path.join(keyed_dataset['test_dir'], '*')) if os.path.isdir(p))[0]
    frames = sorted(glob.glob(os.path.join(sequence, 'img', '*.jpg')))[:4]
    with SiamRPNTracker.from_checkpoint(str(train_dir)) as tracker:
        boxes, _ = tracker.track(frames, read_otb_boxes(os.path.join(sequence, 'groundtruth_rect.txt'))[0])
    assert boxes.shape == (4, 4) and np.isfinite(boxes).all()


def test_a_nan_batch_is_skipped_by_the_loop(keyed_dataset, tmp_path, caplog):
    """nan_injection_steps poisons the very first batch (before the optimizer's slots were ever updated;
    tests/training/test_train_op.py covers a later step): checkpoints 0 and 1 hold the same weights, BN statistics and
    optimizer slots; the counter says 1, the skip is logged, and the next step trains everything."""
    train_dir = tmp_path / 'run'
    with caplog.at_level(logging.INFO, logger='training'):
        summary = train(*tiny_run(keyed_dataset, train_dir, steps=3, nan_injection_steps=[0]))
    assert summary['global_step'] == 3
    zero, one, two = (checkpoint_values(train_dir, s) for s in (0, 1, 2))
    assert one['nonfinite_steps'] == 1 and zero['nonfinite_steps'] == 0 and two['nonfinite_steps'] == 1
    assert any(name.endswith('/Adam_1') for name in zero)
    changed = sorted(n for n in zero if not np.array_equal(zero[n], one[n]))
    assert changed == ['global_step', 'nonfinite_steps'], changed
    assert 'siamrpn_alexnet/conv2/BatchNorm/moving_variance' in zero
    trained = [n for n in model_names(one) if not np.array_equal(one[n], two[n])]
    assert len(trained) == len(model_names(one)) == 40  # the next step trains every weight and statistic
    assert any('step 1 skipped' in r.getMessage() and r.levelno == logging.WARNING for r in caplog.records)
    assert event_tags(train_dir)['train/skipped_nonfinite_steps'] == [1., 1., 1.]


def test_staged_training_freezes_then_trains_everything(keyed_dataset, tmp_path, caplog):
    """Stage 1 (epoch 0) trains conv4, conv5 and the head; stage 2 (from epoch 1) everything at a tenth of the rate."""
    train_dir = tmp_path / 'run'
    configs = tiny_run(keyed_dataset, train_dir, steps=2, stages=[
        {'start_epoch': 0, 'trainable_scopes': DEEP, 'lr_mult': 1.0},
        {'start_epoch': 1, 'trainable_scopes': 'all', 'lr_mult': 0.1}])
    configs[1]['train_data_config']['epoch'] = 2
    with caplog.at_level(logging.INFO, logger='training'):
        summary = train(*configs)
    assert summary['global_step'] == 4
    values = [checkpoint_values(train_dir, s) for s in range(5)]
    names = model_names(values[0])
    assert len(names) == 40  # 5 x (conv weights, biases, BN gamma, beta, moving mean, moving variance) + 5 x 2 head
    frozen = [n for n in names if n.split('/')[1] in ('conv1', 'conv2', 'conv3')]
    deep = [n for n in names if n not in frozen]
    for before, after in ((values[0], values[1]), (values[1], values[2])):  # stage 1 steps
        assert all(np.array_equal(before[n], after[n]) for n in frozen)
        assert all(not np.array_equal(before[n], after[n]) for n in deep)
    assert any('moving_mean' in n for n in frozen) and any('moving_variance' in n for n in deep)
    changed = [n for n in names if not np.array_equal(values[2][n], values[3][n])]
    assert changed == names  # stage 2: every variable trains, BN statistics included
    rates = [row['learning_rate'] for row in summary['history']['train']]
    np.testing.assert_allclose(rates, [1e-3, 1e-3, 1e-4, 1e-4], rtol=1e-6)
    assert any('stage 2/2' in r.getMessage() for r in caplog.records)


def test_embedding_is_initialised_from_a_checkpoint_on_a_fresh_start_only(keyed_dataset, tmp_path, caplog):
    model_config = tiny_model_config()
    embedding = random_values(model_config, seed=9)
    embedding = {k: v for k, v in embedding.items() if k.startswith('siamrpn_alexnet/')}
    prefix = save_checkpoint_dir(str(tmp_path / 'embedding'), embedding, model_config, scopes=('siamrpn_alexnet',))
    train_dir = tmp_path / 'run'
    model_config, train_config, track_config = tiny_run(keyed_dataset, train_dir, steps=1)
    model_config['embed_config']['embedding_checkpoint_file'] = str(tmp_path / 'embedding')
    train(model_config, train_config, track_config)
    start = checkpoint_values(train_dir, 0)
    assert all(np.array_equal(start[name], value) for name, value in embedding.items())
    other = save_checkpoint_dir(str(tmp_path / 'other'), {k: v + 1 for k, v in embedding.items()}, model_config,
                                scopes=('siamrpn_alexnet',))
    model_config['embed_config']['embedding_checkpoint_file'] = other
    train_config['train_data_config']['num_examples_per_epoch'] = 2 * 4
    caplog.clear()
    with caplog.at_level(logging.INFO, logger='training'):
        train(model_config, train_config, track_config)
    assert not any('embedding initialised' in r.getMessage() for r in caplog.records)
    assert any('resuming from' in r.getMessage() for r in caplog.records)
    resumed = checkpoint_values(train_dir, 2)
    weights = 'siamrpn_alexnet/conv1/conv/weights'
    assert np.abs(resumed[weights] - embedding[weights]).max() < 0.5  # trained on from the first file, not the other
    assert prefix.endswith('model.ckpt-0')


def test_a_whole_checkpoint_initialises_embedding_and_head_with_fresh_optimizer_state(keyed_dataset, tmp_path):
    model_config = tiny_model_config()
    values = random_values(model_config, seed=5)
    source = save_checkpoint_dir(str(tmp_path / 'source'), values, model_config, scopes=MODEL_SCOPES)
    train_dir = tmp_path / 'run'
    model_config, train_config, track_config = tiny_run(keyed_dataset, train_dir, steps=1,
                                                        init_checkpoint=str(tmp_path / 'source'))
    summary = train(model_config, train_config, track_config)
    assert summary['global_step'] == 1
    start = checkpoint_values(train_dir, 0)
    assert any(n.startswith('rpn_head/') for n in values) and any(n.startswith('siamrpn_alexnet/') for n in values)
    for name, value in values.items():
        np.testing.assert_array_equal(start[name], value, err_msg=name)
    slots = [n for n in start if n.endswith('/Adam') or n.endswith('/Adam_1')]
    assert slots and all(not start[n].any() for n in slots)  # optimizer state starts fresh
    assert start['global_step'] == 0 and source.endswith('model.ckpt-0')
    model_config['embed_config']['embedding_checkpoint_file'] = source
    with pytest.raises(ValueError, match='init_checkpoint .* embedding_checkpoint_file'):
        train(model_config, dict(train_config, train_dir=str(tmp_path / 'both')), track_config)


def test_a_crash_mid_save_leaves_the_previous_checkpoint_and_the_run_resumes(keyed_dataset, tmp_path, caplog,
                                                                             monkeypatch):
    """The save of step 4 dies after the data and index files are written but before the `checkpoint` index file is
    replaced (and a half-written temporary of step 5 lies around): the latest checkpoint is still step 3, it loads,
    and re-running resumes from it and finishes. The resumed session holds exactly the checkpoint's values: weights,
    BN statistics, Adam's slots and beta powers, the counters."""
    train_dir = tmp_path / 'run'
    configs = tiny_run(keyed_dataset, train_dir, steps=3)
    train(*configs)
    configs[1]['train_data_config']['num_examples_per_epoch'] = 5 * 4
    original = checkpoint_management.update_checkpoint_state_internal

    def crash_at_step_4(save_dir, model_checkpoint_path, *args, **kwargs):
        if model_checkpoint_path.endswith('model.ckpt-4'):
            partial = os.path.join(save_dir, 'model.ckpt-5_temp_0123456789abcdef')
            os.makedirs(partial)
            with open(os.path.join(partial, 'part-00000-of-00001.data-00000-of-00001'), 'wb') as stream:
                stream.write(b'\x00' * 100)
            raise RuntimeError('simulated crash while saving')
        return original(save_dir, model_checkpoint_path, *args, **kwargs)

    monkeypatch.setattr(checkpoint_management, 'update_checkpoint_state_internal', crash_at_step_4)
    with pytest.raises(RuntimeError, match='simulated crash'):
        train(*configs)
    monkeypatch.setattr(checkpoint_management, 'update_checkpoint_state_internal', original)
    assert os.path.isfile(str(train_dir / 'model.ckpt-4.index'))
    assert tf.train.latest_checkpoint(str(train_dir)).endswith('model.ckpt-3')
    with SiamRPNTracker.from_checkpoint(str(train_dir)):
        pass
    caplog.clear()
    restored = {}
    monkeypatch.setattr(stage_graph, '_restorer', recording_restorer(stage_graph._restorer, restored))
    with caplog.at_level(logging.INFO, logger='training'):
        summary = train(*configs)
    assert any('resuming from' in r.getMessage() and r.getMessage().endswith('(global step 3)')
               for r in caplog.records)
    assert restored['path'].endswith('model.ckpt-3')
    reader = tf.train.load_checkpoint(restored['path'])
    saved = reader.get_variable_to_shape_map()
    assert sorted(saved) == sorted(restored['values'])  # the stage's graph holds every saved variable, nothing else
    names = model_names(saved)
    slots = [n for n in saved if n.endswith('/Adam') or n.endswith('/Adam_1')]
    assert len(names) == 40 and len(slots) == 2 * len([n for n in names if 'moving_' not in n])
    assert {'train_step/guarded_update/beta1_power', 'train_step/guarded_update/beta2_power', 'global_step',
            'nonfinite_steps'} <= set(saved)
    for name in saved:
        np.testing.assert_array_equal(restored['values'][name], reader.get_tensor(name), err_msg=name)
    assert all(np.any(reader.get_tensor(n) != 0) for n in slots)  # trained slots: a restore is not an initialiser
    assert summary['global_step'] == 5 and tf.train.latest_checkpoint(str(train_dir)).endswith('model.ckpt-5')
    assert checkpoint_values(train_dir, 5)['global_step'] == 5
    assert train(*configs)['global_step'] == 5  # a finished run stays finished


def recording_restorer(make_restorer, record):
    """Wraps training.stage_graph._restorer: the Saver's restore also records {'path', 'values': {variable name:
    value}} of every global variable of the restored session, before any step runs."""
    class Recording(object):
        def __init__(self, saver):
            self.saver = saver

        def restore(self, sess, path):
            self.saver.restore(sess, path)
            variables = sess.graph.get_collection(tf.GraphKeys.GLOBAL_VARIABLES)
            record.update(path=path, values=dict(zip([v.op.name for v in variables], sess.run(variables))))

    def restorer(checkpoint_path):
        saver, fresh = make_restorer(checkpoint_path)
        return Recording(saver), fresh
    return restorer


def test_errors_before_any_work(keyed_dataset, tmp_path):
    configs = tiny_run(keyed_dataset, tmp_path / 'run', steps=1, stages=[
        {'start_epoch': 0, 'trainable_scopes': ['siamrpn_alexnet/conv4/conv'], 'lr_mult': 1.0}])
    with pytest.raises(ValueError, match='names part of embedding layer conv4'):
        train(*configs)
    with pytest.raises(ValueError, match='not a multiple of the 3 towers'):
        train(*tiny_run(keyed_dataset, tmp_path / 'run', steps=1,
                        tower_config={'devices': ['/cpu:0', '/cpu:1', '/cpu:2']}))
    with pytest.raises(ValueError, match='optimizer_config.optimizer'):
        train(*tiny_run(keyed_dataset, tmp_path / 'run', steps=1, optimizer_config={'optimizer': 'LBFGS'}))
    other = tmp_path / 'other'
    save_random_checkpoint_dir(str(other), tiny_model_config(0.125, 8))
    with pytest.raises(ValueError, match='another model.*model_config.embed_config.width_multiplier'):
        train(*tiny_run(keyed_dataset, other, steps=1))
    assert not os.path.exists(str(tmp_path / 'run'))
