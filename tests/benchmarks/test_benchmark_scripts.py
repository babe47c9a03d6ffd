"""Every script under benchmarks/ imports (its names from other benchmarks and packages resolve) and has a main()."""

import glob
import importlib
import os

import pytest

from tests.conftest import PROJECT_ROOT

SCRIPTS = sorted(os.path.splitext(os.path.basename(path))[0]
                 for path in glob.glob(os.path.join(PROJECT_ROOT, 'benchmarks', '*.py'))
                 if not path.endswith('__init__.py'))


def test_the_benchmarks_are_found():
    assert {'run_OTB', 'bench_tracker', 'bench_exported', 'bench_train'} <= set(SCRIPTS)


@pytest.mark.parametrize('name', SCRIPTS)
def test_benchmark_imports_and_has_a_main(name):
    module = importlib.import_module('benchmarks.' + name)
    assert callable(getattr(module, 'main', None)), 'benchmarks/%s.py has no main()' % name
