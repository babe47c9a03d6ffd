"""Writes checkpoint directories (TF checkpoint + config JSON) from numpy values or random initialisation.

Used by the PyTorch converter, tests and benchmarks, so converted, random and trained checkpoints load the same
way (see utils/checkpoints.py for the contract). The directory is assembled in a temp folder beside it and moved
in with the `checkpoint` index file last, so a reader never sees a half-written checkpoint.
"""

import glob
import os
import shutil
import tempfile

import cv2
import numpy as np
import tensorflow as tf

import configuration
from embeddings.siamrpn_alexnet import LAYERS
from siamese_model import SiameseModel
from utils.checkpoints import CHECKPOINT_PREFIX, CONFIG_FILES, write_configs


def _model_graph(model_config, seed=None):
    """A graph with the model's variables (SiameseModel in inference mode) and a global step."""
    graph = tf.Graph()
    with graph.as_default():
        if seed is not None:
            tf.set_random_seed(seed)
        SiameseModel(model_config, mode='inference').build()
        tf.train.get_or_create_global_step()
    return graph


def _existing_checkpoint_files(directory):
    names = [os.path.join(directory, 'checkpoint')] + glob.glob(os.path.join(directory, CHECKPOINT_PREFIX + '-*'))
    names += [os.path.join(directory, filename) for _, filename in CONFIG_FILES]
    return [n for n in names if os.path.exists(n)]


def save_checkpoint_dir(output_dir, values, model_config, train_config=None, track_config=None, step=0,
                        overwrite=False, scopes=None):
    """Writes `values` (TF variable name -> array) as `output_dir`/model.ckpt-<step> plus the config JSON.

    Args:
      values: must cover every model variable (or every variable under `scopes`) with matching shapes.
      train_config, track_config: default TRAIN_CONFIG / TRACK_CONFIG.
      overwrite: replace an existing checkpoint in output_dir (else that is an error).
      scopes: only save variables under these top-level scopes (e.g. ('siamrpn_alexnet',) for an embedding).
    Returns:
      the checkpoint prefix written.
    """
    train_config = configuration.TRAIN_CONFIG if train_config is None else train_config
    track_config = configuration.TRACK_CONFIG if track_config is None else track_config
    existing = _existing_checkpoint_files(output_dir) if os.path.isdir(output_dir) else []
    if existing and not overwrite:
        raise IOError('%s already holds a checkpoint (%s); choose another directory or overwrite it'
                      % (output_dir, os.path.basename(existing[0])))
    graph = _model_graph(model_config)
    with graph.as_default():
        variables = [v for v in tf.global_variables()
                     if scopes is None or v.op.name.split('/')[0] in scopes or v.op.name == 'global_step']
        model_variables = [v for v in variables if v.op.name != 'global_step']
        _check_values(values, model_variables)
        saver = tf.train.Saver(variables, save_relative_paths=True)
        parent = os.path.dirname(os.path.abspath(output_dir))
        os.makedirs(parent, exist_ok=True)
        staging = tempfile.mkdtemp(prefix='.%s.partial-' % os.path.basename(os.path.abspath(output_dir)), dir=parent)
        try:
            with tf.Session(graph=graph) as sess:
                sess.run(tf.train.get_global_step().initializer)
                assign_values(sess, [tf.train.get_global_step()], {'global_step': step})
                assign_values(sess, model_variables, values)
                saver.save(sess, os.path.join(staging, CHECKPOINT_PREFIX), global_step=step,
                           write_meta_graph=False)
            write_configs(staging, model_config, train_config, track_config)
            _move_into(staging, output_dir, existing)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return os.path.join(output_dir, '%s-%d' % (CHECKPOINT_PREFIX, step))


def assign_values(sess, variables, values):
    """Assigns values[v.op.name] to each variable through placeholders (one run)."""
    feed, ops = {}, []
    for variable in variables:
        placeholder = tf.placeholder(variable.dtype.base_dtype, variable.get_shape())
        ops.append(tf.assign(variable, placeholder))
        feed[placeholder] = values[variable.op.name]
    sess.run(ops, feed)


