"""The timing harness the benchmarks share (bench_tracker.py, bench_exported.py, bench_train.py).

  from benchmarks import harness
  times = harness.run_rounds({'a': harness.timed(f), 'b': worker_timer}, runs=40, warmup=5)   # {name: [ms]}
  print('\n'.join(harness.machine_lines()))            # CPU, vector units (AVX2/AVX-512/VNNI/BF16), TF build, load

Rules every benchmark follows (`run_rounds`):
  * interleaved: every round times every case once; the order rotates by one case per round (runtime.round_order,
    the rule of the tracker's first-use measurement too), so every case runs at every position and load from
    other processes spreads evenly over the cases;
  * warmed alike: `warmup` untimed rounds first, then each timed call is preceded by `warm_calls` untimed calls of
    the same case, so every timed call starts from the same state (its own data in the caches, its threads awake)
    whatever ran before it; between cases of different worker processes the harness pauses (`settle_seconds`) until
    the OpenMP threads the last process left spinning have gone to sleep;
  * medians and minimums over the rounds; the load average before and after goes into the header, because on a
    shared machine the numbers are contended: compare cases of the same run, not numbers across runs.

A case is a function that returns the milliseconds of one call: `timed(function)` for a call in this process,
`Worker.timer(case)` for a case served by a worker process (benchmarks/peer_networks.py's protocol: each column in
its own clean process, e.g. another TF build or another OpenMP environment, or PyTorch / ONNX Runtime).

Frame fixtures: `frame_1280x720` and FRAME_BOX (the tracker benchmarks' frame and target), `tracker_crops` (the
exemplar and search crops the tracker cuts from it).
"""

import collections
import json
import os
import subprocess
import sys
import time

import numpy as np

from utils import runtime

FRAME_BOX = (600., 330., 80., 60.)  # x, y, w, h of the target in the 1280x720 benchmark frame
# cpuinfo flags summarised in the header, in this order (AVX2/FMA, AVX-512 foundation, VNNI and BF16 dot products).
HEADER_FLAGS = (('avx2', 'AVX2'), ('fma', 'FMA'), ('avx512f', 'AVX-512F'), ('avx512bw', 'AVX-512BW'),
                ('avx512_vnni', 'AVX-512-VNNI'), ('avx_vnni', 'AVX-VNNI'), ('avx512_bf16', 'AVX-512-BF16'),
                ('amx_tile', 'AMX'))


def frame_1280x720(seed=0):
    """A textured 1280x720 uint8 BGR frame (image content does not change the timings)."""
    rng = np.random.RandomState(seed)
    small = rng.randint(0, 256, (90, 160, 3)).astype(np.uint8)
    return np.ascontiguousarray(np.repeat(np.repeat(small, 8, axis=0), 8, axis=1))


def tracker_crops(frame, state, size, exemplar_size=127):
    """The crops a tracker in `state` (SiamRPNTracker.state after init) cuts from `frame` -> (exemplar
    [127, 127, 3], search crop [size, size, 3], search side s_x in frame pixels, scale_z = 127 / s_z)."""
    from inference.subwindow import get_subwindow, round_half_away
    s_z = np.sqrt(np.prod(state['size'] + 0.5 * np.sum(state['size'])))
    scale_z = float(exemplar_size) / s_z
    s_x = round_half_away(s_z + 2 * ((size - exemplar_size) / 2.) / scale_z)
    exemplar = get_subwindow(frame, state['pos'], exemplar_size, round_half_away(s_z), state['colour'])
    crop = get_subwindow(frame, state['pos'], size, s_x, state['colour'])
    return exemplar, crop, s_x, scale_z


# ---- timing ----------------------------------------------------------------------------------------------------

def timed(function):
    """A case for run_rounds: calls `function` and returns its milliseconds."""
    def call():
        start = time.perf_counter()
        function()
        return 1e3 * (time.perf_counter() - start)
    return call


