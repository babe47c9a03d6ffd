#!/usr/bin/env python
"""Trains SiamRPN-AlexNet from random initialisation, every layer from the first step.

  python experiments/SiamRPN-AlexNet-scratch.py with train_config.train_data_config.input_imdb=... \\
      train_config.train_data_config.lmdb_path=...

The schedule is SiamRPN-AlexNet's (momentum 0.9, weight decay 1e-4, 50 epochs, log-space decay 0.01 -> 0.0005, clip
10) with a longer, gentler warm-up: 10 linear epochs from 0.001. From random weights the early gradients are large
(momentum SGD at 0.01 without warm-up makes the regression loss spike in the first steps), so the rate ramps up over
more data before the decay starts. No embedding checkpoint is loaded, whatever the defaults say.

Without real data the run trains on the embedded synthetic dataset with this schedule (says so in the log); shorten it
with `with train_config.train_data_config.epoch=... num_examples_per_epoch=...`.
"""

import os

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

import tensorflow as tf  # noqa: E402

tf.compat.v1.logging.set_verbosity(tf.compat.v1.logging.ERROR)

from train_siamese_model import run_experiment  # noqa: E402

RUN_NAME = 'SiamRPN-AlexNet-scratch'

CONFIG_UPDATES = {
    'model_config': {'embed_config': {'embedding_checkpoint_file': None}},
    'train_config': {
        'stages': [{'start_epoch': 0, 'trainable_scopes': 'all', 'lr_mult': 1.0}],
        'lr_config': {'warmup': 'linear', 'warmup_epochs': 10, 'warmup_start_lr': 0.001},
    },
}


def main(argv=None):
    return run_experiment(RUN_NAME, CONFIG_UPDATES, argv=argv, doc=__doc__)


if __name__ == '__main__':
    main()
