"""Generate the project's notebooks from code, so they are reviewed as code.

    .venv/bin/python notebooks/build_notebooks.py          # rewrite notebooks/*.ipynb
    .venv/bin/python notebooks/build_notebooks.py --check  # exit 1 if any is out of date

The notebooks are written without outputs and with stable cell ids: regenerating an
unchanged notebook gives the same bytes. Edit the cells here, not in Jupyter.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import nbformat
from nbformat import NotebookNode

HERE = Path(__file__).resolve().parent
KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}

Cell = tuple[str, str]  # ("md" | "code" | "parameters", source)


def md(source: str) -> Cell:
    return ("md", source.strip())


def code(source: str) -> Cell:
    return ("code", source.strip())


def parameters(source: str) -> Cell:
    return ("parameters", source.strip())


def explore() -> list[Cell]:
    return [
        md("""
# 01 · Explore

Load the bundled BTCUSDT 1h sample, look at a few TA-Lib indicators, then move a
prototype's parameters with sliders and watch its trades and equity redraw.

The explorer's callback, `explore(**params)`, is a plain function returning a plotly
figure: the sliders call it (through `redraw`), and so can you — the last cell does. The
figure is put into the output widget directly rather than captured from printed output,
so the notebook also runs headless (papermill, `pytest --nbval-lax`).
"""),
        code("""
import math

import ipywidgets as widgets
import pandas as pd
import plotly.graph_objects as go
import talib
from plotly.subplots import make_subplots

from quantbridge.datasets.paths import sample_path
from quantbridge.datasets.readers import read_bars
from quantbridge.research.catalogue import CATALOGUE
from quantbridge.research.simulator import simulate

bars = read_bars(sample_path("BTCUSDT_1h.parquet"))
bars.tail()
"""),
        md("## Indicators (TA-Lib)"),
        code("""
close, high, low = (bars[c].to_numpy() for c in ("close", "high", "low"))
upper, middle, lower = talib.BBANDS(close, timeperiod=20)
indicators = pd.DataFrame(
    {
        "sma_50": talib.SMA(close, 50),
        "rsi_14": talib.RSI(close, 14),
        "atr_14": talib.ATR(high, low, close, 14),
        "bb_width": (upper - lower) / middle,
    },
    index=bars.index,
)
indicators.describe().T
"""),
        md("""
## Parameter explorer

`PROTOTYPE` names any prototype of the catalogue; its parameters become the controls.
Only the last `WINDOW_BARS` bars are drawn, to keep the figure light.
"""),
        code("""
PROTOTYPE = "sma_crossover"
WINDOW_BARS = 24 * 60
spec = CATALOGUE.get(PROTOTYPE)


def control(param):
    \"\"\"A widget for one prototype parameter, bounded by its declared range.\"\"\"
    if param.kind is bool:
        return widgets.Checkbox(value=param.default, description=param.name)
    if param.choices:
        return widgets.Dropdown(options=param.choices, value=param.default, description=param.name)
    if param.kind is str:
        return widgets.Text(value=param.default, description=param.name)
    span = 4 * abs(param.default) or 10  # a slider around the default, inside the declared range
    low = max(param.default - span, param.low if param.low is not None else -math.inf)
    high = min(param.default + span, param.high if param.high is not None else math.inf)
    slider = widgets.IntSlider if param.kind is int else widgets.FloatSlider
    return slider(value=param.default, min=low, max=high, description=param.name, continuous_update=False)


def plot(result, title):
    \"\"\"Close with entry/exit markers over the equity curve (last WINDOW_BARS bars).\"\"\"
    shown = bars.iloc[-WINDOW_BARS:]
    trades = result.trades[result.trades["entry_time"] >= shown.index[0]]
    exits = trades[~trades["is_open"]]
    figure = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.7, 0.3], vertical_spacing=0.03)
    figure.add_trace(go.Scatter(x=shown.index, y=shown["close"], name="close", line={"width": 1}), row=1, col=1)
    for side, symbol, color in (("long", "triangle-up", "green"), ("short", "triangle-down", "red")):
        entries = trades[trades["side"] == side]
        marker = {"symbol": symbol, "color": color, "size": 9}
        points = go.Scatter(x=entries["entry_time"], y=entries["entry_price"], mode="markers", marker=marker)
        figure.add_trace(points.update(name=f"{side} entry"), row=1, col=1)
    figure.add_trace(
        go.Scatter(x=exits["exit_time"], y=exits["exit_price"], mode="markers", name="exit",
                   marker={"symbol": "x", "color": "black", "size": 7}),
        row=1,
        col=1,
    )
    figure.add_trace(go.Scatter(x=shown.index, y=result.equity.iloc[-WINDOW_BARS:], name="equity"), row=2, col=1)
    figure.update_layout(title=title, height=600, margin={"t": 50, "b": 20})
    return figure


