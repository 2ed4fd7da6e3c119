"""Export a model folder's streaming network to ONNX: one chunk of frames in, LSTM state in and out.

The exported graph is what :class:`recognizers.streaming.StreamingRecognizer` runs per push, minus the
feature frontend (another program computes the frontend's features itself; its settings are in the ONNX
file's metadata):

- inputs ``features (batch, time, n_features)`` *un-normalised* (the normalisation of ``model.json`` is
  folded into the graph), ``h_in`` and ``c_in`` ``(layers, batch, units)`` (zeros at the start of a stream);
- outputs ``probabilities (batch, time, classes)`` (softmax per frame; ``logits`` with ``output="logits"``),
  ``h_out`` and ``c_out`` ``(layers, batch, units)`` to feed back as ``h_in``/``c_in`` for the next chunk;
- with ``gates=True`` also ``layer{k}_{i,f,g,o,c,h}`` ``(batch, time, units)``, the names
  :class:`~recognizers.streaming.StreamStep` uses.

``time`` and ``batch`` are dynamic, so any chunk size works, and running chunks with carried state gives
the outputs of one run over the whole sequence. Metadata (``labels``, ``frontend`` JSON, ...) goes into
the ONNX model's ``metadata_props``.
"""
from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from recognizers.errors import VaultError
from recognizers.io.paths import atomic_output
from recognizers.io.safe_text import safe_text
from recognizers.model_files import LoadedModel, load_model
from recognizers.nn.classifier import SequenceClassifier
from recognizers.nn.gate_lstm import GATE_NAMES, LSTMState

DEFAULT_OPSET = 17   # ONNX opset of the exported graph (LSTM ops are stable in onnxruntime since 14)
MIN_OPSET, MAX_OPSET = 14, 20   # what the TorchScript exporter of torch 2.x writes and onnxruntime checks
ONNX_FORMAT = "lstm-vault-onnx-chunk"
ONNX_FORMAT_VERSION = 1
VERIFY_TOLERANCE = 1e-4


class ChunkModel(nn.Module):
    """``(features, h_in, c_in) -> (probabilities or logits, h_out, c_out[, gates...])`` for tracing.

    Gate traces are computed without a Python loop over time (which tracing would unroll to the example's
    length): ``i, f, g, o`` come from the layer's weights and the hidden states the LSTM returned, and the
    cell recurrence ``c_t = f_t c_{t-1} + i_t g_t`` is solved in closed form,
    ``c_t = sum_{s<=t} exp(L_t - L_s) i_s g_s + exp(L_t) c_0`` with ``L_t = sum_{r<=t} log f_r``,
    in float64. That costs ``O(time^2)`` per chunk, fine for streaming chunks of a few dozen frames.
    """

    def __init__(self, network: SequenceClassifier, output: str = "probabilities", gates: bool = False):
        super().__init__()
        if output not in ("probabilities", "logits"):
            raise ValueError(f"output must be 'probabilities' or 'logits', not {output!r}")
        self.network = network
        self.output = output
        self.gates = gates

    def forward(self, features: torch.Tensor, h_in: torch.Tensor, c_in: torch.Tensor):
        net = self.network
        x = net.normalize(features)
        if not self.gates:
            logits, state, _ = net(x, LSTMState(h_in, c_in), normalized=True)
            return self._finish(logits), state.h, state.c
        hs, cs, traces = [], [], []
        layer_in = x
        for k, lstm in enumerate(net.lstm.layers):
            h0, c0 = h_in[k:k + 1], c_in[k:k + 1]
            out, (hn, cn) = lstm(layer_in, (h0, c0))
            traces += self._gates(lstm, layer_in, out, h0[0], c0[0])
            hs.append(hn)
            cs.append(cn)
            layer_in = out
        return (self._finish(net.head(layer_in)), torch.cat(hs, 0), torch.cat(cs, 0), *traces)

    def _finish(self, logits: torch.Tensor) -> torch.Tensor:
        return torch.softmax(logits, -1) if self.output == "probabilities" else logits

    @staticmethod
    def _gates(lstm: nn.LSTM, x: torch.Tensor, out: torch.Tensor, h0: torch.Tensor, c0: torch.Tensor
               ) -> list[torch.Tensor]:
        h_prev = torch.cat([h0.unsqueeze(1), out[:, :-1]], dim=1)
        pre = (x @ lstm.weight_ih_l0.t() + h_prev @ lstm.weight_hh_l0.t()
               + (lstm.bias_ih_l0 + lstm.bias_hh_l0))
        pi, pf, pg, po = pre.chunk(4, dim=-1)   # PyTorch's gate order
        i, f, g, o = torch.sigmoid(pi), torch.sigmoid(pf), torch.tanh(pg), torch.sigmoid(po)
        log_f = (-nn.functional.softplus(-pf)).double()           # log sigmoid, stable
        cum = torch.cumsum(log_f, dim=1)                           # L_t, (batch, time, units)
        step = torch.cumsum(torch.ones_like(log_f[0, :, 0]), 0)    # 1..time, traced with a dynamic length
        causal = (step.unsqueeze(1) >= step.unsqueeze(0)).unsqueeze(0).unsqueeze(-1)   # (1, t, s, 1)
        diff = cum.unsqueeze(2) - cum.unsqueeze(1)                 # L_t - L_s, (batch, t, s, units)
        decay = torch.exp(torch.where(causal, diff, torch.full_like(diff, -torch.inf)))
        c = (decay * (i * g).double().unsqueeze(1)).sum(2) + torch.exp(cum) * c0.double().unsqueeze(1)
        return [i, f, g, o, c.to(x.dtype), out]


