"""What this machine and this TensorFlow can do, and what to change when they do not match.

  python scripts/check_environment.py                  # the report and its verdict (exit code 1 on a mismatch)
  python -m scripts.check_environment --recommend-build  # 'gpu' or 'intel' for `make demo` (TensorFlow not imported)
  python -m scripts.check_environment --demo-overrides   # the demo's full-width overrides when TF sees a GPU

The report: Python and the TensorFlow build (intel / stock / gpu / NVIDIA's, utils.runtime.tensorflow_build), whether
it is built with CUDA and the CUDA/cuDNN it loads, the GPUs TensorFlow sees and the GPUs `nvidia-smi` lists (with
CUDA_VISIBLE_DEVICES applied), whether the CUDA 10.0 / cuDNN 7 libraries load, the CPU, its vector units and cores,
and the threading utils.runtime sets. The verdict names each mismatch with its fix: a GPU with a CPU-only build
(`make TF=gpu`), missing CUDA 10.0 libraries, an Ampere/Hopper GPU (docker/Dockerfile.gpu), GPUs hidden by
CUDA_VISIBLE_DEVICES, a driver too old for CUDA 10.0, GPUs TensorFlow does not pick up.

The rules (`verdict`, `recommend_build`) are pure functions of the facts `gather_facts` probes, so the tests feed
them canned machines. The trainer and the tracker log utils.runtime.device_summary(), this report's summary line.
"""

import argparse
import os
import platform
import sys

import configuration
from utils import runtime

OK, NOTE, MISMATCH = 'ok', 'note', 'MISMATCH'
NGC_FIX = ("use NVIDIA's TF1 build: the NGC container, `docker build -f docker/Dockerfile.gpu -t siamrpn-tf:gpu .` "
           "then `docker run --gpus all -it --rm -v $PWD:/workspace/siamrpn-tf siamrpn-tf:gpu`")
# On a GPU TensorFlow sees, the demo trains the full-width network (DaSiamRPN's SiamRPNotb: width 1.0, C 256)
# with the rest of configuration.CPU_SCHEDULE (8000 steps of 8 pairs, Adam, conv1 fixed).
GPU_DEMO_ARCH = 'otb'
# tf.profiler's count for one training pair of that network with conv1 fixed (forward + backward), GFLOP.
GPU_DEMO_GFLOP_PER_PAIR = 36.3


def gpu_demo_overrides():
    """Sacred overrides (key=value strings) that make the demo's CPU schedule full-width."""
    preset = configuration.ARCH_PRESETS[GPU_DEMO_ARCH]
    return ['model_config.embed_config.width_multiplier=%s' % preset['width_multiplier'],
            'model_config.rpn_config.feature_out=%d' % preset['feature_out']]


def gpu_demo_estimate_minutes(peak_tflops, utilisation):
    """Minutes of GPU compute for the full-width demo run at `utilisation` of a `peak_tflops` fp32 peak."""
    train = configuration.CPU_SCHEDULE['train_config']['train_data_config']
    pairs = train['epoch'] * train['num_examples_per_epoch']
    return pairs * GPU_DEMO_GFLOP_PER_PAIR / (peak_tflops * 1e3 * utilisation) / 60.0


