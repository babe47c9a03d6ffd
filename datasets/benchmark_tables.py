"""Facts about the public tracking benchmarks that their files do not say: OTB frame ranges, subsets, UAV123 splits.

Every entry below was checked against the sources named beside it. Frame numbers are the numbers in the image file
names (`img/0300.jpg` is frame 300), 1-based and inclusive, as the OTB and UAV123 MATLAB toolkits count them.

Sources (read with the project's search tools; no code was taken from them):
  [OTB-v10]  jwlim/tracker_benchmark, matlab/util/MakeSequenceConfigVer10.m: the OTB toolkit's sequence configs by
             its authors: image range and, when different, the annotated range (David '300:770', Football1 '1:74'
             of 1:81, Freeman3 '1:460' of 1:474, Freeman4 '1:283' of 1:297); Jogging '.1'/'.2' targets.
  [OTB-v11]  same repository, MakeSequenceConfigVer11.m: Diving '1:215'; 'Human4.2' from groundtruth_rect.2.txt;
             'Skating2.1'/'.2'; BlurCar1/3/4 annotation lengths 742/357/380.
  [VOT-OTB]  votchallenge/toolkit, vot/dataset/otb.py (the VOT toolkit's OTB adapter): David start 300 stop 770,
             Diving stop 215, Football1 stop 74, Freeman3 stop 460, Freeman4 stop 283, BlurCar1/3/4 start 247/3/18,
             Board uses 5-digit file names; its OTB50 subset list.
  [PYTR]     visionml/pytracking, pytracking/evaluation/otbdataset.py (a transcription of the OTB toolkit's
             configSeqs100.m): BlurCar1 247-988, BlurCar3 3-359, BlurCar4 18-397, David 300-770, Diving 1-215,
             Football1 1-74, Freeman3 1-460, Freeman4 1-283, Tiger1 1-354 with initOmit 5, Human4_2, Jogging_1/_2,
             Skating2_1/_2.
  [GOT]      got10k 0.1.3 (PyPI), got10k/datasets/otb.py: the OTB2013 and TB-50 lists, the same David/Football1/
             Freeman3/Freeman4/Diving slices, and the empty groundtruth_rect.1.txt of Human4.
  [SANITY]   kumatheworld/tracking-sanity, Datasets.md: image/annotation counts of the OTB2015 download (David
             770/471, Diving 231/215, Football1 81/74, Freeman3 474/460, Freeman4 297/283), BlurCar1/3/4 first files
             0247/0003/0018.jpg, Board's 00001.jpg, mixed separators in BlurCar1.
  [UAV]      vision4robotics/TSD-Tracker, utils/configSeqs.m (the UAV123 toolkit's configSeqs, cases 'UAV123' and
             'UAV123_10fps'), cross-checked for UAV123 against got10k/datasets/uav123.json.
"""

# OTB sequences whose evaluated frames differ from "every image, one ground-truth row each".
#   first, last: the evaluated frames (image numbers, inclusive);
#   gt_first:    the frame that row 1 of groundtruth_rect.txt annotates.
OTB_FRAME_RANGES = {
    'David': {'first': 300, 'last': 770, 'gt_first': 300},  # [OTB-v10] [VOT-OTB] [PYTR] [GOT] [SANITY]
    'Football1': {'first': 1, 'last': 74, 'gt_first': 1},  # 81 images, 74 rows [OTB-v10] [VOT-OTB] [GOT] [SANITY]
    'Freeman3': {'first': 1, 'last': 460, 'gt_first': 1},  # 474 images, 460 rows [OTB-v10] [VOT-OTB] [GOT] [SANITY]
    'Freeman4': {'first': 1, 'last': 283, 'gt_first': 1},  # 297 images, 283 rows [OTB-v10] [VOT-OTB] [GOT] [SANITY]
    'Diving': {'first': 1, 'last': 215, 'gt_first': 1},  # 231 images, 215 rows [OTB-v11] [VOT-OTB] [GOT] [SANITY]
    'BlurCar1': {'first': 247, 'last': 988, 'gt_first': 247},  # files start at 0247.jpg [VOT-OTB] [PYTR] [SANITY]
    'BlurCar3': {'first': 3, 'last': 359, 'gt_first': 3},  # files start at 0003.jpg [VOT-OTB] [PYTR] [SANITY]
    'BlurCar4': {'first': 18, 'last': 397, 'gt_first': 18},  # files start at 0018.jpg [VOT-OTB] [PYTR] [SANITY]
    # The OTB toolkit omits Tiger1's first 5 frames (initOmit 5): tracking starts at frame 6 with row 6 [PYTR].
    # got10k and the VOT toolkit evaluate all 354 frames instead, so Tiger1 is the one sequence where they differ.
    'Tiger1': {'first': 6, 'last': 354, 'gt_first': 1},
}

