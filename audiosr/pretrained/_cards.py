"""Model cards and the pretrained-model tables of the README and the docs, from ``index.json``.

One reading of the index (:func:`summary`) serves every view: a model's card
(:func:`card_markdown`), the README's table (:func:`markdown_table`) and the docs' block
(:func:`rst_block`). :func:`render_into` puts a block between its markers in a file's
text, so ``scripts/train_pretrained.py --render`` rewrites the README and the docs page
and a test checks that the committed files equal what the index renders.

Index entries written before the ship rule covered every input maker carry only the
protocol's Chebyshev (``"iir"``) figures under ``test["scores"]``; they are read as
checked on that maker alone, and said so.
"""

from __future__ import annotations

from ..signal import DECIMATION_METHODS

#: (start, end) lines around the generated block, per output format.
MARKERS = {
    "markdown": (
        "<!-- pretrained-models: generated from audiosr/pretrained/index.json by "
        "`python scripts/train_pretrained.py --render`; do not edit by hand -->",
        "<!-- /pretrained-models -->",
    ),
    "rst": (
        ".. pretrained-models: generated from audiosr/pretrained/index.json by "
        "``python scripts/train_pretrained.py --render``; do not edit by hand",
        ".. /pretrained-models",
    ),
}

_LEGACY_RULE = (
    "LSD below sinc's on the protocol's Chebyshev input only (before the ship rule covered every input maker)"
)
_LEGACY_NOTE = (
    "Trained on inputs of the protocol's Chebyshev filter only, with a constant learning rate, before "
    "DualBranchSR's ``normalize`` and ``polyphase`` options (it loads with them off, as it was trained)."
)


def khz(sr):
    """A sample rate in kHz without trailing zeros: 16000 -> '16', 11025 -> '11.025'."""
    return f"{sr / 1000:g}" if sr % 100 == 0 else f"{sr / 1000:.3f}".rstrip("0").rstrip(".")


def _round(value, digits):
    return None if value is None else round(float(value), digits)


def _in_order(makers):
    """The makers' figures in the order of ``DECIMATION_METHODS`` (the protocol's ``"iir"`` first)."""
    rank = {m: i for i, m in enumerate(DECIMATION_METHODS)}
    return {m: makers[m] for m in sorted(makers, key=lambda m: (rank.get(m, len(rank)), m))}


def summary(meta):
    """A flat, uniform view of one index entry (new or old layout).

    Returns
    -------
    view : dict
        ``name``, ``rates`` (text), ``kinds``, ``files``, ``pairs``, ``licences``,
        ``non_commercial``, ``budget_minutes``, ``epochs``, ``weights_dtype``, ``command``,
        ``shipped``, ``rule``, ``failures`` (maker -> reason), ``test_files``,
        ``test`` and ``validation`` (maker -> {"model": scores, "sinc": scores}; empty
        when not measured), ``makers`` (the makers of ``test``), ``mix`` (the training
        pairs' makers and cutoff, or None).
    """
    trained_on = meta.get("trained_on", {})
    training = meta.get("training", {})
    test = meta.get("test", {})
    makers = test.get("makers")
    if makers is None:  # the old layout: one maker, the protocol's
        scores = test.get("scores", {})
        makers = {"iir": {"model": scores["DualBranchSR"], "sinc": scores["sinc"]}} if scores else {}
    rule = meta.get("ship_rule", {})
    mix = None
    if trained_on.get("input_makers"):
        mix = {"makers": list(trained_on["input_makers"]), "cutoff": trained_on.get("cutoff")}
    return {
        "name": meta["name"],
        "description": meta.get("description", ""),
        "rate": meta["rate"],
        "input_sr": meta["input_sr"],
        "output_sr": meta["output_sr"],
        "rates": f"{khz(meta['input_sr'])} -> {khz(meta['output_sr'])} kHz (x{meta['rate']})",
        "kinds": list(trained_on.get("kinds", [])),
        "files": trained_on.get("files"),
        "pairs": trained_on.get("pairs"),
        "licences": list(trained_on.get("licences", [])),
        "non_commercial": bool(meta.get("non_commercial", False)),
        "licence_note": meta.get("licence_note", ""),
        "budget_minutes": training.get("budget_minutes"),
        "epochs": training.get("epochs"),
        "seconds": training.get("seconds"),
        "machine": training.get("machine", ""),
        "weights_dtype": training.get("weights_dtype", "float32"),
        "command": training.get("command", ""),
        "shipped": bool(meta.get("shipped", True)),
        "rule": rule.get("rule", _LEGACY_RULE),
        "failures": dict(rule.get("failures", {})),
        "test_files": test.get("files"),
        "test": _in_order(makers),
        "validation": _in_order((meta.get("validation") or {}).get("makers", {})),
        "validation_files": (meta.get("validation") or {}).get("files"),
        "makers": list(_in_order(makers)),
        "mix": mix,
        "high_band_gain": ((meta.get("validation") or {}).get("calibration") or {}).get("high_band_gain"),
    }


