"""Filings (issue 17): the files payroll software makes for the tax office (法定調書 CSV) and
the municipalities (給与支払報告書 統一CSV), with their number columns filled from the vault
or emptied for the person's copy. docs/filings.md: layouts, sources, what was verified.

This package is pure: it reads and writes bytes and knows the layouts. Matching people,
purposes, logging and custody of the files come on top of it."""
