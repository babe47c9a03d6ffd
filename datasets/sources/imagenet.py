"""ImageNet VID 2015 and DET 2014 (ILSVRC) in the layouts of their official releases.

Conventions, with their sources:
  * VID layout (ILSVRC2015 devkit readme, 4.2 "VID snippets and annotations"): frames of a snippet are
    `snippet_id/%06d.JPEG` with annotations `snippet_id/%06d.xml`, numbered from 0; training snippets are packaged in
    ILSVRC2015_VID_train_0000 ... _0003, validation snippets directly under val/. The release unpacks to
    `<root>/Data/VID/{train,val}/...` and `<root>/Annotations/VID/{train,val}/...` (the same tree under both).
  * DET layout (same readme, 2.2 "DET images and annotations"; DET 2015 is "same as ILSVRC2014"): one XML per image,
    "if the image filename is X.JPEG, then the bounding box file is named as X.xml", and "images without any annotated
    objects may not have a corresponding xml file". Two packagings are read: the ILSVRC2015/2017 DET release
    (`<root>/Data/DET/{train,val}` + `<root>/Annotations/DET/{train,val}`) and the ILSVRC2014 downloads
    (`<root>/ILSVRC2014_DET_train` + `ILSVRC2014_DET_bbox_train`, `<root>/ILSVRC2013_DET_val` +
    `ILSVRC2013_DET_bbox_val`).
  * XML (PASCAL VOC format, same readme 1.4): `<object>` with `<name>` (WNID), `<bndbox>` `xmin ymin xmax ymax`, and in
    VID `<trackid>` (the object's identity across frames), `<occluded>` and `<generated>` (1 = linearly interpolated
    box, readme 1.2). The corners are inclusive 0-based pixel indices: the box is x = xmin, y = ymin,
    w = xmax - xmin + 1, h = ymax - ymin + 1 in our 0-based continuous convention, which is how the GOT-10k toolkit
    reads VID (got10k/datasets/vid.py: `anno[:, 2:] -= anno[:, :2] - 1`) and how SiamFC-TensorFlow curates it
    (scripts/preprocess_VID_data.py: `width = xmax - xmin + 1`).

Skip reasons added here (counted and, except occlusion flags, named in the summary's problems): 'empty_xml' (a
zero-byte or blank annotation file), 'bad_xml' (not parsable XML), 'missing_xml' (a VID frame without its XML),
'bad_object' (an object without a usable trackid or box), 'duplicate_trackid' (a trackid twice in one frame; the first
is kept), 'no_objects' (a DET annotation listing no object), 'occluded' / 'generated' (VID flags, only when asked).
"""

import os
import xml.etree.ElementTree as ElementTree

from datasets.otb_layout import numbered_files
from datasets.sources.base import Frame, SequenceSource, Track, Video
from utils.image_io import IMAGE_EXTENSIONS

IMAGE_EXTENSION = '.JPEG'  # the release's image files; others (IMAGE_EXTENSIONS, any case) are found too


class AnnotationFileError(ValueError):
    """An annotation file that cannot be used at all; `reason` is the skip reason ('empty_xml' or 'bad_xml')."""

    def __init__(self, reason, message):
        super(AnnotationFileError, self).__init__(message)
        self.reason = reason


def parse_annotation(path):
    """Parses an ILSVRC XML annotation -> (objects, bad).

    objects: list of dicts {'trackid' (str or None), 'name', 'box' [x, y, w, h] 0-based, 'occluded', 'generated'
    (bools)} in file order; bad: messages naming the file for objects without a usable box (or with a non-integer
    trackid). Raises AnnotationFileError for an empty or unparsable file, OSError when it cannot be read.
    """
    with open(path, 'rb') as stream:
        data = stream.read()
    if not data.strip():
        raise AnnotationFileError('empty_xml', '%s: empty annotation file' % path)
    try:
        root = ElementTree.fromstring(data)
    except ElementTree.ParseError as error:
        raise AnnotationFileError('bad_xml', '%s: not valid XML (%s)' % (path, error))
    objects, bad = [], []
    for number, element in enumerate(root.iter('object')):
        try:
            objects.append(_parse_object(element))
        except ValueError as error:
            bad.append('%s: object %d: %s' % (path, number, error))
    return objects, bad


