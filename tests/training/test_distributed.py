"""Tests of training/distributed.py: cluster descriptions (TF_CONFIG and config keys) and their errors, placement, and
the synchronous guarded update on an in-process cluster (1 ps + 2 worker servers, one thread per worker) with a
linear model whose updates numpy recomputes: a non-finite worker is left out of the mean, a step where every worker
is non-finite is skipped, BN statistics come from the chief's finite batches only, and the per-worker counters."""

import copy
import json
import threading

import numpy as np
import pytest
import tensorflow as tf

import configuration
from embeddings.siamrpn_alexnet import BatchStatistics
from scripts.launch_local_cluster import free_ports
from training import distributed
from training.towers import Tower
from training.train_op import nonfinite_counter

SPEC = {'ps': ['127.0.0.1:2222'], 'worker': ['127.0.0.1:2223', 'localhost:2224']}


def cluster_config(**overrides):
    config = copy.deepcopy(configuration.TRAIN_CONFIG['cluster_config'])
    config.update(overrides)
    return config


def tf_config(job, index, spec=SPEC):
    return {distributed.TF_CONFIG: json.dumps({'cluster': spec, 'task': {'type': job, 'index': index}})}


def test_no_cluster_means_one_process():
    assert distributed.resolve_cluster(cluster_config(), environ={}) is None
    assert distributed.resolve_cluster(cluster_config(), environ={distributed.TF_CONFIG: '  '}) is None
    assert distributed.resolve_cluster(cluster_config(), environ={distributed.TF_CONFIG: '{"task": {}}'}) is None
    assert distributed.is_chief_process(cluster_config(), environ={})


def test_tf_config_and_config_keys_describe_the_same_cluster():
    from_env = distributed.resolve_cluster(cluster_config(), environ=tf_config('worker', 1))
    from_keys = distributed.resolve_cluster(cluster_config(cluster=SPEC, job_name='worker', task_index=1), environ={})
    for cluster in (from_env, from_keys):
        assert (cluster.job_name, cluster.task_index, cluster.num_ps, cluster.num_workers) == ('worker', 1, 1, 2)
        assert not cluster.is_chief and not cluster.is_ps and cluster.worker_device == '/job:worker/task:1'
        assert cluster.sync and cluster.replicas_to_aggregate == 2 and cluster.examples_per_step == 2
        assert cluster.initial_tokens == 0
    assert from_env.source == 'TF_CONFIG' and from_keys.source == 'train_config.cluster_config'
    chief = distributed.resolve_cluster(cluster_config(cluster=SPEC, job_name='worker'), environ={})
    assert chief.is_chief and chief.task_index == 0
    asynchronous = distributed.resolve_cluster(cluster_config(sync=False, replicas_to_aggregate=3),
                                               environ=tf_config('ps', 0))
    assert asynchronous.is_ps and asynchronous.examples_per_step == 1
    backup = distributed.resolve_cluster(cluster_config(replicas_to_aggregate=3), environ=tf_config('worker', 0))
    assert backup.initial_tokens == 1 and backup.examples_per_step == 3
    assert not distributed.is_chief_process(cluster_config(), environ=tf_config('ps', 0))
    assert not distributed.is_chief_process(cluster_config(), environ=tf_config('worker', 1))
    assert distributed.is_chief_process(cluster_config(), environ=tf_config('worker', 0))
    assert distributed.is_chief_process(cluster_config(), environ={distributed.TF_CONFIG: '{bad'})


