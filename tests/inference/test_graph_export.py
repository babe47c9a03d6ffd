"""Tests of the export: documented tensor names and shapes, self-contained frozen steps, SavedModel, manifest."""

import os
import shutil

import numpy as np
import pytest
import tensorflow as tf

import configuration
from datasets import synthetic_sequence
from inference.checkpoint_io import save_random_checkpoint_dir
from inference.exported import (SAVED_MODEL_DIR, ExportedBackend, load_graph_def, read_manifest, sha256_file,
                                template_tensor_names, track_tensor_names)
from inference.graph_export import export_inference_graph
from inference.inference_wrapper import WrapperBackend
from tests.conftest import tiny_model_config
from tests.helpers import cpu_session
from utils.anchors import generate_anchors
from utils.checkpoints import read_configs, resolve_checkpoint
from utils.io_utils import read_json, write_json
from utils.template_names import SEPARATE_TEMPLATE

VARIABLE_OPS = {'VariableV2', 'Variable', 'VarHandleOp', 'ReadVariableOp', 'Assign', 'AssignVariableOp'}


def test_manifest_documents_names_shapes_files_and_configs(random_checkpoint_dir, random_export_dirs):
    export_dir = random_export_dirs['big']
    manifest = read_manifest(export_dir)
    model_config, _, _ = read_configs(random_checkpoint_dir)
    assert manifest['instance_sizes'] == [271, 287] and manifest['exemplar_size'] == 127
    assert manifest['num_anchors'] == 5 and manifest['model_config'] == model_config
    assert manifest['track_config']['preset'] == 'big' and manifest['track_config']['adaptive']
    assert manifest['checkpoint'] == {'path': resolve_checkpoint(random_checkpoint_dir), 'global_step': 0}
    assert sorted(manifest['graphs']) == ['template', 'track_271', 'track_287']
    cin, k = 64, 5
    template = manifest['graphs']['template']
    names = template_tensor_names()
    assert {key: spec['name'] for key, spec in template['inputs'].items()} == names['inputs']
    assert {key: spec['name'] for key, spec in template['outputs'].items()} == names['outputs']
    assert template['inputs']['exemplar']['shape'] == [1, 127, 127, 3]
    assert template['inputs']['exemplar']['dtype'] == 'float32'
    assert manifest['search_head'] == 'fused' and manifest['version'] == 2
    assert template['outputs']['fused_kernel']['shape'] == [1, 6, 6, cin, 6 * k]
    assert template['outputs']['fused_bias']['shape'] == [1, 6 * k]
    for size, score_size in ((271, 19), (287, 21)):
        entry = manifest['graphs']['track_%d' % size]
        names = track_tensor_names(size)
        assert {key: spec['name'] for key, spec in entry['inputs'].items()} == names['inputs']
        assert {key: spec['name'] for key, spec in entry['outputs'].items()} == names['outputs']
        n = score_size * score_size * k
        assert (entry['instance_size'], entry['score_size'], entry['num_boxes']) == (size, score_size, n)
        assert entry['inputs']['instance']['shape'] == [1, size, size, 3]
        assert entry['inputs']['fused_kernel']['shape'] == [1, 6, 6, cin, 6 * k]
        assert [entry['outputs'][key]['shape'] for key in ('scores', 'boxes', 'anchors')] == [[n], [n, 4], [n, 4]]
    for entry in manifest['graphs'].values():
        path = os.path.join(export_dir, entry['file'])
        assert entry['bytes'] == os.path.getsize(path) and entry['sha256'] == sha256_file(path)
    assert set(manifest['saved_model']['signatures']) == {'template', 'track_271', 'track_287'}
    assert set(manifest['post_processing']) >= {'template_crop', 'search_crop', 'window', 'penalty', 'choice',
                                                'update', 'clamp'}


