"""``cosim report``: an HTML page and a Markdown file with a sweep's figures and tables.

For every study in a results file: the paper's statement beside cosim's key numbers (when the
study is registered), its figure (the study's own, or a generic scatter of each numeric result
against the first numeric axis), a table of the points that varied, and the failed points with
their errors. Both files are written from the same list of blocks.
"""
from __future__ import annotations

import html
import json
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from cosim.sweep.results import CONFIG_PREFIX, FAILED, OK, RESULT_PREFIX, load_rows  # noqa: E402
from cosim.sweep.study import Study, resolve_study  # noqa: E402

__all__ = ["write_report", "varying_columns", "generic_figure"]

MAX_TABLE_ROWS = 200


class Kind(Enum):
    """What a report block is; the value is its HTML tag."""

    H1 = "h1"
    H2 = "h2"
    TEXT = "p"
    PRE = "pre"
    IMAGE = "img"
    TABLE = "table"


@dataclass(frozen=True)
class Block:
    """One piece of a report: its kind, ``body`` (text, or an image's file name) and a table's cells."""

    kind: Kind
    body: str = ""
    header: tuple[str, ...] = ()
    cells: tuple[tuple[str, ...], ...] = ()


def write_report(results: Path | str, out: Path | str | None = None) -> tuple[Path, Path]:
    """Write ``report.html`` and ``report.md`` (and figures) for ``results`` into ``out``; returns both paths.

    ``out`` defaults to a folder next to the results named after them (``RESULTS_report/``).
    """
    results = Path(results)
    rows = load_rows(results)
    if not rows:
        raise ValueError(f"{results}: no points in the results")
    out = Path(out) if out is not None else results.with_name(results.stem + "_report")
    out.mkdir(parents=True, exist_ok=True)
    blocks = [Block(Kind.H1, f"Sweep report: {results.name}")]
    for name in sorted({r["study"] for r in rows}):
        blocks += _study_blocks(name, [r for r in rows if r["study"] == name], out)
    md, page = out / "report.md", out / "report.html"
    md.write_text(_markdown(blocks))
    page.write_text(_html(blocks, results.name))
    return page, md


def varying_columns(rows: list[dict[str, Any]]) -> list[str]:
    """Configuration columns (without the prefix) that take more than one value among ``rows``."""
    names = sorted({k for r in rows for k in r if k.startswith(CONFIG_PREFIX)})
    return [n[len(CONFIG_PREFIX):] for n in names if len({json.dumps(r.get(n)) for r in rows}) > 1]


def _study_blocks(name: str, rows: list[dict[str, Any]], out: Path) -> list[Block]:
    try:
        study: Study | None = resolve_study(name)
    except ValueError:
        study = None
    ok = [r for r in rows if r["status"] == OK]
    failed = [r for r in rows if r["status"] == FAILED]
    blocks = [Block(Kind.H2, f"Study {name}"),
              Block(Kind.TEXT, f"{len(rows)} points: {len(ok)} ok, {len(failed)} failed; "
                         f"{sum(r['elapsed_s'] for r in rows):.1f} s of worker time.")]
    if study is not None and study.paper:
        blocks.append(Block(Kind.TEXT, f"Paper: {study.paper}"))
    if study is not None and study.summary is not None and ok:
        blocks.append(Block(Kind.PRE, "\n".join(study.summary(ok))))
    if ok:
        figure = out / f"{name.replace(':', '_').replace('/', '_')}.png"
        if study is not None and study.figure is not None:
            study.figure(ok, figure)
        else:
            generic_figure(ok, figure)
        blocks.append(Block(Kind.IMAGE, figure.name))
        blocks.append(_points_table(ok))
    if failed:
        blocks.append(Block(Kind.H2, f"Failed points of {name}"))
        blocks.append(Block(Kind.TABLE, header=("key", "configuration", "error"),
                            cells=tuple((r["key"][:12], r["config_json"], r["error"]) for r in failed[:MAX_TABLE_ROWS])))
    return blocks


