"""Track encoder: stacked graph attention layers over the HitGraph, mean-pooled per track.

Each layer is a :class:`GATLayer`, which contains the parameters of a
``torch_geometric.nn.GATConv`` under the same names (so model files hold the same keys), and
these are the only parameters of the encoder. Two implementations run the same layers:

* ``"pyg"``: ``GATConv.forward``, the reference, on ``GATConv`` modules that share the
  layers' parameters. It removes and re-adds self loops, and it normalises the attention
  with scatter operations over the edge list. torch-geometric is imported only for it, as
  importing it takes over a second (it imports ``torch._dynamo``).
* ``"fast"``: the same formula written for a graph where every hit has only a few
  neighbours. When the caller says that the graph is a *band* (hits sorted by r inside each
  track, each joined to the ``band`` hits on either side within its track, as
  :func:`gann_core.graph.build_graphs` makes it), a neighbour is a fixed row offset, so the
  layer reads shifted views of one array and needs no gather or scatter, on any device.
  For any other graph on the CPU, the neighbours of each hit are gathered once per batch
  into a padded (hits × K) table, and the softmax runs densely over K with padded slots
  set to −∞; on other devices, an edge list with masked self loops is used, so no
  operation waits on a value computed on the device.

A model file therefore runs with either implementation. ``tests/test_encoder_fast.py``
checks that the outputs and gradients agree to 1e-5.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

IMPLEMENTATIONS = ("fast", "pyg")

#: Nodes per block of the fast CPU path. With the shipped SPD model (16 features), one
#: network pass took the same time with blocks of 16,384 to 65,536 hits and about 5 % more
#: with 8,192. Fewer blocks also mean fewer Python calls. With two scoring threads, 32,768
#: gave about 10 % more timeslices per second than 8,192 (2 CPU cores, one-off timing).
DEFAULT_BLOCK_NODES = 32768


class GATLayer(nn.Module):
    """The parameters of one ``torch_geometric.nn.GATConv(concat=True, add_self_loops=True)``.

    ``lin.weight`` is W (heads·channels × in), ``att_src`` and ``att_dst`` are the attention
    vectors (1 × heads × channels) and ``bias`` is the output bias. Names, shapes and
    initialisation are GATConv's: Glorot-uniform W and attention vectors, drawn in GATConv's
    order, and a zero bias. So the same seed gives the same parameters as GATConv. The layer
    has no forward of its own, because :class:`GATEncoder` runs it (see the module docstring).
    """

    negative_slope = 0.2

    def __init__(self, in_channels: int, out_channels: int, heads: int):
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.heads = heads
        self.lin = nn.Module()
        self.lin.weight = nn.Parameter(torch.empty(heads * out_channels, in_channels))
        self.att_src = nn.Parameter(torch.empty(1, heads, out_channels))
        self.att_dst = nn.Parameter(torch.empty(1, heads, out_channels))
        self.bias = nn.Parameter(torch.empty(heads * out_channels))
        # GATConv's linear map initialises W once on construction, then GATConv resets all.
        _glorot(self.lin.weight)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _glorot(self.lin.weight)
        _glorot(self.att_src)
        _glorot(self.att_dst)
        nn.init.zeros_(self.bias)

    def reference(self):
        """Build a ``torch_geometric.nn.GATConv`` that uses this layer's parameter tensors."""
        from torch_geometric.nn import GATConv

        # Building GATConv draws its own initial values, so the random state is restored after.
        with torch.random.fork_rng(devices=[]):
            conv = GATConv(self.in_channels, self.out_channels, heads=self.heads, concat=True, add_self_loops=True)
        conv.lin.weight = self.lin.weight
        conv.att_src, conv.att_dst, conv.bias = self.att_src, self.att_dst, self.bias
        return conv


def _glorot(value: torch.Tensor) -> None:
    """Glorot-uniform values over the last two dimensions, as ``torch_geometric.nn.inits.glorot``."""
    bound = math.sqrt(6.0 / (value.size(-2) + value.size(-1)))
    with torch.no_grad():
        value.uniform_(-bound, bound)


