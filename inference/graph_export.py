"""Exports the tracker's network as frozen GraphDefs, a SavedModel and a JSON manifest (export_inference_graph.py).

  manifest = export_inference_graph('Logs/SiamRPN/pretrained/otb', 'exports/otb')
  # load: SiamRPNTracker.from_exported('exports/otb') or inference.exported.ExportedBackend

The graphs are InferenceWrapper's (the tracker's own build steps, kernels='inputs'): the template step outputs the
kernels and each track step takes them as inputs, since a frozen graph cannot keep per-video state in variables.
One graph holds every step; freezing turns its variables into constants and each step's GraphDef is the part of it
its outputs need. The SavedModel holds the same graph with the variables. The directory layout and the tensor names
are documented in inference/exported.py and in the README ("Exporting the tracker").
"""

import datetime
import os

import tensorflow as tf

from inference.exported import (FORMAT, MANIFEST, SAVED_MODEL_DIR, SAVED_MODEL_TAGS, TEMPLATE, VERSION, graph_file,
                                op_name, search_head, sha256_file, track_key)
from inference.inference_wrapper import load_wrapper
from inference.speed_choice import conv_algorithm
from inference.tracker import required_instance_sizes, resolve_track_config
from utils.anchors import score_size
from utils.checkpoints import checkpoint_step, read_configs, resolve_checkpoint
from utils.io_utils import atomic_directory, write_json

# DaSiamRPN's post-processing as implemented in inference/tracker.py and inference/subwindow.py, for consumers that
# re-implement the tracker around the exported graphs (written into the manifest).
POST_PROCESSING = {
    'boxes': '0-based continuous x,y,w,h frame pixels (pixel i covers [i, i+1)); pos = (x + w/2, y + h/2)',
    'template_crop': 'p = context_amount * (w + h), s_z = round(sqrt((w + p) * (h + p))); crop side s_z around pos '
                     '(c = (s_z + 1) / 2, xmin = round(pos_x - c), pixels xmin .. xmin + s_z - 1, same for y; round '
                     'halves away from zero), pixels outside the frame = the first frame\'s per-channel mean '
                     'truncated to uint8, resized to exemplar_size with bilinear interpolation in uint8',
    'search_size': 'instance_size; adaptive_instance_size instead when adaptive and w * h < small_target_ratio * '
                   'frame width * frame height at init',
    'search_crop': 's_z = sqrt((w + p) * (h + p)) (not rounded), scale_z = exemplar_size / s_z, s_x = s_z + 2 * '
                   '((X - exemplar_size) / 2) / scale_z; crop side round(s_x) around the previous pos as above, '
                   'resized to X',
    'window': "cosine: outer(hanning(S), hanning(S)) (hanning(S)[n] = 0.5 - 0.5 cos(2 pi n / (S - 1))), flattened "
              "row-major, each value repeated k times (anchor order (y, x, a)); uniform: ones",
    'penalty': 'target = (w, h) * scale_z, sz(a, b) = sqrt((a + (a + b) / 2) * (b + (a + b) / 2)); '
               's_c = max(r, 1 / r), r = sz(box w, box h) / sz(target); r_c = max(q, 1 / q), q = (target w / target '
               'h) / (box w / box h); penalty = exp(-(r_c * s_c - 1) * penalty_k)',
    'choice': 'pscore = penalty * score * (1 - window_influence) + window * window_influence; best = argmax of pscore '
              'over anchors whose box is finite with w, h > 0 (none: keep the previous box)',
    'update': 'pos += boxes[best][0:2] / scale_z; rate = penalty[best] * scores[best] * lr; '
              'size = size * (1 - rate) + boxes[best][2:4] / scale_z * rate',
    'clamp': 'pos x in [0, frame width], y in [0, frame height]; w in [min_size, frame width], '
             'h in [min_size, frame height]',
}


