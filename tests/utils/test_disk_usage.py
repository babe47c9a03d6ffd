"""Tests of utils/disk_usage.py."""

import os

from utils.disk_usage import disk_usage, format_bytes


def test_disk_usage_counts_allocated_bytes_of_files_and_folders(tmp_path):
    folder = tmp_path / 'a' / 'b'
    folder.mkdir(parents=True)
    (folder / 'x.bin').write_bytes(b'1' * 10000)
    (tmp_path / 'a' / 'y.bin').write_bytes(b'2' * 5000)
    total, count = disk_usage(str(tmp_path / 'a'))
    allocated = sum(os.lstat(str(p)).st_blocks * 512 for p in (folder / 'x.bin', tmp_path / 'a' / 'y.bin'))
    assert count == 2 and total == allocated and total >= 15000
    assert disk_usage(str(folder / 'x.bin'))[1] == 1
    assert disk_usage(str(tmp_path / 'missing')) == (0, 0)


def test_format_bytes():
    assert [format_bytes(v) for v in (0, 1023, 1024, 1536 * 1024, 3 << 30, 5 << 40)] == [
        '0 B', '1023 B', '1.0 KiB', '1.5 MiB', '3.0 GiB', '5.0 TiB']
