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
    builds = ('intel-tensorflow', 'tensorflow', 'tensorflow-gpu')
    assert build['name'] in builds
    assert build['version'] == tf.__version__ == pkg_resources.get_distribution(build['name']).version
    assert build['onednn'] == (build['name'] == 'intel-tensorflow')
    assert build['cuda'] == tf.test.is_built_with_cuda() == (build['name'] != 'intel-tensorflow')
    assert build['flavour'] == {'intel-tensorflow': 'intel', 'tensorflow': 'stock', 'tensorflow-gpu': 'gpu'}[
        build['name']]
    for other in builds:
        if other != build['name']:
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
                                                       ('stock', '.venv-stock', 'cat - requirements-stock.txt'),
                                                       ('gpu', '.venv-gpu', 'cat - requirements-gpu.txt')])
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
    assert bad.returncode != 0 and "TF must be 'intel' (default), 'stock' or 'gpu', got 'other'" in bad.stdout
    with open(os.path.join(PROJECT_ROOT, 'requirements.txt')) as handle:
        pins = [line.strip() for line in handle if line.strip() and not line.startswith('#')]
    assert 'intel-tensorflow==1.15.2' in pins and not any(pin.startswith('tensorflow==') for pin in pins)
    with open(os.path.join(PROJECT_ROOT, 'requirements-stock.txt')) as handle:
        assert [line.strip() for line in handle if line.strip() and not line.startswith('#')] == ['tensorflow==1.15.5']
    with open(os.path.join(PROJECT_ROOT, 'requirements-gpu.txt')) as handle:
        assert [line.strip() for line in handle if line.strip() and not line.startswith('#')] == [
            'tensorflow-gpu==1.15.5']


def test_allow_growth_is_set_in_one_place(clean_env):
    """session_config is where GPU options are set: allow_growth unless the caller fixes a memory share; the
    trainer's default config comes from it."""
    assert runtime.session_config(2, environment=False).gpu_options.allow_growth
    fixed = tf.ConfigProto()
    fixed.gpu_options.per_process_gpu_memory_fraction = 0.5
    config = runtime.session_config(2, base=fixed, environment=False)
    assert not config.gpu_options.allow_growth and config.gpu_options.per_process_gpu_memory_fraction == 0.5
    from training import run
    trainer = run._session_config(None, ['/cpu:0', '/cpu:1'], '/cpu:0')
    assert trainer.gpu_options.allow_growth and trainer.device_count['CPU'] == 2 and trainer.allow_soft_placement
    sources = {}
    for path in ('training/run.py', 'inference/inference_wrapper.py', 'inference/exported.py',
                 'utils/runtime.py', 'benchmarks/bench_train.py'):
        with open(os.path.join(PROJECT_ROOT, path)) as handle:
            sources[path] = handle.read().count('allow_growth = True')
    assert [path for path, count in sources.items() if count] == ['utils/runtime.py']


CPUINFO = """processor\t: 0
vendor_id\t: GenuineIntel
model name\t: Intel(R) Xeon(R) Platinum 8480+
physical id\t: 0
core id\t\t: 0
flags\t\t: fpu sse2 avx avx2 fma avx512f avx512bw avx512vl avx512_vnni avx512_bf16 amx_tile

processor\t: 1
model name\t: Intel(R) Xeon(R) Platinum 8480+
physical id\t: 0
core id\t\t: 0
flags\t\t: fpu sse2 avx avx2 fma avx512f avx512bw avx512vl avx512_vnni avx512_bf16 amx_tile

processor\t: 2
model name\t: Intel(R) Xeon(R) Platinum 8480+
physical id\t: 0
core id\t\t: 1
flags\t\t: fpu sse2 avx avx2 fma avx512f avx512bw avx512vl avx512_vnni avx512_bf16 amx_tile
"""


def test_parse_cpuinfo():
    info = runtime.parse_cpuinfo(CPUINFO)
    assert (info['model'], info['logical'], info['physical']) == ('Intel(R) Xeon(R) Platinum 8480+', 3, 2)
    assert info['vector_units'] == ['AVX2', 'FMA', 'AVX-512F', 'AVX-512BW', 'AVX-512VL', 'AVX-512 VNNI',
                                    'AVX-512 BF16', 'AMX']
    epyc = runtime.parse_cpuinfo('processor : 0\nmodel name : AMD EPYC 7B12\nflags : sse2 avx avx2 fma\n')
    assert epyc['vector_units'] == ['AVX2', 'FMA'] and epyc['physical'] is None
    assert runtime.parse_cpuinfo('') == {'model': None, 'logical': 0, 'physical': None, 'flags': set(),
                                         'vector_units': []}