@pytest.mark.parametrize('config, environ, message', [
    (cluster_config(), {distributed.TF_CONFIG: '{"cluster": '}, 'TF_CONFIG environment variable is not valid JSON'),
    (cluster_config(), {distributed.TF_CONFIG: '[1]'}, 'TF_CONFIG environment variable must hold a JSON object'),
    (cluster_config(), tf_config('chief', 0, dict(SPEC, chief=['h:1'])), 'TF_CONFIG cluster has job.*chief'),
    (cluster_config(), tf_config('worker', 0, {'worker': ['h:1']}), r'TF_CONFIG cluster.ps must be a non-empty list'),
    (cluster_config(), tf_config('worker', 0, dict(SPEC, worker=['nohost'])), "TF_CONFIG cluster.worker: 'nohost'"),
    (cluster_config(), tf_config('worker', 0, dict(SPEC, worker=['h:99999'])), "'h:99999' is not a \"host:port\""),
    (cluster_config(), tf_config('worker', 0, dict(SPEC, ps=['127.0.0.1:2223'])), 'lists the address 127.0.0.1:2223'),
    (cluster_config(), tf_config('master', 0), "TF_CONFIG task.type must be 'ps' or 'worker', got 'master'"),
    (cluster_config(), tf_config('worker', 2), 'TF_CONFIG task.index is 2 but the cluster has 2 worker task'),
    (cluster_config(), {distributed.TF_CONFIG: json.dumps({'cluster': SPEC})}, 'TF_CONFIG needs a "task" object'),
    (cluster_config(cluster=SPEC, job_name='worker'), tf_config('worker', 0), 'both the TF_CONFIG environment'),
    (cluster_config(cluster=SPEC), {}, "cluster_config.job_name must be 'ps' or 'worker', got None"),
    (cluster_config(cluster=SPEC, job_name='ps', task_index=1), {}, 'cluster_config.task_index is 1 but the cluster '
                                                                    'has 1 ps task'),
    (cluster_config(cluster=SPEC, job_name='ps', task_index='0'), {}, 'cluster_config.task_index must be an integer'),
    (cluster_config(cluster=['h:1']), {}, 'cluster_config.cluster must be a dict'),
    (cluster_config(job_name='worker'), {}, 'job_name/task_index are set but no cluster is'),
    (cluster_config(sync='yes'), {}, 'cluster_config.sync must be True or False'),
    (cluster_config(replicas_to_aggregate=0), {}, 'cluster_config.replicas_to_aggregate must be None or an integer'),
    (cluster_config(recovery_wait_secs=0), {}, 'cluster_config.recovery_wait_secs must be a number > 0'),
])
def test_bad_cluster_descriptions_name_the_field(config, environ, message):
    with pytest.raises(ValueError, match=message):
        distributed.resolve_cluster(config, environ=environ)


def test_placement_puts_variables_on_ps_by_name_and_the_rest_on_the_worker():
    spec = dict(SPEC, ps=['127.0.0.1:2225', '127.0.0.1:2226', '127.0.0.1:2227'])
    cluster = distributed.resolve_cluster(cluster_config(cluster=spec, job_name='worker', task_index=1), environ={})
    names = ['v%d' % i for i in range(12)]
    for order in (names, names[::-1]):  # creation order does not matter
        with tf.Graph().as_default(), tf.device(distributed.device_setter(cluster)):
            variables = {n: tf.get_variable(n, shape=[]) for n in order}
            with tf.device('/cpu:1'):
                local = tf.identity(variables['v0'])
                on_cpu = tf.get_variable('on_cpu', shape=[])
            for name, variable in variables.items():
                task = distributed.ps_task_of(name, 3)
                assert variable.device == '/job:ps/task:%d' % task
            assert local.device == '/job:worker/task:1/device:CPU:1'
            assert on_cpu.device == '/job:ps/task:%d/device:CPU:1' % distributed.ps_task_of('on_cpu', 3)
    assert len({distributed.ps_task_of(n, 3) for n in names}) == 3


def test_worker_configs_offset_the_seeds_and_sessions_filter_devices():
    train_config = copy.deepcopy(configuration.TRAIN_CONFIG)
    train_config['train_data_config']['seed'] = 11
    first, second = (distributed.worker_train_config(train_config, i) for i in (0, 1))
    assert (first['seed'], first['train_data_config']['seed']) == (train_config['seed'], 11)
    assert (second['seed'], second['train_data_config']['seed']) == (train_config['seed'] + 1, 12)
    assert second['validation_data_config']['seed'] == train_config['validation_data_config']['seed']
    cluster = distributed.resolve_cluster(cluster_config(), environ=tf_config('worker', 1))
    config = distributed.worker_session_config(cluster, tf.ConfigProto(device_count={'CPU': 2}))
    assert list(config.device_filters) == ['/job:ps', '/job:worker/task:1'] and config.device_count['CPU'] == 2
    assert distributed.server_config(distributed.resolve_cluster(cluster_config(), environ=tf_config('ps', 0)),
                                     config).device_count['GPU'] == 0


# ---- the synchronous update on an in-process cluster -------------------------------------------------------------

LEARNING_RATE = 0.1
DECAY = 0.9
INITIAL_W = np.array([1., -2., 0.5], np.float32)


