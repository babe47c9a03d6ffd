"""Default configurations of the model, training, tracking and the real-data build.

Do not edit these defaults to choose a run. Experiments in `experiments/` update them as Sacred config updates,
and Sacred's command line (`with key=value`) overrides single keys. Every function that takes a config receives it
as an argument; nothing reads these dicts as globals at run time. Copy them (`copy.deepcopy`) before changing them.

Each config is written as a table, `'key': (default, help)` with nested tables for sub-configs, so a key's default
and its one-line help stand side by side. `config_table` splits a table into the plain dict of defaults
(MODEL_CONFIG, TRAIN_CONFIG, TRACK_CONFIG, DATA_CONFIG) and a dict of the same shape holding the help strings
(MODEL_CONFIG_HELP, ...), which command-line tools show (e.g. the synthetic generator's options).

Conventions used across the project (see DEVELOPERS.md):
    * Images are BGR uint8 as OpenCV reads them; the network takes float32 BGR in [0, 255], as DaSiamRPN does.
    * Boxes are 0-based continuous pixel coordinates: pixel i covers [i, i + 1). OTB files are 1-based and are
        converted in `utils/box_io.py` only.
"""

import copy
import os.path as osp

LOG_DIR = 'Logs/SiamRPN'  # root for checkpoints, TensorBoard events and Sacred records
RUN_NAME = 'SiamRPN-AlexNet'  # default experiment name


def config_table(table):
    """Splits a config table {key: (default, help) or nested table} -> (defaults, helps): two plain nested dicts
    with the same keys. Raises TypeError naming the dotted key of an entry that is neither."""
    def split(entries, prefix):
        defaults, helps = {}, {}
        for key, entry in entries.items():
            if isinstance(entry, dict):
                defaults[key], helps[key] = split(entry, '%s%s.' % (prefix, key))
            elif isinstance(entry, tuple) and len(entry) == 2 and isinstance(entry[1], str) and entry[1]:
                defaults[key], helps[key] = copy.deepcopy(entry[0]), entry[1]
            else:
                raise TypeError('config table entry %s%s must be a (default, help string) pair or a nested table, '
                                'got %r' % (prefix, key, entry))
        return defaults, helps
    return split(table, '')


# Architecture presets of DaSiamRPN's released models: (width multiplier, RPN feature channels C).
ARCH_PRESETS = {
    'otb': {'width_multiplier': 1.0, 'feature_out': 256},  # SiamRPNotb, 22,632,932 parameters
    'vot': {'width_multiplier': 1.0, 'feature_out': 256},  # SiamRPNvot, same network, other tracker preset
    'big': {'width_multiplier': 2.0, 'feature_out': 512},  # SiamRPNBIG, 90,436,132 parameters
}

MODEL_CONFIG, MODEL_CONFIG_HELP = config_table({
    'z_image_size': (127, 'exemplar (template) crop side in pixels'),
    'x_image_size': (255, "search crop side for training (tracking uses TRACK_CONFIG['instance_size'])"),

    'embed_config': {
        'embedding_checkpoint_file': (None, 'TF checkpoint to initialise the embedding from (None: random init)'),
        'train_embedding': (True, 'whether the embedding variables are trainable'),
        'width_multiplier': (1.0, 'channel multiplier: 1 -> 96-256-384-384-256 (otb/vot), 2 -> BIG'),
        'init_method': ('kaiming_normal', "'kaiming_normal' or 'xavier' for conv weights"),
        'bn_momentum': (0.9, "BN moving-average decay (TF sense; PyTorch's momentum 0.1 equals 0.9 here)"),
        'bn_epsilon': (1e-5, 'BN epsilon; 1e-5 matches PyTorch, needed for parity with converted weights'),
        'weight_decay': (1e-4, 'L2 weight decay on conv weights (gradient += decay * w)'),
        'stride': (8, "total stride of the embedding in pixels (siamrpn_alexnet's 8; SiameseModel refuses another)"),
    },

    'rpn_config': {
        'feature_out': (256, 'C: channels of the correlated features (256 otb/vot, 512 big)'),
        'anchor_ratios': ([0.33, 0.5, 1, 2, 3], 'anchor aspect ratios h/w, DaSiamRPN order'),
        'anchor_scales': ([8], 'anchor scales (multiples of the stride)'),
        'init_method': ('kaiming_normal', 'initializer of the head convs'),
        'corr_init_gain': (0.1, 'init gain of conv_cls1/conv_r1/conv_cls2/conv_r2; correlation outputs scale by '
                                'gain^2'),
        'weight_decay': (1e-4, 'L2 weight decay on head conv weights'),
        # ---- Performance (issue 8): how the head is computed; the variables and the values stay the same ----
        'template_conv': ('matmul', "conv_cls1/conv_r1 as 'matmul' (patches x weights, faster on CPU) or 'conv2d'"),
        'fused_search_head': (True, 'inference graphs: conv_cls2/conv_r2 + correlation + regress_adjust as one 6x6 '
                                    'conv'),
    },
})

