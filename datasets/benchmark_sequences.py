"""Evaluation sequences of the public tracking benchmarks, read from the layouts users download.

Every loader returns a list of `Sequence`s: image files and 0-based x,y,w,h ground truth, one row per image, in the
order they are tracked. Layouts (`--dataset` of benchmarks/run_OTB.py):

  otb     <root>/<Seq>/img/0001.jpg (4 or 5 digits, .jpg or .png) and <root>/<Seq>/groundtruth_rect.txt, 1-based,
          separated by commas, tabs or spaces, read by datasets/otb_layout.py (as curation reads it).
          groundtruth_rect.<k>.txt (or groundtruth_rect<k>.txt) files are separate targets named <Seq>-<k>
          (Jogging-1, Jogging-2, Skating2-1, Skating2-2, Human4-2); empty annotation files are skipped. Frame ranges of
          David, Tiger1 and the other irregular sequences come from datasets/benchmark_tables.py. Image numbers may
          start above 1 (e.g. UAV123 sub-sequences exported in this layout) and rows may be NaN.
  got10k  a GOT-10k split folder (or its parent holding val/): <Seq>/00000001.jpg and <Seq>/groundtruth.txt, 1-based
          as the GOT-10k authors state (got-10k/toolkit issue #6); list.txt, when present, gives the order.
          cover.label, when present, gives Sequence.visible (cover > 0), the frames got10k evaluates. The test split
          (only the first box is public) loads with split='test': rows 2.. are NaN and Sequence.annotated is False.
  vot     a VOT short-term folder: list.txt, <seq>/groundtruth.txt with x,y,w,h or 4-corner polygon rows and images in
          <seq>/color/ (VOT2019+) or <seq>/ (earlier). VOT coordinates are 0-based (the VOT toolkit rasterises a
          rectangle x,y,w,h onto pixels x..x+w-1 of a 0-indexed mask, vot/region/raster.py). Sequence.regions keeps
          the rows as written (for benchmarks/run_VOT.py); gt_boxes are utils.box_io.axis_aligned_box of them, the
          area-preserving box DaSiamRPN and pysot initialise with. Blank and NaN rows are unlabelled (NaN).
  lasot   <root>/<class>/<class>-<n>/img/00000001.jpg and groundtruth.txt, 1-based (LaSOT_Evaluation_Toolkit issue 14).
  uav     the UAV123 release: <root>/anno/<version>/<seq>.txt (1-based, NaN rows where the target is out of view) and
          <root>/data_seq/<UAV123 or UAV123_10fps>/<folder>/000001.jpg; sub-sequences use the toolkit's frame ranges.
"""

import glob
import os

import numpy as np

from datasets import otb_layout
from datasets.benchmark_tables import LASOT_TEST_SEQUENCES, OTB_SUBSETS, UAV_SUBSEQUENCES
from utils.box_io import axis_aligned_box, is_labelled, parse_region_rows, read_otb_boxes

DATASETS = ('otb', 'got10k', 'vot', 'lasot', 'uav')
SUBSETS = {'otb': ('all',) + tuple(sorted(OTB_SUBSETS)), 'uav': tuple(sorted(UAV_SUBSEQUENCES)),
           'lasot': ('all', 'test'), 'got10k': ('val', 'test')}
DEFAULT_SUBSET = {'otb': 'all', 'uav': 'UAV123', 'lasot': 'all', 'got10k': 'val'}
DEFAULT_ROOTS = {'otb': 'data/OTB100', 'got10k': 'data/GOT-10k/val', 'vot': 'data/VOT2018', 'lasot': 'data/LaSOT',
                 'uav': 'data/UAV123'}


class SequenceError(ValueError):
    """A sequence that is missing or inconsistent (the message names it)."""


