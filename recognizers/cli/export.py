"""``lstm-vault export``: argument parsing only, so that registering the command does not import torch;
the export itself lives in :mod:`recognizers.export`."""
from __future__ import annotations


def _add_parser(sub) -> None:
    p = sub.add_parser("export", help="export the streaming model (one chunk in, LSTM state in/out) to ONNX",
                       description="Export MODEL_DIR to ONNX: inputs features (batch, time, n_features) "
                                   "un-normalised, h_in, c_in (layers, batch, units); outputs probabilities "
                                   "(batch, time, classes), h_out, c_out. Labels and frontend settings go "
                                   "into the file's metadata_props.")
    p.add_argument("--model", required=True, help="model folder (model.safetensors + model.json)")
    p.add_argument("--onnx", required=True, metavar="OUT.onnx", help="ONNX file to write")
    p.add_argument("--logits", action="store_true", help="output 'logits' instead of softmax 'probabilities'")
    p.add_argument("--gates", action="store_true",
                   help="also output every gate of every layer (layer{k}_{i,f,g,o,c,h}, (batch, time, units))")
    p.add_argument("--opset", type=int, default=None, help="ONNX opset (default: recognizers.export.DEFAULT_OPSET, 17)")
    p.add_argument("--no-verify", action="store_true", help="skip the onnxruntime-vs-PyTorch check")


def _run(args) -> int:
    from recognizers.export import export_onnx
    from recognizers.model_files import load_model
    model = load_model(args.model)
    from recognizers.export import DEFAULT_OPSET
    r = export_onnx(model, args.onnx, output="logits" if args.logits else "probabilities", gates=args.gates,
                    opset=DEFAULT_OPSET if args.opset is None else args.opset, verify=not args.no_verify)
    arch = model.network.arch
    print(f"wrote {r.path}: features (batch, time, {arch.input_size}) + h_in/c_in ({arch.num_layers}, batch, "
          f"{arch.hidden_size}) -> {r.output_names[0]} (batch, time, {arch.num_classes}), h_out, c_out"
          + (f" + {len(r.output_names) - 3} gate outputs" if args.gates else ""))
    if r.max_abs_diff is not None:
        print(f"onnxruntime matches PyTorch (max difference {r.max_abs_diff:.1e})")
    for note in r.notes:
        print(note)
    return 0


def register_cli():
    return [(_add_parser, _run, "export")]
