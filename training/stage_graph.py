"""One stage's graph: the readers, the towers and the guarded train op (`build_train_step`), the validation model,
the Saver, and the variables' start (restored from the latest checkpoint, or initialised, on a fresh start from
train_config.init_checkpoint or embedding_checkpoint_file when set). In a cluster the graph is placed by
replica_device_setter in its own resource container, and the chief's initialisation is a Scaffold."""

import contextlib
import logging
import os

import tensorflow as tf

from datasets.dataloader import DataLoader
from siamese_model import SiameseModel
from training import distributed, schedules, stages as staging
from training.run_config import steps_per_epoch
from training.towers import build_towers, compute_gradients
from training.train_op import build_train_op, nonfinite_counter, scaled_rate_optimizer
from training.validation import build_validation
from utils.checkpoints import check_variables, resolve_checkpoint

logger = logging.getLogger(__name__)


class StageGraph(object):
    """Everything one stage's loop runs (built by build_stage_graph)."""


class TrainStep(object):
    """The tensors of one training step on a batch (build_train_step): towers, var_list, learning_rate, step
    (training.train_op.TrainOp), the non-finite step counter and, in a synchronous cluster, sync_optimizer."""


def build_train_step(model_config, train_config, batch, stage, devices, variable_device, global_step,
                     model_class=SiameseModel, cluster=None):
    """Builds the training step of `stage` on a batch dict of tensors in the default graph: the towers, their
    gradients, the learning rate, the optimizer and the guarded train op -> TrainStep. The training loop feeds it
    the reader's batch; benchmarks/bench_train.py also a constant one and, with `model_class`, other models. With a
    `cluster` (training.distributed) the op is the synchronous or asynchronous distributed one, with this worker's
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


def build_stage_graph(run, index, resume_path):
    """Builds the stage's graph (readers, towers, train op, validation, saver, initialisation).

    A single process gets a finalised graph, `init_op` and `restorer`; a cluster worker gets `scaffold` (the chief's
    initialises the variables the checkpoint lacks, then restores the rest, so the others never see a half-restored
    model) and `sync_optimizer` in synchronous mode; MonitoredSession finalises its graph.
    """
    model_config, train_config, cluster = run.model_config, run.train_config, run.cluster
    devices, variable_device = run.devices, run.variable_device
    stage = run.stages[index]
    parts = StageGraph()
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
        if run.is_chief:
            parts.validation_loader, parts.validation = build_validation(model_config, train_config, devices[0],
                                                                         variable_device)

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


def close_loaders(parts):
    """Closes the stage's readers."""
    parts.loader.close()
    if parts.validation_loader is not None:
        parts.validation_loader.close()
