"""Tests of run_tracking.py: OTB folder mode with 1-based results, video mode with --init-box, saved videos."""

import os

import cv2
import numpy as np
import pytest

from datasets import synthetic_sequence
from scripts.run_tracking import main
from utils.box_io import read_otb_boxes


@pytest.fixture
def sequence_dir(tmp_path):
    """An OTB-layout folder of the synthetic sequence, numbered from 0303 like a sub-sequence."""
    (tmp_path / 'seq' / 'img').mkdir(parents=True)
    lines = []
    for index in range(6):
        cv2.imwrite(str(tmp_path / 'seq' / 'img' / ('%04d.jpg' % (303 + index))), synthetic_sequence.frame(index))
        x, y, w, h = synthetic_sequence.target_box(index)
        lines.append('%g,%g,%g,%g' % (x + 1, y + 1, w, h))
    (tmp_path / 'seq' / 'groundtruth_rect.txt').write_text('\n'.join(lines) + '\n')
    return str(tmp_path / 'seq')


def test_sequence_mode_writes_one_based_results_and_a_video(tmp_path, sequence_dir, random_checkpoint_dir, capsys):
    output, video = str(tmp_path / 'results' / 'seq.txt'), str(tmp_path / 'seq.mp4')
    assert main(['--checkpoint', random_checkpoint_dir, '--sequence', sequence_dir, '--output', output,
                 '--save-video', video]) == 0
    printed = capsys.readouterr().out
    assert 'tracked 6 frames: tracker' in printed and 'FPS' in printed
    lines = open(output).read().splitlines()
    assert len(lines) == 6 and lines[0] == '71,61,48,36'  # frame 1 is the ground truth, 1-based
    boxes = read_otb_boxes(output)
    assert np.isfinite(boxes).all()
    capture = cv2.VideoCapture(video)
    assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == 6
    capture.release()


def test_video_mode_with_init_box(tmp_path, random_checkpoint_dir, capsys):
    clip = str(tmp_path / 'clip.avi')
    writer = cv2.VideoWriter(clip, cv2.VideoWriter_fourcc(*'MJPG'), 10, (320, 240))
    for index in range(5):
        writer.write(synthetic_sequence.frame(index))
    writer.release()
    output = str(tmp_path / 'clip.txt')
    assert main(['--checkpoint', random_checkpoint_dir, '--video', clip, '--init-box', '70,60,48,36',
                 '--output', output, '--preset', 'vot', '--max-frames', '4']) == 0
    boxes = read_otb_boxes(output)
    assert boxes.shape == (4, 4)
    np.testing.assert_array_equal(boxes[0], [70, 60, 48, 36])  # --init-box is 0-based, the file 1-based
    assert 'tracked 4 frames' in capsys.readouterr().out


def test_errors_are_reported_without_prompts(tmp_path, monkeypatch, random_checkpoint_dir, sequence_dir, capsys):
    monkeypatch.delenv('DISPLAY', raising=False)
    monkeypatch.delenv('WAYLAND_DISPLAY', raising=False)
    clip = str(tmp_path / 'clip.avi')
    writer = cv2.VideoWriter(clip, cv2.VideoWriter_fourcc(*'MJPG'), 10, (320, 240))
    writer.write(synthetic_sequence.frame(0))
    writer.release()
    assert main(['--checkpoint', random_checkpoint_dir, '--video', clip]) == 1
    assert 'pass --init-box' in capsys.readouterr().err
    assert main(['--checkpoint', random_checkpoint_dir, '--video', str(tmp_path / 'none.mp4'), '--init-box',
                 '1,1,5,5']) == 1
    assert 'video file not found' in capsys.readouterr().err
    assert main(['--checkpoint', random_checkpoint_dir, '--sequence', sequence_dir]) == 2
    assert '--sequence needs --output' in capsys.readouterr().err
    assert main(['--checkpoint', str(tmp_path), '--sequence', sequence_dir, '--output',
                 str(tmp_path / 'r.txt'), '--save-video', str(tmp_path / 'v.mp4')]) == 1
    assert 'lacks model_config.json' in capsys.readouterr().err
    assert not os.path.exists(str(tmp_path / 'r.txt'))
    assert [n for n in os.listdir(str(tmp_path)) if n.startswith('.v.mp4')] == []  # temp video removed
