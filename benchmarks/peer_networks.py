"""The tracker's network in PyTorch or ONNX Runtime, as timing workers for benchmarks/bench_tracker.py.

  <python with torch>        benchmarks/peer_networks.py --backend torch --arrays ARRAYS.npz [--threads 2]
  <python with onnxruntime>  benchmarks/peer_networks.py --backend onnxruntime --arrays ARRAYS.npz

Standalone: it needs numpy and the backend (torch; or onnxruntime and onnx), not TensorFlow or this project, so it
runs from another environment (e.g. a Python 3.11 venv; neither is a project dependency). bench_tracker.py starts
it with --torch-python / --onnxruntime-python and talks to it over stdin/stdout, one JSON object per line (`serve`,
which bench_tracker.py's own TF workers use too):
  worker -> {"ready": true, "cases": [...], "info": {...}}       once, after building everything
  parent -> {"case": NAME}        worker -> {"ms": milliseconds of one call of NAME}
  parent -> {"case": "exit"}      the worker exits
Only the call is timed, inside the worker, so the pipe costs nothing.

ARRAYS.npz is written by the TF worker (bench_tracker.py): every model variable under its TF name, the template
step's outputs for one exemplar (`template/cls_kernels`, `template/reg_kernels`, `template/fused_kernel`,
`template/fused_bias`), one uint8 search crop per size (`search/<X>`), TF's raw maps for it (`tf/<X>/cls`,
`tf/<X>/reg`, NHWC) and `meta` (JSON: layer strides, pooling, ReLU, BN epsilon, sizes). The peers build the same
network from these arrays (BN folded into the convs, as a deployment does) and report their largest relative error
against TF's maps in `info`, so a column is only timed once it computes the same thing.

Cases: `network/<head>/<X>` for head 'separate' (conv_cls2/conv_r2, correlation with the kernels, regress_adjust)
and 'fused' (one 6x6 conv, embeddings/rpn_head.py), X each search size: one forward pass from a uint8 HWC crop
(converted to float32 NCHW inside the timed call, as TF casts inside its graph) to the two raw maps. The per-video
kernels are inputs of the call (ONNX Runtime: graph inputs, so they are not pre-packed as constants), as they are
per-video values in a tracker. PyTorch runs NCHW and channels-last (`torch_nchw` / `torch_cl` in the case name),
and `matmul` times torch.mm of two 2048x2048 float32 matrices (a large-matmul peak of this CPU).
"""

import argparse
import json
import os
import sys
import time

import numpy as np

HEADS = ('separate', 'fused')


def protocol_stream():
    """The stream for protocol lines: a duplicate of stdout, after which file descriptor 1 (print, and libraries
    writing to stdout from C) goes to stderr, so nothing else can write into the protocol."""
    sys.stdout.flush()
    stream = os.fdopen(os.dup(1), 'w')
    os.dup2(2, 1)
    return stream


def serve(cases, info, stdin=None, stdout=None):
    """Runs the timing protocol of the module docstring for {name: function} until told to exit."""
    stdin, stdout = stdin or sys.stdin, stdout or sys.stdout
    stdout.write(json.dumps({'ready': True, 'cases': sorted(cases), 'info': info}) + '\n')
    stdout.flush()
    for line in stdin:
        request = json.loads(line)
        name = request['case']
        if name == 'exit':
            break
        try:
            start = time.perf_counter()
            cases[name]()
            reply = {'ms': 1e3 * (time.perf_counter() - start)}
        except Exception as error:  # reported to the parent, which names the worker and the case
            reply = {'error': '%s: %s' % (type(error).__name__, error)}
        stdout.write(json.dumps(reply) + '\n')
        stdout.flush()


def folded_layers(arrays, meta):
    """[(weights OIHW, bias, stride, pool, relu)] of the embedding with each BN folded into its conv (float32)."""
    layers = []
    for name, stride, pool, relu in zip(meta['layers'], meta['strides'], meta['pool_after'], meta['relu_after']):
        prefix = 'siamrpn_alexnet/%s/' % name
        weights, bias = arrays[prefix + 'conv/weights'], arrays[prefix + 'conv/biases']
        gamma, beta = arrays[prefix + 'BatchNorm/gamma'], arrays[prefix + 'BatchNorm/beta']
        mean, variance = arrays[prefix + 'BatchNorm/moving_mean'], arrays[prefix + 'BatchNorm/moving_variance']
        scale = gamma.astype(np.float64) / np.sqrt(variance.astype(np.float64) + meta['bn_epsilon'])
        folded = weights.astype(np.float64) * scale  # HWIO, scaled per output channel
        layers.append((np.ascontiguousarray(folded.transpose(3, 2, 0, 1), np.float32),
                       ((bias - mean) * scale + beta).astype(np.float32), stride, pool, relu))
    return layers


