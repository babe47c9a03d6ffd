"""Tests of utils/runtime.py: the session config and OpenMP environment in one place, and the TF build's name.

Run by `make test` (the default intel-tensorflow build, .venv) and `make TF=stock test` (stock tensorflow,
.venv-stock): each checks the build it runs under, so neither needs both installed.
"""

import os
import subprocess

import pkg_resources
import pytest
import tensorflow as tf

from tests.conftest import PROJECT_ROOT
from utils import runtime

OMP_VARIABLES = ('OMP_NUM_THREADS', 'KMP_BLOCKTIME', 'KMP_AFFINITY')


@pytest.fixture
def clean_env(monkeypatch):
    for name in OMP_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_session_config_sets_threads_and_the_openmp_environment(clean_env):
    config = runtime.session_config(3)
    assert (config.intra_op_parallelism_threads, config.inter_op_parallelism_threads) == (3, 1)
    assert {name: os.environ.get(name) for name in OMP_VARIABLES} == {
        'OMP_NUM_THREADS': '3', 'KMP_BLOCKTIME': '1', 'KMP_AFFINITY': None}  # threads are not bound to cores
    default = runtime.session_config()
    assert default.intra_op_parallelism_threads == runtime.cpu_threads() == len(os.sched_getaffinity(0))


def test_session_config_keeps_the_callers_settings(clean_env):
    clean_env.setenv('KMP_BLOCKTIME', '200')
    base = tf.ConfigProto(inter_op_parallelism_threads=4, allow_soft_placement=True)
    base.graph_options.rewrite_options.remapping = 2  # OFF
    config = runtime.session_config(2, base=base)
    assert (config.intra_op_parallelism_threads, config.inter_op_parallelism_threads) == (2, 4)
    assert config.allow_soft_placement and config.graph_options.rewrite_options.remapping == 2
    assert base.intra_op_parallelism_threads == 0  # the caller's proto is not changed
    assert os.environ['KMP_BLOCKTIME'] == '200' and os.environ['OMP_NUM_THREADS'] == '2'
    with pytest.raises(ValueError, match='threads must be >= 1'):
        runtime.thread_environment(-1)


def test_session_config_without_environment_leaves_it_alone(clean_env):
    runtime.session_config(2, environment=False)
    assert not any(name in os.environ for name in OMP_VARIABLES)


def test_the_running_tensorflow_build_is_named_correctly():
    """The reported build is the pip distribution that provides this TF, the oneDNN flag matches it, and the
    other build is not installed alongside (the two share their files, so a mix would be broken)."""
    build = runtime.tensorflow_build()
    assert build['name'] in ('intel-tensorflow', 'tensorflow')
    assert build['version'] == tf.__version__ == pkg_resources.get_distribution(build['name']).version
    assert build['onednn'] == (build['name'] == 'intel-tensorflow')
    other = 'tensorflow' if build['name'] == 'intel-tensorflow' else 'intel-tensorflow'
    with pytest.raises(pkg_resources.DistributionNotFound):
        pkg_resources.get_distribution(other)
    description = runtime.describe(runtime.session_config(2, environment=False))
    assert description.startswith('%s %s (%s)' % (build['name'], build['version'],
                                                  'oneDNN' if build['onednn'] else 'Eigen'))
    assert 'intra-op 2 / inter-op 1' in description


def test_the_build_works(graph):
    """A conv and a matmul give numpy's numbers under the running build and the project's session config."""
    import numpy as np
    rng = np.random.RandomState(0)
    images, kernel = rng.randn(1, 8, 8, 3).astype(np.float32), rng.randn(3, 3, 3, 4).astype(np.float32)
    conv = tf.nn.conv2d(images, kernel, [1, 1, 1, 1], 'VALID')
    with tf.Session(graph=graph, config=runtime.session_config(2, environment=False)) as sess:
        got = sess.run(conv)
    expected = np.einsum('byxc,yxco->bo', images[:, 2:5, 3:6], kernel)
    np.testing.assert_allclose(got[:, 2, 3], expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize('build, venv, requirement', [('intel', '.venv', 'cp requirements.txt .venv/requirements.txt'),
                                                       ('stock', '.venv-stock', 'cat - requirements-stock.txt')])
def test_makefile_selects_the_build_and_its_environment(build, venv, requirement):
    """`make TF=<build>` uses its own environment (so switching never mixes the packages) and its requirements
    (dry run of every command: make -n -B)."""
    def dry_run(*args):
        try:
            return subprocess.run(['make', '-n', '-B'] + list(args), cwd=PROJECT_ROOT, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, universal_newlines=True)
        except OSError:
            pytest.skip('make is not available')

    result = dry_run('TF=%s' % build, 'venv', 'PYTHON37=python3.7')
    assert result.returncode == 0, result.stdout
    assert 'python3.7 -m venv %s\n' % venv in result.stdout
    assert requirement in result.stdout
    assert '%s/bin/python -m pip install --quiet -r %s/requirements.txt' % (venv, venv) in result.stdout
    bad = dry_run('TF=other', 'venv')
    assert bad.returncode != 0 and "TF must be 'intel' (default) or 'stock', got 'other'" in bad.stdout
    with open(os.path.join(PROJECT_ROOT, 'requirements.txt')) as handle:
        pins = [line.strip() for line in handle if line.strip() and not line.startswith('#')]
    assert 'intel-tensorflow==1.15.2' in pins and not any(pin.startswith('tensorflow==') for pin in pins)
    with open(os.path.join(PROJECT_ROOT, 'requirements-stock.txt')) as handle:
        assert [line.strip() for line in handle if line.strip() and not line.startswith('#')] == ['tensorflow==1.15.5']
