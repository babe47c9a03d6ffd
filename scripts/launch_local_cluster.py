#!/usr/bin/env python
"""Runs a training command as a local TF cluster: N ps tasks and M workers as processes on free loopback ports.

  python scripts/launch_local_cluster.py --ps 1 --workers 2 experiments/SiamRPN-AlexNet.py
  python scripts/launch_local_cluster.py --ps 1 --workers 2 --log-dir Logs/cluster \\
      experiments/SiamRPN-AlexNet.py with train_config.cluster_config.sync=False train_config.log_every_n_steps=1

Every task runs the same command (a .py file runs with this Python) with its own TF_CONFIG environment variable
  {"cluster": {"ps": ["127.0.0.1:P0", ...], "worker": [...]}, "task": {"type": "worker", "index": 1}}
which train_siamese_model.py reads (training/distributed.py): worker 0 is the chief (checkpoints, summaries, Sacred
record), ps tasks serve the variables. Each task's output is printed line by line with a "[worker 1] " prefix (and
copied to --log-dir/<job>-<index>.log). When every worker has exited successfully the ps tasks are stopped and the
launcher exits 0; when a task fails (a ps task counts as failed if it exits while workers run), on --timeout, or when
the launcher gets SIGINT/SIGTERM/SIGHUP, every task is stopped (SIGTERM to its process group, SIGKILL after
--grace-secs) and the launcher exits non-zero. On Linux the tasks also die with the launcher if it is killed outright
(PR_SET_PDEATHSIG). Re-running the same command resumes from the chief's latest checkpoint.

Across machines, run the same command on each machine with that machine's TF_CONFIG (README, "Distributed
training"); this launcher is for trying a cluster on one machine.
"""

import argparse
import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

TF_CONFIG = 'TF_CONFIG'
_PR_SET_PDEATHSIG = 1


def free_ports(count, host='127.0.0.1'):
    """`count` distinct TCP ports that are free on `host` now (bound to port 0 together, then released)."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET6 if ':' in host else socket.AF_INET, socket.SOCK_STREAM)
            sockets.append(sock)
            sock.bind((host, 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def cluster_spec(num_ps, num_workers, host='127.0.0.1'):
    """{'ps': [host:port, ...], 'worker': [...]} on free ports of `host`."""
    ports = free_ports(num_ps + num_workers, host)
    address = ('[%s]' % host if ':' in host else host) + ':%d'
    return {'ps': [address % p for p in ports[:num_ps]], 'worker': [address % p for p in ports[num_ps:]]}


def tf_config(spec, job, index):
    """The TF_CONFIG value of task (job, index) of `spec`."""
    return json.dumps({'cluster': spec, 'task': {'type': job, 'index': index}})


def task_command(command):
    """The command a task runs: a .py file runs with this Python."""
    command = list(command)
    if command and command[0].endswith('.py'):
        command.insert(0, sys.executable)
    return command


try:
    _PRCTL = ctypes.CDLL(None, use_errno=True).prctl  # resolved before any fork
except (OSError, AttributeError):
    _PRCTL = None  # not Linux: the signal handlers and finally clauses still stop the tasks


def _task_preexec():
    """preexec_fn: a new process group (so a task and whatever it starts can be signalled together) and, on Linux,
    SIGKILL when the launcher dies. Tasks are started before any launcher thread, as preexec_fn requires."""
    os.setpgrp()
    if _PRCTL is not None:
        _PRCTL(_PR_SET_PDEATHSIG, signal.SIGKILL)


class Task(object):
    """One task's process and the thread copying its output."""

    def __init__(self, job, index, command, env, log_dir, output_lock, cwd=None):
        self.job, self.index, self.name = job, index, '%s %d' % (job, index)
        self._log = open(os.path.join(log_dir, '%s-%d.log' % (job, index)), 'ab') if log_dir else None
        self.process = subprocess.Popen(command, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, preexec_fn=_task_preexec)
        self._lock = output_lock
        self._thread = threading.Thread(target=self._copy_output, name='output-' + self.name, daemon=True)

    def start_copying(self):
        self._thread.start()

    def _copy_output(self):
        prefix = ('[%s] ' % self.name).encode()
        for line in iter(self.process.stdout.readline, b''):
            if self._log is not None:
                self._log.write(line)
                self._log.flush()
            with self._lock:
                out = getattr(sys.stdout, 'buffer', None)
                if out is not None:
                    out.write(prefix + line)
                    sys.stdout.flush()
                else:
                    sys.stdout.write((prefix + line).decode('utf-8', 'replace'))

    def signal(self, signum):
        """Sends signum to the task's process group (the task and anything it started)."""
        try:
            os.killpg(self.process.pid, signum)
        except (ProcessLookupError, PermissionError):
            pass

    def finish(self, timeout=5.0):
        """Waits for the output to be copied and closes the log."""
        if self._thread.is_alive():
            self._thread.join(timeout)
        self.process.stdout.close()
        if self._log is not None:
            self._log.close()


