"""`yibao quote`: one scenario as JSON on stdin, the policy assessment as JSON on stdout.

With `--explain` it prints, instead, the decision and its reasons in Chinese for
the person at the counter, led by a 注意 line when the decision rests on a provisional
default (a figure the documents do not give, awaiting the county). Bad input exits
with status 2 and one line on stderr naming the field; the resident ID is never
echoed whole.
"""
from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, NoReturn

import typer

if TYPE_CHECKING:
    from shared.policy import Assessment


def quote_command(
    explain: bool = typer.Option(False, "--explain", help="print the reasons for people instead of JSON"),
) -> None:
    """Assess one scenario read as JSON from stdin (fields: region, year, person, statuses, kind, payment_date …)."""
    from shared.policy import PolicyError, assess, parse_scenario

    try:
        data = json.loads(sys.stdin.read())
        assessment = assess(parse_scenario(data))
    except json.JSONDecodeError as e:
        _fail(f"stdin: not valid JSON ({e.msg} at line {e.lineno} column {e.colno})")
    except PolicyError as e:
        _fail(e.one_line())
    if explain:
        typer.echo(explain_text(assessment))
    else:
        typer.echo(json.dumps(assessment.public_json(), ensure_ascii=False, indent=2))


def _fail(line: str) -> NoReturn:
    typer.echo(line.replace("\n", " "), err=True)
    raise typer.Exit(code=2)


def explain_text(a: Assessment) -> str:
    """The assessment as a village worker would read it aloud."""
    from shared.codes import LABEL

    out = a.public_json()
    lines = [provisional_notice(a)] if a.provisional else []
    head = f"{a.region} {a.year}年度 {LABEL[a.kind]}："
    if not a.allowed:
        lines.append(head + "本次缴费不能参保")
    else:
        lines.append(head + f"应缴 {out['due']} 元（个人缴费标准 {out['standard']} 元，资助 {out['subsidy_total']} 元）")
        if a.refund_after_fen:
            lines.append(f"先全额缴费，之后退补 {out['refund_after']} 元")
        lines.append(f"待遇享受期 {a.benefit_start} 至 {a.benefit_end}")
    lines.append("理由：")
    lines += [f"{i}. {r.text}\n   （{r.rule}）" for i, r in enumerate(a.reasons, 1)]
    return "\n".join(lines)


def provisional_notice(a: Assessment) -> str:
    """The line that leads an explanation resting on a figure the documents do not give."""
    used = "；".join(f"{p.what}，{p.setting}" for p in a.provisional)
    who = "、".join(dict.fromkeys(p.awaiting for p in a.provisional))
    return f"注意：本次核定使用暂定默认值（{used}），待{who}填入实际标准，届时核定结果可能变化"
