"""Credit data source adapters (bureau, telco, e-commerce) over HTTP, with cache and costs."""

from mobilend.adapters.datasources.cache import InMemoryReportCache, ReportCache, cache_key
from mobilend.adapters.datasources.http_sources import (
    DEFAULT_SPECS,
    CostMeter,
    HttpCreditDataSource,
    SourceSpec,
    build_http_sources,
    with_costs,
    with_ttl,
)

__all__ = [
    "DEFAULT_SPECS",
    "CostMeter",
    "HttpCreditDataSource",
    "InMemoryReportCache",
    "ReportCache",
    "SourceSpec",
    "build_http_sources",
    "cache_key",
    "with_costs",
    "with_ttl",
]
