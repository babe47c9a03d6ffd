"""Distributed training on TF1's own runtime: the cluster, device placement, the synchronous guarded update and
per-worker counters (between-graph replication; training/run.py runs the loop).

Cluster. `resolve_cluster(train_config['cluster_config'])` reads the TF_CONFIG environment variable
    {"cluster": {"ps": ["host:port", ...], "worker": ["host:port", ...]}, "task": {"type": "worker", "index": 0}}
or the equivalent config keys (`cluster`, `job_name`, `task_index`), never both; neither gives None (one process).
Jobs are 'ps' (variables) and 'worker' (graph, data, gradients); worker 0 is the chief.

Placement. `device_setter` is tf.train.replica_device_setter: variables on the ps tasks, every other op on this
worker (towers keep their local devices: '/cpu:1' becomes '/job:worker/task:i/device:CPU:1'). The ps task of a
variable is a hash of its name (`ps_task_of`), not the round-robin of creation order, so the chief (which also
builds the validation model) and the other workers agree on placement whatever else their graphs hold.

Synchronous update (`build_sync_train_op`). Each worker computes its towers' averaged gradient g_w, its loss and
finite_w = isfinite(loss_w) and isfinite(|g_w|). It pushes `g_w if finite_w else 0` into
tf.train.SyncReplicasOptimizer's accumulators, together with finite_w (0 or 1) as the "gradient" of a scalar
variable `sync_replicas_finite_fraction`. The chief's aggregation step receives the means over the
replicas_to_aggregate contributions: G = sum of the finite g_w / R and f = (finite contributions) / R, and applies
the guarded update of training/train_op.py to G / f, the mean over the finite contributions:
  f > 0 and |G / f| finite: clip by the global norm, apply, global_step += 1;
  otherwise (every contribution non-finite): nothing is applied, nonfinite_steps += 1, global_step += 1.
So a non-finite worker never poisons the update; it is left out and the others' mean is applied, and a step where
every worker failed is skipped exactly as a single-process step is. A non-finite worker's BN statistics are never
used either: BN moving averages are updated by the chief worker only (tower 0 of the chief, as the towers use tower 0
only: one moving-average step per global step), in the chief's own train op and only when its batch is finite.
No initial tokens are queued (`initial_tokens` is max(0, R - workers)), so the first update needs a gradient from
each worker; afterwards each worker waits for a token after every push, and tokens go to waiting workers in order.

Asynchronous update (sync False): every worker runs the single-process guarded train op on the shared variables
(its own clip, apply, BN update, global_step += 1); a global step is one worker batch.

Counters. `worker_counters` makes `worker_steps/worker_<i>` (gradients pushed or applied by worker i) and
`worker_nonfinite_steps/worker_<i>` (those that were not finite) for every worker, on the ps, saved in checkpoints.
"""

import copy
import json
import logging
import os
import re
import threading
import time
import zlib

import tensorflow as tf

import configuration
from embeddings.siamrpn_alexnet import moving_average_updates
from training.towers import average_gradients
from training.train_op import TrainOp, build_train_op, finite_step, guarded_update, tower_means

logger = logging.getLogger(__name__)

TF_CONFIG = 'TF_CONFIG'
JOBS = ('ps', 'worker')
FINITE_FRACTION = 'sync_replicas_finite_fraction'
WORKER_STEPS = 'worker_steps'
WORKER_NONFINITE_STEPS = 'worker_nonfinite_steps'
_ADDRESS = re.compile(r'^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9_.-]+):(\d+)$')


