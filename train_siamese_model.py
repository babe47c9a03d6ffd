"""Trains SiamRPN-AlexNet: the Sacred experiment `ex` that the scripts in experiments/ configure and run.

  python experiments/SiamRPN-AlexNet.py                                    # a named run (see experiments/)
  python experiments/SiamRPN-AlexNet.py with train_config.train_data_config.batch_size=8 \\
      train_config.train_data_config.epoch=1                               # Sacred command-line overrides
  python experiments/SiamRPN-AlexNet.py print_config                       # the run's full configuration

The configuration is configuration.py's MODEL_CONFIG / TRAIN_CONFIG / TRACK_CONFIG; an experiment script adds its
updates (`run_experiment(run_name, config_updates, config_scopes)`), then Sacred applies the command line's `with
key=value` assignments, which win over both (a key configuration.py does not define is an error, see
check_config_keys). A FileStorageObserver records each run (config, host, sources, captured output) under `<LOG_DIR>/<run>/sacred`;
checkpoints, config JSON and TensorBoard events go to train_config['train_dir'].

From Python, without Sacred: `train_siamese_model.train(model_config, train_config, track_config)`.

The training loop (`train`):
  summary = train(model_config, train_config, track_config)   # what the Sacred main runs

One run:
  1. data: the configured imdb + LMDB, or (train_data_config.input_imdb None) the embedded synthetic dataset, built
     if missing (datasets.synthetic) and announced in the log;
  2. train_dir: the latest checkpoint decides where to start (global step and stage); model_config must equal the
     saved model_config.json; the three config JSON files are (re)written atomically;
  3. per stage (utils/train_stages.py) a graph: queue readers, towers, the guarded train op (utils/train_op.py), a
     validation model sharing the variables, a Saver; variables restored from the latest checkpoint (variables it
     lacks, e.g. optimizer slots of layers unfrozen by this stage, are initialised), or initialised on a fresh start
     (the embedding and RPN head from `train_config.init_checkpoint`, or the embedding only from
     `embedding_checkpoint_file`, when set), which saves model.ckpt-0 at once;
  4. per step: the batch is dequeued in one session.run (data wait) and fed to the train step (compute), so the two
     times are measured separately; logs, summaries, validation and checkpoints at their periods; a checkpoint at
     each stage end and at the end.

Distributed (README "Distributed training"; utils/distributed.py): with a cluster in TF_CONFIG or
train_config.cluster_config the same command is one task of it. A ps task serves the variables until stopped; a
worker builds each stage's graph under replica_device_setter and trains it in a MonitoredSession, synchronously
(SyncReplicasOptimizer, the non-finite guard applied to the mean of the finite workers' gradients) or
asynchronously; only the chief (worker 0) restores, checkpoints (CheckpointSaverHook), writes summaries and
validates (_ChiefReportHook), writes the config JSON and the Sacred record (ChiefOnlyObserver); the other workers
wait for its initialisation. scripts/launch_local_cluster.py runs a cluster on one machine.

Checkpoints are `train_dir/model.ckpt-<global step>` (the number of completed steps; model.ckpt-0 is the untrained
start). tf.train.Saver writes the data and index files under temporary names and renames them, then replaces the
`checkpoint` index file atomically, and deletes checkpoints beyond max_checkpoints_to_keep only after that; a crash
mid-save therefore leaves the previous checkpoint as the latest, intact (tests/test_train_siamese_model.py).
"""

import contextlib
import copy
import json
import logging
import os
import os.path as osp
import sys
import time

import numpy as np
import tensorflow as tf
from sacred import Experiment, SETTINGS
from sacred.observers import FileStorageObserver, RunObserver
from sacred.utils import apply_backspaces_and_linefeeds

import configuration
from datasets.dataloader import DataLoader
from datasets.synthetic import build_synthetic_dataset, use_synthetic_data
from siamese_model import SiameseModel
from utils import distributed, runtime
from utils import train_schedules as schedules, train_stages as staging, train_summaries as summaries
from utils.checkpoints import CHECKPOINT_PREFIX, check_variables, checkpoint_step, resolve_checkpoint, write_configs
from utils.io_utils import read_json
from utils.losses import check_loss_config
from utils.target_assignment import check_target_config
from utils.towers import build_towers, compute_gradients, num_cpu_devices, resolve_devices, tower_device_setter
from utils.train_op import build_train_op, nonfinite_counter, scaled_rate_optimizer

logger = logging.getLogger(__name__)

_PERIODS = ('save_model_every_n_steps', 'log_every_n_steps', 'summary_every_n_steps', 'validation_every_n_steps')


# ----------------------------------------------------------------------------------------------------------------
# Configuration checks and the schedule's arithmetic.

def steps_per_epoch(train_config, batches_per_step=1):
    """Training steps per epoch: num_examples_per_epoch / (batch_size * batches_per_step), at least 1.
    batches_per_step is 1 except in synchronous distributed training, where a step averages replicas_to_aggregate
    worker batches (utils/distributed.Cluster.examples_per_step)."""
    data = train_config['train_data_config']
    return max(1, int(round(float(data['num_examples_per_epoch']) / (int(data['batch_size']) * batches_per_step))))


def total_steps(train_config, batches_per_step=1):
    """Steps of the whole run: epoch * steps_per_epoch."""
    return int(round(float(train_config['train_data_config']['epoch']) *
                     steps_per_epoch(train_config, batches_per_step)))


def cluster_config_of(train_config):
    """train_config['cluster_config'] over its defaults (configs saved before distributed training lack it)."""
    return dict(configuration.TRAIN_CONFIG['cluster_config'], **train_config.get('cluster_config', {}))


def check_train_config(train_config):
    """Raises ValueError naming the first bad training field (schedule, optimizer, stages, periods)."""
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
    distributed.check_cluster_config(cluster_config_of(train_config))


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


