"""Installs SiamRPN-TF in development mode so scripts, experiments and tests import it without path tricks."""
from setuptools import find_packages, setup

setup(
    name='siamrpn-tf',
    version='0.1.0',
    description='SiamRPN visual object tracker: a TensorFlow 1.15 graph-mode port in the SiamFC-TensorFlow style',
    python_requires='>=3.7,<3.9',  # 3.7 (make venv); 3.8 in NVIDIA's TF1 container (docker/Dockerfile.gpu)
    packages=find_packages(include=['embeddings', 'embeddings.*', 'utils', 'utils.*', 'datasets', 'datasets.*',
                                    'training', 'training.*', 'inference', 'inference.*', 'metrics', 'metrics.*',
                                    'scripts', 'scripts.*', 'benchmarks', 'benchmarks.*']),
    py_modules=['configuration', 'siamese_model', 'train_siamese_model'],
)
