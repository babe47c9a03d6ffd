"""The tracking graph: a template step run once per video and a track step run once per frame.

  wrapper = InferenceWrapper(model_config, instance_sizes=(271,))
  wrapper.build_graph()                      # in the default graph
  wrapper.restore(sess, checkpoint_path)     # or sess.run(tf.global_variables_initializer()) for random weights
  wrapper.initialize(sess)                   # the template variables
  wrapper.set_template(sess, exemplar_crop)  # [127, 127, 3] uint8 BGR -> kernels stored in variables
  scores, boxes = wrapper.detect(sess, instance_crop)  # [X, X, 3] uint8 BGR -> [N], [N, 4]; one session.run

The graph is SiameseModel's build steps in 'inference' mode (the training graph's embedding and RPN-head
functions, BN in inference mode). The template step's outputs (`SiameseModel.template`: with the default fused
search head the video's 6x6 kernel [1, 6, 6, Cin, 6k] and bias [1, 6k], else the correlation kernels [1, 4, 4, C,
2k] and [1, 4, 4, C, 4k]) are kept in local variables `template/<name>` assigned by the template step, so a frame
feeds only its search crop (measured against feeding them in benchmarks/bench_tracker.py).
One detection head is built per search size (271, and 287 for the adaptive `big` preset), all sharing weights.

Outputs per frame: `scores` [N] foreground probabilities and `boxes` [N, 4] decoded cx,cy,w,h in the anchor frame
(search-image pixels, offsets from the search-image centre), N = S * S * k in the order (y, x, anchor) of
`utils.anchors.generate_anchors`.

With kernels='inputs' (the exported graphs, inference/graph_export.py) the same steps are built, but the template
step outputs its tensors and every track step takes them as inputs (a frozen graph cannot keep per-video state);
inputs are then float32 and the tensors carry the export names of inference/exported.py (`template/exemplar:0`,
`track/fused_kernel:0`, `track_<X>/instance:0`, `track_<X>/scores:0`, ...).

With `folded_from` (a checkpoint prefix; load_wrapper's fold_batch_norm=True, the tracker's default through
TRACK_CONFIG['fold_batch_norm']) the embedding's BN is folded into its convolutions at build time from that
checkpoint's values (embeddings/siamrpn_alexnet.fold_batch_norm_arrays), as constant convs: exact up to float
rounding, with no BN ops and no per-run filter reorders. The embedding then has no variables; `restore` restores the
head's.

`WrapperBackend` is the tracker's network backend on this graph (inference/tracker.py); `load_wrapper` builds it
and restores a checkpoint into a new session.
"""

import collections

import tensorflow as tf

from embeddings.siamrpn_alexnet import (check_conv_algorithm, fold_batch_norm_arrays, folded_conv_constants,
                                        siamrpn_alexnet)
from inference.exported import op_name, template_tensor_names, track_tensor_names
from inference.subwindow import batch_of_one
from siamese_model import SiameseModel
from utils import runtime
from utils.checkpoints import check_variables

slim = tf.contrib.slim

MODEL_SCOPES = ('siamrpn_alexnet', 'rpn_head')
KERNEL_MODES = ('variables', 'inputs')


