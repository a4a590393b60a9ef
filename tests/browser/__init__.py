"""Tests of the variant browser (wfnb.frontends.browser)."""
