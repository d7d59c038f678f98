"""The HTML report: summary, baseline changes, every check by ID, one section per category notebook."""
from auralis_perf.report.model import (
                    CATEGORY_TITLES,
                    EngineSummary,
                    comparison_rows,
                    subject_line,
                    summarize,
                    text_summary,
)
from auralis_perf.report.render import machine_facts, render_report, write_report

__all__ = ["CATEGORY_TITLES", "EngineSummary", "comparison_rows", "machine_facts",
           "render_report", "subject_line", "summarize", "text_summary", "write_report"]
