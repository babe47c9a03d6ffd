"""The tracking graph: a template step run once per video and a track step run once per frame.

  wrapper = InferenceWrapper(model_config, instance_sizes=(271,))
  wrapper.build_graph()                      # in the default graph
  wrapper.restore(sess, checkpoint_path)     # or sess.run(tf.global_variables_initializer()) for random weights
  wrapper.initialize(sess)                   # the template variables
  wrapper.set_template(sess, exemplar_crop)  # [127, 127, 3] uint8 BGR -> kernels stored in variables
  scores, boxes = wrapper.detect(sess, instance_crop)  # [X, X, 3] uint8 BGR -> [N], [N, 4]; one session.run

The graph is SiameseModel's build steps in 'inference' mode (the training graph's embedding and RPN-head
functions, BN in inference mode). The template kernels are kept in local variables assigned by the template step,
so a frame feeds only its search crop (measured against feeding the kernels in benchmarks/bench_tracker.py).
One detection head is built per search size (271, and 287 for the adaptive `big` preset), all sharing weights.

Outputs per frame: `scores` [N] foreground probabilities and `boxes` [N, 4] decoded cx,cy,w,h in the anchor frame
(search-image pixels, offsets from the search-image centre), N = S * S * k in the order (y, x, anchor) of
`utils.anchors.generate_anchors`.
"""

import numpy as np
import tensorflow as tf

from siamese_model import SiameseModel
from utils.checkpoints import check_variables

MODEL_SCOPES = ('siamrpn_alexnet', 'rpn_head')


class InferenceWrapper(object):
    """Builds and runs the template and track steps of the tracker."""

    def __init__(self, model_config, instance_sizes=(271,)):
        """
        Args:
          model_config: MODEL_CONFIG (as saved in a checkpoint directory).
          instance_sizes: search crop sides to build a track step for (each gives its own score size).
        """
        if not instance_sizes:
            raise ValueError('instance_sizes must name at least one search size')
        self.model_config = model_config
        self.instance_sizes = tuple(sorted(set(int(s) for s in instance_sizes)))
        self.exemplar_size = model_config['z_image_size']
        self.models = {}

    def build_graph(self):
        """Builds placeholders, the template step, one track step per search size and a Saver over the model
        variables (conv/BN/head weights and BN statistics, not the template) in the default graph."""
        z = self.exemplar_size
        with tf.name_scope('inference'):
            self.exemplar_input = tf.placeholder(tf.uint8, [1, z, z, 3], name='exemplar_input')
            self.instance_inputs = {size: tf.placeholder(tf.uint8, [1, size, size, 3], name='instance_input_%d' % size)
                                    for size in self.instance_sizes}
        for index, size in enumerate(self.instance_sizes):
            model = SiameseModel(self.model_config, mode='inference', instance_size=size,
                                 inputs={'exemplar': self.exemplar_input, 'instance': self.instance_inputs[size]})
            model.build_inputs()
            if index == 0:
                model.build_exemplar_embeddings(reuse=False)
                model.build_template(reuse=False)
                self._build_template_storage(model.cls_kernels, model.reg_kernels)
            model.set_template(self.cls_kernels, self.reg_kernels)
            model.build_instance_embeddings(reuse=True)
            model.build_detection(reuse=index > 0)
            self.models[size] = model
        self.scores = {size: model.scores[0] for size, model in self.models.items()}
        self.boxes = {size: model.boxes[0] for size, model in self.models.items()}
        self.anchors = {size: model.anchors for size, model in self.models.items()}
        self.score_sizes = {size: model.score_size for size, model in self.models.items()}
        self.num_anchors = self.models[self.instance_sizes[0]].num_anchors
        self.model_variables = [v for v in tf.global_variables() if v.op.name.split('/')[0] in MODEL_SCOPES]
        self.saver = tf.train.Saver(self.model_variables)
        return self

    def _build_template_storage(self, cls_kernels, reg_kernels):
        """Local variables holding the current video's kernels and the op that assigns them."""
        with tf.variable_scope('template'):
            self.cls_kernels = tf.get_variable('cls_kernels', cls_kernels.get_shape(), tf.float32,
                                               tf.zeros_initializer(), trainable=False,
                                               collections=[tf.GraphKeys.LOCAL_VARIABLES])
            self.reg_kernels = tf.get_variable('reg_kernels', reg_kernels.get_shape(), tf.float32,
                                               tf.zeros_initializer(), trainable=False,
                                               collections=[tf.GraphKeys.LOCAL_VARIABLES])
            self.template_op = tf.group(tf.assign(self.cls_kernels, cls_kernels),
                                        tf.assign(self.reg_kernels, reg_kernels), name='assign_template')

    def restore(self, sess, checkpoint_path):
        """Restores the model variables from a checkpoint prefix; errors name missing or mis-shaped variables."""
        check_variables(checkpoint_path, self.model_variables)
        self.saver.restore(sess, checkpoint_path)

    def initialize(self, sess):
        """Initialises the template variables (call after restoring or initialising the model variables)."""
        sess.run([self.cls_kernels.initializer, self.reg_kernels.initializer])

    def set_template(self, sess, exemplar_crop):
        """Template step: [z, z, 3] uint8 exemplar crop -> kernels stored for the following detect calls."""
        sess.run(self.template_op, {self.exemplar_input: _batch_of_one(exemplar_crop, self.exemplar_size)})

    def detect(self, sess, instance_crop):
        """Track step: [X, X, 3] uint8 search crop -> (scores [N], boxes [N, 4] anchor frame); one session.run."""
        size = instance_crop.shape[0]
        if size not in self.instance_inputs:
            raise ValueError('no track step for a %d-pixel search crop; built for %s' % (size, self.instance_sizes))
        return sess.run((self.scores[size], self.boxes[size]),
                        {self.instance_inputs[size]: _batch_of_one(instance_crop, size)})


def _batch_of_one(crop, size):
    """[s, s, 3] uint8 crop -> [1, s, s, 3], checking its shape."""
    crop = np.asarray(crop)
    if crop.shape != (size, size, 3):
        raise ValueError('expected a %dx%dx3 crop, got shape %s' % (size, size, crop.shape))
    return crop[None]