class Sequence(object):
    """One evaluated target.

    name: unique name (results go to <results>/<tracker>/<name>.txt); img_files: N image paths; gt_boxes: [N, 4]
    0-based x,y,w,h float64 (NaN rows kept); frame_numbers: N image numbers, for messages; source: what was read.
    Optional, per layout: regions (VOT: N regions as written, [4] or [8] float64), visible (GOT-10k: [N] bool,
    cover.label > 0), annotated (False for GOT-10k test: only the first box is known).
    """

    def __init__(self, name, img_files, gt_boxes, frame_numbers=None, source=None):
        self.regions, self.visible, self.annotated = None, None, True
        self.name = name
        self.img_files = list(img_files)
        self.gt_boxes = np.asarray(gt_boxes, dtype=np.float64).reshape(-1, 4)
        self.frame_numbers = list(frame_numbers) if frame_numbers is not None else list(range(1, len(img_files) + 1))
        self.source = source
        if len(self.img_files) != len(self.gt_boxes):
            raise SequenceError('sequence %s: %d images but %d ground-truth boxes' % (
                name, len(self.img_files), len(self.gt_boxes)))
        if not self.img_files:
            raise SequenceError('sequence %s has no frames' % name)
        first = self.gt_boxes[0]
        if not (np.all(np.isfinite(first)) and first[2] > 0 and first[3] > 0):
            raise SequenceError('sequence %s: the first ground-truth box %s is not a valid box, so no tracker can be '
                                'initialised (%s)' % (name, first.tolist(), source))

    def __len__(self):
        return len(self.img_files)

    def __repr__(self):
        return 'Sequence(%r, %d frames)' % (self.name, len(self))


def numbered_images(folder, sequence_name):
    """Image files of `folder` sorted by the number in their names -> list of (number, path) (see
    datasets.otb_layout.numbered_images); a missing, empty or inconsistently named folder is a SequenceError."""
    try:
        return otb_layout.numbered_images(folder, sequence_name)
    except ValueError as error:
        raise SequenceError(str(error))


def align_frames(name, images, gt_boxes, gt_path, frame_range=None):
    """Pairs images with ground-truth rows -> Sequence.

    images: list of (number, path) from numbered_images; gt_boxes: [M, 4] 0-based. Without `frame_range` the i-th
    image takes the i-th row and the counts must agree. With frame_range {'first', 'last', 'gt_first'} the images
    numbered first..last are evaluated and row 1 annotates frame gt_first.
    """
    folder = os.path.dirname(images[0][1])
    if frame_range is None:
        if len(images) != len(gt_boxes):
            raise SequenceError('sequence %s is inconsistent: %d images in %s but %d ground-truth rows in %s' % (
                name, len(images), folder, len(gt_boxes), gt_path))
        return Sequence(name, [p for _, p in images], gt_boxes, [n for n, _ in images], source=gt_path)
    first, last, gt_first = frame_range['first'], frame_range['last'], frame_range['gt_first']
    try:
        images = otb_layout.frames_in_range(images, first, last, name)
    except ValueError as error:
        raise SequenceError(str(error))
    rows = np.arange(first - gt_first, last - gt_first + 1)
    if len(gt_boxes) < rows[-1] + 1:
        raise SequenceError('sequence %s is inconsistent: frames %d-%d need %d ground-truth rows starting at frame %d '
                            'but %s has %d' % (name, first, last, rows[-1] + 1, gt_first, gt_path, len(gt_boxes)))
    return Sequence(name, [p for _, p in images], gt_boxes[rows], [n for n, _ in images], source=gt_path)


