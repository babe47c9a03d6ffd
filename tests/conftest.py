"""Shared pytest fixtures: quiet TensorFlow, a fresh graph per test, and paths to optional shared data."""

import os

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
os.environ.pop('TF_CONFIG', None)  # training tests run one process unless a test describes a cluster itself

import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

tf.compat.v1.logging.set_verbosity(tf.compat.v1.logging.ERROR)

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED_OTB_DEV = os.path.join(os.path.dirname(PROJECT_ROOT), 'shared', 'data', 'otb-dev')


@pytest.fixture
def graph():
    """A fresh default graph for the test."""
    with tf.Graph().as_default() as g:
        yield g


@pytest.fixture
def otb_dev_dir():
    """../shared/data/otb-dev, or skip when it is absent (a user's fresh machine)."""
    if not os.path.isdir(SHARED_OTB_DEV):
        pytest.skip('shared otb-dev sequences are absent (%s)' % SHARED_OTB_DEV)
    return SHARED_OTB_DEV


# ---- inference fixtures (issue 6): small checkpoint directories shared by tests/inference and tests/scripts ----

FIXTURES_DIR = os.path.join(PROJECT_ROOT, 'tests', 'fixtures')
DASIAMRPN_REFERENCE_DIR = os.path.join(FIXTURES_DIR, 'dasiamrpn_reference')


def tiny_model_config(width=0.0625, feature_out=8):
    """MODEL_CONFIG at a reduced width (0.0625: channels 6-16-24-24-16) and C, as the PyTorch reference uses."""
    import copy
    import configuration
    config = copy.deepcopy(configuration.MODEL_CONFIG)
    config['embed_config']['width_multiplier'] = width
    config['rpn_config']['feature_out'] = feature_out
    return config


@pytest.fixture(scope='session')
def random_checkpoint_dir(tmp_path_factory):
    """A checkpoint directory with calibrated random weights (width 0.25, C 32) and the otb tracker preset."""
    import configuration
    from inference.checkpoint_io import save_random_checkpoint_dir
    path = str(tmp_path_factory.mktemp('random_checkpoint') / 'SiamRPN-random')
    with tf.Graph().as_default():
        save_random_checkpoint_dir(path, tiny_model_config(0.25, 32), configuration.track_config_for('otb'), seed=3)
    return path


@pytest.fixture(scope='session')
def keyed_dataset(tmp_path_factory):
    """A small colour-keyed synthetic dataset (5 short train videos, 1 test video), built once per session:
    datasets.synthetic.synthetic_paths dict (train_imdb, validation_imdb, lmdb_path, test_dir, ...)."""
    import configuration
    from datasets.synthetic import build_synthetic_dataset
    from tests.datasets.data_helpers import keyed_generator_config, synthetic_config
    config = synthetic_config(tmp_path_factory.mktemp('keyed') / 'synthetic', keyed_generator_config())
    return build_synthetic_dataset(config, configuration.TRAIN_CONFIG['curation_config'], processes=2,
                                   progress=False, log=None)


# ---- exported graphs (issue 9): the random checkpoint exported for the otb (271) and big (271 + 287) presets ----

@pytest.fixture(scope='session')
def random_export_dirs(random_checkpoint_dir, tmp_path_factory):
    """{'otb': export of random_checkpoint_dir with its otb config (search 271), 'big': with the adaptive big preset
    (271 and 287)}, written by inference.graph_export.export_inference_graph."""
    from inference.graph_export import export_inference_graph
    root = tmp_path_factory.mktemp('exported')
    dirs = {}
    for preset in ('otb', 'big'):
        dirs[preset] = str(root / preset)
        export_inference_graph(random_checkpoint_dir, dirs[preset], preset=preset)
    return dirs
