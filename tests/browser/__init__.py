"""Tests of the variant browser (wfnb.browser)."""