def _points_table(rows: list[dict[str, Any]]) -> Block:
    axes = varying_columns(rows)
    results = sorted({k[len(RESULT_PREFIX):] for r in rows for k in r if k.startswith(RESULT_PREFIX)})
    ordered = sorted(rows, key=lambda r: [json.dumps(r.get(CONFIG_PREFIX + a)) for a in axes])
    cells = tuple(tuple(_fmt(r.get(CONFIG_PREFIX + a)) for a in axes) + tuple(_fmt(r.get(RESULT_PREFIX + k)) for k in results)
                  for r in ordered[:MAX_TABLE_ROWS])
    note = "" if len(rows) <= MAX_TABLE_ROWS else f" (first {MAX_TABLE_ROWS} of {len(rows)})"
    return Block(Kind.TABLE, body=f"Points{note}", header=tuple(axes) + tuple(results), cells=cells)


def generic_figure(rows: list[dict[str, Any]], path: Path) -> None:
    """Each numeric result against the first numeric varying axis (a scatter), into ``path``."""
    axes = [a for a in varying_columns(rows) if all(_numeric(r.get(CONFIG_PREFIX + a)) for r in rows)]
    results = sorted({k for r in rows for k in r if k.startswith(RESULT_PREFIX) and _numeric(r[k])})[:4]
    fig, panels = plt.subplots(1, max(len(results), 1), figsize=(4 * max(len(results), 1), 3.2), squeeze=False)
    for ax, column in zip(panels[0], results):
        x = [r.get(CONFIG_PREFIX + axes[0]) for r in rows] if axes else list(range(len(rows)))
        ax.plot(x, [r.get(column) for r in rows], "o", ms=4)
        ax.set_xlabel(axes[0] if axes else "point")
        ax.set_ylabel(column[len(RESULT_PREFIX):])
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _numeric(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "" if value is None else str(value)


def _markdown(blocks: list[Block]) -> str:
    lines = []
    for b in blocks:
        if b.kind in (Kind.H1, Kind.H2):
            lines += ["#" * int(b.kind.value[1]) + " " + b.body, ""]
        elif b.kind == Kind.TEXT:
            lines += [b.body, ""]
        elif b.kind == Kind.PRE:
            lines += ["```", b.body, "```", ""]
        elif b.kind == Kind.IMAGE:
            lines += [f"![{b.body}]({b.body})", ""]
        else:
            esc = lambda s: s.replace("|", "\\|")
            lines += ([b.body, ""] if b.body else []) + ["| " + " | ".join(b.header) + " |",
                                                         "|" + "---|" * len(b.header)]
            lines += ["| " + " | ".join(esc(c) for c in row) + " |" for row in b.cells] + [""]
    return "\n".join(lines)


def _html(blocks: list[Block], title: str) -> str:
    e = html.escape
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{e(title)}</title>",
             "<style>body{font-family:sans-serif;max-width:1200px;margin:auto}table{border-collapse:collapse;"
             "font-size:12px}td,th{border:1px solid #ccc;padding:2px 6px}img{max-width:100%}</style></head><body>"]
    for b in blocks:
        if b.kind in (Kind.H1, Kind.H2, Kind.TEXT):
            parts.append(f"<{b.kind.value}>{e(b.body)}</{b.kind.value}>")
        elif b.kind == Kind.PRE:
            parts.append(f"<pre>{e(b.body)}</pre>")
        elif b.kind == Kind.IMAGE:
            parts.append(f"<img src='{e(b.body)}' alt='{e(b.body)}'>")
        else:
            head = "".join(f"<th>{e(h)}</th>" for h in b.header)
            body = "".join("<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>" for row in b.cells)
            parts.append(f"<p>{e(b.body)}</p><table><tr>{head}</tr>{body}</table>")
    return "\n".join(parts + ["</body></html>"])
