"""Staged training (TRAIN_CONFIG['stages']): which variables train when, and at which learning-rate multipliers.

A stage is {'start_epoch': e, 'trainable_scopes': 'all' | [scope, ...], 'lr_mult': m} plus, optionally,
'scope_lr_mults': {scope: multiplier}; stages run in order of start_epoch and the first starts at epoch 0. A scope
names variables by prefix ('rpn_head', 'siamrpn_alexnet/conv4'); embedding layers outside every scope are frozen:
their conv and BN are not trained and their BN runs in inference mode, so its moving statistics stay as they are
(SiameseModel's `frozen_layers`). The RPN head has no BN, so leaving its variables out of the optimizer's var_list
freezes it.

Rates: a trained variable's learning rate is schedule(step) * lr_mult * its scope multiplier, the multiplier of the
longest `scope_lr_mults` scope that names it (1.0 when none does). E.g. pysot's SiamRPN++ recipes (backbone at
BACKBONE.LAYERS_LR = 0.1 of the head's rate):
    {'start_epoch': 10, 'trainable_scopes': ['siamrpn_alexnet/conv4', 'siamrpn_alexnet/conv5', 'rpn_head'],
     'lr_mult': 1.0, 'scope_lr_mults': {'siamrpn_alexnet': 0.1}}
Multipliers are > 0: a frozen scope is one left out of trainable_scopes, and a multiplier may only name variables the
stage trains. They are true rate multipliers for every optimizer (training/train_op.scaled_rate_optimizer: one optimizer
per multiplier, each at its scaled rate); scaling the gradients instead would equal this for SGD and momentum only
(Adam normalises the gradient's scale away).

Each stage is trained by its own graph (training/stage_graph.py): frozen layers and var_list are fixed when the
graph is built, the stage restores the latest checkpoint, trains to the next stage's start and saves. A resumed run
finds its stage from the global step.
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
        unknown = set(stage) - {'start_epoch', 'trainable_scopes', 'lr_mult', 'scope_lr_mults'}
        missing = {'start_epoch', 'trainable_scopes', 'lr_mult'} - set(stage)
        if unknown or missing:
            raise ValueError('train_config.stages[%d]: unknown keys %s, missing keys %s (expected start_epoch, '
                             'trainable_scopes, lr_mult and optionally scope_lr_mults)'
                             % (index, sorted(unknown), sorted(missing)))
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
        stage['scope_lr_mults'] = _check_scope_lr_mults(index, stage.get('scope_lr_mults'),
                                                        stage['trainable_scopes'])
        checked.append(stage)
    checked.sort(key=lambda s: s['start_epoch'])
    if checked[0]['start_epoch'] != 0:
        raise ValueError('train_config.stages: the first stage must start at epoch 0, got %r'
                         % checked[0]['start_epoch'])
    starts = [s['start_epoch'] for s in checked]
    if len(set(starts)) != len(starts):
        raise ValueError('train_config.stages: two stages start at the same epoch (%s)' % starts)
    return checked


def _check_scope_lr_mults(index, mults, trainable_scopes):
    """Validates one stage's scope_lr_mults -> {scope without slashes at the ends: float}; None -> {}."""
    field = 'train_config.stages[%d].scope_lr_mults' % index
    if mults is None:
        return {}
    if not isinstance(mults, dict):
        raise ValueError('%s must be a dict {variable scope: rate multiplier}, e.g. {%r: 0.1}, got %r'
                         % (field, EMBEDDING_SCOPE, mults))
    checked = {}
    for scope, mult in mults.items():
        if not (isinstance(scope, str) and scope.strip('/')):
            raise ValueError('%s: keys must be variable scopes such as %r, got %r' % (field, EMBEDDING_SCOPE, scope))
        if isinstance(mult, bool) or not isinstance(mult, (int, float)) or not mult > 0 or mult != mult:
            raise ValueError('%s[%r] must be a number > 0, got %r (to freeze a scope, leave it out of '
                             'trainable_scopes)' % (field, scope, mult))
        name = scope.strip('/')
        if name in checked:
            raise ValueError('%s names scope %r twice' % (field, name))
        if trainable_scopes != ALL and not any(_matches(name, s) or _matches(s, name) for s in trainable_scopes):
            raise ValueError('%s[%r]: the stage does not train this scope (trainable_scopes %s); a multiplier may '
                             'only name trained variables' % (field, scope, trainable_scopes))
        checked[name] = float(mult)
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


def variable_lr_mults(var_list, scope_lr_mults):
    """Rate multiplier of each variable of var_list (aligned list of floats): the multiplier of the longest scope of
    `scope_lr_mults` that names it, 1.0 when none does. A scope that names none of var_list is an error (a typo, or a
    scope the stage does not train)."""
    scopes = sorted(scope_lr_mults, key=len, reverse=True)
    for scope in scopes:
        if not any(_matches(v.op.name, scope) for v in var_list):
            names = sorted({'/'.join(v.op.name.split('/')[:2]) for v in var_list})
            raise ValueError('scope_lr_mults scope %r names none of the variables this stage trains (%s)'
                             % (scope, ', '.join(names)))
    mults = []
    for variable in var_list:
        scope = next((s for s in scopes if _matches(variable.op.name, s)), None)
        mults.append(1.0 if scope is None else scope_lr_mults[scope])
    return mults
