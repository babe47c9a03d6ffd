"""Session options of TensorFlow in one place (CPU threading, GPU memory growth), the running TensorFlow build and
the devices of this machine.

  from utils import runtime
  config = runtime.session_config()          # tf.ConfigProto: intra-op threads = cores, inter-op 1, allow_growth
  runtime.describe()                         # 'intel-tensorflow 1.15.2 (oneDNN), intra 2 / inter 1, OMP_NUM_...'
  runtime.device_summary()                   # one line: build, CUDA, GPUs TF and nvidia-smi see, CPU, threads

`session_config` is also the one place GPU options are set: `gpu_options.allow_growth` (TF takes GPU memory as it
needs it instead of all of it at the first session, so a tracker and a trainer can share a GPU).

The tracker, the trainer and the benchmarks take their session config from `session_config`, which also sets the
OpenMP environment the oneDNN build (intel-tensorflow, the default) reads: OMP_NUM_THREADS = the intra-op
threads and KMP_BLOCKTIME=1 (ms a worker spins before sleeping, so idle workers give their core back quickly).
Threads are not pinned: KMP_AFFINITY=granularity=fine,compact,1,0 (one worker bound to each core) made the oneDNN
tracker about 2x slower on a 2-core machine shared with other jobs, where a bound worker waits for its busy core
(benchmarks/bench_tracker.py --compare-thread-env; DEVELOPERS.md "Performance"); export it yourself on a dedicated
machine. OpenMP reads these once, when TensorFlow first runs a oneDNN op, so they only take effect if set before the
first session runs; variables the user already exported are left alone. This module imports TensorFlow only inside
the functions that need it, so `configure_environment` can run before TensorFlow is imported. The stock build
(`make TF=stock`) ignores these variables (it uses TensorFlow's own thread pools, sized by the ConfigProto).

Inter-op threads are 1: one op at a time, each using every core (the tracker's graph is a chain of convolutions).
"""

import ctypes
import os
import re
import shutil
import subprocess

INTER_OP_THREADS = 1  # one op at a time; each op uses every core

# What the CUDA builds of TF 1.15 (tensorflow, tensorflow-gpu 1.15.x) load at run time: TF's tested build
# configuration for 1.15 is CUDA 10.0 with cuDNN 7 (7.4 tested; 7.6 is the last cuDNN 7 for CUDA 10.0). CUDA 10.0
# knows GPUs up to Turing (compute capability 7.5); Ampere and Hopper (>= 8.0) need NVIDIA's TF1 build.
CUDA_VERSION = '10.0'
CUDNN_VERSION = '7'
CUDA_LIBRARIES = ('libcudart.so.10.0', 'libcublas.so.10.0', 'libcufft.so.10.0', 'libcurand.so.10.0',
                  'libcusolver.so.10.0', 'libcusparse.so.10.0', 'libcudnn.so.7')
DRIVER_LIBRARY = 'libcuda.so.1'  # the NVIDIA driver's user-space library
MIN_DRIVER_CUDA_10_0 = (410, 48)  # oldest Linux driver that runs CUDA 10.0
MAX_CUDA_10_CAPABILITY = (7, 5)  # newest GPU architecture CUDA 10.0 compiles for (Turing)
# (cpuinfo flag, label) of the vector units that matter to TF's CPU kernels, in the order they are reported.
VECTOR_UNITS = (('avx2', 'AVX2'), ('fma', 'FMA'), ('avx512f', 'AVX-512F'), ('avx512bw', 'AVX-512BW'),
                ('avx512vl', 'AVX-512VL'), ('avx512_vnni', 'AVX-512 VNNI'), ('avx512_bf16', 'AVX-512 BF16'),
                ('avx_vnni', 'AVX-VNNI'), ('amx_tile', 'AMX'))
NVIDIA_SMI_FIELDS = ('index', 'uuid', 'compute_cap', 'memory.total', 'driver_version', 'name')  # name last: commas
# GPU names of Ampere and later, for drivers too old to report compute_cap (before 510): A100, A10, A30, A40, A2,
# A16, A800, H100/H200/H800, GH200, L4/L40, B100/B200, RTX 30xx/40xx/50xx, RTX A<n>000, RTX <n>000 Ada.
_AMPERE_OR_LATER_NAME = re.compile(
    r'\b(A(?:100|10G?|16|2|30|40|800)|[GH]H?[12]00|H800|L4|L40S?|B[12]00|RTX\s*[345]0[5-9]0|RTX\s*A\d{3,4}|'
    r'RTX\s*\d{4}\s*Ada)\b', re.IGNORECASE)


