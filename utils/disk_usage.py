"""Disk usage of files and folders, for the summaries of the long data jobs."""

import os


def disk_usage(path):
    """(bytes allocated on disk, number of files) of a file or of everything under a folder; (0, 0) if missing.

    Allocated bytes are what `du` reports (st_blocks * 512), so sparse files count what they really use.
    """
    if os.path.isfile(path):
        return _allocated(path), 1
    total, count = 0, 0
    for parent, _, files in os.walk(path):
        for name in files:
            total += _allocated(os.path.join(parent, name))
            count += 1
    return total, count


def _allocated(path):
    try:
        info = os.lstat(path)
    except OSError:  # removed while walking
        return 0
    blocks = getattr(info, 'st_blocks', None)
    return blocks * 512 if blocks is not None else info.st_size


def format_bytes(count):
    """'1.5 GiB'-style text of a byte count."""
    value = float(count)
    for unit in ('B', 'KiB', 'MiB', 'GiB', 'TiB'):
        if abs(value) < 1024 or unit == 'TiB':
            return ('%d %s' % (value, unit)) if unit == 'B' else ('%.1f %s' % (value, unit))
        value /= 1024.