def stop(tasks, grace_secs):
    """SIGTERM to every live task's process group, SIGKILL to those still there after grace_secs; waits for them."""
    live = [t for t in tasks if t.process.poll() is None]
    for task in live:
        task.signal(signal.SIGTERM)
    deadline = time.time() + grace_secs
    for task in live:
        try:
            task.process.wait(max(0.0, deadline - time.time()))
        except subprocess.TimeoutExpired:
            pass
    for task in tasks:
        task.signal(signal.SIGKILL)  # also whatever a task left running in its group
        task.process.wait()


class _Signalled(Exception):
    def __init__(self, signum):
        super(_Signalled, self).__init__('received signal %d' % signum)
        self.signum = signum


def _raise_signal(signum, frame):
    raise _Signalled(signum)


def run_cluster(command, num_ps=1, num_workers=2, host='127.0.0.1', log_dir=None, grace_secs=10.0, timeout=None,
                poll_secs=0.2, cwd=None):
    """Starts the tasks, waits for the workers, stops the ps tasks; returns the exit code (0: every worker
    succeeded). Every task is stopped before this returns, whatever happens."""
    if num_ps < 1 or num_workers < 1:
        raise ValueError('a cluster needs at least one ps task and one worker (got --ps %d --workers %d)'
                         % (num_ps, num_workers))
    if not command:
        raise ValueError('no command given: expected e.g. experiments/SiamRPN-AlexNet.py [with key=value ...]')
    if log_dir:
        os.makedirs(log_dir, exist_ok=True)
    spec = cluster_spec(num_ps, num_workers, host)
    command = task_command(command)
    print('cluster: %s' % json.dumps(spec), flush=True)
    print('command: %s' % ' '.join(command), flush=True)
    lock = threading.Lock()
    tasks = []
    handlers = {s: signal.signal(s, _raise_signal) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    code = 1
    try:
        for job in ('ps', 'worker'):
            for index in range(len(spec[job])):
                env = dict(os.environ, **{TF_CONFIG: tf_config(spec, job, index)})
                tasks.append(Task(job, index, command, env, log_dir, lock, cwd))
                print('started %s (pid %d)' % (tasks[-1].name, tasks[-1].process.pid), flush=True)
        for task in tasks:
            task.start_copying()
        code = _wait(tasks, timeout, poll_secs)
    except _Signalled as error:
        print('launcher: %s; stopping every task' % error, file=sys.stderr, flush=True)
        code = 128 + error.signum
    finally:
        for signum in handlers:  # a second signal must not interrupt the clean-up
            signal.signal(signum, signal.SIG_IGN)
        stop(tasks, grace_secs)
        for task in tasks:
            task.finish()
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
    print('launcher: exit code %d (%s)' % (code, ', '.join('%s: %s' % (t.name, t.process.returncode) for t in tasks)),
          flush=True)
    return code


def _wait(tasks, timeout, poll_secs):
    """Polls until every worker exited 0 (returns 0) or a task failed or the timeout passed (returns non-zero)."""
    deadline = None if timeout is None else time.time() + timeout
    workers = [t for t in tasks if t.job == 'worker']
    while True:
        for task in tasks:
            code = task.process.poll()
            if code is not None and (code != 0 or task.job == 'ps'):
                print('launcher: %s exited with code %d while the workers ran; stopping every task'
                      % (task.name, code), file=sys.stderr, flush=True)
                return code if code > 0 else 1
        if all(t.process.poll() == 0 for t in workers):
            print('launcher: every worker finished; stopping the ps tasks', flush=True)
            return 0
        if deadline is not None and time.time() > deadline:
            print('launcher: --timeout of %s s passed; stopping every task' % timeout, file=sys.stderr, flush=True)
            return 124
        time.sleep(poll_secs)


def build_parser():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--ps', type=int, default=1, help='number of ps tasks (default 1)')
    parser.add_argument('--workers', type=int, default=2, help='number of workers; worker 0 is the chief (default 2)')
    parser.add_argument('--host', default='127.0.0.1', help='address the tasks listen on (default 127.0.0.1)')
    parser.add_argument('--log-dir', help='also write each task\'s output to <log-dir>/<job>-<index>.log')
    parser.add_argument('--grace-secs', type=float, default=10.0,
                        help='seconds between SIGTERM and SIGKILL when stopping tasks (default 10)')
    parser.add_argument('--timeout', type=float, help='stop everything and fail after this many seconds')
    parser.add_argument('command', nargs=argparse.REMAINDER,
                        help='the training command: a script (.py runs with this Python) and its arguments, '
                             'e.g. experiments/SiamRPN-AlexNet.py with key=value ...')
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        return run_cluster(args.command, args.ps, args.workers, args.host, args.log_dir, args.grace_secs,
                           args.timeout)
    except (ValueError, OSError) as error:
        print('error: %s' % error, file=sys.stderr)
        return 2


if __name__ == '__main__':
    sys.exit(main())
