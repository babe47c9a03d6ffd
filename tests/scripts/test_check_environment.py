"""Tests of scripts/check_environment.py: the verdict rules and the build recommendation on canned machines, the
report on this one, and `make demo`'s choice of the GPU build with a stand-in nvidia-smi and CUDA libraries."""

import os
import shutil
import subprocess
import sys

import pytest

from scripts import check_environment as check
from tests.conftest import PROJECT_ROOT
from utils import runtime

T4 = '0, GPU-aaaa, 7.5, 15109, 470.82.01, Tesla T4'
A100 = '1, GPU-bbbb, 8.0, 40536, 470.82.01, NVIDIA A100-SXM4-40GB'
ALL_LIBRARIES = dict.fromkeys(runtime.CUDA_LIBRARIES + (runtime.DRIVER_LIBRARY,))
NO_CUDA = dict(ALL_LIBRARIES, **{name: 'cannot open shared object file' for name in runtime.CUDA_LIBRARIES})
BUILDS = {'intel': {'name': 'intel-tensorflow', 'version': '1.15.2', 'onednn': True, 'cuda': False, 'flavour': 'intel'},
          'gpu': {'name': 'tensorflow-gpu', 'version': '1.15.5', 'onednn': False, 'cuda': True, 'flavour': 'gpu'},
          'nvidia': {'name': 'nvidia-tensorflow', 'version': '1.15.5+nv22.12', 'onednn': False, 'cuda': True,
                     'flavour': 'nvidia'}}


def smi(*lines):
    return {'status': 'ok', 'error': None, 'gpus': runtime.parse_nvidia_smi('\n'.join(lines))} if lines else {
        'status': 'absent', 'error': None, 'gpus': []}


def facts(build='intel', gpus=(), tf_gpus=(), libraries=None, visible=None):
    return {'python': '3.7.16', 'executable': 'python', 'build': BUILDS[build], 'build_error': None,
            'tf_gpus': list(tf_gpus), 'tf_devices': [], 'smi': smi(*gpus),
            'libraries': ALL_LIBRARIES if libraries is None else libraries, 'cuda_visible_devices': visible,
            'cpu': runtime.parse_cpuinfo('model name : Xeon\nflags : avx avx2 fma avx512f\n'), 'cores': 2,
            'threads': 'intra-op 2 / inter-op 1 threads', 'summary': None}


def mismatches(found):
    return [(finding, fix) for level, finding, fix in found if level == check.MISMATCH]


def test_cpu_machines_are_fine_with_either_build():
    assert mismatches(check.verdict(facts('intel', libraries=NO_CUDA))) == []
    level, finding, fix = check.verdict(facts('gpu', libraries=NO_CUDA))[0]
    assert level == check.OK and 'runs on the CPU with Eigen kernels' in finding and 'intel build' in fix


@pytest.mark.parametrize('case, expected', [
    (dict(build='intel', gpus=[T4]), ['GPU present but this build (intel-tensorflow 1.15.2) is CPU-only']),
    (dict(build='intel', gpus=[T4], libraries=NO_CUDA), ['is CPU-only', 'CUDA 10.0 libraries not found: '
                                                         'libcudart.so.10.0, libcublas.so.10.0']),
    (dict(build='gpu', gpus=[T4], libraries=NO_CUDA), ['CUDA 10.0 libraries not found']),
    (dict(build='gpu', gpus=[A100]), ['Ampere/Hopper GPU (compute capability >= 8.0): 1: NVIDIA A100']),
    (dict(build='gpu', gpus=[T4], visible='-1'), ["CUDA_VISIBLE_DEVICES='-1' hides them all"]),
    (dict(build='gpu', gpus=[T4]), ['TensorFlow sees no GPU although 1 usable GPU(s) are visible']),
    (dict(build='gpu', gpus=['0, GPU-a, 7.5, 15109, 384.81, Tesla T4'], tf_gpus=['GPU:0']),
     ['NVIDIA driver 384.81 is older than 410.48']),
    (dict(build='gpu', gpus=[T4], libraries=dict(ALL_LIBRARIES, **{'libcuda.so.1': 'not found'})),
     ['libcuda.so.1 (the NVIDIA driver library) does not load']),
])
def test_mismatches_are_named_with_their_fix(case, expected):
    found = mismatches(check.verdict(facts(**case)))
    assert len(found) == len(expected), found
    for (finding, fix), text in zip(found, expected):
        assert text in finding and fix
    fixes = ' '.join(fix for _, fix in found)
    if 'CPU-only' in expected[0]:
        assert '`make TF=gpu`' in fixes
    if 'Ampere' in expected[0] or 'libraries' in expected[-1]:
        assert 'docker/Dockerfile.gpu' in fixes