def recommend_build(smi, libraries, cuda_visible_devices):
    """('gpu' or 'intel', why) for `make demo`: 'gpu' when nvidia-smi lists a GPU the CUDA program would see that
    CUDA 10.0 supports (compute capability <= 7.5), with a driver new enough for CUDA 10.0, and every CUDA 10.0 /
    cuDNN 7 library and the driver's library load. Pure: smi is runtime.nvidia_smi()'s dict, libraries
    runtime.cuda_libraries()'s."""
    visible = runtime.cuda_visible(smi['gpus'], cuda_visible_devices)
    if not visible:
        return 'intel', 'no GPU visible (nvidia-smi: %s)' % smi['status']
    usable = [g for g in visible if not runtime.ampere_or_later(g)]
    if not usable:
        return 'intel', 'the GPU needs a newer CUDA than 10.0 (%s): docker/Dockerfile.gpu' % (
            runtime.format_gpus(visible))
    driver = runtime.parse_driver_version(usable[0]['driver'])
    if driver is not None and driver < runtime.MIN_DRIVER_CUDA_10_0:
        return 'intel', 'driver %s is too old for CUDA 10.0' % usable[0]['driver']
    missing = sorted(name for name, error in libraries.items() if error is not None)
    if missing:
        return 'intel', 'not loadable: %s' % ', '.join(missing)
    return 'gpu', '%s with CUDA %s and cuDNN %s' % (runtime.format_gpus(usable), runtime.CUDA_VERSION,
                                                    runtime.CUDNN_VERSION)


def verdict(facts):
    """[(OK | NOTE | MISMATCH, finding, fix or None)] from gather_facts' dict (pure)."""
    build, smi = facts['build'], facts['smi']
    if build is None:
        return [(MISMATCH, 'TensorFlow does not import: %s' % facts['build_error'],
                 '`make venv` (or `make TF=gpu venv`) and run this with that environment\'s python')]
    findings = []
    cpu = facts['cpu']
    if cpu['flags'] and 'avx' not in cpu['flags']:
        findings.append((MISMATCH, 'the CPU has no AVX; the TF 1.15 wheels use AVX instructions ("Illegal '
                                   'instruction")', 'a machine with AVX (any x86 CPU since 2011)'))
    label = '%s %s' % (build['name'], build['version'])
    nvidia = build['flavour'] == 'nvidia'
    if smi['status'] == 'error':
        findings.append((NOTE, 'nvidia-smi failed: %s' % smi['error'], 'check the NVIDIA driver installation'))
    if not smi['gpus']:
        if facts['tf_gpus']:
            findings.append((OK, 'TensorFlow uses %d GPU(s) (nvidia-smi lists none)' % len(facts['tf_gpus']), None))
        elif build['cuda']:
            findings.append((OK, 'no GPU on this machine: %s (a CUDA build) runs on the CPU with Eigen kernels'
                             % label, 'the default intel build (`make`, .venv) is faster on a CPU'))
        else:
            findings.append((OK, 'no GPU on this machine; %s runs on the CPU' % label, None))
        return findings
    visible = runtime.cuda_visible(smi['gpus'], facts['cuda_visible_devices'])
    if not visible:
        findings.append((MISMATCH, 'nvidia-smi lists %d GPU(s) but CUDA_VISIBLE_DEVICES=%r hides them all'
                         % (len(smi['gpus']), facts['cuda_visible_devices']),
                         'unset CUDA_VISIBLE_DEVICES or list GPU indices (e.g. CUDA_VISIBLE_DEVICES=0)'))
        return findings
    newer = [g for g in visible if runtime.ampere_or_later(g)]
    usable = [g for g in visible if g not in newer]
    if newer and not nvidia:
        fix = NGC_FIX
        if usable:
            fix += ', or keep to the older GPU(s): CUDA_VISIBLE_DEVICES=%s' % ','.join(str(g['index']) for g in usable)
        findings.append((MISMATCH, 'Ampere/Hopper GPU (compute capability >= 8.0): %s; TF 1.15 with CUDA 10.0 '
                         'cannot run on it' % runtime.format_gpus(newer), fix))
    if nvidia:
        usable = visible
    if usable and not nvidia:
        driver = runtime.parse_driver_version(usable[0]['driver'])
        if driver is not None and driver < runtime.MIN_DRIVER_CUDA_10_0:
            findings.append((MISMATCH, 'NVIDIA driver %s is older than %d.%d, the oldest that runs CUDA 10.0'
                             % ((usable[0]['driver'],) + runtime.MIN_DRIVER_CUDA_10_0), 'update the NVIDIA driver'))
        if not build['cuda']:
            findings.append((MISMATCH, 'GPU present but this build (%s) is CPU-only' % label,
                             '`make TF=gpu` (.venv-gpu with tensorflow-gpu==1.15.5), e.g. `make TF=gpu demo`'))
        missing = [name for name in runtime.CUDA_LIBRARIES if facts['libraries'].get(name) is not None]
        if missing:
            findings.append((MISMATCH, 'CUDA %s libraries not found: %s' % (runtime.CUDA_VERSION, ', '.join(missing)),
                             'install CUDA 10.0 and cuDNN 7.6 for CUDA 10.0 and put their lib64 folders on '
                             'LD_LIBRARY_PATH (or in ldconfig); or %s' % NGC_FIX))
    if facts['libraries'].get(runtime.DRIVER_LIBRARY) is not None:
        findings.append((MISMATCH, '%s (the NVIDIA driver library) does not load: %s'
                         % (runtime.DRIVER_LIBRARY, facts['libraries'][runtime.DRIVER_LIBRARY]),
                         'install the NVIDIA driver; in a container, run it with `--gpus all`'))
    if facts['tf_gpus']:
        findings.append((OK, 'TensorFlow uses %d GPU(s); training: tower_config.num_gpus=%d (default 1)'
                         % (len(facts['tf_gpus']), len(facts['tf_gpus'])), None))
    elif usable and not any(level == MISMATCH for level, _, _ in findings):
        findings.append((MISMATCH, 'TensorFlow sees no GPU although %d usable GPU(s) are visible' % len(usable),
                         'run with TF_CPP_MIN_LOG_LEVEL=0 and read the dso_loader / cuda_driver lines'))
    return findings