TRAIN_CONFIG, TRAIN_CONFIG_HELP = config_table({
    'train_dir': (osp.join(LOG_DIR, 'track_model_checkpoints', RUN_NAME), 'checkpoints + config JSON'),
    'seed': (123, 'graph-level random seed'),
    'conv_algorithm': ('auto', "the embedding's stride-1 convs with >= 128 outputs in the training and validation "
                               "graphs: 'direct' (tf.nn.conv2d), 'winograd' (embeddings/winograd.py; same values to "
                               "float rounding) or 'auto' (per tower: direct on a GPU, winograd on a CPU; docs/speed.md)"),
    'init_checkpoint': (None, 'fine-tuning: a checkpoint prefix or run directory whose embedding AND RPN head start '
                              'this run (the optimizer state and the global step start fresh; the architecture must '
                              'match). None: random init, or the embedding only from '
                              'model_config.embed_config.embedding_checkpoint_file (not both). A resume ignores it.'),

    # In-graph target assignment (pure TF, utils/target_assignment.py). TRAINING_RULE_PRESETS below sets the rule and
    # the loss keys together.
    'target_config': {
        'rule': ('legacy', "'legacy': positives IoU > pos_iou_thresh plus the best anchor when above "
                           "neg_iou_thresh, max_total - #pos negatives, a negative pair's max_total negatives anywhere "
                           "on the map. 'pysot': pysot's AnchorTarget, positives IoU > pos_iou_thresh only, max_total "
                           "- max_pos negatives whatever the positives, a negative pair's neg_num negatives inside the "
                           "7x7 cells around its (distractor) box."),
        'pos_iou_thresh': (0.6, 'anchors with IoU > this are positives (pysot THR_HIGH)'),
        'neg_iou_thresh': (0.3, 'anchors with IoU < this are negatives (pysot THR_LOW)'),
        'max_pos': (16, 'at most this many positives are sampled per pair (pysot POS_NUM)'),
        'max_total': (64, "'legacy': positives + negatives per pair; 'pysot': max_total - max_pos negatives "
                          "(TOTAL_NUM)"),
        'neg_num': (16, "'pysot': negatives sampled per negative pair, inside its window (pysot NEG_NUM)"),
    },

    # Loss = cls + reg_weight * reg + regularisation.
    'loss_config': {
        'cls_balance': ('mean', "'mean': cross-entropy averaged over each pair's sampled anchors, then over pairs; "
                                "'pysot': 0.5 * mean over the batch's positives + 0.5 * mean over its negatives, so "
                                "the negatives do not outweigh the positives"),
        'reg_loss': ('smooth_l1', "'smooth_l1' (SiamRPN paper, earlier TF port) or 'l1' (pysot)"),
        'smooth_l1_sigma': (3.0, "smooth-L1 transition at 1/sigma^2 (Faster R-CNN's RPN value)"),
        'reg_weight': (1.2, 'lambda; pysot uses 1.2 with L1, the earlier TF port 10 with its smooth-L1'),
        'time_decay_tau': (None, 'per-pair weight exp(-dt/tau) from the frame distance (RASNet); None disables'),
        'use_mixup_weight': (True, 'weight each pair by its mixup lambda when the batch provides one'),
    },

    # ---- Data path: curation, readers, augmentation, embedded synthetic dataset (datasets/, scripts/) ----
    # Readers (datasets/dataloader.py): sampled pairs -> augmentation in Python threads -> TF queue -> batch dict.
    'train_data_config': {
        'input_imdb': (None, 'JSON imdb of the training tracks; None: no real data, use the synthetic dataset'),
        'lmdb_path': (None, 'LMDB of the curated crops named by the imdb (None with input_imdb None)'),
        'batch_size': (8, 'pairs per batch'),
        'epoch': (50, 'number of training epochs'),
        'num_examples_per_epoch': (6e5, "pairs per epoch (pysot's VIDEOS_PER_EPOCH; the reader samples forever)"),
        'max_frame_dist': (100, 'template and search frames of a positive pair are at most this many frames apart'),
        'source_max_frame_dist': ({}, "per-source overrides of max_frame_dist, e.g. {'youtube_bb': 90}"),
        'image_ratio': (0.2, 'fraction of pairs from image datasets (1-frame tracks) when video tracks exist too'),
        'source_weights': ({}, 'per-source sampling weight within its kind (video/image); unlisted sources weigh 1'),
        'negative_ratio': (0.2, 'fraction of negative pairs: template and search from different tracks (DaSiamRPN)'),
        'augmentation': ('full', "'full' (augmentation_config), 'geometric' (shift/scale jitter only) or 'none'"),
        'queue_type': ('fifo', "'fifo' (pairs are sampled at random already) or 'random_shuffle'"),
        'prefetch_threads': (2, 'Python reader threads (OpenCV releases the GIL while decoding and warping)'),
        'prefetch_capacity': (15 * 8, 'maximum number of pairs waiting in the queue'),
        'min_after_dequeue': (4 * 8, "pairs kept in a 'random_shuffle' queue for mixing"),
        'seed': (None, 'seed of the reader threads and in-graph ops; None: non-deterministic'),
    },
    'validation_data_config': {
        'input_imdb': (None, "JSON imdb of the validation tracks; None: the synthetic dataset's validation split"),
        'lmdb_path': (None, 'LMDB of the curated crops named by the imdb'),
        'batch_size': (8, 'pairs per batch'),
        'max_frame_dist': (100, 'template and search frames of a positive pair are at most this many frames apart'),
        'source_max_frame_dist': ({}, 'per-source overrides of max_frame_dist'),
        'image_ratio': (0.2, 'fraction of pairs from image datasets when video tracks exist too'),
        'source_weights': ({}, 'per-source sampling weight within its kind; unlisted sources weigh 1'),
        'negative_ratio': (0.0, 'fraction of negative pairs (validation reports positive-pair IoU)'),
        'augmentation': ('geometric', 'shift/scale jitter only, so the target is not centred; no photometric changes'),
        'queue_type': ('fifo', 'queue kind'),
        'prefetch_threads': (1, 'Python reader threads'),
        'prefetch_capacity': (4 * 8, 'maximum number of pairs waiting in the queue'),
        'min_after_dequeue': (0, "unused by 'fifo'"),
        'seed': (4321, 'fixed seed: validation draws the same pair distribution every run'),
    },
    # Pair augmentation on the 511 crops (datasets/augmentation.py); pysot's values where it has one.
    'augmentation_config': {
        'template_shift': (4, 'max template centre shift in exemplar pixels (pysot 4)'),
        'template_scale': (0.05, 'max relative template scale jitter (pysot 0.05)'),
        'search_shift': (64, 'max target offset from the search centre in pixels (pysot 64): not always centred'),
        'search_scale': (0.18, 'max relative search scale jitter (pysot 0.18)'),
        'independent_xy_scale': (True, 'jitter x and y scale separately, which also changes the aspect (pysot)'),
        'flip_prob': (0.0, 'probability of mirroring a pair horizontally (both images together; pysot 0)'),
        'color_jitter_prob': (1.0, "probability of colour jitter per image (pysot's COLOR 1.0)"),
        'brightness': (0.15, 'max brightness offset as a fraction of 255'),
        'contrast': (0.2, 'max relative contrast change'),
        'saturation': (0.3, 'max relative saturation change'),
        'channel_gain': (0.08, 'max relative per-channel gain (colour cast)'),
        'blur_prob': (0.15, 'probability of blurring an image (Gaussian or motion, random kernel size)'),
        'blur_kernel': ([3, 11], 'range of the odd blur kernel sizes'),
        'gray_prob': (0.05, 'probability of turning a pair to grey (both images)'),
        'downup_prob': (0.1, 'probability of resampling an image down then up'),
        'downup_scale': ([0.35, 0.8], 'range of the intermediate scale of the down-up resampling'),
        'mixup_prob': (0.1, 'probability of blending a search image with another of the batch (Bag of Freebies)'),
        'mixup_alpha': (1.5, "lambda ~ Beta(alpha, alpha); the pair's loss weight is lambda"),
    },
    # Curation into SiamFC-style crops (datasets/curation.py, scripts/curate_dataset.py).
    'curation_config': {
        'patch_size': (511, 'side of the curated crops'),
        'exemplar_size': (127, 'exemplar side: a crop covers s_z * patch_size / exemplar_size source pixels'),
        'context_amount': (0.5, 'context p = context_amount * (w + h); s_z = sqrt((w + p) * (h + p))'),
        'jpeg_quality': (90, 'JPEG quality of the stored crops'),
    },
    # The embedded synthetic dataset (datasets/synthetic.py): the fallback training data and the demo's test split.
    'synthetic_data_config': {
        'root_dir': ('data/synthetic', 'raw/{train,test} (OTB layout), curated/, *_imdb.json, lmdb/'),
        'num_train_videos': (128, 'videos in the train split (curated; a validation share is held out)'),
        'num_test_videos': (24, 'videos in the test split (OTB layout for benchmarks/run_OTB.py; never curated)'),
        'train_seed': (1, 'seed of the train split'),
        'test_seed': (2, 'seed of the test split; must differ from train_seed'),
        'validation_ratio': (0.1, 'share of train videos held out for the validation imdb'),
        'generator_config': {
            'num_frames': ([50, 100], 'frames per video, uniform in this range'),
            'frame_width': ([320, 480], 'frame width in pixels, uniform per video'),
            'frame_aspect': ([0.6, 0.85], 'frame height / width, uniform per video'),
            'target_area': ([0.006, 0.03], 'initial target area as a fraction of the frame area'),
            'target_aspect': ([0.5, 2.0], 'initial target height / width (log-uniform)'),
            'scale_range': ([0.6, 1.6], "the target's size stays within these multiples of its initial size"),
            'aspect_range': ([0.75, 1.33], 'its aspect stays within these multiples of the initial aspect'),
            'scale_speed': (0.01, 'std of the per-frame change of the log-scale and log-aspect velocities'),
            'motion_strength': (0.02, "std of the target's acceleration, in target sizes per frame^2"),
            'max_speed': (0.25, 'speed limit in target sizes per frame'),
            'num_distractors': ([1, 3], 'distractors per video'),
            'distractor_similarity': (0.7, "0: unrelated look; 1: the target's shape and texture"),
            'clutter_shapes': ([8, 24], 'static textured shapes in the background'),
            'occlusion_rate': (0.02, 'per-frame probability that a partial occlusion starts'),
            'occlusion_length': ([6, 20], 'frames an occlusion lasts'),
            'occlusion_coverage': ([0.25, 0.5], 'occluder side as a fraction of the target side'),
            'illumination_change': (0.3, 'amplitude of the global brightness oscillation'),
            'light_gradient': (0.4, 'amplitude of the moving spatial light gradient'),
            'blur_prob': (0.1, 'per-frame probability of motion blur'),
            'blur_length': ([3, 9], 'motion-blur kernel length in pixels'),
            'camera_motion': (0.5, 'std of the camera pan acceleration in pixels per frame^2'),
            'noise_std': (3.0, 'sensor noise std in grey levels'),
            'jpeg_quality': (90, 'JPEG quality of the frames'),
            'target_color': (None, 'flat [B, G, R] target kept unique in the scene (tests); None: textured target'),
            'key_margin': (60, 'with target_color: scene pixels closer than this (max channel difference) change'),
        },
    },

    # ---- Training: optimiser, schedule, stages, towers, checkpoints, logging (train_siamese_model.py, utils/) --------
    # Defaults are pysot's SiamRPN schedule: momentum SGD, weight decay 1e-4 (embed/rpn configs), 5 warm-up epochs
    # stepping 0.005 -> 0.01, then log-space 0.01 -> 0.0005 over the remaining epochs, gradient clip 10.
    'optimizer_config': {
        'optimizer': ('MOMENTUM', "'MOMENTUM', 'SGD' or 'ADAM'"),
        'momentum': (0.9, 'MOMENTUM: momentum (pysot 0.9)'),
        'use_nesterov': (False, 'MOMENTUM: Nesterov momentum'),
        'adam_beta1': (0.9, 'ADAM: decay of the first-moment estimate'),
        'adam_beta2': (0.999, 'ADAM: decay of the second-moment estimate'),
        'adam_epsilon': (1e-8, 'ADAM: epsilon'),
    },
    'lr_config': {
        'warmup': ('step', "None, 'linear' or 'step' warm-up from warmup_start_lr to the decay's first rate "
                           "(pysot step)"),
        'warmup_epochs': (5, 'warm-up length in whole epochs (pysot 5)'),
        'warmup_start_lr': (0.005, 'rate of the first warm-up epoch (pysot 0.005)'),
        'warmup_step_epochs': (1, "'step' warm-up: epochs between rate changes (pysot 1)"),
        'policy': ('log_space', "decay after the warm-up: 'log_space', 'exponential', 'cosine' or "
                                "'piecewise_constant'"),
        'initial_lr': (0.01, "first rate of 'log_space', 'exponential' and 'cosine' (pysot 0.01)"),
        'end_lr': (0.0005, "last rate of 'log_space' and 'cosine' (pysot 0.0005)"),
        'lr_decay_factor': (0.8, "'exponential': rate factor per num_epochs_per_decay epochs"),
        'num_epochs_per_decay': (1, "'exponential': epochs per lr_decay_factor"),
        'lr_boundaries': ([20, 40], "'piecewise_constant': epochs (from the start) where the rate changes"),
        'lr_values': ([0.01, 0.001, 0.0001], "'piecewise_constant': rates, one more than lr_boundaries"),
        'staircase': (True, 'change the rate once per epoch (pysot); False: every step through the same values'),
    },
    'clip_gradients': (10.0, 'clip the tower-averaged gradients to this global norm (pysot 10); None: no clipping'),
    # Stages run in order of start_epoch; layers outside trainable_scopes ('all' or scopes such as 'rpn_head',
    # 'siamrpn_alexnet/conv4') are frozen, their BN statistics too; lr_mult scales the rate during the stage, and an
    # optional 'scope_lr_mults' {scope: m} scales it per scope, e.g. {'siamrpn_alexnet': 0.1} (training/stages.py).
    'stages': ([{'start_epoch': 0, 'trainable_scopes': 'all', 'lr_mult': 1.0}], 'one stage: everything trains'),
    'tower_config': {
        'devices': (None, "tower devices, e.g. ['/gpu:0', '/gpu:1'] or ['/cpu:0', '/cpu:1']; None: from num_gpus"),
        'num_gpus': (1, 'towers on /gpu:0..n-1 when devices is None; no visible GPU: one tower on /cpu:0'),
        'variable_device': (None, "the variables' device; None: /cpu:0 with several towers, else the tower's"),
    },
    'save_model_every_n_steps': (5000, 'checkpoint period; also at step 0, at each stage end and at the end'),
    'max_checkpoints_to_keep': (10, 'older checkpoints are deleted'),
    'log_every_n_steps': (10, 'period of the log line (step, loss, examples/s, ETA)'),
    'summary_every_n_steps': (100, 'period of the TensorBoard scalars and images'),
    'validation_every_n_steps': (5000, 'period of validation (and at the end)'),
    'validation_batches': (20, 'validation batches averaged per validation (0: no validation)'),
    'abort_after_nonfinite_steps': (100, 'stop after this many non-finite steps in a row (None: never)'),
    'nan_injection_steps': ([], 'test switch: global steps whose batch is replaced by NaN (checks the guard)'),

    # ---- Distributed training on TF1's runtime (training/distributed.py; README "Distributed training") ------------
    # Between-graph replication: ps tasks hold the variables, every worker builds the graph and reads its own data
    # (batch_size pairs per worker), worker 0 is the chief (checkpoints, summaries, Sacred record). The cluster comes
    # from the TF_CONFIG environment variable ({"cluster": {"ps": [...], "worker": [...]}, "task": {"type": ...,
    # "index": ...}}) or from `cluster` + `job_name` + `task_index` below (not both); neither: one process.
    'cluster_config': {
        'cluster': (None, "{'ps': ['host:port', ...], 'worker': ['host:port', ...]}; None: TF_CONFIG or one process"),
        'job_name': (None, "this process's job with `cluster`: 'ps' or 'worker' (TF_CONFIG names it in task.type)"),
        'task_index': (None, "this process's index in its job with `cluster` (None: 0)"),
        'sync': (True, "True: SyncReplicasOptimizer aggregates the workers' gradients; False: asynchronous updates"),
        'replicas_to_aggregate': (None, 'sync: gradients averaged per step (None: the number of workers)'),
        'max_wait_secs': (1800, "how long a process waits for the chief's initialisation (or the ps) before failing"),
        'recovery_wait_secs': (1, "a waiting worker polls the chief's initialisation at this period (seconds)"),
        'stop_grace_period_secs': (10, 'at a stage end, how long threads (readers, sync queue runner) get to stop'),
    },
})