def _check_values(values, variables):
    names = {v.op.name for v in variables}
    missing = sorted(names - set(values))
    unexpected = sorted(set(values) - names)
    misshaped = ['%s: %s vs %s' % (v.op.name, np.shape(values[v.op.name]), v.get_shape().as_list())
                 for v in variables if v.op.name in values
                 and list(np.shape(values[v.op.name])) != v.get_shape().as_list()]
    if missing or unexpected or misshaped:
        raise ValueError('values do not fit the model variables: missing %s, unexpected %s, mis-shaped %s'
                         % (missing[:8], unexpected[:8], misshaped[:8]))


def _move_into(staging, output_dir, existing):
    """Moves the staged files into output_dir (the `checkpoint` index last), removing replaced ones first."""
    if not os.path.isdir(output_dir):
        os.rename(staging, output_dir)
        return
    for path in existing:
        os.remove(path)
    names = sorted(os.listdir(staging), key=lambda n: n == 'checkpoint')
    for name in names:
        os.replace(os.path.join(staging, name), os.path.join(output_dir, name))


def _calibration_images(rng, count, size):
    """[count, size, size, 3] float32 smooth random textures in [0, 255] (noise summed at three scales)."""
    images = np.zeros((count, size, size, 3), np.float32)
    for cell in (4, 16, 64):
        for index in range(count):
            noise = rng.rand(size // cell + 2, size // cell + 2, 3).astype(np.float32)
            images[index] += cv2.resize(noise, (size, size), interpolation=cv2.INTER_LINEAR) * 85.
    return images


def random_values(model_config, seed=0, calibrate=True):
    """Random-initialised values of every model variable (the training initialisers), name -> array.

    With `calibrate`, BN moving statistics are set layer by layer to the batch statistics of random textures and
    the head's output scales to a trained model's range (logit std ~3, delta std ~0.3), so that untrained outputs
    are finite and not saturated; tests and benchmarks use these weights.
    """
    graph = tf.Graph()
    with graph.as_default():
        tf.set_random_seed(seed)
        model = SiameseModel(model_config, mode='inference')
        model.build()
        variables = [v for v in tf.global_variables()]
        by_name = {v.op.name: v for v in variables}
        with tf.Session(graph=graph) as sess:
            sess.run(tf.variables_initializer(variables))
            if calibrate:
                rng = np.random.RandomState(seed)
                feed = {model.exemplar_feed: _calibration_images(rng, 4, model_config['z_image_size']),
                        model.instance_feed: _calibration_images(rng, 4, model.instance_size)}
                for layer in LAYERS:
                    prefix = 'siamrpn_alexnet/%s/' % layer
                    conv = graph.get_tensor_by_name(prefix + 'conv/BiasAdd:0')
                    mean, variance = sess.run(tf.nn.moments(conv, axes=[0, 1, 2]), feed)
                    statistics = {prefix + 'BatchNorm/moving_mean': mean,
                                  prefix + 'BatchNorm/moving_variance': variance}
                    assign_values(sess, [by_name[name] for name in statistics], statistics)
                for name, tensor, target in (('conv_cls2', model.cls_logits, 3.),
                                             ('regress_adjust', model.reg_deltas, 0.3)):
                    scale = target / max(float(np.std(sess.run(tensor, feed))), 1e-12)
                    for suffix in ('weights', 'biases'):
                        variable = by_name['rpn_head/%s/%s' % (name, suffix)]
                        assign_values(sess, [variable], {variable.op.name: sess.run(variable) * scale})
            return dict(zip([v.op.name for v in variables], sess.run(variables)))


def save_random_checkpoint_dir(output_dir, model_config, track_config=None, seed=0, overwrite=False):
    """A checkpoint directory with randomly initialised weights (tests, benchmarks)."""
    return save_checkpoint_dir(output_dir, random_values(model_config, seed), model_config,
                               track_config=track_config, overwrite=overwrite)
