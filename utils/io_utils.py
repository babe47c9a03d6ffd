"""Atomic file output: write to a temporary file in the target folder, then rename over the target."""

import contextlib
import json
import os
import tempfile


@contextlib.contextmanager
def atomic_open(path, mode='w'):
    """Opens a temporary sibling of `path` for writing and renames it to `path` only if the block succeeds.

    A crash or exception leaves any existing `path` untouched and removes the temporary file.
    """
    if mode not in ('w', 'wb'):
        raise ValueError("atomic_open supports modes 'w' and 'wb', got %r" % (mode,))
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix='.' + os.path.basename(path) + '.', suffix='.tmp', dir=folder)
    try:
        with os.fdopen(handle, mode) as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.remove(temporary)
        raise


def write_json(path, value, indent=2):
    """Writes `value` as JSON to `path` atomically."""
    with atomic_open(path) as stream:
        json.dump(value, stream, indent=indent, sort_keys=True)
        stream.write('\n')


def read_json(path):
    """Reads a JSON file, naming the file in the error when it is missing or malformed."""
    if not os.path.isfile(path):
        raise FileNotFoundError('JSON file not found: %s' % path)
    with open(path) as stream:
        try:
            return json.load(stream)
        except ValueError as error:
            raise ValueError('%s is not valid JSON: %s' % (path, error))