def test_parse_nvidia_smi_and_the_gpu_generations():
    text = ('0, GPU-aaaa-1111, 7.5, 15109, 470.82.01, Tesla T4\n'
            '1, GPU-bbbb-2222, 8.0, 40536, 470.82.01, NVIDIA A100-SXM4-40GB\n\n'
            '2, GPU-cccc-3333, [N/A], [N/A], 470.82.01, Quadro RTX 4000, rev 2\n')
    gpus = runtime.parse_nvidia_smi(text)
    assert [(g['index'], g['name'], g['capability'], g['memory_mib']) for g in gpus] == [
        (0, 'Tesla T4', (7, 5), 15109), (1, 'NVIDIA A100-SXM4-40GB', (8, 0), 40536),
        (2, 'Quadro RTX 4000, rev 2', None, None)]
    assert [runtime.ampere_or_later(g) for g in gpus] == [False, True, False]
    old_driver = [f for f in runtime.NVIDIA_SMI_FIELDS if f != 'compute_cap']
    by_name = runtime.parse_nvidia_smi('0, GPU-x, 81559, 450.80.02, NVIDIA H100 80GB HBM3\n'
                                       '1, GPU-y, 24268, 450.80.02, GeForce RTX 3090\n'
                                       '2, GPU-z, 11019, 450.80.02, GeForce RTX 2080 Ti\n', old_driver)
    assert [runtime.ampere_or_later(g) for g in by_name] == [True, True, False]
    assert runtime.parse_driver_version('470.82.01') == (470, 82) and runtime.parse_driver_version('N/A') is None
    with pytest.raises(ValueError, match="nvidia-smi line 'garbage' has 1 fields, expected 6"):
        runtime.parse_nvidia_smi('garbage')


@pytest.mark.parametrize('value, expected', [
    (None, [0, 1, 2]), ('', []), ('-1', []), ('1', [1]), ('2,0', [2, 0]), ('0,7,1', [0]), ('1,1', [1]),
    ('GPU-bbbb', [1]), ('GPU-', []), (' 2 , 1', [2, 1]), ('GPU-aaaa,2', [0, 2])])
def test_cuda_visible_devices_is_respected(value, expected):
    """The GPUs a CUDA program numbers /gpu:0, 1, ... under CUDA_VISIBLE_DEVICES, as the CUDA runtime reads it
    (the list ends at the first entry naming no GPU, or naming one twice)."""
    gpus = [{'index': i, 'uuid': u, 'name': 'gpu%d' % i, 'capability': (7, 5), 'memory_mib': 1, 'driver': '470.1'}
            for i, u in enumerate(('GPU-aaaa-1', 'GPU-bbbb-2', 'GPU-cccc-3'))]
    assert [g['index'] for g in runtime.cuda_visible(gpus, value)] == expected


def test_device_summary_names_build_gpus_cpu_and_threads():
    build = runtime.tensorflow_build()
    line = runtime.device_summary(runtime.session_config(2, environment=False),
                                  smi={'status': 'absent', 'gpus': [], 'error': None})
    assert '\n' not in line and line.startswith('%s %s (' % (build['name'], build['version']))
    assert ('CUDA build' if build['cuda'] else 'CPU-only build') in line
    assert 'TF sees 0 GPU(s), nvidia-smi absent' in line and 'intra-op 2 / inter-op 1 threads' in line
    assert '%d cores' % runtime.cpu_threads() in line
    one = {'status': 'ok', 'error': None, 'gpus': runtime.parse_nvidia_smi('0, GPU-a, 7.5, 15109, 470.82.01, T4')}
    line = runtime.device_summary(smi=one)
    assert 'nvidia-smi: 1 GPU(s) [0: T4 (cc 7.5, 15109 MiB)]' in line
    assert line.endswith(' -- GPU(s) present but unused: run scripts/check_environment.py')
    assert runtime.build_flavour('tensorflow', False) == 'stock-cpu'
    assert runtime.build_flavour('nvidia-tensorflow', True) == 'nvidia'
