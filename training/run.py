"""The training run: `train(model_config, train_config, track_config)` trains (or resumes) a run and returns its
summary; train_siamese_model.py's Sacred experiment calls it.

One run:
  1. data: the configured imdb + LMDB, or (train_data_config.input_imdb None) the embedded synthetic dataset, built
     if missing (datasets.synthetic) and announced in the log (training/run_config.py);
  2. train_dir: the latest checkpoint decides where to start (global step and stage); model_config must equal the
     saved model_config.json; the three config JSON files are (re)written atomically;
  3. per stage (training/stages.py) a graph (training/stage_graph.py): queue readers, towers, the guarded train op
     (training/train_op.py), a validation model sharing the variables, a Saver; variables restored from the latest
     checkpoint (variables it lacks, e.g. optimizer slots of layers unfrozen by this stage, are initialised), or
     initialised on a fresh start (the embedding and RPN head from `train_config.init_checkpoint`, or the embedding
     only from `embedding_checkpoint_file`, when set), which saves model.ckpt-0 at once;
  4. per step: the batch is dequeued in one session.run (data wait) and fed to the train step (compute), so the two
     times are measured separately; logs, summaries (training/report.py), validation and checkpoints at their
     periods; a checkpoint at each stage end and at the end.

Distributed (README "Distributed training"; training/distributed.py): with a cluster in TF_CONFIG or
train_config.cluster_config the same command is one task of it. A ps task serves the variables until stopped; a
worker builds each stage's graph under replica_device_setter and trains it in a MonitoredSession
(training/cluster_stage.py), synchronously (SyncReplicasOptimizer, the non-finite guard applied to the mean of the
finite workers' gradients) or asynchronously; only the chief (worker 0) restores, checkpoints (CheckpointSaverHook),
writes summaries and validates (_ChiefReportHook), writes the config JSON and the Sacred record (ChiefOnlyObserver
in train_siamese_model.py); the other workers wait for its initialisation. scripts/launch_local_cluster.py runs a
cluster on one machine.

Checkpoints are `train_dir/model.ckpt-<global step>` (the number of completed steps; model.ckpt-0 is the untrained
start). tf.train.Saver writes the data and index files under temporary names and renames them, then replaces the
`checkpoint` index file atomically, and deletes checkpoints beyond max_checkpoints_to_keep only after that; a crash
mid-save therefore leaves the previous checkpoint as the latest, intact (tests/training/test_run.py).
"""

import copy
import logging
import os
import time

import tensorflow as tf

from training import distributed, stages as staging
from training.cluster_stage import run_distributed_stage
from training.report import StepReport, due, format_duration, log_stage
from training.run_config import (check_init_configs, check_resume_configs, check_train_config, resolve_data,
                                 steps_per_epoch, total_steps)
from training.stage_graph import build_stage_graph, close_loaders
from training.towers import conv_algorithm_for_device, num_cpu_devices, resolve_devices
from training.validation import validate
from utils import runtime
from utils.checkpoints import CHECKPOINT_PREFIX, checkpoint_step, write_configs

logger = logging.getLogger(__name__)


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

    With a cluster (TF_CONFIG or train_config.cluster_config; training/distributed.py) this is one task of it: a ps
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
    cluster = distributed.resolve_cluster(distributed.cluster_config_of(train_config))
    if cluster is not None and cluster.is_ps:
        distributed.serve_ps(cluster)
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
    logger.info('embedding convs: %s (train_config.conv_algorithm %r; Winograd only for layers with >= 128 outputs)',
                ', '.join('%s %s' % (d, conv_algorithm_for_device(train_config['conv_algorithm'], d)) for d in devices),
                train_config['conv_algorithm'])
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
                step = run_distributed_stage(run, index, step, end)
    finally:
        if cluster is not None:
            tf.summary.FileWriterCache.clear()  # flushes and closes the chief's event writer
    latest = tf.train.latest_checkpoint(train_dir) if run.is_chief else None
    seconds = time.time() - start_time
    logger.info('training finished at step %d in %s; latest checkpoint %s', step, format_duration(seconds),
                latest if run.is_chief else '(written by the chief)')
    return {'train_dir': train_dir, 'global_step': step, 'checkpoint': latest, 'synthetic_data': synthetic,
            'seconds': seconds, 'history': run.history, 'cluster': cluster.describe() if cluster else None}


def _session_config(session_config, devices, variable_device):
    if session_config is not None:
        return session_config
    config = tf.ConfigProto(allow_soft_placement=True,
                            device_count={'CPU': num_cpu_devices(devices, variable_device)})
    return runtime.session_config(base=config)  # intra-op threads = cores, inter-op 1, OpenMP env, allow_growth


# ----------------------------------------------------------------------------------------------------------------
# A stage in one process (a stage on a cluster: training/cluster_stage.py).

def _run_stage(run, index, start_step, end_step):
    """Trains stage `index` from start_step to end_step in this process; returns the global step reached."""
    train_dir = run.train_config['train_dir']
    resume_path = tf.train.latest_checkpoint(train_dir)
    log_stage(run, index, start_step, end_step)
    parts = build_stage_graph(run, index, resume_path)
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
            close_loaders(parts)
    return step


def _save(parts, sess, train_dir, step):
    path = parts.saver.save(sess, os.path.join(train_dir, CHECKPOINT_PREFIX), global_step=step,
                            write_meta_graph=False)
    logger.info('saved %s', path)
    return path


def _loop(run, parts, sess, coord, writer, index, start_step, end_step):
    """The single-process step loop of one stage; returns the global step reached."""
    train_config, train_dir = run.train_config, run.train_config['train_dir']
    report = StepReport(run, parts, index, start_step, end_step)
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
        if parts.validation is not None and (due(previous, step, train_config['validation_every_n_steps'])
                                             or step == run.last_step):
            validate(parts, sess, writer, train_config, step, run.history)
        if due(previous, step, train_config['save_model_every_n_steps']) or step == end_step:
            _save(parts, sess, train_dir, step)
    return step