def head_arrays(arrays, head):
    """The head's arrays in OIHW / [O] layouts: separate -> cls2, r2, cls_kernel, reg_kernel, adjust;
    fused -> kernel, bias."""
    def oihw(hwio):
        return np.ascontiguousarray(np.transpose(hwio, (3, 2, 0, 1)), np.float32)

    if head == 'fused':
        return {'kernel': oihw(arrays['template/fused_kernel'][0]), 'bias': arrays['template/fused_bias'][0]}
    return {'cls2': (oihw(arrays['rpn_head/conv_cls2/weights']), arrays['rpn_head/conv_cls2/biases']),
            'r2': (oihw(arrays['rpn_head/conv_r2/weights']), arrays['rpn_head/conv_r2/biases']),
            'adjust': (oihw(arrays['rpn_head/regress_adjust/weights']), arrays['rpn_head/regress_adjust/biases']),
            'cls_kernel': oihw(arrays['template/cls_kernels'][0]),
            'reg_kernel': oihw(arrays['template/reg_kernels'][0])}


def relative_error(got, expected):
    """max |got - expected| / max |expected|."""
    expected = np.asarray(expected, np.float64)
    return float(np.abs(np.asarray(got, np.float64) - expected).max() / np.abs(expected).max())


def nchw(crop):
    """[X, X, 3] uint8 -> [1, 3, X, X] float32."""
    return np.ascontiguousarray(crop.transpose(2, 0, 1)[None], np.float32)


# ---- PyTorch ---------------------------------------------------------------------------------------------------

def torch_cases(arrays, meta, threads):
    """{case: function} and info for PyTorch, NCHW and channels-last."""
    import torch
    import torch.nn.functional as F
    torch.set_num_threads(threads)
    torch.set_grad_enabled(False)

    def tensor(value, memory_format):
        result = torch.from_numpy(np.ascontiguousarray(value, np.float32))
        return result.contiguous(memory_format=memory_format) if result.dim() == 4 else result

    cases, errors = {}, {}
    for layout, memory_format in (('torch_nchw', torch.contiguous_format), ('torch_cl', torch.channels_last)):
        layers = [(tensor(w, memory_format), tensor(b, memory_format), s, p, r)
                  for w, b, s, p, r in folded_layers(arrays, meta)]
        for head in HEADS:
            params = head_arrays(arrays, head)
            params = {k: tuple(tensor(v, memory_format) for v in value) if isinstance(value, tuple)
                      else tensor(value, memory_format) for k, value in params.items()}

            def forward(crop, layers=layers, params=params, head=head, memory_format=memory_format):
                x = torch.from_numpy(nchw(crop)).contiguous(memory_format=memory_format)
                with torch.inference_mode():
                    for weights, bias, stride, pool, relu in layers:
                        x = F.conv2d(x, weights, bias, stride=stride)
                        if pool:
                            x = F.max_pool2d(x, 3, 2)
                        if relu:
                            x = F.relu(x)
                    if head == 'fused':
                        maps = F.conv2d(x, params['kernel'], params['bias'])
                        k2 = maps.shape[1] // 3
                        return maps[:, :k2], maps[:, k2:]
                    cls = F.conv2d(F.conv2d(x, *params['cls2']), params['cls_kernel'])
                    reg = F.conv2d(F.conv2d(F.conv2d(x, *params['r2']), params['reg_kernel']), *params['adjust'])
                    return cls, reg

            for size in meta['sizes']:
                crop = arrays['search/%d' % size]
                cls, reg = forward(crop)
                errors['%s/%s/%d' % (layout, head, size)] = max(
                    relative_error(cls.permute(0, 2, 3, 1).numpy(), arrays['tf/%d/cls' % size]),
                    relative_error(reg.permute(0, 2, 3, 1).numpy(), arrays['tf/%d/reg' % size]))
                cases['network/%s/%d/%s' % (head, size, layout)] = (lambda f=forward, c=crop: f(c))
    host = torch.from_numpy(np.random.RandomState(1).rand(2048, 2048).astype(np.float32))
    cases['matmul'] = lambda: torch.mm(host, host)
    info = {'backend': 'PyTorch %s' % torch.__version__, 'threads': torch.get_num_threads(),
            'max_relative_error': max(errors.values()), 'relative_errors': errors}
    return cases, info


# ---- ONNX Runtime ----------------------------------------------------------------------------------------------

