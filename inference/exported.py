"""The tracker's network from exported graphs (scripts/export_inference_graph.py), without the Python model code.

  with SiamRPNTracker.from_exported('exports/otb') as tracker:      # inference/tracker.py
      boxes, times = tracker.track(img_files, first_box)
  # or the backend alone: backend = ExportedBackend('exports/otb'); backend.set_template(crop); backend.detect(crop)

This module imports TensorFlow, numpy and the project's JSON helpers only: never siamese_model or embeddings/
(a test checks sys.modules), so it runs wherever the exported files and TF are. The template tensor names it shares
with the model are utils/template_names.py's.

Export directory (format 'siamrpn-tf-export', version 2; this loader reads versions 1 and 2):
  manifest.json   tensor names, shapes and dtypes, anchors and score sizes, the tracker and model configs, and the
                  size and SHA-256 of every graph file
  template.pb     frozen GraphDef of the template step (once per video)
  track_<X>.pb    frozen GraphDef of the track step at search size X (271; 287 too for adaptive configs)
  saved_model/    SavedModel (tag 'serve') with signatures 'template' and 'track_<X>', same tensor names

Tensor names (the same in the frozen graphs and the SavedModel):
  template:   in  template/exemplar:0     [1, 127, 127, 3]  float32 BGR in [0, 255] (the exemplar crop)
              out template/<name>:0       the video's template tensors, float32; manifest 'search_head' says which:
                  'fused' (default, version 2):  fused_kernel [1, 6, 6, Cin, 6k], fused_bias [1, 6k] (the search
                                                 branch of the head as one 6x6 conv; embeddings/rpn_head.py)
                  'separate' (version 1 exports, or rpn_config.fused_search_head false):
                                                 cls_kernels [1, 4, 4, C, 2k], reg_kernels [1, 4, 4, C, 4k]
  track_<X>:  in  track_<X>/instance:0    [1, X, X, 3]      float32 BGR in [0, 255] (the search crop)
              in  track/<name>:0          each template output of this video (shared by all search sizes)
              out track_<X>/scores:0      [N]     foreground probability per anchor, N = S * S * k
              out track_<X>/boxes:0       [N, 4]  decoded cx,cy,w,h in the anchor frame (search-crop pixels, offsets
                                                  from the crop centre)
              out track_<X>/anchors:0     [N, 4]  the anchors (a constant), cx,cy,w,h anchor frame
Anchor n = (y * S + x) * k + a (cell row y, column x, ratio/scale a), S = (X - 127) / 8 + 1 (19 at 271, 21 at 287).

Numerics: once the BN statistics are constants, Grappler's remapper fuses Conv2D + BatchNorm by folding the BN into
the conv weights, which moves outputs by ~1e-6 relative (the kernels) and lets tracked boxes of untrained weights
drift by up to ~3e-3 pixels. The loader turns the remapper off unless the session config sets it, so the exported
graphs run the same arithmetic as the Python tracker and give the same boxes (measured: identical); its speed was
the same within noise (benchmarks/bench_exported.py).
"""

import hashlib
import os

import numpy as np
import tensorflow as tf
from google.protobuf.message import DecodeError
from tensorflow.core.protobuf import rewriter_config_pb2

from inference.subwindow import batch_of_one
from utils import runtime
from utils.io_utils import read_json
from utils.template_names import FUSED_TEMPLATE, SEPARATE_TEMPLATE

FORMAT = 'siamrpn-tf-export'
VERSION = 2  # 2: the template outputs are named by the manifest ('fused_kernel', 'fused_bias' by default)
MANIFEST = 'manifest.json'
SAVED_MODEL_DIR = 'saved_model'
SAVED_MODEL_TAGS = ('serve',)
TEMPLATE = 'template'


def track_key(instance_size):
    """Name of the track step at a search size: graph file '<key>.pb' and SavedModel signature, e.g. 'track_271'."""
    return 'track_%d' % instance_size


def graph_file(key):
    """File name of a step's frozen GraphDef ('template.pb', 'track_271.pb')."""
    return key + '.pb'


def template_tensor_names(template=FUSED_TEMPLATE):
    """{'inputs': {exemplar}, 'outputs': {name: 'template/<name>:0'}} tensor names of the template step, for the
    template output names `template` (FUSED_TEMPLATE or SEPARATE_TEMPLATE)."""
    return {'inputs': {'exemplar': 'template/exemplar:0'},
            'outputs': {name: 'template/%s:0' % name for name in template}}


