"""Tests of scripts/launch_local_cluster.py.

With stand-in tasks (a few lines of Python that read TF_CONFIG): the stand-ins see the cluster, the ps tasks are
stopped once the workers finish, and a failing worker, a ps that exits early, a timeout or a signal to the launcher
stop every task. End to end: 1 ps + 2 workers on 127.0.0.1 train 20 synchronous steps of the tiny model on the keyed
LMDB through the real experiment script, stopped by a signal after a checkpoint and relaunched: the restarted cluster
resumes from the chief's checkpoint, the global step ends at 20, the chief's checkpoint tracks in a single-process
tracker, both workers contributed (their counters in the checkpoint), the chief alone wrote the Sacred records and
the events, and every process is gone. A fixture kills every process group the launcher started, even
when a test fails."""

import glob
import json
import os
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf

from inference.tracker import SiamRPNTracker
from tests.conftest import PROJECT_ROOT
from tests.test_train_siamese_model import TRAIN_DIR, saved_step
from tests.test_train_siamese_model import command as experiment_command, events as summary_events
from utils.box_io import read_otb_boxes

LAUNCHER = os.path.join(PROJECT_ROOT, 'scripts', 'launch_local_cluster.py')
STEPS = 20

# A stand-in task: prints its TF_CONFIG task; ps tasks serve until killed (exit at once with PS_EXITS); workers sleep
# SLEEP seconds and exit with EXIT_<index> (default 0). Each starts a child (its process group must be stopped too).
STAND_IN = r'''
import json, os, subprocess, sys, time
config = json.loads(os.environ['TF_CONFIG'])
task = config['task']
print('task %s %d of %d workers' % (task['type'], task['index'], len(config['cluster']['worker'])), flush=True)
child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'])
print('child %d' % child.pid, flush=True)
if task['type'] == 'ps':
    if os.environ.get('PS_EXITS'):
        sys.exit(0)
    time.sleep(600)
time.sleep(float(os.environ.get('SLEEP', '0.5')))
sys.exit(int(os.environ.get('EXIT_%d' % task['index'], '0')))
'''


def alive(pid):
    """Whether process pid exists and is not a zombie."""
    try:
        with open('/proc/%d/stat' % pid) as stat:
            return stat.read().split(') ')[1][0] != 'Z'
    except (IOError, IndexError):
        try:
            os.kill(pid, 0)
            return True
        except ProcessLookupError:
            return False