def _parse_object(element):
    box = element.find('bndbox')
    if box is None:
        raise ValueError('no <bndbox>')
    corners = []
    for tag in ('xmin', 'ymin', 'xmax', 'ymax'):
        text = box.findtext(tag)
        try:
            corners.append(float(text))
        except (TypeError, ValueError):
            raise ValueError('<%s> is %r, expected a number' % (tag, text))
    xmin, ymin, xmax, ymax = corners
    trackid = element.findtext('trackid')
    if trackid is not None:
        trackid = trackid.strip()
        if not trackid.lstrip('-').isdigit():
            raise ValueError('<trackid> is %r, expected an integer' % trackid)
        trackid = str(int(trackid))
    return {'trackid': trackid, 'name': (element.findtext('name') or '').strip(),
            'box': [xmin, ymin, xmax - xmin + 1., ymax - ymin + 1.],
            'occluded': (element.findtext('occluded') or '0').strip() == '1',
            'generated': (element.findtext('generated') or '0').strip() == '1'}


def _image_for(stem_path):
    """The image file of a path without extension: the .JPEG file, else the first that exists of IMAGE_EXTENSIONS
    in upper or lower case, else the .JPEG path."""
    candidates = [IMAGE_EXTENSION] + [case(e) for e in IMAGE_EXTENSIONS for case in (str.upper, str.lower)]
    for extension in candidates:
        if os.path.isfile(stem_path + extension):
            return stem_path + extension
    return stem_path + IMAGE_EXTENSION


def _leaf_folders(top, extension):
    """Sorted relative paths of the folders under `top` that hold at least one file with `extension`."""
    found = []
    for parent, folders, files in os.walk(top):
        folders.sort()
        if any(f.endswith(extension) for f in files):
            found.append(os.path.relpath(parent, top))
    return found


class ImageNetVIDSource(SequenceSource):
    """ImageNet VID 2015: one video per snippet, one track per trackid (see the module docstring)."""

    def __init__(self, root, name='imagenet_vid', subsets=None, skip_occluded=False, skip_generated=False):
        """
        Args:
          root: the unpacked release folder holding Data/VID and Annotations/VID (e.g. ILSVRC2015/).
          name: source name recorded in the imdb.
          subsets: which of 'train' and 'val' to read (each must exist); None: those of the two that exist.
          skip_occluded: skip boxes flagged <occluded>1 (default: keep them; VID boxes cover the visible part).
          skip_generated: skip linearly interpolated boxes (<generated>1).
        """
        self.root = root
        self.name = name
        self.skip_occluded = bool(skip_occluded)
        self.skip_generated = bool(skip_generated)
        self.subsets = _pick_subsets(subsets, self._exists, 'ImageNet VID', root,
                                     'Data/VID/<subset> and Annotations/VID/<subset> (the unpacked ILSVRC2015_VID '
                                     'release)')

    def _exists(self, subset):
        return os.path.isdir(self._data_dir(subset)) or os.path.isdir(self._annotation_dir(subset))

    def _data_dir(self, subset):
        return os.path.join(self.root, 'Data', 'VID', subset)

    def _annotation_dir(self, subset):
        return os.path.join(self.root, 'Annotations', 'VID', subset)

    def describe(self):
        description = super(ImageNetVIDSource, self).describe()
        description.update({'layout': 'imagenet_vid', 'root': self.root, 'subsets': list(self.subsets),
                            'skip_occluded': self.skip_occluded, 'skip_generated': self.skip_generated})
        return description

    def video_names(self):
        names = set()
        for subset in self.subsets:
            for top, extension in ((self._data_dir(subset), IMAGE_EXTENSION), (self._annotation_dir(subset), '.xml')):
                if os.path.isdir(top):
                    names.update('%s/%s' % (subset, rel.replace(os.sep, '/')) for rel in _leaf_folders(top, extension)
                                 if rel != '.')
        return sorted(names)

    def load_video(self, name):
        subset, relative = name.split('/', 1)
        image_dir = os.path.join(self._data_dir(subset), *relative.split('/'))
        annotation_dir = os.path.join(self._annotation_dir(subset), *relative.split('/'))
        images = numbered_files(image_dir)
        annotations = numbered_files(annotation_dir, ('.xml',))
        skipped, problems, tracks = {}, [], {}
        for index in sorted(set(images) | set(annotations)):
            image_path = images.get(index, os.path.join(image_dir, '%06d%s' % (index, IMAGE_EXTENSION)))
            if index not in annotations:
                _count(skipped, 'missing_xml')
                problems.append('%s has no annotation %s' % (image_path, os.path.join(annotation_dir,
                                                                                       '%06d.xml' % index)))
                continue
            try:
                objects, bad = parse_annotation(annotations[index])
            except AnnotationFileError as error:
                _count(skipped, error.reason)
                problems.append(str(error))
                continue
            _count(skipped, 'bad_object', len(bad))
            problems.extend(bad)
            seen = set()
            for number, obj in enumerate(objects):
                trackid = obj['trackid']
                if trackid is None:
                    _count(skipped, 'bad_object')
                    problems.append('%s: object %d has no <trackid>' % (annotations[index], number))
                    continue
                if trackid in seen:
                    _count(skipped, 'duplicate_trackid')
                    problems.append('%s: trackid %s appears twice; the first box is kept' % (
                        annotations[index], trackid))
                    continue
                seen.add(trackid)
                skip = None
                if self.skip_occluded and obj['occluded']:
                    skip = 'occluded'
                elif self.skip_generated and obj['generated']:
                    skip = 'generated'
                tracks.setdefault(trackid, []).append(Frame(image_path, obj['box'], index, None, skip))
        ordered = [Track(trackid, tracks[trackid]) for trackid in sorted(tracks, key=int)]
        return Video(name, ordered, skipped, problems)


