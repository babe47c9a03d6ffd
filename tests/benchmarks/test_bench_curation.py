"""Smoke test of benchmarks/bench_curation.py on tiny fixtures (the benchmark itself prints timings; none is asserted)."""

from benchmarks import bench_curation


def test_prints_the_table_and_the_disk_estimate(tmp_path, capsys):
    assert bench_curation.main(['--layouts', 'lasot', 'youtube_bb', '--videos', '2', '--frames', '2',
                                '--processes', '1', '--work-dir', str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert '| lasot | 1280x720 | 1 | 2 | 4 |' in out and '| youtube_bb | 640x360 | 1 | 2 | 4 |' in out
    assert 'generated frames (understates natural images)' in out
    assert 'DET2014 + VID2015 + LaSOT + GOT-10k:' in out and 'det2014       534309 frames' in out
