"""The checkpoint directory contract shared by training, inference, conversion and benchmarks.

A checkpoint directory holds a standard TF checkpoint (`checkpoint` index file + `model.ckpt-<step>.*`) and the
full config dicts as `model_config.json`, `train_config.json` and `track_config.json`. Variables are named as
SiameseModel creates them (`siamrpn_alexnet/...`, `rpn_head/...`, plus `global_step`).

Discovery from file names alone (no checkpoint is opened; benchmarks/run_OTB.py names trackers by step with it):
`checkpoint_prefixes` lists every checkpoint of a directory, `latest_prefix` picks the one its `checkpoint` file
names, `prefix_step` reads the step from a prefix and `prefix_of_file` turns any checkpoint file into its prefix.
"""

import copy
import glob
import os
import re

import tensorflow as tf

import configuration
from utils.io_utils import read_json, write_json

CONFIG_FILES = (('model_config', 'model_config.json'), ('train_config', 'train_config.json'),
                ('track_config', 'track_config.json'))
CHECKPOINT_PREFIX = 'model.ckpt'
_STEP_SUFFIX = re.compile(r'-(\d+)$')
_LATEST_ENTRY = re.compile(r'^model_checkpoint_path:\s*"(.*)"\s*$', re.MULTILINE)
_FILE_SUFFIX = re.compile(r'\.(index|meta|data-\d+-of-\d+)$')


def merge_config(defaults, saved):
    """Returns `defaults` deep-updated with `saved` (saved values win; keys added since the save keep defaults)."""
    merged = copy.deepcopy(defaults)
    for key, value in saved.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge_config(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def write_configs(checkpoint_dir, model_config, train_config, track_config):
    """Writes the three config JSON files into `checkpoint_dir` (atomically)."""
    configs = {'model_config': model_config, 'train_config': train_config, 'track_config': track_config}
    for key, filename in CONFIG_FILES:
        write_json(os.path.join(checkpoint_dir, filename), configs[key])


def read_configs(checkpoint_dir):
    """Reads (model_config, train_config, track_config) of a checkpoint directory, merged over the defaults.

    model_config.json is required; a missing train_config.json or track_config.json gives the defaults.
    """
    if not os.path.isdir(checkpoint_dir):
        raise IOError('checkpoint directory not found: %s' % checkpoint_dir)
    defaults = {'model_config': configuration.MODEL_CONFIG, 'train_config': configuration.TRAIN_CONFIG,
                'track_config': configuration.TRACK_CONFIG}
    configs = []
    for key, filename in CONFIG_FILES:
        path = os.path.join(checkpoint_dir, filename)
        if not os.path.isfile(path):
            if key == 'model_config':
                raise IOError('%s is not a checkpoint directory: it lacks %s (expected a TF checkpoint plus %s)'
                              % (checkpoint_dir, filename, ', '.join(name for _, name in CONFIG_FILES)))
            configs.append(copy.deepcopy(defaults[key]))
            continue
        saved = read_json(path)
        if not isinstance(saved, dict):
            raise ValueError('%s must hold a JSON object, got %s' % (path, type(saved).__name__))
        configs.append(merge_config(defaults[key], saved))
    return tuple(configs)


def resolve_checkpoint(checkpoint_dir, checkpoint_path=None):
    """Returns the checkpoint prefix to restore: `checkpoint_path` (absolute, or relative to the directory, e.g.
    'model.ckpt-2000') or the directory's latest checkpoint."""
    if checkpoint_path is None:
        path = tf.train.latest_checkpoint(checkpoint_dir)
        if path is None:
            raise IOError('no TF checkpoint in %s (expected a `checkpoint` index file and %s-<step>.* files)'
                          % (checkpoint_dir, CHECKPOINT_PREFIX))
        return path
    path = checkpoint_path if os.path.isabs(checkpoint_path) else os.path.join(checkpoint_dir, checkpoint_path)
    if not tf.train.checkpoint_exists(path):
        raise IOError('checkpoint %s not found (looked for %s.index)' % (checkpoint_path, path))
    return path


def check_variables(checkpoint_path, variables):
    """Raises ValueError naming every variable of `variables` that the checkpoint lacks or holds with another shape."""
    stored = dict(tf.train.list_variables(checkpoint_path))
    missing, misshaped = [], []
    for variable in variables:
        name = variable.op.name
        shape = variable.get_shape().as_list()
        if name not in stored:
            missing.append(name)
        elif list(stored[name]) != shape:
            misshaped.append('%s: checkpoint %s, graph %s' % (name, list(stored[name]), shape))
    if missing or misshaped:
        lines = ['checkpoint %s does not fit the model built from its config:' % checkpoint_path]
        if missing:
            more = ' ...' if len(missing) > 10 else ''
            lines.append('  missing %d variables: %s%s' % (len(missing), ', '.join(missing[:10]), more))
        if misshaped:
            lines.append('  mis-shaped: ' + '; '.join(misshaped[:10]))
        raise ValueError('\n'.join(lines))


def checkpoint_step(checkpoint_path):
    """The global_step stored in a checkpoint prefix, or None when it has none (e.g. an embedding-only one)."""
    if 'global_step' not in dict(tf.train.list_variables(checkpoint_path)):
        return None
    return int(tf.train.load_variable(checkpoint_path, 'global_step'))


def prefix_step(prefix):
    """The step in a checkpoint prefix's name (DIR/model.ckpt-1200 -> 1200), or None when it ends in no -<number>."""
    match = _STEP_SUFFIX.search(os.path.basename(prefix))
    return int(match.group(1)) if match else None


def prefix_of_file(path):
    """A checkpoint file or prefix -> its prefix (DIR/model.ckpt-1200.index, .meta or .data-* files ->
    DIR/model.ckpt-1200)."""
    return _FILE_SUFFIX.sub('', path)


def checkpoint_prefixes(checkpoint_dir):
    """Every checkpoint prefix of a directory (one per .index file, e.g. DIR/model.ckpt-<step>), by step; prefixes
    without a step come last, by name. Empty when there is none."""
    prefixes = [p[:-len('.index')] for p in glob.glob(os.path.join(glob.escape(checkpoint_dir), '*.index'))]
    return sorted(prefixes, key=lambda p: (prefix_step(p) is None, prefix_step(p) or 0, p))


def latest_prefix(checkpoint_dir):
    """The directory's latest checkpoint prefix: the one its `checkpoint` file names (as TF's latest_checkpoint
    reads it) or, without that file or entry, the last of checkpoint_prefixes (the highest step, or a step-less
    prefix when there is one); None when there is none. resolve_checkpoint keeps TF's own lookup, which agrees
    whenever the `checkpoint` file names an existing checkpoint.

    Raises ValueError when the `checkpoint` file names a checkpoint whose .index file does not exist.
    """
    index_file = os.path.join(checkpoint_dir, 'checkpoint')
    if os.path.isfile(index_file):
        with open(index_file) as stream:
            match = _LATEST_ENTRY.search(stream.read())
        if match:
            prefix = match.group(1)
            prefix = prefix if os.path.isabs(prefix) else os.path.join(checkpoint_dir, prefix)
            if not os.path.isfile(prefix + '.index'):
                raise ValueError('%s names %s as the latest checkpoint but %s.index does not exist' % (
                    index_file, match.group(1), prefix))
            return prefix
    prefixes = checkpoint_prefixes(checkpoint_dir)
    return prefixes[-1] if prefixes else None