def cpu_threads():
    """Number of cores this process may run on (the affinity mask, so a `taskset` or container limit counts)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def thread_environment(threads=None):
    """{variable: value} of the OpenMP settings for `threads` intra-op threads (default: all cores)."""
    threads = int(threads or cpu_threads())
    if threads < 1:
        raise ValueError('threads must be >= 1, got %d' % threads)
    return {'OMP_NUM_THREADS': str(threads), 'KMP_BLOCKTIME': '1'}


def configure_environment(threads=None):
    """Sets the OpenMP variables of `thread_environment` that are not set yet -> {variable: value in effect}."""
    for name, value in thread_environment(threads).items():
        os.environ.setdefault(name, value)
    return {name: os.environ[name] for name in thread_environment(threads)}


def session_config(threads=None, base=None, environment=True):
    """A tf.ConfigProto with intra-op threads = `threads` (default: all cores) and inter-op threads 1, copied from
    `base` when given (its own thread settings win when non-zero); sets the OpenMP environment too unless
    `environment` is False (to measure the build's own defaults)."""
    import tensorflow as tf
    threads = int(threads or cpu_threads())
    if environment:
        configure_environment(threads)
    config = tf.ConfigProto()
    if base is not None:
        config.CopyFrom(base)
    if not config.intra_op_parallelism_threads:
        config.intra_op_parallelism_threads = threads
    if not config.inter_op_parallelism_threads:
        config.inter_op_parallelism_threads = INTER_OP_THREADS
    if not config.gpu_options.per_process_gpu_memory_fraction:  # a caller's fixed share of memory wins
        config.gpu_options.allow_growth = True
    return config


def round_order(names, round_index):
    """The order of timed cases `names` in round `round_index` of an interleaved measurement (the benchmarks'
    harness and the tracker's first-use choice): the list rotated left by round_index (mod its length), so over
    len(names) rounds every case runs once at every position and load from other processes spreads evenly."""
    names = list(names)
    if not names:
        return []
    shift = round_index % len(names)
    return names[shift:] + names[:shift]


def onednn_enabled():
    """True when the running TensorFlow is a oneDNN (MKL) build such as intel-tensorflow."""
    from tensorflow.python import pywrap_tensorflow
    return bool(pywrap_tensorflow.IsMklEnabled())


def build_flavour(name, cuda):
    """'intel', 'stock', 'gpu' or 'nvidia' (the Makefile's TF= names, plus NVIDIA's TF1 build) of a TF distribution
    name and its CUDA flag; 'stock-cpu' for a CPU-only stock build."""
    if name == 'intel-tensorflow':
        return 'intel'
    if name == 'nvidia-tensorflow':
        return 'nvidia'
    if name == 'tensorflow-gpu':
        return 'gpu'
    return 'stock' if cuda else 'stock-cpu'


def tensorflow_build():
    """{'name': pip distribution ('intel-tensorflow', 'tensorflow', 'tensorflow-gpu' or 'nvidia-tensorflow'),
    'version', 'onednn': bool, 'cuda': built with CUDA, 'flavour': build_flavour's name}."""
    import pkg_resources
    import tensorflow as tf
    from tensorflow.python.platform import build_info
    name = 'tensorflow'
    for candidate in ('intel-tensorflow', 'tensorflow', 'tensorflow-gpu', 'nvidia-tensorflow', 'tensorflow-cpu'):
        try:
            distribution = pkg_resources.get_distribution(candidate)
        except pkg_resources.DistributionNotFound:
            continue
        if distribution.version.split('+')[0] == tf.__version__.split('+')[0]:  # NVIDIA's are 1.15.5+nv<yy.mm>
            name = distribution.project_name
            break
    cuda = bool(getattr(build_info, 'is_cuda_build', False))
    return {'name': name, 'version': tf.__version__, 'onednn': onednn_enabled(), 'cuda': cuda,
            'flavour': build_flavour(name, cuda)}


def thread_settings(config=None):
    """'intra-op 2 / inter-op 1 threads, KMP_BLOCKTIME=1, OMP_NUM_THREADS=2, KMP_AFFINITY=(unset)'."""
    config = config or session_config(environment=False)
    environment = ', '.join('%s=%s' % (name, os.environ.get(name, '(unset)'))
                            for name in sorted(thread_environment()) + ['KMP_AFFINITY'])
    return 'intra-op %d / inter-op %d threads, %s' % (config.intra_op_parallelism_threads,
                                                       config.inter_op_parallelism_threads, environment)


def describe(config=None):
    """One line naming the TF build and the threading in effect, for benchmark headers and logs."""
    build = tensorflow_build()
    return '%s %s (%s), %s' % (build['name'], build['version'], 'oneDNN' if build['onednn'] else 'Eigen',
                               thread_settings(config))


# ----------------------------------------------------------------------------------------------------------------
# The machine's devices. Parsers are pure (tests feed them canned text); the probes below them run the commands.

def parse_cpuinfo(text):
    """/proc/cpuinfo text -> {'model': str or None, 'logical': processors listed, 'physical': distinct (package,
    core) pairs or None when not listed, 'flags': set of flags of the first processor, 'vector_units': labels of
    VECTOR_UNITS present}."""
    model, flags, logical, cores = None, None, 0, set()
    package = None
    for line in text.splitlines():
        key, _, value = line.partition(':')
        key, value = key.strip(), value.strip()
        if key == 'processor':
            logical += 1
        elif key == 'model name' and model is None:
            model = value
        elif key == 'flags' and flags is None:
            flags = set(value.split())
        elif key == 'physical id':
            package = value
        elif key == 'core id':
            cores.add((package, value))
    flags = flags or set()
    return {'model': model, 'logical': logical, 'physical': len(cores) or None, 'flags': flags,
            'vector_units': [label for flag, label in VECTOR_UNITS if flag in flags]}


def _capability(text):
    match = re.match(r'^\s*(\d+)\.(\d+)\s*$', text or '')
    return (int(match.group(1)), int(match.group(2))) if match else None


def parse_nvidia_smi(text, fields=NVIDIA_SMI_FIELDS):
    """`nvidia-smi --query-gpu=<fields> --format=csv,noheader,nounits` output -> list of {'index': int, 'uuid',
    'name', 'capability': (major, minor) or None, 'memory_mib': int or None, 'driver'}; fields may omit compute_cap
    (older drivers). Raises ValueError naming the line that does not have the fields."""
    gpus = []
    for line in text.splitlines():
        if not line.strip():
            continue
        values = [v.strip() for v in line.split(',', len(fields) - 1)]
        if len(values) != len(fields):
            raise ValueError('nvidia-smi line %r has %d fields, expected %d (%s)' % (
                line, len(values), len(fields), ','.join(fields)))
        row = dict(zip(fields, values))
        if not row['index'].isdigit():
            raise ValueError('nvidia-smi line %r: index %r is not a number' % (line, row['index']))
        memory = row.get('memory.total', '')
        gpus.append({'index': int(row['index']), 'uuid': row.get('uuid'), 'name': row['name'],
                     'capability': _capability(row.get('compute_cap')),
                     'memory_mib': int(float(memory)) if re.match(r'^\d+(\.\d+)?$', memory) else None,
                     'driver': row.get('driver_version')})
    return gpus


def ampere_or_later(gpu):
    """True when a GPU (parse_nvidia_smi row) is newer than CUDA 10.0 supports (compute capability > 7.5), judged by
    its name when the driver does not report the capability."""
    if gpu['capability'] is not None:
        return gpu['capability'] > MAX_CUDA_10_CAPABILITY
    return bool(_AMPERE_OR_LATER_NAME.search(gpu['name'] or ''))


def cuda_visible(gpus, value):
    """The GPUs (parse_nvidia_smi rows, in nvidia-smi's order) a CUDA program sees under CUDA_VISIBLE_DEVICES=value,
    in the order it numbers them (its /gpu:0 first). None (unset): all. Otherwise a comma-separated list of indices or
    UUID prefixes ('GPU-...'); as in CUDA, the list ends at the first entry that names no GPU (so '' and '-1' hide
    all), and a GPU listed twice hides the rest."""
    if value is None:
        return list(gpus)
    chosen = []
    for entry in value.split(','):
        entry = entry.strip()
        if entry.isdigit():
            match = [g for g in gpus if g['index'] == int(entry)]
        elif entry.upper().startswith('GPU-') and len(entry) > 4:
            match = [g for g in gpus if (g.get('uuid') or '').upper().startswith(entry.upper())]
        else:
            match = []
        if len(match) != 1 or match[0] in chosen:
            break
        chosen.append(match[0])
    return chosen


def parse_driver_version(text):
    """'470.82.01' -> (470, 82); None when it is not a version."""
    match = re.match(r'^\s*(\d+)\.(\d+)', text or '')
    return (int(match.group(1)), int(match.group(2))) if match else None


def read_cpuinfo(path='/proc/cpuinfo'):
    """parse_cpuinfo of this machine (empty fields where /proc/cpuinfo does not exist)."""
    try:
        with open(path) as handle:
            return parse_cpuinfo(handle.read())
    except (IOError, OSError):
        return parse_cpuinfo('')


def nvidia_smi(timeout=20):
    """The GPUs `nvidia-smi` lists -> {'status': 'absent' (no command), 'error' (it failed; 'error' holds why) or
    'ok', 'gpus': parse_nvidia_smi rows}. Drivers older than 510 cannot report compute_cap: asked again without."""
    command = shutil.which('nvidia-smi')
    if command is None:
        return {'status': 'absent', 'gpus': [], 'error': None}
    error = None
    for fields in (NVIDIA_SMI_FIELDS, tuple(f for f in NVIDIA_SMI_FIELDS if f != 'compute_cap')):
        try:
            result = subprocess.run([command, '--query-gpu=' + ','.join(fields), '--format=csv,noheader,nounits'],
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
                                    timeout=timeout)
        except (OSError, subprocess.SubprocessError) as failure:
            return {'status': 'error', 'gpus': [], 'error': str(failure)}
        if result.returncode == 0:
            try:
                return {'status': 'ok', 'gpus': parse_nvidia_smi(result.stdout, fields), 'error': None}
            except ValueError as failure:
                return {'status': 'error', 'gpus': [], 'error': str(failure)}
        error = '%s (exit code %d)' % (' '.join(result.stdout.split())[:300], result.returncode)
    return {'status': 'error', 'gpus': [], 'error': error}


def library_loadable(name):
    """None when the dynamic loader finds and loads `name` (as TensorFlow's dlopen would), else dlerror's text."""
    try:
        ctypes.CDLL(name)
    except OSError as error:
        return str(error)
    return None


def cuda_libraries(names=CUDA_LIBRARIES + (DRIVER_LIBRARY,)):
    """{library: None when loadable, else why not} for the CUDA 10.0 / cuDNN 7 libraries and the driver's."""
    return {name: library_loadable(name) for name in names}


def tensorflow_gpus():
    """Names of the GPUs this TensorFlow can use (/physical_device:GPU:n), without creating a session or taking GPU
    memory; [] for a CPU-only build."""
    import tensorflow as tf
    return [device.name for device in tf.config.experimental.list_physical_devices('GPU')]


def tensorflow_device_descriptions():
    """TF's description of each local device ('/device:GPU:0: device: 0, name: Tesla T4, ... compute capability:
    7.5'), from device_lib under session_config's options (allow_growth: no GPU memory is taken up front)."""
    from tensorflow.python.client import device_lib
    return ['%s: %s' % (d.name, d.physical_device_desc or d.device_type)
            for d in device_lib.list_local_devices(session_config(environment=False))]


def format_gpus(gpus):
    """'Tesla T4 (cc 7.5, 15109 MiB)' for each parse_nvidia_smi row, joined by '; ' ('none' when empty)."""
    return '; '.join('%d: %s (cc %s, %s MiB)' % (
        g['index'], g['name'], '%d.%d' % g['capability'] if g['capability'] else '?',
        g['memory_mib'] if g['memory_mib'] is not None else '?') for g in gpus) or 'none'


def device_summary(config=None, smi=None):
    """One line for logs (the trainer's and the tracker's first, scripts/check_environment.py's summary): the TF build
    and CUDA flag, the GPUs TF and nvidia-smi see, CUDA_VISIBLE_DEVICES, the CPU and its vector units, threading."""
    build = tensorflow_build()
    smi = nvidia_smi() if smi is None else smi
    cpu = read_cpuinfo()
    tf_gpus = tensorflow_gpus()
    smi_text = {'absent': 'nvidia-smi absent', 'error': 'nvidia-smi failed'}.get(
        smi['status'], 'nvidia-smi: %d GPU(s)' % len(smi['gpus']))
    if smi['status'] == 'ok' and smi['gpus']:
        smi_text += ' [%s]' % format_gpus(smi['gpus'])
    visible = os.environ.get('CUDA_VISIBLE_DEVICES')
    warning = ''
    if smi['gpus'] and not tf_gpus:
        warning = ' -- GPU(s) present but unused: run scripts/check_environment.py'
    return '%s %s (%s, %s); TF sees %d GPU(s), %s%s; CPU %s, %d cores, %s; %s%s' % (
        build['name'], build['version'], 'oneDNN' if build['onednn'] else 'Eigen',
        'CUDA build' if build['cuda'] else 'CPU-only build', len(tf_gpus), smi_text,
        '' if visible is None else ', CUDA_VISIBLE_DEVICES=%r' % visible, cpu['model'] or 'unknown CPU',
        cpu_threads(), ' '.join(cpu['vector_units']) or 'no AVX2', thread_settings(config), warning)