def gather_facts():
    """Probes this process's Python, TensorFlow, GPUs, CUDA libraries, CPU and threading -> the facts dict."""
    facts = {'python': platform.python_version(), 'executable': sys.executable, 'build': None, 'build_error': None,
             'tf_gpus': [], 'tf_devices': [], 'smi': runtime.nvidia_smi(), 'libraries': runtime.cuda_libraries(),
             'cuda_visible_devices': os.environ.get('CUDA_VISIBLE_DEVICES'), 'cpu': runtime.read_cpuinfo(),
             'cores': runtime.cpu_threads(), 'threads': None, 'summary': None}
    os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')  # TF's own start-up lines; set 0 to read them
    try:
        import tensorflow as tf
        tf.compat.v1.logging.set_verbosity(tf.compat.v1.logging.ERROR)
        facts['build'] = runtime.tensorflow_build()
    except Exception as error:  # any import failure is the finding
        facts['build_error'] = '%s: %s' % (type(error).__name__, error)
        return facts
    facts['tf_gpus'] = runtime.tensorflow_gpus()
    facts['tf_devices'] = runtime.tensorflow_device_descriptions()
    facts['threads'] = runtime.thread_settings(runtime.session_config(environment=False))
    facts['summary'] = runtime.device_summary(smi=facts['smi'])
    return facts


