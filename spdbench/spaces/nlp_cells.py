"""NAS-Bench-NLP's recurrent cells (Klyuchnikov et al. 2022): the recorded cells with their graphs.

A cell graph (upstream: `recepie`, a dict node name -> {"op", "input"}) is stored as one short
string per cell, nodes in topological order::

    L(x,h0);T(0);L(x,1);S(2);B(3,h0,1)->4,2

- each node is `OP(SOURCES)`: OP is one of the codes in `OPS` (L linear, T tanh, S sigmoid,
  R leaky ReLU, + elementwise sum, * elementwise product, B blend); a source is `x` (the cell's
  input), `hK` (h_prev_K, the cell's K-th recurrent state), `J` (node J of this string) or `?`
  (a name that is no node nor input: a dangling input, kept so that the builder can refuse it);
- after `->` the node that gives each new state h_new_0, h_new_1, ... in order.

Upstream node names are dropped: only the order matters. `parse_graphs` turns the strings into
padded arrays (op codes, source codes, outputs), `encode_recipe` turns an upstream recipe into a
string. The space is `RecordedCellSpace` (cells addressed by id, op-count features) plus these
graphs, which the Petri dish instantiates as motif-networks (spdbench.spaces.nlp_motifs).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from spdbench.errors import ConfigError, DataFileError
from spdbench.spaces.motif_settings import CellMotifSettings
from spdbench.spaces.recorded import RecordedCellSpace

if TYPE_CHECKING:
    from spdbench.spaces.motifs import MotifNetworks

# upstream op name -> code; the index of an op in this dict is its op code in the arrays
OPS = {
    "linear": "L",
    "activation_tanh": "T",
    "activation_sigm": "S",
    "activation_leaky_relu": "R",
    "elementwise_sum": "+",
    "elementwise_prod": "*",
    "blend": "B",
}
CODES = list(OPS.values())
LINEAR, TANH, SIGM, LEAKY, SUM, PROD, BLEND = range(len(OPS))
# inputs each op takes (linear: one to MAX_INPUTS); upstream's elementwise ops take 2 and blend
# z, a, b (z * a + (1 - z) * b)
ARITY = {TANH: 1, SIGM: 1, LEAKY: 1, SUM: 2, PROD: 2, BLEND: 3}
MAX_INPUTS = 3
MAX_STATES = 3  # recurrent states h_prev_0..2 (NAS-Bench-NLP's cells use at most 3)
# source codes in the arrays: X the input, 1 + k h_prev_k, FIRST_NODE + j node j,
# DANGLING a name that is neither, PAD no input
X, FIRST_NODE, DANGLING, PAD = 0, 1 + MAX_STATES, -1, -2
_NODE = re.compile(r"([LTSR+*B])\(([^()]*)\)")


def _order(recipe: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Node names in a topological order (Kahn's, ties in recipe order); a cycle keeps the
    rest in recipe order, so that the builder finds an input from a later node."""
    names = list(recipe)
    deps = {n: {i for i in recipe[n]["input"] if i in recipe} for n in names}
    done: list[str] = []
    while len(done) < len(names):
        ready = [n for n in names if n not in done and deps[n] <= set(done)]
        if not ready:
            return done + [n for n in names if n not in done]
        done.append(ready[0])
    return done


def encode_recipe(recipe: Mapping[str, Mapping[str, Any]]) -> str:
    """An upstream recipe as one graph string (see the module docstring)."""
    try:
        order = _order(recipe)
        position = {name: j for j, name in enumerate(order)}
        nodes = []
        for name in order:
            op = OPS.get(recipe[name]["op"])
            if op is None:
                raise DataFileError(
                    f"cell node {name!r} has op {recipe[name]['op']!r}; known: {', '.join(OPS)}"
                )
            sources = []
            for src in recipe[name]["input"]:
                k = src.removeprefix("h_prev_")
                if src == "x":
                    sources.append("x")
                elif src in position:
                    sources.append(str(position[src]))
                elif src.startswith("h_prev_") and k.isdigit() and int(k) < MAX_STATES:
                    sources.append(f"h{k}")
                else:
                    sources.append("?")
            nodes.append(f"{op}({','.join(sources)})")
        outputs, k = [], 0
        while f"h_new_{k}" in position:
            outputs.append(str(position[f"h_new_{k}"]))
            k += 1
    except (KeyError, TypeError, AttributeError) as exc:
        raise DataFileError(f"a cell recipe is not a dict of {{op, input}} nodes ({exc})") from exc
    return ";".join(nodes) + "->" + ",".join(outputs)