def test_working_gpu_setups():
    for case in (dict(build='gpu', gpus=[T4], tf_gpus=['/physical_device:GPU:0']),
                 dict(build='nvidia', gpus=[A100], tf_gpus=['/physical_device:GPU:0'], libraries=NO_CUDA)):
        found = check.verdict(facts(**case))
        assert mismatches(found) == [] and 'TensorFlow uses 1 GPU(s)' in found[-1][1]
    # an Ampere GPU beside a Turing one: the fix offers to keep to the older one
    found = mismatches(check.verdict(facts('gpu', gpus=[T4, A100], tf_gpus=['GPU:0', 'GPU:1'])))
    assert len(found) == 1 and 'CUDA_VISIBLE_DEVICES=0' in found[0][1]
    assert mismatches(check.verdict(facts('gpu', gpus=[T4, A100], tf_gpus=['GPU:0'], visible='0'))) == []


def test_recommend_build():
    assert check.recommend_build(smi(), ALL_LIBRARIES, None)[0] == 'intel'
    assert check.recommend_build(smi(T4), ALL_LIBRARIES, None) == ('gpu', '0: Tesla T4 (cc 7.5, 15109 MiB) with '
                                                                           'CUDA 10.0 and cuDNN 7')
    assert check.recommend_build(smi(T4), ALL_LIBRARIES, '') == ('intel', 'no GPU visible (nvidia-smi: ok)')
    assert check.recommend_build(smi(T4), NO_CUDA, None)[1].startswith('not loadable: libcublas.so.10.0')
    assert 'docker/Dockerfile.gpu' in check.recommend_build(smi(A100), ALL_LIBRARIES, None)[1]
    assert check.recommend_build(smi(T4, A100), ALL_LIBRARIES, '1,0')[0] == 'gpu'
    assert check.recommend_build(smi('0, GPU-a, 7.5, 1, 396.26, T4'), ALL_LIBRARIES, None)[0] == 'intel'


def test_gpu_demo_schedule_and_estimate():
    assert check.gpu_demo_overrides() == ['model_config.embed_config.width_multiplier=1.0',
                                          'model_config.rpn_config.feature_out=256']
    # 64,000 pairs x 36.3 GFLOP at 8.1 TFLOP/s x 0.5 = 573.6 s
    assert check.gpu_demo_estimate_minutes(8.1, 0.5) == pytest.approx(64000 * 36.3 / 4050. / 60)


def test_demo_overrides_only_with_a_gpu_tf_sees(capsys, monkeypatch):
    monkeypatch.setattr(runtime, 'tensorflow_gpus', lambda: [])
    assert check.main(['--demo-overrides']) == 0
    printed = capsys.readouterr()
    assert printed.out == '' and 'keeps the CPU schedule' in printed.err
    monkeypatch.setattr(runtime, 'tensorflow_gpus', lambda: ['/physical_device:GPU:0'])
    assert check.main(['--demo-overrides']) == 0
    printed = capsys.readouterr()
    assert printed.out.split() == check.gpu_demo_overrides() and 'not measured' in printed.err


def test_report_on_this_machine(capsys):
    """The whole report under the running build: every section, and a verdict that matches the findings."""
    code = check.main([])
    out = capsys.readouterr().out
    for heading in ('python:', 'tensorflow:', 'built with CUDA:', 'GPUs TF sees:', 'nvidia-smi:', 'CUDA libraries:',
                    'CPU:', 'vector units:', 'threading:', 'summary (logged by the trainer and the tracker):',
                    'verdict: '):
        assert heading in out
    assert (code == 0) == ('verdict: OK' in out)
    assert runtime.tensorflow_build()['name'] in out


def test_import_failure_is_a_finding():
    broken = dict(facts(), build=None, build_error='ImportError: libcudart.so.10.0')
    found = check.verdict(broken)
    assert found[0][0] == check.MISMATCH and 'does not import: ImportError' in found[0][1]
    assert 'does not import' in check.format_report(broken, found)