def explore(**params):
    \"\"\"Run the prototype with ``params`` (others at their defaults) and plot it.\"\"\"
    result = simulate(bars, spec(bars, **params), spec.rules, spec.model)
    metrics = result.metrics
    title = f"{spec.name} {params} · Sharpe {metrics['sharpe']:.2f} · return {metrics['total_return']:.1%}"
    return plot(result, title)


controls = {p.name: control(p) for p in spec.params}
figure_area = widgets.Output()


def redraw(_change=None):
    \"\"\"Re-run with the controls' values and replace the figure (or show why it failed).\"\"\"
    figure_area.outputs = ()  # set the widget's outputs directly: no output capture, safe headless
    try:
        figure_area.append_display_data(explore(**{name: c.value for name, c in controls.items()}))
    except ValueError as exc:  # e.g. fast >= slow
        figure_area.append_stderr(f"{exc}\\n")


for widget in controls.values():
    widget.observe(redraw, names="value")
redraw()
widgets.VBox([widgets.HBox(list(controls.values())), figure_area])
"""),
        md("Called directly (what the sliders do), e.g. to save or compare figures:"),
        code("""
figure = explore(**spec.defaults)
assert len(figure.data) == 5, "close, long/short entries, exits, equity"
figure
"""),
    ]


def prototype_to_production() -> list[Cell]:
    return [
        md("""
# 02 · From prototype to production

The journey on bundled data: load a sample → pick a prototype → `simulate` →
metrics → a small sweep → **bridge** the same function into an event-driven strategy →
run it in the runtime from ticks → prove the two agree bar by bar and trade for trade.
(`make demo` runs the same path from the command line: `quantbridge validate`.)

> Next: paper and live trading through ccxt refuse a strategy version without a
> passing parity certificate, which `quantbridge validate` records.
"""),
        code("""
import pandas as pd

from quantbridge.datasets.paths import sample_path
from quantbridge.datasets.readers import read_bars
from quantbridge.research.catalogue import CATALOGUE
from quantbridge.research.simulator import simulate
from quantbridge.research.sweep import sweep_prototype

bars = read_bars(sample_path("ETHUSDT_1h.parquet"))
print(f"{len(bars)} bars from {bars.index[0]} to {bars.index[-1]}")
"""),
        md("""
## The prototype

A prototype is a pure, causal function `prototype(bars, **params) -> Signals`; the
catalogue knows each one's parameters, default position rules and execution model.
"""),
        code("""
spec = CATALOGUE.get("sma_crossover")
params = {"fast": 20, "slow": 100}
signals = spec(bars, **params)
signals.to_frame().sum(numeric_only=True).to_frame("bars with an order")
"""),
        md("## Simulate (fills at the next bar's open, as TradingView does by default)"),
        code("""
result = simulate(bars, signals, spec.rules, spec.model)
result.summary().to_frame()
"""),
        code("result.trades.head(10)"),
        md("""
## A small sweep

The same prototype over a grid; `scheduler="synchronous"` keeps it in this process
(omit it for a local Dask cluster, or pass a scheduler address to scale out).
"""),
        code("""
table = sweep_prototype(spec, bars, {"fast": "10:30:10", "slow": [100, 200]}, scheduler="synchronous", progress=False)
table.sort_values("sharpe", ascending=False)[["fast", "slow", "sharpe", "total_return", "max_drawdown", "trade_count"]]
"""),
        md("""
## Bridge: the same function as an event-driven strategy