def _order(index):
    """Entries grouped by what they were trained on (the name's first part), then by rates."""
    views = [summary({"name": name, **meta}) for name, meta in index.items()]
    return sorted(views, key=lambda v: (v["name"].split("-")[0], v["output_sr"], v["rate"], v["name"]))


def _worst(view, key):
    """(maker, model, sinc) where the model does worst against sinc on ``key``, or None."""
    rows = [(m, r["model"][key], r["sinc"][key]) for m, r in view["test"].items()]
    if not rows:
        return None
    if key == "snr":
        return min(rows, key=lambda r: r[1] - r[2])
    return max(rows, key=lambda r: r[1] - r[2])


def _status(view, code):
    if view["shipped"] and view["rule"] == _LEGACY_RULE:
        return f"shipped under the first rule ({code('iir')} inputs only)"
    if view["shipped"]:
        return "shipped"
    reasons = "; ".join(f"{code(m)}: {why}" for m, why in view["failures"].items()) or "see its card"
    return f"not shipped ({reasons})"


def _licences(view, bold):
    text = "; ".join(view["licences"]) or "unknown"
    return f"{bold('non-commercial')}: {text}" if view["non_commercial"] else text


def _training(view):
    parts = []
    if view["budget_minutes"] is not None:
        parts.append(f"{view['budget_minutes']:g} min")
    if view["epochs"] is not None:
        parts.append(f"{view['epochs']} epoch{'s' if view['epochs'] != 1 else ''}")
    parts.append(view["weights_dtype"])
    if view["high_band_gain"] is not None:
        parts.append(f"high-band gain {view['high_band_gain']:g}")
    return ", ".join(parts)


def _data(view):
    text = ", ".join(view["kinds"])
    if view["files"] is not None:
        text += f", {view['files']} files"
    if view["mix"]:
        cutoff = view["mix"]["cutoff"]
        drawn = f", cutoff {cutoff[0]:g}-{cutoff[1]:g}" if isinstance(cutoff, (list, tuple)) else ""
        text += f" (inputs: {len(view['mix']['makers'])} makers{drawn})"
    else:
        text += " (inputs: iir only)"
    return text


def _figures(scores):
    return f"{scores['snr']:.2f} / {scores['lsd']:.3f} / {scores['lsd_hf']:.3f}"