def onnx_model(arrays, meta, head, size):
    """The network at search size `size` as an ONNX ModelProto: input 'instance' [1, 3, X, X] float32 and the
    per-video kernels as inputs; outputs 'cls' [1, 2k, S, S] and 'reg' [1, 4k, S, S]."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    initializers, nodes = [], []

    def constant(name, value):
        initializers.append(numpy_helper.from_array(np.ascontiguousarray(value, np.float32), name))
        return name

    def conv(name, x, weights, bias=None, stride=1):
        inputs = [x, weights] + ([bias] if bias is not None else [])
        nodes.append(helper.make_node('Conv', inputs, [name], strides=[stride, stride]))
        return name

    x = 'instance'
    for index, (weights, bias, stride, pool, relu) in enumerate(folded_layers(arrays, meta)):
        x = conv('conv%d' % index, x, constant('w%d' % index, weights), constant('b%d' % index, bias), stride)
        if pool:
            nodes.append(helper.make_node('MaxPool', [x], ['pool%d' % index], kernel_shape=[3, 3], strides=[2, 2]))
            x = 'pool%d' % index
        if relu:
            nodes.append(helper.make_node('Relu', [x], ['relu%d' % index]))
            x = 'relu%d' % index
    params = head_arrays(arrays, head)
    score = (size - meta['exemplar_size']) // meta['stride'] + 1
    k = params['kernel'].shape[0] // 6 if head == 'fused' else params['cls_kernel'].shape[0] // 2
    inputs = [helper.make_tensor_value_info('instance', TensorProto.FLOAT, [1, 3, size, size])]
    if head == 'fused':
        inputs += [helper.make_tensor_value_info('kernel', TensorProto.FLOAT, list(params['kernel'].shape)),
                   helper.make_tensor_value_info('bias', TensorProto.FLOAT, list(params['bias'].shape))]
        conv('maps', x, 'kernel', 'bias')
        initializers.append(numpy_helper.from_array(np.array([2 * k, 4 * k], np.int64), 'split'))
        nodes.append(helper.make_node('Split', ['maps', 'split'], ['cls', 'reg'], axis=1))
    else:
        inputs += [helper.make_tensor_value_info('cls_kernel', TensorProto.FLOAT, list(params['cls_kernel'].shape)),
                   helper.make_tensor_value_info('reg_kernel', TensorProto.FLOAT, list(params['reg_kernel'].shape))]
        cls_features = conv('cls2', x, constant('cls2_w', params['cls2'][0]), constant('cls2_b', params['cls2'][1]))
        reg_features = conv('r2', x, constant('r2_w', params['r2'][0]), constant('r2_b', params['r2'][1]))
        conv('cls', cls_features, 'cls_kernel')
        reg_raw = conv('reg_raw', reg_features, 'reg_kernel')
        conv('reg', reg_raw, constant('adjust_w', params['adjust'][0]), constant('adjust_b', params['adjust'][1]))
    outputs = [helper.make_tensor_value_info('cls', TensorProto.FLOAT, [1, 2 * k, score, score]),
               helper.make_tensor_value_info('reg', TensorProto.FLOAT, [1, 4 * k, score, score])]
    graph = helper.make_graph(nodes, 'siamrpn_%s_%d' % (head, size), inputs, outputs, initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def onnxruntime_cases(arrays, meta, threads):
    """{case: function} and info for ONNX Runtime (CPU execution provider, all graph optimisations)."""
    import onnxruntime
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    cases, errors = {}, {}
    for head in HEADS:
        params = head_arrays(arrays, head)
        kernels = ({'kernel': params['kernel'], 'bias': params['bias']} if head == 'fused' else
                   {'cls_kernel': params['cls_kernel'], 'reg_kernel': params['reg_kernel']})
        for size in meta['sizes']:
            session = onnxruntime.InferenceSession(onnx_model(arrays, meta, head, size).SerializeToString(),
                                                   options, providers=['CPUExecutionProvider'])
            crop = arrays['search/%d' % size]

            def forward(crop=crop, session=session, kernels=kernels):
                return session.run(['cls', 'reg'], dict(kernels, instance=nchw(crop)))

            cls, reg = forward()
            errors['%s/%d' % (head, size)] = max(
                relative_error(cls.transpose(0, 2, 3, 1), arrays['tf/%d/cls' % size]),
                relative_error(reg.transpose(0, 2, 3, 1), arrays['tf/%d/reg' % size]))
            cases['network/%s/%d/onnxruntime' % (head, size)] = forward
    info = {'backend': 'ONNX Runtime %s' % onnxruntime.__version__, 'threads': threads,
            'max_relative_error': max(errors.values()), 'relative_errors': errors}
    return cases, info


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--backend', required=True, choices=['torch', 'onnxruntime'])
    parser.add_argument('--arrays', required=True, help='the .npz written by bench_tracker.py')
    parser.add_argument('--threads', type=int, default=2, help='intra-op threads')
    args = parser.parse_args(argv)
    stream = protocol_stream()
    with np.load(args.arrays) as data:
        arrays = {key: data[key] for key in data.files}
    meta = json.loads(str(arrays.pop('meta')))
    build = torch_cases if args.backend == 'torch' else onnxruntime_cases
    cases, info = build(arrays, meta, args.threads)
    serve(cases, info, stdout=stream)
    return 0


if __name__ == '__main__':
    sys.exit(main())
