"""The cache check: run a notebook with and without wfnb's cache and report where they differ (``wfnb check-cache``)."""

from wfnb.frontends.check.checker import check_cache
from wfnb.frontends.check.report import CheckReport

__all__ = ["check_cache", "CheckReport"]
