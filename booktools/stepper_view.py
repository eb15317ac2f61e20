"""The backward-pass stepper's view: the graph laid out by Graphviz's dot,
drawn as SVG, and the steps as radio inputs, labels and CSS (no script).

``stepper_html(s, step)`` renders a :class:`booktools.stepper.BackwardStepper`
(the model: the graph, the values, the cotangents and the steps' captions);
``BackwardStepper.to_html`` calls it.
"""

from __future__ import annotations

import html
import json
from typing import TYPE_CHECKING

from booktools.html import radio, step_nav, style_once
from booktools.stepper import _bar, _fmt
from vjplib.graph import Node

if TYPE_CHECKING:
    from booktools.stepper import BackwardStepper

FONT = 12  # points, in dot and in the SVG
LINE = 14  # the SVG's line height


def _node_lines(s: BackwardStepper, v) -> list[str]:
    expr = s._expr(v)
    return [
        expr,
        _fmt(s.values[v]),
        f"{_bar(s.names[v])} = {_fmt(s.cotangent[v])}",
    ]


def layout(s: BackwardStepper) -> dict:
    """dot's layout of the graph: node centres and sizes, edge splines and
    label positions, in points with y pointing down."""
    try:
        import graphviz
    except ImportError as e:
        raise ImportError(
            "backward_stepper needs the graphviz package: pip install "
            "'graphviz>=0.20' (binder/requirements.txt has it)"
        ) from e
    g = graphviz.Digraph(
        graph_attr={"rankdir": "TB", "nodesep": "0.3", "ranksep": "0.35"},
        node_attr={
            "shape": "box",
            "fontname": "Helvetica",
            "fontsize": str(FONT),
            "margin": "0.12,0.08",
        },
        edge_attr={"fontname": "Helvetica", "fontsize": str(FONT)},
    )
    index = {v: i for i, v in enumerate(s.order)}
    for v, i in index.items():
        g.node(f"n{i}", label="\n".join(_node_lines(s, v)))
    edges = []
    for v in s.order:
        for i, a in enumerate(v.inputs or ()):
            if isinstance(a, Node):
                e = (v, i)
                label = _edge_text(s, e)
                g.edge(
                    f"n{index[a]}",
                    f"n{index[v]}",
                    label=" " + label + " " if label else "",
                    id=f"e{len(edges)}",
                )
                edges.append(e)
    try:
        out = json.loads(g.pipe(format="json0", encoding="utf-8"))
    except graphviz.ExecutableNotFound as e:
        raise RuntimeError(
            "backward_stepper: Graphviz's dot is not installed; install the "
            "Debian package graphviz (scripts/setup.sh does; Binder reads "
            "binder/apt.txt)"
        ) from e
    bb = [float(c) for c in out["bb"].split(",")]
    height = bb[3]

    def pt(text):
        x, y = (float(c) for c in text.split(","))
        return round(x, 1), round(height - y, 1)

    nodes = {}
    for o in out["objects"]:
        i = int(o["name"][1:])
        nodes[s.order[i]] = (
            pt(o["pos"]),
            round(float(o["width"]) * 72, 1),
            round(float(o["height"]) * 72, 1),
        )
    lines = {}
    for o in out.get("edges", []):
        e = edges[int(o["id"][1:])]
        parts = o["pos"].split()
        end = None
        if parts[0].startswith("e,"):
            end = pt(parts[0][2:])
            parts = parts[1:]
        if parts and parts[0].startswith("s,"):
            parts = parts[1:]
        points = [pt(p) for p in parts]
        lines[e] = (points, end, pt(o["lp"]) if "lp" in o else None)
    return {
        "width": round(bb[2], 1),
        "height": round(height, 1),
        "nodes": nodes,
        "edges": edges,
        "lines": lines,
    }


def _edge_text(s: BackwardStepper, e) -> str:
    a = e[0].inputs[e[1]]
    for edge, c in s.arrived.get(a, []):
        if edge == e:
            return f"{s._label(e)} = {_fmt(c)}"
    return ""