def markdown_table(index):
    """The README's table of the models in ``index`` (shipped or not), as Markdown lines.

    Parameters
    ----------
    index : dict
        ``index.json``'s content: name -> metadata.

    Returns
    -------
    text : str
    """

    def code(s):
        return f"`{s}`"

    def bold(s):
        return f"**{s}**"

    lines = [
        "| model | rates | trained on | licences of the training data | training | test files | "
        "makers checked | worst LSD, model / sinc | worst SNR, model - sinc | status |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for view in _order(index):
        lsd, snr = _worst(view, "lsd"), _worst(view, "snr")
        lsd_cell = f"{lsd[1]:.3f} / {lsd[2]:.3f} ({code(lsd[0])})" if lsd else _NONE
        snr_cell = f"{snr[1] - snr[2]:+.2f} dB ({code(snr[0])})" if snr else _NONE
        cells = [
            code(view["name"]),
            view["rates"],
            _data(view),
            _licences(view, bold),
            _training(view),
            str(view["test_files"] if view["test_files"] is not None else _NONE),
            str(len(view["makers"])),
            lsd_cell,
            snr_cell,
            _status(view, code),
        ]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    if not index:
        lines.append("| (none) | | | | | | | | | |")
    return "\n".join(lines)


def _rst_table(headers, rows, indent=""):
    lines = [f"{indent}.. list-table::", f"{indent}   :header-rows: 1", ""]
    for row in [headers, *rows]:
        lines.append(f"{indent}   * - {row[0]}")
        lines += [f"{indent}     - {cell}" for cell in row[1:]]
    return lines


#: An empty table cell ("-" alone would start a list in reStructuredText).
_NONE = "\u2014"


def _maker_table(view, code):
    """(headers, rows) of the figures per input maker; validation columns where they were measured."""
    valid = bool(view["validation"])
    headers = ["input made by", "test: model", "test: sinc"]
    headers += ["valid: model", "valid: sinc"] if valid else []
    rows = []
    for maker, row in view["test"].items():
        cells = [code(maker), _figures(row["model"]), _figures(row["sinc"])]
        if valid:
            other = view["validation"].get(maker)
            cells += [_figures(other["model"]), _figures(other["sinc"])] if other else [_NONE, _NONE]
        cells.append("fails: " + view["failures"][maker] if maker in view["failures"] else "passes")
        rows.append(cells)
    return headers + ["ship rule"], rows


def rst_block(index):
    """The docs page's generated part (reStructuredText): a summary table, then a card per model.

    Parameters
    ----------
    index : dict
        ``index.json``'s content: name -> metadata.

    Returns
    -------
    text : str
    """

    def code(s):
        return f"``{s}``"

    def bold(s):
        return f"**{s}**"

    views = _order(index)
    lines = _rst_table(
        ["name", "rates", "trained on", "licences of the training data", "training", "status"],
        [
            [
                code(v["name"]),
                v["rates"],
                _data(v),
                _licences(v, bold),
                _training(v),
                _status(v, code),
            ]
            for v in views
        ],
    )
    for view in views:
        title = f"{code(view['name'])}: {view['description'] or view['rates']}"
        lines += ["", title, "~" * (len(title) + 2), ""]
        lines.append(
            f"{view['rates']}; trained on {view['files']} files of the ``train`` split ({', '.join(view['kinds'])})"
            + (f", {view['pairs']} pairs" if view["pairs"] is not None else "")
            + (f", for {_training(view)}" if view["budget_minutes"] is not None else "")
            + "."
        )
        if not view["mix"]:
            lines.append(_LEGACY_NOTE)
        else:
            cutoff = view["mix"]["cutoff"]
            drawn = f" with cutoffs drawn in [{cutoff[0]:g}, {cutoff[1]:g}]" if isinstance(cutoff, (list, tuple)) else ""
            makers = ", ".join(code(m) for m in view["mix"]["makers"])
            lines.append(f"Inputs of the training pairs made by {makers}{drawn}.")
        if view["command"]:
            lines.append(f"Command: ``{view['command']}``" + (f" ({view['machine']})." if view["machine"] else "."))
        lines.append(f"Ship rule: {view['rule']}. Status: {_status(view, code)}.")
        if view["licence_note"]:
            lines.append(view["licence_note"])
        head = f"Test split: {view['test_files']} files"
        if view["validation_files"]:
            head += f"; validation split: {view['validation_files']} files"
        lines += ["", head + ". SNR dB / LSD / LSD-HF per input maker (means over whole files):", ""]
        lines += _rst_table(*_maker_table(view, code))
    if not views:
        lines = ["No model is listed in the index."]
    return "\n".join(lines)


def card_markdown(meta):
    """One model's card as Markdown: rates, data and licences, training, figures per input maker, verdict."""

    def code(s):
        return f"`{s}`"

    def bold(s):
        return f"**{s}**"

    view = summary(meta)
    lines = [f"# {view['name']}: {view['description'] or view['rates']}", ""]
    lines.append(f"- rates: {view['rates']}")
    lines.append(f"- trained on: {_data(view)} of the `train` split")
    lines.append(f"- licences of the training data: {_licences(view, bold)}")
    if view["licence_note"]:
        lines.append(f"- licence note: {view['licence_note']}")
    lines.append(f"- training: {_training(view)}" + (f" on {view['machine']}" if view["machine"] else ""))
    if view["command"]:
        lines.append(f"- command: `{view['command']}`")
    lines.append(f"- ship rule: {view['rule']}")
    lines.append(f"- status: {_status(view, code)}")
    lines += [
        "",
        f"Test split: {view['test_files']} files"
        + (f"; validation split: {view['validation_files']} files" if view["validation_files"] else "")
        + ". SNR dB / LSD / LSD-HF:",
        "",
    ]
    headers, rows = _maker_table(view, code)
    lines += ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def render_into(text, block, fmt):
    """``text`` with the part between the ``fmt`` markers (``MARKERS``) replaced by ``block``.

    Raises
    ------
    ValueError
        When the markers are missing, repeated or out of order.
    """
    start, end = MARKERS[fmt]
    if text.count(start) != 1 or text.count(end) != 1 or text.index(start) > text.index(end):
        raise ValueError(f"the text needs exactly one pair of markers, in order: {start!r} ... {end!r}.")
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{start}\n\n{block}\n\n{end}{tail}"
