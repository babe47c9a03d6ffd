r"""Curation throughput per dataset layout (frames/s) and LMDB bytes per curated frame, plus the disk size of the full
curated LMDB estimated from the datasets' published sizes.

  python benchmarks/bench_curation.py [--videos 8] [--frames 100] [--processes 2] [--work-dir DIR]
      [--layouts imagenet_det imagenet_vid got10k lasot youtube_bb] [--real-dir ../shared/data/otb-dev]

For each layout a defect-free fixture is generated in that dataset's original layout (datasets/layout_samples.py)
at a typical frame size of the dataset, then curated through its parser with the real curation core (decode, 511
crop, JPEG encode, per-video records) in --processes worker processes, then stored into an LMDB. Generation is not
timed. Generated frames are flat grey textures with coloured boxes, which JPEG compresses far better than natural
images, so their bytes per frame understate real data; --real-dir curates real OTB-layout frames (e.g. the otb-dev
sequences) the same way, and the disk estimate uses those bytes per frame when given.

Frame sizes are assumptions about each dataset's typical resolution, stated in FRAME_SIZES; decoding the source
frame dominates the cost, so throughput scales roughly with 1 / frame area.

Columns: wall-clock frames/s of the run (it includes starting the worker pool, about 0.5 s, and whatever else
loads the machine), the CPU time per curated frame (this process plus its workers), and 2 / that CPU time: the rate
two otherwise idle cores would reach when the videos keep both workers busy. On a shared machine the wall-clock
rate of 2 processes can be below that of 1; the CPU column is the stable measure.
"""

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time

import configuration
from datasets.curation import curate_source, tracks_of
from datasets.layout_samples import LAYOUTS, write_benchmark_dataset
from datasets.lmdb_store import DATA_FILE, build_lmdb, crop_path
from datasets.sources import make_source
from datasets.sources.otb import OTBSource
from utils.disk_usage import disk_usage

# Typical frame sizes (width, height) assumed per layout.
FRAME_SIZES = {
    'imagenet_det': (500, 375),   # ImageNet photos are mostly about 500 x 375
    'imagenet_vid': (1280, 720),  # VID snippets are YouTube videos, mostly 720p (some 480 x 360)
    'got10k': (1280, 720),        # GOT-10k frames vary from 640 x 360 to 1920 x 1080
    'lasot': (1280, 720),         # LaSOT videos are mostly 1280 x 720
    'youtube_bb': (640, 360),     # frames decoded by the user, assumed from 360p streams
}

# Curated frames of the full datasets, from published counts: (name, frames, where the count comes from).
PUBLISHED_FRAMES = (
    ('det2014', 478807 + 55502, 'ILSVRC2015 devkit readme 1.4: DET train 478,807 boxes + val 55,502 objects'),
    ('vid2015', 1122397 + 176126, 'ILSVRC2015 devkit readme 1.4: VID train 1,122,397 + val 176,126 frames, taken as '
                                  'one box per frame (manual boxes alone: 866,870 + 135,949)'),
    ('lasot', 2800000, 'LaSOT (CVPR 2019): 1,400 sequences, >3.5M frames; protocol II train = 1,120 of them, '
                       '3.5M x 1120/1400'),
    ('got10k', 1500000, 'GOT-10k paper abstract: >1.5M boxes over >10,000 segments (all splits; train is most)'),
    ('youtube_bb', 5000000, 'YouTube-BB (Google Research blog, Feb 2017): 5 million boxes'),
)
EARLIER_PORT = ('det2014', 'vid2015', 'lasot', 'got10k')


