"""Validation while training: a 'validation' SiameseModel on the validation reader's batches, sharing the trained
variables, and the means of validation_batches batches, logged, written to TensorBoard and kept in the history."""

import logging

import numpy as np
import tensorflow as tf

from datasets.dataloader import DataLoader
from siamese_model import SiameseModel
from training import summaries
from training.towers import conv_algorithm_for_device, tower_device_setter

logger = logging.getLogger(__name__)


def build_validation(model_config, train_config, device, variable_device):
    """The validation reader and model in the default graph, after the training towers (whose variables it reuses),
    its ops on `device` and its variables on `variable_device` -> (DataLoader, SiameseModel), or (None, None) when
    validation is off (validation_data_config.input_imdb None or validation_batches 0)."""
    validation_config = train_config['validation_data_config']
    if validation_config['input_imdb'] is None or not train_config['validation_batches'] > 0:
        return None, None
    loader = DataLoader(validation_config, train_config['augmentation_config'], is_training=False,
                        exemplar_size=model_config['z_image_size'], instance_size=model_config['x_image_size'])
    loader.build()
    with tf.device(tower_device_setter(device, variable_device)), tf.name_scope('validation_model'):
        config = dict(train_config, conv_algorithm=conv_algorithm_for_device(train_config['conv_algorithm'], device))
        model = SiameseModel(model_config, config, 'validation', inputs=loader.get_one_batch(),
                             seed=train_config['seed'])
        model.build(reuse=True)
    return loader, model


def validate(parts, sess, writer, train_config, step, history):
    """Runs validation_batches batches of the validation model; logs and writes their means."""
    model = parts.validation
    names = ('total_loss', 'cls_loss', 'reg_loss', 'mean_top_iou')
    values = [sess.run([getattr(model, n) for n in names]) for _ in range(train_config['validation_batches'])]
    means = dict(zip(names, np.mean(np.array(values, np.float64), axis=0)))
    writer.add_summary(summaries.scalar_summary({'validation/' + n: means[n] for n in names}), step)
    history['validation'].append(dict(step=step, **{n: float(means[n]) for n in names}))
    logger.info('validation at step %d: loss %.4f (cls %.4f, reg %.4f), mean top-box IoU %.3f', step,
                means['total_loss'], means['cls_loss'], means['reg_loss'], means['mean_top_iou'])
