"""Tests of train_siamese_model: the Sacred experiment end to end (a training subprocess SIGKILLed after its first
checkpoint past step 0 resumes with the same command and finishes; Sacred records both runs) and its configuration
key check. The training loop itself is tested in tests/training/test_run.py."""

import copy
import glob
import json
import os
import signal
import subprocess
import sys
import time

import pytest
import tensorflow as tf

import configuration
from tests.conftest import PROJECT_ROOT
from train_siamese_model import check_config_keys, unknown_config_keys
from utils.checkpoints import checkpoint_step


EXPERIMENT = os.path.join(PROJECT_ROOT, 'experiments', 'SiamRPN-AlexNet.py')
TRAIN_DIR = os.path.join('Logs', 'SiamRPN', 'track_model_checkpoints', 'SiamRPN-AlexNet')
STEPS = 12


def command(dataset):
    """The experiment with `with` overrides: the keyed dataset, a tiny model and 12 steps of 4 pairs."""
    updates = ['train_config.%s.input_imdb=%s' % (reader, dataset[imdb])
               for reader, imdb in (('train_data_config', 'train_imdb'), ('validation_data_config', 'validation_imdb'))]
    updates += ['train_config.%s.lmdb_path=%s' % (reader, dataset['lmdb_path'])
                for reader in ('train_data_config', 'validation_data_config')]
    updates += ['train_config.%s.%s' % (reader, setting) for reader in ('train_data_config', 'validation_data_config')
                for setting in ('batch_size=4', 'prefetch_threads=1', 'prefetch_capacity=16')]
    updates += ['model_config.embed_config.width_multiplier=0.0625', 'model_config.rpn_config.feature_out=8',
                'train_config.train_data_config.epoch=1',
                'train_config.train_data_config.num_examples_per_epoch=%d' % (4 * STEPS),
                'train_config.lr_config.warmup=None', 'train_config.save_model_every_n_steps=3',
                'train_config.validation_every_n_steps=6', 'train_config.validation_batches=1',
                'train_config.summary_every_n_steps=3', 'train_config.log_every_n_steps=1']
    return [sys.executable, EXPERIMENT, 'with'] + updates


def saved_step(train_dir):
    """Global step of the latest checkpoint (-1 when there is none)."""
    latest = tf.train.latest_checkpoint(train_dir) if os.path.isfile(os.path.join(train_dir, 'checkpoint')) else None
    return checkpoint_step(latest) if latest else -1


def test_killed_training_resumes_where_its_checkpoint_left_off(keyed_dataset, tmp_path):
    train_dir = str(tmp_path / TRAIN_DIR)
    log_path = str(tmp_path / 'first.log')
    with open(log_path, 'wb') as log:
        process = subprocess.Popen(command(keyed_dataset), cwd=str(tmp_path), stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    try:
        deadline = time.time() + 240
        while saved_step(train_dir) < 3:
            assert process.poll() is None, 'training ended before its first checkpoint: %s' % open(log_path).read()
            assert time.time() < deadline, 'no checkpoint past step 0 after 240 s: %s' % open(log_path).read()
            time.sleep(0.2)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
    killed_at = saved_step(train_dir)
    assert 3 <= killed_at < STEPS and process.returncode == -signal.SIGKILL

    result = subprocess.run(command(keyed_dataset), cwd=str(tmp_path), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, timeout=300)
    output = result.stdout.decode()
    assert result.returncode == 0, output
    assert 'resuming from %s (global step %d)' % (os.path.join(TRAIN_DIR, 'model.ckpt-%d' % killed_at),
                                                   killed_at) in output, output
    assert 'step %d/%d' % (killed_at + 1, STEPS) in output and 'step 1/%d' % STEPS not in output
    assert saved_step(train_dir) == STEPS
    assert 'training finished at step %d' % STEPS in output

    runs = sorted(glob.glob(str(tmp_path / 'Logs' / 'SiamRPN' / 'SiamRPN-AlexNet' / 'sacred' / '[0-9]*')))
    assert len(runs) == 2
    statuses = [json.load(open(os.path.join(run, 'run.json')))['status'] for run in runs]
    assert statuses == ['RUNNING', 'COMPLETED']  # the killed run never reported an end
    config = json.load(open(os.path.join(runs[1], 'config.json')))
    assert config['model_config']['embed_config']['width_multiplier'] == 0.0625
    assert json.load(open(os.path.join(train_dir, 'model_config.json')))['rpn_config']['feature_out'] == 8
    starts = [event.step for path in glob.glob(os.path.join(train_dir, 'events.out.tfevents.*'))
              for event in events(path) if event.HasField('session_log')]
    assert killed_at in starts  # TensorBoard drops the killed run's events past the resumed step


def events(path):
    """The events of a file; the killed writer's last record may be cut short, as TensorBoard tolerates."""
    try:
        for event in tf.train.summary_iterator(path):
            yield event
    except tf.errors.DataLossError:
        return


def test_unknown_configuration_keys_are_named():
    model_config = copy.deepcopy(configuration.MODEL_CONFIG)
    train_config = copy.deepcopy(configuration.TRAIN_CONFIG)
    track_config = copy.deepcopy(configuration.TRACK_CONFIG)
    check_config_keys(model_config, train_config, track_config)  # the defaults are valid
    # Free keys: below dicts whose default is empty.
    train_config['train_data_config']['source_weights'] = {'got10k': 2.0}
    check_config_keys(model_config, train_config, track_config)
    model_config['loss_config'] = {'reg_loss': 'l1'}  # loss_config lives in train_config
    train_config['lr_config']['initial_rate'] = 0.1
    assert unknown_config_keys(model_config, configuration.MODEL_CONFIG, 'model_config') == ['model_config.loss_config']
    with pytest.raises(ValueError, match=r'unknown configuration keys: model_config\.loss_config, '
                                         r'train_config\.lr_config\.initial_rate'):
        check_config_keys(model_config, train_config, track_config)


def test_a_misspelt_override_stops_the_experiment_before_training(tmp_path):
    result = subprocess.run([sys.executable, EXPERIMENT, 'with', 'model_config.loss_config.reg_loss=l1'],
                            cwd=str(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300)
    output = result.stdout.decode()
    assert result.returncode != 0
    assert 'unknown configuration keys: model_config.loss_config' in output
    assert not os.path.exists(os.path.join(str(tmp_path), 'data'))  # nothing was built