# Tracker hyper-parameters of DaSiamRPN's released models. `preset` picks one; explicit keys override it.
TRACK_PRESETS = {
    # SiamRPNotb.model (OTB100 AUC 0.655)
    'otb': {'penalty_k': 0.22, 'window_influence': 0.40, 'lr': 0.30, 'instance_size': 271, 'adaptive': False},  # noqa
    # SiamRPNVOT.model
    'vot': {'penalty_k': 0.04, 'window_influence': 0.44, 'lr': 0.45, 'instance_size': 271, 'adaptive': False},  # noqa
    # SiamRPNBIG.model: search 287 for targets under 0.4% of the frame
    'big': {'penalty_k': 0.055, 'window_influence': 0.42, 'lr': 0.295, 'instance_size': 271, 'adaptive': True},  # noqa
}

TRACK_CONFIG, TRACK_CONFIG_HELP = config_table({
    'preset': ('otb', 'the TRACK_PRESETS entry the keys below hold (a label; track_config_for(name) fills them)'),
    'exemplar_size': (127, 'template crop side'),
    'instance_size': (271, 'search crop side'),
    'adaptive_instance_size': (287, "search side used for small targets when 'adaptive' is on"),
    'small_target_ratio': (0.004, '"small" means target area / frame area below this'),
    'adaptive': (False, 'enlarge the search region for small targets (big preset)'),
    'context_amount': (0.5, 'context added around the target for the template crop'),
    'windowing': ('cosine', "'cosine' (Hanning) or 'uniform' displacement window"),
    'penalty_k': (0.22, 'scale/ratio change penalty factor'),
    'window_influence': (0.40, 'weight of the cosine window in the final score'),
    'lr': (0.30, 'size update rate (multiplied by penalty * score)'),
    'min_size': (10, 'minimum target width/height in pixels after an update'),
    'fold_batch_norm': (True, 'fold BN into the embedding convs at load time (exact to float rounding, faster)'),
    'conv_algorithm': ('auto', "the embedding's stride-1 convs with >= 128 outputs: 'winograd' (F(4x4,3x3), "
                               "F(3x3,5x5) minimal filtering, embeddings/winograd.py; same values to float rounding, "
                               "faster on a CPU), 'direct' (tf.nn.conv2d) or 'auto' (direct when TF sees a GPU, else "
                               "winograd)"),
    'search_head': ('model', "'model' (rpn_config's, as exported), 'fused', 'separate' or 'auto': the faster on this "
                             "machine, measured once and cached (inference/speed_choice.py)"),
    'speed_cache': ('', "JSON file of the 'auto' choices ('': $XDG_CACHE_HOME or ~/.cache, siamrpn-tf/)"),
})