@dataclass
class ExportReport:
    path: Path
    input_names: list[str]
    output_names: list[str]
    metadata: dict[str, str]
    max_abs_diff: float | None = None      # onnxruntime vs PyTorch on a random chunk; None if not verified
    notes: list[str] = field(default_factory=list)


def _require_onnx():
    try:
        import onnx
    except ImportError:
        raise VaultError("ONNX export needs the 'onnx' package (pip install onnx onnxruntime)") from None
    return onnx


def onnx_metadata(model: LoadedModel, output: str, gate_names: list[str]) -> dict[str, str]:
    """The key/value strings written into ``metadata_props`` (JSON where the value is structured)."""
    arch = model.network.arch
    return {
        "format": ONNX_FORMAT,
        "format_version": str(ONNX_FORMAT_VERSION),
        "name": model.name,
        "task": model.task,
        "labels": json.dumps(model.labels),
        "unknown_label": model.unknown_label or "",
        "frontend": json.dumps(model.frontend_config),
        "decoder": json.dumps(model.meta.get("decoder", {})),
        "output": output,
        "num_layers": str(arch.num_layers),
        "hidden_size": str(arch.hidden_size),
        "feature_size": str(arch.input_size),
        "gate_outputs": json.dumps(gate_names),
        "normalization": "folded into the graph: feed raw frontend features",
    }