class Cluster(object):
    """A resolved cluster and this process's place in it.

    Attributes:
      spec: {'ps': [addresses], 'worker': [addresses]}.
      job_name, task_index: this process's task.
      sync, replicas_to_aggregate: the update mode (replicas_to_aggregate is the number of workers unless set).
      source: 'TF_CONFIG' or 'train_config.cluster_config' (for messages).
      max_wait_secs, recovery_wait_secs, stop_grace_period_secs: from cluster_config.
    """

    def __init__(self, spec, job_name, task_index, sync, replicas_to_aggregate, source, cluster_config):
        self.spec = {job: list(spec[job]) for job in JOBS}
        self.job_name, self.task_index = job_name, task_index
        self.sync = sync
        self.replicas_to_aggregate = replicas_to_aggregate or len(self.spec['worker'])
        self.source = source
        self.max_wait_secs = cluster_config['max_wait_secs']
        self.recovery_wait_secs = cluster_config['recovery_wait_secs']
        self.stop_grace_period_secs = cluster_config['stop_grace_period_secs']

    @property
    def num_workers(self):
        return len(self.spec['worker'])

    @property
    def num_ps(self):
        return len(self.spec['ps'])

    @property
    def is_ps(self):
        return self.job_name == 'ps'

    @property
    def is_chief(self):
        """Worker 0 initialises, restores and writes checkpoints, summaries and the Sacred record."""
        return self.job_name == 'worker' and self.task_index == 0

    @property
    def worker_device(self):
        return '/job:worker/task:%d' % self.task_index

    @property
    def examples_per_step(self):
        """Worker batches in one global step: replicas_to_aggregate (sync) or 1 (async)."""
        return self.replicas_to_aggregate if self.sync else 1

    @property
    def initial_tokens(self):
        """Tokens queued before the first synchronous step: max(0, replicas_to_aggregate - workers)."""
        return max(0, self.replicas_to_aggregate - self.num_workers)

    def cluster_spec(self):
        return tf.train.ClusterSpec(self.spec)

    def describe(self):
        mode = ('synchronous, %d gradients per step' % self.replicas_to_aggregate) if self.sync else 'asynchronous'
        return '%s %d of a cluster of %d ps and %d workers (%s; from %s)' % (
            self.job_name, self.task_index, self.num_ps, self.num_workers, mode, self.source)


def _check_addresses(spec, where):
    """Raises ValueError unless spec is {'ps': [...], 'worker': [...]} of distinct 'host:port' strings."""
    if not isinstance(spec, dict):
        raise ValueError('%s must be a dict {"ps": ["host:port", ...], "worker": ["host:port", ...]}, got %r'
                         % (where, spec))
    other = sorted(set(spec) - set(JOBS))
    if other:
        raise ValueError('%s has job(s) %s: only "ps" and "worker" are supported (between-graph replication; worker 0 '
                         'is the chief)' % (where, ', '.join(repr(j) for j in other)))
    seen = set()
    for job in JOBS:
        addresses = spec.get(job)
        if not isinstance(addresses, (list, tuple)) or not addresses:
            raise ValueError('%s.%s must be a non-empty list of "host:port" addresses, got %r'
                             % (where, job, addresses))
        for address in addresses:
            match = _ADDRESS.match(address) if isinstance(address, str) else None
            if not match or not 0 < int(match.group(2)) < 65536:
                raise ValueError('%s.%s: %r is not a "host:port" address' % (where, job, address))
            if address in seen:
                raise ValueError('%s lists the address %s twice' % (where, address))
            seen.add(address)


def _check_task(spec, job_name, task_index, where_job, where_index):
    if job_name not in JOBS:
        raise ValueError("%s must be 'ps' or 'worker', got %r" % (where_job, job_name))
    if isinstance(task_index, bool) or not isinstance(task_index, int):
        raise ValueError('%s must be an integer, got %r' % (where_index, task_index))
    if not 0 <= task_index < len(spec[job_name]):
        raise ValueError('%s is %d but the cluster has %d %s task(s) (0..%d)' % (
            where_index, task_index, len(spec[job_name]), job_name, len(spec[job_name]) - 1))


def read_tf_config(environ=None):
    """The parsed TF_CONFIG environment variable, or None when it is unset, empty or names no cluster."""
    text = (os.environ if environ is None else environ).get(TF_CONFIG, '').strip()
    if not text:
        return None
    try:
        value = json.loads(text)
    except ValueError as error:
        raise ValueError('the %s environment variable is not valid JSON (%s): %r' % (TF_CONFIG, error, text[:200]))
    if not isinstance(value, dict):
        raise ValueError('the %s environment variable must hold a JSON object, got %r' % (TF_CONFIG, text[:200]))
    if not value.get('cluster'):
        return None
    return value


def cluster_config_of(train_config):
    """train_config['cluster_config'] over its defaults (configs saved before distributed training lack it)."""
    return dict(configuration.TRAIN_CONFIG['cluster_config'], **train_config.get('cluster_config', {}))