@pytest.fixture(scope='module')
def local_cluster():
    """[ps, worker 0, worker 1] (Cluster, tf.train.Server) on free loopback ports, shared by this module's tests
    (each test uses its own resource container, so their variables do not meet)."""
    ports = free_ports(3)
    spec = {'ps': ['127.0.0.1:%d' % ports[0]], 'worker': ['127.0.0.1:%d' % p for p in ports[1:]]}
    tasks = []
    for job, index in (('ps', 0), ('worker', 0), ('worker', 1)):
        cluster = distributed.resolve_cluster(cluster_config(cluster=spec, job_name=job, task_index=index), {})
        tasks.append((cluster, distributed.start_server(cluster, distributed.server_config(cluster))))
    return tasks


class LinearWorker(object):
    """One worker's graph: loss = mean((x w - y)^2) over its fed batch, SGD, the guarded sync train op, and a BN-like
    moving statistic `m` whose batch value is mean(x) (recorded like the embedding's deferred BN statistics)."""

    def __init__(self, cluster, container, sync=True):
        self.cluster = cluster
        self.graph = tf.Graph()
        with self.graph.as_default(), tf.container(container), tf.device(distributed.device_setter(cluster)):
            self.global_step = tf.train.get_or_create_global_step()
            self.w = tf.get_variable('w', initializer=tf.constant(INITIAL_W))
            self.m = tf.get_variable('m', initializer=tf.constant(0.), trainable=False)
            self.x = tf.placeholder(tf.float32, [None, 3])
            self.y = tf.placeholder(tf.float32, [None])
            loss = tf.reduce_mean(tf.square(tf.tensordot(self.x, self.w, 1) - self.y))
            zero = tf.constant(0.)
            model = type('Model', (), dict(total_loss=loss, cls_loss=loss, reg_loss=zero, regularization_loss=zero,
                                           mean_top_iou=zero))
            tower = Tower(0, '/cpu:0', model, [BatchStatistics(self.m, tf.reduce_mean(self.x), DECAY)])
            tower.gradients = tf.gradients(loss, [self.w])
            self.counter = nonfinite_counter()
            self.steps, self.nonfinite = distributed.worker_counters(cluster.num_workers)
            optimizer = tf.train.GradientDescentOptimizer(LEARNING_RATE)
            index = cluster.task_index
            if sync:
                self.step, sync_optimizer = distributed.build_sync_train_op(
                    [tower], [self.w], optimizer, self.global_step, None, self.counter, '/cpu:0', cluster,
                    self.steps[index], self.nonfinite[index])
                self.hooks = [distributed.SyncReplicasHook(sync_optimizer, cluster.is_chief, cluster.initial_tokens)]
            else:
                self.step = distributed.build_async_train_op([tower], [self.w], optimizer, self.global_step, None,
                                                             self.counter, '/cpu:0', self.steps[index],
                                                             self.nonfinite[index])
                self.hooks = []
            self.scaffold = tf.train.Scaffold()

    def session(self, server):
        with self.graph.as_default():
            if self.cluster.is_chief:
                creator = tf.train.ChiefSessionCreator(self.scaffold, master=server.target)
            else:
                creator = distributed.WorkerSessionCreator(self.scaffold, server.target, None, 60, 0.2)
            return tf.train.MonitoredSession(creator, hooks=self.hooks, stop_grace_period_secs=2)

    def state(self, sess):
        return sess.run({'w': self.w, 'm': self.m, 'global_step': self.global_step, 'skipped': self.counter,
                         'steps': self.steps, 'nonfinite': self.nonfinite})


def batches(seed, count):
    rng = np.random.RandomState(seed)
    return [(rng.randn(4, 3).astype(np.float32), rng.randn(4).astype(np.float32)) for _ in range(count)]


def gradient(w, x, y):
    """d/dw mean((x w - y)^2), in float64."""
    x, y, w = x.astype(np.float64), y.astype(np.float64), w.astype(np.float64)
    return 2. * x.T.dot(x.dot(w) - y) / len(y)


