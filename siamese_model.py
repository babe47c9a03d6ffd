"""The SiamRPN-AlexNet graph, built in im2txt-style steps.

  model = SiameseModel(model_config, train_config, mode='train', inputs=batch)
  model.build()

Modes:
  * 'train': inputs from a dict of batch tensors (the queue readers plug in here), BN in training mode, loss built.
  * 'validation': same inputs and loss, BN in inference mode; build with reuse=True to share the training variables.
  * 'inference': inputs from placeholders `exemplar_input` / `instance_input` (or from an `inputs` dict of
    'exemplar' / 'instance' tensors), no loss. The tracker's InferenceWrapper (inference/inference_wrapper.py) runs
    the steps separately: build_exemplar_embeddings + build_template once, then `set_template` with the stored
    template tensors and build_instance_embeddings + build_detection per search size. With
    rpn_config['fused_search_head'] (default) the template step also composes the search branch of the head into
    one 6x6 conv per video (embeddings/rpn_head.py), and `template` holds that conv's kernel and bias.

Batch dict (the reader -> model boundary):
  'exemplar'     [B, 127, 127, 3] float32 BGR in [0, 255]
  'instance'     [B, X, X, 3]     float32 BGR in [0, 255] (X = x_image_size, 255 for training)
  'instance_box' [B, 4] float32 target box, cx,cy,w,h in 0-based continuous instance-image pixels
  'delta_t'      [B] frame distance between template and search (optional; time-decay weights)
  'mixup_weight' [B] mixup lambda in (0, 1] (optional)
  'is_negative'  [B] bool, template and search from different tracks (optional)

Outputs: `scores` [B, N] foreground probabilities and `boxes` [B, N, 4] decoded cx,cy,w,h in the anchor frame
(offsets from the search-image centre), N = S * S * k in the order of `utils.anchors.generate_anchors`.
"""

import collections

import tensorflow as tf

from embeddings import rpn_head
from embeddings.siamrpn_alexnet import STRIDE as EMBEDDING_STRIDE
from embeddings.siamrpn_alexnet import embedding_flops, scaled_channels, siamrpn_alexnet, siamrpn_alexnet_arg_scope
from utils import losses
from utils.anchors import anchor_to_image_frame, generate_anchors, image_to_anchor_frame, score_size
from utils.box_coding import decode
from utils.box_utils import iou_cxcywh
from utils.target_assignment import assign_targets
from utils.template_names import FUSED_TEMPLATE, SEPARATE_TEMPLATE

slim = tf.contrib.slim

MODES = ('train', 'validation', 'inference')
# names of the template tensors build_template sets (and set_template takes), by fused_search_head: the exports' names
TEMPLATE_NAMES = {True: FUSED_TEMPLATE, False: SEPARATE_TEMPLATE}


def search_branch_flops(model_config, instance_size, fused):
    """Floating-point operations of one track step (2 per multiply-add of the convolutions and the correlation):
    the search embedding plus the head's search branch, fused or separate. 11.2e9 at 271 (10.2e9 fused) and
    9.64e9 at 255 (8.79e9 fused) for otb/vot."""
    embed = model_config['embed_config']
    flops, side = embedding_flops(instance_size, embed['width_multiplier'])
    channels = scaled_channels(embed['width_multiplier'])[-1]
    return flops + rpn_head.search_head_flops(side, channels, model_config['rpn_config'], fused)


