"""The OTB folder layout and numbered frame folders, read in one place for curation and for the benchmarks.

Readers: datasets/sources/otb.py (curation; the GOT-10k, LaSOT, ImageNet and YouTube-BB parsers use the frame
listings) and datasets/benchmark_sequences.py (benchmarks/run_OTB.py, run_VOT.py, scripts/run_tracking.py,
scripts/convert_otb_dataset.py).

  <Seq>/img/<number>.<ext>           the frames. A file's number is its frame number (4 digits in OTB100, 5 in a few
                                     sequences, 6 in UAV123 exports) and may start above 1 (BlurCar3 starts at 0003,
                                     UAV123 sub-sequences at their toolkit range); the extensions are
                                     utils.image_io.IMAGE_EXTENSIONS in any letter case. A folder in which no image
                                     name is a number is numbered by name order from 1; one that mixes both is refused.
  <Seq>/groundtruth_rect.txt         the sequence's single target: 1-based x,y,w,h rows separated by commas, tabs or
                                     spaces, one per frame, NaN rows where the target is out of view (UAV123, DTB70
                                     exports); utils.box_io.read_otb_boxes reads them as 0-based boxes.
  <Seq>/groundtruth_rect.<k>.txt     one target each of a sequence with several (OTB100: Jogging .1/.2, Skating2
  <Seq>/groundtruth_rect<k>.txt      .1/.2, Human4 .1/.2); the target is named <k>: digits in either spelling, or a
                                     word after a dot (groundtruth_rect.left.txt). One target spelled twice is an
                                     error. An empty file (Human4's .1 in the OTB download) is left to the caller:
                                     the benchmarks skip it, curation reports the row count.

OTB100's irregular sequences annotate a sub-range of their images (David 300-770, Football1 1-74, Tiger1 evaluated
from 6; datasets/benchmark_tables.OTB_FRAME_RANGES): `otb100_frame_range` says when a folder of that name is one of
them, and `frames_in_range` takes a range's images.
"""

import os
import re

from datasets.benchmark_tables import OTB_FRAME_RANGES
from utils.image_io import IMAGE_EXTENSIONS

IMAGE_FOLDER = 'img'
ANNOTATION = re.compile(r'^groundtruth_rect(?:\.(\w+)|(\d+))?\.txt$')


def annotation_target(file_name):
    """The target an annotation file name gives -> (True, None) for groundtruth_rect.txt, (True, '<k>') for
    groundtruth_rect.<k>.txt or groundtruth_rect<k>.txt, (False, None) for any other name."""
    match = ANNOTATION.match(file_name)
    if not match:
        return False, None
    return True, match.group(1) or match.group(2)


def has_annotations(folder):
    """True when the folder holds at least one annotation file (any groundtruth_rect*.txt name above)."""
    return any(annotation_target(name)[0] for name in os.listdir(folder))


def annotation_files(folder):
    """The annotation files of an OTB sequence folder -> [(target, path)]: target None (groundtruth_rect.txt) first,
    then numbered targets by value, then named ones by name. Empty when the folder has none.

    Raises ValueError naming both files when two spell the same target (groundtruth_rect.2.txt, groundtruth_rect2.txt).
    """
    found = {}
    for file_name in sorted(os.listdir(folder)):
        is_annotation, target = annotation_target(file_name)
        if not is_annotation:
            continue
        if target in found:
            raise ValueError('%s: %s and %s both annotate target %s; keep one of them' % (
                folder, os.path.basename(found[target]), file_name, target))
        found[target] = os.path.join(folder, file_name)
    return sorted(found.items(), key=lambda item: _target_order(item[0]))


def _target_order(target):
    if target is None:
        return 0, 0, ''
    return (1, int(target), target) if target.isdigit() else (2, 0, target)


