"""Shared pytest fixtures: quiet TensorFlow, a fresh graph per test, and paths to optional shared data."""

import os

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

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
