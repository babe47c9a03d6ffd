"""Tests of the timing workers' protocol (benchmarks/peer_networks.py, used by bench_tracker.py and bench_train.py)."""

import io
import json

from benchmarks.peer_networks import serve


def test_serve_times_cases_reports_errors_and_exits():
    calls = []

    def fail():
        raise ValueError('bad crop')

    stdin = io.StringIO('\n'.join(json.dumps({'case': c}) for c in ('a', 'a', 'fail', 'exit', 'a')) + '\n')
    stdout = io.StringIO()
    serve({'a': lambda: calls.append(1), 'fail': fail}, {'backend': 'test'}, stdin=stdin, stdout=stdout)
    replies = [json.loads(line) for line in stdout.getvalue().splitlines()]
    assert replies[0] == {'ready': True, 'cases': ['a', 'fail'], 'info': {'backend': 'test'}}
    assert all(reply['ms'] >= 0 for reply in replies[1:3])
    assert replies[3] == {'error': 'ValueError: bad crop'}
    assert len(replies) == 4 and len(calls) == 2  # nothing runs after 'exit'