def _numbered_names(folder, extensions):
    """(numbered, others): [(number, file name)] sorted by number and the sorted other names, of the non-hidden
    files of `folder` whose extension (any case) is in `extensions`. Raises ValueError when two share a number."""
    wanted = tuple(e.lower() for e in extensions)
    numbered, others = [], []
    for name in sorted(os.listdir(folder)):
        stem, extension = os.path.splitext(name)
        if name.startswith('.') or extension.lower() not in wanted:
            continue
        if stem.isdigit():
            numbered.append((int(stem), name))
        else:
            others.append(name)
    numbered.sort()
    for (number, name), (next_number, next_name) in zip(numbered, numbered[1:]):
        if number == next_number:
            raise ValueError('%s has two files with frame number %d: %s and %s' % (folder, number, name, next_name))
    return numbered, others


def numbered_files(folder, extensions=IMAGE_EXTENSIONS):
    """{frame number: path} of the files of `folder` named <number><extension> for an extension of `extensions`
    (any letter case); other files are ignored. Empty when the folder does not exist (sparse folders: ImageNet VID
    snippets, YouTube-BB decoded frames)."""
    if not os.path.isdir(folder):
        return {}
    numbered, _ = _numbered_names(folder, extensions)
    return {number: os.path.join(folder, name) for number, name in numbered}


def numbered_images(folder, sequence=None):
    """The frames of an image folder in order -> [(frame number, path)], sorted by number.

    Numbered names give their numbers; when no image name is a number the images are numbered by name order from 1.
    Raises ValueError (naming `sequence`, when given, and the folder) for a missing folder, a folder without images,
    names mixing numbers and others, or two images with one number.
    """
    prefix = 'sequence %s: ' % sequence if sequence is not None else ''
    if not os.path.isdir(folder):
        raise ValueError('%simage folder %s does not exist' % (prefix, folder))
    try:
        numbered, others = _numbered_names(folder, IMAGE_EXTENSIONS)
    except ValueError as error:
        raise ValueError(prefix + str(error))
    if not numbered and not others:
        raise ValueError('%sno images (%s) in %s' % (prefix, '/'.join(IMAGE_EXTENSIONS), folder))
    if numbered and others:
        raise ValueError('%s%s mixes numbered and other image names, e.g. %s' % (prefix, folder, ', '.join(others[:3])))
    if others:
        return [(position + 1, os.path.join(folder, name)) for position, name in enumerate(others)]
    return [(number, os.path.join(folder, name)) for number, name in numbered]


def frames_in_range(frames, first, last, sequence):
    """The frames numbered first..last (inclusive) of numbered_images' list -> [(number, path)], in order.

    Raises ValueError naming the sequence, its folder and the first missing numbers when any of them is absent.
    """
    by_number = dict(frames)
    missing = [n for n in range(first, last + 1) if n not in by_number]
    if missing:
        folder = os.path.dirname(frames[0][1]) if frames else '(no images)'
        raise ValueError('sequence %s is incomplete: its frame range is %d-%d but %d of those frames are missing in '
                         '%s (first missing: %s)' % (sequence, first, last, len(missing), folder,
                                                     ', '.join(str(n) for n in missing[:5])))
    return [(n, by_number[n]) for n in range(first, last + 1)]


def otb100_frame_range(folder_name, numbers, row_count):
    """The OTB100 frame range {'first', 'last', 'gt_first'} of a sequence folder, or None (one row per image).

    A folder named like an irregular OTB100 sequence (David, Tiger1, ...) gets its range unless it lacks the range's
    first or last image and has one row per image: then it is another clip of that name (e.g. a cut of the OTB100
    sequence) whose images and rows pair one to one.
    numbers: the folder's frame numbers; row_count: the rows of the annotation file.
    """
    frame_range = OTB_FRAME_RANGES.get(folder_name)
    if (frame_range is not None and row_count == len(numbers) and
            not {frame_range['first'], frame_range['last']} <= set(numbers)):
        return None
    return frame_range