def export_inference_graph(checkpoint_dir, output_dir, checkpoint_path=None, instance_sizes=(), track_config=None,
                           preset=None, overwrite=False, session_config=None):
    """Writes the export directory for a checkpoint directory -> the manifest written.

    Args:
      checkpoint_dir: a checkpoint directory (TF checkpoint + model_config.json, track_config.json).
      output_dir: the export directory; written atomically (staged beside it, renamed in when complete).
      checkpoint_path: a checkpoint inside checkpoint_dir (e.g. 'model.ckpt-2000'); default the latest.
      instance_sizes: search sizes to export besides those the track config needs (271, + 287 when adaptive).
      track_config, preset: tracker config instead of the directory's, and a preset applied on top; stored in the
        manifest as the tracker's default.
      overwrite: replace an existing export in output_dir (a non-empty directory that is not an export is never
        replaced).
    """
    model_config, _, saved_track_config = read_configs(checkpoint_dir)
    path = resolve_checkpoint(checkpoint_dir, checkpoint_path)
    config = resolve_track_config(saved_track_config, track_config, preset)
    sizes = tuple(sorted(set(required_instance_sizes(config)) | set(int(s) for s in instance_sizes)))
    for size in sizes:
        try:
            score_size(size, model_config['z_image_size'], model_config['embed_config']['stride'])
        except ValueError as error:
            raise ValueError('cannot export search size %d: %s' % (size, error))
    _check_output_dir(output_dir, overwrite)
    wrapper, session = load_wrapper(model_config, path, sizes, kernels='inputs', session_config=session_config,
                                    fold_batch_norm=config['fold_batch_norm'],
                                    conv_algorithm=conv_algorithm(config))  # as the Python tracker computes
    with session, atomic_directory(output_dir, overwrite=overwrite) as staging:
        graphs = write_frozen_graphs(wrapper, session, staging)
        signatures = write_saved_model(wrapper, session, os.path.join(staging, SAVED_MODEL_DIR))
        manifest = build_manifest(wrapper, graphs, signatures, model_config, config, path)
        write_json(os.path.join(staging, MANIFEST), manifest)
    return manifest


def _check_output_dir(output_dir, overwrite):
    """Refuses an existing non-empty output_dir unless overwrite, and never replaces one that is not an export."""
    if not os.path.isdir(output_dir):
        if os.path.lexists(output_dir):
            raise IOError('%s exists and is not a directory' % output_dir)
        return
    if not os.listdir(output_dir):
        return
    is_export = os.path.isfile(os.path.join(output_dir, MANIFEST))
    if not overwrite:
        raise IOError('%s already %s; choose another directory or pass --overwrite'
                      % (output_dir, 'holds an export' if is_export else 'exists and is not empty'))
    if not is_export:
        raise IOError('%s is not an export directory (it has no %s): refusing to replace it'
                      % (output_dir, MANIFEST))


def _step_tensors(wrapper):
    """{step key: ({input: tensor}, {output: tensor})} of a kernels='inputs' InferenceWrapper."""
    steps = {TEMPLATE: ({'exemplar': wrapper.exemplar_input}, wrapper.template_outputs)}
    for size in wrapper.instance_sizes:
        inputs = {'instance': wrapper.instance_inputs[size]}
        inputs.update(wrapper.template)
        steps[track_key(size)] = (inputs, wrapper.track_outputs[size])
    return steps


def write_frozen_graphs(wrapper, session, directory):
    """Freezes the restored graph and writes one GraphDef per step -> {key: manifest entry (file, bytes, sha256,
    inputs, outputs; instance_size, score_size, num_boxes for track steps)}."""
    steps = _step_tensors(wrapper)
    outputs = sorted({op_name(t.name) for _, step_outputs in steps.values() for t in step_outputs.values()})
    frozen = tf.graph_util.convert_variables_to_constants(session, session.graph.as_graph_def(), outputs)
    entries = {}
    for key, (inputs, step_outputs) in sorted(steps.items()):
        graph_def = tf.graph_util.extract_sub_graph(frozen, sorted(op_name(t.name) for t in step_outputs.values()))
        for node in graph_def.node:
            node.device = ''
        path = os.path.join(directory, graph_file(key))
        with open(path, 'wb') as handle:
            handle.write(graph_def.SerializeToString())
        entry = {'file': graph_file(key), 'bytes': os.path.getsize(path), 'sha256': sha256_file(path),
                 'inputs': {name: tensor_spec(t) for name, t in inputs.items()},
                 'outputs': {name: tensor_spec(t) for name, t in step_outputs.items()}}
        if key != TEMPLATE:
            size = int(inputs['instance'].get_shape()[1])
            entry.update({'instance_size': size, 'score_size': wrapper.score_sizes[size],
                          'num_boxes': int(step_outputs['scores'].get_shape()[0])})
        entries[key] = entry
    return entries


