"""Tests of atomic file output."""

import pytest

from utils.io_utils import atomic_open, read_json, write_json


def test_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / 'result.txt'
    path.write_text('old')
    with pytest.raises(RuntimeError):
        with atomic_open(str(path)) as stream:
            stream.write('half-written')
            raise RuntimeError('crash')
    assert path.read_text() == 'old'
    assert sorted(p.name for p in tmp_path.iterdir()) == ['result.txt']


def test_json_round_trip_and_clear_errors(tmp_path):
    path = str(tmp_path / 'a' / 'config.json')
    write_json(path, {'b': [1, 2], 'a': None})
    assert read_json(path) == {'a': None, 'b': [1, 2]}
    with pytest.raises(FileNotFoundError, match='missing.json'):
        read_json(str(tmp_path / 'missing.json'))
    (tmp_path / 'bad.json').write_text('{')
    with pytest.raises(ValueError, match='bad.json is not valid JSON'):
        read_json(str(tmp_path / 'bad.json'))