class GATEncoder(nn.Module):
    """Stacked GAT layers with tanh between them, then the mean of each track's hit embeddings.

    Each layer computes, for hit i with neighbours N(i) (itself included),

        h_i' = ‖_k Σ_{j ∈ N(i)} α_ij^k W^k h_j + b,
        α_ij^k = softmax_j( LeakyReLU_0.2( a_src^kᵀ W^k h_j + a_dst^kᵀ W^k h_i ) ),

    with k over ``heads`` attention heads whose outputs are concatenated (``hidden`` features
    in total, so ``hidden`` must be divisible by ``heads``). This is
    ``torch_geometric.nn.GATConv`` with ``concat=True`` and ``add_self_loops=True``, whose
    parameters ``lin.weight`` (W), ``att_src``, ``att_dst`` and ``bias`` each
    :class:`GATLayer` in ``convs`` holds. A message
    runs from ``edge_index[0]`` (source j) to ``edge_index[1]`` (target i). tanh follows
    every layer.

    Args:
        in_features: hit feature count.
        hidden: width of every layer's output.
        layers: number of GAT layers (≥ 1).
        heads: attention heads per layer.
        implementation: "fast" (default) or "pyg"; see the module docstring. Both give the
            same result, and the attribute may be changed after construction.
        compile_layers: run the fast CPU layer through ``torch.compile`` with dynamic
            shapes. The first call waits for compilation (about 10 s on a 2-core CPU), which
            needs a C++ compiler.

    Attributes:
        block_nodes: nodes per block of the fast CPU path (see :class:`NeighbourTable`).

    NOTE: the fast CPU path runs many small operations, and each one waits for all torch
    threads. On 2 cores shared with another busy process, 2 threads ran the network up to
    3x slower than 1 thread, so set ``torch.set_num_threads(1)`` on a machine whose cores
    are busy with other work. On the same machine idle, 2 threads were faster
    (``benchmarks/bench_end_to_end.py encoder``, ``docs/benchmarks.md``).
    """

    def __init__(
        self,
        in_features: int,
        hidden: int = 32,
        layers: int = 2,
        heads: int = 2,
        *,
        implementation: str = "fast",
        compile_layers: bool = False,
    ):
        super().__init__()
        if hidden % heads:
            raise ValueError(f"hidden={hidden} must be divisible by heads={heads}.")
        self.convs = nn.ModuleList()
        width = in_features
        for _ in range(layers):
            self.convs.append(GATLayer(width, hidden // heads, heads))
            width = hidden
        self.out_features = hidden
        self.implementation = implementation
        self.compile_layers = compile_layers
        self.block_nodes = DEFAULT_BLOCK_NODES
        self.reset_parameters()

    @property
    def implementation(self) -> str:
        return self._implementation

    @implementation.setter
    def implementation(self, value: str) -> None:
        if value not in IMPLEMENTATIONS:
            raise ValueError(f"implementation={value!r} is invalid; use one of {', '.join(map(repr, IMPLEMENTATIONS))}.")
        self._implementation = value

    def reset_parameters(self) -> None:
        for conv in self.convs:
            conv.reset_parameters()

    def forward(
        self, x: torch.Tensor, edge_index: torch.Tensor, hit_track: torch.Tensor, num_tracks: int, band: int | None = None
    ) -> torch.Tensor:
        """Return track embeddings, shape (num_tracks, hidden).

        ``band`` (optional) declares that ``edge_index`` is the band graph of
        :func:`gann_core.graph.band_edges`: hits of a track are consecutive rows, and every hit is joined
        to the ``band`` rows on each side that belong to its track. The fast implementation
        then ignores ``edge_index``; the reference still uses it.
        """
        if self.implementation == "pyg":
            if edge_index is None:
                raise ValueError(
                    "the 'pyg' encoder needs the HitGraph edge list; build the graph arrays with build_graphs(edges=True)."
                )
            from torch_geometric.utils import scatter

            h = x
            for layer in self.convs:
                h = torch.tanh(layer.reference()(h, edge_index))
            return scatter(h, hit_track, dim=0, dim_size=num_tracks, reduce="mean")

        parameters = [_layer_parameters(conv) for conv in self.convs]
        if band is not None:
            return self._band_forward(x, hit_track, num_tracks, band, parameters)
        if x.device.type == "cpu":
            table = NeighbourTable.from_edge_index(edge_index, x.shape[0], self.block_nodes)
            layer = _compiled_layer(padded_gat_layer) if self.compile_layers else padded_gat_layer
            pieces = []
            for lo, hi, gather_index, score_index in table.blocks():
                h = x[lo:hi]
                for values in parameters:
                    h = tanh(layer(h, **values, gather_index=gather_index, score_index=score_index))
                pieces.append(h)
            h = torch.cat(pieces) if len(pieces) != 1 else pieces[0]
        else:
            edges = SelfLoopEdges.from_edge_index(edge_index, x.shape[0])
            h = x
            for values in parameters:
                h = tanh(edge_list_gat_layer(h, **values, edges=edges))
        return track_mean(h, hit_track, num_tracks)

    def _band_forward(self, x, hit_track, num_tracks, band, parameters) -> torch.Tensor:
        """Track embeddings of a band graph, computed block by block of whole tracks.

        Each layer reads its input with ``band`` zero rows on each side. Without gradients
        (inference on the CPU), each layer writes into such a padded buffer directly, and
        each block's track means are taken from its own rows, so no array of every hit is
        copied or joined.
        """
        layer = _compiled_layer(band_gat_layer) if self.compile_layers else band_gat_layer
        blocks = _band_blocks(hit_track, self.block_nodes if x.device.type == "cpu" else None)
        if len(blocks) == 1:
            return track_mean(self._band_block(x, hit_track, band, parameters, layer), hit_track, num_tracks)
        # Blocks start at a track's first hit, so block b contains tracks first[b]..last[b].
        means = []
        next_track = 0
        for lo, hi in blocks:
            first, last = int(hit_track[lo]), int(hit_track[hi - 1])
            if first > next_track:
                means.append(x.new_zeros((first - next_track, self.out_features)))
            h = self._band_block(x[lo:hi], hit_track[lo:hi], band, parameters, layer)
            means.append(track_mean(h, hit_track[lo:hi] - first, last - first + 1))
            next_track = last + 1
        if num_tracks > next_track:
            means.append(x.new_zeros((num_tracks - next_track, self.out_features)))
        return torch.cat(means)

    def _band_block(self, x, hit_track, band, parameters, layer) -> torch.Tensor:
        """Run every layer (and tanh) on one block of whole tracks and return the (hits, hidden) output."""
        n_nodes = x.shape[0]
        mask = band_mask(hit_track, band)
        h = F.pad(x, (0, 0, band, band))
        recording = torch.is_grad_enabled() and (x.requires_grad or self.convs[0].lin.weight.requires_grad)
        # The in-place tanh (see :func:`tanh`) needs float32 or float64 on the CPU.
        in_place = x.device.type == "cpu" and x.dtype in (torch.float32, torch.float64) and not recording
        for index, values in enumerate(parameters):
            if in_place:
                padded = h.new_empty((n_nodes + 2 * band, values["weight"].shape[0]))
                padded[:band].zero_()
                padded[band + n_nodes :].zero_()
                tanh(layer(h, **values, band=band, mask=mask, out=padded[band : band + n_nodes]))
                h = padded
            else:
                h = tanh(layer(h, **values, band=band, mask=mask))
                if index < len(parameters) - 1:
                    h = F.pad(h, (0, 0, band, band))
        return h[band : band + n_nodes] if in_place else h


class NeighbourTable:
    """Padded neighbour lists of a graph, cut into blocks of nodes that no edge leaves.

    Row i lists the sources of the edges into node i, with i itself in column 0 and existing
    self loops dropped, as ``GATConv(add_self_loops=True)`` does. K, the table width, is one
    more than the largest in-degree. An edge listed twice fills two slots and counts twice,
    as in ``GATConv``.

    Nodes ``block_offsets[b]:block_offsets[b + 1]`` form block b, and indices are local to
    the block of their row. Every layer of a block therefore reads only rows of that block,
    and the encoder runs block by block on arrays that stay in the CPU cache. In a HitGraph a
    block is a run of whole tracks. A padded slot holds the row's own node in
    ``gather_index`` and the block length in ``score_index``, which points at an extra score
    of −∞ and so gets weight zero.
    """

    def __init__(self, gather_index: torch.Tensor, score_index: torch.Tensor, block_offsets: list[int]):
        self.gather_index = gather_index
        self.score_index = score_index
        self.block_offsets = block_offsets

    def blocks(self):
        """Yield (first node, end node, gather_index rows, score_index rows) of every block."""
        for lo, hi in zip(self.block_offsets[:-1], self.block_offsets[1:]):
            yield lo, hi, self.gather_index[lo:hi], self.score_index[lo:hi]

    @classmethod
    def from_edge_index(cls, edge_index: torch.Tensor, num_nodes: int, block_size: int = DEFAULT_BLOCK_NODES) -> "NeighbourTable":
        """Build the table of a (2, E) CPU edge index in O(E) plus a sort of the targets.

        Blocks hold about ``block_size`` nodes each. A cut is made only where no edge joins
        the two sides, so a graph that is one connected piece stays one block.
        """
        source = edge_index[0].numpy()
        target = edge_index[1].numpy()
        keep = source != target
        if not keep.all():
            source, target = source[keep], target[keep]
        # Edges sorted by source (as HitGraph edges are) have nearly sorted targets, which
        # numpy's stable sort (timsort for int64) orders in a few passes.
        if len(target) > 1 and np.any(target[1:] < target[:-1]):
            order = np.argsort(target, kind="stable")
            source, target = source[order], target[order]

        degree = np.bincount(target, minlength=num_nodes)
        width = 1 + (int(degree.max()) if num_nodes else 0)
        first_edge = np.cumsum(degree) - degree
        slot = np.arange(len(target)) - first_edge[target] + 1
        flat_slot = target * width + slot

        block_offsets = _block_offsets(source, target, num_nodes, block_size)
        block_of_node = np.repeat(np.arange(len(block_offsets) - 1), np.diff(block_offsets))
        node_start = block_offsets[block_of_node]
        local_node = np.arange(num_nodes, dtype=np.int64) - node_start
        local_source = source - node_start[target]

        gather_index = np.repeat(local_node[:, None], width, axis=1)
        gather_index.reshape(-1)[flat_slot] = local_source
        score_index = np.repeat(np.diff(block_offsets)[block_of_node][:, None], width, axis=1)
        score_index[:, 0] = local_node
        score_index.reshape(-1)[flat_slot] = local_source
        return cls(torch.from_numpy(gather_index), torch.from_numpy(score_index), block_offsets.tolist())


def _block_offsets(source: np.ndarray, target: np.ndarray, num_nodes: int, block_size: int) -> np.ndarray:
    """Offsets of node blocks of about ``block_size`` nodes, cut only where no edge crosses.

    Edge (s, t) crosses every cut position b with min(s, t) < b ≤ max(s, t); a running sum
    of interval starts minus interval ends counts the edges over each position.
    """
    if num_nodes <= block_size:
        return np.array([0, num_nodes], dtype=np.int64)
    low = np.minimum(source, target)
    high = np.maximum(source, target)
    crossing = np.cumsum(np.bincount(low + 1, minlength=num_nodes + 1) - np.bincount(high + 1, minlength=num_nodes + 1))
    cuts = np.flatnonzero(crossing[1:num_nodes] == 0) + 1
    if len(cuts) == 0:
        return np.array([0, num_nodes], dtype=np.int64)
    requested = np.arange(block_size, num_nodes, block_size)
    chosen = np.unique(cuts[np.minimum(np.searchsorted(cuts, requested), len(cuts) - 1)])
    return np.concatenate([[0], chosen, [num_nodes]]).astype(np.int64)


class SelfLoopEdges:
    """Edge list plus one self loop per node, for :func:`edge_list_gat_layer`.

    Existing self loops stay in the list but are masked out (weight zero), so the list keeps
    its length and building it never reads a value back from the device.
    """

    def __init__(self, source: torch.Tensor, target: torch.Tensor, valid: torch.Tensor, num_nodes: int):
        self.source = source
        self.target = target
        self.valid = valid
        self.num_nodes = num_nodes

    @classmethod
    def from_edge_index(cls, edge_index: torch.Tensor, num_nodes: int) -> "SelfLoopEdges":
        nodes = torch.arange(num_nodes, device=edge_index.device)
        source = torch.cat([edge_index[0], nodes])
        target = torch.cat([edge_index[1], nodes])
        valid = torch.cat([edge_index[0] != edge_index[1], torch.ones_like(nodes, dtype=torch.bool)])
        return cls(source, target, valid, num_nodes)


def _band_blocks(hit_track: torch.Tensor, block_nodes: int | None) -> list[tuple[int, int]]:
    """Row ranges of about ``block_nodes`` hits that start at a track's first hit (one range when None)."""
    n = hit_track.shape[0]
    if block_nodes is None or n <= block_nodes:
        return [(0, n)]
    requested = torch.arange(block_nodes, n, block_nodes, device=hit_track.device)
    cuts = torch.searchsorted(hit_track, hit_track[requested], side="left").unique().tolist()
    bounds = [0] + [cut for cut in cuts if 0 < cut < n] + [n]
    return list(zip(bounds[:-1], bounds[1:]))


def band_mask(hit_track: torch.Tensor, band: int) -> torch.Tensor:
    """Additive attention mask of a band graph, shape (2·band + 1, hits, 1).

    Slot s of hit i stands for row i + s − band. The mask is 0 where that row is a hit of
    the same track. It is −∞ outside the array and on other tracks, so those slots get
    weight zero. Slot ``band`` is the hit itself (the self loop).
    """
    n = hit_track.shape[0]
    mask = torch.zeros((2 * band + 1, n, 1), dtype=torch.float32, device=hit_track.device)
    for offset in range(1, band + 1):
        # Rows i and i + offset belong to different tracks.
        apart = hit_track[offset:] != hit_track[: max(n - offset, 0)]
        before, after = mask[band - offset, :, 0], mask[band + offset, :, 0]
        before[:offset] = float("-inf")
        before[offset:].masked_fill_(apart, float("-inf"))
        after[max(n - offset, 0) :] = float("-inf")
        after[: max(n - offset, 0)].masked_fill_(apart, float("-inf"))
    return mask


def band_gat_layer(
    padded: torch.Tensor,
    weight: torch.Tensor,
    score_weight: torch.Tensor,
    bias: torch.Tensor | None,
    negative_slope: float,
    band: int,
    mask: torch.Tensor,
    out: torch.Tensor | None = None,
) -> torch.Tensor:
    """Apply one GATConv layer (concat=True, self loops) on a band graph with shifted views.

    ``padded`` is the layer input with ``band`` zero rows before and after the hits. The
    neighbours of hit i are hits i − band … i + band, weighted by ``mask`` from
    :func:`band_mask`, so every slot is a slice of the projected array. The attention
    logits are laid out (slot, hit, head), so the softmax and the weighted sum run on
    contiguous memory. With slots last, the softmax over a short strided axis was the
    slowest step of the layer in a torch.profiler run on 2 CPU cores.
    Returns (num_nodes, heads·channels), written into ``out`` when given (no gradient).
    """
    n_nodes = padded.shape[0] - 2 * band
    heads = score_weight.shape[0] // 2
    channels = weight.shape[0] // heads
    slots = 2 * band + 1
    # One matrix product gives the projection and both attention scores: with a few
    # output columns, a second product costs about as much as the first.
    both = F.linear(padded, torch.cat([weight, score_weight]))
    projected = both[:, : heads * channels].view(n_nodes + 2 * band, heads, channels)
    score_source = both[:, heads * channels : heads * channels + heads]
    score_target = both[band : band + n_nodes, heads * channels + heads :]

    logits = torch.stack([score_source[slot : slot + n_nodes] for slot in range(slots)])
    # The mask contains 0 or −∞, and LeakyReLU keeps −∞, so it is added first and every step
    # runs in place.
    logits = F.leaky_relu(logits.add_(score_target).add_(mask.to(logits.dtype)), negative_slope, inplace=True)
    alpha = torch.softmax(logits, dim=0).unsqueeze(-1)

    if out is not None:
        result = out.view(n_nodes, heads, channels)
        if bias is None:
            torch.mul(projected[0:n_nodes], alpha[0], out=result)
        else:
            torch.addcmul(bias.view(heads, channels), projected[0:n_nodes], alpha[0], out=result)
    elif bias is None:
        result = projected[0:n_nodes] * alpha[0]
    else:
        result = torch.addcmul(bias.view(heads, channels), projected[0:n_nodes], alpha[0])
    for slot in range(1, slots):
        result.addcmul_(projected[slot : slot + n_nodes], alpha[slot])
    return result.reshape(n_nodes, heads * channels)


def padded_gat_layer(
    x: torch.Tensor,
    weight: torch.Tensor,
    score_weight: torch.Tensor,
    bias: torch.Tensor | None,
    negative_slope: float,
    gather_index: torch.Tensor,
    score_index: torch.Tensor,
) -> torch.Tensor:
    """Apply one GATConv layer (concat=True, self loops) with a dense softmax over padded neighbours.

    ``weight`` is W, (heads·channels, in), and ``score_weight`` the attention vectors
    folded into it (see :func:`_layer_parameters`). The indices are the rows of one
    :class:`NeighbourTable` block, local to the block. Returns (num_nodes, heads·channels).
    """
    n_nodes, width = gather_index.shape
    heads = score_weight.shape[0] // 2
    channels = weight.shape[0] // heads
    projected = F.linear(x, weight)
    scores = F.linear(x, score_weight)
    score_source, score_target = scores[:, :heads], scores[:, heads:]

    padded_scores = torch.cat([score_source, score_source.new_full((1, heads), float("-inf"))])
    logits = padded_scores.index_select(0, score_index.reshape(-1)).view(n_nodes, width, heads)
    logits = F.leaky_relu(logits + score_target.unsqueeze(1), negative_slope)
    alpha = torch.softmax(logits, dim=1)

    messages = projected.index_select(0, gather_index.reshape(-1)).view(n_nodes, width, heads, channels)
    out = (alpha.unsqueeze(-1) * messages).sum(dim=1).reshape(n_nodes, heads * channels)
    return out if bias is None else out + bias


def edge_list_gat_layer(
    x: torch.Tensor,
    weight: torch.Tensor,
    score_weight: torch.Tensor,
    bias: torch.Tensor | None,
    negative_slope: float,
    edges: SelfLoopEdges,
) -> torch.Tensor:
    """Apply one GATConv layer (concat=True, self loops) by scatter over an edge list with self loops.

    Every shape depends only on the input shapes, so on a GPU no step waits for the device.
    """
    n_nodes = edges.num_nodes
    heads = score_weight.shape[0] // 2
    channels = weight.shape[0] // heads
    projected = F.linear(x, weight).view(n_nodes, heads, channels)
    scores = F.linear(x, score_weight)
    score_source, score_target = scores[:, :heads], scores[:, heads:]

    target = edges.target
    logits = score_source.index_select(0, edges.source) + score_target.index_select(0, target)
    logits = F.leaky_relu(logits, negative_slope)
    logits = logits.masked_fill(~edges.valid.unsqueeze(1), float("-inf"))
    index = target.unsqueeze(1).expand_as(logits)
    # Every node has its own self loop, so each maximum is finite. It only shifts the
    # exponent, so it is taken without gradient, as in torch_geometric.utils.softmax.
    maximum = logits.new_full((n_nodes, heads), float("-inf"))
    maximum = maximum.scatter_reduce(0, index, logits.detach(), reduce="amax", include_self=True)
    weights = torch.exp(logits - maximum.index_select(0, target))
    total = logits.new_zeros((n_nodes, heads)).index_add(0, target, weights)
    alpha = weights / total.index_select(0, target)

    messages = alpha.unsqueeze(-1) * projected.index_select(0, edges.source)
    out = projected.new_zeros((n_nodes, heads, channels)).index_add(0, target, messages).reshape(n_nodes, heads * channels)
    return out if bias is None else out + bias


def tanh(x: torch.Tensor) -> torch.Tensor:
    """tanh(x) for the fast encoder; on the CPU without gradient it overwrites ``x``.

    ``torch.tanh`` was the largest cost of the fast encoder on the CPU (``torch.profiler``
    over the shipped SPD model's network, 1 thread, torch 2.13). It took 2.6 to 4 ns per
    float32 value on the 2-core benchmark machine (AMD EPYC with AVX-512). numpy's tanh,
    used in place here without gradient, took 0.4 ns, and 2·sigmoid(2x) − 1, used with
    gradient, 1 to 2 ns. Both agree with ``torch.tanh`` to about 1e-7. Other devices use
    ``torch.tanh``.
    """
    if x.device.type != "cpu":
        return torch.tanh(x)
    if not x.requires_grad and x.is_contiguous() and x.dtype in (torch.float32, torch.float64):
        values = x.numpy()
        np.tanh(values, out=values)
        return x
    doubled = torch.sigmoid(2.0 * x)
    if doubled.requires_grad:
        # The sigmoid's backward reads its output, so it must not be changed in place.
        return 2.0 * doubled - 1.0
    return doubled.mul_(2.0).sub_(1.0)


def track_mean(h: torch.Tensor, hit_track: torch.Tensor, num_tracks: int) -> torch.Tensor:
    """Mean of the hit embeddings of each track (zeros for a track without hits)."""
    total = h.new_zeros((num_tracks, h.shape[1])).index_add(0, hit_track, h)
    if h.device.type == "cpu":
        count = torch.bincount(hit_track, minlength=num_tracks).to(h.dtype)
    else:
        # bincount waits for the device to learn the output size, but index_add does not.
        count = h.new_zeros(num_tracks).index_add(0, hit_track, h.new_ones(h.shape[0]))
    return total / count.clamp(min=1.0).unsqueeze(1)


def _layer_parameters(conv: GATLayer) -> dict:
    """Return the parameters the fast layers use, with the attention vectors folded into W."""
    heads, channels = conv.heads, conv.out_channels
    weight = conv.lin.weight
    # a_srcᵀ W x per head is (a_srcᵀ W) x. Folding the attention vectors into W once gives a
    # (2·heads, in) matrix, so each layer reads x once more instead of reading W x twice.
    per_head = weight.view(heads, channels, -1)
    score_weight = torch.cat(
        [(conv.att_src.view(heads, channels, 1) * per_head).sum(1), (conv.att_dst.view(heads, channels, 1) * per_head).sum(1)]
    )
    return {"weight": weight, "score_weight": score_weight, "bias": conv.bias, "negative_slope": conv.negative_slope}


_COMPILED_LAYERS: dict = {}


def _compiled_layer(function):
    """``function`` (a GAT layer of this module) through ``torch.compile`` with dynamic shapes, built on first use."""
    if function not in _COMPILED_LAYERS:
        _COMPILED_LAYERS[function] = torch.compile(function, dynamic=True)
    return _COMPILED_LAYERS[function]