`bridge` wraps the prototype; on every closed candle the runtime calls it on the closed
bars and acts on the last row. `check_parity` drives it through the runtime — here from
ticks synthesised from the bars and rebuilt into candles by the CandleAggregator — and
compares every bar's signals and every trade with the vectorised side.
"""),
        code("""
from quantbridge.datasets.execution import Instrument
from quantbridge.datasets.instruments import infer_tick_size
from quantbridge.validation.parity import check_parity

# the runtime trades on a market's grids: prices on the tick, quantities on the lot
instrument = Instrument(symbol="ETHUSDT", tick_size=infer_tick_size(bars), qty_step=0.001)
model = spec.model.model_copy(update={"instrument": instrument})
recent = bars.iloc[-1500:]
report = check_parity(spec, recent, params=params, model=model, source="ticks")
print(f"signals: {report.signals.matched}/{report.signals.compared} bars equal, "
      f"trades: {report.trades.matched}/{report.trades.reference_trades} equal -> passed={report.passed}")
assert report.passed
"""),
        md("""
## No look-ahead

The prototype re-run on truncated histories must never change an earlier signal.
"""),
        code("""
from quantbridge.validation.causality import check_causality

causality = check_causality(spec, recent, params, step=100)
print(f"{len(causality.cuts)} prefixes checked, passed={causality.passed}")
"""),
    ]


def sweep_template() -> list[Cell]:
    return [
        md("""
# 03 · Sweep template (papermill)

Run it with parameters, or over a grid:

```bash
quantbridge research run notebooks/03_sweep_template.ipynb -p fast 20 -p slow 100
quantbridge research sweep notebooks/03_sweep_template.ipynb --grid fast=5:50:5 --grid slow=100,200
```

The next cell is tagged `parameters`: papermill injects the given values after it.
`data` is a file path (relative to this notebook's folder) or the name of a bundled
sample. The prototype's parameters are plain variables; to sweep another prototype,
add its parameters here. The last cell records the metrics for the sweep to read.
"""),
        parameters("""
prototype = "sma_crossover"
data = "BTCUSDT_1h.parquet"
fast = 10
slow = 50
allow_short = True
"""),
        code("""
from pathlib import Path

from quantbridge.datasets.paths import sample_path
from quantbridge.datasets.readers import read_bars
from quantbridge.research.catalogue import CATALOGUE
from quantbridge.research.notebooks import record_metrics
from quantbridge.research.simulator import simulate

bars = read_bars(Path(data) if Path(data).exists() else sample_path(data))
spec = CATALOGUE.get(prototype)
candidates = {"fast": fast, "slow": slow, "allow_short": allow_short}
params = {name: value for name, value in candidates.items() if name in spec.defaults}
params
"""),
        code("""
result = simulate(bars, spec(bars, **params), spec.rules, spec.model)
result.trades.tail()
"""),
        code("record_metrics(result.metrics)"),
    ]


NOTEBOOKS: dict[str, Callable[[], list[Cell]]] = {
    "01_explore.ipynb": explore,
    "02_prototype_to_production.ipynb": prototype_to_production,
    "03_sweep_template.ipynb": sweep_template,
}


def build(name: str, cells: list[Cell]) -> NotebookNode:
    """A notebook without outputs, with ids derived from its name and cell position."""
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = KERNELSPEC
    notebook.metadata["language_info"] = {"name": "python"}
    stem = name.removesuffix(".ipynb")
    for number, (kind, source) in enumerate(cells):
        cell = nbformat.v4.new_markdown_cell(source) if kind == "md" else nbformat.v4.new_code_cell(source)
        if kind == "parameters":
            cell.metadata["tags"] = ["parameters"]
        cell.id = f"{stem[:40]}-{number:02d}"
        notebook.cells.append(cell)
    nbformat.validate(notebook)
    return notebook


def render(name: str) -> str:
    return nbformat.writes(build(name, NOTEBOOKS[name]()), version=4) + "\n"


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for name in NOTEBOOKS:
        path = HERE / name
        text = render(name)
        if check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
        else:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path}")
    if stale:
        print(f"out of date (run notebooks/build_notebooks.py): {', '.join(stale)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
