"""What the training loops report per step (StepReport): the fetches, NaN injection, non-finite warnings and the
abort, the log line and the history row, and the TensorBoard protos (training/summaries.py); the stage's log line and
the periods' arithmetic (`due`)."""

import logging

import numpy as np

from training import summaries

logger = logging.getLogger(__name__)


def due(previous_step, step, every):
    """Whether a period of `every` steps ended in (previous_step, step] (async workers may see steps jump)."""
    return step // every > previous_step // every


def format_duration(seconds):
    """Seconds as H:MM:SS."""
    seconds = int(max(seconds, 0))
    return '%d:%02d:%02d' % (seconds // 3600, seconds // 60 % 60, seconds % 60)


def log_stage(run, index, start_step, end_step):
    """Logs the start of stage `index`: its steps and trainable scopes."""
    stage = run.stages[index]
    logger.info('stage %d/%d (from epoch %s): steps %d-%d, trainable scopes %s', index + 1, len(run.stages),
                stage['start_epoch'], start_step, end_step, stage['trainable_scopes'])


class StepReport(object):
    """The per-step bookkeeping both loops share: what a step fetches, NaN injection, non-finite warnings and the
    abort, the log line and the history, and the TensorBoard protos (written by the single-process loop or the
    chief's _ChiefReportHook, training/cluster_stage.py)."""

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
        return due(self.step, self.step + 1, self.run.train_config['summary_every_n_steps'])

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
        if due(previous, self.step, self.run.train_config['log_every_n_steps']) or self.step >= self.end_step:
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
                    format_duration(eta), extra)
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