# Real training datasets in their original layouts (datasets/sources/, datasets/real_data.py,
# scripts/prepare_training_data.py). One build curates the selected datasets into one imdb pair and one LMDB; the
# weights and frame distances below become TRAIN_CONFIG's train_data_config.source_weights / source_max_frame_dist.
DATA_CONFIG, DATA_CONFIG_HELP = config_table({
    'output_dir': ('data/real', 'curated/, train/validation imdbs, lmdb/, summary.json and data_config.json'),
    'datasets': (['det2014', 'vid2015', 'lasot', 'got10k'], "built by default: the earlier TF port's four datasets"),
    'validation_ratio': (0.01, "share of each dataset's videos held out for the validation imdb (split by video)"),
    'split_seed': (0, 'seed of the train/validation split'),
    'sources': {  # dataset name -> its layout, unpacked folder, parser options and sampling settings
        'det2014': {
            'layout': ('imagenet_det', 'parser (datasets/sources/imagenet.py): every object is a 1-frame track'),
            'root': ('data/ILSVRC2015', 'holds Data/DET + Annotations/DET (or the ILSVRC2014 DET download folders)'),
            'options': ({}, "parser arguments, e.g. {'subsets': ['train']} (default: train and val when present)"),
            'weight': (1.0, 'weight among image sources (DET is the only one; image_ratio sets the image share)'),
            'max_frame_dist': (None, "per-source max_frame_dist (None: the reader's; image tracks have 1 frame)"),
        },
        'vid2015': {
            'layout': ('imagenet_vid', 'parser (datasets/sources/imagenet.py): one track per trackid'),
            'root': ('data/ILSVRC2015', 'holds Data/VID + Annotations/VID'),
            'options': ({}, "e.g. {'subsets': ['train'], 'skip_occluded': True, 'skip_generated': True}"),
            'weight': (1.0, 'sampling weight among video sources'),
            'max_frame_dist': (None, "per-source max_frame_dist (None: the reader's, 100 frames as pysot's VID)"),
        },
        'got10k': {
            'layout': ('got10k', 'parser (datasets/sources/got10k.py)'),
            'root': ('data/GOT-10k', 'holds train/GOT-10k_Train_NNNNNN/'),
            'options': ({'subsets': ['train'], 'min_cover': 1}, 'min_cover: lowest kept cover.label level (0..8)'),
            'weight': (1.0, 'sampling weight among video sources'),
            'max_frame_dist': (None, "per-source max_frame_dist (None: the reader's)"),
        },
        'lasot': {
            'layout': ('lasot', 'parser (datasets/sources/lasot.py)'),
            'root': ('data/LaSOT', 'holds <class>/<class>-<n>/img/'),
            'options': ({'split': 'train'}, "'train' leaves out the 280 protocol-II test sequences; 'all'"),
            'weight': (0.25, "long, redundant videos: pytracking's DiMP samples LaSOT at 0.25 of GOT-10k"),
            'max_frame_dist': (None, "per-source max_frame_dist (None: the reader's)"),
        },
        'youtube_bb': {
            'layout': ('youtube_bb', 'parser (datasets/sources/youtube_bb.py)'),
            'root': ('data/youtube-bb', 'holds yt_bb_detection_*.csv and <youtube_id>/<timestamp_ms>.jpg frames'),
            'options': ({'fps': 30.0}, 'timestamps -> frame indices (delta-t in video frames); also frames_dir'),
            'weight': (1.0, 'sampling weight among video sources'),
            'max_frame_dist': (90, "annotations are 1 s (30 frames) apart: pairs up to 3 s apart (pysot's range 3)"),
        },
    },
})