class InferenceWrapper(object):
    """Builds and runs the template and track steps of the tracker."""

    def __init__(self, model_config, instance_sizes=(271,), kernels='variables', folded_from=None,
                 conv_algorithm='direct'):
        """
        Args:
          model_config: MODEL_CONFIG (as saved in a checkpoint directory).
          instance_sizes: search crop sides to build a track step for (each gives its own score size).
          kernels: 'variables' (the tracker: uint8 inputs, kernels stored in local variables by the template step)
            or 'inputs' (the exported graphs: float32 inputs, the template step outputs the kernels and the track
            steps take them as placeholders, all under the export tensor names).
          folded_from: a checkpoint prefix: build the embedding with BN folded into constant convs from its values
            (the tracker's graph, and the exports' when the exported track config folds BN).
          conv_algorithm: 'direct' or 'winograd': how the embedding's stride-1 convs are computed
            (embeddings/siamrpn_alexnet.py; TRACK_CONFIG['conv_algorithm']).
        """
        if not instance_sizes:
            raise ValueError('instance_sizes must name at least one search size')
        if kernels not in KERNEL_MODES:
            raise ValueError('kernels must be one of %s, got %r' % (KERNEL_MODES, kernels))
        self.model_config = model_config
        self.instance_sizes = tuple(sorted(set(int(s) for s in instance_sizes)))
        self.exemplar_size = model_config['z_image_size']
        self.kernel_mode = kernels
        self.folded_from = folded_from
        check_conv_algorithm(conv_algorithm)
        self.conv_algorithm = conv_algorithm
        self.models = {}
        self.fed_template = None

    def build_graph(self):
        """Builds placeholders, the template step, one track step per search size and a Saver over the model
        variables (conv/BN/head weights and BN statistics, not the template) in the default graph."""
        self._build_placeholders()
        folded = None
        if self.folded_from is not None:
            folded = folded_conv_constants(read_folded_convs(self.folded_from, self.model_config),
                                           conv_algorithm=self.conv_algorithm)
        with slim.arg_scope([siamrpn_alexnet], folded_convs=folded, conv_algorithm=self.conv_algorithm):
            for index, size in enumerate(self.instance_sizes):
                model = SiameseModel(self.model_config, mode='inference', instance_size=size,
                                     inputs={'exemplar': self.exemplar_input, 'instance': self.instance_inputs[size]})
                model.build_inputs()
                if index == 0:
                    model.build_exemplar_embeddings(reuse=False)
                    model.build_template(reuse=False)
                    if self.kernel_mode == 'variables':
                        self._build_template_storage(model.template)
                    else:
                        self._build_template_io(model.template)
                model.set_template(self.template)
                model.build_instance_embeddings(reuse=True)
                model.build_detection(reuse=index > 0)
                self.models[size] = model
        self.scores = {size: model.scores[0] for size, model in self.models.items()}
        self.boxes = {size: model.boxes[0] for size, model in self.models.items()}
        self.anchors = {size: model.anchors for size, model in self.models.items()}
        self.score_sizes = {size: model.score_size for size, model in self.models.items()}
        self.num_anchors = self.models[self.instance_sizes[0]].num_anchors
        if self.kernel_mode == 'inputs':
            self._name_track_outputs()
        self.model_variables = [v for v in tf.global_variables() if v.op.name.split('/')[0] in MODEL_SCOPES]
        self.saver = tf.train.Saver(self.model_variables)
        return self

    def _build_placeholders(self):
        """The exemplar and per-size search inputs: uint8 for the tracker, float32 export names for 'inputs'."""
        z = self.exemplar_size
        if self.kernel_mode == 'variables':
            with tf.name_scope('inference'):
                self.exemplar_input = tf.placeholder(tf.uint8, [1, z, z, 3], name='exemplar_input')
                self.instance_inputs = {size: tf.placeholder(tf.uint8, [1, size, size, 3],
                                                             name='instance_input_%d' % size)
                                        for size in self.instance_sizes}
            return
        self.exemplar_input = tf.placeholder(tf.float32, [1, z, z, 3],
                                             name=op_name(template_tensor_names()['inputs']['exemplar']))
        self.instance_inputs = {size: tf.placeholder(tf.float32, [1, size, size, 3],
                                                     name=op_name(track_tensor_names(size)['inputs']['instance']))
                                for size in self.instance_sizes}

    def _build_template_io(self, template):
        """'inputs' mode: named template outputs, and the placeholders every track step reads them from."""
        outputs = template_tensor_names(list(template))['outputs']
        inputs = track_tensor_names(self.instance_sizes[0], list(template))['inputs']
        self.template_outputs = collections.OrderedDict(
            (name, tf.identity(tensor, name=op_name(outputs[name]))) for name, tensor in template.items())
        self.template = collections.OrderedDict(
            (name, tf.placeholder(tf.float32, tensor.get_shape(), name=op_name(inputs[name])))
            for name, tensor in template.items())

    def _name_track_outputs(self):
        """'inputs' mode: each track step's scores, boxes and anchors (a constant) under the export names."""
        self.track_outputs = {}
        for size in self.instance_sizes:
            names = track_tensor_names(size, list(self.template))['outputs']
            self.track_outputs[size] = {
                'scores': tf.identity(self.scores[size], name=op_name(names['scores'])),
                'boxes': tf.identity(self.boxes[size], name=op_name(names['boxes'])),
                'anchors': tf.constant(self.anchors[size], name=op_name(names['anchors']))}

    def _build_template_storage(self, template):
        """Local variables `template/<name>` holding the current video's template tensors, and the op assigning
        them."""
        with tf.variable_scope('template'):
            self.template = collections.OrderedDict(
                (name, tf.get_variable(name, tensor.get_shape(), tf.float32, tf.zeros_initializer(),
                                       trainable=False, collections=[tf.GraphKeys.LOCAL_VARIABLES]))
                for name, tensor in template.items())
            self.template_op = tf.group(*[tf.assign(self.template[name], tensor) for name, tensor in template.items()],
                                        name='assign_template')

    def restore(self, sess, checkpoint_path):
        """Restores the model variables from a checkpoint prefix; errors name missing or mis-shaped variables."""
        check_variables(checkpoint_path, self.model_variables)
        self.saver.restore(sess, checkpoint_path)

    def initialize(self, sess):
        """Initialises the template variables (call after restoring or initialising the model variables)."""
        if self.kernel_mode == 'variables':
            sess.run([variable.initializer for variable in self.template.values()])

    def set_template(self, sess, exemplar_crop):
        """Template step: [z, z, 3] uint8 exemplar crop -> template tensors stored for the following detect calls
        (in the variables, or kept as arrays and fed by detect in 'inputs' mode)."""
        feed = {self.exemplar_input: batch_of_one(exemplar_crop, self.exemplar_size)}
        if self.kernel_mode == 'variables':
            sess.run(self.template_op, feed)
        else:
            self.fed_template = sess.run(self.template_outputs, feed)

    def detect(self, sess, instance_crop):
        """Track step: [X, X, 3] uint8 search crop -> (scores [N], boxes [N, 4] anchor frame); one session.run."""
        size = instance_crop.shape[0]
        if size not in self.instance_inputs:
            raise ValueError('no track step for a %d-pixel search crop; built for %s' % (size, self.instance_sizes))
        feed = {self.instance_inputs[size]: batch_of_one(instance_crop, size)}
        if self.kernel_mode == 'inputs':
            if self.fed_template is None:
                raise RuntimeError('detect() called before set_template()')
            feed.update({self.template[name]: value for name, value in self.fed_template.items()})
        return sess.run((self.scores[size], self.boxes[size]), feed)


