"""CPU threading of TensorFlow in one place, and which TensorFlow build is running.

  from utils import runtime
  config = runtime.session_config()          # tf.ConfigProto: intra-op threads = cores, inter-op 1
  runtime.describe()                         # 'intel-tensorflow 1.15.2 (oneDNN), intra 2 / inter 1, OMP_NUM_...'

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

import os

INTER_OP_THREADS = 1  # one op at a time; each op uses every core


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
    return config


def onednn_enabled():
    """True when the running TensorFlow is a oneDNN (MKL) build such as intel-tensorflow."""
    from tensorflow.python import pywrap_tensorflow
    return bool(pywrap_tensorflow.IsMklEnabled())


def tensorflow_build():
    """{'name': pip distribution ('intel-tensorflow' or 'tensorflow'), 'version', 'onednn': bool}."""
    import pkg_resources
    import tensorflow as tf
    name = 'tensorflow'
    for candidate in ('intel-tensorflow', 'tensorflow', 'tensorflow-cpu'):
        try:
            distribution = pkg_resources.get_distribution(candidate)
        except pkg_resources.DistributionNotFound:
            continue
        if distribution.version == tf.__version__:
            name = distribution.project_name
            break
    return {'name': name, 'version': tf.__version__, 'onednn': onednn_enabled()}


def describe(config=None):
    """One line naming the TF build and the threading in effect, for benchmark headers and logs."""
    build = tensorflow_build()
    config = config or session_config(environment=False)
    environment = ', '.join('%s=%s' % (name, os.environ.get(name, '(unset)'))
                            for name in sorted(thread_environment()) + ['KMP_AFFINITY'])
    return '%s %s (%s), intra-op %d / inter-op %d threads, %s' % (
        build['name'], build['version'], 'oneDNN' if build['onednn'] else 'Eigen', config.intra_op_parallelism_threads,
        config.inter_op_parallelism_threads, environment)
