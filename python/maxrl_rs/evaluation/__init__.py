"""Evaluation: pass@k reports from per-prompt counts (:mod:`.report`, no torch) and sampling them from a
trained policy (:mod:`.sampling`, torch; imported on first use so reading reports stays light)."""

from maxrl_rs.evaluation.report import (
    COMPARISON_SCHEMA,
    SCHEMA,
    PassAtKReport,
    PassRateHistogram,
    ScalingEfficiency,
    check_comparable,
    default_ks,
    efficiency_from_curves,
    format_table,
    load_reports,
    mean_std,
    parse_ks,
    passk_report,
    save_reports,
    scaling_efficiency,
    unique_labels,
)

__all__ = [
    "COMPARISON_SCHEMA",
    "SCHEMA",
    "PassAtKReport",
    "PassRateHistogram",
    "ScalingEfficiency",
    "check_comparable",
    "default_ks",
    "efficiency_from_curves",
    "format_table",
    "load_reports",
    "mean_std",
    "parse_ks",
    "passk_report",
    "save_reports",
    "scaling_efficiency",
    "unique_labels",
]