def format_report(facts, findings):
    """The printed report: one 'name: value' line per fact, then the verdict lines."""
    build, cpu, smi = facts['build'], facts['cpu'], facts['smi']
    lines = ['python:              %s (%s)' % (facts['python'], facts['executable'])]
    if build is None:
        lines.append('tensorflow:          does not import (%s)' % facts['build_error'])
    else:
        lines.append('tensorflow:          %s %s: %s build, %s kernels on the CPU' % (
            build['name'], build['version'], build['flavour'], 'oneDNN' if build['onednn'] else 'Eigen'))
        if build['cuda'] and build['flavour'] != 'nvidia':
            lines.append('built with CUDA:     yes; loads CUDA %s and cuDNN %s (%s)' % (
                runtime.CUDA_VERSION, runtime.CUDNN_VERSION, ', '.join(runtime.CUDA_LIBRARIES)))
        elif build['cuda']:
            lines.append("built with CUDA:     yes; NVIDIA's build, with the container's CUDA and cuDNN")
        else:
            lines.append('built with CUDA:     no (CPU-only build)')
        lines.append('GPUs TF sees:        %d%s' % (len(facts['tf_gpus']), ''.join(' ' + g for g in facts['tf_gpus'])))
        lines.extend('  TF device:         %s' % d.replace('\n', ' ') for d in facts['tf_devices'])
    lines.append('nvidia-smi:          %s' % {
        'absent': 'not installed (no NVIDIA driver)', 'error': 'failed: %s' % smi['error']}.get(
            smi['status'], '%d GPU(s): %s' % (len(smi['gpus']), runtime.format_gpus(smi['gpus']))))
    if facts['cuda_visible_devices'] is not None:
        lines.append('CUDA_VISIBLE_DEVICES: %r -> %s' % (facts['cuda_visible_devices'], runtime.format_gpus(
            runtime.cuda_visible(smi['gpus'], facts['cuda_visible_devices']))))
    libraries = facts['libraries']
    lines.append('CUDA libraries:      %s' % ', '.join('%s %s' % (name, 'ok' if libraries[name] is None else 'missing')
                                                     for name in sorted(libraries)))
    lines.append('CPU:                 %s; %d cores for this process (%s logical, %s physical)' % (
        cpu['model'] or 'unknown', facts['cores'], cpu['logical'] or '?', cpu['physical'] or '?'))
    lines.append('vector units:        %s' % (' '.join(cpu['vector_units']) or 'none of AVX2/AVX-512'))
    if facts['threads']:
        lines.append('threading:           %s' % facts['threads'])
    if facts['summary']:
        lines.append('summary (logged by the trainer and the tracker):')
        lines.append('  %s' % facts['summary'])
    mismatches = [f for f in findings if f[0] == MISMATCH]
    lines.append('verdict: %s' % ('%d mismatch(es)' % len(mismatches) if mismatches else 'OK'))
    for level, finding, fix in findings:
        lines.append('  [%s] %s' % (level, finding) + ('\n         fix: %s' % fix if fix else ''))
    return '\n'.join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument('--recommend-build', action='store_true',
                      help="print 'gpu' or 'intel', the TF build for this machine (the reason goes to stderr)")
    mode.add_argument('--demo-overrides', action='store_true',
                      help="print the demo's full-width overrides when TensorFlow sees a GPU, else nothing")
    args = parser.parse_args(argv)
    if args.recommend_build:
        build, why = recommend_build(runtime.nvidia_smi(), runtime.cuda_libraries(),
                                     os.environ.get('CUDA_VISIBLE_DEVICES'))
        print(build)
        print('check_environment: TF=%s: %s' % (build, why), file=sys.stderr)
        return 0
    if args.demo_overrides:
        if runtime.tensorflow_gpus():
            print(' '.join(gpu_demo_overrides()))
            print('check_environment: TensorFlow sees a GPU: the demo trains the full-width network (%s); estimated '
                  '%.0f-%.0f min of GPU compute on a T4, %.0f-%.0f on a V100 (an estimate from peak FLOP/s, not '
                  'measured)' % (', '.join(gpu_demo_overrides()), gpu_demo_estimate_minutes(8.1, 0.5),
                                 gpu_demo_estimate_minutes(8.1, 0.3), gpu_demo_estimate_minutes(15.7, 0.5),
                                 gpu_demo_estimate_minutes(15.7, 0.3)), file=sys.stderr)
        else:
            print('check_environment: TensorFlow sees no GPU: the demo keeps the CPU schedule', file=sys.stderr)
        return 0
    facts = gather_facts()
    findings = verdict(facts)
    print(format_report(facts, findings))
    return 1 if any(level == MISMATCH for level, _, _ in findings) else 0


if __name__ == '__main__':
    sys.exit(main())