# Training rules that go together: target assignment and losses. Select one on the command line with its Sacred named
# config `<name>_rules` (`python experiments/SiamRPN-AlexNet.py with pysot_rules`; single keys given after it still
# win), or in code with train_config_for_rules(name).
TRAINING_RULE_PRESETS = {
    'legacy': {  # today's defaults
        'target_config': {'rule': 'legacy'},  # best anchor forced positive; negative pairs: negatives anywhere
        'loss_config': {'cls_balance': 'mean', 'reg_loss': 'smooth_l1', 'reg_weight': 1.2},  # mean CE, smooth-L1
    },
    'pysot': {  # pysot's SiamRPN
        'target_config': {'rule': 'pysot', 'pos_iou_thresh': 0.6, 'neg_iou_thresh': 0.3,  # its AnchorTarget
                          'max_pos': 16, 'max_total': 64, 'neg_num': 16},
        'loss_config': {'cls_balance': 'pysot', 'reg_loss': 'l1', 'reg_weight': 1.2},  # its losses, LOC_WEIGHT 1.2
    },
}


def train_config_for_rules(preset, base=None):
    """Returns a new TRAIN_CONFIG dict (or a copy of `base`) with the target and loss keys of
    TRAINING_RULE_PRESETS[preset] ('legacy' or 'pysot')."""
    if preset not in TRAINING_RULE_PRESETS:
        raise ValueError('unknown training-rule preset %r: expected one of %s' % (preset,
                                                                                  sorted(TRAINING_RULE_PRESETS)))
    config = copy.deepcopy(TRAIN_CONFIG if base is None else base)
    for section, values in TRAINING_RULE_PRESETS[preset].items():
        config[section].update(copy.deepcopy(values))
    return config


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


