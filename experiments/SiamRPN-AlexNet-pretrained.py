#!/usr/bin/env python
"""Trains SiamRPN-AlexNet from a converted embedding, in two stages.

  python scripts/convert_pretrained_model.py SiamRPNOTB.model --arch otb --output Logs/SiamRPN/pretrained/embedding \\
      --embedding-only                                   # once: the AlexNet embedding as a TF checkpoint
  python experiments/SiamRPN-AlexNet-pretrained.py with train_config.train_data_config.input_imdb=... \\
      train_config.train_data_config.lmdb_path=...
  python experiments/SiamRPN-AlexNet-pretrained.py with model_config.embed_config.embedding_checkpoint_file=DIR_OR_PREFIX

Stages (train_config.stages): epochs 0-9 train conv4, conv5 and the RPN head at the full rate while conv1-conv3 stay
frozen (their BN statistics too), as the SiamRPN paper fine-tunes only the last two convolutions; from epoch 10 the
whole network trains at a tenth of the rate (pysot's BACKBONE.TRAIN_EPOCH 10 and LAYERS_LR 0.1). The schedule is
otherwise SiamRPN-AlexNet's (configuration.py). The embedding is loaded only on a fresh start; a resumed run restores
its own checkpoint, in the stage its global step is in.

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

CONFIG_UPDATES = {
    'model_config': {'embed_config': {'embedding_checkpoint_file': EMBEDDING_DIR}},
    'train_config': {'stages': [
        {'start_epoch': 0, 'trainable_scopes': ['siamrpn_alexnet/conv4', 'siamrpn_alexnet/conv5', 'rpn_head'],
         'lr_mult': 1.0},
        {'start_epoch': 10, 'trainable_scopes': 'all', 'lr_mult': 0.1},
    ]},
}


def main(argv=None):
    return run_experiment(RUN_NAME, CONFIG_UPDATES, argv=argv, doc=__doc__)


if __name__ == '__main__':
    main()