def run_rounds(cases, runs, warmup, warm_calls=1, progress=None, process_of=None, settle_seconds=0., sleep=time.sleep):
    """Times `cases` ({name: function returning ms}, in their grouping order) -> {name: [ms] over `runs` rounds}.

    `warmup` untimed rounds first; in each round every case runs in runtime.round_order and each timed call follows
    `warm_calls` untimed calls of the same case. `progress`: a wrapper for the round iterator (e.g. tqdm).
    With `process_of` (name -> the process running it), the harness pauses `settle_seconds` whenever the next case
    runs in another process than the last one, so OpenMP threads the last one left spinning (KMP_BLOCKTIME=200 ms
    by default, PyTorch's) have gone to sleep and do not slow the next one."""
    names = list(cases)
    rounds = range(warmup + runs)
    times = collections.OrderedDict((name, []) for name in names)
    last = None
    for round_index in (progress(rounds) if progress else rounds):
        for name in runtime.round_order(names, round_index):
            if process_of is not None:
                if last is not None and process_of(name) != last and settle_seconds > 0:
                    sleep(settle_seconds)
                last = process_of(name)
            for _ in range(warm_calls if round_index >= warmup else 0):
                cases[name]()
            milliseconds = cases[name]()
            if round_index >= warmup:
                times[name].append(milliseconds)
    return times


def summary(values):
    """(median, minimum) of a list of ms."""
    return float(np.median(values)), float(np.min(values))


# ---- worker processes ------------------------------------------------------------------------------------------

class Worker(object):
    """A timing worker process and its protocol (benchmarks/peer_networks.py's `serve`)."""

    def __init__(self, label, command, log_path, env=None):
        self.label, self.log_path = label, log_path
        self.log = open(log_path, 'w')
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log,
                                        env=env, universal_newlines=True, bufsize=1)
        hello = self._read()
        self.cases, self.info = hello['cases'], hello['info']

    def _read(self):
        line = self.process.stdout.readline()
        if not line:
            self.log.flush()
            with open(self.log_path) as handle:
                tail = handle.read()[-3000:]
            raise RuntimeError('worker %s stopped (exit code %s); its log ends with:\n%s'
                               % (self.label, self.process.poll(), tail))
        return json.loads(line)

    def time(self, case):
        """ms of one call of `case` in the worker."""
        self.process.stdin.write(json.dumps({'case': case}) + '\n')
        reply = self._read()
        if 'error' in reply:
            raise RuntimeError('worker %s, case %s: %s' % (self.label, case, reply['error']))
        return reply['ms']

    def timer(self, case):
        """A run_rounds case timing `case` in the worker."""
        return lambda: self.time(case)

    def close(self):
        if self.process.poll() is None:
            try:
                self.process.stdin.write(json.dumps({'case': 'exit'}) + '\n')
                self.process.stdin.flush()
                self.process.wait(timeout=60)
            except (OSError, subprocess.TimeoutExpired):
                self.process.kill()
        self.log.close()


# ---- headers and tables ----------------------------------------------------------------------------------------

def load_average():
    return '%.2f %.2f %.2f' % os.getloadavg()


def cpu_flags_line(cpuinfo=None):
    """'Intel(R) Xeon(R) Processor, 2 cores; AVX2 yes, FMA yes, AVX-512F yes, ..., AMX no' from /proc/cpuinfo
    (or a runtime.parse_cpuinfo dict)."""
    cpu = runtime.read_cpuinfo() if cpuinfo is None else cpuinfo
    flags = ', '.join('%s %s' % (label, 'yes' if flag in cpu['flags'] else 'no') for flag, label in HEADER_FLAGS)
    return '%s, %d cores; %s' % (cpu['model'] or 'unknown CPU', runtime.cpu_threads(), flags)


def machine_lines(config=None):
    """Header lines: the CPU and its vector units, the TF build and threading in effect, and the load average."""
    return ['# CPU: %s' % cpu_flags_line(), '# TF: %s' % runtime.describe(config),
            '# load average: %s (other processes share the cores when it is above 0)' % load_average()]


def markdown_table(header, rows):
    """A Markdown table: header cells and rows of cells (converted with str)."""
    lines = ['| %s |' % ' | '.join(header), '| %s |' % ' | '.join('---' for _ in header)]
    lines += ['| %s |' % ' | '.join(str(cell) for cell in row) for row in rows]
    return '\n'.join(lines)


def stderr_progress(description):
    """A progress wrapper for run_rounds (tqdm on stderr)."""
    from tqdm import tqdm
    return lambda iterable: tqdm(iterable, desc=description, file=sys.stderr)


def main(argv=None):
    """`python benchmarks/harness.py`: prints the header every benchmark prints (CPU vector units, TF build,
    threading, load average), e.g. to record the machine beside a table."""
    import argparse
    argparse.ArgumentParser(description=main.__doc__).parse_args(argv)
    import tensorflow as tf
    tf.compat.v1.logging.set_verbosity(tf.compat.v1.logging.ERROR)
    print('\n'.join(machine_lines()))
    return 0


if __name__ == '__main__':
    sys.exit(main())