@pytest.mark.parametrize('key', ['template', 'track_271', 'track_287'])
def test_each_frozen_step_holds_only_its_own_inputs_and_no_variables(random_export_dirs, key):
    export_dir = random_export_dirs['big']
    entry = read_manifest(export_dir)['graphs'][key]
    graph_def = load_graph_def(export_dir, entry)
    ops = {node.op for node in graph_def.node}
    assert not ops & VARIABLE_OPS
    placeholders = {node.name + ':0' for node in graph_def.node if node.op == 'Placeholder'}
    assert placeholders == {spec['name'] for spec in entry['inputs'].values()}
    assert all(not node.device for node in graph_def.node)
    # the track graphs are the search embedding and the fused 6x6 conv only: no head convs, no other size's input;
    # the template graph composes conv_cls2/conv_r2/regress_adjust with the kernels of conv_cls1/conv_r1
    names = {node.name for node in graph_def.node}
    for conv in ('conv_cls1', 'conv_r1', 'conv_cls2', 'conv_r2', 'regress_adjust'):
        assert any(conv in name for name in names) == (key == 'template')
    assert any('fused_search_head' in name for name in names) == (key != 'template')


def test_saved_model_signatures_reproduce_the_python_model(random_checkpoint_dir, random_export_dirs):
    export_dir = random_export_dirs['big']
    model_config, _, _ = read_configs(random_checkpoint_dir)
    reference = WrapperBackend.from_checkpoint(model_config, resolve_checkpoint(random_checkpoint_dir), (271, 287))
    frame = synthetic_sequence.frame(2)
    exemplar = frame[40:167, 60:187].copy()
    searches = {271: np.tile(frame, (2, 2, 1))[:271, :271].copy(), 287: np.tile(frame, (2, 2, 1))[:287, 5:292].copy()}
    try:
        with tf.Graph().as_default() as graph, cpu_session(graph) as sess:
            meta_graph = tf.saved_model.loader.load(sess, ['serve'], os.path.join(export_dir, SAVED_MODEL_DIR))
            signatures = meta_graph.signature_def
            assert set(signatures) == {'template', 'track_271', 'track_287'}

            def run(name, feeds):
                signature = signatures[name]
                outputs = sorted(signature.outputs)
                values = sess.run([signature.outputs[key].name for key in outputs],
                                  {signature.inputs[key].name: value for key, value in feeds.items()})
                return dict(zip(outputs, values))

            kernels = run('template', {'exemplar': exemplar[None].astype(np.float32)})
            assert sorted(kernels) == ['fused_bias', 'fused_kernel']
            reference.set_template(exemplar)
            expected_kernels = reference.session.run(dict(reference.wrapper.template))
            for name in kernels:
                np.testing.assert_allclose(kernels[name], expected_kernels[name], rtol=1e-6, atol=1e-6)
            for size, search in searches.items():
                outputs = run('track_%d' % size, dict(kernels, instance=search[None].astype(np.float32)))
                scores, boxes = reference.detect(search)
                np.testing.assert_allclose(outputs['scores'], scores, rtol=1e-5, atol=1e-6)
                np.testing.assert_allclose(outputs['boxes'], boxes, rtol=1e-5, atol=1e-4)
                score_size = (size - 127) // 8 + 1
                np.testing.assert_array_equal(outputs['anchors'],
                                              generate_anchors(8, [0.33, 0.5, 1, 2, 3], [8], score_size))
    finally:
        reference.close()