# The 100 OTB-2015 targets come from 98 folders: Jogging and Skating2 have two annotated targets
# (groundtruth_rect.1.txt / .2.txt, evaluated as <Seq>-1 and <Seq>-2) and Human4's .1 file is empty, so only
# Human4-2 exists [OTB-v10] [OTB-v11] [GOT]. Folder names of OTB-2015 (TB-100) [GOT]:
OTB100_FOLDERS = (
    'Basketball', 'Biker', 'Bird1', 'Bird2', 'BlurBody', 'BlurCar1', 'BlurCar2', 'BlurCar3', 'BlurCar4', 'BlurFace',
    'BlurOwl', 'Board', 'Bolt', 'Bolt2', 'Box', 'Boy', 'Car1', 'Car2', 'Car24', 'Car4', 'CarDark', 'CarScale',
    'ClifBar', 'Coke', 'Couple', 'Coupon', 'Crossing', 'Crowds', 'Dancer', 'Dancer2', 'David', 'David2', 'David3',
    'Deer', 'Diving', 'Dog', 'Dog1', 'Doll', 'DragonBaby', 'Dudek', 'FaceOcc1', 'FaceOcc2', 'Fish', 'FleetFace',
    'Football', 'Football1', 'Freeman1', 'Freeman3', 'Freeman4', 'Girl', 'Girl2', 'Gym', 'Human2', 'Human3',
    'Human4', 'Human5', 'Human6', 'Human7', 'Human8', 'Human9', 'Ironman', 'Jogging', 'Jump', 'Jumping', 'KiteSurf',
    'Lemming', 'Liquor', 'Man', 'Matrix', 'Mhyang', 'MotorRolling', 'MountainBike', 'Panda', 'RedTeam', 'Rubik',
    'Shaking', 'Singer1', 'Singer2', 'Skater', 'Skater2', 'Skating1', 'Skating2', 'Skiing', 'Soccer', 'Subway',
    'Surfer', 'Suv', 'Sylvester', 'Tiger1', 'Tiger2', 'Toy', 'Trans', 'Trellis', 'Twinnings', 'Vase', 'Walking',
    'Walking2', 'Woman',
)

# OTB-2013 (CVPR 2013, 50 folders, 51 targets with Jogging's two) [GOT].
OTB2013_FOLDERS = (
    'Basketball', 'Bolt', 'Boy', 'Car4', 'CarDark', 'CarScale', 'Coke', 'Couple', 'Crossing', 'David', 'David2',
    'David3', 'Deer', 'Dog1', 'Doll', 'Dudek', 'FaceOcc1', 'FaceOcc2', 'Fish', 'FleetFace', 'Football', 'Football1',
    'Freeman1', 'Freeman3', 'Freeman4', 'Girl', 'Ironman', 'Jogging', 'Jumping', 'Lemming', 'Liquor', 'Matrix',
    'Mhyang', 'MotorRolling', 'MountainBike', 'Shaking', 'Singer1', 'Singer2', 'Skating1', 'Skiing', 'Soccer',
    'Subway', 'Suv', 'Sylvester', 'Tiger1', 'Tiger2', 'Trellis', 'Walking', 'Walking2', 'Woman',
)

