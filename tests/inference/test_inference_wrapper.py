"""Tests of the inference graph: it equals the training graph on the same crops and weights."""

import copy

import numpy as np
import pytest
import tensorflow as tf

import configuration
from inference.inference_wrapper import InferenceWrapper, load_wrapper
from siamese_model import SiameseModel
from tests.conftest import tiny_model_config
from tests.helpers import cpu_session, make_pairs, textured_background
from utils.checkpoints import read_configs, resolve_checkpoint


def training_graph_outputs(model_config, checkpoint, exemplars, instances, boxes):
    """Scores, boxes and raw maps of the training graph's 'validation' model, sharing the 'train' variables."""
    with tf.Graph().as_default() as graph:
        batch = {'exemplar': tf.constant(exemplars), 'instance': tf.constant(instances),
                 'instance_box': tf.constant(boxes)}
        SiameseModel(model_config, configuration.TRAIN_CONFIG, 'train', inputs=batch).build()
        validation = SiameseModel(model_config, configuration.TRAIN_CONFIG, 'validation', inputs=batch)
        validation.build(reuse=True)
        with cpu_session(graph) as sess:
            tf.train.Saver([v for v in tf.global_variables() if v.op.name.startswith(('siamrpn', 'rpn_head'))]) \
                .restore(sess, checkpoint)
            return sess.run([validation.scores, validation.boxes, validation.cls_logits, validation.reg_deltas])


def test_inference_graph_equals_training_graph(random_checkpoint_dir):
    """Batch of 3 pairs through the training graph (map_fn correlation) vs one pair at a time through the
    tracker's template and track steps (direct conv with stored kernels)."""
    model_config, _, _ = read_configs(random_checkpoint_dir)
    checkpoint = resolve_checkpoint(random_checkpoint_dir)
    exemplars, instances, boxes = make_pairs(3, seed=4)
    exemplars, instances = np.round(exemplars), np.round(instances)  # the tracker feeds uint8 crops
    expected = training_graph_outputs(model_config, checkpoint, exemplars, instances, boxes)
    with tf.Graph().as_default() as graph:
        wrapper = InferenceWrapper(model_config, (255,)).build_graph()
        model = wrapper.models[255]
        with cpu_session(graph) as sess:
            wrapper.restore(sess, checkpoint)
            wrapper.initialize(sess)
            for index in range(3):
                wrapper.set_template(sess, exemplars[index].astype(np.uint8))
                scores, decoded = wrapper.detect(sess, instances[index].astype(np.uint8))
                logits, deltas = sess.run((model.cls_logits, model.reg_deltas),
                                          {wrapper.instance_inputs[255]: instances[index:index + 1].astype(np.uint8)})
                np.testing.assert_allclose(logits[0], expected[2][index], rtol=1e-4, atol=1e-4 *
                                           np.abs(expected[2]).max())
                np.testing.assert_allclose(deltas[0], expected[3][index], rtol=1e-4, atol=1e-4 *
                                           np.abs(expected[3]).max())
                # softmax of logits equal to 1e-4 relative: under intel-tensorflow (oneDNN's conv rounding, and the
                # fused head's other summation order) one score of 1445 moved by 5.3e-5
                np.testing.assert_allclose(scores, expected[0][index], atol=1e-4)
                # w, h = exp(delta) * anchor: a delta within its tolerance (1e-4 of the largest delta) moves a box
                # by that much relatively (intel-tensorflow: 1e-3 on an untrained box of 8.5e5 px)
                np.testing.assert_allclose(decoded, expected[1][index], atol=1e-3,
                                           rtol=1e-4 + 1e-4 * np.abs(expected[3]).max())
    assert scores.shape == (17 * 17 * 5,) and decoded.shape == (17 * 17 * 5, 4)


def test_graph_has_one_track_step_per_size_sharing_weights(graph):
    wrapper = InferenceWrapper(tiny_model_config(), (287, 271)).build_graph()
    assert wrapper.instance_sizes == (271, 287)
    assert wrapper.score_sizes == {271: 19, 287: 21}
    assert wrapper.scores[287].get_shape().as_list() == [21 * 21 * 5]
    assert len(tf.trainable_variables()) == 5 * 4 + 5 * 2  # one set of weights for both sizes
    assert {v.op.name for v in tf.local_variables()} == {'template/fused_kernel', 'template/fused_bias'}
    assert wrapper.template['fused_kernel'].get_shape().as_list() == [1, 6, 6, 16, 30]
    np.testing.assert_array_equal(wrapper.anchors[271][:5, :2], -9 * 8)


def test_wrong_crops_and_checkpoints_get_clear_errors(tmp_path, random_checkpoint_dir):
    model_config, _, _ = read_configs(random_checkpoint_dir)
    with tf.Graph().as_default() as graph:
        wrapper = InferenceWrapper(model_config, (271,)).build_graph()
        with cpu_session(graph) as sess:
            wrapper.restore(sess, resolve_checkpoint(random_checkpoint_dir))
            wrapper.initialize(sess)
            with pytest.raises(ValueError, match='127x127x3'):
                wrapper.set_template(sess, np.zeros((127, 127), np.uint8))
            with pytest.raises(ValueError, match='no track step for a 255-pixel'):
                wrapper.detect(sess, np.zeros((255, 255, 3), np.uint8))
    other = tiny_model_config(0.25, 16)
    with tf.Graph().as_default() as graph:
        wrapper = InferenceWrapper(other, (271,)).build_graph()
        with cpu_session(graph) as sess:
            with pytest.raises(ValueError, match='mis-shaped: rpn_head/conv_cls1/weights'):
                wrapper.restore(sess, resolve_checkpoint(random_checkpoint_dir))