def read_folded_convs(checkpoint_path, model_config):
    """{layer: (weights, biases)} of the embedding's convs with BN folded in, from a checkpoint prefix's values."""
    reader = tf.train.load_checkpoint(checkpoint_path)
    names = [name for name in reader.get_variable_to_shape_map() if name.startswith('siamrpn_alexnet/')]
    embed = model_config['embed_config']
    try:
        return fold_batch_norm_arrays({name: reader.get_tensor(name) for name in names}, embed['width_multiplier'],
                                      embed['bn_epsilon'])
    except ValueError as error:
        raise ValueError('%s (checkpoint %s)' % (error, checkpoint_path))


def load_wrapper(model_config, checkpoint_path, instance_sizes, kernels='variables', session_config=None,
                 fold_batch_norm=True, conv_algorithm='direct'):
    """Builds an InferenceWrapper in a new graph and restores `checkpoint_path` into a new session ->
    (wrapper, session); the session is closed again if restoring fails. The session's threading is
    utils.runtime.session_config's unless `session_config` sets it; fold_batch_norm folds the embedding's BN into
    constant convs from the same checkpoint; conv_algorithm ('direct' or 'winograd') computes its stride-1 convs."""
    graph = tf.Graph()
    with graph.as_default():
        wrapper = InferenceWrapper(model_config, instance_sizes, kernels=kernels,
                                   folded_from=checkpoint_path if fold_batch_norm else None,
                                   conv_algorithm=conv_algorithm).build_graph()
    session = tf.Session(graph=graph, config=runtime.session_config(base=session_config))
    try:
        with graph.as_default():
            wrapper.restore(session, checkpoint_path)
            wrapper.initialize(session)
    except BaseException:
        session.close()
        raise
    return wrapper, session


class WrapperBackend(object):
    """The tracker's network backend on the Python model code: an InferenceWrapper in a session.

    Backend interface (inference/tracker.py): exemplar_size, instance_sizes, score_sizes {X: S}, num_anchors,
    set_template(exemplar_crop), detect(instance_crop) -> (scores [N], boxes [N, 4]), close().
    """

    def __init__(self, wrapper, session, owns_session=False):
        """wrapper: a built InferenceWrapper whose variables are restored in `session`; owns_session: close() closes
        the session (and so frees its graph)."""
        self.wrapper = wrapper
        self.session = session
        self.owns_session = owns_session
        self.exemplar_size = wrapper.exemplar_size
        self.instance_sizes = wrapper.instance_sizes
        self.score_sizes = wrapper.score_sizes
        self.num_anchors = wrapper.num_anchors

    @classmethod
    def from_checkpoint(cls, model_config, checkpoint_path, instance_sizes, session_config=None,
                        fold_batch_norm=True, conv_algorithm='direct'):
        """Builds the graph for `instance_sizes` (BN folded into the convs with fold_batch_norm; stride-1 convs by
        conv_algorithm), restores the checkpoint prefix and finalizes the graph."""
        wrapper, session = load_wrapper(model_config, checkpoint_path, instance_sizes, session_config=session_config,
                                        fold_batch_norm=fold_batch_norm, conv_algorithm=conv_algorithm)
        session.graph.finalize()
        return cls(wrapper, session, owns_session=True)

    def set_template(self, exemplar_crop):
        """[z, z, 3] uint8 exemplar crop -> kernels for the following detect calls."""
        self.wrapper.set_template(self.session, exemplar_crop)

    def detect(self, instance_crop):
        """[X, X, 3] uint8 search crop -> (scores [N], boxes [N, 4] anchor frame)."""
        return self.wrapper.detect(self.session, instance_crop)

    def close(self):
        """Closes the session when the backend owns it."""
        if self.owns_session and self.session is not None:
            self.session.close()
            self.session = None