# -- HTML and CSS -------------------------------------------------------------
# Colours: the book's light palette (4.5:1 or more on white and on the light
# panel, #CED6DD, that pydata-sphinx-theme's dark mode keeps behind cell
# output, so the book's dark mode needs no palette of its own); JupyterLab's
# dark theme draws output on its dark background and gets the dark palette.
def _step_css(n: int) -> str:
    """The rules that show step k: its caption, controls and text
    alternative, its highlighted nodes and edges, and the values and
    cotangents known by then (screen only: print shows the final state)."""
    rules = []
    for k in range(1, n + 1):
        on = f".backward-stepper:has(.bs-r{k}:checked)"
        rules.append(
            f"{on} :is(.bs-cap, .bs-alt, .bs-status > span).bs-k{k} "
            "{ display: block; }"
        )
        rules.append(f"{on} .bs-nav.bs-k{k} {{ display: flex; }}")
        rules.append(
            f".backward-stepper:has(.bs-radio:checked ~ .bs-r{k}) "
            f".bs-from{k} {{ visibility: hidden; }}"
        )
        # the highlight colour follows the phase of the step shown (kit.css:
        # amber while the forward pass runs, rose for the backward pass)
        rules.append(
            f"{on} .bs-node.bs-at{k} rect {{ stroke: var(--bs-hi);"
            " fill: var(--bs-hi-bg); stroke-width: 3; }"
        )
        rules.append(
            f"{on} .bs-edge.bs-at{k} :is(path, polygon) {{"
            " stroke: var(--vjp-rose); stroke-width: 3; }"
        )
        rules.append(
            f"{on} .bs-edge.bs-at{k} polygon {{ fill: var(--vjp-rose); }}"
            f" {on} .bs-edge.bs-at{k} text {{ font-weight: 700; }}"
        )
    return "@media screen {\n" + "\n".join(rules) + "\n}"


def _n(x: float) -> str:
    return f"{x:g}"


def _svg(s: BackwardStepper) -> str:
    """One SVG: the nodes and edges with their step classes; every number
    dot computed sits after data-layout="" (see nbval_sanitize.cfg)."""
    L = s.layout
    sid = s.id
    index = {v: i for i, v in enumerate(s.order)}
    at: dict = {}
    for k, step in enumerate(s.steps, 1):
        for v in step.nodes:
            at.setdefault(("n", v), []).append(k)
        for e in step.edges:
            at.setdefault(("e", e), []).append(k)
    fwd_step = {v: k for k, v in enumerate(s.order, 1)}
    n_fwd = len(s.order)
    bar_step = {s.end: n_fwd + 1}
    for k, v in enumerate(s.vjp_order, n_fwd + 2):
        bar_step.setdefault(v, k)
    edge_step = {}
    for k, v in enumerate(s.vjp_order, n_fwd + 2):
        for e in L["edges"]:
            if e[0] is v:
                edge_step[e] = k
    last = s.n_steps
    out = []
    graph = " → ".join(s._expr(v) for v in s.order if v.fn is not None)
    inputs = ", ".join(s.names[v] for v in s.leaves)
    label = (
        f"The graph vjplib recorded: inputs {inputs}; "
        f"{graph or 'no ops'}. The caption below says what each step shows."
    )
    out.append(
        f'<svg class="bs-graph" role="img" aria-label="{html.escape(label)}"'
        f' data-layout="" viewBox="0 0 {_n(L["width"])} {_n(L["height"])}"'
        f' style="max-width: {_n(round(L["width"] * 1.3))}px">'
    )
    for e in L["edges"]:
        j = L["edges"].index(e)
        points, end, lp = L["lines"].get(e, ([], None, None))
        if not points:
            continue
        cls = " ".join(f"bs-at{k}" for k in at.get(("e", e), []))
        d = f"M{_n(points[0][0])},{_n(points[0][1])}"
        for q in range(1, len(points) - 2, 3):
            d += "C" + " ".join(
                f"{_n(x)},{_n(y)}" for x, y in points[q : q + 3]
            )
        out.append(
            f'<g class="bs-edge {cls}" id="{sid}-e{j}">'
            f'<path data-layout="" d="{d}"/>'
        )
        if end is not None:
            (x0, y0), (x1, y1) = points[-1], end
            dx, dy = x1 - x0, y1 - y0
            norm = max((dx * dx + dy * dy) ** 0.5, 1e-9)
            px, py = -dy / norm * 3.5, dx / norm * 3.5
            tri = " ".join(
                f"{_n(round(x, 1))},{_n(round(y, 1))}"
                for x, y in ((x1, y1), (x0 + px, y0 + py), (x0 - px, y0 - py))
            )
            out.append(f'<polygon data-layout="" points="{tri}"/>')
        if lp is not None:
            k = edge_step.get(e, last)
            out.append(
                f'<text class="bs-elabel bs-from{k}" data-layout=""'
                f' x="{_n(lp[0])}" y="{_n(lp[1] + 4)}">'
                f"{html.escape(_edge_text(s, e))}</text>"
            )
        out.append("</g>")
    for v in s.order:
        (cx, cy), w, h = L["nodes"][v]
        cls = " ".join(f"bs-at{k}" for k in at.get(("n", v), []))
        lines = _node_lines(s, v)
        froms = [None, fwd_step[v], bar_step.get(v, last)]
        kinds = ["bs-expr", "bs-val", "bs-bar"]
        out.append(
            f'<g class="bs-node {cls}" id="{sid}-n{index[v]}">'
            f'<rect data-layout="" x="{_n(round(cx - w / 2, 1))}"'
            f' y="{_n(round(cy - h / 2, 1))}" width="{_n(w)}"'
            f' height="{_n(h)}" rx="4"/>'
        )
        for j, (text, k, kind) in enumerate(zip(lines, froms, kinds)):
            fc = f" bs-from{k}" if k else ""
            y = round(cy + (j - 1) * LINE + 0.35 * FONT, 1)
            out.append(
                f'<text class="{kind}{fc}" data-layout="" x="{_n(cx)}"'
                f' y="{_n(y)}">{html.escape(text)}</text>'
            )
        out.append("</g>")
    out.append("</svg>")
    return "".join(out)


