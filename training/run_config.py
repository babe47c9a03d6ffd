"""The run's configuration, checked before any work: the training fields, the initialisation checkpoints, the data
the readers use (real or the embedded synthetic dataset), the schedule's length, and what a resumed run must share
with its train_dir."""

import copy
import json
import logging
import os

from datasets.synthetic import build_synthetic_dataset, use_synthetic_data
from embeddings.siamrpn_alexnet import CONV_ALGORITHM_OPTIONS, check_conv_algorithm
from training import distributed, schedules, stages as staging
from utils.io_utils import read_json
from utils.losses import check_loss_config
from utils.target_assignment import check_target_config

logger = logging.getLogger(__name__)

_PERIODS = ('save_model_every_n_steps', 'log_every_n_steps', 'summary_every_n_steps', 'validation_every_n_steps')


def steps_per_epoch(train_config, batches_per_step=1):
    """Training steps per epoch: num_examples_per_epoch / (batch_size * batches_per_step), at least 1.
    batches_per_step is 1 except in synchronous distributed training, where a step averages replicas_to_aggregate
    worker batches (training/distributed.Cluster.examples_per_step)."""
    data = train_config['train_data_config']
    return max(1, int(round(float(data['num_examples_per_epoch']) / (int(data['batch_size']) * batches_per_step))))


def total_steps(train_config, batches_per_step=1):
    """Steps of the whole run: epoch * steps_per_epoch."""
    return int(round(float(train_config['train_data_config']['epoch']) *
                     steps_per_epoch(train_config, batches_per_step)))


def check_train_config(train_config):
    """Raises ValueError naming the first bad training field (schedule, optimizer, stages, periods)."""
    check_conv_algorithm(train_config['conv_algorithm'], CONV_ALGORITHM_OPTIONS, 'train_config.conv_algorithm')
    data = train_config['train_data_config']
    if not (isinstance(data['batch_size'], int) and data['batch_size'] >= 1):
        raise ValueError('train_data_config.batch_size must be an integer >= 1, got %r' % data['batch_size'])
    if not data['epoch'] > 0:
        raise ValueError('train_data_config.epoch must be > 0, got %r' % data['epoch'])
    if not data['num_examples_per_epoch'] > 0:
        raise ValueError('train_data_config.num_examples_per_epoch must be > 0, got %r'
                         % data['num_examples_per_epoch'])
    check_target_config(train_config['target_config'])
    check_loss_config(train_config['loss_config'])
    schedules.check_lr_config(train_config['lr_config'], data['epoch'])
    schedules.check_optimizer_config(train_config['optimizer_config'])
    staging.check_stages(train_config['stages'])
    for key in _PERIODS:
        value = train_config[key]
        if not (isinstance(value, int) and value >= 1):
            raise ValueError('train_config.%s must be an integer >= 1, got %r' % (key, value))
    if not (isinstance(train_config['validation_batches'], int) and train_config['validation_batches'] >= 0):
        raise ValueError('train_config.validation_batches must be an integer >= 0, got %r'
                         % train_config['validation_batches'])
    clip = train_config['clip_gradients']
    if clip is not None and not clip >= 0:
        raise ValueError('train_config.clip_gradients must be None or >= 0, got %r' % clip)
    if not isinstance(train_config['nan_injection_steps'], (list, tuple)):
        raise ValueError('train_config.nan_injection_steps must be a list of steps, got %r'
                         % train_config['nan_injection_steps'])
    distributed.check_cluster_config(distributed.cluster_config_of(train_config))


def check_init_configs(model_config, train_config):
    """Raises ValueError when both the whole-model and the embedding initialisation checkpoints are set."""
    if train_config['init_checkpoint'] and model_config['embed_config']['embedding_checkpoint_file']:
        raise ValueError('train_config.init_checkpoint (%s) and model_config.embed_config.embedding_checkpoint_file '
                         '(%s) are both set; give one: init_checkpoint restores the embedding and the RPN head, '
                         'embedding_checkpoint_file the embedding only' % (
                             train_config['init_checkpoint'], model_config['embed_config']['embedding_checkpoint_file']))


def resolve_data(train_config):
    """A copy of train_config whose readers point at real data: the configured imdb/LMDB, or the embedded
    synthetic dataset (built when missing) when train_data_config.input_imdb is None. Returns (config, synthetic)."""
    config = copy.deepcopy(train_config)
    data, validation = config['train_data_config'], config['validation_data_config']
    if data['input_imdb'] is not None:
        if not data['lmdb_path']:
            raise ValueError('train_data_config.input_imdb is set (%s) but lmdb_path is not' % data['input_imdb'])
        if validation['input_imdb'] is None:
            logger.info('no validation imdb configured (validation_data_config.input_imdb is None): validation is '
                        'off')
        return config, False
    if data['lmdb_path'] is not None:
        raise ValueError('train_data_config.lmdb_path is set (%s) but input_imdb is not' % data['lmdb_path'])
    synthetic = config['synthetic_data_config']
    logger.info('no real training data configured (train_config.train_data_config.input_imdb is None): training on '
                'the embedded synthetic dataset in %s (built now if missing)', synthetic['root_dir'])
    paths = build_synthetic_dataset(synthetic, config['curation_config'], log=logger.info)  # locked: a cluster shares it
    own_validation = copy.deepcopy(validation) if validation['input_imdb'] is not None else None
    config = use_synthetic_data(config, paths)
    if own_validation is not None:
        config['validation_data_config'] = own_validation
    return config, True


def _json_normal(value):
    return json.loads(json.dumps(value, sort_keys=True))


def _differences(saved, current, prefix=''):
    """Dotted keys where two config dicts differ (values as JSON would store them)."""
    keys = []
    for key in sorted(set(saved) | set(current)):
        path = prefix + str(key)
        a, b = saved.get(key, '<missing>'), current.get(key, '<missing>')
        if isinstance(a, dict) and isinstance(b, dict):
            keys.extend(_differences(a, b, path + '.'))
        elif a != b:
            keys.append('%s (saved %r, now %r)' % (path, a, b))
    return keys


# model_config keys that define the network's variables and outputs: a run cannot resume with other values.
ARCHITECTURE_KEYS = ('z_image_size', 'embed_config.width_multiplier', 'embed_config.stride',
                     'rpn_config.feature_out', 'rpn_config.anchor_ratios', 'rpn_config.anchor_scales')


def check_resume_configs(train_dir, model_config, train_config):
    """Before resuming: the architecture keys of model_config must equal the saved ones (else ValueError naming
    them); other differences (e.g. a longer schedule, another embedding_checkpoint_file or init_checkpoint, which a resume
    ignores)
    are logged."""
    changed = []
    for filename, config in (('model_config.json', model_config), ('train_config.json', train_config)):
        path = os.path.join(train_dir, filename)
        if not os.path.isfile(path):
            continue
        prefix = filename.split('.')[0] + '.'
        differences = _differences(read_json(path), _json_normal(config), prefix)
        if filename == 'model_config.json':
            fatal = [d for d in differences if d.split(' ')[0][len(prefix):] in ARCHITECTURE_KEYS]
            if fatal:
                raise ValueError('%s holds a checkpoint of another model, so this run cannot resume there: %s; '
                                 'choose another train_dir or remove it' % (train_dir, '; '.join(fatal)))
        changed.extend(differences)
    if changed:
        logger.warning('resuming with a changed configuration: %s', '; '.join(changed[:10]))