@pytest.fixture(scope='module')
def fake_cuda(tmp_path_factory):
    """A bin/ with an nvidia-smi listing a T4 and a lib/ of empty shared objects named like CUDA 10.0's."""
    compiler = shutil.which('cc') or shutil.which('gcc')
    if compiler is None:
        pytest.skip('no C compiler to make stand-in libraries')
    root = tmp_path_factory.mktemp('fake_cuda')
    os.makedirs(str(root / 'bin'))
    os.makedirs(str(root / 'lib'))
    source = root / 'empty.c'
    source.write_text('int placeholder;\n')
    for name in ALL_LIBRARIES:
        subprocess.check_call([compiler, '-shared', '-o', str(root / 'lib' / name), str(source)])
    smi_path = root / 'bin' / 'nvidia-smi'
    smi_path.write_text('#!/bin/sh\necho "%s"\n' % T4)
    smi_path.chmod(0o755)
    return root


def test_make_demo_picks_the_gpu_build_when_a_usable_gpu_is_present(fake_cuda):
    """`make demo` (no TF=) switches to TF=gpu with a GPU and CUDA 10.0 libraries, says so, and asks the GPU venv
    for the full-width overrides; without them, or with TF given, the default recipe is unchanged (make -n)."""
    def dry_run(*args, **env):
        environment = dict(os.environ, **env)
        for name in ('TF', 'MAKEFLAGS', 'MFLAGS', 'MAKEOVERRIDES', 'MAKELEVEL'):  # not `make TF=gpu test`'s TF
            environment.pop(name, None)
        return subprocess.run(['make', '-n', 'demo'] + list(args), cwd=PROJECT_ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, universal_newlines=True, env=environment).stdout
    if shutil.which('make') is None:
        pytest.skip('make is not available')
    gpu_env = {'PATH': '%s:%s' % (fake_cuda / 'bin', os.environ['PATH']), 'LD_LIBRARY_PATH': str(fake_cuda / 'lib')}
    picked = dry_run(**gpu_env)
    assert 'make demo: this machine has a GPU that TensorFlow 1.15 can use' in picked
    assert ('.venv-gpu/bin/python scripts/demo.py --nano-dir ../shared/peers/nanotrack-v2 '
            '$(.venv-gpu/bin/python -m scripts.check_environment --demo-overrides)') in picked
    for output in (dry_run('TF=intel', **gpu_env), dry_run(**dict(gpu_env, CUDA_VISIBLE_DEVICES='')),
                   dry_run(PATH=gpu_env['PATH'])):  # TF given / GPU hidden / no CUDA libraries
        assert 'using TF=gpu' not in output and '.venv-gpu' not in output
    recommended = subprocess.run([sys.executable, '-m', 'scripts.check_environment', '--recommend-build'],
                                 cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 universal_newlines=True, env=dict(os.environ, **gpu_env))
    assert recommended.stdout == 'gpu\n' and 'Tesla T4' in recommended.stderr


def test_gpu_dockerfile_installs_the_pins_around_the_containers_tensorflow():
    """docker/Dockerfile.gpu (never built here): NVIDIA's TF1 container, every pin of requirements.txt but TensorFlow,
    numpy and protobuf (the container's, kept as constraints), the project installable on its Python 3.8."""
    import re
    with open(os.path.join(PROJECT_ROOT, 'docker', 'Dockerfile.gpu')) as handle:
        dockerfile = handle.read()
    assert re.search(r'^ARG NGC_TAG=\d\d\.\d\d$', dockerfile, re.MULTILINE)
    assert 'FROM nvcr.io/nvidia/tensorflow:${NGC_TAG}-tf1-py3\n' in dockerfile
    excluded = re.search(r"grep -v -E '([^']+)' requirements.txt", dockerfile).group(1)
    with open(os.path.join(PROJECT_ROOT, 'requirements.txt')) as handle:
        pins = [line.strip() for line in handle if line.strip() and not line.startswith('#')]
    kept = [pin for pin in pins if not re.search(excluded, pin)]
    assert sorted(set(pins) - set(kept)) == ['intel-tensorflow==1.15.2', 'numpy==1.18.5', 'protobuf==3.20.3']
    assert "grep -i -E '^(numpy|protobuf)=='" in dockerfile and '-c /tmp/container-constraints.txt' in dockerfile
    assert 'CMD ["python", "scripts/check_environment.py"]' in dockerfile
    with open(os.path.join(PROJECT_ROOT, 'setup.py')) as handle:
        assert "python_requires='>=3.7,<3.9'" in handle.read()
