#!/usr/bin/env python
"""Trains SiamRPN-AlexNet with the CPU-sized schedule (configuration.CPU_SCHEDULE) on the configured dataset.

  python experiments/SiamRPN-AlexNet-cpu.py with train_config.train_data_config.input_imdb=data/real/train_imdb.json \\
      train_config.train_data_config.lmdb_path=data/real/lmdb
  python experiments/SiamRPN-AlexNet-cpu.py with ... train_config.init_checkpoint=Logs/SiamRPN/track_model_checkpoints/SiamRPN-AlexNet
                                                   # fine-tune the whole synthetic-trained model (embedding + head)

The schedule: width multiplier 0.25 and RPN channels C 64; 8000 steps of 8 pairs with Adam, a one-epoch linear
warm-up to 5e-4 and a cosine decay to 2e-5; conv1 frozen (about 15 minutes on 2 free cores). Shorten or lengthen it
with `train_config.train_data_config.epoch=N` (400 steps an epoch). Without real data it trains on the embedded
synthetic dataset, as SiamRPN-AlexNet.py's fallback does. `python scripts/demo.py --train-root DIR ...` builds the
data from OTB-layout folders and runs this experiment.

Outputs: Logs/SiamRPN/track_model_checkpoints/SiamRPN-AlexNet-cpu (or train_config.train_dir) and
Logs/SiamRPN/SiamRPN-AlexNet-cpu/sacred. Re-running the same command resumes from the latest checkpoint.
"""

import os

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

import tensorflow as tf  # noqa: E402

tf.compat.v1.logging.set_verbosity(tf.compat.v1.logging.ERROR)

import configuration  # noqa: E402
from train_siamese_model import run_experiment  # noqa: E402

RUN_NAME = 'SiamRPN-AlexNet-cpu'


def main(argv=None):
    return run_experiment(RUN_NAME, configuration.CPU_SCHEDULE, argv=argv, doc=__doc__)


if __name__ == '__main__':
    main()
