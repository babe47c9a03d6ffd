"""Tests of the experiment scripts' configurations through Sacred's command line (print_config)."""

import os
import re
import subprocess
import sys

from tests.conftest import PROJECT_ROOT

EXPERIMENTS = os.path.join(PROJECT_ROOT, 'experiments')


def print_config(script, cwd, *updates):
    """Runs `python experiments/<script> print_config [with updates]` in cwd; returns its output (no colours)."""
    command = [sys.executable, os.path.join(EXPERIMENTS, script), 'print_config']
    if updates:
        command += ['with'] + list(updates)
    result = subprocess.run(command, cwd=str(cwd), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300)
    output = re.sub(r'\x1b\[[0-9;]*m', '', result.stdout.decode())
    assert result.returncode == 0, output
    return output


def value(output, *path):
    """The printed value of `key = value` under the nested sections path[:-1] (e.g. 'train_data_config',
    'batch_size'): the first such line after the last section header."""
    position = 0
    for section in path[:-1]:
        position = output.index('%s:' % section, position)
    return re.compile(r'^\s*%s = (.+)$' % re.escape(path[-1]), re.MULTILINE).search(output, position).group(1)


def test_alexnet_falls_back_to_a_cpu_schedule_without_data_and_the_command_line_wins(tmp_path):
    output = print_config('SiamRPN-AlexNet.py', tmp_path, 'train_config.train_data_config.batch_size=4')
    assert value(output, 'width_multiplier') == '0.25' and value(output, 'optimizer') == "'ADAM'"
    assert value(output, 'train_data_config', 'batch_size') == '4'  # the command line beats the fallback's 8
    assert value(output, 'train_dir') == "'Logs/SiamRPN/track_model_checkpoints/SiamRPN-AlexNet'"
    output = print_config('SiamRPN-AlexNet.py', tmp_path, 'train_config.train_data_config.input_imdb=data/t.json',
                          'train_config.train_data_config.lmdb_path=data/lmdb',
                          'model_config.embed_config.width_multiplier=0.5')
    assert value(output, 'width_multiplier') == '0.5' and value(output, 'optimizer') == "'MOMENTUM'"
    assert value(output, 'train_data_config', 'epoch') == '50' and value(output, 'policy') == "'log_space'"


def test_pretrained_and_scratch_experiments(tmp_path):
    output = print_config('SiamRPN-AlexNet-pretrained.py', tmp_path)
    assert value(output, 'embedding_checkpoint_file') == "'Logs/SiamRPN/pretrained/embedding'"
    stages = ' '.join(output[output.index('stages = '):output.index('summary_every_n_steps')].split())
    assert stages == ("stages = [{'lr_mult': 1.0, 'start_epoch': 0, 'trainable_scopes': ['rpn_head']}, "
                      "{'lr_mult': 1.0, 'scope_lr_mults': {'siamrpn_alexnet': 1.0}, 'start_epoch': 10, "
                      "'trainable_scopes': ['siamrpn_alexnet/conv4', 'siamrpn_alexnet/conv5', 'rpn_head']}]")
    assert value(output, 'train_dir') == "'Logs/SiamRPN/track_model_checkpoints/SiamRPN-AlexNet-pretrained'"
    output = print_config('SiamRPN-AlexNet-scratch.py', tmp_path)
    assert value(output, 'warmup') == "'linear'" and value(output, 'warmup_epochs') == '10'
    assert value(output, 'embedding_checkpoint_file') == 'None' and value(output, 'width_multiplier') == '1.0'


def test_cpu_experiment_applies_the_cpu_schedule_to_real_data_and_takes_a_whole_checkpoint(tmp_path):
    output = print_config('SiamRPN-AlexNet-cpu.py', tmp_path, 'train_config.train_data_config.input_imdb=data/t.json',
                          'train_config.train_data_config.lmdb_path=data/lmdb', 'train_config.init_checkpoint=run/x',
                          'train_config.train_data_config.epoch=10')
    assert value(output, 'width_multiplier') == '0.25' and value(output, 'feature_out') == '64'
    assert value(output, 'optimizer') == "'ADAM'" and value(output, 'policy') == "'cosine'"
    assert value(output, 'train_data_config', 'epoch') == '10'  # the command line beats the schedule's 20
    assert value(output, 'init_checkpoint') == "'run/x'"
    assert value(output, 'train_dir') == "'Logs/SiamRPN/track_model_checkpoints/SiamRPN-AlexNet-cpu'"
