"""Atomic file output and JSON helpers: outputs appear complete or not at all (temp file + rename)."""

import contextlib
import fcntl
import json
import os
import shutil
import tempfile


@contextlib.contextmanager
def atomic_open(path, mode='w', **kwargs):
    """Opens a temp file beside `path` for writing and renames it onto `path` when the block exits cleanly.

    On an exception the temp file is removed and `path` is left as it was. `mode` must be a write mode ('w', 'wb').
    """
    if 'r' in mode or 'a' in mode or '+' in mode:
        raise ValueError("atomic_open writes whole files: mode must be 'w' or 'wb', got %r" % (mode,))
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, temp_path = tempfile.mkstemp(prefix='.%s.' % os.path.basename(path), suffix='.tmp', dir=directory)
    os.chmod(temp_path, 0o666 & ~current_umask())  # mkstemp makes 0600 files; give the usual permissions
    try:
        with os.fdopen(fd, mode, **kwargs) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp_path, path)
    except BaseException:
        if os.path.exists(temp_path):
            os.remove(temp_path)
        raise


def current_umask():
    """The process umask (read by setting and restoring it)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_json(path, obj, indent=2):
    """Writes `obj` as key-sorted JSON (indented unless indent is None), atomically."""
    with atomic_open(path, 'w') as handle:
        json.dump(obj, handle, indent=indent, sort_keys=True)
        handle.write('\n')


def read_json(path):
    """Reads a JSON file; a missing or malformed file raises an error naming it."""
    if not os.path.isfile(path):
        raise FileNotFoundError('JSON file not found: %s' % path)
    with open(path) as handle:
        try:
            return json.load(handle)
        except ValueError as error:
            raise ValueError('%s is not valid JSON: %s' % (path, error))


@contextlib.contextmanager
def file_lock(path):
    """Holds an exclusive advisory lock (fcntl.flock) on the file `path`, created if missing, for the block: processes
    on one machine that build the same output take turns (the lock is released if a holder dies)."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, 'a') as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


@contextlib.contextmanager
def atomic_directory(path, overwrite=False):
    """Builds a directory in a hidden staging folder beside `path` and renames it onto `path` when the block exits
    cleanly, so readers see the complete directory or none; yields the staging folder's path.

    An existing empty `path` counts as absent; any other existing `path` is an error (FileExistsError, checked before
    the block runs) unless `overwrite`, in which case it is replaced after the block succeeded. On an exception the
    staging folder is removed and `path` is left as it was.
    """
    path = os.path.abspath(path)
    parent, name = os.path.dirname(path), os.path.basename(path)

    def occupied():
        return os.path.lexists(path) and not (os.path.isdir(path) and not os.listdir(path))

    if occupied() and not overwrite:
        raise FileExistsError('%s already exists and is not empty' % path)
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(prefix='.%s.partial-' % name, dir=parent)
    os.chmod(staging, 0o777 & ~current_umask())  # mkdtemp makes 0700 folders; give the usual permissions
    try:
        yield staging
        if occupied() and not overwrite:
            raise FileExistsError('%s appeared while it was being written' % path)
        if not os.path.lexists(path):
            os.rename(staging, path)
            return
        old = tempfile.mkdtemp(prefix='.%s.replaced-' % name, dir=parent)
        os.rename(path, os.path.join(old, name))
        try:
            os.rename(staging, path)
        except BaseException:
            os.rename(os.path.join(old, name), path)
            raise
        finally:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        if os.path.lexists(staging):
            shutil.rmtree(staging, ignore_errors=True)