def measure(source, work_dir, processes):
    """Curates `source` and stores it in an LMDB -> dict of counts, seconds and sizes."""
    curation = configuration.TRAIN_CONFIG['curation_config']
    curated = os.path.join(work_dir, 'curated-%s-%d' % (source.name, processes))
    lmdb_path = os.path.join(work_dir, 'lmdb-%s-%d' % (source.name, processes))
    start, cpu = time.time(), _cpu_seconds()
    summary = curate_source(source, curated, curation, processes=processes, progress=False)
    curate_seconds, curate_cpu = time.time() - start, _cpu_seconds() - cpu
    keys = [key for track in tracks_of([summary]) for key in track['frame_keys']]
    start = time.time()
    built = build_lmdb(keys, curated, lmdb_path, progress=False)
    lmdb_seconds = time.time() - start
    crop_bytes = sum(os.path.getsize(crop_path(curated, key)) for key in keys)
    lmdb_bytes = disk_usage(os.path.join(lmdb_path, DATA_FILE))[0]
    assert built['verification']['num_missing'] == 0 and summary['videos']['failed'] == 0, summary['failed']
    return {'videos': summary['videos']['total'], 'frames': len(keys), 'curate_seconds': curate_seconds,
            'cpu_per_frame': curate_cpu / float(len(keys)),
            'lmdb_seconds': lmdb_seconds, 'crop_bytes': crop_bytes / float(len(keys)),
            'lmdb_bytes': lmdb_bytes / float(len(keys))}


def _cpu_seconds():
    """User + system CPU seconds of this process and of its finished (joined) worker processes."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def row(name, size, result, processes):
    return '| %s | %s | %d | %d | %d | %.1f | %.1f | %.1f | %.0f | %.0f | %.1f | %.0f |' % (
        name, '%dx%d' % size if size else 'real', processes, result['videos'], result['frames'],
        result['curate_seconds'], result['frames'] / result['curate_seconds'], 1000 * result['cpu_per_frame'],
        2 / result['cpu_per_frame'], result['frames'] / result['lmdb_seconds'], result['crop_bytes'] / 1024.,
        result['lmdb_bytes'])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--layouts', nargs='+', default=list(LAYOUTS), choices=LAYOUTS, help='layouts to measure')
    parser.add_argument('--videos', type=int, default=8, help='videos per layout (DET: videos x frames images)')
    parser.add_argument('--frames', type=int, default=100, help='frames per video')
    parser.add_argument('--processes', type=int, nargs='+', default=[2], help='worker processes (one run each)')
    parser.add_argument('--real-dir', help='OTB-layout folder of real frames (e.g. ../shared/data/otb-dev)')
    parser.add_argument('--work-dir', help='scratch folder (default: a temporary folder, removed at the end)')
    args = parser.parse_args(argv)
    work_dir = args.work_dir or tempfile.mkdtemp(prefix='bench_curation_')
    try:
        print('| layout | frame size | processes | videos | frames | curate s | frames/s (wall) | CPU ms/frame | '
              'frames/s on 2 free cores | LMDB frames/s | crop KiB | LMDB bytes/frame |')
        print('|' + ' --- |' * 12)
        per_frame = {}
        for layout in args.layouts:
            root = os.path.join(work_dir, 'raw-' + layout)
            if not os.path.isdir(root):
                write_benchmark_dataset(layout, root, args.videos, args.frames, FRAME_SIZES[layout])
            for processes in args.processes:
                result = measure(make_source(layout, root), work_dir, processes)
                per_frame[layout] = result['lmdb_bytes']
                print(row(layout, FRAME_SIZES[layout], result, processes))
        real = None
        if args.real_dir:
            for processes in args.processes:
                real = measure(OTBSource(args.real_dir, name='real'), work_dir, processes)
                print(row('real frames (%s)' % os.path.basename(os.path.normpath(args.real_dir)), None, real,
                          processes))
        bytes_per_frame = real['lmdb_bytes'] if real else max(per_frame.values())
        basis = 'real frames of %s' % args.real_dir if real else 'generated frames (understates natural images)'
        print('\nFull curated LMDB estimate at %.0f bytes per curated frame (%s):' % (bytes_per_frame, basis))
        total = {'earlier': 0., 'all': 0.}
        for name, frames, origin in PUBLISHED_FRAMES:
            size = frames * bytes_per_frame
            total['all'] += size
            if name in EARLIER_PORT:
                total['earlier'] += size
            print('  %-10s %9d frames x %.0f B = %6.1f GB   (%s)' % (name, frames, bytes_per_frame, size / 1e9, origin))
        print('  DET2014 + VID2015 + LaSOT + GOT-10k: %.1f GB; with YouTube-BB: %.1f GB' % (
            total['earlier'] / 1e9, total['all'] / 1e9))
    finally:
        if not args.work_dir:
            shutil.rmtree(work_dir, ignore_errors=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