def track_tensor_names(instance_size, template=FUSED_TEMPLATE):
    """{'inputs': {instance, <template names>}, 'outputs': {scores, boxes, anchors}} tensor names of the track step
    at `instance_size` (the template inputs 'track/<name>:0' are shared by all sizes)."""
    key = track_key(instance_size)
    inputs = {'instance': key + '/instance:0'}
    inputs.update({name: 'track/%s:0' % name for name in template})
    return {'inputs': inputs,
            'outputs': {'scores': key + '/scores:0', 'boxes': key + '/boxes:0', 'anchors': key + '/anchors:0'}}


def search_head(template):
    """'fused' or 'separate': the kind of search head whose template outputs are named `template`."""
    return 'fused' if sorted(template) == sorted(FUSED_TEMPLATE) else 'separate'


def op_name(tensor_name):
    """'scope/name:0' -> 'scope/name'."""
    return tensor_name.rsplit(':', 1)[0]


def sha256_file(path, chunk=1 << 20):
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, 'rb') as handle:
        for block in iter(lambda: handle.read(chunk), b''):
            digest.update(block)
    return digest.hexdigest()


def read_manifest(export_dir):
    """Reads and checks `export_dir`/manifest.json -> the manifest dict; errors name the directory, file or field."""
    if not os.path.isdir(export_dir):
        raise IOError('export directory not found: %s' % export_dir)
    path = os.path.join(export_dir, MANIFEST)
    if not os.path.isfile(path):
        raise IOError('%s is not an exported tracker: it lacks %s (write one with scripts/export_inference_graph.py '
                      '--checkpoint DIR --output %s)' % (export_dir, MANIFEST, export_dir))
    manifest = read_json(path)
    if not isinstance(manifest, dict) or manifest.get('format') != FORMAT:
        found = manifest.get('format') if isinstance(manifest, dict) else type(manifest).__name__
        raise ValueError('%s: expected "format": "%s", got %r' % (path, FORMAT, found))
    version = manifest.get('version')
    if not isinstance(version, int) or not 1 <= version <= VERSION:
        raise ValueError('%s: version %r is not supported by this loader (it reads versions 1 to %d)'
                         % (path, version, VERSION))
    for field in ('exemplar_size', 'instance_sizes', 'num_anchors', 'graphs', 'track_config'):
        if field not in manifest:
            raise ValueError('%s lacks the field "%s"' % (path, field))
    sizes, graphs = manifest['instance_sizes'], manifest['graphs']
    if not isinstance(sizes, list) or not sizes or not all(isinstance(s, int) for s in sizes):
        raise ValueError('%s: "instance_sizes" must be a non-empty list of search sizes, got %r' % (path, sizes))
    if not isinstance(graphs, dict):
        raise ValueError('%s: "graphs" must be an object, got %r' % (path, graphs))
    for key in [TEMPLATE] + [track_key(size) for size in sizes]:
        entry = graphs.get(key)
        fields = {'file', 'inputs', 'outputs'} | (set() if key == TEMPLATE else {'score_size'})
        if not isinstance(entry, dict) or not fields <= set(entry):
            raise ValueError('%s: graphs["%s"] must give %s, got %r'
                             % (path, key, ', '.join('"%s"' % f for f in sorted(fields)), entry))
    template = sorted(graphs[TEMPLATE]['outputs'])
    if template not in (sorted(FUSED_TEMPLATE), sorted(SEPARATE_TEMPLATE)):
        raise ValueError('%s: the template graph\'s outputs must be %s or %s, got %s'
                         % (path, sorted(FUSED_TEMPLATE), sorted(SEPARATE_TEMPLATE), template))
    for size in sizes:
        inputs = sorted(set(graphs[track_key(size)]['inputs']) - {'instance'})
        if 'instance' not in graphs[track_key(size)]['inputs'] or inputs != template:
            raise ValueError('%s: graphs["%s"] must take "instance" and the template outputs %s, got inputs %s'
                             % (path, track_key(size), template, sorted(graphs[track_key(size)]['inputs'])))
    return manifest


def load_graph_def(export_dir, entry):
    """Reads the frozen GraphDef of a manifest graph entry, checking its presence, size and SHA-256."""
    path = os.path.join(export_dir, entry['file'])
    if not os.path.isfile(path):
        raise IOError('the export %s lacks %s (listed in its %s); export again with scripts/export_inference_graph.py'
                      % (export_dir, entry['file'], MANIFEST))
    if 'sha256' in entry and sha256_file(path) != entry['sha256']:
        raise ValueError('%s does not match the SHA-256 in %s: the file is damaged or from another export'
                         % (path, MANIFEST))
    graph_def = tf.GraphDef()
    with open(path, 'rb') as handle:
        try:
            graph_def.ParseFromString(handle.read())
        except DecodeError as error:
            raise ValueError('%s is not a GraphDef: %s' % (path, error))
    return graph_def


