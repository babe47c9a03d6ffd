"""Small datasets written in the original on-disk layouts of ImageNet VID/DET, GOT-10k, LaSOT and YouTube-BB.

Frames show flat-coloured rectangular targets (colour i of OBJECT_COLORS for the i-th object of a frame) on a grey
texture that is far from every target colour, so a test can find a target's pixels in a curated crop. Writers take
boxes as integer 0-based x,y,w,h (pixel columns x .. x+w-1) and write them in each dataset's own convention (ILSVRC
inclusive corners, 1-based GOT-10k/LaSOT rows, normalised YouTube-BB corners), and can plant the defects real
downloads have: empty, missing or broken XML, corrupt or truncated JPEGs, unparsable rows, absent and occluded frames.

Used by the tests of datasets/sources and by benchmarks/bench_curation.py (`write_benchmark_dataset`).
"""

import os

import cv2
import numpy as np

from utils.box_io import one_based_from_zero_based
from utils.image_io import encode_jpeg

OBJECT_COLORS = ((255, 0, 255), (255, 255, 0), (0, 255, 255))  # BGR magenta, cyan, yellow
CORRUPT_JPEG = b'\xff\xd8\xff\xe0 this is not a JPEG body'
LAYOUTS = ('imagenet_vid', 'imagenet_det', 'got10k', 'lasot', 'youtube_bb')


