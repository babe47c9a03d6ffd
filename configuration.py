"""Default configurations of the model, training and tracking.

Do not edit these defaults to choose a run. Experiments in `experiments/` update them as Sacred config updates,
and Sacred's command line (`with key=value`) overrides single keys. Every function that takes a config receives it
as an argument; nothing reads these dicts as globals at run time. Copy them (`copy.deepcopy`) before changing them.

Conventions used across the project (see DEVELOPERS.md):
    * Images are BGR uint8 as OpenCV reads them; the network takes float32 BGR in [0, 255], as DaSiamRPN does.
    * Boxes are 0-based continuous pixel coordinates: pixel i covers [i, i + 1). OTB files are 1-based and are
        converted in `utils/box_io.py` only.
"""

import copy
import os.path as osp

LOG_DIR = 'Logs/SiamRPN'  # root for checkpoints, TensorBoard events and Sacred records
RUN_NAME = 'SiamRPN-AlexNet'  # default experiment name

# Architecture presets of DaSiamRPN's released models: (width multiplier, RPN feature channels C).
ARCH_PRESETS = {
    'otb': {'width_multiplier': 1.0, 'feature_out': 256},  # SiamRPNotb, 22,632,932 parameters
    'vot': {'width_multiplier': 1.0, 'feature_out': 256},  # SiamRPNvot, same network, other tracker preset
    'big': {'width_multiplier': 2.0, 'feature_out': 512},  # SiamRPNBIG, 90,436,132 parameters
}

MODEL_CONFIG = {
    'z_image_size': 127,  # exemplar (template) crop side in pixels
    'x_image_size': 255,  # search crop side for training (tracking uses TRACK_CONFIG['instance_size'])

    'embed_config': {
        'embedding_name': 'siamrpn_alexnet',  # the only embedding: DaSiamRPN's AlexNet layout
        'embedding_checkpoint_file': None,  # TF checkpoint to initialise the embedding from (None: random init)
        'train_embedding': True,  # whether the embedding variables are trainable
        'width_multiplier': 1.0,  # channel multiplier: 1 -> 96-256-384-384-256 (otb/vot), 2 -> BIG
        'init_method': 'kaiming_normal',  # 'kaiming_normal' or 'xavier' for conv weights
        'bn_momentum': 0.9,  # BN moving-average decay (TF sense; PyTorch's momentum 0.1 equals 0.9 here)
        'bn_epsilon': 1e-5,  # BN epsilon; 1e-5 matches PyTorch, needed for parity with converted weights
        'weight_decay': 1e-4,  # L2 weight decay on conv weights (gradient += decay * w)
        'stride': 8,  # total stride of the embedding in pixels
    },

    'rpn_config': {
        'feature_out': 256,  # C: channels of the correlated features (256 otb/vot, 512 big)
        'anchor_ratios': [0.33, 0.5, 1, 2, 3],  # anchor aspect ratios h/w, DaSiamRPN order
        'anchor_scales': [8],  # anchor scales (multiples of the stride)
        'init_method': 'kaiming_normal',  # initializer of the head convs
        'corr_init_gain': 0.1,  # init gain of conv_cls1/conv_r1/conv_cls2/conv_r2; correlation outputs scale by gain^2
        'weight_decay': 1e-4,  # L2 weight decay on head conv weights
    },
}

TRAIN_CONFIG = {
    'train_dir': osp.join(LOG_DIR, 'track_model_checkpoints', RUN_NAME),  # checkpoints + config JSON
    'seed': 123,  # graph-level random seed

    # In-graph target assignment (pure TF).
    'target_config': {
        'pos_iou_thresh': 0.6,  # anchors with IoU > this are positives
        'neg_iou_thresh': 0.3,  # anchors with IoU < this are negatives
        'max_pos': 16,  # at most this many positives are sampled per pair
        'max_total': 64,  # positives + negatives sampled per pair
    },

    # Loss = cls + reg_weight * reg + regularisation.
    'loss_config': {
        'reg_loss': 'smooth_l1',  # 'smooth_l1' (SiamRPN paper, earlier TF port) or 'l1' (pysot)
        'smooth_l1_sigma': 3.0,  # smooth-L1 transition at 1/sigma^2 (Faster R-CNN's RPN value)
        'reg_weight': 1.2,  # lambda; pysot uses 1.2 with L1, the earlier TF port 10 with its smooth-L1
        'time_decay_tau': None,  # per-pair weight exp(-dt/tau) from the frame distance (RASNet); None disables
        'use_mixup_weight': True,  # weight each pair by its mixup lambda when the batch provides one
    },
}

# Tracker hyper-parameters of DaSiamRPN's released models. `preset` picks one; explicit keys override it.
TRACK_PRESETS = {
    # SiamRPNotb.model (OTB100 AUC 0.655)
    'otb': {'penalty_k': 0.22, 'window_influence': 0.40, 'lr': 0.30, 'instance_size': 271, 'adaptive': False},  # noqa
    # SiamRPNVOT.model
    'vot': {'penalty_k': 0.04, 'window_influence': 0.44, 'lr': 0.45, 'instance_size': 271, 'adaptive': False},  # noqa
    # SiamRPNBIG.model: search 287 for targets under 0.4% of the frame
    'big': {'penalty_k': 0.055, 'window_influence': 0.42, 'lr': 0.295, 'instance_size': 271, 'adaptive': True},  # noqa
}

TRACK_CONFIG = {
    'log_dir': osp.join(LOG_DIR, 'track_model_inference', RUN_NAME),  # tracking outputs
    'preset': 'otb',  # one of TRACK_PRESETS; its values fill the keys below
    'exemplar_size': 127,  # template crop side
    'instance_size': 271,  # search crop side
    'adaptive_instance_size': 287,  # search side used for small targets when 'adaptive' is on
    'small_target_ratio': 0.004,  # "small" means target area / frame area below this
    'adaptive': False,  # enlarge the search region for small targets (big preset)
    'context_amount': 0.5,  # context added around the target for the template crop
    'windowing': 'cosine',  # 'cosine' (Hanning) or 'uniform' displacement window
    'penalty_k': 0.22,  # scale/ratio change penalty factor
    'window_influence': 0.40,  # weight of the cosine window in the final score
    'lr': 0.30,  # size update rate (multiplied by penalty * score)
    'min_size': 10,  # minimum target width/height in pixels after an update
}


def track_config_for(preset, base=None):
    """Returns a new TRACK_CONFIG dict filled with `preset`'s values ('otb', 'vot' or 'big')."""
    if preset not in TRACK_PRESETS:
        raise ValueError("unknown tracker preset %r: expected one of %s" % (preset, sorted(TRACK_PRESETS)))
    config = copy.deepcopy(TRACK_CONFIG if base is None else base)
    config.update(copy.deepcopy(TRACK_PRESETS[preset]))
    config['preset'] = preset
    return config


def model_config_for(arch, base=None):
    """Returns a new MODEL_CONFIG dict with the width and RPN channels of DaSiamRPN's `arch` ('otb', 'vot', 'big')."""
    if arch not in ARCH_PRESETS:
        raise ValueError("unknown architecture %r: expected one of %s" % (arch, sorted(ARCH_PRESETS)))
    config = copy.deepcopy(MODEL_CONFIG if base is None else base)
    config['embed_config']['width_multiplier'] = ARCH_PRESETS[arch]['width_multiplier']
    config['rpn_config']['feature_out'] = ARCH_PRESETS[arch]['feature_out']
    return config
