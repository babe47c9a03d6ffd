"""Names of the per-video template tensors, shared by the model and the exports' loader.

SiameseModel's template step (siamese_model.py) builds these tensors under these names, the exports record them in
their manifests (inference/graph_export.py) and inference/exported.py feeds them back to the track step without
importing the model code. Exports written earlier carry these strings, so they must not change.
"""

# The unfused head (rpn_config.fused_search_head false, and every version-1 export): cls_kernels [1, 4, 4, C, 2k],
# reg_kernels [1, 4, 4, C, 4k].
SEPARATE_TEMPLATE = ('cls_kernels', 'reg_kernels')
# The fused search head (the default): fused_kernel [1, 6, 6, Cin, 6k], fused_bias [1, 6k] (embeddings/rpn_head.py).
FUSED_TEMPLATE = ('fused_kernel', 'fused_bias')