def load_otb(root, subset='all'):
    """OTB layout -> sequences in name order. subset: 'all' (every sequence folder under root) or one of
    OTB_SUBSETS ('otb100', 'otb2013', 'otb50'), whose folders must all be present."""
    _require_dir(root, 'otb')
    folders = sorted(d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d)))
    if subset != 'all':
        if subset not in OTB_SUBSETS:
            raise ValueError('unknown OTB subset %r: expected all or one of %s' % (subset, sorted(OTB_SUBSETS)))
        wanted = OTB_SUBSETS[subset]
        missing = [f for f in wanted if f not in folders or not otb_layout.has_annotations(os.path.join(root, f))]
        if missing:
            raise SequenceError('%s needs %d sequence folders under %s; missing or without groundtruth_rect*.txt: '
                                '%s' % (subset, len(wanted), root, ', '.join(missing)))
        folders = [f for f in folders if f in wanted]
    sequences = []
    for folder in folders:
        path = os.path.join(root, folder)
        if otb_layout.has_annotations(path):
            sequences.extend(load_otb_folder(path))
    if not sequences:
        raise SequenceError('no OTB sequences under %s: expected <Seq>/img/*.jpg with <Seq>/groundtruth_rect.txt'
                            % root)
    return sequences


def load_otb_folder(path):
    """One OTB-layout folder (<path>/img/*.jpg + groundtruth_rect[.k].txt) -> its Sequences (one per target).

    The folder's name selects its OTB frame range (David, Tiger1, ...), if any, unless it is another clip of that
    name (datasets.otb_layout.otb100_frame_range).
    """
    folder = os.path.basename(os.path.normpath(path))
    try:
        annotations = otb_layout.annotation_files(path) if os.path.isdir(path) else []
    except ValueError as error:
        raise SequenceError('sequence %s: %s' % (folder, error))
    if not annotations:
        raise SequenceError('sequence %s: no groundtruth_rect.txt (or groundtruth_rect.<k>.txt) in %s' % (folder, path))
    images = numbered_images(os.path.join(path, otb_layout.IMAGE_FOLDER), folder)
    numbers = [n for n, _ in images]
    sequences = []
    for target, gt_path in annotations:
        gt_boxes = read_otb_boxes(gt_path)
        if len(gt_boxes) == 0:
            continue  # Human4's groundtruth_rect.1.txt is empty in the OTB download
        name = folder if target is None else '%s-%s' % (folder, target)
        frame_range = otb_layout.otb100_frame_range(folder, numbers, len(gt_boxes))
        sequences.append(align_frames(name, images, gt_boxes, gt_path, frame_range))
    return sequences


def load_got10k(root, split='val'):
    """A GOT-10k split folder (or its parent holding <split>/) -> sequences in list.txt order.

    split 'val' (or train): every frame annotated; 'test': only the first box, the others NaN (annotated False).
    """
    _require_dir(root, 'got10k')
    if not _sequence_dirs(root, 'groundtruth.txt') and os.path.isdir(os.path.join(root, split)):
        root = os.path.join(root, split)
    sequences = []
    for name in _listed_or_found(root, 'groundtruth.txt'):
        folder = os.path.join(root, name)
        gt_path = os.path.join(folder, 'groundtruth.txt')
        gt_boxes = read_otb_boxes(gt_path)
        images = numbered_images(folder, name)
        if split == 'test':
            if len(gt_boxes) != 1:
                raise SequenceError('sequence %s: %s has %d rows; a GOT-10k test sequence has only the first-frame '
                                    'box (use --subset val for annotated sequences)' % (name, gt_path, len(gt_boxes)))
            gt_boxes = np.concatenate([gt_boxes, np.full((len(images) - 1, 4), np.nan)])
        elif len(gt_boxes) == 1 and len(images) > 1:
            raise SequenceError('sequence %s: %s has only the first-frame box (the GOT-10k test split keeps its '
                                'annotations on the evaluation server); use --subset test to track it for a '
                                'submission, or the val split' % (name, gt_path))
        sequence = align_frames(name, images, gt_boxes, gt_path)
        sequence.annotated = split != 'test'
        cover_path = os.path.join(folder, 'cover.label')
        if sequence.annotated and os.path.isfile(cover_path):
            with open(cover_path) as stream:
                cover = np.array([float(v) for v in stream.read().split()])
            if len(cover) != len(sequence):
                raise SequenceError('sequence %s: %s has %d values for %d frames' % (
                    name, cover_path, len(cover), len(sequence)))
            sequence.visible = cover > 0
        sequences.append(sequence)
    return sequences