def check_cluster_config(cluster_config):
    """Raises ValueError naming the first bad key of TRAIN_CONFIG['cluster_config'] (types and ranges)."""
    where = 'train_config.cluster_config.'
    if not isinstance(cluster_config['sync'], bool):
        raise ValueError('%ssync must be True or False, got %r' % (where, cluster_config['sync']))
    replicas = cluster_config['replicas_to_aggregate']
    if replicas is not None and (isinstance(replicas, bool) or not isinstance(replicas, int) or replicas < 1):
        raise ValueError('%sreplicas_to_aggregate must be None or an integer >= 1, got %r' % (where, replicas))
    for key in ('max_wait_secs', 'recovery_wait_secs', 'stop_grace_period_secs'):
        value = cluster_config[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
            raise ValueError('%s%s must be a number > 0, got %r' % (where, key, value))


def resolve_cluster(cluster_config, environ=None):
    """This process's Cluster from TF_CONFIG or cluster_config, or None for single-process training.

    Raises ValueError naming the field (TF_CONFIG's or the config key) when the description is incomplete or wrong.
    """
    check_cluster_config(cluster_config)
    where = 'train_config.cluster_config.'
    tf_config = read_tf_config(environ)
    spec = cluster_config['cluster']
    if tf_config is not None:
        if spec is not None or cluster_config['job_name'] is not None or cluster_config['task_index'] is not None:
            raise ValueError('both the %s environment variable and %scluster/job_name/task_index describe the '
                             'cluster; give one of them' % (TF_CONFIG, where))
        spec = tf_config['cluster']
        _check_addresses(spec, '%s cluster' % TF_CONFIG)
        task = tf_config.get('task')
        if not isinstance(task, dict):
            raise ValueError('%s needs a "task" object {"type": "ps" or "worker", "index": N}, got %r'
                             % (TF_CONFIG, task))
        job_name, task_index = task.get('type'), task.get('index', 0)
        _check_task(spec, job_name, task_index, '%s task.type' % TF_CONFIG, '%s task.index' % TF_CONFIG)
        source = TF_CONFIG
    elif spec is not None:
        _check_addresses(spec, where + 'cluster')
        job_name = cluster_config['job_name']
        task_index = 0 if cluster_config['task_index'] is None else cluster_config['task_index']
        _check_task(spec, job_name, task_index, where + 'job_name', where + 'task_index')
        source = 'train_config.cluster_config'
    else:
        if cluster_config['job_name'] is not None or cluster_config['task_index'] is not None:
            raise ValueError('%sjob_name/task_index are set but no cluster is (%scluster is None and %s is unset)'
                             % (where, where, TF_CONFIG))
        return None
    return Cluster(spec, job_name, task_index, cluster_config['sync'], cluster_config['replicas_to_aggregate'],
                   source, cluster_config)


def is_chief_process(cluster_config, environ=None):
    """Whether this process writes the run's records: single-process runs and the chief worker (False for ps tasks
    and the other workers). An invalid cluster description counts as chief, so the run that reports it is recorded."""
    try:
        cluster = resolve_cluster(cluster_config, environ)
    except ValueError:
        return True
    return cluster is None or cluster.is_chief


# ----------------------------------------------------------------------------------------------------------------
# Servers, sessions and placement.

def ps_task_of(op_name, num_ps):
    """The ps task of a variable: crc32 of its name modulo num_ps (independent of the graph's creation order)."""
    return zlib.crc32(op_name.encode('utf-8')) % num_ps


def device_setter(cluster):
    """tf.train.replica_device_setter for this worker: variables on ps task ps_task_of(name), the rest here."""
    return tf.train.replica_device_setter(cluster=cluster.cluster_spec(), worker_device=cluster.worker_device,
                                          ps_strategy=lambda op: ps_task_of(op.name, cluster.num_ps))


def server_config(cluster, worker_config=None):
    """The ConfigProto a task's server starts with: ps tasks see no GPU (they only hold variables); workers get
    `worker_config` (its device_count creates the CPU devices the towers name)."""
    if cluster.is_ps:
        return tf.ConfigProto(device_count={'GPU': 0})
    return worker_config


def worker_session_config(cluster, config):
    """A copy of `config` whose device filters let this worker see the ps tasks and itself only (workers never wait
    for each other's servers)."""
    config = tf.ConfigProto.FromString(config.SerializeToString()) if config is not None else tf.ConfigProto()
    del config.device_filters[:]
    config.device_filters.extend(['/job:ps', cluster.worker_device])
    return config


def start_server(cluster, config=None):
    """Starts this task's tf.train.Server (grpc)."""
    return tf.train.Server(cluster.cluster_spec(), job_name=cluster.job_name, task_index=cluster.task_index,
                           config=config, start=True)


def join(server, poll_secs=1.0):
    """server.join() in a daemon thread, so the process still reacts to Ctrl-C and SIGTERM while it serves."""
    thread = threading.Thread(target=server.join, name='server_join', daemon=True)
    thread.start()
    while thread.is_alive():
        thread.join(poll_secs)


def serve_ps(cluster):
    """A ps task: starts its server and serves the variables until the process is stopped (never returns)."""
    server = start_server(cluster, server_config(cluster))
    logger.info('%s: serving variables at %s until stopped (Ctrl-C or SIGTERM; scripts/launch_local_cluster.py stops '
                'its ps tasks when the workers are done)', cluster.describe(), cluster.spec['ps'][cluster.task_index])
    join(server)
    raise RuntimeError('the ps server stopped serving')


def worker_train_config(train_config, task_index):
    """A copy of train_config for worker `task_index`: the graph seed and the train reader's seed are offset by the
    task index, so workers sample different pairs and subsamples (worker 0 keeps the configured seeds)."""
    config = copy.deepcopy(train_config)
    if config['seed'] is not None:
        config['seed'] = int(config['seed']) + task_index
    data = config['train_data_config']
    if data['seed'] is not None:
        data['seed'] = int(data['seed']) + task_index
    return config


class WorkerSessionCreator(tf.compat.v1.train.SessionCreator):
    """A non-chief worker's session: waits until the chief has initialised or restored every variable (polling every
    recovery_wait_secs, at most max_wait_secs), then runs the local initialisation.

    tf.train.MonitoredTrainingSession builds the same thing with a fixed 30 s poll, which a short run cannot afford.
    """

    def __init__(self, scaffold, master, config, max_wait_secs, recovery_wait_secs):
        self._scaffold, self._master, self._config = scaffold, master, config
        self._max_wait_secs, self._recovery_wait_secs = max_wait_secs, recovery_wait_secs

    def create_session(self):
        self._scaffold.finalize()
        manager = tf.train.SessionManager(local_init_op=self._scaffold.local_init_op,
                                          ready_op=self._scaffold.ready_op,
                                          ready_for_local_init_op=self._scaffold.ready_for_local_init_op,
                                          graph=tf.get_default_graph(),
                                          recovery_wait_secs=self._recovery_wait_secs)
        return manager.wait_for_session(self._master, config=self._config, max_wait_secs=self._max_wait_secs)


class SyncReplicasHook(tf.compat.v1.train.SessionRunHook):
    """SyncReplicasOptimizer's session hook (`make_session_run_hook`: the local step, the initial tokens, the chief's
    aggregation thread), except that the chief's queue runner runs under its own Coordinator.

    When training stops, that thread is blocked in take_grad waiting for gradients that will not come; only the
    session's close cancels it. Under the session's coordinator the close comes after a stop_grace_period_secs wait
    and the cancellation is re-raised as an error; here `end` requests the stop, the close cancels the wait, and the
    cancellation counts as a clean stop. Call `join` after the session is closed.
    """

    def __init__(self, sync_optimizer, is_chief, num_tokens):
        self._sync_optimizer, self._is_chief, self._num_tokens = sync_optimizer, is_chief, num_tokens
        self._coord, self._threads = None, []

    def begin(self):
        sync = self._sync_optimizer
        self._ready_for_local_init_op = sync.ready_for_local_init_op
        if self._is_chief:
            self._local_init_op = sync.chief_init_op
            self._queue_runner = sync.get_chief_queue_runner()
            self._init_tokens_op = sync.get_init_tokens_op(self._num_tokens)
        else:
            self._local_init_op = sync.local_step_init_op
            self._queue_runner = self._init_tokens_op = None

    def after_create_session(self, session, coord):
        uninitialized = session.run(self._ready_for_local_init_op)
        if len(uninitialized):
            raise RuntimeError('the model is not ready for the synchronous optimizer\'s local initialisation; '
                               'uninitialised variables: %s' % ', '.join(n.decode() for n in uninitialized[:5]))
        session.run(self._local_init_op)
        if self._init_tokens_op is not None:
            session.run(self._init_tokens_op)
        if self._queue_runner is not None:
            self._coord = tf.train.Coordinator(clean_stop_exception_types=(tf.errors.OutOfRangeError,
                                                                           tf.errors.CancelledError))
            self._threads = self._queue_runner.create_threads(session, coord=self._coord, daemon=True, start=True)

    def end(self, session):
        if self._coord is not None:
            self._coord.request_stop()

    def join(self, timeout_secs):
        """Waits (at most timeout_secs) for the chief's aggregation thread once the session is closed."""
        if self._coord is not None:
            self._coord.request_stop()
            self._coord.join(self._threads, stop_grace_period_secs=timeout_secs, ignore_live_threads=True)
            self._coord, self._threads = None, []


def wait_for_global_step(cluster, server, variable_device, config):
    """The global step once the chief has initialised (or restored) it: a non-chief worker learns where the run
    starts (and so its stage) from the cluster, without reading the chief's train_dir. Raises RuntimeError after
    max_wait_secs."""
    with tf.Graph().as_default() as graph:
        with tf.device(device_setter(cluster)), tf.device(variable_device):
            global_step = tf.train.get_or_create_global_step()
        ready = tf.is_variable_initialized(global_step)
        value = tf.identity(global_step)
        deadline = time.time() + cluster.max_wait_secs
        with tf.Session(server.target, graph=graph, config=config) as sess:
            while not sess.run(ready):
                if time.time() > deadline:
                    raise RuntimeError('worker %d: the chief did not initialise the global step within %s s (is worker '
                                       '0 running? cluster_config.max_wait_secs)' % (cluster.task_index,
                                                                                      cluster.max_wait_secs))
                time.sleep(cluster.recovery_wait_secs)
            return int(sess.run(value))


# ----------------------------------------------------------------------------------------------------------------
# Counters and train ops.

def worker_counters(num_workers, device=None):
    """([steps_i], [nonfinite_steps_i]) int64 variables for i < num_workers: `worker_steps/worker_<i>` and
    `worker_nonfinite_steps/worker_<i>` (on the ps under device_setter; saved in checkpoints)."""
    steps, nonfinite = [], []
    with tf.device(device):
        for index in range(num_workers):
            for name, counters in ((WORKER_STEPS, steps), (WORKER_NONFINITE_STEPS, nonfinite)):
                counters.append(tf.get_variable('%s/worker_%d' % (name, index), shape=[], dtype=tf.int64,
                                                initializer=tf.zeros_initializer(), trainable=False))
    return steps, nonfinite


def count_contribution(steps, nonfinite, finite):
    """[steps += 1, nonfinite += 1 - finite]: this worker's counters after its step (int64 scalars)."""
    return [tf.assign_add(steps, 1), tf.assign_add(nonfinite, 1 - tf.cast(finite, tf.int64))]


class GuardedAggregateOptimizer(tf.compat.v1.train.Optimizer):
    """The optimizer SyncReplicasOptimizer wraps: turns the aggregated (zero-filled) gradients into the mean over the
    finite contributions and applies it through the guarded update (see the module docstring)."""

    def __init__(self, optimizer, clip_norm, counter, finite_fraction):
        super(GuardedAggregateOptimizer, self).__init__(use_locking=False, name='GuardedAggregate')
        self._optimizer, self._clip_norm = optimizer, clip_norm
        self._counter, self._finite_fraction = counter, finite_fraction
        self.nonfinite_steps = None

    def apply_gradients(self, grads_and_vars, global_step=None, name=None):
        pairs = list(grads_and_vars)
        fraction = [g for g, v in pairs if v is self._finite_fraction]
        if len(fraction) != 1:
            raise ValueError('the aggregated gradients must include exactly one for %s' % FINITE_FRACTION)
        pairs = [(g, v) for g, v in pairs if v is not self._finite_fraction]
        with tf.name_scope(name or 'guarded_aggregate'):
            fraction = fraction[0]
            # zero-filled mean over R contributions / (finite ones / R) = mean over the finite contributions
            scale = tf.where(fraction > 0., 1. / tf.maximum(fraction, 1e-12), 0.)
            grads = [g * scale for g, _ in pairs]
            norm = tf.global_norm(grads, name='gradient_norm')
            finite = tf.logical_and(fraction > 0., tf.is_finite(norm), name='finite')
            self.nonfinite_steps, train_op = guarded_update(grads, [v for _, v in pairs], self._optimizer,
                                                            global_step, self._clip_norm, self._counter, finite, norm)
        return train_op

    def get_slot(self, var, name):
        return self._optimizer.get_slot(var, name)

    def get_slot_names(self):
        return self._optimizer.get_slot_names()

    def variables(self):
        return self._optimizer.variables()


def build_sync_train_op(towers, var_list, optimizer, global_step, clip_norm, counter, variable_device, cluster,
                        steps, nonfinite):
    """The synchronous train op of this worker (module docstring) -> (TrainOp, SyncReplicasOptimizer).

    Args:
      towers, var_list, optimizer, global_step, clip_norm, counter, variable_device: as train_op.build_train_op.
      cluster: the Cluster (replicas_to_aggregate, number of workers, chief).
      steps, nonfinite: this worker's counters (worker_counters()[k][cluster.task_index]).
    Returns:
      TrainOp whose train_op pushes the gradient, waits for the step's token and returns the global step after it;
      loss, gradient_norm and finite describe this worker's batch; nonfinite_steps reads the global skip counter;
      worker_steps and worker_nonfinite_steps are this worker's counters after the step.
    """
    result = TrainOp()
    for name, value in tower_means(towers, variable_device).items():
        setattr(result, name, value)
    grads = average_gradients(towers, variable_device)
    with tf.device(variable_device):
        fraction = tf.get_variable(FINITE_FRACTION, shape=[], dtype=tf.float32, initializer=tf.zeros_initializer(),
                                   trainable=False)
    with tf.device(variable_device), tf.name_scope('train_step/'):
        result.gradient_norm = tf.global_norm(grads, name='gradient_norm')
        result.finite = finite_step(result.loss, result.gradient_norm)
        local = count_contribution(steps, nonfinite, result.finite)
        result.worker_steps, result.worker_nonfinite_steps = local
        if cluster.is_chief:  # BN moving averages from the chief's tower 0, on its finite batches only
            local.append(tf.cond(result.finite, lambda: tf.group(*moving_average_updates(towers[0].bn_statistics)),
                                 tf.no_op, name='chief_bn_updates'))
        with tf.control_dependencies(local):  # counted (and BN updated) before the push, so a checkpoint of the
            pushed = [tf.where(result.finite, g, tf.zeros_like(g)) for g in grads]  # step includes them
            pushed.append(tf.cast(result.finite, tf.float32))
    inner = GuardedAggregateOptimizer(optimizer, clip_norm, counter, fraction)
    sync = tf.train.SyncReplicasOptimizer(inner, replicas_to_aggregate=cluster.replicas_to_aggregate,
                                          total_num_replicas=cluster.num_workers, name='sync_replicas')
    token = sync.apply_gradients(list(zip(pushed, list(var_list) + [fraction])), global_step=global_step)
    with tf.device(variable_device), tf.name_scope('train_step/'):
        result.train_op = tf.identity(token, name='train_op')
        result.nonfinite_steps = tf.identity(counter.read_value(), name='nonfinite_steps')
    return result, sync


def build_async_train_op(towers, var_list, optimizer, global_step, clip_norm, counter, variable_device, steps,
                         nonfinite):
    """The asynchronous train op: the single-process guarded train op on the shared variables, plus this worker's
    counters (updated in the same step; TrainOp.worker_steps, worker_nonfinite_steps) -> TrainOp."""
    result = build_train_op(towers, var_list, optimizer, global_step, clip_norm, counter, variable_device)
    with tf.device(variable_device), tf.name_scope('train_step/'):
        counted = count_contribution(steps, nonfinite, result.finite)
        result.worker_steps, result.worker_nonfinite_steps = counted
        with tf.control_dependencies(counted):
            result.train_op = tf.identity(result.train_op, name='counted_train_op')
    return result
