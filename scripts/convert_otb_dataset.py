"""Writes an OTB-layout folder in the layout of another benchmark, so every benchmark script can run on the same data.

  python scripts/convert_otb_dataset.py --source ../shared/data/otb-dev --output /tmp/otb-dev-vot --layout vot
  python scripts/convert_otb_dataset.py --source ../shared/data/otb-dev --output /tmp/otb-dev-uav --layout uav
  python scripts/convert_otb_dataset.py --source ../shared/data/otb-dev --output /tmp/otb-dev-got --layout got10k

Every sequence of the OTB folder (as datasets.benchmark_sequences.load_sequences('otb') reads it, frame ranges
included) is written with its frames numbered from 1; images are symbolic links to the originals (--copy copies
them). Layouts:
  vot     <output>/list.txt, <seq>/color/00000001.jpg, <seq>/groundtruth.txt: 0-based x,y,w,h rows (VOT regions),
          or with --polygons the 4 corners x1,y1,...,x4,y4 of each box as VOT's region library converts a rectangle
          (corners x and x+w-1); NaN rows stay NaN (unlabelled);
  uav     the UAV123 release: <output>/anno/UAV123/<seq>.txt (1-based, NaN rows kept) and
          <output>/data_seq/UAV123/<seq>/000001.jpg;
  got10k  <output>/<split>/list.txt, <seq>/00000001.jpg, groundtruth.txt (1-based), and the files got10k's toolkit
          reads: absence.label (1 where the row is NaN), cover.label (0 there, else 8), cut_by_image.label (0) and
          meta_info.ini (the resolution); --split test keeps only the first box, as GOT-10k's test split does.
The output is built in a hidden folder beside --output and renamed into place when complete.
"""

import argparse
import os
import shutil
import sys

import cv2
import numpy as np

from datasets.benchmark_sequences import SequenceError, load_sequences
from utils.box_io import write_otb_boxes
from utils.io_utils import atomic_directory, atomic_open

LAYOUTS = ('vot', 'uav', 'got10k')


def _link_or_copy(source, target, copy):
    if copy:
        shutil.copyfile(source, target)
    else:
        os.symlink(os.path.abspath(source), target)


def write_frames(sequence, folder, digits, copy=False):
    """Writes the sequence's images into folder as 1..N with `digits` digits (links, or copies) -> list of paths."""
    os.makedirs(folder, exist_ok=True)
    paths = []
    for number, source in enumerate(sequence.img_files, 1):
        target = os.path.join(folder, '%0*d%s' % (digits, number, os.path.splitext(source)[1].lower()))
        _link_or_copy(source, target, copy)
        paths.append(target)
    return paths


def _number(value):
    if np.isnan(value):
        return 'nan'
    text = ('%.4f' % value).rstrip('0').rstrip('.')
    return text if text not in ('-0', '') else '0'


def vot_rows(gt_boxes, polygons=False):
    """0-based x,y,w,h boxes [N, 4] -> VOT groundtruth.txt rows (x,y,w,h, or 4 corners x and x+w-1 with polygons)."""
    rows = []
    for x, y, w, h in np.asarray(gt_boxes, dtype=np.float64):
        values = [x, y, w, h]
        if polygons:
            values = [x, y, x + w - 1., y, x + w - 1., y + h - 1., x, y + h - 1.]
        rows.append(','.join(_number(v) for v in values))
    return rows


def _write_lines(path, lines):
    with atomic_open(path) as stream:
        for line in lines:
            stream.write(line + '\n')


def write_vot(sequences, output, copy=False, polygons=False):
    for sequence in sequences:
        folder = os.path.join(output, sequence.name)
        write_frames(sequence, os.path.join(folder, 'color'), 8, copy)
        _write_lines(os.path.join(folder, 'groundtruth.txt'), vot_rows(sequence.gt_boxes, polygons))
    _write_lines(os.path.join(output, 'list.txt'), [s.name for s in sequences])