# The CPU-sized schedule: SiamRPN-AlexNet at width 0.25 (channels 24-64-96-96-64) and RPN channels C 64, 8000 steps of
# 8 pairs with Adam, a one-epoch linear warm-up to 5e-4 and a cosine decay to 2e-5; conv1 keeps its initial values,
# which saves its backward pass on the 255 search image (the costliest). About 15 minutes on 2 free cores. Used by
# experiments/SiamRPN-AlexNet-cpu.py on any data and by SiamRPN-AlexNet.py's fallback to the synthetic dataset; the
# numbers that chose it are in docs and the experiment's docstring. Apply it with apply_updates on copies.
CPU_SCHEDULE = {
    'model_config': {'embed_config': {'width_multiplier': 0.25}, 'rpn_config': {'feature_out': 64}},
    'train_config': {
        'train_data_config': {'batch_size': 8, 'epoch': 20, 'num_examples_per_epoch': 3200},
        'optimizer_config': {'optimizer': 'ADAM'},
        'lr_config': {'warmup': 'linear', 'warmup_epochs': 1, 'warmup_start_lr': 1e-4, 'policy': 'cosine',
                      'initial_lr': 5e-4, 'end_lr': 2e-5, 'staircase': False},
        'stages': [{'start_epoch': 0, 'lr_mult': 1.0,
                    'trainable_scopes': ['siamrpn_alexnet/conv2', 'siamrpn_alexnet/conv3', 'siamrpn_alexnet/conv4',
                                         'siamrpn_alexnet/conv5', 'rpn_head']}],
        'save_model_every_n_steps': 1000, 'max_checkpoints_to_keep': 20, 'log_every_n_steps': 25,
        'summary_every_n_steps': 50, 'validation_every_n_steps': 1000, 'validation_batches': 10,
    },
}


def apply_updates(config, updates):
    """Writes the nested dict `updates` into `config` in place (dicts merge key by key; other values replace, copied).
    Raises KeyError naming the dotted path of an update key that `config` lacks. Returns `config`."""
    def merge(target, source, prefix):
        for key, value in source.items():
            if key not in target:
                raise KeyError('%s%s is not a configuration key' % (prefix, key))
            if isinstance(value, dict) and isinstance(target[key], dict) and target[key]:
                merge(target[key], value, '%s%s.' % (prefix, key))
            else:
                target[key] = copy.deepcopy(value)
    merge(config, updates, '')
    return config
