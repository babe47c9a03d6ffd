#!/usr/bin/env python
"""Trains SiamRPN-AlexNet from a pretrained embedding, in two stages: pysot's SiamRPN-AlexNet recipe.

  python scripts/convert_pretrained_model.py pretrained_models/alexnet-bn.pth --arch otb --embedding-only \\
      --output Logs/SiamRPN/pretrained/embedding    # once: pysot's ImageNet AlexNet (or a DaSiamRPN/pysot model)
  python experiments/SiamRPN-AlexNet-pretrained.py with train_config.train_data_config.input_imdb=... \\
      train_config.train_data_config.lmdb_path=...
  python experiments/SiamRPN-AlexNet-pretrained.py with \\
      model_config.embed_config.embedding_checkpoint_file=DIR_OR_PREFIX

Stages (train_config.stages), as pysot's siamrpn_alex_dwxcorr_16gpu training config and tools/train.py build_opt_lr:
  * epochs 0-9: only the RPN head trains; the whole embedding is frozen, its BN statistics too (pysot freezes the
    backbone until BACKBONE.TRAIN_EPOCH 10);
  * from epoch 10: conv4 and conv5 (BACKBONE.TRAIN_LAYERS ['layer4', 'layer5']) train at BACKBONE.LAYERS_LR times the
    rate, the head at the full rate (pysot gives the head cfg.TRAIN.BASE_LR); conv1-conv3 stay frozen to the end.
pysot's AlexNet recipe sets LAYERS_LR 1.0 (BACKBONE_LAYERS_LR below); 0.1 is pysot's config.py default, which its
ResNet recipes keep. The stage names the multiplier through scope_lr_mults, so another value is one edit.
The schedule is SiamRPN-AlexNet's (configuration.py, pysot's: momentum 0.9, weight decay 1e-4, 5 step warm-up epochs
0.005 -> 0.01, log-space 0.01 -> 0.0005 over 50 epochs, clip 10). The embedding is loaded only on a fresh start; a
resumed run restores its own checkpoint, in the stage its global step is in.

Without real data the run trains on the embedded synthetic dataset with this schedule (say so in the log); shorten it
with `with train_config.train_data_config.epoch=... num_examples_per_epoch=...`.
"""

import os
import os.path as osp

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

import tensorflow as tf  # noqa: E402

tf.compat.v1.logging.set_verbosity(tf.compat.v1.logging.ERROR)

from configuration import LOG_DIR  # noqa: E402
from train_siamese_model import run_experiment  # noqa: E402

RUN_NAME = 'SiamRPN-AlexNet-pretrained'
EMBEDDING_DIR = osp.join(LOG_DIR, 'pretrained', 'embedding')  # scripts/convert_pretrained_model.py --embedding-only

BACKBONE_TRAIN_EPOCH = 10  # pysot BACKBONE.TRAIN_EPOCH: the embedding is frozen before this epoch
BACKBONE_LAYERS_LR = 1.0  # pysot BACKBONE.LAYERS_LR of siamrpn_alex_dwxcorr_16gpu (config.py's default 0.1 is ResNet's)
HEAD = 'rpn_head'
BACKBONE_TRAIN_LAYERS = ['siamrpn_alexnet/conv4', 'siamrpn_alexnet/conv5']  # pysot TRAIN_LAYERS ['layer4', 'layer5']

CONFIG_UPDATES = {
    'model_config': {'embed_config': {'embedding_checkpoint_file': EMBEDDING_DIR}},
    'train_config': {'stages': [
        {'start_epoch': 0, 'trainable_scopes': [HEAD], 'lr_mult': 1.0},
        {'start_epoch': BACKBONE_TRAIN_EPOCH, 'trainable_scopes': BACKBONE_TRAIN_LAYERS + [HEAD], 'lr_mult': 1.0,
         'scope_lr_mults': {'siamrpn_alexnet': BACKBONE_LAYERS_LR}},
    ]},
}


def main(argv=None):
    return run_experiment(RUN_NAME, CONFIG_UPDATES, argv=argv, doc=__doc__)


if __name__ == '__main__':
    main()