def write_uav(sequences, output, copy=False):
    for sequence in sequences:
        write_frames(sequence, os.path.join(output, 'data_seq', 'UAV123', sequence.name), 6, copy)
        write_otb_boxes(os.path.join(output, 'anno', 'UAV123', sequence.name + '.txt'), sequence.gt_boxes)


def write_got10k(sequences, output, copy=False, split='val'):
    root = os.path.join(output, split)
    for sequence in sequences:
        folder = os.path.join(root, sequence.name)
        paths = write_frames(sequence, folder, 8, copy)
        image = cv2.imread(paths[0], cv2.IMREAD_UNCHANGED)
        if image is None:
            raise IOError('cannot read image %s' % sequence.img_files[0])
        boxes = sequence.gt_boxes if split == 'val' else sequence.gt_boxes[:1]
        write_otb_boxes(os.path.join(folder, 'groundtruth.txt'), boxes)
        if split == 'val':
            absent = ~np.all(np.isfinite(sequence.gt_boxes), axis=1)
            _write_lines(os.path.join(folder, 'absence.label'), ['%d' % v for v in absent])
            _write_lines(os.path.join(folder, 'cover.label'), ['0' if v else '8' for v in absent])
            _write_lines(os.path.join(folder, 'cut_by_image.label'), ['0'] * len(sequence))
        _write_lines(os.path.join(folder, 'meta_info.ini'), [
            '[METAINFO]', 'url: converted from %s' % sequence.source, 'resolution: (%d, %d)' % (
                image.shape[1], image.shape[0])])
    _write_lines(os.path.join(root, 'list.txt'), [s.name for s in sequences])


def convert(source, output, layout, names=None, copy=False, polygons=False, split='val', overwrite=False):
    """Converts the OTB folder `source` into `layout` at `output` (atomically) -> the sequences written."""
    if layout not in LAYOUTS:
        raise ValueError('unknown layout %r: expected one of %s' % (layout, ', '.join(LAYOUTS)))
    if split not in ('val', 'test'):
        raise ValueError('unknown GOT-10k split %r: expected val or test' % split)
    if polygons and layout != 'vot':
        raise ValueError('--polygons applies to the vot layout only')
    sequences = load_sequences('otb', source, names=names)
    with atomic_directory(output, overwrite=overwrite) as staging:
        if layout == 'vot':
            write_vot(sequences, staging, copy, polygons)
        elif layout == 'uav':
            write_uav(sequences, staging, copy)
        else:
            write_got10k(sequences, staging, copy, split)
    return sequences


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--source', required=True, help='OTB-layout folder (<Seq>/img/, groundtruth_rect.txt)')
    parser.add_argument('--output', required=True, help='folder to create (must not exist, unless --overwrite)')
    parser.add_argument('--layout', required=True, choices=LAYOUTS, help='layout to write')
    parser.add_argument('--sequences', nargs='+', metavar='NAME', help='convert only these sequences')
    parser.add_argument('--polygons', action='store_true', help='vot: write 4-corner polygons instead of x,y,w,h')
    parser.add_argument('--split', default='val', choices=('val', 'test'),
                        help='got10k: val (all boxes) or test (first box only); default val')
    parser.add_argument('--copy', action='store_true', help='copy the images instead of linking them')
    parser.add_argument('--overwrite', action='store_true', help='replace an existing --output')
    args = parser.parse_args(argv)
    try:
        sequences = convert(args.source, args.output, args.layout, args.sequences, args.copy, args.polygons,
                            args.split, args.overwrite)
    except (SequenceError, ValueError, IOError) as error:
        parser.exit(2, '%s: error: %s\n' % (parser.prog, error))
    print('%d sequences (%d frames) written in the %s layout to %s' % (
        len(sequences), sum(len(s) for s in sequences), args.layout, args.output))
    return 0


if __name__ == '__main__':
    sys.exit(main())
