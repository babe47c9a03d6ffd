"""The template tensor names are a contract with every export written so far: they must not change."""

from utils.template_names import FUSED_TEMPLATE, SEPARATE_TEMPLATE


def test_template_names_are_those_of_the_exports():
    assert SEPARATE_TEMPLATE == ('cls_kernels', 'reg_kernels')  # version-1 exports and the unfused head
    assert FUSED_TEMPLATE == ('fused_kernel', 'fused_bias')  # version-2 exports' default
