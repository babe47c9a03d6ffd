"""Cross-checks of the benchmark fact tables against got10k's copies and against each other."""

import json
import os

import pytest

from datasets.benchmark_tables import (OTB2013_FOLDERS, OTB50_FOLDERS, OTB100_FOLDERS, OTB_FRAME_RANGES,
                                       UAV_SUBSEQUENCES)

got10k_otb = pytest.importorskip('got10k.datasets.otb')


def test_otb_subsets_match_got10k():
    otb = got10k_otb.OTB
    assert sorted(OTB2013_FOLDERS) == sorted(getattr(otb, '_OTB__otb13_seqs'))
    assert sorted(OTB50_FOLDERS) == sorted(getattr(otb, '_OTB__tb50_seqs'))
    assert sorted(OTB100_FOLDERS) == sorted(getattr(otb, '_OTB__tb100_seqs'))
    assert len(OTB100_FOLDERS) == 98  # + Jogging-2 and Skating2-2 = 100 targets
    assert set(OTB2013_FOLDERS) <= set(OTB100_FOLDERS) and set(OTB50_FOLDERS) <= set(OTB100_FOLDERS)


def test_otb_frame_ranges_have_the_published_lengths():
    lengths = {name: r['last'] - r['first'] + 1 for name, r in OTB_FRAME_RANGES.items()}
    # Annotation lengths of the OTB download (David 471 rows, BlurCar1/3/4 742/357/380, ...) and Tiger1's 349
    # evaluated frames after the toolkit's 5 omitted ones.
    assert lengths == {'David': 471, 'Football1': 74, 'Freeman3': 460, 'Freeman4': 283, 'Diving': 215,
                       'BlurCar1': 742, 'BlurCar3': 357, 'BlurCar4': 380, 'Tiger1': 349}
    assert all(r['gt_first'] <= r['first'] for r in OTB_FRAME_RANGES.values())
    assert set(OTB_FRAME_RANGES) <= set(OTB100_FOLDERS)


def test_uav123_subsequences_match_got10k():
    with open(os.path.join(os.path.dirname(got10k_otb.__file__), 'uav123.json')) as stream:
        metas = json.load(stream)
    split = {name: (m['start_frame'], m['end_frame']) for name, m in metas['UAV123'].items()
             if m['folder_name'] != name}
    assert UAV_SUBSEQUENCES['UAV123'] == split
    assert all(m['start_frame'] == 1 and m['folder_name'] == name for name, m in metas['UAV20L'].items())
    assert sorted(UAV_SUBSEQUENCES['UAV123_10fps']) == sorted(split)
    # The shared otb-dev copies of UAV123@10fps sub-sequences: group2_2 is frames 303-591, car16_1 frames 1-139.
    assert UAV_SUBSEQUENCES['UAV123_10fps']['group2_2'] == (303, 591)
    assert UAV_SUBSEQUENCES['UAV123_10fps']['car16_1'] == (1, 139)