def load_vot(root):
    """A VOT short-term folder -> sequences in list.txt order, with .regions as written and gt_boxes the
    area-preserving axis-aligned boxes of utils.box_io.axis_aligned_box (0-based); blank or NaN rows are NaN."""
    _require_dir(root, 'vot')
    sequences = []
    for name in _listed_or_found(root, 'groundtruth.txt'):
        folder = os.path.join(root, name)
        gt_path = os.path.join(folder, 'groundtruth.txt')
        with open(gt_path) as stream:  # one row per frame: only the file's final line break ends no row
            text = stream.read()
        lines = (text[:-1] if text.endswith('\n') else text).split('\n')
        regions = parse_region_rows([line if line.strip() else 'nan,nan,nan,nan' for line in lines], source=gt_path)
        gt_boxes = np.array([axis_aligned_box(r) if is_labelled(r) else np.full(4, np.nan) for r in regions])
        color = os.path.join(folder, 'color')
        images = numbered_images(color if os.path.isdir(color) else folder, name)
        sequence = align_frames(name, images, gt_boxes.reshape(-1, 4), gt_path)
        sequence.regions = regions
        sequences.append(sequence)
    return sequences


def load_lasot(root, subset='all'):
    """LaSOT (<class>/<class>-<n>/ or a flat folder of <class>-<n>/) -> sequences in name order.

    subset 'test': the 280 sequences of LaSOT's testing_set.txt (datasets/benchmark_tables.py), all of which must
    be present; 'all': every sequence found.
    """
    _require_dir(root, 'lasot')
    gt_paths = glob.glob(os.path.join(root, '*', 'groundtruth.txt')) + \
        glob.glob(os.path.join(root, '*', '*', 'groundtruth.txt'))
    gt_paths = sorted(p for p in gt_paths if os.path.isdir(os.path.join(os.path.dirname(p), 'img')))
    if not gt_paths:
        raise SequenceError('no LaSOT sequences under %s: expected <class>/<class>-<n>/img/*.jpg with groundtruth.txt'
                            % root)
    sequences = []
    for gt_path in sorted(gt_paths, key=lambda p: os.path.basename(os.path.dirname(p))):
        folder = os.path.dirname(gt_path)
        name = os.path.basename(folder)
        sequences.append(align_frames(name, numbered_images(os.path.join(folder, 'img'), name),
                                      read_otb_boxes(gt_path), gt_path))
    if subset == 'test':
        found = {s.name for s in sequences}
        missing = [n for n in LASOT_TEST_SEQUENCES if n not in found]
        if missing:
            raise SequenceError('the LaSOT test set needs %d sequences under %s; missing: %s%s' % (
                len(LASOT_TEST_SEQUENCES), root, ', '.join(missing[:10]), ' ...' if len(missing) > 10 else ''))
        sequences = [s for s in sequences if s.name in set(LASOT_TEST_SEQUENCES)]
    return sequences


def load_uav(root, version='UAV123'):
    """The UAV123 release layout -> sequences in name order. version: UAV123, UAV123_10fps or UAV20L."""
    if version not in UAV_SUBSEQUENCES:
        raise ValueError('unknown UAV version %r: expected one of %s' % (version, sorted(UAV_SUBSEQUENCES)))
    _require_dir(root, 'uav')
    anno_dir = os.path.join(root, 'anno', version)
    data_dir = os.path.join(root, 'data_seq', 'UAV123_10fps' if version == 'UAV123_10fps' else 'UAV123')
    gt_paths = sorted(glob.glob(os.path.join(anno_dir, '*.txt')))
    if not gt_paths:
        raise SequenceError('no %s annotations in %s: expected the UAV123 release layout anno/%s/<seq>.txt and '
                            'data_seq/' % (version, anno_dir, version))
    table = UAV_SUBSEQUENCES[version]
    sequences = []
    for gt_path in gt_paths:
        name = os.path.splitext(os.path.basename(gt_path))[0]
        gt_boxes = read_otb_boxes(gt_path)
        if name in table:
            folder = name.rsplit('_', 1)[0]
            first, last = table[name]
            if len(gt_boxes) != last - first + 1:
                raise SequenceError('sequence %s is inconsistent: the %s toolkit evaluates frames %d-%d (%d frames) '
                                    'but %s has %d rows' % (name, version, first, last, last - first + 1, gt_path,
                                                            len(gt_boxes)))
        else:
            folder, first, last = name, 1, len(gt_boxes)
        images = numbered_images(os.path.join(data_dir, folder), name)
        sequences.append(align_frames(name, images, gt_boxes, gt_path, {'first': first, 'last': last,
                                                                         'gt_first': first}))
    return sequences


