"""Suggestion engines for assisted coding: pattern rules, a learned suggester, similar passages."""
