"""Staged training (TRAIN_CONFIG['stages']): which variables train when, and at which learning-rate multiplier.

A stage is {'start_epoch': e, 'trainable_scopes': 'all' | [scope, ...], 'lr_mult': m}; stages run in order of
start_epoch and the first starts at epoch 0. A scope names variables by prefix ('rpn_head',
'siamrpn_alexnet/conv4'); embedding layers outside every scope are frozen: their conv and BN are not trained and
their BN runs in inference mode, so its moving statistics stay as they are (SiameseModel's `frozen_layers`). The RPN
head has no BN, so leaving its variables out of the optimizer's var_list freezes it.

Each stage is trained by its own graph (trainer.py): frozen layers and var_list are fixed when the graph is built, the
stage restores the latest checkpoint, trains to the next stage's start and saves. A resumed run finds its stage from
the global step.
"""

import copy

from embeddings.siamrpn_alexnet import LAYERS

EMBEDDING_SCOPE = 'siamrpn_alexnet'
ALL = 'all'


def check_stages(stages):
    """Validates TRAIN_CONFIG['stages'] and returns a copy sorted by start_epoch; errors name the stage and field."""
    if not isinstance(stages, (list, tuple)) or not stages:
        raise ValueError('train_config.stages must be a non-empty list of {start_epoch, trainable_scopes, lr_mult}, '
                         'got %r' % (stages,))
    checked = []
    for index, stage in enumerate(stages):
        if not isinstance(stage, dict):
            raise ValueError('train_config.stages[%d] must be a dict, got %r' % (index, stage))
        unknown = set(stage) - {'start_epoch', 'trainable_scopes', 'lr_mult'}
        missing = {'start_epoch', 'trainable_scopes', 'lr_mult'} - set(stage)
        if unknown or missing:
            raise ValueError('train_config.stages[%d]: unknown keys %s, missing keys %s (expected start_epoch, '
                             'trainable_scopes, lr_mult)' % (index, sorted(unknown), sorted(missing)))
        scopes = stage['trainable_scopes']
        if scopes != ALL and not (isinstance(scopes, (list, tuple)) and scopes
                                  and all(isinstance(s, str) and s.strip('/') for s in scopes)):
            raise ValueError("train_config.stages[%d].trainable_scopes must be 'all' or a non-empty list of variable "
                             "scopes, got %r" % (index, scopes))
        if not stage['lr_mult'] > 0:
            raise ValueError('train_config.stages[%d].lr_mult must be > 0, got %r' % (index, stage['lr_mult']))
        if not stage['start_epoch'] >= 0:
            raise ValueError('train_config.stages[%d].start_epoch must be >= 0, got %r' % (index, stage['start_epoch']))
        stage = copy.deepcopy(stage)
        if scopes != ALL:
            stage['trainable_scopes'] = [s.strip('/') for s in scopes]
        checked.append(stage)
    checked.sort(key=lambda s: s['start_epoch'])
    if checked[0]['start_epoch'] != 0:
        raise ValueError('train_config.stages: the first stage must start at epoch 0, got %r'
                         % checked[0]['start_epoch'])
    starts = [s['start_epoch'] for s in checked]
    if len(set(starts)) != len(starts):
        raise ValueError('train_config.stages: two stages start at the same epoch (%s)' % starts)
    return checked


def stage_start_steps(stages, steps_per_epoch):
    """First global step of each (checked) stage."""
    return [int(round(stage['start_epoch'] * steps_per_epoch)) for stage in stages]


def stage_at(stages, step, steps_per_epoch):
    """Index of the stage that trains global step `step`."""
    starts = stage_start_steps(stages, steps_per_epoch)
    return max(i for i, start in enumerate(starts) if start <= step)


def _matches(name, scope):
    return name == scope or name.startswith(scope + '/')


def frozen_layers(trainable_scopes, train_embedding=True):
    """Embedding layers (names from LAYERS) that no trainable scope covers.

    Raises ValueError when a scope names only part of an embedding layer (e.g. its conv but not its BN): a layer
    trains as a whole, or its BN statistics would move while its affine parameters stay frozen.
    """
    if not train_embedding:
        return tuple(LAYERS)
    if trainable_scopes == ALL:
        return ()
    frozen = []
    for layer in LAYERS:
        layer_scope = '%s/%s' % (EMBEDDING_SCOPE, layer)
        if any(_matches(layer_scope, scope) for scope in trainable_scopes):
            continue
        partial = [scope for scope in trainable_scopes if scope.startswith(layer_scope + '/')]
        if partial:
            raise ValueError('trainable scope %s names part of embedding layer %s; name the whole layer (%s) or '
                             'leave it frozen' % (partial[0], layer, layer_scope))
        frozen.append(layer)
    return tuple(frozen)


def select_variables(variables, trainable_scopes):
    """The variables under `trainable_scopes` ('all': every variable); a scope that matches nothing is an error."""
    if trainable_scopes == ALL:
        return list(variables)
    selected = [v for v in variables if any(_matches(v.op.name, scope) for scope in trainable_scopes)]
    for scope in trainable_scopes:
        if not any(_matches(v.op.name, scope) for v in variables):
            names = sorted({'/'.join(v.op.name.split('/')[:2]) for v in variables})
            raise ValueError('trainable scope %r matches no trainable variable; scopes look like %s'
                             % (scope, ', '.join(names)))
    return selected
