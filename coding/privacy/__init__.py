"""Privacy: erasing a participant everywhere (GDPR), and the per-project retention period.

Design note: coding/privacy/PRIVACY.md.
"""
