"""Inter-coder agreement (issue 7): unitisation, metrics, disputed passages and reconciliation.

`units` and `metrics` are pure (numpy, no ORM); `selectors` gathers from the database and
`services` records reconciliation decisions. See DESIGN.md beside this file.
"""
