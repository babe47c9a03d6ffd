"""Tests of atomic file output and the JSON helpers."""

import os
import subprocess
import sys

import pytest

from utils.io_utils import atomic_directory, atomic_open, file_lock, read_json, write_json


def test_atomic_open_replaces_only_on_success(tmp_path):
    path = str(tmp_path / 'out.txt')
    with atomic_open(path) as handle:
        handle.write('first')
    with pytest.raises(RuntimeError):
        with atomic_open(path) as handle:
            handle.write('partial')
            raise RuntimeError('interrupted')
    assert open(path).read() == 'first'
    assert os.listdir(str(tmp_path)) == ['out.txt']  # no temp file left behind
    assert os.stat(path).st_mode & 0o644 == 0o644
    with pytest.raises(ValueError, match='mode'):
        with atomic_open(path, 'a'):
            pass


def test_json_round_trip_and_errors(tmp_path):
    path = str(tmp_path / 'sub' / 'config.json')
    write_json(path, {'b': [1, 2], 'a': {'c': None}})
    assert read_json(path) == {'a': {'c': None}, 'b': [1, 2]}
    (tmp_path / 'bad.json').write_text('{not json')
    with pytest.raises(ValueError, match='bad.json'):
        read_json(str(tmp_path / 'bad.json'))
    with pytest.raises(FileNotFoundError, match='missing.json'):
        read_json(str(tmp_path / 'missing.json'))


def test_atomic_directory_appears_whole_and_replaces_only_when_asked(tmp_path):
    path = str(tmp_path / 'export')
    with atomic_directory(path) as staging:
        assert not os.path.exists(path) and os.path.dirname(staging) == str(tmp_path)
        open(os.path.join(staging, 'a.txt'), 'w').write('first')
    assert os.listdir(path) == ['a.txt'] and os.stat(path).st_mode & 0o755 == 0o755
    with pytest.raises(FileExistsError, match='already exists'):
        with atomic_directory(path):
            raise AssertionError('the block must not run')
    with pytest.raises(RuntimeError):
        with atomic_directory(path, overwrite=True) as staging:
            open(os.path.join(staging, 'b.txt'), 'w').write('partial')
            raise RuntimeError('interrupted')
    assert os.listdir(path) == ['a.txt']  # left as it was
    with atomic_directory(path, overwrite=True) as staging:
        open(os.path.join(staging, 'b.txt'), 'w').write('second')
    assert os.listdir(path) == ['b.txt']
    assert sorted(os.listdir(str(tmp_path))) == ['export']  # no staging or replaced folders left
    empty = tmp_path / 'empty'
    empty.mkdir()
    with atomic_directory(str(empty)) as staging:  # an empty folder counts as absent
        open(os.path.join(staging, 'c.txt'), 'w').write('third')
    assert os.listdir(str(empty)) == ['c.txt']


def test_file_lock_makes_another_process_wait(tmp_path):
    """While the block holds the lock, another process cannot take it; afterwards it can."""
    path = str(tmp_path / 'sub' / '.build.lock')
    probe = ('import fcntl, sys\nhandle = open(sys.argv[1], "a")\ntry:\n    fcntl.flock(handle, fcntl.LOCK_EX | '
             'fcntl.LOCK_NB)\nexcept OSError:\n    sys.exit(3)\n')
    with file_lock(path):
        assert subprocess.run([sys.executable, '-c', probe, path], timeout=60).returncode == 3
    assert subprocess.run([sys.executable, '-c', probe, path], timeout=60).returncode == 0