def load_sequences(dataset, root=None, subset=None, names=None):
    """Loads `dataset` ('otb', 'got10k', 'vot', 'lasot', 'uav') from root (default DEFAULT_ROOTS) -> [Sequence].

    subset: OTB subset, UAV version, LaSOT all/test or GOT-10k val/test (see SUBSETS); names: keep only these
    sequences, in this order.
    """
    if dataset not in DATASETS:
        raise ValueError('unknown dataset %r: expected one of %s' % (dataset, ', '.join(DATASETS)))
    root = root or DEFAULT_ROOTS[dataset]
    subset = subset or DEFAULT_SUBSET.get(dataset)
    if subset is not None and subset not in SUBSETS.get(dataset, ()):
        raise ValueError('dataset %s has no subset %r (subsets: %s)' % (
            dataset, subset, ', '.join(SUBSETS.get(dataset, ())) or 'none'))
    if dataset == 'otb':
        sequences = load_otb(root, subset)
    elif dataset == 'got10k':
        sequences = load_got10k(root, subset)
    elif dataset == 'vot':
        sequences = load_vot(root)
    elif dataset == 'lasot':
        sequences = load_lasot(root, subset)
    else:
        sequences = load_uav(root, subset)
    return select_sequences(sequences, names) if names else sequences


def select_sequences(sequences, names):
    """Keeps the sequences named in `names` (in that order); an unknown name is an error listing what exists."""
    by_name = {s.name: s for s in sequences}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        available = sorted(by_name)
        raise SequenceError('unknown sequence(s) %s; available: %s%s' % (
            ', '.join(unknown), ', '.join(available[:40]), ' ...' if len(available) > 40 else ''))
    return [by_name[n] for n in _unique(names)]


def read_name_list(path):
    """Sequence names from a text file, one a line (e.g. LaSOT's testing_set.txt); blanks and #comments skipped."""
    with open(path) as stream:
        names = [line.split('#', 1)[0].strip() for line in stream]
    names = [n for n in names if n]
    if not names:
        raise ValueError('sequence list %s names no sequences' % path)
    return names


def _unique(names):
    seen = set()
    return [n for n in names if not (n in seen or seen.add(n))]


def _require_dir(root, dataset):
    if not os.path.isdir(root):
        raise SequenceError('%s dataset folder %s does not exist (see the README section "Evaluating on OTB100" for '
                            'the expected layouts)' % (dataset, root))


def _sequence_dirs(root, annotation):
    return sorted(d for d in os.listdir(root) if os.path.isfile(os.path.join(root, d, annotation)))


def _listed_or_found(root, annotation):
    """Sequence folder names from root/list.txt (all must exist) or, without it, every folder with `annotation`."""
    list_file = os.path.join(root, 'list.txt')
    if os.path.isfile(list_file):
        names = read_name_list(list_file)
        missing = [n for n in names if not os.path.isfile(os.path.join(root, n, annotation))]
        if missing:
            raise SequenceError('%s lists %d sequences but these have no %s: %s' % (
                list_file, len(names), annotation, ', '.join(missing)))
        return names
    names = _sequence_dirs(root, annotation)
    if not names:
        raise SequenceError('no sequences under %s: expected <seq>/%s' % (root, annotation))
    return names