def _format_duration(seconds):
    seconds = int(max(seconds, 0))
    return '%d:%02d:%02d' % (seconds // 3600, seconds // 60 % 60, seconds % 60)


# ----------------------------------------------------------------------------------------------------------------
# The run.

class _Run(object):
    """What every stage of a run shares: configs, stages, devices, the cluster (None in a single process) and its
    server, the schedule's length and the history the summary returns."""

    def __init__(self, model_config, train_config, stages, devices, variable_device, session_config, cluster):
        self.model_config, self.train_config, self.stages = model_config, train_config, stages
        self.devices, self.variable_device, self.cluster = devices, variable_device, cluster
        self.session_config = _session_config(session_config, devices, variable_device)
        self.batches_per_step = cluster.examples_per_step if cluster is not None else 1
        self.per_epoch = steps_per_epoch(train_config, self.batches_per_step)
        self.last_step = total_steps(train_config, self.batches_per_step)
        self.history = {'train': [], 'validation': []}
        self.server = None

    @property
    def is_chief(self):
        """Whether this process writes checkpoints, summaries and configs (a single process, or worker 0)."""
        return self.cluster is None or self.cluster.is_chief


def train(model_config, train_config, track_config, session_config=None):
    """Trains (or resumes) a run; returns a summary dict.

    With a cluster (TF_CONFIG or train_config.cluster_config; utils/distributed.py) this is one task of it: a ps
    task serves the variables until it is killed; a worker trains its share and returns when the run ends.

    Args:
      model_config, train_config, track_config: MODEL_CONFIG, TRAIN_CONFIG and TRACK_CONFIG dicts (plain dicts; the
          three are saved beside the checkpoints).
      session_config: tf.ConfigProto to use (default: soft placement, GPU memory growth, as many CPU devices as
          the towers name, and utils/runtime.py's threading).
    Returns:
      {'train_dir', 'global_step', 'checkpoint', 'synthetic_data', 'seconds', 'cluster', 'history': {'train': [...],
       'validation': [...]}}: history rows are the logged steps ({'step', 'loss', 'cls_loss', 'reg_loss',
       'mean_top_iou', 'learning_rate', 'examples_per_sec', ...}; with a cluster also this worker's 'worker_steps'
       and 'worker_nonfinite_steps') and the validations ({'step', 'total_loss', 'cls_loss', 'reg_loss',
       'mean_top_iou'}); 'cluster' describes this task (None in a single process).
    """
    start_time = time.time()
    model_config, train_config, track_config = (copy.deepcopy(c) for c in (model_config, train_config, track_config))
    check_train_config(train_config)
    check_init_configs(model_config, train_config)
    stages = staging.check_stages(train_config['stages'])
    for stage in stages:
        staging.frozen_layers(stage['trainable_scopes'], model_config['embed_config']['train_embedding'])
    devices, variable_device = resolve_devices(train_config['tower_config'])
    if train_config['train_data_config']['batch_size'] % len(devices):
        raise ValueError('train_data_config.batch_size %d is not a multiple of the %d towers (%s)' % (
            train_config['train_data_config']['batch_size'], len(devices), ', '.join(devices)))
    cluster = distributed.resolve_cluster(cluster_config_of(train_config))
    if cluster is not None and cluster.is_ps:
        _serve_ps(cluster)
    if cluster is not None:
        train_config = distributed.worker_train_config(train_config, cluster.task_index)
    train_config, synthetic = resolve_data(train_config)
    run = _Run(model_config, train_config, stages, devices, variable_device, session_config, cluster)
    logger.info('devices: %s', runtime.device_summary(run.session_config))  # as scripts/check_environment.py

    train_dir = train_config['train_dir']
    latest = None
    if cluster is not None:
        run.server = distributed.start_server(cluster, distributed.server_config(cluster, run.session_config))
        logger.info('%s: server at %s', cluster.describe(), cluster.spec['worker'][cluster.task_index])
    if run.is_chief:
        os.makedirs(train_dir, exist_ok=True)
        latest = tf.train.latest_checkpoint(train_dir)
        step = (checkpoint_step(latest) or 0) if latest else 0
        if latest:
            check_resume_configs(train_dir, model_config, train_config)
        write_configs(train_dir, model_config, train_config, track_config)
    else:
        logger.info('waiting for the chief (worker 0) to initialise or restore the variables')
        step = distributed.wait_for_global_step(cluster, run.server, variable_device,
                                                distributed.worker_session_config(cluster, run.session_config))

    per_epoch, last_step = run.per_epoch, run.last_step
    starts = staging.stage_start_steps(stages, per_epoch)
    embed = model_config['embed_config']
    logger.info('run %s: %d steps (%s epochs x %d steps of %d pairs) on %s (variables on %s), width multiplier %s, '
                'RPN channels %d, %s optimizer, %d stage(s)', train_dir, last_step,
                train_config['train_data_config']['epoch'], per_epoch,
                train_config['train_data_config']['batch_size'] * run.batches_per_step, ', '.join(devices),
                variable_device, embed['width_multiplier'], model_config['rpn_config']['feature_out'],
                train_config['optimizer_config']['optimizer'], len(stages))
    if latest:
        logger.info('resuming from %s (global step %d)', latest, step)
    elif step:
        logger.info('the chief resumed the run at global step %d', step)
    if step >= last_step:
        logger.info('%s already holds the final step %d of this schedule; nothing to train', train_dir, step)
    try:
        while step < last_step:
            index = staging.stage_at(stages, step, per_epoch)
            end = min(starts[index + 1] if index + 1 < len(stages) else last_step, last_step)
            if end <= step:  # a stage shorter than a step
                end = step + 1
            if cluster is None:
                step = _run_stage(run, index, step, end)
            else:
                step = _run_distributed_stage(run, index, step, end)
    finally:
        if cluster is not None:
            tf.summary.FileWriterCache.clear()  # flushes and closes the chief's event writer
    latest = tf.train.latest_checkpoint(train_dir) if run.is_chief else None
    seconds = time.time() - start_time
    logger.info('training finished at step %d in %s; latest checkpoint %s', step, _format_duration(seconds),
                latest if run.is_chief else '(written by the chief)')
    return {'train_dir': train_dir, 'global_step': step, 'checkpoint': latest, 'synthetic_data': synthetic,
            'seconds': seconds, 'history': run.history, 'cluster': cluster.describe() if cluster else None}


def _serve_ps(cluster):
    """A ps task: starts its server and serves the variables until the process is stopped (never returns)."""
    server = distributed.start_server(cluster, distributed.server_config(cluster))
    logger.info('%s: serving variables at %s until stopped (Ctrl-C or SIGTERM; scripts/launch_local_cluster.py stops '
                'its ps tasks when the workers are done)', cluster.describe(), cluster.spec['ps'][cluster.task_index])
    distributed.join(server)
    raise RuntimeError('the ps server stopped serving')


def _session_config(session_config, devices, variable_device):
    if session_config is not None:
        return session_config
    config = tf.ConfigProto(allow_soft_placement=True,
                            device_count={'CPU': num_cpu_devices(devices, variable_device)})
    return runtime.session_config(base=config)  # intra-op threads = cores, inter-op 1, OpenMP env, allow_growth


class _StageGraph(object):
    """Everything one stage's loop runs (built by _build_stage_graph)."""


class TrainStep(object):
    """The tensors of one training step on a batch (build_train_step): towers, var_list, learning_rate, step
    (utils.train_op.TrainOp), the non-finite step counter and, in a synchronous cluster, sync_optimizer."""


def build_train_step(model_config, train_config, batch, stage, devices, variable_device, global_step,
                     model_class=SiameseModel, cluster=None):
    """Builds the training step of `stage` on a batch dict of tensors in the default graph: the towers, their
    gradients, the learning rate, the optimizer and the guarded train op -> TrainStep. The training loop feeds it
    the reader's batch; benchmarks/bench_train.py also a constant one and, with `model_class`, other models. With a
    `cluster` (utils.distributed) the op is the synchronous or asynchronous distributed one, with this worker's
    counters."""
    result = TrainStep()
    data = train_config['train_data_config']
    frozen = staging.frozen_layers(stage['trainable_scopes'], model_config['embed_config']['train_embedding'])
    result.towers = build_towers(model_config, train_config, batch, devices, variable_device, 'train', frozen,
                                 seed=train_config['seed'], model_class=model_class)
    result.var_list = staging.select_variables(tf.trainable_variables(), stage['trainable_scopes'])
    compute_gradients(result.towers, result.var_list, variable_device)
    per_epoch = steps_per_epoch(train_config, cluster.examples_per_step if cluster is not None else 1)
    with tf.device(variable_device):
        result.learning_rate = schedules.learning_rate(train_config['lr_config'], global_step, per_epoch,
                                                       data['epoch'], stage['lr_mult'])
        multipliers = staging.variable_lr_mults(result.var_list, stage.get('scope_lr_mults') or {})
        optimizer = scaled_rate_optimizer(lambda rate: schedules.make_optimizer(train_config['optimizer_config'], rate),
                                          result.learning_rate, result.var_list, multipliers)
    result.counter = nonfinite_counter(variable_device)
    result.sync_optimizer = None
    if cluster is None:
        result.step = build_train_op(result.towers, result.var_list, optimizer, global_step,
                                     train_config['clip_gradients'], result.counter, variable_device)
        return result
    steps, nonfinite = distributed.worker_counters(cluster.num_workers, variable_device)
    steps, nonfinite = steps[cluster.task_index], nonfinite[cluster.task_index]
    if cluster.sync:
        result.step, result.sync_optimizer = distributed.build_sync_train_op(
            result.towers, result.var_list, optimizer, global_step, train_config['clip_gradients'], result.counter,
            variable_device, cluster, steps, nonfinite)
    else:
        result.step = distributed.build_async_train_op(
            result.towers, result.var_list, optimizer, global_step, train_config['clip_gradients'], result.counter,
            variable_device, steps, nonfinite)
    return result


@contextlib.contextmanager
def _placement(cluster, index):
    """In a cluster, the stage's graph is built under replica_device_setter and in resource container
    'stage-<index>' on the servers, so a new stage starts from uninitialised variables (the chief restores them;
    the others wait) and never meets the previous stage's queues and accumulators. A single process: nothing."""
    if cluster is None:
        yield
        return
    with tf.device(distributed.device_setter(cluster)), tf.container('stage-%d' % index):
        yield


def _build_stage_graph(run, index, resume_path):
    """Builds the stage's graph (readers, towers, train op, validation, saver, initialisation).

    A single process gets a finalised graph, `init_op` and `restorer`; a cluster worker gets `scaffold` (the chief's
    initialises the variables the checkpoint lacks, then restores the rest, so the others never see a half-restored
    model) and `sync_optimizer` in synchronous mode; MonitoredSession finalises its graph.
    """
    model_config, train_config, cluster = run.model_config, run.train_config, run.cluster
    devices, variable_device = run.devices, run.variable_device
    stage = run.stages[index]
    parts = _StageGraph()
    graph = parts.graph = tf.Graph()
    embed = model_config['embed_config']
    frozen = staging.frozen_layers(stage['trainable_scopes'], embed['train_embedding'])
    data = train_config['train_data_config']
    with graph.as_default(), _placement(cluster, index):
        tf.set_random_seed(train_config['seed'])
        with tf.device(variable_device), tf.container(''):  # where a waiting worker reads it (wait_for_global_step)
            parts.global_step = tf.train.get_or_create_global_step()
        parts.loader = DataLoader(data, train_config['augmentation_config'], is_training=True,
                                  exemplar_size=model_config['z_image_size'],
                                  instance_size=model_config['x_image_size'])
        parts.loader.build()
        parts.batch = parts.loader.get_one_batch()
        train_step = build_train_step(model_config, train_config, parts.batch, stage, devices, variable_device,
                                      parts.global_step, cluster=cluster)
        parts.towers, parts.var_list = train_step.towers, train_step.var_list
        parts.learning_rate, parts.step = train_step.learning_rate, train_step.step
        parts.sync_optimizer = train_step.sync_optimizer

        parts.validation_loader = parts.validation = None
        validation_config = train_config['validation_data_config']
        if (run.is_chief and validation_config['input_imdb'] is not None and
                train_config['validation_batches'] > 0):
            parts.validation_loader = DataLoader(validation_config, train_config['augmentation_config'],
                                                 is_training=False, exemplar_size=model_config['z_image_size'],
                                                 instance_size=model_config['x_image_size'])
            parts.validation_loader.build()
            with tf.device(tower_device_setter(devices[0], variable_device)), tf.name_scope('validation_model'):
                parts.validation = SiameseModel(model_config, train_config, 'validation',
                                                inputs=parts.validation_loader.get_one_batch(),
                                                seed=train_config['seed'])
                parts.validation.build(reuse=True)

        parts.saver = tf.train.Saver(tf.global_variables(), max_to_keep=train_config['max_checkpoints_to_keep'],
                                     save_relative_paths=True)
        parts.restorer, fresh = None, tf.global_variables()
        if resume_path:
            parts.restorer, fresh = _restorer(resume_path)
        elif train_config['init_checkpoint'] and run.is_chief:
            _init_from_checkpoint(train_config['init_checkpoint'], 'train_config.init_checkpoint', False)
        elif embed['embedding_checkpoint_file'] and run.is_chief:
            _init_from_checkpoint(embed['embedding_checkpoint_file'], 'embedding_checkpoint_file', True)
        num_model_variables = len(tf.model_variables())
        if cluster is None:
            parts.init_op = tf.group(tf.global_variables_initializer(), tf.local_variables_initializer())
            graph.finalize()
        else:
            def restore(scaffold, sess):
                # the stage's first session restores resume_path; a session MonitoredSession re-creates after
                # losing a server restores the latest checkpoint, which this stage wrote with `saver`
                latest = tf.train.latest_checkpoint(train_config['train_dir']) if run.is_chief else None
                if latest is not None and latest == resume_path:
                    parts.restorer.restore(sess, latest)
                elif latest is not None:
                    parts.saver.restore(sess, latest)

            parts.scaffold = tf.train.Scaffold(init_op=tf.variables_initializer(fresh, name='init_fresh'),
                                               init_fn=restore, saver=parts.saver)
    logger.info('stage graph: %d of %d model variables train, frozen embedding layers: %s, learning-rate multiplier '
                '%s, per scope %s', len(parts.var_list), num_model_variables, ', '.join(frozen) or 'none',
                stage['lr_mult'], stage.get('scope_lr_mults') or 'none')
    return parts


def _restorer(checkpoint_path):
    """(a Saver over the graph's variables stored in the checkpoint, the variables it lacks); checks the model
    variables are all there."""
    stored = dict(tf.train.list_variables(checkpoint_path))
    variables = tf.global_variables()
    check_variables(checkpoint_path, tf.model_variables())  # weights and BN statistics must all be there
    present = [v for v in variables if v.op.name in stored]
    check_variables(checkpoint_path, present)
    fresh = [v for v in variables if v.op.name not in stored]
    if fresh:
        logger.info('%d variables are not in %s and start from their initialisers (e.g. optimizer slots of layers '
                    'this stage trains): %s%s', len(fresh), checkpoint_path, ', '.join(v.op.name for v in fresh[:4]),
                    ' ...' if len(fresh) > 4 else '')
    return tf.train.Saver(present), fresh


def _init_from_checkpoint(checkpoint_file, key, embedding_only):
    """Initialises the model variables (weights and BN statistics) from a checkpoint prefix or run directory:
    only the siamrpn_alexnet/* ones with embedding_only, else every model variable (embedding and RPN head).
    Optimizer slots and the global step are not read: they start fresh. `key` names the config field in errors."""
    path = checkpoint_file
    if os.path.isdir(path):
        path = resolve_checkpoint(path)
    elif not tf.train.checkpoint_exists(path):
        raise IOError('%s %s is not a checkpoint (expected a prefix such as DIR/model.ckpt-0 with a .index file, or '
                      'a checkpoint directory)%s' % (key, path, '; write one with python scripts/'
                                                     'convert_pretrained_model.py SRC --arch otb --output DIR '
                                                     '--embedding-only' if embedding_only else ''))
    variables = tf.model_variables()
    if embedding_only:
        variables = [v for v in variables if v.op.name.startswith(staging.EMBEDDING_SCOPE + '/')]
    check_variables(path, variables)
    tf.train.init_from_checkpoint(path, {v.op.name: v for v in variables})
    logger.info('%s initialised from %s (%d variables)', 'embedding' if embedding_only else 'model', path,
                len(variables))


def _log_stage(run, index, start_step, end_step):
    stage = run.stages[index]
    logger.info('stage %d/%d (from epoch %s): steps %d-%d, trainable scopes %s', index + 1, len(run.stages),
                stage['start_epoch'], start_step, end_step, stage['trainable_scopes'])


def _close_loaders(parts):
    parts.loader.close()
    if parts.validation_loader is not None:
        parts.validation_loader.close()


def _run_stage(run, index, start_step, end_step):
    """Trains stage `index` from start_step to end_step in this process; returns the global step reached."""
    train_dir = run.train_config['train_dir']
    resume_path = tf.train.latest_checkpoint(train_dir)
    _log_stage(run, index, start_step, end_step)
    parts = _build_stage_graph(run, index, resume_path)
    sess = tf.Session(graph=parts.graph, config=run.session_config)
    coord = tf.train.Coordinator()
    threads = []
    writer = tf.summary.FileWriter(train_dir, graph=parts.graph if start_step == 0 else None)
    try:
        sess.run(parts.init_op)
        if parts.restorer is not None:
            parts.restorer.restore(sess, resume_path)
            writer.add_session_log(tf.SessionLog(status=tf.SessionLog.START), start_step)
        step = int(sess.run(parts.global_step))
        if step != start_step:
            raise RuntimeError('the restored global step %d differs from the expected %d' % (step, start_step))
        if resume_path is None:
            _save(parts, sess, train_dir, step)
        threads = tf.train.start_queue_runners(sess=sess, coord=coord)
        step = _loop(run, parts, sess, coord, writer, index, start_step, end_step)
    finally:
        coord.request_stop()
        try:
            coord.join(threads, stop_grace_period_secs=10)
        finally:
            writer.close()
            sess.close()
            _close_loaders(parts)
    return step


def _save(parts, sess, train_dir, step):
    path = parts.saver.save(sess, os.path.join(train_dir, CHECKPOINT_PREFIX), global_step=step,
                            write_meta_graph=False)
    logger.info('saved %s', path)
    return path


def _validate(parts, sess, writer, train_config, step, history):
    """Runs validation_batches batches of the validation model; logs and writes their means."""
    model = parts.validation
    names = ('total_loss', 'cls_loss', 'reg_loss', 'mean_top_iou')
    values = [sess.run([getattr(model, n) for n in names]) for _ in range(train_config['validation_batches'])]
    means = dict(zip(names, np.mean(np.array(values, np.float64), axis=0)))
    writer.add_summary(summaries.scalar_summary({'validation/' + n: means[n] for n in names}), step)
    history['validation'].append(dict(step=step, **{n: float(means[n]) for n in names}))
    logger.info('validation at step %d: loss %.4f (cls %.4f, reg %.4f), mean top-box IoU %.3f', step,
                means['total_loss'], means['cls_loss'], means['reg_loss'], means['mean_top_iou'])


def _due(previous_step, step, every):
    """Whether a period of `every` steps ended in (previous_step, step] (async workers may see steps jump)."""
    return step // every > previous_step // every


class _StepReport(object):
    """The per-step bookkeeping both loops share: what a step fetches, NaN injection, non-finite warnings and the
    abort, the log line and the history, and the TensorBoard protos (written by the single-process loop or the
    chief's _ChiefReportHook)."""

    def __init__(self, run, parts, index, start_step, end_step):
        self.run, self.parts, self.index, self.end_step = run, parts, index, end_step
        self.step = start_step  # the last global step this process saw
        train_config = run.train_config
        step_op = parts.step
        self.fetches = {'global_step': step_op.train_op, 'loss': step_op.loss, 'cls_loss': step_op.cls_loss,
                        'reg_loss': step_op.reg_loss, 'regularization_loss': step_op.regularization_loss,
                        'mean_top_iou': step_op.mean_top_iou, 'gradient_norm': step_op.gradient_norm,
                        'finite': step_op.finite, 'nonfinite_steps': step_op.nonfinite_steps,
                        'learning_rate': parts.learning_rate}
        if run.cluster is not None:
            self.fetches.update(worker_steps=step_op.worker_steps,
                                worker_nonfinite_steps=step_op.worker_nonfinite_steps)
        self.summary_fetches = dict(self.fetches, top_boxes=parts.towers[0].model.top_boxes,
                                    queue_fill_fraction=parts.loader.stats['queue_fill_fraction'],
                                    corrupt_records=parts.loader.stats['corrupt_records'])
        self.batch_size = train_config['train_data_config']['batch_size']
        self.examples_per_step = self.batch_size * run.batches_per_step
        self.tower_batch = self.batch_size // len(parts.towers)
        self.nan_steps = set(int(s) for s in train_config['nan_injection_steps'])
        self.abort_after = train_config['abort_after_nonfinite_steps']
        self.nonfinite_in_a_row = 0
        self.window = []  # (data wait, compute) of the steps since the last log line

    def summary_due(self):
        return _due(self.step, self.step + 1, self.run.train_config['summary_every_n_steps'])

    def feed(self, values):
        """The feed dict of the dequeued batch `values` (replaced by NaN at nan_injection_steps)."""
        if self.step in self.nan_steps:
            values['instance'] = np.full_like(values['instance'], np.nan)
            logger.warning('step %d: the batch is replaced by NaN (train_config.nan_injection_steps, a test switch)',
                           self.step)
        return {self.parts.batch[k]: v for k, v in values.items()}

    def record(self, out, waited, computed):
        """Takes a step's fetched values: warns about (and counts) a non-finite batch, logs at the log period and at
        the stage end. Returns the previous global step."""
        previous, self.step = self.step, int(out['global_step'])
        self.window.append((waited, computed))
        self._check_finite(out)
        if _due(previous, self.step, self.run.train_config['log_every_n_steps']) or self.step >= self.end_step:
            self._log(out)
        return previous

    def _check_finite(self, out):
        if out['finite']:
            self.nonfinite_in_a_row = 0
            return
        self.nonfinite_in_a_row += 1
        cluster = self.run.cluster
        if cluster is not None and cluster.sync:
            logger.warning('step %d: worker %d\'s loss %s, gradient norm %s are not both finite; its gradient is left '
                           'out of the synchronous update (%d of its gradients so far; %d steps skipped by every '
                           'worker)', self.step, cluster.task_index, out['loss'], out['gradient_norm'],
                           out['worker_nonfinite_steps'], out['nonfinite_steps'])
        else:
            logger.warning('step %d skipped: loss %s, gradient norm %s are not both finite; weights and BN statistics '
                           'are unchanged (%d non-finite steps so far)', self.step, out['loss'], out['gradient_norm'],
                           out['nonfinite_steps'])
        if self.abort_after and self.nonfinite_in_a_row >= self.abort_after:
            raise RuntimeError('%d training steps in a row had a non-finite loss or gradient (last at step %d); '
                               'stopping: lower the learning rate or check the data' % (self.nonfinite_in_a_row,
                                                                                        self.step))

    def _log(self, out):
        run = self.run
        wait, compute = np.mean(self.window, axis=0)
        rate = self.examples_per_step / max(wait + compute, 1e-9)
        eta = (run.last_step - self.step) * (wait + compute)
        extra, row = '', {}
        if 'worker_steps' in out:
            extra = ' [worker %d: %d gradients, %d non-finite]' % (run.cluster.task_index, out['worker_steps'],
                                                                  out['worker_nonfinite_steps'])
            row = {'worker_steps': int(out['worker_steps']),
                   'worker_nonfinite_steps': int(out['worker_nonfinite_steps'])}
        logger.info('step %d/%d (epoch %.2f, stage %d/%d): loss %.4f (cls %.4f, reg %.4f), top-box IoU %.3f, '
                    'lr %.3g, %.1f examples/s (data wait %.3f s + compute %.3f s per step), ETA %s%s', self.step,
                    run.last_step, self.step / float(run.per_epoch), self.index + 1, len(run.stages), out['loss'],
                    out['cls_loss'], out['reg_loss'], out['mean_top_iou'], out['learning_rate'], rate, wait, compute,
                    _format_duration(eta), extra)
        row.update({'step': self.step, 'loss': float(out['loss']), 'cls_loss': float(out['cls_loss']),
                    'reg_loss': float(out['reg_loss']), 'mean_top_iou': float(out['mean_top_iou']),
                    'learning_rate': float(out['learning_rate']), 'examples_per_sec': rate,
                    'data_wait_seconds': float(wait), 'compute_seconds': float(compute)})
        run.history['train'].append(row)
        self.window = []

    def summaries(self, out, values, waited, computed):
        """[scalars, pair images] tf.Summary protos of a step fetched with summary_fetches."""
        examples_per_sec = self.examples_per_step / max(waited + computed, 1e-9)
        scalars = {'train/total_loss': out['loss'], 'train/cls_loss': out['cls_loss'],
                   'train/reg_loss': out['reg_loss'], 'train/regularization_loss': out['regularization_loss'],
                   'train/learning_rate': out['learning_rate'], 'train/mean_top_iou': out['mean_top_iou'],
                   'train/gradient_norm': out['gradient_norm'], 'train/examples_per_sec': examples_per_sec,
                   'train/data_wait_seconds': waited, 'train/compute_seconds': computed,
                   'train/queue_fill_fraction': out['queue_fill_fraction'],
                   'train/skipped_nonfinite_steps': out['nonfinite_steps'],
                   'train/corrupt_records_skipped': out['corrupt_records']}
        if 'worker_steps' in out:
            scalars.update({tag: out[tag.split('/', 1)[1]] for tag in summaries.DISTRIBUTED_SCALARS})
        count = self.tower_batch
        exemplar_row, instance_row = summaries.draw_pairs(
            values['exemplar'][:count], values['instance'][:count], values['instance_box'][:count], out['top_boxes'],
            values['is_negative'][:count])
        return [summaries.scalar_summary(scalars),
                summaries.image_summary({'train/exemplar': exemplar_row, 'train/instance': instance_row})]


def _loop(run, parts, sess, coord, writer, index, start_step, end_step):
    """The single-process step loop of one stage; returns the global step reached."""
    train_config, train_dir = run.train_config, run.train_config['train_dir']
    report = _StepReport(run, parts, index, start_step, end_step)
    step = start_step
    while step < end_step:
        if coord.should_stop():
            break
        begin = time.time()
        try:
            values = sess.run(parts.batch)
        except tf.errors.OutOfRangeError:
            coord.request_stop()
            break  # the reader stopped (its error is raised by coord.join)
        waited = time.time() - begin
        summarize = report.summary_due()
        out = sess.run(report.summary_fetches if summarize else report.fetches, report.feed(values))
        computed = time.time() - begin - waited
        previous = report.record(out, waited, computed)
        step = report.step
        if summarize:
            for summary in report.summaries(out, values, waited, computed):
                writer.add_summary(summary, step)
        if parts.validation is not None and (_due(previous, step, train_config['validation_every_n_steps'])
                                             or step == run.last_step):
            _validate(parts, sess, writer, train_config, step, run.history)
        if _due(previous, step, train_config['save_model_every_n_steps']) or step == end_step:
            _save(parts, sess, train_dir, step)
    return step


# ----------------------------------------------------------------------------------------------------------------
# A stage on a cluster (utils/distributed.py): MonitoredSession with the chief's hooks.

class _ChiefReportHook(tf.compat.v1.train.SessionRunHook):
    """The chief's TensorBoard summaries and validation, as a session hook beside CheckpointSaverHook (the other
    workers write nothing). The loop arms it with the step's batch when summaries are due."""

    def __init__(self, run, parts, report, resumed_at):
        self._run, self._parts, self._report, self._resumed_at = run, parts, report, resumed_at
        self._pending, self._step, self._writer = None, None, None

    def begin(self):
        self._writer = tf.summary.FileWriterCache.get(self._run.train_config['train_dir'])

    def after_create_session(self, session, coord):
        self._step = int(session.run(self._parts.global_step))
        if self._resumed_at is not None:  # TensorBoard drops the events a killed run wrote past this step
            self._writer.add_session_log(tf.SessionLog(status=tf.SessionLog.START), self._resumed_at)

    def arm(self, values, waited, begin):
        self._pending = (values, waited, begin)

    def before_run(self, run_context):
        fetches = self._report.summary_fetches if self._pending else {'global_step': self._parts.step.train_op}
        return tf.train.SessionRunArgs(fetches)

    def after_run(self, run_context, run_values):
        out = run_values.results
        previous, self._step = self._step, int(out['global_step'])
        if self._pending is not None:
            values, waited, begin = self._pending
            self._pending = None
            for summary in self._report.summaries(out, values, waited, time.time() - begin - waited):
                self._writer.add_summary(summary, self._step)
        train_config = self._run.train_config
        if self._parts.validation is not None and (_due(previous, self._step, train_config['validation_every_n_steps'])
                                                   or self._step >= self._run.last_step):
            _validate(self._parts, run_context.session, self._writer, train_config, self._step, self._run.history)

    def end(self, session):
        self._writer.flush()


def _run_distributed_stage(run, index, start_step, end_step):
    """Trains stage `index` on the cluster from about start_step to end_step; returns the global step reached.

    A tf.train.MonitoredSession with the hooks tf.train.MonitoredTrainingSession would install, built directly so a
    non-chief worker polls the chief's initialisation every recovery_wait_secs (MonitoredTrainingSession: 30 s):
    StopAtStepHook(end_step) and the synchronous optimizer's hook everywhere; on the chief CheckpointSaverHook
    (a checkpoint at the start, every save_model_every_n_steps and at the end) and _ChiefReportHook.
    """
    cluster, train_config = run.cluster, run.train_config
    train_dir = train_config['train_dir']
    resume_path = tf.train.latest_checkpoint(train_dir) if cluster.is_chief else None
    _log_stage(run, index, start_step, end_step)
    parts = _build_stage_graph(run, index, resume_path)
    config = distributed.worker_session_config(cluster, run.session_config)
    report = _StepReport(run, parts, index, start_step, end_step)
    sync_hook = report_hook = None
    with parts.graph.as_default():
        hooks = [tf.train.StopAtStepHook(last_step=end_step)]
        if cluster.sync:
            sync_hook = distributed.SyncReplicasHook(parts.sync_optimizer, cluster.is_chief, cluster.initial_tokens)
            hooks.append(sync_hook)
        if cluster.is_chief:
            report_hook = _ChiefReportHook(run, parts, report, start_step if resume_path else None)
            hooks += [tf.train.CheckpointSaverHook(train_dir, save_steps=train_config['save_model_every_n_steps'],
                                                   saver=parts.saver, checkpoint_basename=CHECKPOINT_PREFIX),
                      report_hook]
            creator = tf.train.ChiefSessionCreator(parts.scaffold, master=run.server.target, config=config)
        else:
            creator = distributed.WorkerSessionCreator(parts.scaffold, run.server.target, config,
                                                       cluster.max_wait_secs, cluster.recovery_wait_secs)

        def step_fn(step_context):  # MonitoredSession.run_step_fn requires this parameter name
            begin = time.time()
            values = step_context.session.run(parts.batch)  # the raw session: the dequeue runs no hooks
            waited = time.time() - begin
            if report_hook is not None and report.summary_due():
                report_hook.arm(values, waited, begin)
            out = step_context.run_with_hooks(report.fetches, feed_dict=report.feed(values))
            return out, waited, time.time() - begin - waited

        try:
            with tf.train.MonitoredSession(creator, hooks=hooks,
                                           stop_grace_period_secs=cluster.stop_grace_period_secs) as sess:
                report.step = int(sess.run_step_fn(lambda step_context: step_context.session.run(parts.global_step)))
                if cluster.is_chief and report.step != start_step:
                    raise RuntimeError('the restored global step %d differs from the expected %d' % (
                        report.step, start_step))
                while not sess.should_stop() and report.step < end_step:
                    report.record(*sess.run_step_fn(step_fn))
        finally:
            if sync_hook is not None:
                sync_hook.join(cluster.stop_grace_period_secs)
            _close_loaders(parts)
    if report.step < end_step:
        raise RuntimeError('stage %d stopped at global step %d before its end %d' % (index + 1, report.step,
                                                                                     end_step))
    return report.step


# ----------------------------------------------------------------------------------------------------------------
# The Sacred experiment.

# Capture Python-level output only: the default 'fd' capture runs `tee` subprocesses, which outlive a killed run.
SETTINGS.CAPTURE_MODE = 'sys'

ex = Experiment(configuration.RUN_NAME)
ex.captured_out_filter = apply_backspaces_and_linefeeds  # progress bars as their final state in cout.txt


@ex.config
def configurations():
    # The defaults; experiments/*.py add their updates and the command line overrides single keys.
    model_config = configuration.MODEL_CONFIG  # noqa: F841 (Sacred collects it)
    train_config = configuration.TRAIN_CONFIG  # noqa: F841 (Sacred collects it)
    track_config = configuration.TRACK_CONFIG  # noqa: F841 (Sacred collects it)


def plain(value):
    """A deep copy of a (Sacred read-only) config value made of plain dicts and lists."""
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    return value


# Dicts whose keys are names the user chooses (any key is valid below them), besides dicts whose default is empty.
OPEN_CONFIG_KEYS = ('train_config.real_data_config.sources',)


def unknown_config_keys(config, defaults, prefix):
    """Dotted paths of `config` keys that `defaults` lacks (a typo such as model_config.loss_config, which lives in
    train_config). Keys below OPEN_CONFIG_KEYS and below dicts whose default is empty are free. -> sorted list."""
    if prefix in OPEN_CONFIG_KEYS or not defaults:
        return []
    unknown = []
    for key, value in config.items():
        path = '%s.%s' % (prefix, key)
        if key not in defaults:
            unknown.append(path)
        elif isinstance(value, dict) and isinstance(defaults[key], dict):
            unknown.extend(unknown_config_keys(value, defaults[key], path))
    return sorted(unknown)


def check_config_keys(model_config, train_config, track_config):
    """Raises ValueError naming every configuration key that configuration.py does not define. Sacred only warns
    about a key a `with` assignment adds below a captured dict, so a misspelt override would otherwise be ignored."""
    unknown = []
    for name, config, defaults in (('model_config', model_config, configuration.MODEL_CONFIG),
                                   ('train_config', train_config, configuration.TRAIN_CONFIG),
                                   ('track_config', track_config, configuration.TRACK_CONFIG)):
        unknown.extend(unknown_config_keys(config, defaults, name))
    if unknown:
        raise ValueError('unknown configuration keys: %s (configuration.py lists every key; is one misspelt or in '
                         'another config?)' % ', '.join(unknown))


@ex.main
def main(model_config, train_config, track_config):
    """Trains with the run's configuration; returns the final global step (Sacred records it as the result)."""
    model_config, train_config, track_config = plain(model_config), plain(train_config), plain(track_config)
    check_config_keys(model_config, train_config, track_config)
    summary = train(model_config, train_config, track_config)
    return summary['global_step']


class ChiefOnlyObserver(RunObserver):
    """Forwards a run's events to `observer` only in the process that records the run: a single process or the
    chief worker of a cluster. ps tasks and the other workers run the same command and record nothing, so one
    distributed run leaves one Sacred record. Decided at the start from the run's final configuration (TF_CONFIG or
    train_config.cluster_config)."""

    def __init__(self, observer):
        self.observer = observer
        self.priority = observer.priority
        self.active = True

    def _decide(self, config):
        self.active = distributed.is_chief_process(cluster_config_of(plain(config.get('train_config', {}))))
        return self.active

    def queued_event(self, ex_info, command, host_info, queue_time, config, meta_info, _id):
        if self._decide(config):
            return self.observer.queued_event(ex_info, command, host_info, queue_time, config, meta_info, _id)

    def started_event(self, ex_info, command, host_info, start_time, config, meta_info, _id):
        if self._decide(config):
            return self.observer.started_event(ex_info, command, host_info, start_time, config, meta_info, _id)

    def heartbeat_event(self, info, captured_out, beat_time, result):
        if self.active:
            self.observer.heartbeat_event(info, captured_out, beat_time, result)

    def completed_event(self, stop_time, result):
        if self.active:
            self.observer.completed_event(stop_time, result)

    def interrupted_event(self, interrupt_time, status):
        if self.active:
            self.observer.interrupted_event(interrupt_time, status)

    def failed_event(self, fail_time, fail_trace):
        if self.active:
            self.observer.failed_event(fail_time, fail_trace)

    def resource_event(self, filename):
        if self.active:
            self.observer.resource_event(filename)

    def artifact_event(self, name, filename, metadata=None, content_type=None):
        if self.active:
            self.observer.artifact_event(name, filename, metadata, content_type)

    def log_metrics(self, metrics_by_name, info):
        if self.active:
            self.observer.log_metrics(metrics_by_name, info)

    def join(self):
        if self.active:
            self.observer.join()


def sacred_dir(run_name):
    """Where the FileStorageObserver of a run writes: <LOG_DIR>/<run>/sacred."""
    return osp.join(configuration.LOG_DIR, run_name, 'sacred')


def run_paths(run_name):
    """The config updates that name a run's directory (its checkpoints, configs and TensorBoard events)."""
    return {'train_config': {'train_dir': osp.join(configuration.LOG_DIR, 'track_model_checkpoints', run_name)}}


def run_experiment(run_name, config_updates=None, config_scopes=(), argv=None, doc=None):
    """Runs `ex` from a command line as experiment `run_name` (what experiments/*.py call).

    Args:
      run_name: names the run, its train_dir and its Sacred records.
      config_updates: nested dict of updates over the defaults (after the run's paths).
      config_scopes: Sacred config functions applied after the updates, in order; they see the configuration so
          far (including the command line's values, which they cannot change).
      argv: command line (default sys.argv): `[with key=value ...]`, `print_config`, `--help`, ...
      doc: the text `--help` prints (the experiment script's docstring).
    Returns:
      the Sacred Run.
    """
    logging.basicConfig(level=logging.INFO, format='%(asctime)s %(levelname)s %(name)s: %(message)s')
    ex.add_config(run_paths(run_name))
    if config_updates:
        ex.add_config(config_updates)
    for name, preset in configuration.TRAINING_RULE_PRESETS.items():  # `with pysot_rules`, `with legacy_rules`
        ex.add_named_config('%s_rules' % name, {'train_config': copy.deepcopy(preset)})
    for scope in config_scopes:
        ex.config(scope)
    ex.observers.append(ChiefOnlyObserver(FileStorageObserver(sacred_dir(run_name))))
    ex.path = run_name  # the experiment's name in Sacred's records and logs
    if doc:
        ex.doc = doc
    return ex.run_commandline(sys.argv if argv is None else argv)


if __name__ == '__main__':
    run_experiment(configuration.RUN_NAME, doc=__doc__)