class Launch(object):
    """A launcher subprocess; stop() kills it and every process group it reported starting."""

    def __init__(self, args, cwd, env=None, log_name='launcher.log'):
        self.log_path = os.path.join(str(cwd), log_name)
        with open(self.log_path, 'wb') as log:
            self.process = subprocess.Popen([sys.executable, LAUNCHER] + args, cwd=str(cwd), stdout=log,
                                            stderr=subprocess.STDOUT, env=dict(os.environ, **(env or {})),
                                            start_new_session=True)

    def output(self):
        with open(self.log_path, errors='replace') as log:
            return log.read()

    def task_pids(self):
        """pids of the tasks and of the stand-ins' children, from the output."""
        text = self.output()
        return [int(p) for p in re.findall(r'started \w+ \d+ \(pid (\d+)\)', text) + re.findall(r'child (\d+)', text)]

    def wait(self, timeout):
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            pytest.fail('the launcher did not finish in %s s:\n%s' % (timeout, self.output()[-5000:]))

    def stop(self):
        for pid in [self.process.pid] + self.task_pids():
            for kill in (os.killpg, os.kill):
                try:
                    kill(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
        self.process.wait(30)


@pytest.fixture
def launch():
    """launch(args, cwd, env) -> Launch; every launcher and its tasks are killed at teardown, pass or fail."""
    launches = []

    def start(args, cwd, env=None, log_name='launcher.log'):
        launches.append(Launch(args, cwd, env, log_name))
        return launches[-1]

    yield start
    for launched in launches:
        launched.stop()


def stand_in(tmp_path):
    path = tmp_path / 'stand_in.py'
    path.write_text(STAND_IN)
    return str(path)


def wait_gone(pids, timeout=10):
    deadline = time.time() + timeout
    while any(alive(p) for p in pids) and time.time() < deadline:
        time.sleep(0.1)
    return [p for p in pids if alive(p)]


def test_help_describes_the_launcher():
    result = subprocess.run([sys.executable, LAUNCHER, '--help'], stdout=subprocess.PIPE, timeout=60)
    assert result.returncode == 0 and b'TF_CONFIG' in result.stdout and b'--workers' in result.stdout


def test_workers_finish_then_the_ps_is_stopped_and_logs_are_prefixed(launch, tmp_path):
    run = launch(['--ps', '2', '--workers', '3', '--log-dir', 'logs', '--grace-secs', '2', stand_in(tmp_path)],
                 tmp_path)
    assert run.wait(60) == 0, run.output()
    out = run.output()
    for name in ('ps 0', 'ps 1', 'worker 0', 'worker 1', 'worker 2'):
        job, index = name.split()
        assert '[%s] task %s %s of 3 workers' % (name, job, index) in out
    assert 'every worker finished; stopping the ps tasks' in out
    spec = json.loads(re.search(r'cluster: (.*)', out).group(1))
    assert len(spec['ps']) == 2 and len(spec['worker']) == 3 and all(a.startswith('127.0.0.1:') for a in
                                                                     spec['ps'] + spec['worker'])
    assert len(set(spec['ps'] + spec['worker'])) == 5
    assert sorted(os.listdir(str(tmp_path / 'logs'))) == ['ps-0.log', 'ps-1.log', 'worker-0.log', 'worker-1.log',
                                                           'worker-2.log']
    assert 'task worker 2 of 3' in (tmp_path / 'logs' / 'worker-2.log').read_text()
    assert not wait_gone(run.task_pids())  # the ps tasks and every stand-in's child


@pytest.mark.parametrize('env, args, code, message', [
    ({'EXIT_1': '3', 'SLEEP': '0.2'}, [], 3, 'worker 1 exited with code 3'),
    ({'PS_EXITS': '1', 'SLEEP': '600'}, [], 1, 'ps 0 exited with code 0 while the workers ran'),
    ({'SLEEP': '600'}, ['--timeout', '3'], 124, '--timeout of 3.0 s passed'),
])
def test_a_failure_stops_every_task(launch, tmp_path, env, args, code, message):
    run = launch(['--grace-secs', '2'] + args + [stand_in(tmp_path)], tmp_path, env=env)
    assert run.wait(60) == code, run.output()
    assert message in run.output()
    assert not wait_gone(run.task_pids())


def test_a_signal_to_the_launcher_stops_every_task(launch, tmp_path):
    run = launch(['--grace-secs', '2', stand_in(tmp_path)], tmp_path, env={'SLEEP': '600'})
    deadline = time.time() + 30
    while len(re.findall(r'child \d+', run.output())) < 3:
        assert time.time() < deadline and run.process.poll() is None, run.output()
        time.sleep(0.1)
    run.process.send_signal(signal.SIGTERM)
    assert run.wait(60) == 128 + signal.SIGTERM, run.output()
    assert not wait_gone(run.task_pids())


def test_a_killed_launcher_takes_its_tasks_along(launch, tmp_path):
    """SIGKILL gives the launcher no chance to clean up; PR_SET_PDEATHSIG stops the tasks (Linux)."""
    if not sys.platform.startswith('linux'):
        pytest.skip('PR_SET_PDEATHSIG is Linux only')
    run = launch(['--grace-secs', '2', stand_in(tmp_path)], tmp_path, env={'SLEEP': '600'})
    deadline = time.time() + 30
    while len(re.findall(r'started', run.output())) < 3:
        assert time.time() < deadline and run.process.poll() is None, run.output()
        time.sleep(0.1)
    tasks = [int(p) for p in re.findall(r'started \w+ \d+ \(pid (\d+)\)', run.output())]
    run.process.kill()
    run.process.wait(30)
    assert not wait_gone(tasks)


def test_one_ps_and_two_workers_train_20_synchronous_steps_and_resume(launch, keyed_dataset, tmp_path):
    """The cluster is stopped (SIGTERM to the launcher) after its first checkpoint past step 0 and relaunched with
    the same command: it resumes from the chief's checkpoint and ends at step 20."""
    overrides = {'train_config.train_data_config.num_examples_per_epoch': 4 * 2 * STEPS,  # 2 workers x 4 pairs
                 'train_config.save_model_every_n_steps': 5, 'train_config.validation_every_n_steps': 10,
                 'train_config.summary_every_n_steps': 10, 'train_config.log_every_n_steps': 5}
    command = [c for c in experiment_command(keyed_dataset)[1:] if c.split('=')[0] not in overrides]
    command += ['%s=%s' % item for item in sorted(overrides.items())]
    args = ['--ps', '1', '--workers', '2', '--grace-secs', '5', '--timeout', '600'] + command
    train_dir = str(tmp_path / TRAIN_DIR)

    first = launch(args, tmp_path, log_name='first.log')
    deadline = time.time() + 300
    while saved_step(train_dir) < 5:
        assert first.process.poll() is None, first.output()[-8000:]
        assert time.time() < deadline, first.output()[-8000:]
        time.sleep(0.2)
    first.process.send_signal(signal.SIGTERM)
    assert first.wait(60) == 128 + signal.SIGTERM, first.output()[-8000:]
    assert not wait_gone(first.task_pids())
    stopped_at = saved_step(train_dir)
    assert 5 <= stopped_at < STEPS

    second = launch(args, tmp_path, log_name='second.log')
    code = second.wait(600)
    out = second.output()
    assert code == 0, out[-8000:]
    assert saved_step(train_dir) == STEPS
    assert ('[worker 0] ' in out and 'resuming from %s (global step %d)'
            % (os.path.join(TRAIN_DIR, 'model.ckpt-%d' % stopped_at), stopped_at) in out), out[-8000:]
    assert '[worker 1] ' in out and 'the chief resumed the run at global step %d' % stopped_at in out
    assert 'synchronous, 2 gradients per step' in out and 'every worker finished; stopping the ps tasks' in out
    for worker in (0, 1):  # both trained to the end in lockstep and logged their contributions
        assert re.search(r'\[worker %d\] .*step %d/%d .*\[worker %d: \d+ gradients, 0 non-finite\]'
                         % (worker, STEPS, STEPS, worker), out), out[-8000:]

    latest = tf.train.latest_checkpoint(train_dir)
    counters = {name: int(tf.train.load_variable(latest, name)) for name, _ in tf.train.list_variables(latest)
                if name.startswith('worker_')}
    assert set(counters) == {'worker_steps/worker_0', 'worker_steps/worker_1', 'worker_nonfinite_steps/worker_0',
                             'worker_nonfinite_steps/worker_1'}
    assert counters['worker_steps/worker_0'] > 0 and counters['worker_steps/worker_1'] > 0  # both contributed
    assert counters['worker_steps/worker_0'] + counters['worker_steps/worker_1'] >= 2 * STEPS
    assert counters['worker_nonfinite_steps/worker_0'] == counters['worker_nonfinite_steps/worker_1'] == 0
    assert int(tf.train.load_variable(latest, 'nonfinite_steps')) == 0

    runs = sorted(glob.glob(str(tmp_path / 'Logs' / 'SiamRPN' / 'SiamRPN-AlexNet' / 'sacred' / '[0-9]*')))
    assert len(runs) == 2  # the chief's records only: the stopped run and the resumed one
    assert json.load(open(os.path.join(runs[1], 'run.json')))['result'] == STEPS
    events = glob.glob(os.path.join(train_dir, 'events.out.tfevents.*'))
    tags = {value.tag for path in events for event in summary_events(path) for value in event.summary.value}
    assert {'train/total_loss', 'train/worker_steps', 'validation/mean_top_iou', 'train/instance'} <= tags

    sequence = sorted(p for p in glob.glob(os.path.join(keyed_dataset['test_dir'], '*')) if os.path.isdir(p))[0]
    frames = sorted(glob.glob(os.path.join(sequence, 'img', '*.jpg')))[:4]
    with SiamRPNTracker.from_checkpoint(train_dir) as tracker:  # a single-process inference graph
        boxes, _ = tracker.track(frames, read_otb_boxes(os.path.join(sequence, 'groundtruth_rect.txt'))[0])
    assert boxes.shape == (4, 4) and np.isfinite(boxes).all()
    assert not wait_gone(second.task_pids())