# OTB50 = TB-50, the 50 hardest targets of OTB-2015 (49 folders: Skating2 contributes two targets) [GOT] [VOT-OTB].
OTB50_FOLDERS = (
    'Basketball', 'Biker', 'Bird1', 'BlurBody', 'BlurCar2', 'BlurFace', 'BlurOwl', 'Bolt', 'Box', 'Car1', 'Car4',
    'CarDark', 'CarScale', 'ClifBar', 'Couple', 'Crowds', 'David', 'Deer', 'Diving', 'DragonBaby', 'Dudek',
    'Football', 'Freeman4', 'Girl', 'Human3', 'Human4', 'Human6', 'Human9', 'Ironman', 'Jump', 'Jumping', 'Liquor',
    'Matrix', 'MotorRolling', 'Panda', 'RedTeam', 'Shaking', 'Singer2', 'Skating1', 'Skating2', 'Skiing', 'Soccer',
    'Surfer', 'Sylvester', 'Tiger2', 'Trellis', 'Walking', 'Walking2', 'Woman',
)

OTB_SUBSETS = {'otb100': OTB100_FOLDERS, 'otb2013': OTB2013_FOLDERS, 'otb50': OTB50_FOLDERS}


def _uav_table(text):
    """'name first last' triples separated by white space -> {name: (first, last)}."""
    tokens = text.split()
    return {tokens[i]: (int(tokens[i + 1]), int(tokens[i + 2])) for i in range(0, len(tokens), 3)}


# UAV123 sub-sequences cut from a longer folder (`<folder>_<k>` reads data_seq/<version>/<folder>/): the evaluated
# frames (image numbers, inclusive) [UAV]. Every other UAV123 sequence reads its own folder from frame 1, one frame
# per annotation row; UAV20L sequences are whole folders.
UAV_SUBSEQUENCES = {
    'UAV123': _uav_table('''
        bird1_1 1 253          bird1_2 775 1477       bird1_3 1573 2437
        car1_1 1 751           car1_2 751 1627        car1_3 1627 2629
        car6_1 1 487           car6_2 487 1807        car6_3 1807 2953       car6_4 2953 3925       car6_5 3925 4861
        car8_1 1 1357          car8_2 1357 2575       car16_1 1 415          car16_2 415 1993
        group1_1 1 1333        group1_2 1333 2515     group1_3 2515 3925     group1_4 3925 4873
        group2_1 1 907         group2_2 907 1771      group2_3 1771 2683
        group3_1 1 1567        group3_2 1567 2827     group3_3 2827 4369     group3_4 4369 5527
        person2_1 1 1189       person2_2 1189 2623    person4_1 1 1501       person4_2 1501 2743
        person5_1 1 877        person5_2 877 2101     person7_1 1 1249       person7_2 1249 2065
        person8_1 1 1075       person8_2 1075 1525    person12_1 1 601       person12_2 601 1621
        person14_1 1 847       person14_2 847 1813    person14_3 1813 2923
        person17_1 1 1501      person17_2 1501 2347
        person19_1 1 1243      person19_2 1243 2791   person19_3 2791 4357
        truck4_1 1 577         truck4_2 577 1261
        uav1_1 1 1555          uav1_2 1555 2377       uav1_3 2473 3469
    '''),
    'UAV123_10fps': _uav_table('''
        bird1_1 1 85           bird1_2 259 493        bird1_3 525 813
        car1_1 1 251           car1_2 251 543         car1_3 543 877
        car6_1 1 163           car6_2 163 603         car6_3 603 985         car6_4 985 1309        car6_5 1309 1621
        car8_1 1 453           car8_2 453 859         car16_1 1 139          car16_2 139 665
        group1_1 1 445         group1_2 445 839       group1_3 839 1309      group1_4 1309 1625
        group2_1 1 303         group2_2 303 591       group2_3 591 895
        group3_1 1 523         group3_2 523 943       group3_3 943 1457      group3_4 1457 1843
        person2_1 1 397        person2_2 397 875      person4_1 1 501        person4_2 501 915
        person5_1 1 293        person5_2 293 701      person7_1 1 417        person7_2 417 689
        person8_1 1 359        person8_2 359 509      person12_1 1 201       person12_2 201 541
        person14_1 1 283       person14_2 283 605     person14_3 605 975
        person17_1 1 501       person17_2 501 783
        person19_1 1 415       person19_2 415 931     person19_3 931 1453
        truck4_1 1 193         truck4_2 193 421
        uav1_1 1 519           uav1_2 519 793         uav1_3 825 1157
    '''),
    'UAV20L': {},
}