def test_kernel_inputs_mode_computes_what_the_tracker_graph_computes(random_checkpoint_dir):
    """kernels='inputs' (the graph the export freezes): float32 inputs under the export names, kernels fed back in;
    the same scores and boxes as the tracker's variable graph, bit for bit."""
    from inference.exported import template_tensor_names, track_tensor_names
    from inference.inference_wrapper import load_wrapper
    model_config, _, _ = read_configs(random_checkpoint_dir)
    checkpoint = resolve_checkpoint(random_checkpoint_dir)
    exemplars, instances, _ = make_pairs(2, seed=6, instance_size=271)
    outputs = {}
    for mode in ('variables', 'inputs'):
        wrapper, sess = load_wrapper(model_config, checkpoint, (271,), kernels=mode)
        with sess:
            if mode == 'inputs':
                with pytest.raises(RuntimeError, match='before set_template'):
                    wrapper.detect(sess, instances[0].astype(np.uint8))
            outputs[mode] = []
            for exemplar, instance in zip(exemplars, instances):
                wrapper.set_template(sess, np.round(exemplar).astype(np.uint8))
                outputs[mode].append(wrapper.detect(sess, np.round(instance).astype(np.uint8)))
    for got, want in zip(outputs['inputs'], outputs['variables']):
        np.testing.assert_array_equal(got[0], want[0])
        np.testing.assert_array_equal(got[1], want[1])
    assert wrapper.exemplar_input.name == template_tensor_names()['inputs']['exemplar']
    assert wrapper.exemplar_input.dtype == tf.float32 and not sess.graph.get_collection(tf.GraphKeys.LOCAL_VARIABLES)
    assert {k: t.name for k, t in wrapper.track_outputs[271].items()} == track_tensor_names(271)['outputs']
    with pytest.raises(ValueError, match="kernels must be one of \\('variables', 'inputs'\\), got 'fed'"):
        InferenceWrapper(model_config, (271,), kernels='fed')


def test_fused_search_head_equals_separate_head(random_checkpoint_dir):
    """The tracker's graph with the fused 6x6 search head (default) gives the separate head's scores and boxes to
    1e-4 relative, at both search sizes."""
    model_config, _, _ = read_configs(random_checkpoint_dir)
    separate_config = copy.deepcopy(model_config)
    separate_config['rpn_config']['fused_search_head'] = False
    assert model_config['rpn_config']['fused_search_head']
    rng = np.random.RandomState(4)
    exemplar = textured_background(rng, 127).astype(np.uint8)
    searches = {size: textured_background(rng, size).astype(np.uint8) for size in (271, 287)}
    outputs = {}
    for name, config in (('fused', model_config), ('separate', separate_config)):
        wrapper, sess = load_wrapper(config, resolve_checkpoint(random_checkpoint_dir), (271, 287))
        with sess:
            assert list(wrapper.template) == (['fused_kernel', 'fused_bias'] if name == 'fused'
                                              else ['cls_kernels', 'reg_kernels'])
            wrapper.set_template(sess, exemplar)
            outputs[name] = {size: wrapper.detect(sess, crop) for size, crop in searches.items()}
    for size in searches:
        (fused_scores, fused_boxes), (scores, boxes) = outputs['fused'][size], outputs['separate'][size]
        assert np.abs(fused_scores - scores).max() <= 1e-4 * np.abs(scores).max()
        finite = np.isfinite(boxes).all(axis=1) & (np.abs(boxes) < 1e4).all(axis=1)  # untrained: some exp overflow
        assert finite.sum() > 0.5 * len(boxes)
        assert np.abs(fused_boxes[finite] - boxes[finite]).max() <= 1e-4 * np.abs(boxes[finite]).max()


def test_folded_batch_norm_graph_equals_the_training_layers(random_checkpoint_dir):
    """The tracker's graph with BN folded into constant convs at load time gives the conv + BN graph's template
    tensors, scores and boxes to 1e-4 relative; its embedding has no variables."""
    model_config, _, _ = read_configs(random_checkpoint_dir)
    checkpoint = resolve_checkpoint(random_checkpoint_dir)
    rng = np.random.RandomState(8)
    exemplar = textured_background(rng, 127).astype(np.uint8)
    search = textured_background(rng, 271).astype(np.uint8)
    outputs = {}
    for fold in (False, True):
        wrapper, sess = load_wrapper(model_config, checkpoint, (271,), fold_batch_norm=fold)
        with sess:
            embedding_variables = [v for v in wrapper.model_variables if v.op.name.startswith('siamrpn_alexnet/')]
            assert bool(embedding_variables) != fold
            wrapper.set_template(sess, exemplar)
            outputs[fold] = (sess.run(list(wrapper.template.values())),) + wrapper.detect(sess, search)
    for got, want in zip(outputs[True][0], outputs[False][0]):
        assert np.abs(got - want).max() <= 1e-4 * np.abs(want).max()
    (_, scores, boxes), (_, folded_scores, folded_boxes) = outputs[False], outputs[True]
    assert np.abs(folded_scores - scores).max() <= 1e-4 * np.abs(scores).max()
    finite = np.isfinite(boxes).all(axis=1) & (np.abs(boxes) < 1e4).all(axis=1)  # untrained: some exp overflow
    assert finite.sum() > 0.5 * len(boxes)
    assert np.abs(folded_boxes[finite] - boxes[finite]).max() <= 1e-4 * np.abs(boxes[finite]).max()