def write_saved_model(wrapper, session, directory):
    """Writes a SavedModel (tag 'serve', the model variables) with one signature per step -> {signature: {inputs,
    outputs: {name: tensor name}}}."""
    builder = tf.saved_model.builder.SavedModelBuilder(directory)
    signature_defs, signatures = {}, {}
    for key, (inputs, outputs) in sorted(_step_tensors(wrapper).items()):
        signature_defs[key] = tf.saved_model.signature_def_utils.predict_signature_def(inputs, outputs)
        signatures[key] = {'inputs': {name: t.name for name, t in inputs.items()},
                           'outputs': {name: t.name for name, t in outputs.items()}}
    with session.graph.as_default():
        saver = tf.train.Saver(wrapper.model_variables, sharded=True)
        builder.add_meta_graph_and_variables(session, list(SAVED_MODEL_TAGS), signature_def_map=signature_defs,
                                             saver=saver, strip_default_attrs=True)
    builder.save()
    return signatures


def tensor_spec(tensor):
    """{'name', 'shape', 'dtype'} of a tensor, for the manifest."""
    return {'name': tensor.name, 'shape': tensor.get_shape().as_list(), 'dtype': tensor.dtype.name}


def directory_bytes(directory):
    """Total size of the files under a directory."""
    return sum(os.path.getsize(os.path.join(root, name)) for root, _, names in os.walk(directory) for name in names)


def build_manifest(wrapper, graphs, signatures, model_config, track_config, checkpoint_path):
    """The manifest.json dict: everything a consumer needs to run the tracker on the exported files."""
    rpn = model_config['rpn_config']
    return {
        'format': FORMAT,
        'version': VERSION,
        'exporter': {'script': 'scripts/export_inference_graph.py', 'tensorflow_version': tf.__version__,
                     'created': datetime.datetime.utcnow().replace(microsecond=0).isoformat() + 'Z'},
        'checkpoint': {'path': os.path.abspath(checkpoint_path), 'global_step': checkpoint_step(checkpoint_path)},
        'image_format': 'NHWC batch of 1, BGR channel order, float32 values in [0, 255] (OpenCV uint8 crops cast to '
                        'float; no mean or scale normalisation)',
        'exemplar_size': wrapper.exemplar_size,
        'instance_sizes': list(wrapper.instance_sizes),
        'num_anchors': wrapper.num_anchors,
        'search_head': search_head(wrapper.template),
        'conv_algorithm': wrapper.conv_algorithm,
        'anchors': {'stride': model_config['embed_config']['stride'], 'ratios': rpn['anchor_ratios'],
                    'scales': rpn['anchor_scales'],
                    'order': 'n = (y * S + x) * k + a: score-map row y, column x, anchor a (ratio-major, then scale)',
                    'frame': 'cx,cy,w,h in search-crop pixels, cx,cy relative to the crop centre (X / 2); cell (y, x) '
                             'is centred at ((x - S // 2) * stride, (y - S // 2) * stride)',
                    'shape': 'ws = int(sqrt(stride^2 / ratio)), hs = int(ws * ratio), times the scale'},
        'graphs': graphs,
        'saved_model': {'dir': SAVED_MODEL_DIR, 'tags': list(SAVED_MODEL_TAGS), 'signatures': signatures},
        'post_processing': POST_PROCESSING,
        'track_config': track_config,
        'model_config': model_config,
    }