# LaSOT's test set: the 280 sequences of testing_set.txt (20 per class, 70 classes) [LASOT-TEST]: got10k 0.1.3
# (PyPI), got10k/datasets/lasot.json, key 'test', as published with the LaSOT_Evaluation_Toolkit.
LASOT_TEST_SEQUENCES = tuple('''
airplane-1 airplane-9 airplane-13 airplane-15 basketball-1 basketball-6 basketball-7 basketball-11 bear-2 bear-4
bear-6 bear-17 bicycle-2 bicycle-7 bicycle-9 bicycle-18 bird-2 bird-3 bird-15 bird-17 boat-3 boat-4 boat-12
boat-17 book-3 book-10 book-11 book-19 bottle-1 bottle-12 bottle-14 bottle-18 bus-2 bus-5 bus-17 bus-19 car-2
car-6 car-9 car-17 cat-1 cat-3 cat-18 cat-20 cattle-2 cattle-7 cattle-12 cattle-13 spider-14 spider-16 spider-18
spider-20 coin-3 coin-6 coin-7 coin-18 crab-3 crab-6 crab-12 crab-18 surfboard-12 surfboard-4 surfboard-5
surfboard-8 cup-1 cup-4 cup-7 cup-17 deer-4 deer-8 deer-10 deer-14 dog-1 dog-7 dog-15 dog-19 guitar-3 guitar-8
guitar-10 guitar-16 person-1 person-5 person-10 person-12 pig-2 pig-10 pig-13 pig-18 rubicCube-1 rubicCube-6
rubicCube-14 rubicCube-19 swing-10 swing-14 swing-17 swing-20 drone-13 drone-15 drone-2 drone-7 pool-12 pool-15
pool-3 pool-7 rabbit-10 rabbit-13 rabbit-17 rabbit-19 racing-10 racing-15 racing-16 racing-20 robot-1 robot-19
robot-5 robot-8 sepia-13 sepia-16 sepia-6 sepia-8 sheep-3 sheep-5 sheep-7 sheep-9 skateboard-16 skateboard-19
skateboard-3 skateboard-8 tank-14 tank-16 tank-6 tank-9 tiger-12 tiger-18 tiger-4 tiger-6 train-1 train-11
train-20 train-7 truck-16 truck-3 truck-6 truck-7 turtle-16 turtle-5 turtle-8 turtle-9 umbrella-17 umbrella-19
umbrella-2 umbrella-9 yoyo-15 yoyo-17 yoyo-19 yoyo-7 zebra-10 zebra-14 zebra-16 zebra-17 elephant-1 elephant-12
elephant-16 elephant-18 goldfish-3 goldfish-7 goldfish-8 goldfish-10 hat-1 hat-2 hat-5 hat-18 kite-4 kite-6
kite-10 kite-15 motorcycle-1 motorcycle-3 motorcycle-9 motorcycle-18 mouse-1 mouse-8 mouse-9 mouse-17 flag-3
flag-9 flag-5 flag-2 frog-3 frog-4 frog-20 frog-9 gametarget-1 gametarget-2 gametarget-7 gametarget-13 hand-2
hand-3 hand-9 hand-16 helmet-5 helmet-11 helmet-19 helmet-13 licenseplate-6 licenseplate-12 licenseplate-13
licenseplate-15 electricfan-1 electricfan-10 electricfan-18 electricfan-20 chameleon-3 chameleon-6 chameleon-11
chameleon-20 crocodile-3 crocodile-4 crocodile-10 crocodile-14 gecko-1 gecko-5 gecko-16 gecko-19 fox-2 fox-3
fox-5 fox-20 giraffe-2 giraffe-10 giraffe-13 giraffe-15 gorilla-4 gorilla-6 gorilla-9 gorilla-13 hippo-1 hippo-7
hippo-9 hippo-20 horse-1 horse-4 horse-12 horse-15 kangaroo-2 kangaroo-5 kangaroo-11 kangaroo-14 leopard-1
leopard-7 leopard-16 leopard-20 lion-1 lion-5 lion-12 lion-20 lizard-1 lizard-3 lizard-6 lizard-13 microphone-2
microphone-6 microphone-14 microphone-16 monkey-3 monkey-4 monkey-9 monkey-17 shark-2 shark-3 shark-5 shark-6
squirrel-8 squirrel-11 squirrel-13 squirrel-19 volleyball-1 volleyball-13 volleyball-18 volleyball-19
'''.split())
