"""A stage on a cluster (training/distributed.py): a MonitoredSession with the hooks
tf.train.MonitoredTrainingSession would install, and the chief's summaries and validation as a hook."""

import time

import tensorflow as tf

from training import distributed
from training.report import StepReport, due, log_stage
from training.stage_graph import build_stage_graph, close_loaders
from training.validation import validate
from utils.checkpoints import CHECKPOINT_PREFIX


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
        if self._parts.validation is not None and (due(previous, self._step, train_config['validation_every_n_steps'])
                                                   or self._step >= self._run.last_step):
            validate(self._parts, run_context.session, self._writer, train_config, self._step, self._run.history)

    def end(self, session):
        self._writer.flush()


def run_distributed_stage(run, index, start_step, end_step):
    """Trains stage `index` on the cluster from about start_step to end_step; returns the global step reached.

    A tf.train.MonitoredSession with the hooks tf.train.MonitoredTrainingSession would install, built directly so a
    non-chief worker polls the chief's initialisation every recovery_wait_secs (MonitoredTrainingSession: 30 s):
    StopAtStepHook(end_step) and the synchronous optimizer's hook everywhere; on the chief CheckpointSaverHook
    (a checkpoint at the start, every save_model_every_n_steps and at the end) and _ChiefReportHook.
    """
    cluster, train_config = run.cluster, run.train_config
    train_dir = train_config['train_dir']
    resume_path = tf.train.latest_checkpoint(train_dir) if cluster.is_chief else None
    log_stage(run, index, start_step, end_step)
    parts = build_stage_graph(run, index, resume_path)
    config = distributed.worker_session_config(cluster, run.session_config)
    report = StepReport(run, parts, index, start_step, end_step)
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
            close_loaders(parts)
    if report.step < end_step:
        raise RuntimeError('stage %d stopped at global step %d before its end %d' % (index + 1, report.step,
                                                                                     end_step))
    return report.step
