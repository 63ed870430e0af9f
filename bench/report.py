"""Render one backend's benchmark results as Markdown and put them into bench/README.md.

Each backend owns two marked blocks of the README per section, its figures and its query plans,
so a run on one backend leaves the other backend's figures in place. The "before" section keeps
the figures from before optimization work and "current" the latest run. A missing block is
appended at the end.
"""

import re
from pathlib import Path
from typing import Any

README = Path(__file__).resolve().parent / "README.md"
TITLES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


def _markers(block: str) -> tuple[str, str]:
    return f"<!-- bench:{block}:start -->", f"<!-- bench:{block}:end -->"


def replace_block(document: str, block: str, content: str) -> str:
    start, end = _markers(block)
    replacement = f"{start}\n{content.strip()}\n{end}"
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.DOTALL)
    if pattern.search(document):
        return pattern.sub(lambda _match: replacement, document)
    return document.rstrip() + "\n\n" + replacement + "\n"


def _ratio(numerator: float, denominator: float) -> str:
    return f"{numerator / denominator:.1f}×" if denominator else "n/a"


def _number(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


def _machine_line(result: dict[str, Any]) -> str:
    machine = result["machine"]
    packages = ", ".join(f"{name} {version}" for name, version in machine["packages"].items())
    changed = machine["uncommitted_product_files"]
    source = f"commit {machine['commit']}" + (f" plus {changed} uncommitted product files" if changed else "")
    load_start = machine["load_average_start"][0]
    load_end = machine["load_average_end"][0]
    return (
        f"Run {machine['date']} on {source}, {result['dataset']['connectors']:,} connectors (seed {result['dataset']['seed']}).\n"
        f"Machine: {machine['cores']} cores ({machine['cpu']}), {machine['memory_gib']} GiB, Linux {machine['kernel']}, "
        f"Python {machine['python']}, {machine['database']}. Packages: {packages}.\n"
        f"Load average (1 minute) {load_start:.1f} at the start and {load_end:.1f} at the end of the run. "
        "With other processes on the machine, CPU ms/request is steadier than the latencies."
    )


def _after_warm_requests(result: dict[str, Any]) -> str:
    # Results of runs before the warm-up requests existed have no "warm_requests".
    warm = result.get("warm_requests", 0)
    return f", after {warm} requests that are not counted" if warm else ""


def figures_section(result: dict[str, Any]) -> str:
    scenarios = {item["name"]: item for item in result["scenarios"]}
    lines = [
        f"#### {TITLES[result['backend']]}",
        "",
        _machine_line(result),
        "",
        "| scenario | p50 ms | p95 ms | CPU ms/request | SQL ms/request | SQL statements/request | requests/s, 2 workers | p95 ms under load | peak RSS/worker MiB | response KiB | GraphQL ÷ limit: p50, CPU, requests/s |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for item in result["scenarios"]:
        comparison = ""
        limit = scenarios.get(f"{item['name']} limit")
        if item["limit_of"] is None and limit:
            comparison = ", ".join(
                (
                    _ratio(item["latency"]["p50_ms"], limit["latency"]["p50_ms"]),
                    _ratio(item["cpu_ms_per_request"], limit["cpu_ms_per_request"]),
                    _ratio(limit["throughput"]["requests_per_second"], item["throughput"]["requests_per_second"]),
                )
            )
        lines.append(
            "| "
            + " | ".join(
                (
                    item["name"],
                    _number(item["latency"]["p50_ms"]),
                    _number(item["latency"]["p95_ms"]),
                    _number(item["cpu_ms_per_request"]),
                    _number(item["sql_ms_per_request"]),
                    f"{item['statements']:g}",
                    _number(item["throughput"]["requests_per_second"]),
                    _number(item["throughput"]["p95_ms"]),
                    f"{item['peak_resident_mib']:.0f}",
                    f"{item['response_bytes'] / 1024:,.0f}",
                    comparison,
                )
            )
            + " |"
        )
    lines.append("")
    deep, first = scenarios.get("deep-page"), scenarios.get("tree-100")
    if deep and first:
        deep_limit, first_limit = scenarios.get("deep-page limit"), scenarios.get("tree-100 limit")
        text = (
            f"deep-page is the tree-100 document at page {result['deep_page']:,}. Against page 1 (tree-100), its p50 is "
            f"{_ratio(deep['latency']['p50_ms'], first['latency']['p50_ms'])} and its CPU time "
            f"{_ratio(deep['cpu_ms_per_request'], first['cpu_ms_per_request'])} through GraphQL"
        )
        if deep_limit and first_limit:
            text += (
                f", and {_ratio(deep_limit['latency']['p50_ms'], first_limit['latency']['p50_ms'])} and "
                f"{_ratio(deep_limit['cpu_ms_per_request'], first_limit['cpu_ms_per_request'])} on the hand-written path"
            )
        lines += [text + ".", ""]
    checkouts = ", ".join(f"{item['name']} {item['checkouts']:g}" for item in result["scenarios"] if item["limit_of"] is None)
    samples = ", ".join(f"{item['name']} {item['latency']['requests']:g}" for item in result["scenarios"])
    lines.append(
        "Latency: one worker and one connection, for at least "
        f"{result['latency_seconds']:g} s after a warm-up, longer for slow scenarios (requests measured: {samples}). "
        f"CPU and SQL time per request: the mean of {result.get('counted_requests', 5)} requests sent one at a time to that worker"
        f"{_after_warm_requests(result)}. SQL time runs from "
        "sending a statement to having all its rows. "
        f"Throughput, p95 under load and memory: two workers, {result['concurrency']} connections for tree-20 and "
        f"{result['other_concurrency']} for the others, for at least {result['throughput_seconds']:g} s, and requests/s counts "
        "the whole seconds between the first and the last response. "
        f"Peak RSS is VmHWM of the busier worker during that run (idle after start-up: {result['idle_resident_mib']:.0f} MiB). "
        "SQL statements include the API-key lookup and leave out BEGIN/COMMIT/ROLLBACK. "
        f"Connection-pool checkouts per GraphQL request: {checkouts}."
    )
    return "\n".join(lines)


def plans_section(result: dict[str, Any]) -> str:
    lines = [f"#### {TITLES[result['backend']]}", ""]
    for plan in result["plans"]:
        lines += [
            f"{plan['label']}, median {plan['median_ms']:.2f} ms in-process:",
            "",
            "```sql",
            plan["sql"].strip(),
            "```",
            "",
            "```",
            plan["plan"].strip(),
            "```",
            "",
        ]
    return "\n".join(lines)


def update_readme(result: dict[str, Any], section: str, path: Path = README) -> None:
    """Replace the figures and plans of this backend in `section` ("before" or "current")."""
    document = path.read_text() if path.exists() else ""
    document = replace_block(document, f"figures-{section}-{result['backend']}", figures_section(result))
    document = replace_block(document, f"plans-{section}-{result['backend']}", plans_section(result))
    path.write_text(document)