def run_workers(workers, servers, feeds):
    """Runs each worker's session in its own thread over its list of feeds, in lockstep (a barrier after every
    step); returns each worker's fetched train-op outputs and the final state read by the chief."""
    barrier = threading.Barrier(len(workers))
    outputs, errors, states = [[] for _ in workers], [], {}

    def work(index):
        try:
            worker = workers[index]
            with worker.session(servers[index]) as sess:
                for x, y in feeds[index]:
                    outputs[index].append(sess.run({'step': worker.step.train_op, 'finite': worker.step.finite},
                                                   {worker.x: x, worker.y: y}))
                    barrier.wait(timeout=60)
                if index == 0:
                    states['final'] = worker.state(sess)
                barrier.wait(timeout=60)  # the chief reads the state before any session closes
            for hook in worker.hooks:
                hook.join(10)
        except Exception as error:  # reported by the main thread
            errors.append(error)
            barrier.abort()

    threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(len(workers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors, errors
    assert not any(t.is_alive() for t in threads), 'a worker hung'
    return outputs, states['final']


def test_sync_update_leaves_non_finite_workers_out_and_skips_when_all_fail(local_cluster):
    (_, _), (chief, chief_server), (other, other_server) = local_cluster
    workers = [LinearWorker(chief, 'sync-test'), LinearWorker(other, 'sync-test')]
    feeds = [batches(1, 4), batches(2, 4)]
    poisoned = {(1, 1), (0, 2), (1, 2), (0, 3)}  # (worker, step): step 1 worker 1, step 2 both, step 3 the chief
    for worker, step in poisoned:
        feeds[worker][step] = (np.full_like(feeds[worker][step][0], np.nan), feeds[worker][step][1])
    outputs, state = run_workers(workers, [chief_server, other_server], feeds)

    w, m = INITIAL_W.astype(np.float64), 0.
    for step in range(4):
        finite = [(k, step) not in poisoned for k in range(2)]
        contributions = [gradient(w, *feeds[k][step]) for k in range(2) if finite[k]]
        if contributions:
            w = w - LEARNING_RATE * np.mean(contributions, axis=0)
        if finite[0]:  # the chief's batch statistic only
            m = DECAY * m + (1 - DECAY) * float(np.mean(feeds[0][step][0]))
    np.testing.assert_allclose(state['w'], w, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(state['m'], m, rtol=1e-5, atol=1e-6)
    assert state['global_step'] == 4 and state['skipped'] == 1
    assert list(state['steps']) == [4, 4] and list(state['nonfinite']) == [2, 2]
    assert [[o['step'] for o in out] for out in outputs] == [[1, 2, 3, 4]] * 2
    assert [[bool(o['finite']) for o in out] for out in outputs] == [[True, True, False, False],
                                                                      [True, False, False, True]]


def test_async_workers_apply_their_own_steps(local_cluster):
    (_, _), (chief, chief_server), (other, other_server) = local_cluster
    workers = [LinearWorker(chief, 'async-test', sync=False), LinearWorker(other, 'async-test', sync=False)]
    feeds = [batches(3, 2), batches(4, 2)]
    feeds[1][1] = (np.full_like(feeds[1][1][0], np.inf), feeds[1][1][1])
    outputs, state = run_workers(workers, [chief_server, other_server], feeds)
    assert state['global_step'] == 4 and state['skipped'] == 1
    assert list(state['steps']) == [2, 2] and list(state['nonfinite']) == [0, 1]
    assert sorted(o['step'] for out in outputs for o in out) == [1, 2, 3, 4]


def test_an_epoch_of_a_synchronous_cluster_counts_every_workers_batch_in_the_learning_rate():
    """With 2 workers aggregated per step an epoch is num_examples / (2 * batch_size) steps, for the learning rate as
    for the run's length: step k of the cluster has the rate of step 2k of a single process, and the last step of
    the run reaches end_lr."""
    from tests.conftest import tiny_model_config
    from tests.training.test_towers import constant_batch
    from training.run_config import total_steps
    from training.stage_graph import build_train_step

    train_config = copy.deepcopy(configuration.TRAIN_CONFIG)
    train_config['train_data_config'].update(batch_size=4, num_examples_per_epoch=32, epoch=2)
    train_config['lr_config'].update(warmup=None, staircase=False)
    stage = {'trainable_scopes': ['rpn_head'], 'lr_mult': 1.0}
    cluster = distributed.resolve_cluster(cluster_config(cluster=SPEC, job_name='worker'), environ={})
    assert cluster.examples_per_step == 2 and total_steps(train_config, cluster.examples_per_step) == 8
    rates = {}
    for name, worker_cluster in (('single', None), ('sync', cluster)):
        with tf.Graph().as_default():
            global_step = tf.train.get_or_create_global_step()
            step = build_train_step(tiny_model_config(), train_config, constant_batch(), stage, ['/cpu:0'],
                                    '/cpu:0', global_step, cluster=worker_cluster)
            with tf.Session() as sess:
                rates[name] = [sess.run(step.learning_rate, {global_step: k}) for k in range(9)]
    np.testing.assert_allclose(rates['sync'][:5], rates['single'][0:9:2], rtol=1e-6)
    np.testing.assert_allclose(rates['sync'][8], train_config['lr_config']['end_lr'], rtol=1e-6)  # the run's end