def export_onnx(model: LoadedModel | str | os.PathLike, out: str | os.PathLike, output: str = "probabilities",
                gates: bool = False, opset: int = DEFAULT_OPSET, verify: bool = True) -> ExportReport:
    """Write the chunk model of ``model`` (a loaded model or a model folder) to the ONNX file ``out``.

    The file is written atomically. With ``verify`` (and onnxruntime installed) a random two-chunk stream
    is run through onnxruntime and PyTorch and the export is refused if they differ by more than 1e-4.
    """
    if isinstance(opset, bool) or not isinstance(opset, int) or not MIN_OPSET <= opset <= MAX_OPSET:
        raise VaultError(f"--opset {safe_text(opset)}: this exporter writes opsets {MIN_OPSET}..{MAX_OPSET}")
    if output not in ("probabilities", "logits"):
        raise VaultError(f"output {safe_text(output)!r}: expected 'probabilities' or 'logits'")
    onnx = _require_onnx()
    if not isinstance(model, LoadedModel):
        model = load_model(model)
    out = Path(out)
    net = model.network.cpu().eval()
    arch = net.arch
    L, H, F = arch.num_layers, arch.hidden_size, arch.input_size
    gate_names = [f"layer{k}_{n}" for k in range(L) for n in GATE_NAMES] if gates else []
    inputs = ["features", "h_in", "c_in"]
    outputs = [output, "h_out", "c_out", *gate_names]
    dyn = {"features": {0: "batch", 1: "time"}, "h_in": {1: "batch"}, "c_in": {1: "batch"},
           output: {0: "batch", 1: "time"}, "h_out": {1: "batch"}, "c_out": {1: "batch"}}
    dyn.update({g: {0: "batch", 1: "time"} for g in gate_names})
    wrapper = ChunkModel(net, output, gates).eval()
    example = (torch.zeros(1, 3, F), torch.zeros(L, 1, H), torch.zeros(L, 1, H))
    # the target must be a regular file or absent (never rename over /dev/null or a FIFO); written to a
    # hidden temporary file beside it and renamed in place (umask permissions)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except (OSError, ValueError):
        pass    # atomic_output says what is wrong with the path
    with atomic_output(out, "--onnx", ".partial") as tmp:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")   # legacy-exporter deprecation, shape-check tracer warnings
            torch.onnx.export(wrapper, example, str(tmp), dynamo=False, input_names=inputs,
                              output_names=outputs, dynamic_axes=dyn, opset_version=opset,
                              do_constant_folding=True)
        wrapper.eval()   # the exporter restores the wrapper's mode onto the network; keep it in eval
        proto = onnx.load(str(tmp))
        meta = onnx_metadata(model, output, gate_names)
        del proto.metadata_props[:]
        for k, v in meta.items():
            entry = proto.metadata_props.add()
            entry.key, entry.value = k, v
        proto.producer_name = "lstm-vault"
        proto.doc_string = (f"LSTM Vault chunk model '{model.name}': features (batch, time, {F}) un-normalised, "
                            f"h_in/c_in ({L}, batch, {H}) -> {output} (batch, time, {arch.num_classes}), "
                            f"h_out, c_out. Labels and frontend settings are in metadata_props.")
        onnx.checker.check_model(proto)
        onnx.save(proto, str(tmp))
        report = ExportReport(out, inputs, outputs, meta)
        if verify:
            report.max_abs_diff = _verify(tmp, wrapper, F, L, H, report)
    return report


def _verify(path: Path, wrapper: ChunkModel, F: int, L: int, H: int, report: ExportReport) -> float | None:
    """onnxruntime (1.2x) keeps a device id and a telemetry database in
    ``$XDG_CACHE_HOME/Microsoft/DeveloperTools/.onnxruntime/`` (``~/.cache`` by default) whenever it starts;
    the check points ``XDG_CACHE_HOME`` at a temporary folder meanwhile, so an export writes nothing there."""
    import importlib.util
    import tempfile
    if importlib.util.find_spec("onnxruntime") is None:
        report.notes.append("not verified: onnxruntime is not installed")
        return None
    old = os.environ.get("XDG_CACHE_HOME")   # read when onnxruntime is first imported: set it before
    with tempfile.TemporaryDirectory(prefix="lstm-vault-ort-") as cache:
        os.environ["XDG_CACHE_HOME"] = cache
        try:
            return _verify_in_onnxruntime(path, wrapper, F, L, H)
        finally:
            if old is None:
                os.environ.pop("XDG_CACHE_HOME", None)
            else:
                os.environ["XDG_CACHE_HOME"] = old


def _verify_in_onnxruntime(path: Path, wrapper: ChunkModel, F: int, L: int, H: int) -> float:
    import onnxruntime as ort
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    mean = wrapper.network.feature_mean.numpy()
    std = wrapper.network.feature_std.numpy()
    x = (mean + std * rng.standard_normal((2, 13, F))).astype(np.float32)
    h = np.zeros((L, 2, H), np.float32)
    c = np.zeros((L, 2, H), np.float32)
    worst = 0.0
    for chunk in (x[:, :5], x[:, 5:]):
        got = sess.run(None, {"features": chunk, "h_in": h, "c_in": c})
        with torch.no_grad():
            ref = wrapper(torch.from_numpy(chunk), torch.from_numpy(h), torch.from_numpy(c))
        worst = max([worst] + [float(np.max(np.abs(a - b.numpy()))) for a, b in zip(got, ref)])
        h, c = got[1], got[2]
    if not worst <= VERIFY_TOLERANCE:
        raise VaultError(f"the ONNX export differs from PyTorch by {worst:.2g} (> {VERIFY_TOLERANCE}); "
                         f"try another --opset")
    return worst
