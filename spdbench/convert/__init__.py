"""Converters: upstream benchmark files -> spdbench cached-runs files (`spdbench data convert`).

One module per upstream format. Each registers a `build(name, source, *, verify=True)` function
under the `spdbench.converters` entry point group, once per benchmark name it converts, and
builds its result with `spdbench.convert.toolkit`. Shipped benchmarks read the shared/data
layout (e.g. SOURCE/nb201/...); file adapters read the official files users download (e.g.
SOURCE/nasbench_full.tfrecord).
"""