def test_export_options_and_refusals(tmp_path, random_checkpoint_dir, random_export_dirs):
    output = str(tmp_path / 'export')
    manifest = export_inference_graph(random_checkpoint_dir, output, checkpoint_path='model.ckpt-0',
                                      instance_sizes=(255, 271))
    assert manifest['instance_sizes'] == [255, 271] and manifest['track_config']['preset'] == 'otb'
    assert sorted(os.listdir(output)) == ['manifest.json', 'saved_model', 'template.pb', 'track_255.pb',
                                          'track_271.pb']
    assert sorted(os.listdir(str(tmp_path))) == ['export']  # no staging folder left
    with pytest.raises(IOError, match='already holds an export; choose another directory or pass --overwrite'):
        export_inference_graph(random_checkpoint_dir, output)
    manifest = export_inference_graph(random_checkpoint_dir, output, overwrite=True)
    assert manifest['instance_sizes'] == [271] and not os.path.exists(os.path.join(output, 'track_255.pb'))
    with pytest.raises(IOError, match='is not an export directory .*: refusing to replace it'):
        export_inference_graph(random_checkpoint_dir, random_checkpoint_dir, overwrite=True)
    with pytest.raises(ValueError, match='cannot export search size 270: .*multiple of the stride 8'):
        export_inference_graph(random_checkpoint_dir, str(tmp_path / 'other'), instance_sizes=(270,))
    with pytest.raises(IOError, match='model.ckpt-9 not found'):
        export_inference_graph(random_checkpoint_dir, str(tmp_path / 'other'), checkpoint_path='model.ckpt-9')
    assert sorted(os.listdir(str(tmp_path))) == ['export']


def test_tiny_width_export_names_are_stable(tmp_path):
    """Another width, C and order of the search sizes give the same tensor names (nothing is uniquified)."""
    checkpoint_dir = str(tmp_path / 'tiny')
    save_random_checkpoint_dir(checkpoint_dir, tiny_model_config(), configuration.track_config_for('otb'), seed=1)
    manifest = export_inference_graph(checkpoint_dir, str(tmp_path / 'export'), instance_sizes=(303, 255))
    assert manifest['instance_sizes'] == [255, 271, 303]
    for size in manifest['instance_sizes']:
        entry = manifest['graphs']['track_%d' % size]
        assert {key: spec['name'] for key, spec in entry['outputs'].items()} == track_tensor_names(size)['outputs']
    assert manifest['graphs']['template']['outputs']['fused_kernel']['shape'] == [1, 6, 6, 16, 30]



def test_separate_head_export_and_version_1_manifests_load_and_equal_the_fused_export(tmp_path, random_checkpoint_dir,
                                                                                     random_export_dirs):
    """rpn_config.fused_search_head false exports the correlation kernels (the version-1 layout); the loader reads it,
    also when its manifest says version 1, and its outputs equal the default fused export's to 1e-4 relative."""
    checkpoint_dir = str(tmp_path / 'separate-checkpoint')
    shutil.copytree(random_checkpoint_dir, checkpoint_dir)
    model_config = read_json(os.path.join(checkpoint_dir, 'model_config.json'))
    model_config['rpn_config']['fused_search_head'] = False
    write_json(os.path.join(checkpoint_dir, 'model_config.json'), model_config)
    output = str(tmp_path / 'separate')
    manifest = export_inference_graph(checkpoint_dir, output)
    assert manifest['search_head'] == 'separate'
    template = manifest['graphs']['template']['outputs']
    assert {key: spec['name'] for key, spec in template.items()} == \
        template_tensor_names(SEPARATE_TEMPLATE)['outputs']
    assert template['cls_kernels']['shape'] == [1, 4, 4, 32, 10]
    assert template['reg_kernels']['shape'] == [1, 4, 4, 32, 20]
    manifest['version'] = 1
    del manifest['search_head']
    write_json(os.path.join(output, 'manifest.json'), manifest)
    frame = synthetic_sequence.frame(3)
    exemplar, search = frame[30:157, 50:177].copy(), np.tile(frame, (2, 2, 1))[:271, :271].copy()
    results = []
    for export_dir in (output, random_export_dirs['otb']):
        backend = ExportedBackend(export_dir)
        try:
            backend.set_template(exemplar)
            results.append(backend.detect(search))
        finally:
            backend.close()
    (scores, boxes), (fused_scores, fused_boxes) = results
    assert np.abs(fused_scores - scores).max() <= 1e-4 * np.abs(scores).max()
    finite = np.isfinite(boxes).all(axis=1) & (np.abs(boxes) < 1e4).all(axis=1)
    assert finite.sum() > 0.5 * len(boxes)
    assert np.abs(fused_boxes[finite] - boxes[finite]).max() <= 1e-4 * np.abs(boxes[finite]).max()