def parity_session_config(session_config=None):
    """A copy of `session_config` (default utils.runtime.session_config(): the project's threading) with Grappler's
    remapper off unless it sets it, so the frozen graphs compute exactly what the variable graph of the Python
    tracker computes (module docstring)."""
    config = runtime.session_config(base=session_config)
    rewrite_options = config.graph_options.rewrite_options
    if rewrite_options.remapping == rewriter_config_pb2.RewriterConfig.DEFAULT:
        rewrite_options.remapping = rewriter_config_pb2.RewriterConfig.OFF
    return config


class ExportedBackend(object):
    """The tracker's network backend on the exported frozen graphs, all imported into one graph and one session.

    Backend interface (inference/tracker.py): exemplar_size, instance_sizes, score_sizes {X: S}, num_anchors,
    set_template(exemplar_crop), detect(instance_crop) -> (scores [N], boxes [N, 4]), close(). The template step's
    outputs are kept as arrays (`template`) between set_template and detect and fed to each track step.
    """

    def __init__(self, export_dir, instance_sizes=None, session_config=None):
        """
        Args:
          export_dir: a directory written by scripts/export_inference_graph.py.
          instance_sizes: search sizes to load (default: all exported ones); each must have been exported.
          session_config: tf.ConfigProto for the session; its remapper is turned off unless it sets it (see the
            module docstring: set rewrite_options.remapping to ON for TF's default rewrites).
        """
        self.export_dir = export_dir
        self.manifest = manifest = read_manifest(export_dir)
        exported = tuple(sorted(int(s) for s in manifest['instance_sizes']))
        sizes = exported if instance_sizes is None else tuple(sorted(set(int(s) for s in instance_sizes)))
        missing = [s for s in sizes if s not in exported]
        if missing:
            raise ValueError('the export %s has no track graph for search size %s (exported: %s); export again with '
                             '--instance-sizes %s' % (export_dir, ', '.join(map(str, missing)),
                                                      ', '.join(map(str, exported)),
                                                      ' '.join(map(str, sorted(set(exported + sizes))))))
        self.exemplar_size = int(manifest['exemplar_size'])
        self.instance_sizes = sizes
        self.num_anchors = int(manifest['num_anchors'])
        self.score_sizes = {s: int(manifest['graphs'][track_key(s)]['score_size']) for s in sizes}
        graph = tf.Graph()
        with graph.as_default():
            self.template_inputs, self.template_outputs = self._import(TEMPLATE)
            self.track_inputs, self.track_outputs = {}, {}
            for size in sizes:
                self.track_inputs[size], self.track_outputs[size] = self._import(track_key(size))
        graph.finalize()
        self.session = tf.Session(graph=graph, config=parity_session_config(session_config))
        self.template = None

    def _import(self, key):
        """Imports graph `key` under the name scope `key` -> ({input: tensor}, {output: tensor})."""
        entry = self.manifest['graphs'][key]
        graph_def = load_graph_def(self.export_dir, entry)
        inputs, outputs = sorted(entry['inputs']), sorted(entry['outputs'])
        names = [entry['inputs'][k]['name'] for k in inputs] + [entry['outputs'][k]['name'] for k in outputs]
        try:
            tensors = tf.import_graph_def(graph_def, return_elements=names, name=key)
        except ValueError as error:
            raise ValueError('%s does not hold the tensors its manifest names (%s): %s'
                             % (os.path.join(self.export_dir, entry['file']), ', '.join(names), error))
        return dict(zip(inputs, tensors[:len(inputs)])), dict(zip(outputs, tensors[len(inputs):]))

    def set_template(self, exemplar_crop):
        """[z, z, 3] uint8 (or float) BGR exemplar crop -> template arrays kept for the following detect calls."""
        crop = batch_of_one(exemplar_crop, self.exemplar_size).astype(np.float32)
        self.template = self.session.run(self.template_outputs, {self.template_inputs['exemplar']: crop})

    def detect(self, instance_crop):
        """[X, X, 3] uint8 (or float) BGR search crop -> (scores [N], boxes [N, 4] anchor frame); one session.run."""
        if self.template is None:
            raise RuntimeError('detect() called before set_template()')
        size = np.shape(instance_crop)[0]
        if size not in self.track_inputs:
            raise ValueError('no track graph for a %d-pixel search crop; loaded %s' % (size, self.instance_sizes))
        inputs, outputs = self.track_inputs[size], self.track_outputs[size]
        feed = {inputs[name]: value for name, value in self.template.items()}
        feed[inputs['instance']] = batch_of_one(instance_crop, size).astype(np.float32)
        return self.session.run((outputs['scores'], outputs['boxes']), feed)

    def close(self):
        """Closes the session."""
        if self.session is not None:
            self.session.close()
            self.session = None
