"""Tests of the benchmarks' shared harness (benchmarks/harness.py): the interleaving and warm-up order, the crops,
the header's CPU flags and the tables. Fake cases record calls and return fixed milliseconds (nothing is timed)."""

import numpy as np

from benchmarks import harness
from utils.runtime import parse_cpuinfo, round_order


def test_round_order_rotates_so_every_case_takes_every_position():
    names = ['a', 'b', 'c']
    assert [round_order(names, r) for r in range(4)] == [['a', 'b', 'c'], ['b', 'c', 'a'], ['c', 'a', 'b'],
                                                         ['a', 'b', 'c']]
    assert round_order([], 3) == []
    positions = {name: {round_order(names, r).index(name) for r in range(3)} for name in names}
    assert all(found == {0, 1, 2} for found in positions.values())


def test_run_rounds_warms_every_timed_call_alike_and_interleaves():
    calls = []

    def case(name, ms):
        def call():
            calls.append(name)
            return ms
        return call

    times = harness.run_rounds({'a': case('a', 1.), 'b': case('b', 2.)}, runs=2, warmup=1)
    # warm-up round: each case once; timed rounds: an untimed call then the timed one, order rotating per round
    assert calls == ['a', 'b', 'b', 'b', 'a', 'a', 'a', 'a', 'b', 'b']
    assert times == {'a': [1., 1.], 'b': [2., 2.]}
    assert harness.summary([3., 1., 2.]) == (2., 1.)


def test_tracker_crops_and_frame():
    frame = harness.frame_1280x720()
    assert frame.shape == (720, 1280, 3) and frame.dtype == np.uint8
    x, y, w, h = harness.FRAME_BOX
    state = {'pos': np.array([x + w / 2, y + h / 2]), 'size': np.array([w, h]), 'colour': frame.mean(axis=(0, 1))}
    exemplar, crop, s_x, scale_z = harness.tracker_crops(frame, state, 271)
    assert exemplar.shape == (127, 127, 3) and crop.shape == (271, 271, 3)
    s_z = np.sqrt((w + 70.) * (h + 70.))  # context 0.5 * (w + h) = 70
    assert abs(scale_z - 127. / s_z) < 1e-12 and s_x == int(np.floor(s_z + 144. / scale_z + 0.5))


def test_cpu_flags_line_names_the_vector_units_and_tables_have_columns():
    cpu = parse_cpuinfo('processor : 0\nmodel name : Test CPU\nflags : fpu avx2 fma avx512f avx512_bf16\n')
    line = harness.cpu_flags_line(cpu)
    assert line.startswith('Test CPU, ') and 'AVX2 yes' in line and 'AVX-512F yes' in line
    assert 'AVX-512-VNNI no' in line and 'AVX-512-BF16 yes' in line
    assert harness.markdown_table(['a', 'b'], [[1, 'x']]) == '| a | b |\n| --- | --- |\n| 1 | x |'


def test_run_rounds_pauses_between_cases_of_different_processes():
    pauses, calls = [], []

    def case(name):
        return lambda: calls.append(name) or 1.

    cases = {('w1', 'a'): case('1a'), ('w1', 'b'): case('1b'), ('w2', 'a'): case('2a')}
    harness.run_rounds(cases, runs=1, warmup=1, warm_calls=0, process_of=lambda key: key[0], settle_seconds=0.25,
                       sleep=pauses.append)
    assert calls == ['1a', '1b', '2a', '1b', '2a', '1a']  # round 0 in order, round 1 rotated by one
    assert pauses == [0.25] * 4  # 1b -> 2a; then 2a -> 1b (across the rounds), 1b -> 2a, 2a -> 1a