def parse_graphs(graphs: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Graph strings -> op codes (n, P) (-1 padding), sources (n, P, MAX_INPUTS) (PAD padding)
    and outputs (n, MAX_STATES) (node index of h_new_k, -1 where the cell has no state k),
    P the most nodes of any cell."""
    parsed = []
    for text in graphs:
        body, sep, tail = str(text).partition("->")
        nodes = _NODE.findall(body)
        if not sep or ";".join(f"{o}({s})" for o, s in nodes) != body:
            raise DataFileError(f"{text!r} is not a NAS-Bench-NLP cell graph string")
        outs = [int(o) for o in tail.split(",")] if tail else []
        parsed.append((nodes, outs))
    p = max((len(nodes) for nodes, _ in parsed), default=0)
    ops = np.full((len(parsed), p), -1, dtype=np.int64)
    sources = np.full((len(parsed), p, MAX_INPUTS), PAD, dtype=np.int64)
    outputs = np.full((len(parsed), MAX_STATES), -1, dtype=np.int64)
    for i, (nodes, outs) in enumerate(parsed):
        if len(outs) > MAX_STATES or len(outs) > len(set(outs)):
            raise DataFileError(f"{graphs[i]!r}: outputs must be up to {MAX_STATES} distinct nodes")
        outputs[i, : len(outs)] = outs
        for j, (op, srcs) in enumerate(nodes):
            ops[i, j] = CODES.index(op)
            codes = [_source(s) for s in srcs.split(",")] if srcs else []
            if len(codes) > MAX_INPUTS:
                raise DataFileError(f"{graphs[i]!r}: node {j} has more than {MAX_INPUTS} inputs")
            sources[i, j, : len(codes)] = codes
    return ops, sources, outputs


def _source(text: str) -> int:
    if text == "x":
        return X
    if text == "?":
        return DANGLING
    if text.startswith("h") and text[1:].isdigit():
        return 1 + int(text[1:])
    if text.isdigit():
        return FIRST_NODE + int(text)
    raise DataFileError(f"{text!r} is not a cell graph source (x, hK, a node index or ?)")


def graph_problem(ops: np.ndarray, sources: np.ndarray, outputs: np.ndarray) -> str | None:
    """Why the motif builder cannot instantiate one cell (arrays of `parse_graphs`, one row
    each), or None. The cell must compute like NAS-Bench-NLP's CustomRNNCell: every input
    defined before its node, op arities as upstream, x only into linear nodes (x and the
    states differ in width), h_prev_k only for a state the cell produces, and every node
    feeding some new state (no dangling node)."""
    n_nodes = int((ops >= 0).sum())
    states = int((outputs >= 0).sum())
    if states == 0 or outputs[0] < 0:
        return "it has no output h_new_0"
    if (outputs[:states] >= n_nodes).any():
        return "an output h_new_k names no node"
    for j in range(n_nodes):
        op, src = int(ops[j]), sources[j][sources[j] != PAD]
        label = f"node {j} ({list(OPS)[op]})"
        if (src == DANGLING).any():
            return f"{label} reads an input that is no node, x or h_prev_0..{MAX_STATES - 1}"
        if (src >= FIRST_NODE + j).any():
            return f"{label} reads a node that is not computed before it (a cycle)"
        if ((src >= 1) & (src < FIRST_NODE) & (src - 1 >= states)).any():
            return f"{label} reads h_prev_k of a state the cell does not produce (h_new_k)"
        if op != LINEAR and (src == X).any():
            return f"{label} reads x, which only linear nodes can (x and states differ in width)"
        if (op == LINEAR and not 1 <= len(src) <= MAX_INPUTS) or (
            op != LINEAR and len(src) != ARITY[op]
        ):
            return f"{label} has {len(src)} inputs"
    live = np.zeros(n_nodes, dtype=bool)
    live[outputs[:states]] = True
    for j in range(n_nodes - 1, -1, -1):
        if live[j]:
            src = sources[j]
            live[src[src >= FIRST_NODE] - FIRST_NODE] = True
    if not live.all():
        j = int(np.flatnonzero(~live)[0])
        return f"node {j} ({list(OPS)[ops[j]]}) feeds no new state h_new_k (a dangling node)"
    return None


class NLPCellSpace(CellMotifSettings, RecordedCellSpace):
    """NAS-Bench-NLP's recorded recurrent cells with their graphs (Petri dish motifs)."""

    name = "nas-bench-nlp-cells"
    description = "NAS-Bench-NLP's recorded recurrent cells, addressed by id, with their graphs"

    def __init__(
        self,
        ids: Sequence[int],
        features: Sequence[Sequence[float]],
        feature_names: Sequence[str] = (),
        prefix: str = "cell-",
        graphs: Sequence[str] = (),
    ) -> None:
        super().__init__(ids, features, feature_names, prefix)
        if len(graphs) != len(self.ids):
            raise DataFileError(f"{len(graphs)} cell graphs for {len(self.ids)} cells")
        self.graphs = [str(g) for g in graphs]
        self.ops, self.sources, self.outputs = parse_graphs(self.graphs)

    def config(self) -> dict[str, Any]:
        return {**super().config(), "graphs": self.graphs}

    def check_motif_cells(self, g: np.ndarray) -> None:
        """Raise ConfigError (one line) when a cell of `g` cannot be a motif-network."""
        pos = self._pos(self.as_genotypes(g))
        for i in pos:
            problem = graph_problem(self.ops[i], self.sources[i], self.outputs[i])
            if problem:
                raise ConfigError(
                    f"recurrent cell {self.prefix}{self.ids[i]} cannot be instantiated as a "
                    f"motif-network: {problem}"
                )

    def motif_networks(
        self,
        g: np.ndarray,
        *,
        hidden: int = 3,
        in_width: int = 10,
        out_width: int = 10,
        time_steps: int = 10,
        **_unused: int,
    ) -> MotifNetworks:
        """Each cell as a tiny recurrent network (see spdbench.spaces.nlp_motifs)."""
        from spdbench.spaces.nlp_motifs import NLPMotifNetworks

        self.check_motif_cells(g)
        pos = self._pos(self.as_genotypes(g))
        return NLPMotifNetworks(
            self.ops[pos],
            self.sources[pos],
            self.outputs[pos],
            max_nodes=self.ops.shape[1],
            hidden=hidden,
            in_width=in_width,
            out_width=out_width,
            time_steps=time_steps,
        )