class ImageNetDETSource(SequenceSource):
    """ImageNet DET 2014: every annotated object of every image is a 1-frame track (image data)."""

    is_image_data = True

    def __init__(self, root, name='imagenet_det', subsets=None):
        """
        Args:
          root: folder of the unpacked DET release (Data/DET + Annotations/DET), or of the ILSVRC2014 downloads
              (ILSVRC2014_DET_train + ILSVRC2014_DET_bbox_train, ILSVRC2013_DET_val + ILSVRC2013_DET_bbox_val).
          name: source name recorded in the imdb.
          subsets: which of 'train' and 'val' to read (each must exist); None: those of the two that exist.
        """
        self.root = root
        self.name = name
        self.folders = {}  # subset -> (image folder, annotation folder)
        for subset in ('train', 'val'):
            for images, annotations in _DET_PACKAGINGS[subset]:
                if os.path.isdir(os.path.join(root, annotations)):
                    self.folders[subset] = (os.path.join(root, images), os.path.join(root, annotations))
                    break
        self.subsets = _pick_subsets(subsets, lambda subset: subset in self.folders, 'ImageNet DET', root,
                                     ' or '.join(a.replace('train', '<subset>') for _, a in _DET_PACKAGINGS['train'])
                                     + ' (the unpacked DET release or the ILSVRC2014 downloads)')

    def describe(self):
        description = super(ImageNetDETSource, self).describe()
        description.update({'layout': 'imagenet_det', 'root': self.root, 'subsets': list(self.subsets)})
        return description

    def video_names(self):
        names = []
        for subset in self.subsets:
            top = self.folders[subset][1]
            for parent, folders, files in os.walk(top):
                folders.sort()
                relative = os.path.relpath(parent, top)
                prefix = subset if relative == '.' else '%s/%s' % (subset, relative.replace(os.sep, '/'))
                names.extend('%s/%s' % (prefix, f[:-4]) for f in files if f.endswith('.xml'))
        return sorted(names)

    def load_video(self, name):
        subset, relative = name.split('/', 1)
        image_dir, annotation_dir = self.folders[subset]
        annotation = os.path.join(annotation_dir, *relative.split('/')) + '.xml'
        image_path = _image_for(os.path.join(image_dir, *relative.split('/')))
        try:
            objects, bad = parse_annotation(annotation)
        except AnnotationFileError as error:
            return Video(name, [], {error.reason: 1}, [str(error)])
        skipped = {'bad_object': len(bad)} if bad else {}
        if not objects and not bad:
            skipped['no_objects'] = 1
        tracks = [Track(str(number), [Frame(image_path, obj['box'], 0, None, None)])
                  for number, obj in enumerate(objects)]
        return Video(name, tracks, skipped, bad)


# (image folder, annotation folder) of a DET subset in the ILSVRC2015/2017 release and in the ILSVRC2014 downloads.
_DET_PACKAGINGS = {
    'train': ((os.path.join('Data', 'DET', 'train'), os.path.join('Annotations', 'DET', 'train')),
              ('ILSVRC2014_DET_train', 'ILSVRC2014_DET_bbox_train')),
    'val': ((os.path.join('Data', 'DET', 'val'), os.path.join('Annotations', 'DET', 'val')),
            ('ILSVRC2013_DET_val', 'ILSVRC2013_DET_bbox_val')),
}


def _pick_subsets(subsets, exists, dataset, root, expected):
    """The subsets to read: all requested ones (each must exist), or with None those of train/val that exist."""
    if subsets is None:
        found = tuple(s for s in ('train', 'val') if exists(s))
        if not found:
            raise ValueError('%s not found under %s: expected %s' % (dataset, root, expected))
        return found
    subsets = tuple(subsets)
    for subset in subsets:
        if subset not in ('train', 'val'):
            raise ValueError('%s subsets are train and val, got %r' % (dataset, subset))
        if not exists(subset):
            raise ValueError('%s %s split not found under %s: expected %s' % (dataset, subset, root, expected))
    return subsets


def _count(counter, reason, amount=1):
    if amount:
        counter[reason] = counter.get(reason, 0) + amount