class SiameseModel(object):
    """SiamRPN-AlexNet: embedding -> template kernels -> correlation -> per-anchor scores and boxes (-> loss)."""

    def __init__(self, model_config, train_config=None, mode='train', inputs=None, instance_size=None,
                 frozen_layers=(), seed=None, defer_bn_updates=False):
        """
        Args:
          model_config: MODEL_CONFIG.
          train_config: TRAIN_CONFIG (needed for 'train' and 'validation').
          mode: one of MODES.
          inputs: batch dict (see the module docstring) for 'train' and 'validation'.
          instance_size: search image side; defaults to model_config['x_image_size'].
          frozen_layers: embedding layers (e.g. 'conv1') whose conv and BN are frozen (staged training).
          seed: op-level seed of the target subsampling.
          defer_bn_updates: in 'train' mode, record the BN batch statistics in the collection
            embeddings.siamrpn_alexnet.BN_STATISTICS instead of adding update ops to UPDATE_OPS, so the trainer can
            update the moving statistics only on finite steps (training/train_op.py).
        """
        if mode not in MODES:
            raise ValueError('mode must be one of %s, got %r' % (MODES, mode))
        if mode == 'inference':
            unknown = set(inputs or {}) - {'exemplar', 'instance'}
            if unknown:
                raise ValueError("inference inputs may hold 'exemplar' and 'instance', got %s" % sorted(unknown))
        else:
            if inputs is None:
                raise ValueError("mode %r needs a batch dict of input tensors" % mode)
            missing = {'exemplar', 'instance', 'instance_box'} - set(inputs)
            if missing:
                raise ValueError('the input batch lacks %s; got keys %s' % (sorted(missing), sorted(inputs)))
            if train_config is None:
                raise ValueError("mode %r needs train_config" % mode)
        self.model_config = model_config
        self.train_config = train_config
        self.mode = mode
        self.inputs = inputs
        self.instance_size = instance_size or model_config['x_image_size']
        self.frozen_layers = tuple(frozen_layers)
        self.seed = seed
        self.defer_bn_updates = defer_bn_updates

        embed = model_config['embed_config']
        rpn = model_config['rpn_config']
        if embed['stride'] != EMBEDDING_STRIDE:
            raise ValueError("model_config['embed_config']['stride'] is %r, but the siamrpn_alexnet embedding's total "
                             "stride is %d" % (embed['stride'], EMBEDDING_STRIDE))
        self.score_size = score_size(self.instance_size, model_config['z_image_size'], embed['stride'])
        self.anchors = generate_anchors(embed['stride'], rpn['anchor_ratios'], rpn['anchor_scales'],
                                        self.score_size)
        self.num_anchors = rpn_head.num_anchors(rpn)
        self.fused_search_head = mode == 'inference' and bool(rpn['fused_search_head'])

    def is_training(self):
        """True when BN uses batch statistics (train mode)."""
        return self.mode == 'train'

    def build(self, reuse=False):
        """Builds the whole graph for the mode."""
        self.build_inputs()
        self.build_image_embeddings(reuse=reuse)
        self.build_template(reuse=reuse)
        self.build_detection(reuse=reuse)
        if self.mode != 'inference':
            self.build_loss()

    def build_inputs(self):
        """Sets self.exemplars [B, z, z, 3] and self.instances [B, X, X, 3] float32 (and the box and weights)."""
        z, x = self.model_config['z_image_size'], self.instance_size
        if self.mode == 'inference':
            inputs = self.inputs or {}
            self.exemplar_feed = inputs.get('exemplar')
            if self.exemplar_feed is None:
                self.exemplar_feed = tf.placeholder(tf.float32, [None, z, z, 3], name='exemplar_input')
            self.instance_feed = inputs.get('instance')
            if self.instance_feed is None:
                self.instance_feed = tf.placeholder(tf.float32, [None, x, x, 3], name='instance_input')
            self.exemplars = tf.cast(self.exemplar_feed, tf.float32)
            self.instances = tf.cast(self.instance_feed, tf.float32)
            return
        self.exemplars = tf.cast(self.inputs['exemplar'], tf.float32)
        self.instances = tf.cast(self.inputs['instance'], tf.float32)
        self.instance_boxes = tf.cast(self.inputs['instance_box'], tf.float32)
        batch = tf.shape(self.instances)[0]
        self.is_negative = tf.cast(self.inputs.get('is_negative', tf.zeros([batch], tf.bool)), tf.bool)
        self.delta_t = self.inputs.get('delta_t')
        self.mixup_weight = self.inputs.get('mixup_weight')

    def build_image_embeddings(self, reuse=False):
        """Sets self.exemplar_embeds [B, 6, 6, Cin] and self.instance_embeds [B, h, h, Cin] (shared weights)."""
        self.build_exemplar_embeddings(reuse=reuse)
        self.build_instance_embeddings(reuse=True)

    def _embed(self, images, reuse):
        """Runs the shared embedding on [B, s, s, 3] images (stride-1 convs by train_config['conv_algorithm'] when
        training or validating; inference graphs set it around the model, inference_wrapper.py)."""
        config = self.model_config['embed_config']
        arg_scope = siamrpn_alexnet_arg_scope(config, trainable=config['train_embedding'],
                                              is_training=self.is_training(), defer_bn_updates=self.defer_bn_updates)
        algorithm = {}
        if self.mode != 'inference':  # 'auto' is resolved per tower (training/towers.py); built outside them: direct
            option = self.train_config['conv_algorithm']
            algorithm['conv_algorithm'] = 'direct' if option == 'auto' else option
        with slim.arg_scope(arg_scope):  # inference graphs set conv_algorithm around the model (inference_wrapper)
            embeds, _ = siamrpn_alexnet(images, config['width_multiplier'], self.frozen_layers, reuse=reuse,
                                        **algorithm)
        return embeds

    def build_exemplar_embeddings(self, reuse=False):
        """Sets self.exemplar_embeds [B, 6, 6, Cin]; the first embedding call creates the variables."""
        self.exemplar_embeds = self._embed(self.exemplars, reuse)

    def build_instance_embeddings(self, reuse=True):
        """Sets self.instance_embeds [B, h, h, Cin] with the exemplar branch's weights."""
        self.instance_embeds = self._embed(self.instances, reuse)

    def build_template(self, reuse=False):
        """Sets self.cls_kernels [B, 4, 4, C, 2k], self.reg_kernels [B, 4, 4, C, 4k] and self.template, the tensors
        build_detection reads: {'cls_kernels', 'reg_kernels'}, or with the fused search head {'fused_kernel'
        [B, 6, 6, Cin, 6k], 'fused_bias' [B, 6k]}."""
        config = self.model_config['rpn_config']
        with slim.arg_scope(rpn_head.rpn_head_arg_scope(config)):
            self.cls_kernels, self.reg_kernels = rpn_head.template_kernels(self.exemplar_embeds, config, reuse=reuse)
        if self.fused_search_head:
            fused = rpn_head.fuse_search_head(self.cls_kernels, self.reg_kernels,
                                              self.exemplar_embeds.get_shape()[-1].value, config, reuse=reuse)
            tensors = (fused.kernel, fused.bias)
        else:
            tensors = (self.cls_kernels, self.reg_kernels)
        self.template = collections.OrderedDict(zip(TEMPLATE_NAMES[self.fused_search_head], tensors))

    def set_template(self, template):
        """Uses given template tensors (a dict with the keys of self.template after build_template, e.g. the
        tracker's stored ones) in build_detection instead of build_template's."""
        expected = list(TEMPLATE_NAMES[self.fused_search_head])
        if sorted(template) != sorted(expected):
            raise ValueError('set_template needs the tensors %s, got %s' % (expected, sorted(template)))
        self.template = collections.OrderedDict((name, template[name]) for name in expected)

    def build_detection(self, reuse=False):
        """Sets the raw maps (cls_logits, reg_deltas), per-anchor `scores` [B, N] and decoded `boxes` [B, N, 4]."""
        config = self.model_config['rpn_config']
        if self.fused_search_head:
            self.cls_logits, self.reg_deltas = rpn_head.fused_outputs(
                self.instance_embeds, self.template['fused_kernel'], self.template['fused_bias'], config)
        else:
            with slim.arg_scope(rpn_head.rpn_head_arg_scope(config)):
                cls_features, reg_features = rpn_head.search_features(self.instance_embeds, config, reuse=reuse)
                self.cls_logits, self.reg_deltas = rpn_head.rpn_outputs(
                    cls_features, reg_features, self.template['cls_kernels'], self.template['reg_kernels'],
                    reuse=reuse)
        self.anchor_logits, self.anchor_deltas = rpn_head.flatten_outputs(self.cls_logits, self.reg_deltas)
        with tf.name_scope('detection'):
            self.scores = tf.identity(tf.nn.softmax(self.anchor_logits)[:, :, 1], name='scores')
            self.boxes = tf.identity(decode(self.anchor_deltas, self.anchors[None]), name='boxes')
            # Rank by the logit margin: softmax probabilities saturate to exactly 1.0 in float32 and would tie.
            top = tf.argmax(self.anchor_logits[:, :, 1] - self.anchor_logits[:, :, 0], axis=1)
            top_boxes = tf.gather(self.boxes, top[:, None], axis=1, batch_dims=1)[:, 0]
            self.top_boxes = tf.identity(anchor_to_image_frame(top_boxes, self.instance_size), name='top_boxes')

    def build_targets(self, gt_boxes):
        """Target assignment for the [B, 4] ground-truth boxes (anchor frame) -> dict with 'labels' [B, N] int32
        and 'reg_targets' [B, N, 4] (utils/target_assignment.py, in the graph)."""
        return assign_targets(self.anchors, gt_boxes, self.is_negative, self.train_config['target_config'],
                              seed=self.seed, stride=self.model_config['embed_config']['stride'])

    def build_loss(self):
        """Builds targets and the loss terms; each is a named tensor with a summary in the mode's family."""
        train = self.train_config
        loss_config = train['loss_config']
        gt = image_to_anchor_frame(self.instance_boxes, self.instance_size)
        with tf.name_scope('targets'):
            self.targets = self.build_targets(gt)
        with tf.name_scope('Loss'):
            batch = tf.shape(self.instances)[0]
            mixup = self.mixup_weight if loss_config['use_mixup_weight'] else None
            self.pair_weights = losses.pair_weights(batch, self.delta_t, mixup, loss_config['time_decay_tau'])
            cls_loss = losses.classification_loss(self.anchor_logits, self.targets['labels'],
                                                  loss_config['cls_balance'], self.pair_weights)
            reg_loss = losses.regression_loss(self.anchor_deltas, self.targets['reg_targets'], self.targets['labels'],
                                              loss_config['reg_loss'], loss_config['smooth_l1_sigma'],
                                              self.pair_weights)
            self.cls_loss = tf.identity(cls_loss, name='cls_loss')
            self.reg_loss = tf.identity(reg_loss, name='reg_loss')
            self.batch_loss = tf.identity(self.cls_loss + loss_config['reg_weight'] * self.reg_loss,
                                          name='batch_loss')
            self.regularization_loss = tf.identity(tf.losses.get_regularization_loss(), name='regularization_loss')
            self.total_loss = tf.identity(self.batch_loss + self.regularization_loss, name='total_loss')
            positive = tf.logical_not(self.is_negative)
            top_iou = iou_cxcywh(self.top_boxes, self.instance_boxes)
            self.top_iou = tf.identity(top_iou, name='top_iou')
            self.mean_top_iou = tf.identity(
                tf.reduce_sum(tf.where(positive, top_iou, tf.zeros_like(top_iou))) /
                tf.maximum(tf.reduce_sum(tf.cast(positive, tf.float32)), 1.), name='mean_top_iou')
        for name in ('cls_loss', 'reg_loss', 'batch_loss', 'regularization_loss', 'total_loss', 'mean_top_iou'):
            tf.summary.scalar(name, getattr(self, name), family=self.mode)
