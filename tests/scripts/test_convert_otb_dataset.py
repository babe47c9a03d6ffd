"""scripts/convert_otb_dataset.py: every layout reads back, with our loaders, as the OTB folder it came from."""

import os

import numpy as np
import pytest

from datasets.benchmark_sequences import load_sequences
from scripts.convert_otb_dataset import main
from tests.sequence_fixtures import moving_boxes, write_otb_sequence


@pytest.fixture
def otb_folder(tmp_path):
    """Two OTB sequences: one numbered from 303 (a UAV123 sub-sequence) with two NaN rows, one plain."""
    root = str(tmp_path / 'otb')
    first = moving_boxes(6, seed=1, size=(96, 72)) + [0.5, 0.25, 0., 0.]
    first[[2, 3]] = np.nan
    write_otb_sequence(root, 'uav_group', first, first_number=303, digits=6, empty_images=True)
    write_otb_sequence(root, 'plain', moving_boxes(4, seed=2, size=(96, 72)))
    return root


@pytest.mark.parametrize('layout, dataset, extra', [
    ('vot', 'vot', []), ('vot', 'vot', ['--polygons']), ('uav', 'uav', []), ('got10k', 'got10k', [])])
def test_layouts_read_back_as_the_source(otb_folder, tmp_path, capsys, layout, dataset, extra):
    output = str(tmp_path / layout)
    if layout == 'got10k':  # got10k writes meta_info.ini from the first image, so it needs real images
        for sequence in load_sequences('otb', otb_folder):
            write_otb_sequence(otb_folder, sequence.name, sequence.gt_boxes, first_number=sequence.frame_numbers[0],
                               digits=6 if sequence.name == 'uav_group' else 4)
    assert main(['--source', otb_folder, '--output', output, '--layout', layout] + extra) == 0
    assert '2 sequences (10 frames) written in the %s layout' % layout in capsys.readouterr().out
    source = {s.name: s for s in load_sequences('otb', otb_folder)}
    converted = load_sequences(dataset, output)
    assert sorted(s.name for s in converted) == sorted(source)
    for sequence in converted:
        original = source[sequence.name]
        np.testing.assert_allclose(sequence.gt_boxes, original.gt_boxes, atol=1e-4)  # NaN rows stay NaN
        assert [os.path.realpath(p) for p in sequence.img_files] == [os.path.realpath(p) for p in original.img_files]
        assert sequence.frame_numbers == list(range(1, len(original) + 1))
    if layout == 'got10k':
        group = [s for s in converted if s.name == 'uav_group'][0]
        assert group.visible.tolist() == [True, True, False, False, True, True]
        with open(os.path.join(output, 'val', 'uav_group', 'meta_info.ini')) as stream:
            assert 'resolution: (96, 72)' in stream.read()


def test_existing_output_and_bad_options_are_errors(otb_folder, tmp_path, capsys):
    output = str(tmp_path / 'vot')
    os.makedirs(os.path.join(output, 'something'))
    with pytest.raises(SystemExit):
        main(['--source', otb_folder, '--output', output, '--layout', 'vot'])
    assert 'already exists and is not empty' in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(['--source', otb_folder, '--output', str(tmp_path / 'uav'), '--layout', 'uav', '--polygons'])
    assert '--polygons applies to the vot layout only' in capsys.readouterr().err
    assert not os.path.exists(str(tmp_path / 'uav'))
