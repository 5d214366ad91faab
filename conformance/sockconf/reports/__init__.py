"""Reports built on results files (--results=FILE.json): JUnit XML, the cross-port matrix page and
Markdown table, the baseline diff that gates a release, and the conformance certificate.

    python -m sockconf.reports junit RESULTS.json OUT.xml
    python -m sockconf.reports matrix --out DIR [LABEL=]RESULTS.json...
    python -m sockconf.reports certificate RESULTS.json --out DIR
    python -m sockconf.reports baseline-diff OLD.json NEW.json

Each is also `python -m sockconf.reports.NAME` (baseline-diff is sockconf.reports.baseline).
Standard library only; results.py reads and checks the files for all of them.
"""