def stepper_html(s: BackwardStepper, checked: int) -> str:
    """The stepper `s` as HTML and CSS, step `checked` (1-based) shown."""
    sid, n = s.id, s.n_steps
    phase_class = {
        "forward": "bs-fwd",
        "backward": "bs-bwd",
        "result": "bs-res",
    }
    phase_word = {
        "forward": "Forward.",
        "backward": "Backward.",
        "result": "Result.",
    }
    caps, alts, navs, status, radios = [], [], [], [], []
    group = sid
    for k, step in enumerate(s.steps, 1):
        rf = " bs-rf" if step.phase == "forward" else ""
        radios.append(
            radio(
                group, k, n, checked=k == checked, cls=f"bs-radio bs-r{k}{rf}"
            )
        )
        caps.append(
            f'<div class="bs-cap bs-k{k} {phase_class[step.phase]}">'
            f'<span class="bs-phase">{phase_word[step.phase]}</span> '
            f"{step.caption}</div>"
        )
        alts.append(
            f'<p class="bs-alt bs-hidden bs-k{k}">Picture, step {k} of {n}: '
            f"{html.escape(step.alt)}.</p>"
        )
        nav = step_nav(group, k, n, button="bs-btn", keep_place=True)
        navs.append(f'<span class="bs-nav bs-k{k}">{nav}</span>')
        status.append(f'<span class="bs-k{k}">Step {k} of {n}</span>')
    return (
        f'<div class="backward-stepper" id="{sid}">{style_once()}'
        f"<style>{_step_css(n)}</style>"
        '<figure class="bs-figure">'
        + _svg(s)
        + "".join(alts)
        + '<figcaption class="bs-caps">'
        + "".join(caps)
        + "</figcaption></figure>"
        + '<div class="bs-controls" role="group" aria-label="Steps of the '
        'backward pass">'
        + "".join(radios)
        + "".join(navs)
        + '<p class="bs-status" aria-live="polite">'
        + "".join(status)
        + "</p>"
        + '<span class="bs-keys">← → to step</span>'
        + "</div></div>"
    )
