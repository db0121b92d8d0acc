"""Tests of the report generator; run: /usr/bin/python3 -m unittest discover -s report/tests -t ."""