def background(rng, width, height):
    """[height, width, 3] uint8 grey texture with values in [60, 200] (far from OBJECT_COLORS)."""
    grid = rng.randint(60, 201, (max(height // 16, 2), max(width // 16, 2))).astype(np.uint8)
    grey = cv2.resize(grid, (width, height), interpolation=cv2.INTER_LINEAR)
    return np.repeat(grey[..., None], 3, axis=2)


def draw_frame(rng, width, height, boxes, colors=None):
    """A frame with the integer 0-based x,y,w,h `boxes` filled with `colors` (default: OBJECT_COLORS in order);
    None boxes are not drawn."""
    image = background(rng, width, height)
    for number, box in enumerate(boxes):
        if box is not None:
            x, y, w, h = (int(v) for v in box)
            color = colors[number] if colors is not None else OBJECT_COLORS[number % len(OBJECT_COLORS)]
            image[max(y, 0):y + h, max(x, 0):x + w] = color
    return image


def track_color(track_id):
    """The colour of an integer track id (VID trackid, position of a YouTube-BB track in its video)."""
    return OBJECT_COLORS[int(track_id) % len(OBJECT_COLORS)]


def _ensure_dir(path):
    folder = os.path.dirname(path)
    if folder and not os.path.isdir(folder):
        os.makedirs(folder)


def write_image(path, image, defect=None, quality=90):
    """Writes `image` as JPEG; defect 'corrupt_jpeg' writes garbage after a JPEG start marker, 'truncated_jpeg' the
    first half of the file, 'missing_jpeg' nothing."""
    _ensure_dir(path)
    if defect == 'missing_jpeg':
        return
    data = encode_jpeg(image, quality)
    if defect == 'corrupt_jpeg':
        data = CORRUPT_JPEG
    elif defect == 'truncated_jpeg':
        data = data[:len(data) // 2]
    with open(path, 'wb') as stream:
        stream.write(data)


def _write_text(path, text):
    _ensure_dir(path)
    with open(path, 'w') as stream:
        stream.write(text)


# ----------------------------------------------------------------------------------------------------------------
# ImageNet (ILSVRC XML)

def ilsvrc_xml(folder, filename, width, height, objects, with_trackid):
    """The text of an ILSVRC annotation. objects: dicts with 'box' (0-based x,y,w,h), optional 'trackid', 'name',
    'occluded', 'generated', or 'raw' (verbatim <bndbox> contents for a broken object)."""
    parts = ['<annotation>', '\t<folder>%s</folder>' % folder, '\t<filename>%s</filename>' % filename,
             '\t<source>\n\t\t<database>ILSVRC_2015</database>\n\t</source>',
             '\t<size>\n\t\t<width>%d</width>\n\t\t<height>%d</height>\n\t</size>' % (width, height)]
    for number, obj in enumerate(objects):
        parts.append('\t<object>')
        if with_trackid:
            parts.append('\t\t<trackid>%s</trackid>' % obj.get('trackid', number))
        parts.append('\t\t<name>%s</name>' % obj.get('name', 'n02084071'))
        if 'raw' in obj:
            parts.append('\t\t<bndbox>%s</bndbox>' % obj['raw'])
        else:
            x, y, w, h = (int(v) for v in obj['box'])
            parts.append('\t\t<bndbox>\n\t\t\t<xmax>%d</xmax>\n\t\t\t<xmin>%d</xmin>\n\t\t\t<ymax>%d</ymax>\n'
                         '\t\t\t<ymin>%d</ymin>\n\t\t</bndbox>' % (x + w - 1, x, y + h - 1, y))
        if with_trackid:
            parts.append('\t\t<occluded>%d</occluded>' % int(obj.get('occluded', False)))
            parts.append('\t\t<generated>%d</generated>' % int(obj.get('generated', False)))
        parts.append('\t</object>')
    parts.append('</annotation>')
    return '\n'.join(parts) + '\n'


def _write_xml(path, text, defect):
    if defect == 'missing_xml':
        return
    if defect == 'empty_xml':
        text = ''
    elif defect == 'bad_xml':
        text = text[:len(text) // 2]
    _write_text(path, text)


def write_imagenet_vid(root, subset, snippet, frames, size, rng, defects=None):
    """One VID snippet under <root>/Data/VID/<subset>/<snippet>/%06d.JPEG and Annotations/VID/... %06d.xml.

    frames: per frame, a list of object dicts {'trackid', 'box', optional 'occluded', 'generated', 'raw'}; an
    object is drawn in track_color(trackid). defects: {frame number: 'empty_xml' | 'missing_xml' | 'bad_xml' |
    'corrupt_jpeg' | 'truncated_jpeg' | 'missing_jpeg'}.
    """
    width, height = size
    defects = defects or {}
    for number, objects in enumerate(frames):
        image = draw_frame(rng, width, height, [o.get('box') if 'raw' not in o else None for o in objects],
                           [track_color(o.get('trackid', 0)) for o in objects])
        stem = '%06d' % number
        defect = defects.get(number)
        write_image(os.path.join(root, 'Data', 'VID', subset, snippet, stem + '.JPEG'), image, defect)
        xml = ilsvrc_xml(snippet, stem, width, height, objects, with_trackid=True)
        _write_xml(os.path.join(root, 'Annotations', 'VID', subset, snippet, stem + '.xml'), xml, defect)


def write_imagenet_det(root, subset, relative, objects, size, rng, defect=None, packaging='ilsvrc2015'):
    """One DET image and its XML. relative: path without extension (e.g. 'ILSVRC2013_train/n01443537/n01443537_1').
    packaging 'ilsvrc2015' writes Data/DET/<subset> + Annotations/DET/<subset>; 'ilsvrc2014' the separate 2014
    download folders. defect as in write_imagenet_vid."""
    width, height = size
    if packaging == 'ilsvrc2015':
        image_dir = os.path.join(root, 'Data', 'DET', subset)
        annotation_dir = os.path.join(root, 'Annotations', 'DET', subset)
    else:
        image_dir = os.path.join(root, 'ILSVRC2014_DET_train' if subset == 'train' else 'ILSVRC2013_DET_val')
        annotation_dir = os.path.join(root, 'ILSVRC2014_DET_bbox_train' if subset == 'train'
                                      else 'ILSVRC2013_DET_bbox_val')
    image = draw_frame(rng, width, height, [o.get('box') if 'raw' not in o else None for o in objects])
    write_image(os.path.join(image_dir, relative + '.JPEG'), image, defect)
    xml = ilsvrc_xml(os.path.dirname(relative), os.path.basename(relative), width, height, objects,
                     with_trackid=False)
    _write_xml(os.path.join(annotation_dir, relative + '.xml'), xml, defect)


# ----------------------------------------------------------------------------------------------------------------
# GOT-10k and LaSOT (1-based x,y,w,h text rows)

def _box_rows_text(boxes, bad_rows):
    """1-based rows of 0-based boxes; rows listed in bad_rows are replaced by their text."""
    lines = []
    for row, box in enumerate(boxes):
        if row in bad_rows:
            lines.append(bad_rows[row])
        else:
            lines.append('%d,%d,%d,%d' % tuple(int(v) for v in one_based_from_zero_based(box)))
    return '\n'.join(lines) + '\n'


def write_got10k(root, subset, name, boxes, size, rng, absence=None, cover=None, bad_rows=None, image_defects=None):
    """One GOT-10k sequence <root>/<subset>/<name>/00000001.jpg ... with groundtruth.txt, absence.label, cover.label,
    cut_by_image.label and meta_info.ini; appends <name> to <root>/<subset>/list.txt.

    boxes: 0-based integer x,y,w,h per frame; the target is drawn where absence is 0 and cover > 0. absence, cover:
    per-frame labels (default 0 and 8). bad_rows: {row: text} written instead of the row. image_defects:
    {row: defect} as in write_image.
    """
    width, height = size
    count = len(boxes)
    absence = list(absence) if absence is not None else [0] * count
    cover = list(cover) if cover is not None else [8] * count
    folder = os.path.join(root, subset, name)
    for row, box in enumerate(boxes):
        visible = not absence[row] and cover[row] > 0
        image = draw_frame(rng, width, height, [box if visible else None])
        write_image(os.path.join(folder, '%08d.jpg' % (row + 1)), image, (image_defects or {}).get(row))
    _write_text(os.path.join(folder, 'groundtruth.txt'), _box_rows_text(boxes, bad_rows or {}))
    _write_text(os.path.join(folder, 'absence.label'), ''.join('%d\n' % v for v in absence))
    _write_text(os.path.join(folder, 'cover.label'), ''.join('%d\n' % v for v in cover))
    _write_text(os.path.join(folder, 'cut_by_image.label'), '0\n' * count)
    _write_text(os.path.join(folder, 'meta_info.ini'), '[METAINFO]\nobject_class: dog\nresolution: (%d, %d)\n' % (
        width, height))
    with open(os.path.join(root, subset, 'list.txt'), 'a') as stream:
        stream.write(name + '\n')


def write_lasot(root, name, boxes, size, rng, full_occlusion=None, out_of_view=None, bad_rows=None,
                image_defects=None):
    """One LaSOT sequence <root>/<class>/<name>/img/00000001.jpg ... with groundtruth.txt, full_occlusion.txt,
    out_of_view.txt (one comma-separated line each) and nlp.txt. Out-of-view rows are written as 0,0,0,0 (as LaSOT
    does); occluded or out-of-view targets are not drawn."""
    width, height = size
    count = len(boxes)
    occluded = list(full_occlusion) if full_occlusion is not None else [0] * count
    outside = list(out_of_view) if out_of_view is not None else [0] * count
    folder = os.path.join(root, name.rpartition('-')[0], name)
    rows = []
    for row, box in enumerate(boxes):
        hidden = occluded[row] or outside[row]
        image = draw_frame(rng, width, height, [None if hidden else box])
        write_image(os.path.join(folder, 'img', '%08d.jpg' % (row + 1)), image, (image_defects or {}).get(row))
        rows.append([-1, -1, 0, 0] if outside[row] else box)
    _write_text(os.path.join(folder, 'groundtruth.txt'), _box_rows_text(rows, bad_rows or {}))
    _write_text(os.path.join(folder, 'full_occlusion.txt'), ','.join(str(int(v)) for v in occluded) + '\n')
    _write_text(os.path.join(folder, 'out_of_view.txt'), ','.join(str(int(v)) for v in outside) + '\n')
    _write_text(os.path.join(folder, 'nlp.txt'), 'the coloured box\n')


# ----------------------------------------------------------------------------------------------------------------
# YouTube-BB (CSV rows + decoded frames)

def youtube_bb_row(youtube_id, timestamp_ms, class_id, object_id, box, size, class_name='dog'):
    """The CSV row of one annotation; box None writes an absent row (coordinates -1)."""
    if box is None:
        return '%s,%d,%d,%s,%d,absent,-1.0,-1.0,-1.0,-1.0' % (youtube_id, timestamp_ms, class_id, class_name,
                                                               object_id)
    width, height = size
    x, y, w, h = (float(v) for v in box)
    return '%s,%d,%d,%s,%d,present,%r,%r,%r,%r' % (youtube_id, timestamp_ms, class_id, class_name, object_id,
                                                   x / width, (x + w) / width, y / height, (y + h) / height)


def write_youtube_bb(root, csv_name, videos, size, rng, frames_dir=None, missing_frames=(), image_defects=None,
                     extra_rows=None):
    """Appends the rows of `videos` to <root>/<csv_name> and writes their frames.

    videos: {youtube_id: {(class_id, object_id): [(timestamp_ms, box or None), ...]}}; a frame
    <frames_dir>/<youtube_id>/<timestamp_ms>.jpg is drawn per timestamp with the present objects, the i-th track
    of a video (in sorted key order) in track_color(i).
    missing_frames: (youtube_id, timestamp_ms) pairs not written; youtube_ids listed alone (a str) get no folder.
    image_defects: {(youtube_id, timestamp_ms): defect}. extra_rows: {youtube_id: [raw lines]} appended after the
    video's rows (bad rows).
    """
    frames_dir = frames_dir or root
    lines = []
    for youtube_id, tracks in videos.items():
        by_time = {}
        for number, (key, annotations) in enumerate(sorted(tracks.items())):
            for timestamp, box in annotations:
                lines.append(youtube_bb_row(youtube_id, timestamp, key[0], key[1], box, size))
                by_time.setdefault(timestamp, [None] * len(tracks))[number] = box
        lines.extend((extra_rows or {}).get(youtube_id, []))
        if youtube_id in missing_frames:
            continue
        for timestamp, boxes in sorted(by_time.items()):
            if (youtube_id, timestamp) in missing_frames:
                continue
            image = draw_frame(rng, size[0], size[1], boxes)
            write_image(os.path.join(frames_dir, youtube_id, '%d.jpg' % timestamp), image,
                        (image_defects or {}).get((youtube_id, timestamp)))
    _ensure_dir(os.path.join(root, csv_name))
    with open(os.path.join(root, csv_name), 'a') as stream:
        stream.write(''.join(line + '\n' for line in lines))


# ----------------------------------------------------------------------------------------------------------------
# Scaled-up clean datasets for benchmarks/bench_curation.py

def moving_boxes(rng, count, width, height):
    """`count` integer boxes of a target drifting smoothly inside a width x height frame (5-15 % of the area)."""
    side = np.sqrt(width * height * rng.uniform(0.05, 0.15))
    aspect = rng.uniform(0.6, 1.6)
    w, h = int(min(side * aspect, width - 2)), int(min(side / aspect, height - 2))
    x, y = rng.uniform(0, width - w), rng.uniform(0, height - h)
    boxes = []
    for _ in range(count):
        x = float(np.clip(x + rng.normal(0, 3), 0, width - w))
        y = float(np.clip(y + rng.normal(0, 3), 0, height - h))
        boxes.append([int(x), int(y), w, h])
    return boxes


def write_benchmark_dataset(layout, root, num_videos, frames_per_video, size, seed=0):
    """A defect-free dataset of `layout` with num_videos videos of frames_per_video frames (DET: num_videos *
    frames_per_video images, one object each) of `size` (width, height) -> number of annotated frames."""
    rng = np.random.RandomState(seed)
    width, height = size
    total = 0
    for video in range(num_videos):
        boxes = moving_boxes(rng, frames_per_video, width, height)
        if layout == 'imagenet_vid':
            snippet = 'ILSVRC2015_VID_train_0000/ILSVRC2015_train_%05d000' % video
            write_imagenet_vid(root, 'train', snippet, [[{'trackid': 0, 'box': b}] for b in boxes], size, rng)
        elif layout == 'imagenet_det':
            for number, box in enumerate(boxes):
                relative = 'ILSVRC2014_train_0000/ILSVRC2014_train_%05d%03d' % (video, number)
                write_imagenet_det(root, 'train', relative, [{'box': box}], size, rng)
        elif layout == 'got10k':
            write_got10k(root, 'train', 'GOT-10k_Train_%06d' % (video + 1), boxes, size, rng)
        elif layout == 'lasot':
            write_lasot(root, 'bench-%d' % (video + 1), boxes, size, rng)
        elif layout == 'youtube_bb':
            annotations = [(1000 * (t + 1), box) for t, box in enumerate(boxes)]
            write_youtube_bb(root, 'yt_bb_detection_train.csv', {'bench%07d' % video: {(0, 0): annotations}},
                             size, rng)
        else:
            raise ValueError('unknown layout %r: expected one of %s' % (layout, LAYOUTS))
        total += len(boxes)
    return total
