"""Trains SiamRPN-AlexNet: the Sacred experiment `ex` that the scripts in experiments/ configure and run.

  python experiments/SiamRPN-AlexNet.py                                    # a named run (see experiments/)
  python experiments/SiamRPN-AlexNet.py with train_config.train_data_config.batch_size=8 \\
      train_config.train_data_config.epoch=1                               # Sacred command-line overrides
  python experiments/SiamRPN-AlexNet.py print_config                       # the run's full configuration

The configuration is configuration.py's MODEL_CONFIG / TRAIN_CONFIG / TRACK_CONFIG; an experiment script adds its
updates (`run_experiment(run_name, config_updates, config_scopes)`), then Sacred applies the command line's `with
key=value` assignments, which win over both (a key configuration.py does not define is an error, see
check_config_keys). A FileStorageObserver records each run (config, host, sources, captured output) under
`<LOG_DIR>/<run>/sacred`; checkpoints, config JSON and TensorBoard events go to train_config['train_dir'].

The run itself is training/run.py's `train` (the package training/ holds the stages' graphs, the loop, validation,
checkpoints and resume, and distributed training); from Python, without Sacred:
  summary = training.run.train(model_config, train_config, track_config)
"""

import copy
import logging
import os.path as osp
import sys

from sacred import Experiment, SETTINGS
from sacred.observers import FileStorageObserver, RunObserver
from sacred.utils import apply_backspaces_and_linefeeds

import configuration
from training import distributed
from training.run import train


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


def unknown_config_keys(config, defaults, prefix):
    """Dotted paths of `config` keys that `defaults` lacks (a typo such as model_config.loss_config, which lives in
    train_config). Keys below dicts whose default is empty are free. -> sorted list."""
    if not defaults:
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
        self.active = distributed.is_chief_process(distributed.cluster_config_of(
            plain(config.get('train_config', {}))))
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
